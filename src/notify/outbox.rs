//! The outbox: one document per (user, notification) in `dance_app.notification_outbox`
//! (stored by `store::outbox`, whose types are re-exported here).
//!
//! The `_id` is a deterministic key derived from kind + workshop identity + session +
//! user ([`outbox_key`]); `_id` is unique, so re-running an ingest, two daemons, or a
//! crash and restart can never enqueue a second push for the same thing. The same key
//! is the `apns-collapse-id`, so a push re-sent after a crash shows once on a device.
//!
//! Life of a document:
//!
//! ```text
//! pending (queue: shard) ──dispatch (shard lease, batch)──► sent | no_device | failed
//!    ▲                                       │
//!    └── transient failure (next_attempt_at) ┘   dispatcher died → sent again, same collapse id
//! suppressed: never sent (cooldown, expired before dispatch); written as such.
//! ```
//!
//! `sent` and `suppressed` documents get `expire_at` (now + `notify.outbox_ttl_days`),
//! which a TTL index uses to delete them after the audit period; no other status does.

use sha2::{Digest, Sha256};

pub use crate::store::outbox::{DeviceResult, DeviceStatus, InsertCounts, Kind, OutboxDoc, Status};

fn key_code(kind: Kind) -> &'static str {
    match kind {
        Kind::NewWorkshop => "nw",
        Kind::ScheduleChange => "sc",
        Kind::Reminder => "rm",
        Kind::Test => "ts",
    }
}

/// The outbox key of (kind, workshop identity, session, user): a short kind code and
/// 128 bits of SHA-256, e.g. `nw-3f2a…` (35 bytes, valid as an `apns-collapse-id`).
///
/// * `new_workshop`: identity = the workshop's signature (the same event reached twice
///   collides), no session;
/// * `schedule_change`: identity = uuid + the new signature (each new schedule once);
/// * `reminder`: identity = uuid, session = its local start `YYYY-MM-DDTHH:MM`.
pub fn outbox_key(kind: Kind, identity: &str, session: &str, user_id: &str) -> String {
    let canonical = format!(
        "nachna-outbox-v1\n{}\n{identity}\n{session}\n{user_id}",
        kind.as_str()
    );
    let digest = hex::encode(Sha256::digest(canonical.as_bytes()));
    format!("{}-{}", key_code(kind), &digest[..32])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_deterministic_short_and_distinct() {
        let a = outbox_key(Kind::NewWorkshop, "sig", "", "u1");
        assert_eq!(a, outbox_key(Kind::NewWorkshop, "sig", "", "u1"));
        assert!(a.starts_with("nw-") && a.len() == 35, "{a}");
        assert_ne!(a, outbox_key(Kind::NewWorkshop, "sig", "", "u2"));
        assert_ne!(a, outbox_key(Kind::ScheduleChange, "sig", "", "u1"));
        assert_ne!(
            outbox_key(Kind::Reminder, "w", "2026-06-21T18:00", "u1"),
            outbox_key(Kind::Reminder, "w", "2026-06-22T18:00", "u1")
        );
    }
}
