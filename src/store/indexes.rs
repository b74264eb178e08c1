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
    /// The app's database (`dance_app`): notifications.
    App,
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
        // Notifications (src/notify). The outbox key is `_id`, unique by itself.
        IndexSpec {
            database: Db::App,
            collection: "notification_outbox",
            keys: doc! { "status": 1, "next_attempt_at": 1 },
            name: "claim_pending",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: "notification_outbox",
            keys: doc! { "status": 1, "lease_until": 1 },
            name: "claim_expired_lease",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: "notification_outbox",
            keys: doc! { "user_id": 1, "kind": 1, "created_at": -1 },
            name: "user_cooldown",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: "notification_outbox",
            keys: doc! { "workshop_uuid": 1 },
            name: "workshop",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: "notification_outbox",
            keys: doc! { "expire_at": 1 },
            name: "expire_at_ttl",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: "notification_reminder_sessions",
            keys: doc! { "expire_at": 1 },
            name: "expire_at_ttl",
            unique: false,
        },
        // Read paths of fan-out on the app's collections (no field is changed).
        IndexSpec {
            database: Db::App,
            collection: "reactions",
            keys: doc! { "entity_type": 1, "reaction": 1, "entity_id": 1, "user_id": 1 },
            name: "nachna_followers",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: "device_tokens",
            keys: doc! { "user_id": 1, "is_active": 1 },
            name: "nachna_user_active",
            unique: false,
        },
    ]
}

/// TTL indexes (by collection and index name): a document goes once the date in the
/// indexed field has passed. Writers set that field only on what may go.
fn expire_after(collection: &str, name: &str) -> Option<std::time::Duration> {
    match (collection, name) {
        ("notification_outbox" | "notification_reminder_sessions", "expire_at_ttl") => {
            Some(std::time::Duration::ZERO)
        }
        _ => None,
    }
}

pub async fn ensure_all(store: &Store) -> Result<(), StoreError> {
    for spec in specs() {
        let db = match spec.database {
            Db::Discovery => &store.discovery,
            Db::App => &store.app,
        };
        let model = IndexModel::builder()
            .keys(spec.keys)
            .options(
                IndexOptions::builder()
                    .name(spec.name.to_string())
                    .unique(spec.unique.then_some(true))
                    .expire_after(expire_after(spec.collection, spec.name))
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
