//! The per-studio source file (`sources/<studio_id>.toml`). These structs are the
//! documentation: every key has a doc comment, every default is a named function here,
//! and unknown keys are errors.

use serde::Deserialize;
use toml::Spanned;

/// One studio: who it is, where its events are, how to read them, when to run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceFile {
    pub studio: StudioSection,
    pub crawl: CrawlSection,
    #[serde(default)]
    pub slug: SlugSection,
    #[serde(default)]
    pub extract: ExtractSection,
    #[serde(default)]
    pub schedule: ScheduleSection,
}

/// `[studio]`: upserted into `discovery.studios` by `studio_id` on every run.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StudioSection {
    /// The app's `studio_id`, e.g. `dance_n_addiction`. Must equal the file name's stem.
    pub id: Spanned<String>,
    /// Display name (`studio_name`), e.g. `DNA`.
    pub name: String,
    /// `instagram_link` of the studio.
    #[serde(default)]
    pub instagram_link: Option<String>,
    /// `image_url` of the studio.
    #[serde(default)]
    pub image_url: Option<String>,
    /// IANA time zone the studio's pages speak in. Default `Asia/Kolkata`.
    #[serde(default = "default_timezone")]
    pub timezone: Spanned<String>,
    /// City, used only in logs and notification text. Default `Bangalore`.
    #[serde(default = "default_city")]
    pub city: String,
}

/// `[crawl]`: where the event pages are and how politely to fetch them.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CrawlSection {
    /// Listing page(s) where the crawl starts. http or https only.
    pub start_urls: Spanned<Vec<String>>,
    /// Regex over absolute URLs: a link that matches is an event page.
    pub follow: Spanned<String>,
    /// Links followed from the start pages before giving up looking for event pages:
    /// 1 means the start pages link straight to event pages. Default 1.
    #[serde(default = "default_depth")]
    pub depth: u32,
    /// Hosts that may be fetched. Default: the start URLs' hosts plus the hosts that
    /// `follow` names literally (e.g. `rzp\.io` in `^https://rzp\.io/rzp/`).
    #[serde(default)]
    pub allowed_hosts: Option<Vec<String>>,
    /// At most this many pages (listing + event) per run. Default 50.
    #[serde(default = "default_max_pages")]
    pub max_pages: usize,
    /// Minimum delay between two requests to one host, in milliseconds. Default 1000.
    #[serde(default = "default_host_delay_ms")]
    pub host_delay_ms: u64,
    /// Requests in flight to one host at once. Default 2.
    #[serde(default = "default_host_concurrency")]
    pub host_concurrency: usize,
    /// Obey the host's robots.txt. Default true.
    #[serde(default = "default_true")]
    pub obey_robots: bool,
}

/// `[slug]`: how the event URL becomes the `uuid` slug (`{studio_id}/{slug}`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlugSection {
    /// Regex over the event URL; the named group `slug`, else group 1, is the slug.
    /// Default: the last non-empty path segment. Case is preserved.
    #[serde(default)]
    pub pattern: Option<Spanned<String>>,
}

/// `[extract]`: per-source overrides; the generic layers fill whatever is left.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtractSection {
    /// Event type when no keyword decides: `workshop`, `intensive` or `regulars`.
    /// Default `workshop`.
    #[serde(default)]
    pub default_event_type: Option<Spanned<String>>,
    /// CSS selector of the part of the page that describes the event; the visible-text
    /// rules read only inside it (keeps sidebars and footers out). Default: whole body.
    #[serde(default)]
    pub content_selector: Option<Spanned<String>>,
    /// Per-field rules, highest priority of all layers.
    #[serde(default)]
    pub fields: FieldRules,
}

/// `[extract.fields]`: one optional rule per workshop field.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRules {
    pub title: Option<FieldRule>,
    pub artist: Option<FieldRule>,
    pub song: Option<FieldRule>,
    pub dates: Option<FieldRule>,
    pub times: Option<FieldRule>,
    pub prices: Option<FieldRule>,
    pub event_type: Option<FieldRule>,
}

impl FieldRules {
    /// (key, rule) for every configured field, for validation and provenance.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &FieldRule)> {
        [
            ("title", &self.title),
            ("artist", &self.artist),
            ("song", &self.song),
            ("dates", &self.dates),
            ("times", &self.times),
            ("prices", &self.prices),
            ("event_type", &self.event_type),
        ]
        .into_iter()
        .filter_map(|(k, r)| r.as_ref().map(|r| (k, r)))
    }
}

/// A field rule, the highest-priority layer for its field:
/// * `selector` (CSS) picks elements in document order; each gives its text, or the
///   value of `attribute` when set (elements without that attribute give nothing);
/// * `pattern` (regex) runs over each selected text, or with no `selector` over the
///   visible text of the page (inside `extract.content_selector` when set). From each
///   match it keeps the named group `value`, else group 1, else the whole match, trimmed;
///   empty values are dropped. Every match is kept (several songs, several dates);
/// * fallback: a rule that yields nothing (no element matched, no pattern match, or
///   values the field cannot read, e.g. a "date" that is not a date) leaves the field to
///   the generic layers (JSON-LD, then meta tags, then the visible-text rules), exactly
///   as if it were not configured. `nachna-ingest extract` shows which layer won.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldRule {
    pub selector: Option<Spanned<String>>,
    pub attribute: Option<String>,
    pub pattern: Option<Spanned<String>>,
}

/// `[schedule]`: when the daemon runs this studio.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSection {
    /// Cron expression with seconds (`sec min hour day month weekday`), read in the
    /// studio's time zone. Default `0 0 */6 * * *` (every 6 hours).
    #[serde(default = "default_cron")]
    pub cron: Spanned<String>,
    /// Whether the daemon schedules this studio at all. Default true.
    #[serde(default = "default_true")]
    pub enabled: bool,
}

impl Default for ScheduleSection {
    fn default() -> Self {
        ScheduleSection {
            cron: default_cron(),
            enabled: true,
        }
    }
}

fn unspanned<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

pub const DEFAULT_TIMEZONE: &str = "Asia/Kolkata";
pub const DEFAULT_CRON: &str = "0 0 */6 * * *";

fn default_timezone() -> Spanned<String> {
    unspanned(DEFAULT_TIMEZONE.to_string())
}
fn default_city() -> String {
    "Bangalore".to_string()
}
fn default_depth() -> u32 {
    1
}
fn default_max_pages() -> usize {
    50
}
fn default_host_delay_ms() -> u64 {
    1000
}
fn default_host_concurrency() -> usize {
    2
}
fn default_true() -> bool {
    true
}
fn default_cron() -> Spanned<String> {
    unspanned(DEFAULT_CRON.to_string())
}
