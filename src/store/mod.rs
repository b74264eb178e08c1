//! MongoDB access. One file per collection family; every index is declared in
//! [`indexes`] and created idempotently at start-up.
//!
//! Collections written (database `discovery` unless noted):
//! `workshops_v2`, `workshop_signatures`, `studios`, `ingest_pages`, `ingest_runs`.
//! Read: `artists_v2`. The daemon (`src/daemon/`) adds `ingest_leases`,
//! `ingest_requests` and `ingest_daemons`.

pub mod indexes;
pub mod pages;
pub mod runs;
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
        "MongoDB at {uri} is unreachable ({source}). Is the server running and the URI right? \
         (set --mongodb-uri / NACHNA_MONGODB_URI, or leave both unset to start a local server)"
    )]
    Unreachable {
        uri: String,
        source: mongodb::error::Error,
    },
    #[error("MongoDB {operation} on {collection} failed: {source}")]
    Op {
        operation: &'static str,
        collection: &'static str,
        source: mongodb::error::Error,
    },
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

/// Handles on the two databases the pipeline uses.
#[derive(Debug, Clone)]
pub struct Store {
    pub client: Client,
    pub discovery: Database,
    pub app: Database,
}

impl Store {
    /// Connects, proves the server answers (`ping`), and returns handles.
    pub async fn connect(
        uri: &str,
        discovery_db: &str,
        app_db: &str,
        timeout: Duration,
    ) -> Result<Store, StoreError> {
        let mut options = ClientOptions::parse(uri)
            .await
            .map_err(|source| StoreError::Uri {
                uri: redact_uri(uri),
                source,
            })?;
        options.server_selection_timeout = Some(timeout);
        options.connect_timeout = Some(timeout);
        options.app_name = Some("nachna-ingest".into());
        let client = Client::with_options(options).map_err(|source| StoreError::Uri {
            uri: redact_uri(uri),
            source,
        })?;
        let store = Store {
            discovery: client.database(discovery_db),
            app: client.database(app_db),
            client,
        };
        store
            .discovery
            .run_command(doc! { "ping": 1 })
            .await
            .map_err(|source| StoreError::Unreachable {
                uri: redact_uri(uri),
                source,
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
        indexes::ensure_all(&store).await?;
        Ok(store)
    }
}

/// Unix seconds as the app stores `updated_at`.
pub fn unix_seconds(at: chrono::DateTime<chrono::Utc>) -> f64 {
    at.timestamp() as f64 + f64::from(at.timestamp_subsec_micros()) / 1e6
}
