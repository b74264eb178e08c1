//! Daemon settings: built-in defaults < config file (`--config`, TOML) < environment
//! (`NACHNA_*`) < command-line flags. Every key is documented here and in the README;
//! unknown keys are errors. Secrets (the MongoDB URI, push keys) are `SecretString`s and
//! never printed.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    /// Directory of `<studio_id>.toml` source files. Env `NACHNA_SOURCES_DIR`.
    pub sources_dir: PathBuf,
    pub mongodb: MongoSettings,
    pub fetch: FetchConfig,
    pub ingest: IngestConfig,
    /// `[push]`: how pushes are delivered (sender, APNs credentials, retries).
    pub push: crate::notify::config::PushConfig,
    /// `[notify]`: what is sent and when (templates, expiry, outbox TTL).
    pub notify: crate::notify::config::NotifyConfig,
    pub daemon: DaemonConfig,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            sources_dir: PathBuf::from("sources"),
            mongodb: MongoSettings::default(),
            fetch: FetchConfig::default(),
            ingest: IngestConfig::default(),
            push: Default::default(),
            notify: Default::default(),
            daemon: DaemonConfig::default(),
        }
    }
}

/// `[mongodb]`
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MongoSettings {
    /// Connection string. Env `NACHNA_MONGODB_URI`. When unset, a local SecantusDB
    /// server is started with its data in `local_data_dir`.
    pub uri: Option<SecretString>,
    /// Database of workshops, studios, artists and ingest bookkeeping. Env
    /// `NACHNA_DISCOVERY_DB`. Default `discovery`.
    pub discovery_db: String,
    /// Database of users, reactions, device tokens, notification settings and the
    /// outbox. Env `NACHNA_APP_DB`. Default `dance_app`.
    pub app_db: String,
    /// Data directory of the local server used when `uri` is unset. Env
    /// `NACHNA_LOCAL_DB_DIR`. Default `.nachna-data/secantus` (under the working dir).
    pub local_data_dir: PathBuf,
    /// How long to wait for MongoDB before giving up, in seconds. Default 10.
    pub connect_timeout_secs: u64,
    /// 127.0.0.1 port of the built-in database when `uri` is unset. The service
    /// (`run`) starts it there, so `status`, `trigger` and a manual `ingest` from
    /// another shell reach the same database; they start nothing themselves while it
    /// listens. 0: an ephemeral port (nothing else can find it). Env
    /// `NACHNA_LOCAL_DB_PORT`. Default 27027.
    pub local_port: u16,
}

impl Default for MongoSettings {
    fn default() -> Self {
        MongoSettings {
            uri: None,
            discovery_db: "discovery".into(),
            app_db: "dance_app".into(),
            local_data_dir: PathBuf::from(".nachna-data/secantus"),
            connect_timeout_secs: 10,
            local_port: DEFAULT_LOCAL_PORT,
        }
    }
}

/// `[fetch]`: how pages are requested.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FetchConfig {
    /// URL named in the User-Agent so site owners can reach us. Env
    /// `NACHNA_CONTACT_URL`.
    pub contact_url: String,
    /// TCP + TLS connect timeout, seconds. Default 10.
    pub connect_timeout_secs: u64,
    /// Whole-request timeout, seconds. Default 30.
    pub request_timeout_secs: u64,
    /// Largest body accepted, bytes. Default 5 MiB.
    pub max_body_bytes: usize,
    /// Attempts per page including the first (retries on timeouts, resets, 408, 429,
    /// 5xx). Default 4.
    pub max_attempts: u32,
    /// Redirects followed per request. Default 5.
    pub max_redirects: usize,
}

impl Default for FetchConfig {
    fn default() -> Self {
        FetchConfig {
            contact_url: "https://github.com/nachna/nachna-ingest".into(),
            connect_timeout_secs: 10,
            request_timeout_secs: 30,
            max_body_bytes: 5 * 1024 * 1024,
            max_attempts: 4,
            max_redirects: 5,
        }
    }
}

/// `[ingest]`: how a studio run behaves.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IngestConfig {
    /// Event pages fetched at once per studio (hosts still get their own limits).
    /// Default 4.
    pub page_concurrency: usize,
    /// Safety brake: a run that would archive more than this fraction of a studio's
    /// live workshops archives none and fails. Default 0.5.
    pub archive_brake_fraction: f64,
    /// Time one event page may spend in extraction (parse, text rules, matching) before
    /// it is a failed page "over its time budget". Default 2000.
    pub extract_budget_ms: u64,
}

impl IngestConfig {
    /// [`IngestConfig::extract_budget_ms`] as a duration.
    pub fn extract_budget(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.extract_budget_ms)
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            page_concurrency: 4,
            archive_brake_fraction: 0.5,
            extract_budget_ms: 2000,
        }
    }
}

/// `[daemon]`: the long-running service (`nachna-ingest run`), and the leases the
/// manual `ingest` command shares with it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DaemonConfig {
    /// Address of the `/healthz`, `/readyz` and `/metrics` server, or `off`. Env
    /// `NACHNA_HEALTH_ADDRESS`. Default `127.0.0.1:9464` (loopback only: put a proxy or
    /// the scraper on the same host rather than opening it wider).
    pub health_address: String,
    /// On SIGTERM/SIGINT, how long in-flight runs and pushes may take to finish before
    /// they are cut short and recorded as interrupted, seconds. Default 30 (well under
    /// systemd's 90 s stop timeout).
    pub grace_period_secs: u64,
    /// How often the daemon looks for `trigger` requests, milliseconds. Default 2000.
    pub trigger_poll_ms: u64,
    /// A trigger request no daemon picked up within this many seconds is marked
    /// `expired`. Default 3600.
    pub trigger_expiry_secs: u64,
    /// Lifetime of a studio lease without renewal, seconds: how long a crashed owner
    /// blocks its studio. Default 120.
    pub lease_ttl_secs: u64,
    /// How often a live run renews its lease, seconds (must be well under the ttl).
    /// Default 20.
    pub lease_renew_secs: u64,
    /// How long the manual `ingest` waits for a studio another process is running,
    /// seconds (0: do not wait, report it busy). Default 600.
    pub busy_wait_secs: u64,
    /// Largest random delay added to a scheduled run so studios with the same cron do
    /// not all start together, milliseconds. Default 30000.
    pub jitter_max_ms: u64,
    /// Log format of `run` when `--log-format` is not given: `auto` (JSON under systemd,
    /// text on a terminal), `text` or `json`. Env `NACHNA_LOG_FORMAT`. Default `auto`.
    pub log_format: String,
    /// Log filter (`tracing` directives, e.g. `info,nachna_ingest::fetch=debug`) when
    /// `RUST_LOG` is unset. Default `info,tokio_cron_scheduler=warn`.
    pub log_level: String,
}

impl Default for DaemonConfig {
    fn default() -> Self {
        DaemonConfig {
            health_address: "127.0.0.1:9464".into(),
            grace_period_secs: 30,
            trigger_poll_ms: 2000,
            trigger_expiry_secs: 3600,
            lease_ttl_secs: 120,
            lease_renew_secs: 20,
            busy_wait_secs: 600,
            jitter_max_ms: 30_000,
            log_format: "auto".into(),
            log_level: "info,tokio_cron_scheduler=warn".into(),
        }
    }
}

/// The settings file every command reads when neither `--config` nor `NACHNA_CONFIG`
/// names one and it exists: the one the service's unit passes, so `status` and
/// `trigger` from an operator's shell see the service's settings.
pub const DEFAULT_CONFIG: &str = "/etc/nachna-ingest/nachna-ingest.toml";

/// The built-in database's port (see [`MongoSettings::local_port`]).
pub const DEFAULT_LOCAL_PORT: u16 = 27027;

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
}

impl Settings {
    /// Defaults, then the config file (if any), then the environment.
    pub fn load(config_file: Option<&Path>) -> Result<Settings, SettingsError> {
        let default = Path::new(DEFAULT_CONFIG);
        let mut settings = match config_file {
            Some(path) => Self::from_file(path)?,
            None if default.is_file() => Self::from_file(default)?,
            None => Settings::default(),
        };
        settings.apply_env(|name| std::env::var(name).ok())?;
        Ok(settings)
    }

    pub fn from_file(path: &Path) -> Result<Settings, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        toml::from_str(&text).map_err(|err| SettingsError::Parse {
            path: path.to_path_buf(),
            line: err
                .span()
                .map(|s| text[..s.start].matches('\n').count() + 1)
                .unwrap_or(1),
            message: err.message().trim().to_string(),
        })
    }

    /// Applies `NACHNA_*` overrides read through `var` (injectable for tests).
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) -> Result<(), SettingsError> {
        let non_empty = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        if let Some(v) = non_empty("NACHNA_MONGODB_URI") {
            self.mongodb.uri = Some(SecretString::from(v));
        }
        if let Some(v) = non_empty("NACHNA_DISCOVERY_DB") {
            self.mongodb.discovery_db = v;
        }
        if let Some(v) = non_empty("NACHNA_APP_DB") {
            self.mongodb.app_db = v;
        }
        if let Some(v) = non_empty("NACHNA_LOCAL_DB_DIR") {
            self.mongodb.local_data_dir = PathBuf::from(v);
        }
        if let Some(v) = non_empty("NACHNA_LOCAL_DB_PORT") {
            self.mongodb.local_port = v.trim().parse().map_err(|_| SettingsError::Env {
                name: "NACHNA_LOCAL_DB_PORT".into(),
                message: format!("`{v}` is not a port number (0-65535)"),
            })?;
        }
        if let Some(v) = non_empty("NACHNA_SOURCES_DIR") {
            self.sources_dir = PathBuf::from(v);
        }
        if let Some(v) = non_empty("NACHNA_CONTACT_URL") {
            self.fetch.contact_url = v;
        }
        self.push
            .apply_env(&var)
            .map_err(|(name, message)| SettingsError::Env {
                name: name.into(),
                message,
            })?;
        if let Some(v) = non_empty("NACHNA_HEALTH_ADDRESS") {
            self.daemon.health_address = v;
        }
        if let Some(v) = non_empty("NACHNA_LOG_FORMAT") {
            self.daemon.log_format = v;
        }
        Ok(())
    }

    pub fn mongodb_uri(&self) -> Option<&str> {
        self.mongodb.uri.as_ref().map(|s| s.expose_secret())
    }

    pub fn mongo_connect_timeout(&self) -> Duration {
        Duration::from_secs(self.mongodb.connect_timeout_secs)
    }
}

/// A MongoDB URI with any password replaced, for logs and errors.
pub fn redact_uri(uri: &str) -> String {
    match url::Url::parse(uri) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "<unparseable MongoDB URI>".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.toml");
        std::fs::write(
            &path,
            "[mongodb]\ndiscovery_db = \"from_file\"\napp_db = \"app_file\"\n",
        )
        .unwrap();
        let mut s = Settings::from_file(&path).unwrap();
        assert_eq!(s.mongodb.discovery_db, "from_file");
        s.apply_env(|name| (name == "NACHNA_APP_DB").then(|| "app_env".to_string()))
            .unwrap();
        assert_eq!(s.mongodb.discovery_db, "from_file");
        assert_eq!(s.mongodb.app_db, "app_env");
        assert_eq!(s.fetch.max_body_bytes, 5 * 1024 * 1024);
    }

    #[test]
    fn unknown_key_names_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.toml");
        std::fs::write(&path, "[fetch]\nmax_attempts = 3\nretries = 9\n").unwrap();
        let err = Settings::from_file(&path).unwrap_err().to_string();
        assert!(err.contains("n.toml:3:"), "{err}");
        assert!(err.contains("retries"), "{err}");
    }

    #[test]
    fn daemon_section_reads_from_file_and_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.toml");
        std::fs::write(
            &path,
            "[daemon]\ngrace_period_secs = 5\nlease_ttl_secs = 9\nhealth_address = \"off\"\n",
        )
        .unwrap();
        let mut s = Settings::from_file(&path).unwrap();
        assert_eq!(s.daemon.grace_period_secs, 5);
        assert_eq!(s.daemon.lease_ttl_secs, 9);
        assert_eq!(s.daemon.trigger_poll_ms, 2000);
        s.apply_env(|n| (n == "NACHNA_HEALTH_ADDRESS").then(|| "127.0.0.1:1".into()))
            .unwrap();
        assert_eq!(s.daemon.health_address, "127.0.0.1:1");
        std::fs::write(&path, "[daemon]\ngrace = 5\n").unwrap();
        assert!(Settings::from_file(&path)
            .unwrap_err()
            .to_string()
            .contains("grace"));
    }

    #[test]
    fn uri_secret_is_not_debug_printed_and_redacts() {
        let mut s = Settings::default();
        s.apply_env(|n| (n == "NACHNA_MONGODB_URI").then(|| "mongodb://u:hunter2@h/".into()))
            .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(redact_uri(s.mongodb_uri().unwrap()), "mongodb://u:***@h/");
    }
}
