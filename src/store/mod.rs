//! MongoDB access: the only module that speaks BSON. Every other module calls the
//! typed methods of [`Store`] (serde structs or plain values in and out).
//!
//! One file per collection family; every collection name and every index is declared
//! in [`schema`] (indexes are created idempotently at start-up):
//!
//! | file | collections |
//! |---|---|
//! | `workshops.rs` | `workshops_v2`, `workshop_signatures`: applying a plan; fan-out markers; the notifier's reads |
//! | `review.rs` | `workshops_v2.review`: workshops held for a person, approve / reject |
//! | `studios.rs` / `artists.rs` | `studios` (written from source files) / `artists_v2` (read; seeded locally) |
//! | `pages.rs` | `ingest_pages`: cache validators and what each page yielded |
//! | `runs.rs` | `ingest_runs`: one document per studio run |
//! | `leases.rs` | `ingest_leases`: per-studio leases |
//! | `requests.rs` | `ingest_requests`: live re-ingest requests |
//! | `daemons.rs` | `ingest_daemons`: which daemons are up |
//! | `outbox.rs` | `notification_outbox`, `notification_reminder_sessions` |
//! | `audience.rs` | `reactions` (followers), `device_tokens` |
//! | `notification_settings.rs` | the app's `notification_settings` document |

pub mod adopt;
pub mod artists;
pub mod audience;
pub mod daemons;
pub mod leases;
pub mod notification_settings;
pub mod outbox;
pub mod pages;
pub mod requests;
pub mod review;
pub mod runs;
pub mod schema;
pub mod studios;
pub mod workshops;

use crate::settings::redact_uri;
use mongodb::bson::doc;
use mongodb::options::ClientOptions;
use mongodb::{Client, Database};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("invalid MongoDB URI {uri}: {source}")]
    Uri {
        uri: String,
        source: mongodb::error::Error,
    },
    #[error(
        "MongoDB at {uri} is unreachable: {cause}. Is the server running and the URI right? \
         (set --mongodb-uri / NACHNA_MONGODB_URI, or leave both unset to start a local server)"
    )]
    Unreachable {
        uri: String,
        /// The driver's reason, short (its full text repeats the topology and address).
        cause: String,
    },
    #[error("MongoDB {operation} on {collection} failed: {source}")]
    Op {
        operation: &'static str,
        collection: &'static str,
        source: mongodb::error::Error,
    },
    /// A document the app could not read: not written (see `crate::contract`).
    #[error("{0}")]
    Contract(#[from] crate::contract::Rejected),
    #[error("stored document in {collection} is malformed: {message}")]
    Malformed {
        collection: &'static str,
        message: String,
    },
}

impl StoreError {
    pub(crate) fn op(
        operation: &'static str,
        collection: &'static str,
    ) -> impl FnOnce(mongodb::error::Error) -> StoreError {
        move |source| StoreError::Op {
            operation,
            collection,
            source,
        }
    }
}

/// Handles on the two databases. The fields are private: the schema has one home.
#[derive(Debug, Clone)]
pub struct Store {
    discovery: Database,
    app: Database,
}

/// Every command a [`Store`] opened with [`Store::connect_logged`] sent to the server:
/// its name and collection, in order. Tests and benches read database round trips as
/// a number from it (command monitoring of the driver; the handshake and heartbeats
/// are not commands and do not appear).
#[derive(Debug, Default)]
pub struct CommandLog {
    commands: std::sync::Mutex<Vec<(String, String)>>,
    /// Per command, its statements: `updates` / `deletes` entries, `documents`
    /// inserted, 1 for any other command (what the server works through one by one).
    statements: std::sync::Mutex<Vec<usize>>,
}

impl CommandLog {
    /// `(command name, collection, statements)` of each command so far.
    pub fn statements(&self) -> Vec<(String, String, usize)> {
        let commands = self.commands.lock().expect("command log");
        let statements = self.statements.lock().expect("command log");
        commands
            .iter()
            .zip(statements.iter())
            .map(|((c, k), n)| (c.clone(), k.clone(), *n))
            .collect()
    }

    /// `(command name, collection)` of each command so far, e.g. `("update", "ingest_runs")`.
    pub fn commands(&self) -> Vec<(String, String)> {
        self.commands.lock().expect("command log").clone()
    }

    /// Forgets what was logged (to count one phase).
    pub fn clear(&self) {
        self.commands.lock().expect("command log").clear();
        self.statements.lock().expect("command log").clear();
    }

    /// How many commands so far.
    pub fn len(&self) -> usize {
        self.commands.lock().expect("command log").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Commands that write.
pub const WRITE_COMMANDS: &[&str] = &[
    "insert",
    "update",
    "delete",
    "findAndModify",
    "createIndexes",
    "dropIndexes",
    "bulkWrite",
];

impl Store {
    /// Connects, proves the server answers (`ping`), and returns handles.
    pub async fn connect(
        uri: &str,
        discovery_db: &str,
        app_db: &str,
        timeout: Duration,
    ) -> Result<Store, StoreError> {
        Store::connect_with(uri, discovery_db, app_db, timeout, None).await
    }

    /// [`Store::connect`], logging every command sent (tests and benches count round
    /// trips with it; production does not pay for the events).
    pub async fn connect_logged(
        uri: &str,
        discovery_db: &str,
        app_db: &str,
        timeout: Duration,
    ) -> Result<(Store, std::sync::Arc<CommandLog>), StoreError> {
        let log = std::sync::Arc::new(CommandLog::default());
        let store =
            Store::connect_with(uri, discovery_db, app_db, timeout, Some(log.clone())).await?;
        Ok((store, log))
    }

    /// Creates every missing index (see [`schema::ensure_all`]).
    pub async fn ensure_schema(&self) -> Result<(), StoreError> {
        schema::ensure_all(self).await
    }

    async fn connect_with(
        uri: &str,
        discovery_db: &str,
        app_db: &str,
        timeout: Duration,
        log: Option<std::sync::Arc<CommandLog>>,
    ) -> Result<Store, StoreError> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|source| StoreError::Uri {
                uri: redact_uri(uri),
                source,
            })?;
        // The URI's own timeouts (`serverSelectionTimeoutMS`, `connectTimeoutMS`) win.
        options.server_selection_timeout.get_or_insert(timeout);
        options.connect_timeout.get_or_insert(timeout);
        // Every host refusing connections is known at once: say so now rather than
        // after the whole server-selection timeout.
        if let Some(cause) = all_hosts_refuse(&options.hosts).await {
            return Err(StoreError::Unreachable {
                uri: redact_uri(uri),
                cause,
            });
        }
        options.app_name = Some("nachna-ingest".into());
        if let Some(log) = log {
            options.command_event_handler = Some(mongodb::event::EventHandler::callback(
                move |event: mongodb::event::command::CommandEvent| {
                    if let mongodb::event::command::CommandEvent::Started(started) = event {
                        let collection = started
                            .command
                            .get_str(&started.command_name)
                            .unwrap_or_default()
                            .to_string();
                        let statements = ["updates", "deletes", "documents"]
                            .iter()
                            .find_map(|k| started.command.get_array(k).ok())
                            .map_or(1, Vec::len);
                        // Both under one lock order (commands, then statements), so
                        // the two lists stay aligned.
                        let mut commands = log.commands.lock().expect("command log");
                        commands.push((started.command_name, collection));
                        log.statements.lock().expect("command log").push(statements);
                    }
                },
            ));
        }
        let client = Client::with_options(options).map_err(|source| StoreError::Uri {
            uri: redact_uri(uri),
            source,
        })?;
        let store = Store {
            discovery: client.database(discovery_db),
            app: client.database(app_db),
        };
        store
            .discovery
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(|source| StoreError::Unreachable {
                uri: redact_uri(uri),
                cause: short_cause(&source),
            })?;
        Ok(store)
    }

    /// Connects and creates every index.
    pub async fn open(
        uri: &str,
        discovery_db: &str,
        app_db: &str,
        timeout: Duration,
    ) -> Result<Store, StoreError> {
        let store = Store::connect(uri, discovery_db, app_db, timeout).await?;
        schema::ensure_all(&store).await?;
        Ok(store)
    }

    /// Proves the server answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.discovery
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(StoreError::op("ping", "admin"))?;
        Ok(())
    }

    /// The names of the two databases (for child processes pointed at the same data).
    pub fn database_names(&self) -> (String, String) {
        (
            self.discovery.name().to_string(),
            self.app.name().to_string(),
        )
    }

    /// Raw handle on the discovery database, for integration tests and benches that
    /// seed or inspect documents. Nothing in this crate outside `store/` uses it.
    #[doc(hidden)]
    pub fn raw_discovery(&self) -> &Database {
        &self.discovery
    }

    /// Raw handle on the app database; see [`Store::raw_discovery`].
    #[doc(hidden)]
    pub fn raw_app(&self) -> &Database {
        &self.app
    }

    /// Raw `workshops_v2`; see [`Store::raw_discovery`].
    #[doc(hidden)]
    pub fn raw_workshops(&self) -> mongodb::Collection<mongodb::bson::Document> {
        self.discovery.collection(schema::WORKSHOPS)
    }

    /// Raw `notification_outbox`; see [`Store::raw_discovery`].
    #[doc(hidden)]
    pub fn raw_outbox(&self) -> mongodb::Collection<mongodb::bson::Document> {
        self.app.collection(schema::OUTBOX)
    }
}

/// A write refused because the `_id` (or another unique key) exists: the one check,
/// whatever shape the driver reports it in.
pub(crate) fn is_duplicate_key(err: &mongodb::error::Error) -> bool {
    use mongodb::error::{ErrorKind, WriteFailure};
    match err.kind.as_ref() {
        ErrorKind::Command(c) => c.code == DUPLICATE_KEY,
        ErrorKind::Write(WriteFailure::WriteError(w)) => w.code == DUPLICATE_KEY,
        ErrorKind::InsertMany(failure) => {
            failure.write_concern_error.is_none()
                && failure
                    .write_errors
                    .as_deref()
                    .is_some_and(|e| !e.is_empty() && e.iter().all(|w| w.code == DUPLICATE_KEY))
        }
        _ => err.to_string().contains("E11000"),
    }
}

const DUPLICATE_KEY: i32 = 11000;

/// A BSON integer of any width (the app writes int32, int64 or double).
pub(crate) fn read_int(d: &mongodb::bson::Document, key: &str) -> Option<i64> {
    use mongodb::bson::Bson;
    match d.get(key)? {
        Bson::Int32(v) => Some(i64::from(*v)),
        Bson::Int64(v) => Some(*v),
        Bson::Double(v) => Some(*v as i64),
        _ => None,
    }
}

/// Strings of an array field; anything else is skipped.
pub(crate) fn read_strings(d: &mongodb::bson::Document, key: &str) -> Vec<String> {
    d.get_array(key)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn read_time(
    d: &mongodb::bson::Document,
    key: &str,
) -> Option<chrono::DateTime<chrono::Utc>> {
    d.get_datetime(key).ok().map(|t| t.to_chrono())
}

pub(crate) fn bson_time(at: chrono::DateTime<chrono::Utc>) -> mongodb::bson::DateTime {
    mongodb::bson::DateTime::from_chrono(at)
}

/// Unix seconds as the app stores `updated_at`.
pub fn unix_seconds(at: chrono::DateTime<chrono::Utc>) -> f64 {
    at.timestamp() as f64 + f64::from(at.timestamp_subsec_micros()) / 1e6
}

/// `Some(reason)` when every listed host answers "connection refused" (nothing listens
/// there); `None` when any accepts, times out, or is not a plain host:port (SRV, unix
/// socket), which the driver then judges as usual.
async fn all_hosts_refuse(hosts: &[mongodb::options::ServerAddress]) -> Option<String> {
    let mut refused = Vec::new();
    for host in hosts {
        let mongodb::options::ServerAddress::Tcp { host, port } = host else {
            return None;
        };
        let addr = format!("{host}:{}", port.unwrap_or(27017));
        let attempt = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::net::TcpStream::connect(&addr),
        )
        .await;
        match attempt {
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => refused.push(addr),
            _ => return None,
        }
    }
    (!refused.is_empty()).then(|| format!("connection refused by {}", refused.join(", ")))
}

/// The driver's error without its topology dump: the innermost reason when it names
/// one ("Connection refused", "timed out", an authentication failure), else its first
/// line, capped.
fn short_cause(err: &mongodb::error::Error) -> String {
    let text = err.to_string();
    for marker in ["Error: Kind: ", "Kind: "] {
        if let Some(at) = text.find(marker) {
            let rest = &text[at + marker.len()..];
            let end = rest.find(", labels").unwrap_or(rest.len());
            return rest[..end].trim().to_string();
        }
    }
    let first = text.lines().next().unwrap_or("");
    first.chars().take(200).collect()
}

/// A BSON document as the contract checks read it (relaxed extended JSON).
pub(crate) fn contract_view(d: &mongodb::bson::Document) -> crate::contract::Doc {
    match mongodb::bson::Bson::Document(d.clone()).into_relaxed_extjson() {
        serde_json::Value::Object(m) => m,
        _ => crate::contract::Doc::new(),
    }
}
