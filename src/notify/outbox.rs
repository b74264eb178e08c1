//! The outbox: one document per (user, notification) in `dance_app.notification_outbox`.
//!
//! The `_id` is a deterministic key derived from kind + workshop identity + session +
//! user ([`outbox_key`]); `_id` is unique, so re-running an ingest, two daemons, or a
//! crash and restart can never enqueue a second push for the same thing. The same key
//! is the `apns-collapse-id`, so a push re-sent after a crash shows once on a device.
//!
//! Life of a document:
//!
//! ```text
//! pending ──claim (owner, lease_until)──► sending ──► sent | no_device | failed
//!    ▲                                       │
//!    └── transient failure (next_attempt_at) ┘   lease expired → claimed again
//! suppressed: never sent (cooldown, expired before dispatch); written as such.
//! ```
//!
//! `sent` and `suppressed` documents get `expire_at` (now + `notify.outbox_ttl_days`),
//! which a TTL index uses to delete them after the audit period; no other status does.

use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use mongodb::bson::{self, doc, Document};
use mongodb::error::ErrorKind;
use mongodb::Collection;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

pub const OUTBOX: &str = "notification_outbox";

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    NewWorkshop,
    ScheduleChange,
    Reminder,
    /// `notify test`: never enqueued, only sent directly.
    Test,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::NewWorkshop => "new_workshop",
            Kind::ScheduleChange => "schedule_change",
            Kind::Reminder => "reminder",
            Kind::Test => "test",
        }
    }

    fn key_code(self) -> &'static str {
        match self {
            Kind::NewWorkshop => "nw",
            Kind::ScheduleChange => "sc",
            Kind::Reminder => "rm",
            Kind::Test => "ts",
        }
    }

    /// `apns-priority`: 10 (immediately) for announcements, 5 (power-considerate) for
    /// reminders.
    pub fn apns_priority(self) -> u8 {
        match self {
            Kind::Reminder => 5,
            _ => 10,
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "new_workshop" => Some(Kind::NewWorkshop),
            "schedule_change" => Some(Kind::ScheduleChange),
            "reminder" => Some(Kind::Reminder),
            "test" => Some(Kind::Test),
            _ => None,
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a notification is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pending,
    Sending,
    Sent,
    Suppressed,
    Failed,
    NoDevice,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Sending => "sending",
            Status::Sent => "sent",
            Status::Suppressed => "suppressed",
            Status::Failed => "failed",
            Status::NoDevice => "no_device",
        }
    }

    /// Kept for audit, then deleted by the TTL index.
    pub fn expires(self) -> bool {
        matches!(self, Status::Sent | Status::Suppressed)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One device's result within a notification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceStatus {
    /// Not tried yet.
    Pending,
    /// APNs accepted it (200).
    Sent,
    /// APNs said the token is dead; the token was marked `is_active: false`.
    Deactivated,
    /// A platform without a sender yet (android until FCM is added).
    NoSender,
    /// Transient failures persisted through this dispatch's tries; tried again later.
    Retry,
    /// Rejected for another reason; not tried again.
    Failed,
}

/// A device as the outbox records it: the token, and what happened to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceResult {
    pub token: String,
    pub platform: String,
    pub status: DeviceStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apns_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub attempts: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<bson::DateTime>,
}

impl DeviceResult {
    pub fn new(token: impl Into<String>, platform: impl Into<String>) -> Self {
        DeviceResult {
            token: token.into(),
            platform: platform.into(),
            status: DeviceStatus::Pending,
            apns_id: None,
            code: None,
            reason: None,
            attempts: 0,
            at: None,
        }
    }
}

/// One outbox document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OutboxDoc {
    /// The deterministic key; also the `apns-collapse-id`.
    #[serde(rename = "_id")]
    pub key: String,
    pub kind: Kind,
    pub status: Status,
    /// Why it is suppressed, failed or has no device.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub user_id: String,
    pub workshop_uuid: String,
    /// The workshop's artists this user follows.
    pub artist_ids: Vec<String>,
    /// The artist named in the payload's `artist_id` (first of `artist_ids`).
    pub artist_id: String,
    /// Start of the session concerned (the reminded one; the first future one otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_start: Option<bson::DateTime>,
    pub title: String,
    pub body: String,
    /// `apns-expiration`: the session start for reminders, a horizon otherwise.
    pub push_expiration: bson::DateTime,
    /// Dispatches that ended (sent, gave up, or retry later).
    #[serde(default)]
    pub attempts: i32,
    pub devices: Vec<DeviceResult>,
    pub created_at: bson::DateTime,
    pub updated_at: bson::DateTime,
    /// When a `pending` document may be claimed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<bson::DateTime>,
    /// The dispatcher holding a `sending` claim, and until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_until: Option<bson::DateTime>,
    /// Claims so far (more than `attempts` when a dispatcher died holding one).
    #[serde(default)]
    pub claims: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sent_at: Option<bson::DateTime>,
    /// TTL: set only on `sent` and `suppressed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_at: Option<bson::DateTime>,
}

impl OutboxDoc {
    /// The `apns-collapse-id` (≤ 64 bytes).
    pub fn collapse_id(&self) -> &str {
        &self.key
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
    format!("{}-{}", kind.key_code(), &digest[..32])
}

pub fn bson_time(at: DateTime<Utc>) -> bson::DateTime {
    bson::DateTime::from_chrono(at)
}

/// What an insert of a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsertCounts {
    pub inserted: u64,
    /// Positions (in the batch) of keys already in the outbox (an earlier run, another
    /// daemon): not enqueued again.
    pub existing: Vec<usize>,
}

impl Store {
    pub fn outbox(&self) -> Collection<Document> {
        self.app.collection(OUTBOX)
    }

    /// Inserts documents, unordered; a key already present is counted, not an error.
    pub async fn insert_outbox(&self, docs: &[OutboxDoc]) -> Result<InsertCounts, StoreError> {
        if docs.is_empty() {
            return Ok(InsertCounts::default());
        }
        let encoded = docs
            .iter()
            .map(|d| {
                bson::to_document(d).map_err(|e| StoreError::Malformed {
                    collection: OUTBOX,
                    message: format!("cannot encode outbox document {}: {e}", d.key),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let total = encoded.len() as u64;
        match self.outbox().insert_many(encoded).ordered(false).await {
            Ok(result) => Ok(InsertCounts {
                inserted: result.inserted_ids.len() as u64,
                existing: Vec::new(),
            }),
            Err(err) => {
                let ErrorKind::InsertMany(ref failure) = *err.kind else {
                    return Err(StoreError::op("insert", OUTBOX)(err));
                };
                let write_errors = failure.write_errors.as_deref().unwrap_or(&[]);
                let only_duplicates = failure.write_concern_error.is_none()
                    && !write_errors.is_empty()
                    && write_errors.iter().all(|e| e.code == 11000);
                if !only_duplicates {
                    return Err(StoreError::op("insert", OUTBOX)(err));
                }
                let existing: Vec<usize> = write_errors.iter().map(|e| e.index).collect();
                Ok(InsertCounts {
                    inserted: total - existing.len() as u64,
                    existing,
                })
            }
        }
    }

    pub async fn outbox_doc(&self, key: &str) -> Result<Option<OutboxDoc>, StoreError> {
        let found = self
            .outbox()
            .find_one(doc! { "_id": key })
            .await
            .map_err(StoreError::op("find", OUTBOX))?;
        found.map(decode).transpose()
    }
}

pub(crate) fn decode(d: Document) -> Result<OutboxDoc, StoreError> {
    let id = d.get_str("_id").unwrap_or("?").to_string();
    bson::from_document(d).map_err(|e| StoreError::Malformed {
        collection: OUTBOX,
        message: format!("outbox document {id}: {e}"),
    })
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

    #[test]
    fn statuses_and_kinds_are_stored_as_snake_case() {
        assert_eq!(
            bson::to_bson(&Status::NoDevice).unwrap(),
            bson::Bson::String("no_device".into())
        );
        assert_eq!(
            bson::to_bson(&Kind::ScheduleChange).unwrap(),
            bson::Bson::String("schedule_change".into())
        );
        assert!(Status::Sent.expires() && Status::Suppressed.expires());
        assert!(!Status::Failed.expires() && !Status::NoDevice.expires());
    }
}
