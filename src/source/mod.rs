//! Per-studio source files: loading `sources/*.toml`, validating every key, and turning
//! them into ready-to-use [`Source`] values (compiled regexes and selectors, parsed time
//! zone, resolved host allow-list).
//!
//! Validation collects every problem it can find in every file, each as
//! `path:line: key: message`, so an operator fixes them all in one pass.

mod config;
mod css;
mod css_error;
mod keys;

pub use config::*;

use crate::workshop::EventType;
use chrono_tz::Tz;
pub use css::{CssSelector, Plain};
use regex::Regex;
use scraper::Selector;
use std::collections::BTreeSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;
use url::Url;

/// A studio's source, validated and compiled.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub studio: Studio,
    pub timezone: Tz,
    pub crawl: Crawl,
    /// Regex with a `slug` group or group 1; `None` means last path segment.
    pub slug_pattern: Option<Regex>,
    pub extract: ExtractRules,
    pub schedule: Schedule,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Studio {
    pub id: String,
    pub name: String,
    pub instagram_link: Option<String>,
    pub image_url: Option<String>,
    pub city: String,
}

#[derive(Debug, Clone)]
pub struct Crawl {
    pub start_urls: Vec<Url>,
    pub follow: Regex,
    pub depth: u32,
    pub allowed_hosts: BTreeSet<String>,
    pub max_pages: usize,
    pub host_delay: Duration,
    pub host_concurrency: usize,
    pub obey_robots: bool,
}

impl Crawl {
    pub fn host_allowed(&self, url: &Url) -> bool {
        url.host_str()
            .is_some_and(|h| self.allowed_hosts.contains(&h.to_ascii_lowercase()))
    }
}

#[derive(Debug, Clone)]
pub struct Schedule {
    pub cron: String,
    pub enabled: bool,
}

/// Compiled `[extract]` section: what the extractor's first layer applies.
#[derive(Debug, Clone)]
pub struct ExtractRules {
    pub default_event_type: EventType,
    pub content_selector: Option<CssSelector>,
    pub title: Option<CompiledFieldRule>,
    pub artist: Option<CompiledFieldRule>,
    pub song: Option<CompiledFieldRule>,
    pub dates: Option<CompiledFieldRule>,
    pub times: Option<CompiledFieldRule>,
    pub prices: Option<CompiledFieldRule>,
    pub event_type: Option<CompiledFieldRule>,
}

impl ExtractRules {
    /// The `[extract.fields]` keys, in the order of [`ExtractRules::fields`].
    pub const FIELD_NAMES: [&'static str; 7] = [
        "title",
        "artist",
        "song",
        "dates",
        "times",
        "prices",
        "event_type",
    ];

    /// The field rules, in [`ExtractRules::FIELD_NAMES`] order.
    pub fn fields(&self) -> [Option<&CompiledFieldRule>; 7] {
        [
            self.title.as_ref(),
            self.artist.as_ref(),
            self.song.as_ref(),
            self.dates.as_ref(),
            self.times.as_ref(),
            self.prices.as_ref(),
            self.event_type.as_ref(),
        ]
    }
}

impl Default for ExtractRules {
    fn default() -> Self {
        ExtractRules {
            default_event_type: EventType::Workshop,
            content_selector: None,
            title: None,
            artist: None,
            song: None,
            dates: None,
            times: None,
            prices: None,
            event_type: None,
        }
    }
}

/// A field rule ready to run. `describe` is its text form for provenance output.
#[derive(Debug, Clone)]
pub struct CompiledFieldRule {
    pub selector: Option<CssSelector>,
    pub attribute: Option<String>,
    pub pattern: Option<Regex>,
    pub describe: String,
}

impl Source {
    /// The generic configuration used by `extract` without `--studio`.
    pub fn generic(studio_id: &str, timezone: Tz) -> Source {
        Source {
            path: PathBuf::new(),
            studio: Studio {
                id: studio_id.to_string(),
                name: studio_id.to_string(),
                instagram_link: None,
                image_url: None,
                city: String::new(),
            },
            timezone,
            crawl: Crawl {
                start_urls: Vec::new(),
                follow: Regex::new("$^").expect("static regex"),
                depth: 1,
                allowed_hosts: BTreeSet::new(),
                max_pages: 1,
                host_delay: Duration::from_millis(1000),
                host_concurrency: 1,
                obey_robots: true,
            },
            slug_pattern: None,
            extract: ExtractRules::default(),
            schedule: Schedule {
                cron: DEFAULT_CRON.into(),
                enabled: false,
            },
        }
    }

    /// The `uuid` slug for an event URL: the configured pattern's `slug` group (or
    /// group 1), else the last non-empty path segment. `None` when the pattern does not
    /// match or the URL has no path.
    pub fn slug_for(&self, url: &Url) -> Option<String> {
        let slug = match &self.slug_pattern {
            Some(re) => {
                let caps = re.captures(url.as_str())?;
                caps.name("slug")
                    .or_else(|| caps.get(1))
                    .map(|m| m.as_str().to_string())?
            }
            None => url
                .path_segments()?
                .rev()
                .find(|s| !s.is_empty())?
                .to_string(),
        };
        let slug = slug.trim_matches('/').to_string();
        (!slug.is_empty()).then_some(slug)
    }

    pub fn uuid_for(&self, url: &Url) -> Option<String> {
        self.slug_for(url)
            .map(|slug| format!("{}/{}", self.studio.id, slug))
    }
}

/// One problem in one source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceProblem {
    pub path: PathBuf,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// Dotted key, e.g. `crawl.follow`.
    pub key: String,
    pub message: String,
}

impl SourceProblem {
    /// `path:line: key: ` (or `path: key: ` when the problem is not at one line of the
    /// file, e.g. the directory itself or a studio id defined twice).
    fn location(&self) -> String {
        let mut out = match self.line {
            Some(line) => format!("{}:{}: ", self.path.display(), line),
            None => format!("{}: ", self.path.display()),
        };
        if !self.key.is_empty() {
            out.push_str(&self.key);
            out.push_str(": ");
        }
        out
    }
}

/// One line per line of the message, each starting with the location, so that
/// `grep`, editors' jump-to-error and a reader of any single line all see where.
impl fmt::Display for SourceProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let location = self.location();
        let mut lines = self.message.lines().filter(|l| !l.trim().is_empty());
        write!(f, "{location}{}", lines.next().unwrap_or("").trim_end())?;
        for more in lines {
            write!(f, "\n{location}{}", more.trim_end())?;
        }
        Ok(())
    }
}

/// Every problem found in a set of source files.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{} problem(s) in source files:\n{}", .0.len(), .0.iter().flat_map(|p| p.to_string().lines().map(|l| format!("  {l}")).collect::<Vec<_>>()).collect::<Vec<_>>().join("\n"))]
pub struct SourceErrors(pub Vec<SourceProblem>);

/// Loads and validates every `*.toml` in `dir`, sorted by file name. All problems in
/// all files are reported together; no source is returned unless all are valid.
pub fn load_dir(dir: &Path) -> Result<Vec<Source>, SourceErrors> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(err) => {
            return Err(SourceErrors(vec![SourceProblem {
                path: dir.to_path_buf(),
                line: None,
                key: String::new(),
                message: format!("cannot read the sources directory: {err}"),
            }]))
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    paths.sort();
    let mut sources = Vec::new();
    let mut problems = Vec::new();
    for path in paths {
        match load_file(&path) {
            Ok(s) => sources.push(s),
            Err(SourceErrors(mut p)) => problems.append(&mut p),
        }
    }
    let mut seen = std::collections::BTreeMap::new();
    for s in &sources {
        if let Some(first) = seen.insert(s.studio.id.clone(), s.path.clone()) {
            let text = std::fs::read_to_string(&s.path).unwrap_or_default();
            problems.push(SourceProblem {
                path: s.path.clone(),
                line: key_line(&text, "id"),
                key: "studio.id".into(),
                message: format!(
                    "studio `{}` is also defined in {}",
                    s.studio.id,
                    first.display()
                ),
            });
        }
    }
    if problems.is_empty() {
        Ok(sources)
    } else {
        Err(SourceErrors(problems))
    }
}

/// Loads and validates one source file.
pub fn load_file(path: &Path) -> Result<Source, SourceErrors> {
    let problem = |line, message| {
        SourceErrors(vec![SourceProblem {
            path: path.to_path_buf(),
            line,
            key: String::new(),
            message,
        }])
    };
    let bytes = std::fs::read(path).map_err(|err| problem(None, format!("cannot read: {err}")))?;
    let text = String::from_utf8(bytes).map_err(|err| {
        let at = err.utf8_error().valid_up_to();
        let before = &err.as_bytes()[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = at
            - before
                .iter()
                .rposition(|&b| b == b'\n')
                .map_or(0, |p| p + 1)
            + 1;
        problem(
            Some(line),
            format!(
                "not valid UTF-8 (byte 0x{:02x} at column {column}); save the file as UTF-8",
                err.as_bytes()[at]
            ),
        )
    })?;
    parse_source(path, &text)
}

/// Parses and validates source text; `path` is used for messages and the id check.
pub fn parse_source(path: &Path, text: &str) -> Result<Source, SourceErrors> {
    // Every unknown key of the file at once (serde stops at the first).
    let unknown = keys::unknown_keys(text);
    if !unknown.is_empty() {
        let mut problems: Vec<SourceProblem> = unknown
            .iter()
            .map(|u| SourceProblem {
                path: path.to_path_buf(),
                line: Some(line_of(text, u.offset)),
                key: u.key.clone(),
                message: u.message.clone(),
            })
            .collect();
        // And every other problem of the file, found with those keys left out.
        if let Some(rest) = keys::without(text, &unknown) {
            if let Err(SourceErrors(more)) = parse_source(path, &rest) {
                problems.extend(more);
            }
        }
        problems.sort_by_key(|p| p.line);
        return Err(SourceErrors(problems));
    }
    let file: SourceFile = toml::from_str(text).map_err(|err| {
        let line = err.span().map(|s| line_of(text, s.start));
        let message = err.message().trim().to_string();
        SourceErrors(vec![SourceProblem {
            path: path.to_path_buf(),
            line,
            key: String::new(),
            message: match line {
                Some(_) => message,
                None => format!("{message} (line unknown: the TOML parser gave no position)"),
            },
        }])
    })?;
    Validator {
        path,
        text,
        problems: Vec::new(),
    }
    .validate(file)
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

struct Validator<'a> {
    path: &'a Path,
    text: &'a str,
    problems: Vec<SourceProblem>,
}

impl Validator<'_> {
    fn problem<T>(&mut self, spanned: &toml::Spanned<T>, key: &str, message: impl Into<String>) {
        let span = spanned.span();
        let line = (span.end > 0).then(|| line_of(self.text, span.start));
        self.problems.push(SourceProblem {
            path: self.path.to_path_buf(),
            line,
            key: key.to_string(),
            message: message.into(),
        });
    }

    fn regex(&mut self, spanned: &toml::Spanned<String>, key: &str) -> Option<Regex> {
        match Regex::new(spanned.get_ref()) {
            Ok(re) => Some(re),
            Err(err) => {
                let msg = regex_error_summary(&err);
                self.problem(spanned, key, format!("invalid regex: {msg}"));
                None
            }
        }
    }

    fn selector(&mut self, spanned: &toml::Spanned<String>, key: &str) -> Option<CssSelector> {
        if let Some(problem) = selector_complexity_problem(spanned.get_ref()) {
            self.problem(spanned, key, format!("invalid CSS selector: {problem}"));
            return None;
        }
        match Selector::parse(spanned.get_ref()) {
            Ok(sel) => Some(sel.into()),
            Err(err) => {
                let what = css_error::describe(&err);
                self.problem(spanned, key, format!("invalid CSS selector: {what}"));
                None
            }
        }
    }

    fn validate(mut self, file: SourceFile) -> Result<Source, SourceErrors> {
        let (id, timezone) = self.studio(&file.studio);
        let start_urls = self.start_urls(&file.crawl);
        let follow = self.regex(&file.crawl.follow, "crawl.follow");
        self.crawl_limits(&file.crawl);
        let allowed_hosts = self.allowed_hosts(&file.crawl, &start_urls);
        let slug_pattern = file
            .slug
            .pattern
            .as_ref()
            .and_then(|p| self.regex(p, "slug.pattern"));
        let extract = self.extract_rules(&file.extract);

        let cron = file.schedule.cron.get_ref().clone();
        if let Err(msg) = validate_cron(&cron) {
            self.problem(&file.schedule.cron, "schedule.cron", msg);
        }

        if !self.problems.is_empty() {
            return Err(SourceErrors(self.problems));
        }
        Ok(Source {
            path: self.path.to_path_buf(),
            studio: Studio {
                id,
                name: file.studio.name,
                instagram_link: file.studio.instagram_link,
                image_url: file.studio.image_url,
                city: file.studio.city,
            },
            timezone: timezone.expect("checked above"),
            crawl: Crawl {
                start_urls,
                follow: follow.expect("checked above"),
                depth: file.crawl.depth,
                allowed_hosts,
                max_pages: file.crawl.max_pages,
                host_delay: Duration::from_millis(file.crawl.host_delay_ms),
                host_concurrency: file.crawl.host_concurrency,
                obey_robots: file.crawl.obey_robots,
            },
            slug_pattern,
            extract,
            schedule: Schedule {
                cron,
                enabled: file.schedule.enabled,
            },
        })
    }

    /// `[studio]`: the id (and that it names the file), the Instagram link the app
    /// needs, the zone. Returns the id and the zone (`None` when unknown).
    fn studio(&mut self, studio: &StudioSection) -> (String, Option<Tz>) {
        let id = studio.id.get_ref().clone();
        let id_ok = !id.is_empty()
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
        if !id_ok {
            self.problem(
                &studio.id,
                "studio.id",
                "must be non-empty and use only letters, digits, `_`, `.` and `-`",
            );
        }
        let stem = self.path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
        if id_ok && stem != id {
            self.problem(
                &studio.id,
                "studio.id",
                format!("`{id}` does not match the file name `{stem}.toml`"),
            );
        }
        // The app's studios tab needs every studio's http(s) Instagram link: one studio
        // without it empties the tab for everyone (shared/app-contract.md).
        match studio.instagram_link.as_deref().map(str::trim) {
            Some(link) if is_http_url(link) => {}
            Some(link) => self.problems.push(self.plain(
                "studio.instagram_link",
                &format!(
                    "`{link}` is not an http(s) URL; the app needs the studio's Instagram link, \
                     e.g. https://www.instagram.com/{id}/"
                ),
            )),
            None => self.problems.push(SourceProblem {
                path: self.path.to_path_buf(),
                line: self
                    .text
                    .lines()
                    .position(|l| l.trim() == "[studio]")
                    .map(|l| l + 1),
                key: "studio.instagram_link".into(),
                message: format!(
                    "missing; the app needs the studio's http(s) Instagram link \
                     (e.g. instagram_link = \"https://www.instagram.com/{id}/\"): a studio \
                     without one empties the app's studios tab"
                ),
            }),
        }
        let timezone = match studio.timezone.get_ref().parse::<Tz>() {
            Ok(tz) => Some(tz),
            Err(_) => {
                let tz = studio.timezone.get_ref().clone();
                self.problem(
                    &studio.timezone,
                    "studio.timezone",
                    format!("unknown time zone `{tz}` (use an IANA name such as Asia/Kolkata)"),
                );
                None
            }
        };

        (id, timezone)
    }

    /// `crawl.start_urls`: at least one, each http(s) with a host.
    fn start_urls(&mut self, crawl: &CrawlSection) -> Vec<Url> {
        let mut start_urls = Vec::new();
        if crawl.start_urls.get_ref().is_empty() {
            self.problem(
                &crawl.start_urls,
                "crawl.start_urls",
                "needs at least one URL",
            );
        }
        for raw in crawl.start_urls.get_ref() {
            match Url::parse(raw) {
                Ok(u) if matches!(u.scheme(), "http" | "https") && u.host_str().is_some() => {
                    start_urls.push(u)
                }
                Ok(u) => self.problem(
                    &crawl.start_urls,
                    "crawl.start_urls",
                    format!(
                        "`{raw}`: only http and https URLs with a host (got `{}`)",
                        u.scheme()
                    ),
                ),
                Err(err) => self.problem(
                    &crawl.start_urls,
                    "crawl.start_urls",
                    format!("`{raw}`: {err}"),
                ),
            }
        }
        start_urls
    }

    /// The crawl's counts that must be at least 1.
    fn crawl_limits(&mut self, crawl: &CrawlSection) {
        if crawl.max_pages == 0 {
            self.problems
                .push(self.plain("crawl.max_pages", "must be at least 1"));
        }
        if crawl.host_concurrency == 0 {
            self.problems
                .push(self.plain("crawl.host_concurrency", "must be at least 1"));
        }
        if crawl.depth == 0 {
            self.problems
                .push(self.plain("crawl.depth", "must be at least 1"));
        }
    }

    /// `crawl.allowed_hosts` as written (each a host, the start URLs' among them), or
    /// the default: the start URLs' hosts and those named literally in `follow`.
    fn allowed_hosts(&mut self, crawl: &CrawlSection, start_urls: &[Url]) -> BTreeSet<String> {
        match &crawl.allowed_hosts {
            Some(hosts) => {
                let mut set = BTreeSet::new();
                for entry in hosts {
                    match normalise_host_entry(entry) {
                        Ok(host) => {
                            set.insert(host);
                        }
                        Err(msg) => {
                            let problem = self.plain("crawl.allowed_hosts", &msg);
                            self.problems.push(problem);
                        }
                    }
                }
                for u in start_urls {
                    let host = u.host_str().unwrap_or("").to_ascii_lowercase();
                    if !set.contains(&host) {
                        let problem = self.plain(
                            "crawl.allowed_hosts",
                            &format!(
                                "does not list `{host}`, the host of the start URL {u}: \
                                 the listing could never be fetched (add it, or leave \
                                 allowed_hosts out to use the default)"
                            ),
                        );
                        self.problems.push(problem);
                    }
                }
                set
            }
            None => start_urls
                .iter()
                .filter_map(|u| u.host_str().map(str::to_ascii_lowercase))
                .chain(hosts_named_in_regex(crawl.follow.get_ref()))
                .collect(),
        }
    }

    /// `[extract]`: the default event type, the content selector and the field rules,
    /// compiled.
    fn extract_rules(&mut self, extract: &ExtractSection) -> ExtractRules {
        let default_event_type = match &extract.default_event_type {
            Some(s) => match s.get_ref().parse::<EventType>() {
                Ok(t) => t,
                Err(msg) => {
                    self.problem(s, "extract.default_event_type", msg);
                    EventType::Workshop
                }
            },
            None => EventType::Workshop,
        };
        let content_selector = extract
            .content_selector
            .as_ref()
            .and_then(|s| self.selector(s, "extract.content_selector"));
        let mut compiled = std::collections::HashMap::new();
        for (name, rule) in extract.fields.iter() {
            let key = format!("extract.fields.{name}");
            if rule.selector.is_none() && rule.pattern.is_none() {
                self.problems
                    .push(self.plain(&key, "needs `selector`, `pattern` or both"));
                continue;
            }
            let selector = rule
                .selector
                .as_ref()
                .and_then(|s| self.selector(s, &format!("{key}.selector")));
            let pattern = rule
                .pattern
                .as_ref()
                .and_then(|p| self.regex(p, &format!("{key}.pattern")));
            let mut describe = Vec::new();
            if let Some(s) = &rule.selector {
                describe.push(format!("selector `{}`", s.get_ref()));
            }
            if let Some(a) = &rule.attribute {
                describe.push(format!("attribute `{a}`"));
            }
            if let Some(p) = &rule.pattern {
                describe.push(format!("pattern `{}`", p.get_ref()));
            }
            compiled.insert(
                name,
                CompiledFieldRule {
                    selector,
                    attribute: rule.attribute.clone(),
                    pattern,
                    describe: describe.join(", "),
                },
            );
        }

        ExtractRules {
            default_event_type,
            content_selector,
            title: compiled.remove("title"),
            artist: compiled.remove("artist"),
            song: compiled.remove("song"),
            dates: compiled.remove("dates"),
            times: compiled.remove("times"),
            prices: compiled.remove("prices"),
            event_type: compiled.remove("event_type"),
        }
    }

    /// A problem at a key whose value carries no span (numbers, booleans): the line is
    /// found by looking for the key in the text.
    fn plain(&self, key: &str, message: &str) -> SourceProblem {
        let leaf = key.rsplit('.').next().unwrap_or(key);
        let line = key_line(self.text, leaf);
        SourceProblem {
            path: self.path.to_path_buf(),
            line,
            key: key.to_string(),
            message: match line {
                Some(_) => message.to_string(),
                None => format!(
                    "{message} (line unknown: no line of the form `{leaf} = …` in the file)"
                ),
            },
        }
    }
}

/// `http://` or `https://` with a host.
fn is_http_url(text: &str) -> bool {
    url::Url::parse(text)
        .is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some())
}

/// The 1-based line where `leaf = …` is written, if it is written that way.
fn key_line(text: &str, leaf: &str) -> Option<usize> {
    text.lines()
        .position(|l| {
            let l = l.trim_start();
            l.starts_with(leaf) && l[leaf.len()..].trim_start().starts_with('=')
        })
        .map(|l| l + 1)
}

/// The regex crate's error text is a multi-line diagram; keep its last line, which
/// names the problem ("unclosed group").
/// Longest CSS selector a source may use.
pub const MAX_SELECTOR_BYTES: usize = 1_000;
/// Deepest nesting of `(…)` in a CSS selector (`:not(:is(.a))` is 2).
pub const MAX_SELECTOR_NESTING: usize = 8;

/// Why a selector is too complex to parse or match safely, before it is parsed: the
/// selector parser recurses once per nested `:not(` / `:is(` / `:has(`, so a selector
/// nested thousands deep would overflow the stack (of `check`, or of the daemon on
/// reload) instead of being reported.
pub fn selector_complexity_problem(selector: &str) -> Option<String> {
    if selector.len() > MAX_SELECTOR_BYTES {
        return Some(format!(
            "selector is {} bytes long; at most {MAX_SELECTOR_BYTES} are allowed",
            selector.len()
        ));
    }
    let mut depth = 0usize;
    let mut deepest = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for c in selector.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match (c, quote) {
            ('\\', _) => escaped = true,
            (q, Some(open)) if q == open => quote = None,
            (_, Some(_)) => {}
            ('"' | '\'', None) => quote = Some(c),
            ('(', None) => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            (')', None) => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    (deepest > MAX_SELECTOR_NESTING).then(|| {
        format!(
            "selector nests `(…)` {deepest} levels deep (e.g. `:not(:not(…))`); at most {MAX_SELECTOR_NESTING} are allowed"
        )
    })
}

fn regex_error_summary(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix("error: ").map(str::to_string))
        .unwrap_or_else(|| text.lines().last().unwrap_or("").trim().to_string())
}

/// Checks a cron expression the way the daemon's scheduler reads it (seconds first).
pub fn validate_cron(expr: &str) -> Result<(), String> {
    croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(expr)
        .map(|_| ())
        .map_err(|e| {
            format!(
                "invalid cron expression `{expr}`: {e} (format: sec min hour day month weekday)"
            )
        })
}

/// Hosts written literally in a URL regex: `rzp.io` from `^https://rzp\.io/rzp/`, also
/// with `http://` or `https?://`, IP addresses (`127\.0\.0\.1`), names without a dot
/// (`localhost`) and a port after the host (`:8080`, which is not part of the host).
pub fn hosts_named_in_regex(pattern: &str) -> Vec<String> {
    let re = Regex::new(
        r"https?\??://(?:\(\?:www\\\.\)\?)?((?:[A-Za-z0-9-]+\\?\.)*[A-Za-z0-9-]+)(?:[:/\\$)?#(\[]|$)",
    )
    .expect("static regex");
    re.captures_iter(pattern)
        .map(|c| c[1].replace('\\', "").to_ascii_lowercase())
        .collect()
}

/// One `crawl.allowed_hosts` entry as the host it names: `example.com`,
/// `127.0.0.1:8080` (a port is accepted and ignored: hosts, not ports, are what is
/// allowed), `[::1]`. A URL or a path is refused with what to write instead.
pub fn normalise_host_entry(entry: &str) -> Result<String, String> {
    let trimmed = entry.trim();
    if trimmed.is_empty() {
        return Err("an entry is empty".into());
    }
    if trimmed.contains("://") || trimmed.contains('/') {
        let host = Url::parse(trimmed)
            .ok()
            .and_then(|u| u.host_str().map(str::to_string));
        return Err(match host {
            Some(h) => format!("`{trimmed}`: write the host only, e.g. `{h}`"),
            None => format!("`{trimmed}`: write a host name such as `example.com`"),
        });
    }
    match Url::parse(&format!("http://{trimmed}/")) {
        Ok(u) if u.host_str().is_some() && u.username().is_empty() => {
            Ok(u.host_str().unwrap_or_default().to_ascii_lowercase())
        }
        _ => Err(format!(
            "`{trimmed}` is not a host name (expected e.g. `example.com` or `127.0.0.1:8080`)"
        )),
    }
}

#[cfg(test)]
mod tests;
