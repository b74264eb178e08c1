//! The schema's one home: every collection name and every index this crate relies on.
//! Creating an index that exists with the same definition is a no-op, so
//! [`ensure_all`] runs at every start-up.
//!
//! Database `discovery` (settings `mongodb.discovery_db`): the catalogue and the
//! pipeline's bookkeeping. Database `dance_app` (`mongodb.app_db`): the app's users'
//! reactions, devices and settings (read; tokens deactivated) and the outbox.

use super::{Store, StoreError};
use mongodb::bson::{doc, Document};
use mongodb::options::IndexOptions;
use mongodb::IndexModel;

// discovery
pub const WORKSHOPS: &str = "workshops_v2";
pub const SIGNATURES: &str = "workshop_signatures";
pub const STUDIOS: &str = "studios";
pub const ARTISTS: &str = "artists_v2";
pub const PAGES: &str = "ingest_pages";
pub const RUNS: &str = "ingest_runs";
pub const LEASES: &str = "ingest_leases";
pub const REQUESTS: &str = "ingest_requests";
pub const DAEMONS: &str = "ingest_daemons";
// dance_app
pub const OUTBOX: &str = "notification_outbox";
pub const REMINDER_SESSIONS: &str = "notification_reminder_sessions";
pub const NOTIFICATION_SETTINGS: &str = "notification_settings";
pub const REACTIONS: &str = "reactions";
pub const DEVICE_TOKENS: &str = "device_tokens";

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
            collection: WORKSHOPS,
            keys: doc! { "uuid": 1 },
            name: "uuid_unique",
            unique: true,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: WORKSHOPS,
            keys: doc! { "studio_id": 1, "is_archived": 1 },
            name: "studio_live",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: SIGNATURES,
            keys: doc! { "uuid": 1 },
            name: "uuid",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: PAGES,
            keys: doc! { "studio_id": 1 },
            name: "studio",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: RUNS,
            keys: doc! { "studio_id": 1, "started_at": -1 },
            name: "studio_recent",
            unique: false,
        },
        // Daemon: trigger requests (watcher polls by status; claims by studio), and
        // live daemons by last heartbeat. Leases are keyed by `_id` = studio id.
        IndexSpec {
            database: Db::Discovery,
            collection: REQUESTS,
            keys: doc! { "status": 1, "requested_at": 1 },
            name: "status_age",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: REQUESTS,
            keys: doc! { "studio_id": 1, "status": 1 },
            name: "studio_status",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: DAEMONS,
            keys: doc! { "last_seen": 1 },
            name: "last_seen",
            unique: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: STUDIOS,
            keys: doc! { "studio_id": 1 },
            name: "studio_id",
            unique: false,
        },
        // Notifications (src/notify). The outbox key is `_id`, unique by itself.
        IndexSpec {
            database: Db::App,
            collection: OUTBOX,
            keys: doc! { "status": 1, "next_attempt_at": 1 },
            name: "claim_pending",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: OUTBOX,
            keys: doc! { "status": 1, "lease_until": 1 },
            name: "claim_expired_lease",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: OUTBOX,
            keys: doc! { "user_id": 1, "kind": 1, "created_at": -1 },
            name: "user_cooldown",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: OUTBOX,
            keys: doc! { "workshop_uuid": 1 },
            name: "workshop",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: OUTBOX,
            keys: doc! { "expire_at": 1 },
            name: "expire_at_ttl",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: REMINDER_SESSIONS,
            keys: doc! { "expire_at": 1 },
            name: "expire_at_ttl",
            unique: false,
        },
        // Read paths of fan-out on the app's collections (no field is changed).
        IndexSpec {
            database: Db::App,
            collection: REACTIONS,
            keys: doc! { "entity_type": 1, "reaction": 1, "entity_id": 1, "user_id": 1 },
            name: "nachna_followers",
            unique: false,
        },
        IndexSpec {
            database: Db::App,
            collection: DEVICE_TOKENS,
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
        (OUTBOX | REMINDER_SESSIONS, "expire_at_ttl") => Some(std::time::Duration::ZERO),
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
