//! One module per subcommand, plus the set-up they share (settings, database, fetcher,
//! logging). `main` only dispatches here.
//!
//! Exit codes: 0 all good; 1 the work ran but something in it failed (a studio run,
//! an invalid source file); 2 the command could not run (bad settings, no database);
//! 3 `trigger --wait` got no outcome in time.

pub mod check;
pub mod extract;
pub mod ingest;
pub mod notify;
pub mod run;
pub mod status;
pub mod trigger;

use crate::cli::{GlobalArgs, LogFormat};
use crate::fetch::{FetchSettings, Fetcher};
use crate::localdb::{LocalDb, LocalDbOptions};
use crate::settings::{redact_uri, Settings};
use crate::source::{self, Source};
use crate::store::Store;
use anyhow::{bail, Context};
use secrecy::SecretString;
use std::path::Path;
use std::time::Duration;
use tracing::info;
use tracing_subscriber::EnvFilter;

/// Logs go to stderr (stdout is for command output such as `--json`).
pub fn init_tracing(format: LogFormat) {
    init_tracing_with(format, "info");
}

/// As [`init_tracing`], with this filter when `RUST_LOG` is unset.
pub fn init_tracing_with(format: LogFormat, default_filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => std::env::var_os("JOURNAL_STREAM").is_some(),
    };
    // Colours only for a person at a terminal: a log file or the journal would keep the
    // escape codes as text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.with_target(false).try_init()
    };
}

/// Settings from file and environment, then the global flags on top.
pub fn load_settings(global: &GlobalArgs) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(global.config.as_deref())?;
    if let Some(uri) = &global.mongodb_uri {
        settings.mongodb.uri = Some(SecretString::from(uri.clone()));
    }
    if let Some(dir) = &global.sources {
        settings.sources_dir = dir.clone();
    }
    Ok(settings)
}

pub fn load_sources(dir: &Path) -> anyhow::Result<Vec<Source>> {
    source::load_dir(dir).map_err(|errs| anyhow::anyhow!("{errs}"))
}

/// A connected store, and the local server behind it when we started one.
pub struct Database {
    pub store: Store,
    /// Kept alive for as long as the store is used; stops the server when dropped.
    pub local: Option<LocalDb>,
}

/// Connects to the configured MongoDB, or starts a local SecantusDB when none is set.
pub async fn open_database(settings: &Settings) -> anyhow::Result<Database> {
    let timeout = settings.mongo_connect_timeout();
    let (uri, local) = match settings.mongodb_uri() {
        Some(uri) => (uri.to_string(), None),
        None => {
            let dir = settings.mongodb.local_data_dir.clone();
            let db =
                tokio::task::spawn_blocking(move || LocalDb::start(&LocalDbOptions::durable(dir)))
                    .await
                    .context("starting the local database")??;
            info!(
                uri = %db.uri(),
                data_dir = %db.data_dir().display(),
                "no MongoDB URI configured: started a local SecantusDB server (set NACHNA_MONGODB_URI to use yours)"
            );
            (db.uri(), Some(db))
        }
    };
    let store = Store::open(
        &uri,
        &settings.mongodb.discovery_db,
        &settings.mongodb.app_db,
        timeout,
    )
    .await
    .with_context(|| format!("opening MongoDB at {}", redact_uri(&uri)))?;
    Ok(Database { store, local })
}

pub fn build_fetcher(settings: &Settings, replay: Option<&Path>) -> anyhow::Result<Fetcher> {
    if let Some(dir) = replay {
        if !dir.join("manifest.toml").is_file() {
            bail!(
                "--replay {}: no manifest.toml in that directory",
                dir.display()
            );
        }
        return Fetcher::replay(dir)
            .with_context(|| format!("loading replay directory {}", dir.display()));
    }
    let f = &settings.fetch;
    let fetch_settings = FetchSettings {
        user_agent: FetchSettings::user_agent_with_contact(&f.contact_url),
        connect_timeout: Duration::from_secs(f.connect_timeout_secs),
        request_timeout: Duration::from_secs(f.request_timeout_secs),
        max_redirects: f.max_redirects,
        max_body_bytes: f.max_body_bytes,
        max_attempts: f.max_attempts,
        ..FetchSettings::default()
    };
    Fetcher::new(fetch_settings).context("building the HTTP client")
}

/// Reads a JSON array of artists (as in `fixtures/artists.json`).
pub fn read_artists_file(path: &Path) -> anyhow::Result<Vec<crate::artist::Artist>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: expected a JSON array of artists", path.display()))
}
