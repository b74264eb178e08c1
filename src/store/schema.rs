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

/// What a workshop's `pending_fanout` marker announces (`pending_fanout.kind`), stored
/// as the same strings as ever: `new_workshop`, `schedule_change`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FanoutKind {
    NewWorkshop,
    ScheduleChange,
    /// A value this version does not know (a newer writer's): left in place.
    Unknown(String),
}

impl FanoutKind {
    pub fn as_str(&self) -> &str {
        match self {
            FanoutKind::NewWorkshop => "new_workshop",
            FanoutKind::ScheduleChange => "schedule_change",
            FanoutKind::Unknown(s) => s,
        }
    }

    pub fn parse(text: &str) -> FanoutKind {
        match text {
            "new_workshop" => FanoutKind::NewWorkshop,
            "schedule_change" => FanoutKind::ScheduleChange,
            other => FanoutKind::Unknown(other.to_string()),
        }
    }
}

impl From<&str> for FanoutKind {
    fn from(text: &str) -> FanoutKind {
        FanoutKind::parse(text)
    }
}

impl From<crate::reconcile::Announcement> for FanoutKind {
    fn from(a: crate::reconcile::Announcement) -> FanoutKind {
        match a {
            crate::reconcile::Announcement::NewWorkshop => FanoutKind::NewWorkshop,
            crate::reconcile::Announcement::ScheduleChange => FanoutKind::ScheduleChange,
        }
    }
}

impl std::fmt::Display for FanoutKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

// discovery
pub const WORKSHOPS: &str = "workshops_v2";
pub const SIGNATURES: &str = "workshop_signatures";
pub const STUDIOS: &str = "studios";
pub const ARTISTS: &str = "artists_v2";
/// The admins' map from artists + song to a choreography reel (the app writes it).
pub const CHOREO_LINKS: &str = "choreo_links";
pub const PAGES: &str = "ingest_pages";
pub const RUNS: &str = "ingest_runs";
pub const LEASES: &str = "ingest_leases";
pub const REQUESTS: &str = "ingest_requests";
pub const DAEMONS: &str = "ingest_daemons";
/// This tool's own facts about the database (the `adopt` marker).
pub const META: &str = "ingest_meta";
// dance_app
pub const OUTBOX: &str = "notification_outbox";
pub const DISPATCH_LEASES: &str = "notification_dispatch_leases";
pub const REMINDER_SESSIONS: &str = "notification_reminder_sessions";
pub const NOTIFICATION_SETTINGS: &str = "notification_settings";
pub const REACTIONS: &str = "reactions";
pub const DEVICE_TOKENS: &str = "device_tokens";
/// The app's record of pushes sent (read by its dashboard and its duplicate checks).
pub const NOTIFICATION_HISTORY: &str = "notification_history";

struct IndexSpec {
    database: Db,
    collection: &'static str,
    keys: Document,
    name: &'static str,
    unique: bool,
    /// Documents without the fields are left out (the outbox's queue index holds only
    /// what is still to be sent).
    sparse: bool,
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
            sparse: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: WORKSHOPS,
            keys: doc! { "studio_id": 1, "is_archived": 1 },
            name: "studio_live",
            unique: false,
            sparse: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: SIGNATURES,
            keys: doc! { "uuid": 1 },
            name: "uuid",
            unique: false,
            sparse: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: PAGES,
            keys: doc! { "studio_id": 1 },
            name: "studio",
            unique: false,
            sparse: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: RUNS,
            keys: doc! { "studio_id": 1, "started_at": -1 },
            name: "studio_recent",
            unique: false,
            sparse: false,
        },
        // Daemon: trigger requests (watcher polls by status; claims by studio), and
        // live daemons by last heartbeat. Leases are keyed by `_id` = studio id.
        IndexSpec {
            database: Db::Discovery,
            collection: REQUESTS,
            keys: doc! { "status": 1, "requested_at": 1 },
            name: "status_age",
            unique: false,
            sparse: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: REQUESTS,
            keys: doc! { "studio_id": 1, "status": 1 },
            name: "studio_status",
            unique: false,
            sparse: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: DAEMONS,
            keys: doc! { "last_seen": 1 },
            name: "last_seen",
            unique: false,
            sparse: false,
        },
        IndexSpec {
            database: Db::Discovery,
            collection: STUDIOS,
            keys: doc! { "studio_id": 1 },
            name: "studio_id",
            unique: false,
            sparse: false,
        },
        // Notifications (src/notify). The outbox key is `_id`, unique by itself. The one
        // claim index: `queue` (the shard, present only while pending) then when it is
        // due. Sparse, so sent documents leave it and a status change touches no other
        // claim index. `queue` first: SecantusDB plans on the first indexed field.
        IndexSpec {
            database: Db::App,
            collection: OUTBOX,
            keys: doc! { "queue": 1, "next_attempt_at": 1 },
            name: DISPATCH_QUEUE_INDEX,
            unique: false,
            sparse: true,
        },
        IndexSpec {
            database: Db::App,
            collection: OUTBOX,
            keys: doc! { "user_id": 1, "kind": 1, "created_at": -1 },
            name: "user_cooldown",
            unique: false,
            sparse: false,
        },
        // Every index costs each fan-out insert a write (issue 12): the TTL index is
        // sparse, because only `sent` and `suppressed` documents carry `expire_at`, and
        // there is no index on `workshop_uuid` alone (every query naming it also names
        // `user_id`, which `user_cooldown` serves).
        IndexSpec {
            database: Db::App,
            collection: OUTBOX,
            keys: doc! { "expire_at": 1 },
            name: OUTBOX_TTL_INDEX,
            unique: false,
            sparse: true,
        },
        IndexSpec {
            database: Db::App,
            collection: REMINDER_SESSIONS,
            keys: doc! { "expire_at": 1 },
            name: "expire_at_ttl",
            unique: false,
            sparse: false,
        },
        // Read paths of fan-out on the app's collections (no field is changed).
        IndexSpec {
            database: Db::App,
            collection: REACTIONS,
            keys: doc! { "entity_type": 1, "reaction": 1, "entity_id": 1, "user_id": 1 },
            name: "nachna_followers",
            unique: false,
            sparse: false,
        },
        IndexSpec {
            database: Db::App,
            collection: DEVICE_TOKENS,
            keys: doc! { "user_id": 1, "is_active": 1 },
            name: "nachna_user_active",
            unique: false,
            sparse: false,
        },
        // The fan-out's cooldown read of the app's push history (the followers of a
        // workshop's artists, `user_id $in`, sent since the cooldown began). Without it
        // every fan-out batch scans the whole history, which only grows. It costs each
        // history document dispatch records one index write.
        IndexSpec {
            database: Db::App,
            collection: NOTIFICATION_HISTORY,
            keys: doc! { "user_id": 1, "sent_at": -1 },
            name: "nachna_user_sent",
            unique: false,
            sparse: false,
        },
    ]
}

/// TTL indexes (by collection and index name): a document goes once the date in the
/// indexed field has passed. Writers set that field only on what may go.
fn expire_after(collection: &str, name: &str) -> Option<std::time::Duration> {
    match (collection, name) {
        (OUTBOX, OUTBOX_TTL_INDEX) | (REMINDER_SESSIONS, "expire_at_ttl") => {
            Some(std::time::Duration::ZERO)
        }
        _ => None,
    }
}

/// The outbox's claim index.
const DISPATCH_QUEUE_INDEX: &str = "dispatch_queue";

/// The outbox's TTL index (sparse: pending documents have no `expire_at`).
pub const OUTBOX_TTL_INDEX: &str = "expire_at_sparse_ttl";

/// Indexes dropped when found: the claim indexes of the per-document dispatcher this
/// crate had before the sharded one (both began with `status`, so every status change
/// rewrote both); the outbox's non-sparse TTL index (it held an entry for every pending
/// document) and its `workshop_uuid` index (no query plans on it), which cost every
/// fan-out insert two index writes.
const RETIRED_INDEXES: &[(&str, &str)] = &[
    (OUTBOX, "claim_pending"),
    (OUTBOX, "claim_expired_lease"),
    (OUTBOX, "expire_at_ttl"),
    (OUTBOX, "workshop"),
];

/// Creates the indexes that are missing, after listing the existing ones (one
/// `listIndexes` per collection; a start-up with every index present writes nothing).
/// Retired indexes are dropped first; an index of someone else's on the same keys
/// counts as present; when the outbox's queue index is new, documents left
/// `pending`/`sending` by an older version are put in the queue (shard 0).
pub async fn ensure_all(store: &Store) -> Result<(), StoreError> {
    use std::collections::BTreeMap;
    let mut by_collection: BTreeMap<(u8, &'static str), Vec<IndexSpec>> = BTreeMap::new();
    for spec in specs() {
        let db = match spec.database {
            Db::Discovery => 0,
            Db::App => 1,
        };
        by_collection
            .entry((db, spec.collection))
            .or_default()
            .push(spec);
    }
    for ((db, collection), specs) in by_collection {
        let db = if db == 0 {
            &store.discovery
        } else {
            &store.app
        };
        let coll = db.collection::<Document>(collection);
        let existing = existing_indexes(&coll, collection).await?;
        let is_retired = |name: &str| RETIRED_INDEXES.contains(&(collection, name));
        // Retired indexes go first: a new index may have the key pattern of the one it
        // replaces (the outbox's TTL index became sparse), and MongoDB refuses a second
        // index on a key pattern with other options.
        for (name, _) in existing.iter().filter(|(name, _)| is_retired(name)) {
            coll.drop_index(name.as_str())
                .await
                .map_err(StoreError::op("drop_index", collection))?;
        }
        let mut models = Vec::new();
        let mut new_queue_index = false;
        for spec in specs {
            if existing.iter().any(|(name, _)| name == spec.name) {
                continue;
            }
            // An index someone else made on the same keys (the app's server indexes its
            // own collections) serves the same reads; MongoDB would refuse ours anyway.
            if let Some((other, _)) = existing
                .iter()
                .find(|(name, keys)| !is_retired(name) && same_key_pattern(keys, &spec.keys))
            {
                tracing::info!(
                    collection,
                    index = spec.name,
                    existing = %other,
                    "an index on the same keys exists; not creating another"
                );
                continue;
            }
            new_queue_index |= collection == OUTBOX && spec.name == DISPATCH_QUEUE_INDEX;
            models.push(
                IndexModel::builder()
                    .keys(spec.keys)
                    .options(
                        IndexOptions::builder()
                            .name(spec.name.to_string())
                            .unique(spec.unique.then_some(true))
                            .sparse(spec.sparse.then_some(true))
                            .expire_after(expire_after(spec.collection, spec.name))
                            .build(),
                    )
                    .build(),
            );
        }
        if !models.is_empty() {
            coll.create_indexes(models)
                .await
                .map_err(StoreError::op("create_indexes", collection))?;
        }
        if new_queue_index {
            coll.update_many(
                doc! { "status": { "$in": ["pending", "sending"] }, "queue": { "$exists": false } },
                // A claimed document kept its `next_attempt_at`: due as it was.
                doc! {
                    "$set": { "status": "pending", "queue": 0 },
                    "$unset": { "owner": "", "lease_until": "" },
                },
            )
            .await
            .map_err(StoreError::op("update", collection))?;
        }
    }
    Ok(())
}

/// Name and key pattern of each index of a collection; none when it does not exist yet.
async fn existing_indexes(
    coll: &mongodb::Collection<Document>,
    collection: &'static str,
) -> Result<Vec<(String, Document)>, StoreError> {
    use futures::TryStreamExt;
    let cursor = match coll.list_indexes().await {
        Ok(cursor) => cursor,
        Err(err) if is_namespace_missing(&err) => return Ok(Vec::new()),
        Err(err) => return Err(StoreError::op("list_indexes", collection)(err)),
    };
    let models: Vec<IndexModel> = cursor
        .try_collect()
        .await
        .map_err(StoreError::op("list_indexes", collection))?;
    Ok(models
        .into_iter()
        .map(|m| {
            let name = m.options.and_then(|o| o.name).unwrap_or_default();
            (name, m.keys)
        })
        .collect())
}

/// True when two index key documents name the same fields in the same order with the
/// same directions, whatever number type each direction was written with (a shell
/// writes `1` as a double, drivers as an integer).
fn same_key_pattern(a: &Document, b: &Document) -> bool {
    use mongodb::bson::Bson;
    let direction = |v: &Bson| match v {
        Bson::Int32(n) => Some(Bson::Double(f64::from(*n))),
        Bson::Int64(n) => Some(Bson::Double(*n as f64)),
        Bson::Double(n) => Some(Bson::Double(*n)),
        Bson::String(s) => Some(Bson::String(s.clone())),
        _ => None,
    };
    a.len() == b.len()
        && a.iter().zip(b.iter()).all(|((ka, va), (kb, vb))| {
            ka == kb && direction(va).is_some() && direction(va) == direction(vb)
        })
}

/// `NamespaceNotFound` (26): listing the indexes of a collection not created yet.
fn is_namespace_missing(err: &mongodb::error::Error) -> bool {
    matches!(err.kind.as_ref(), mongodb::error::ErrorKind::Command(c) if c.code == 26)
        || err.to_string().contains("ns does not exist")
        || err.to_string().contains("NamespaceNotFound")
}

#[cfg(test)]
mod fanout_kind_tests {
    use super::FanoutKind;
    use crate::reconcile::Announcement;

    #[test]
    fn marker_kinds_keep_their_stored_strings() {
        assert_eq!(
            FanoutKind::from(Announcement::NewWorkshop).as_str(),
            "new_workshop"
        );
        assert_eq!(
            FanoutKind::from(Announcement::ScheduleChange).as_str(),
            "schedule_change"
        );
        for s in ["new_workshop", "schedule_change", "something_newer"] {
            assert_eq!(FanoutKind::parse(s).as_str(), s);
        }
        assert_eq!(FanoutKind::parse("x"), FanoutKind::Unknown("x".to_string()));
    }
}

#[cfg(test)]
mod key_pattern_tests {
    use super::same_key_pattern;
    use mongodb::bson::doc;

    #[test]
    fn key_patterns_compare_by_field_order_and_direction_not_number_type() {
        let ours = doc! { "user_id": 1, "sent_at": -1 };
        assert!(same_key_pattern(
            &ours,
            &doc! { "user_id": 1.0, "sent_at": -1.0 }
        ));
        assert!(same_key_pattern(
            &ours,
            &doc! { "user_id": 1_i64, "sent_at": -1_i64 }
        ));
        assert!(!same_key_pattern(
            &ours,
            &doc! { "user_id": 1, "sent_at": 1 }
        ));
        assert!(!same_key_pattern(
            &ours,
            &doc! { "sent_at": -1, "user_id": 1 }
        ));
        assert!(!same_key_pattern(&ours, &doc! { "user_id": 1 }));
        assert!(same_key_pattern(
            &doc! { "t": "text" },
            &doc! { "t": "text" }
        ));
        assert!(!same_key_pattern(
            &doc! { "t": "text" },
            &doc! { "t": "hashed" }
        ));
    }
}
