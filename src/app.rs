//! The application layer: what every command builds from settings before it does its
//! own work (the zero-to-production `Application::build` shape). [`App::build`] opens
//! the database (starting a local SecantusDB when no URI is set); the app then hands
//! out the fetcher, the push sender, the notifier and the studio selection.
//!
//! Layer: `commands` → `app` → `daemon` / `runs` / `notify` / `pipeline` → `store`,
//! `fetch`, `extract`. Nothing below imports this module.

use crate::artist::Artist;
use crate::clock::Clock;
use crate::fetch::{FetchSettings, Fetcher};
use crate::localdb::{LocalDb, LocalDbOptions};
use crate::notify::sender::{build_pusher, Pusher, PusherChoice};
use crate::notify::target::StudioZones;
use crate::notify::Notifier;
use crate::settings::Settings;
use crate::source::{self, Source};
use crate::store::Store;
use anyhow::{bail, Context};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tracing::{info, warn};

/// A connected application: its settings and its database.
pub struct App {
    settings: Settings,
    store: Store,
    /// Kept alive for as long as the store is used; stops the server when dropped.
    _local: Option<LocalDb>,
}

/// What a command does about the built-in database when no MongoDB URI is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuiltIn {
    /// The service: start it on `mongodb.local_port`, where the other commands find it.
    Serve,
    /// Use the one listening on `mongodb.local_port` (a running service's), else start
    /// a private one on an ephemeral port (`ingest`, `notify`).
    JoinOrStart,
    /// Use the one listening on `mongodb.local_port`; none is an error that says so
    /// (`status`, `trigger`: they observe a service, a database of their own would be
    /// empty).
    Join,
}

/// `mongodb://127.0.0.1:{port}` when something accepts connections there.
fn listening_local(port: u16) -> Option<String> {
    if port == 0 {
        return None;
    }
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(500))
        .ok()
        .map(|_| format!("mongodb://127.0.0.1:{port}/?directConnection=true"))
}

impl App {
    /// Connects to the configured MongoDB (or the built-in SecantusDB when none is
    /// set, see [`BuiltIn::JoinOrStart`]) and ensures every index.
    pub async fn build(settings: Settings) -> anyhow::Result<App> {
        Self::build_as(settings, BuiltIn::JoinOrStart).await
    }

    /// As [`App::build`], choosing what happens without a MongoDB URI.
    pub async fn build_as(settings: Settings, built_in: BuiltIn) -> anyhow::Result<App> {
        Self::build_inner(settings, built_in, false).await
    }

    /// For `adopt`: connects without the adoption check and without creating indexes
    /// (the unique `uuid` index cannot be built before documents sharing a uuid are
    /// split; `adopt` creates the indexes itself once they are).
    pub async fn build_for_adopt(settings: Settings) -> anyhow::Result<App> {
        Self::build_inner(settings, BuiltIn::JoinOrStart, true).await
    }

    async fn build_inner(
        settings: Settings,
        built_in: BuiltIn,
        adopting: bool,
    ) -> anyhow::Result<App> {
        let timeout = settings.mongo_connect_timeout();
        let port = settings.mongodb.local_port;
        let (uri, local) = match settings.mongodb_uri() {
            Some(uri) => (uri.to_string(), None),
            None => match (built_in, listening_local(port)) {
                (BuiltIn::Join | BuiltIn::JoinOrStart, Some(uri)) => {
                    info!(%uri, "no MongoDB URI configured: using the built-in database the service runs");
                    (uri, None)
                }
                (BuiltIn::Join, None) => bail!(
                    "no MongoDB URI is configured and no built-in database listens on \
                     127.0.0.1:{port} (mongodb.local_port): is the service (`nachna-ingest run`) \
                     running on this machine? With a shared MongoDB, set mongodb.uri in the \
                     service's settings file ({}) or pass --config / --mongodb-uri",
                    crate::settings::DEFAULT_CONFIG
                ),
                (built_in, _) => {
                    let dir = settings.mongodb.local_data_dir.clone();
                    let on = if built_in == BuiltIn::Serve { port } else { 0 };
                    let db = tokio::task::spawn_blocking(move || {
                        LocalDb::start_on(&LocalDbOptions::durable(dir), on)
                    })
                    .await
                    .context("starting the local database")??;
                    info!(
                        uri = %db.uri(),
                        data_dir = %db.data_dir().display(),
                        "no MongoDB URI configured: started the built-in SecantusDB database (set NACHNA_MONGODB_URI to use yours)"
                    );
                    (db.uri(), Some(db))
                }
            },
        };
        let store = Store::connect(
            &uri,
            &settings.mongodb.discovery_db,
            &settings.mongodb.app_db,
            timeout,
        )
        .await?;
        if !adopting {
            // Before any index: on legacy data the unique `uuid` index would fail with a
            // raw duplicate-key error.
            let state = store.adoption_state().await?;
            if state.needs_adoption() {
                bail!(
                    "database `{}` holds workshops written by the previous pipeline and has not been \
                     adopted yet, so nothing was done. Back it up (mongodump), then run \
                     `nachna-ingest adopt --dry-run` and `nachna-ingest adopt` (README: \
                     \"Going live on an existing Nachna database\")",
                    settings.mongodb.discovery_db
                );
            }
            store.ensure_schema().await?;
        }
        Ok(App {
            settings,
            store,
            _local: local,
        })
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The HTTP client, or a replay of saved pages (`--replay DIR`).
    pub fn fetcher(&self, replay: Option<&Path>) -> anyhow::Result<Fetcher> {
        build_fetcher(&self.settings, replay)
    }

    /// The configured push sender, or `None` after the one warning saying why not.
    pub fn pusher(&self) -> Option<Arc<dyn Pusher>> {
        pusher_or_warn(&self.settings.push).map(Arc::from)
    }

    /// The notifier, with studio zones from `sources`.
    pub fn notifier(&self, clock: Arc<dyn Clock>, sources: &[Source]) -> Notifier {
        notifier(&self.settings, &self.store, clock, sources)
    }
}

/// The HTTP client for these settings, or a replay of saved pages.
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

/// The notifier for these settings, with studio zones from the source files.
pub fn notifier(
    settings: &Settings,
    store: &Store,
    clock: Arc<dyn Clock>,
    sources: &[Source],
) -> Notifier {
    let mut zones = StudioZones::new(settings.notify.default_tz());
    for s in sources {
        zones.by_studio.insert(s.studio.id.clone(), s.timezone);
    }
    Notifier::new(
        store.clone(),
        settings.notify.clone(),
        settings.push.clone(),
        clock,
    )
    .with_zones(zones)
}

/// The configured sender, or `None` after printing the one warning that says why
/// pushes are not sent and how to configure them.
pub fn pusher_or_warn(push: &crate::notify::config::PushConfig) -> Option<Box<dyn Pusher>> {
    match build_pusher(push) {
        Ok(PusherChoice::Ready(p)) => Some(p),
        Ok(PusherChoice::Disabled(why)) => {
            warn!("{why}");
            None
        }
        Err(err) => {
            warn!("push notifications are not being sent: {err}; notifications stay pending");
            None
        }
    }
}

/// Every source file of `dir`, validated; all problems in one error.
pub fn load_sources(dir: &Path) -> anyhow::Result<Vec<Source>> {
    source::load_dir(dir).map_err(|errs| anyhow::anyhow!("{errs}"))
}

/// The studios a command acts on (`--studio ID ...` or `--all`): the one selector of
/// `ingest` and `trigger`. An unknown id is an error listing the known ones.
pub fn select_studios<'a>(
    all: &'a [Source],
    wanted: &[String],
    every: bool,
) -> anyhow::Result<Vec<&'a Source>> {
    if every {
        return Ok(all.iter().collect());
    }
    let mut out = Vec::new();
    for id in wanted {
        match all.iter().find(|s| &s.studio.id == id) {
            Some(s) => out.push(s),
            None => bail!(
                "no source file for studio `{id}`; known studios: {}",
                all.iter()
                    .map(|s| s.studio.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    Ok(out)
}

/// Reads a JSON array of artists (as in `fixtures/artists.json`).
pub fn read_artists_file(path: &Path) -> anyhow::Result<Vec<Artist>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{}: expected a JSON array of artists", path.display()))
}
