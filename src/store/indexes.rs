//! Every index the pipeline relies on, in one place. Creating an index that exists
//! with the same definition is a no-op, so this runs at every start-up.

use super::{Store, StoreError};
use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::IndexModel;

struct IndexSpec {
    database: Db,
    collection: &'static str,
    keys: Document,
    name: &'static str,
    unique: bool,
}

enum Db {
    Discovery,
}

fn specs() -> Vec<IndexSpec> {
    vec![
        IndexSpec {
            database: Db::Discovery,
            collection: "workshops_v2",
            keys: doc! { "uuid": 1 },
            name: "uuid_unique",
            unique: true,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: "workshops_v2",
            keys: doc! { "studio_id": 1, "is_archived": 1 },
            name: "studio_live",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: "workshop_signatures",
            keys: doc! { "uuid": 1 },
            name: "uuid",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: "ingest_pages",
            keys: doc! { "studio_id": 1 },
            name: "studio",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: "ingest_runs",
            keys: doc! { "studio_id": 1, "started_at": -1 },
            name: "studio_recent",
            unique: false,
        },
        // Daemon: trigger requests (watcher polls by status; claims by studio), and
        // live daemons by last heartbeat. Leases are keyed by `_id` = studio id.
        IndexSpec {
            database: Db::Discovery,
            collection: "ingest_requests",
            keys: doc! { "status": 1, "requested_at": 1 },
            name: "status_age",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: "ingest_requests",
            keys: doc! { "studio_id": 1, "status": 1 },
            name: "studio_status",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: "ingest_daemons",
            keys: doc! { "last_seen": 1 },
            name: "last_seen",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: "studios",
            keys: doc! { "studio_id": 1 },
            name: "studio_id",
            unique: false,
        },
    ]
}

pub async fn ensure_all(store: &Store) -> Result<(), StoreError> {
    for spec in specs() {
        let db = match spec.database {
            Db::Discovery => &store.discovery,
        };
        let model = IndexModel::builder()
            .keys(spec.keys)
            .options(
                IndexOptions::builder()
                    .name(spec.name.to_string())
                    .unique(spec.unique.then_some(true))
                    .build(),
            )
            .build();
        db.collection::<Document>(spec.collection)
            .create_index(model)
            .await
            .map_err(StoreError::op("create_index", spec.collection))?;
    }
    Ok(())
}
