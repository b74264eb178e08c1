//! `[push]` (how pushes are delivered) and `[notify]` (what is sent, and when) settings.
//!
//! Both follow the crate's settings style: every key documented here, named defaults,
//! unknown keys rejected, secrets held as [`SecretString`] and never printed. The APNs
//! credentials usually come from the environment (`NACHNA_APNS_*`), see
//! [`PushConfig::apply_env`].

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::PathBuf;
use std::time::Duration;

/// Which sender delivers pushes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum SenderKind {
    /// Apple Push Notification service through `a2`, token (`.p8`) authentication.
    #[default]
    Apns,
    /// Append each would-be APNs request as one JSON line to `push.file_path` (staging).
    File,
    /// Send nothing; notifications stay `pending` in the outbox.
    None,
}

impl SenderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SenderKind::Apns => "apns",
            SenderKind::File => "file",
            SenderKind::None => "none",
        }
    }
}

impl std::str::FromStr for SenderKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "apns" => Ok(SenderKind::Apns),
            "file" => Ok(SenderKind::File),
            "none" | "off" => Ok(SenderKind::None),
            other => Err(format!(
                "unknown sender `{other}` (expected apns, file or none)"
            )),
        }
    }
}

/// The APNs environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ApnsEnvironment {
    /// `api.push.apple.com`: App Store and TestFlight builds.
    #[default]
    Production,
    /// `api.development.push.apple.com`: builds run from Xcode.
    Sandbox,
}

impl std::str::FromStr for ApnsEnvironment {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "production" | "prod" => Ok(ApnsEnvironment::Production),
            "sandbox" | "development" => Ok(ApnsEnvironment::Sandbox),
            other => Err(format!(
                "unknown APNs environment `{other}` (expected production or sandbox)"
            )),
        }
    }
}

/// `[push]`: delivery.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PushConfig {
    /// `apns`, `file` or `none`. Env `NACHNA_PUSH_SENDER`. Default `apns`; without
    /// credentials nothing is sent and one warning says how to configure them.
    pub sender: SenderKind,
    /// Path of the `.p8` signing key from Apple (Certificates, Identifiers & Profiles →
    /// Keys). Env `NACHNA_APNS_KEY_PATH`.
    pub key_path: Option<PathBuf>,
    /// The `.p8` key's contents (PEM), instead of `key_path`. Env `NACHNA_APNS_KEY`.
    /// Secret: never logged.
    pub key: Option<SecretString>,
    /// The key's 10-character Key ID. Env `NACHNA_APNS_KEY_ID`.
    pub key_id: Option<String>,
    /// The Apple developer Team ID. Env `NACHNA_APNS_TEAM_ID`.
    pub team_id: Option<String>,
    /// The app's bundle id, sent as `apns-topic`. Env `NACHNA_APNS_TOPIC`.
    pub topic: Option<String>,
    /// `production` or `sandbox`. Env `NACHNA_APNS_ENVIRONMENT`. Default `production`.
    pub environment: ApnsEnvironment,
    /// Whole-request timeout for one APNs request, seconds. Default 20.
    pub request_timeout_secs: u64,
    /// Pushes in flight at once, multiplexed as HTTP/2 streams on one connection to
    /// APNs (Apple allows up to about 1,000 concurrent streams per connection).
    /// Throughput ≈ concurrency ÷ APNs latency: 500 at 50 ms is ~10,000/s. Default 500.
    pub concurrency: usize,
    /// Outbox documents claimed per batch: one lease write marks a batch in flight and
    /// one multi-statement update records its outcomes. Also the most that are sent
    /// again (same collapse id) if the dispatcher dies mid-batch. Default 1000, at most
    /// 5000.
    pub batch_size: usize,
    /// Tries per device per dispatch for transient failures (429, 500, 503, timeouts,
    /// connection errors), the first included. Default 3.
    pub retry_attempts: u32,
    /// First back-off between those tries, milliseconds; doubles each time. Default 500.
    pub retry_backoff_ms: u64,
    /// Dispatches a notification may take while transient failures persist before it is
    /// marked `failed`. Between two, it waits `retry_backoff_ms × 2^n` again. Default 5.
    pub max_dispatch_attempts: u32,
    /// How long a dispatcher owns a claimed notification, seconds. A claim older than
    /// this (its dispatcher died) is sent again, with the same `apns-collapse-id`.
    /// Must exceed the worst case of one notification's retries. Default 120.
    pub lease_secs: u64,
    /// File the `file` sender appends to (one JSON line per request). Env
    /// `NACHNA_PUSH_FILE`. Default `push-requests.jsonl`.
    pub file_path: PathBuf,
}

impl Default for PushConfig {
    fn default() -> Self {
        PushConfig {
            sender: SenderKind::Apns,
            key_path: None,
            key: None,
            key_id: None,
            team_id: None,
            topic: None,
            environment: ApnsEnvironment::Production,
            request_timeout_secs: 20,
            concurrency: 500,
            batch_size: 1000,
            retry_attempts: 3,
            retry_backoff_ms: 500,
            max_dispatch_attempts: 5,
            lease_secs: 120,
            file_path: PathBuf::from("push-requests.jsonl"),
        }
    }
}

/// How to configure APNs, for the one warning printed when credentials are missing.
pub const HOW_TO_CONFIGURE: &str =
    "see \"Configuring APNs credentials\" in README.md (or set push.sender = \"file\")";

/// The one documented place of the APNs signing key. The systemd unit hands it to the
/// service with `LoadCredential=apns-key.p8:/etc/nachna-ingest/apns-key.p8`, so the
/// service reads it as `$CREDENTIALS_DIRECTORY/apns-key.p8`; commands run from a shell
/// (as root) read it here.
pub const DEFAULT_KEY_PATH: &str = "/etc/nachna-ingest/apns-key.p8";

/// The credential name of the APNs key under `$CREDENTIALS_DIRECTORY`.
pub const KEY_CREDENTIAL: &str = "apns-key.p8";

impl PushConfig {
    /// Applies `NACHNA_PUSH_*` / `NACHNA_APNS_*` overrides read through `var`. An
    /// unusable value gives the variable's name and the problem.
    pub fn apply_env(
        &mut self,
        var: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), (&'static str, String)> {
        let non_empty = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = non_empty("NACHNA_PUSH_SENDER") {
            self.sender = v.parse().map_err(|e| ("NACHNA_PUSH_SENDER", e))?;
        }
        if let Some(v) = non_empty("NACHNA_APNS_KEY") {
            self.key = Some(SecretString::from(v));
        }
        if let Some(v) = non_empty("NACHNA_APNS_KEY_PATH") {
            self.key_path = Some(PathBuf::from(v));
        }
        if let Some(v) = non_empty("NACHNA_APNS_KEY_ID") {
            self.key_id = Some(v.trim().to_string());
        }
        if let Some(v) = non_empty("NACHNA_APNS_TEAM_ID") {
            self.team_id = Some(v.trim().to_string());
        }
        if let Some(v) = non_empty("NACHNA_APNS_TOPIC") {
            self.topic = Some(v.trim().to_string());
        }
        if let Some(v) = non_empty("NACHNA_APNS_ENVIRONMENT") {
            self.environment = v.parse().map_err(|e| ("NACHNA_APNS_ENVIRONMENT", e))?;
        }
        if let Some(v) = non_empty("NACHNA_PUSH_FILE") {
            self.file_path = PathBuf::from(v);
        }
        let credentials = non_empty("CREDENTIALS_DIRECTORY").map(PathBuf::from);
        self.find_key_file(credentials.as_deref(), &|p| {
            std::fs::metadata(p)
                .ok()
                .filter(|m| m.is_file())
                .map(|m| m.len())
        });
        Ok(())
    }

    /// When neither `key` nor `key_path` is configured, takes the key file systemd
    /// provides (`$CREDENTIALS_DIRECTORY/apns-key.p8`), else [`DEFAULT_KEY_PATH`], if it
    /// exists and is not empty. `size_of` gives a regular file's length (injectable for
    /// tests). An empty file counts as no key: the documented install creates one so
    /// the unit's `LoadCredential=` finds a file before the real key is at hand.
    pub fn find_key_file(
        &mut self,
        credentials_dir: Option<&std::path::Path>,
        size_of: &dyn Fn(&std::path::Path) -> Option<u64>,
    ) {
        let has_key = self
            .key
            .as_ref()
            .is_some_and(|k| !k.expose_secret().trim().is_empty());
        if has_key || self.key_path.is_some() {
            return;
        }
        let candidates = credentials_dir
            .map(|d| d.join(KEY_CREDENTIAL))
            .into_iter()
            .chain(std::iter::once(PathBuf::from(DEFAULT_KEY_PATH)));
        for path in candidates {
            if size_of(&path).is_some_and(|len| len > 0) {
                self.key_path = Some(path);
                return;
            }
        }
    }

    /// The names of the APNs settings still missing (empty when APNs can be used).
    pub fn missing_apns_credentials(&self) -> Vec<&'static str> {
        let mut missing = Vec::new();
        let has_key = self
            .key
            .as_ref()
            .is_some_and(|k| !k.expose_secret().trim().is_empty())
            || self.key_path.is_some();
        if !has_key {
            missing.push(
                "key (/etc/nachna-ingest/apns-key.p8 absent or empty, no NACHNA_APNS_KEY_PATH)",
            );
        }
        if self.key_id.as_deref().is_none_or(str::is_empty) {
            missing.push("key_id (NACHNA_APNS_KEY_ID)");
        }
        if self.team_id.as_deref().is_none_or(str::is_empty) {
            missing.push("team_id (NACHNA_APNS_TEAM_ID)");
        }
        if self.topic.as_deref().is_none_or(str::is_empty) {
            missing.push("topic (NACHNA_APNS_TOPIC)");
        }
        missing
    }

    pub fn lease(&self) -> Duration {
        Duration::from_secs(self.lease_secs.max(1))
    }

    pub fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout_secs.max(1))
    }

    /// Back-off before try `attempt + 1` (attempt counts from 1).
    pub fn backoff(&self, attempt: u32) -> Duration {
        let base = Duration::from_millis(self.retry_backoff_ms);
        crate::backoff::exponential(base, attempt, base.saturating_mul(1 << 16))
    }
}

/// Title and body templates of one kind of notification.
///
/// Placeholders: `{artist}` (the names of the workshop's artists this user follows,
/// joined with " x "), `{by}` (the workshop's artist text), `{song}` (the song, or
/// "a new routine" when unknown), `{studio}` (studio name), `{date}` (e.g. `Sat 21 Jun`)
/// (`today` and `tomorrow` when it is) and `{time}` (e.g. `4 PM`, `6:30 PM`) of the
/// session concerned in the studio's zone,
/// `{hours}` (reminder lead time).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Template {
    pub title: String,
    pub body: String,
}

/// Every placeholder a template may use.
pub const PLACEHOLDERS: &[&str] = &[
    "artist", "by", "song", "studio", "date", "time", "hours", "from",
];

/// `[notify]`: what is sent and when.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NotifyConfig {
    /// Announce a stored workshop whose sessions changed. (The app's
    /// `notification_settings` has no switch for it.) Default true.
    pub schedule_change_enabled: bool,
    /// `apns-expiration` of new-workshop and schedule-change pushes, hours after they were
    /// enqueued; one not sent by then is recorded `suppressed` ("expired"). Reminders
    /// expire at their session's start. Default 72.
    pub expiration_hours: u64,
    /// Days a `sent` or `suppressed` outbox document is kept for audit (TTL). Default 90.
    pub outbox_ttl_days: u64,
    /// How often the daemon looks for reminders due, seconds. Default 60 (reminders have
    /// minute precision).
    pub reminder_scan_interval_secs: u64,
    /// Time zone of studios without a source file that says otherwise. Default
    /// `Asia/Kolkata`.
    pub default_timezone: String,
    /// Followers handled per database round trip during fan-out. Default 1000.
    pub fanout_batch_size: usize,
    /// Template of `new_workshop` pushes.
    pub new_workshop: Template,
    /// Template of `schedule_change` pushes.
    pub schedule_change: Template,
    /// Template of `reminder` pushes.
    pub reminder: Template,
    /// Template of `notify test` pushes.
    pub test: Template,
}

impl Default for NotifyConfig {
    fn default() -> Self {
        NotifyConfig {
            schedule_change_enabled: true,
            expiration_hours: 72,
            outbox_ttl_days: 90,
            reminder_scan_interval_secs: 60,
            default_timezone: "Asia/Kolkata".into(),
            fanout_batch_size: 1000,
            new_workshop: Template {
                title: "{artist} has a new workshop".into(),
                body: "{song} at {studio}, {date} at {time}".into(),
            },
            schedule_change: Template {
                title: "{artist}: workshop rescheduled".into(),
                body: "{song} at {studio} moved from {from} to {date} at {time}".into(),
            },
            reminder: Template {
                title: "Reminder: {artist} at {studio}".into(),
                body: "{song} starts {date} at {time}".into(),
            },
            test: Template {
                title: "nachna test notification".into(),
                body: "Pushes reach this device.".into(),
            },
        }
    }
}

impl NotifyConfig {
    /// Checks the templates and the zone; every problem at once.
    pub fn validate(&self) -> Result<(), String> {
        let mut problems = Vec::new();
        for (name, t) in [
            ("new_workshop", &self.new_workshop),
            ("schedule_change", &self.schedule_change),
            ("reminder", &self.reminder),
            ("test", &self.test),
        ] {
            for (part, text) in [("title", &t.title), ("body", &t.body)] {
                for p in unknown_placeholders(text) {
                    problems.push(format!(
                        "notify.{name}.{part}: unknown placeholder {{{p}}} (known: {})",
                        PLACEHOLDERS.join(", ")
                    ));
                }
            }
        }
        if self.default_timezone.parse::<chrono_tz::Tz>().is_err() {
            problems.push(format!(
                "notify.default_timezone: unknown time zone `{}` (use an IANA name such as Asia/Kolkata)",
                self.default_timezone
            ));
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }

    pub fn default_tz(&self) -> chrono_tz::Tz {
        self.default_timezone
            .parse()
            .unwrap_or(chrono_tz::Asia::Kolkata)
    }

    pub fn outbox_ttl(&self) -> chrono::Duration {
        chrono::Duration::days(self.outbox_ttl_days.min(36_500) as i64)
    }

    pub fn expiration(&self) -> chrono::Duration {
        chrono::Duration::hours(self.expiration_hours.min(24 * 365) as i64)
    }

    pub fn reminder_scan_interval(&self) -> Duration {
        Duration::from_secs(self.reminder_scan_interval_secs.max(1))
    }
}

fn unknown_placeholders(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else { break };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            out.push(name.to_string());
        }
        rest = &after[close + 1..];
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_sets_credentials_and_secret_is_not_debug_printed() {
        let mut push = PushConfig::default();
        push.apply_env(&|name| match name {
            "NACHNA_APNS_KEY" => Some("-----BEGIN PRIVATE KEY-----\nsecretbytes".into()),
            "NACHNA_APNS_KEY_ID" => Some("ABC123DEFG".into()),
            "NACHNA_APNS_TEAM_ID" => Some("TEAM123456".into()),
            "NACHNA_APNS_TOPIC" => Some("com.nachna.app".into()),
            "NACHNA_PUSH_SENDER" => Some("file".into()),
            _ => None,
        })
        .unwrap();
        assert!(push.missing_apns_credentials().is_empty());
        assert_eq!(push.sender, SenderKind::File);
        assert!(!format!("{push:?}").contains("secretbytes"));
    }

    #[test]
    fn unusable_env_value_names_the_variable() {
        let mut push = PushConfig::default();
        let err = push
            .apply_env(&|name| (name == "NACHNA_PUSH_SENDER").then(|| "fcm".into()))
            .unwrap_err();
        assert_eq!(err.0, "NACHNA_PUSH_SENDER");
        assert!(err.1.contains("apns, file or none"), "{}", err.1);
    }

    #[test]
    fn key_comes_from_the_systemd_credentials_directory() {
        let sizes = |p: &std::path::Path| match p.to_str() {
            Some("/run/credentials/nachna-ingest.service/apns-key.p8") => Some(241),
            Some(DEFAULT_KEY_PATH) => Some(241),
            _ => None,
        };
        let mut push = PushConfig::default();
        push.find_key_file(
            Some(std::path::Path::new(
                "/run/credentials/nachna-ingest.service",
            )),
            &sizes,
        );
        assert_eq!(
            push.key_path.as_deref(),
            Some(std::path::Path::new(
                "/run/credentials/nachna-ingest.service/apns-key.p8"
            ))
        );

        // Outside systemd (an operator's shell), the documented path.
        let mut push = PushConfig::default();
        push.find_key_file(None, &sizes);
        assert_eq!(
            push.key_path.as_deref(),
            Some(std::path::Path::new(DEFAULT_KEY_PATH))
        );

        // An explicit setting wins over both.
        let mut push = PushConfig {
            key_path: Some(PathBuf::from("/srv/k.p8")),
            ..PushConfig::default()
        };
        push.find_key_file(Some(std::path::Path::new("/run/c")), &sizes);
        assert_eq!(
            push.key_path.as_deref(),
            Some(std::path::Path::new("/srv/k.p8"))
        );
    }

    #[test]
    fn an_empty_or_absent_key_file_is_no_key_and_the_warning_says_where_it_goes() {
        let empty = |p: &std::path::Path| p.ends_with(KEY_CREDENTIAL).then_some(0);
        let mut push = PushConfig::default();
        push.find_key_file(Some(std::path::Path::new("/run/c")), &empty);
        assert_eq!(push.key_path, None);
        let missing = push.missing_apns_credentials();
        assert_eq!(
            missing[0],
            "key (/etc/nachna-ingest/apns-key.p8 absent or empty, no NACHNA_APNS_KEY_PATH)"
        );
    }

    #[test]
    fn missing_credentials_are_named() {
        let missing = PushConfig::default().missing_apns_credentials();
        assert_eq!(missing.len(), 4, "{missing:?}");
    }

    #[test]
    fn backoff_doubles() {
        let push = PushConfig {
            retry_backoff_ms: 100,
            ..PushConfig::default()
        };
        assert_eq!(push.backoff(1), Duration::from_millis(100));
        assert_eq!(push.backoff(3), Duration::from_millis(400));
    }

    #[test]
    fn unknown_template_placeholder_is_reported() {
        let mut n = NotifyConfig::default();
        assert!(n.validate().is_ok());
        n.reminder.body = "{song} with {teacher}".into();
        let err = n.validate().unwrap_err();
        assert!(
            err.contains("notify.reminder.body") && err.contains("{teacher}"),
            "{err}"
        );
    }

    #[test]
    fn file_sections_parse_with_defaults() {
        let n: NotifyConfig = toml::from_str(
            "outbox_ttl_days = 30\n[reminder]\ntitle = \"t {artist}\"\nbody = \"b\"\n",
        )
        .unwrap();
        assert_eq!(n.outbox_ttl_days, 30);
        assert_eq!(n.reminder.title, "t {artist}");
        assert_eq!(n.expiration_hours, 72);
        let p: PushConfig =
            toml::from_str("sender = \"none\"\nenvironment = \"sandbox\"\nconcurrency = 4\n")
                .unwrap();
        assert_eq!(p.sender, SenderKind::None);
        assert_eq!(p.environment, ApnsEnvironment::Sandbox);
        assert!(toml::from_str::<PushConfig>("retries = 1\n").is_err());
    }
}
