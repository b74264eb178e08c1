//! The outbox (`dance_app.notification_outbox`): the stored shape of a notification and
//! every read and write of it, plus `notification_reminder_sessions` (which sessions'
//! reminders were enqueued). What a notification *means* (keys, cooldown, outcomes)
//! is decided in `notify`; this file only stores it.
//!
//! Dispatch claims work per shard: a pending document carries `queue` (its shard),
//! `notification_dispatch_leases` holds one lease per shard with the keys of the batch
//! in flight, and outcomes are recorded in one multi-statement update per batch.
//!
//! `sent` and `suppressed` documents get `expire_at`, which a TTL index uses to delete
//! them after the audit period; no other status does.

use super::schema::{
    DEVICE_TOKENS, DISPATCH_LEASES, NOTIFICATION_HISTORY, OUTBOX, REMINDER_SESSIONS,
};
use super::{bson_time, is_duplicate_key, read_int, Store, StoreError};
use bson::serde_helpers::{
    chrono_datetime_as_bson_datetime as bson_datetime,
    chrono_datetime_as_bson_datetime_optional as bson_datetime_opt,
};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{self, doc, Document};
use mongodb::error::ErrorKind;
use mongodb::options::ReturnDocument;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;

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

    /// `apns-priority`: 10 (immediately) for announcements, 5 (power-considerate) for
    /// reminders.
    pub fn apns_priority(self) -> u8 {
        match self {
            Kind::Reminder => 5,
            _ => 10,
        }
    }

    /// Its `notification_type` in the app's `notification_history`; `None` for test
    /// pushes, which the app never hears of.
    pub fn history_type(self) -> Option<&'static str> {
        match self {
            Kind::NewWorkshop => Some("new_workshop"),
            Kind::ScheduleChange => Some("schedule_change"),
            Kind::Reminder => Some("reminder_24h"),
            Kind::Test => None,
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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "bson_datetime_opt"
    )]
    pub at: Option<DateTime<Utc>>,
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

/// One outbox document. Instants are stored as BSON dates.
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
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "bson_datetime_opt"
    )]
    pub session_start: Option<DateTime<Utc>>,
    pub title: String,
    pub body: String,
    /// `apns-expiration`: the session start for reminders, a horizon otherwise.
    #[serde(with = "bson_datetime")]
    pub push_expiration: DateTime<Utc>,
    /// Dispatches that ended (sent, gave up, or retry later).
    #[serde(default)]
    pub attempts: i32,
    pub devices: Vec<DeviceResult>,
    #[serde(with = "bson_datetime")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "bson_datetime")]
    pub updated_at: DateTime<Utc>,
    /// When a `pending` document may be claimed.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "bson_datetime_opt"
    )]
    pub next_attempt_at: Option<DateTime<Utc>>,
    /// The dispatcher holding a `sending` claim, and until when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "bson_datetime_opt"
    )]
    pub lease_until: Option<DateTime<Utc>>,
    /// Claims so far (more than `attempts` when a dispatcher died holding one).
    #[serde(default)]
    pub claims: i32,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "bson_datetime_opt"
    )]
    pub sent_at: Option<DateTime<Utc>>,
    /// TTL: set only on `sent` and `suppressed`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "bson_datetime_opt"
    )]
    pub expire_at: Option<DateTime<Utc>>,
}

impl OutboxDoc {
    /// The `apns-collapse-id` (≤ 64 bytes).
    pub fn collapse_id(&self) -> &str {
        &self.key
    }
}

/// What an insert of a batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InsertCounts {
    pub inserted: u64,
    /// Positions (in the batch) of keys already in the outbox (an earlier run, another
    /// daemon): not enqueued again.
    pub existing: Vec<usize>,
}

/// Shards of the outbox. A pending document carries `queue: <shard>` (from its key), and
/// one dispatcher at a time holds a shard through a lease in
/// `notification_dispatch_leases`: claiming work costs one write per batch, not one per
/// notification. Changing this number is safe: it only spreads new documents
/// differently, and every shard number in use is listed from the queue itself.
pub const OUTBOX_SHARDS: u32 = 16;

/// The shard of an outbox key (FNV-1a: stable across builds and processes).
pub fn shard_of(key: &str) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in key.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    (h % OUTBOX_SHARDS) as i32
}

/// One pass over a shard's due documents ([`Store::outbox_due_pass`]).
pub struct DuePass {
    cursor: mongodb::Cursor<Document>,
}

impl DuePass {
    /// The next up to `n` documents; empty when the pass is over. Reads the server's
    /// next batch only when the documents already received run out.
    pub async fn next_batch(&mut self, n: usize) -> Result<Vec<OutboxDoc>, StoreError> {
        let mut docs = Vec::with_capacity(n.min(5000));
        while docs.len() < n {
            match self
                .cursor
                .try_next()
                .await
                .map_err(StoreError::op("getMore", OUTBOX))?
            {
                Some(d) => docs.push(decode(d)?),
                None => break,
            }
        }
        Ok(docs)
    }
}

/// What taking a shard's dispatch lease found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShardTake {
    /// Ours now. `dead_in_flight`: the keys a previous holder whose lease expired was
    /// sending when it stopped (they may have reached devices already).
    Taken { dead_in_flight: Vec<String> },
    /// Another dispatcher holds it.
    Held,
}

/// One outcome write: the document as this dispatcher read it (with its new device
/// results), how it ends, and how many claims to count (2 when a dead dispatcher had
/// it in flight).
#[derive(Debug, Clone)]
pub struct OutboxOutcome<'a> {
    pub doc: &'a OutboxDoc,
    pub end: &'a OutboxEnd,
    pub claims: i32,
    /// Every device was untried when this dispatch read the document and took exactly
    /// one push now: the outcome may then be written together with others that are
    /// alike (see [`Store::end_outbox_claims`]).
    pub first_try: bool,
}

/// The `apns-id` a notification is sent with: its key's 128 bits as a UUID
/// (`nw-3f2a…` → `3f2a…-…-…-…-…`), `None` for a key not of that form. APNs echoes it in
/// its answer, so a batch of accepted pushes can be recorded in one statement that
/// derives each device's `apns_id` from the document's own `_id` ([`apns_id_expr`]).
/// One id per notification: a user's devices share it (like the collapse id), and so
/// does a resend after a crash.
pub fn apns_id_of(key: &str) -> Option<String> {
    let b = key.as_bytes();
    let hex = key.get(3..)?;
    if b.len() != 35 || b[2] != b'-' || !hex.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f'))
    {
        return None;
    }
    Some(format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    ))
}

/// [`apns_id_of`] as a server-side expression of `$_id`.
fn apns_id_expr() -> Document {
    let part = |from: i32, len: i32| doc! { "$substrCP": ["$_id", from, len] };
    doc! { "$concat": [
        part(3, 8), "-", part(11, 4), "-", part(15, 4), "-", part(19, 4), "-", part(23, 12),
    ] }
}

/// Whether an outcome is a first-try success every device of which APNs accepted under
/// the notification's own `apns-id`: then its write is the same for every such document
/// but for `_id`-derived values, and one statement records them all.
fn uniform_success(o: &OutboxOutcome<'_>) -> bool {
    let OutboxEnd::Final {
        status: Status::Sent,
        reason: None,
        ..
    } = o.end
    else {
        return false;
    };
    let expected = apns_id_of(&o.doc.key);
    o.first_try
        && expected.is_some()
        && !o.doc.devices.is_empty()
        && o.doc.devices.iter().all(|d| {
            d.status == DeviceStatus::Sent
                && d.code == Some(200)
                && d.reason.is_none()
                && d.at.is_some()
                && d.apns_id == expected
        })
}

/// One statement recording the uniform successes of `outcomes` (all read with `claims`
/// = `read_claims`, counting `add` claims): per device status `sent`, code 200, one
/// attempt more and the `apns_id` derived from `_id`; `at` is the latest answer of the
/// group (a batch's answers are milliseconds apart). The same fields as
/// [`outcome_update`] otherwise.
fn uniform_success_statement(
    outcomes: &[&OutboxOutcome<'_>],
    read_claims: i32,
    add: i32,
    stamp: &str,
    now: DateTime<Utc>,
) -> Document {
    let keys: Vec<&str> = outcomes.iter().map(|o| o.doc.key.as_str()).collect();
    let at = outcomes
        .iter()
        .flat_map(|o| o.doc.devices.iter().filter_map(|d| d.at))
        .max()
        .unwrap_or(now);
    let expire_at = outcomes
        .iter()
        .filter_map(|o| match o.end {
            OutboxEnd::Final { expire_at, .. } => *expire_at,
            _ => None,
        })
        .max();
    let device = doc! { "$mergeObjects": ["$$d", {
        "status": "sent",
        "code": 200,
        "attempts": { "$add": [{ "$ifNull": ["$$d.attempts", 0] }, 1] },
        "at": bson_time(at),
        "apns_id": apns_id_expr(),
    }] };
    let mut set = doc! {
        "status": "sent",
        "devices": { "$map": { "input": "$devices", "as": "d", "in": device } },
        "attempts": { "$add": [{ "$ifNull": ["$attempts", 0] }, 1] },
        "claims": read_claims + add,
        "dispatched_by": { "$literal": stamp },
        "updated_at": bson_time(now),
        "sent_at": bson_time(now),
    };
    if let Some(at) = expire_at {
        set.insert("expire_at", bson_time(at));
    }
    doc! {
        "q": { "_id": { "$in": keys }, "claims": read_claims },
        "u": [
            { "$set": set },
            { "$unset": ["queue", "next_attempt_at", "owner", "lease_until", "reason"] },
        ],
        "multi": true,
    }
}

/// How a claimed document ends this dispatch (written only while its claimer owns it).
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxEnd {
    /// A final status, with the reason (`None` clears an earlier one) and, for `sent`
    /// and `suppressed`, when the TTL index may delete it.
    Final {
        status: Status,
        reason: Option<String>,
        expire_at: Option<DateTime<Utc>>,
    },
    /// Back to `pending` after transient failures, due again at `next_attempt_at`.
    RetryLater {
        reason: String,
        next_attempt_at: DateTime<Utc>,
    },
    /// Back to `pending` untouched (dispatch stopped), due at once.
    Released,
}

/// The update of one outcome. `dispatched_by` (a stamp unique to the write) tells, when
/// some statements of a batch matched nothing, which ones did.
fn outcome_update(
    o: &OutboxOutcome<'_>,
    stamp: &str,
    now: DateTime<Utc>,
) -> Result<Document, StoreError> {
    let doc = o.doc;
    let devices = encode(&doc.devices, "device results")?;
    let claims = doc.claims + o.claims;
    Ok(match o.end {
        OutboxEnd::Final {
            status,
            reason,
            expire_at,
        } => {
            let mut set = doc! {
                "status": status.as_str(),
                "devices": devices,
                "attempts": doc.attempts + 1,
                "claims": claims,
                "dispatched_by": stamp,
                "updated_at": bson_time(now),
            };
            // Out of the queue (and so out of the sparse `dispatch_queue` index).
            let mut unset = doc! {
                "queue": "", "next_attempt_at": "", "owner": "", "lease_until": "",
            };
            match reason {
                Some(r) => {
                    set.insert("reason", r);
                }
                None => {
                    unset.insert("reason", "");
                }
            }
            if *status == Status::Sent {
                set.insert("sent_at", bson_time(now));
            }
            if let Some(at) = expire_at {
                set.insert("expire_at", bson_time(*at));
            }
            doc! { "$set": set, "$unset": unset }
        }
        OutboxEnd::RetryLater {
            reason,
            next_attempt_at,
        } => doc! {
            "$set": {
                "status": "pending",
                "queue": shard_of(&doc.key),
                "devices": devices,
                "attempts": doc.attempts + 1,
                "claims": claims,
                "dispatched_by": stamp,
                "reason": reason,
                "next_attempt_at": bson_time(*next_attempt_at),
                "updated_at": bson_time(now),
            },
            "$unset": { "owner": "", "lease_until": "" },
        },
        OutboxEnd::Released => doc! {
            "$set": {
                "status": "pending",
                "queue": shard_of(&doc.key),
                "devices": devices,
                "claims": claims,
                "dispatched_by": stamp,
                "next_attempt_at": bson_time(now),
                "updated_at": bson_time(now),
            },
            "$unset": { "owner": "", "lease_until": "" },
        },
    })
}

fn encode<T: Serialize>(value: &T, what: &str) -> Result<bson::Bson, StoreError> {
    bson::to_bson(value).map_err(|e| StoreError::Malformed {
        collection: OUTBOX,
        message: format!("cannot encode {what}: {e}"),
    })
}

fn decode(d: Document) -> Result<OutboxDoc, StoreError> {
    let id = d.get_str("_id").unwrap_or("?").to_string();
    bson::from_document(d).map_err(|e| StoreError::Malformed {
        collection: OUTBOX,
        message: format!("outbox document {id}: {e}"),
    })
}

impl Store {
    fn outbox(&self) -> mongodb::Collection<Document> {
        self.app.collection(OUTBOX)
    }

    /// Inserts documents, unordered; a key already present is counted, not an error.
    /// Each document is serialised straight to BSON bytes, without an intermediate
    /// `Document` tree.
    pub async fn insert_outbox(&self, docs: &[OutboxDoc]) -> Result<InsertCounts, StoreError> {
        if docs.is_empty() {
            return Ok(InsertCounts::default());
        }
        let encoded = docs
            .iter()
            .map(|d| {
                let mut e = bson::to_raw_document_buf(d).map_err(|e| StoreError::Malformed {
                    collection: OUTBOX,
                    message: format!("cannot encode outbox document {}: {e}", d.key),
                })?;
                if d.status == Status::Pending {
                    e.append("queue", shard_of(&d.key));
                }
                Ok(e)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let total = encoded.len() as u64;
        match self
            .app
            .collection::<bson::RawDocumentBuf>(OUTBOX)
            .insert_many(encoded)
            .ordered(false)
            .await
        {
            Ok(result) => Ok(InsertCounts {
                inserted: result.inserted_ids.len() as u64,
                existing: Vec::new(),
            }),
            Err(err) if is_duplicate_key(&err) => {
                let ErrorKind::InsertMany(ref failure) = *err.kind else {
                    return Err(StoreError::op("insert", OUTBOX)(err));
                };
                let existing: Vec<usize> = failure
                    .write_errors
                    .as_deref()
                    .unwrap_or(&[])
                    .iter()
                    .map(|e| e.index)
                    .collect();
                Ok(InsertCounts {
                    inserted: total - existing.len() as u64,
                    existing,
                })
            }
            Err(err) => Err(StoreError::op("insert", OUTBOX)(err)),
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

    fn dispatch_leases(&self) -> mongodb::Collection<Document> {
        self.app.collection(DISPATCH_LEASES)
    }

    /// The shards that have due work: one aggregation grouping the due documents by
    /// `queue`. It was a `find` of the first 5,000 due documents, which the
    /// `dispatch_queue` index hands out shard by shard: a backlog of 100,000 listed
    /// shard 0 alone, so a drain took the shards one round at a time and read the
    /// whole queue again every round (issue 12). A `$group` (rather than `distinct`,
    /// which SecantusDB answers by decoding every whole document) reads only `queue`.
    pub async fn outbox_due_shards(&self, now: DateTime<Utc>) -> Result<Vec<i32>, StoreError> {
        let mut cursor = self
            .outbox()
            .aggregate(vec![
                doc! { "$match": { "queue": { "$gte": 0 }, "next_attempt_at": { "$lte": bson_time(now) } } },
                doc! { "$group": { "_id": "$queue" } },
            ])
            .await
            .map_err(StoreError::op("aggregate", OUTBOX))?;
        let mut shards = std::collections::BTreeSet::new();
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("aggregate", OUTBOX))?
        {
            if let Some(q) = read_int(&d, "_id").and_then(|q| i32::try_from(q).ok()) {
                shards.insert(q);
            }
        }
        Ok(shards.into_iter().collect())
    }

    /// Up to `limit` due documents of one shard (`pending`, `next_attempt_at <= now`).
    pub async fn outbox_due(
        &self,
        shard: i32,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxDoc>, StoreError> {
        let docs: Vec<Document> = self
            .outbox()
            .find(Self::due_filter(shard, now))
            .limit(limit)
            .batch_size(limit.clamp(1, u32::MAX as i64) as u32)
            .await
            .map_err(StoreError::op("find", OUTBOX))?
            .try_collect()
            .await
            .map_err(StoreError::op("find", OUTBOX))?;
        docs.into_iter().map(decode).collect()
    }

    /// A shard's due documents (as [`Store::outbox_due`]) through one query whose
    /// cursor hands them out `batch` at a time: the server finds the due documents of
    /// the shard once per pass instead of once per batch. (SecantusDB applies a
    /// `limit` only after reading every document the filter matches, so a limited
    /// query per batch read a shard of n batches about n²/2 batches' worth; issue 12.)
    ///
    /// Documents of later batches were read when the pass began. That is safe because
    /// a pending document is written only by the holder of its shard's lease, which
    /// marks every batch in flight before sending it ([`Store::mark_dispatch_batch`]
    /// fails once the lease is lost); documents enqueued or coming due meanwhile wait
    /// for the next pass.
    pub async fn outbox_due_pass(
        &self,
        shard: i32,
        now: DateTime<Utc>,
        batch: i64,
    ) -> Result<DuePass, StoreError> {
        let cursor = self
            .outbox()
            .find(Self::due_filter(shard, now))
            .batch_size(batch.clamp(1, u32::MAX as i64) as u32)
            .await
            .map_err(StoreError::op("find", OUTBOX))?;
        Ok(DuePass { cursor })
    }

    fn due_filter(shard: i32, now: DateTime<Utc>) -> Document {
        // `queue` first: SecantusDB plans on the first indexed field it meets.
        doc! {
            "queue": shard,
            "next_attempt_at": { "$lte": bson_time(now) },
            "status": "pending",
        }
    }

    /// Takes a shard's dispatch lease until `until` if it is free (expired, released, or
    /// ours): one atomic `findOneAndUpdate` with upsert, like the studio leases.
    pub async fn take_dispatch_shard(
        &self,
        shard: i32,
        owner: &str,
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<ShardTake, StoreError> {
        let result = self
            .dispatch_leases()
            .find_one_and_update(
                doc! {
                    "_id": shard,
                    "$or": [ { "expires_at": { "$lte": bson_time(now) } }, { "owner": owner } ],
                },
                doc! { "$set": {
                    "owner": owner,
                    "acquired_at": bson_time(now),
                    "expires_at": bson_time(until),
                    "in_flight": [],
                } },
            )
            .upsert(true)
            .return_document(ReturnDocument::Before)
            .await;
        match result {
            Ok(previous) => {
                let dead_in_flight = previous
                    .filter(|p| p.get_str("owner").ok() != Some(owner))
                    .map(|p| super::read_strings(&p, "in_flight"))
                    .unwrap_or_default();
                Ok(ShardTake::Taken { dead_in_flight })
            }
            Err(err) if is_duplicate_key(&err) => Ok(ShardTake::Held),
            Err(err) => Err(StoreError::op("findOneAndUpdate", DISPATCH_LEASES)(err)),
        }
    }

    /// Before sending a batch: records its keys as in flight and extends the lease to
    /// `until`. False when the shard is no longer `owner`'s (its lease expired and
    /// another dispatcher took it): the batch must not be sent.
    pub async fn mark_dispatch_batch(
        &self,
        shard: i32,
        owner: &str,
        keys: &[&str],
        now: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let r = self
            .dispatch_leases()
            .update_one(
                doc! { "_id": shard, "owner": owner, "expires_at": { "$gt": bson_time(now) } },
                doc! { "$set": { "in_flight": keys, "expires_at": bson_time(until), "renewed_at": bson_time(now) } },
            )
            .await
            .map_err(StoreError::op("update", DISPATCH_LEASES))?;
        Ok(r.matched_count == 1)
    }

    /// Gives a shard back (every outcome of it recorded).
    pub async fn release_dispatch_shard(&self, shard: i32, owner: &str) -> Result<(), StoreError> {
        self.dispatch_leases()
            .delete_one(doc! { "_id": shard, "owner": owner })
            .await
            .map_err(StoreError::op("delete", DISPATCH_LEASES))?;
        Ok(())
    }

    /// Records how each document's dispatch ended, in one unordered multi-statement
    /// `update` command (one round trip for the batch; plain `update` works on every
    /// server version, unlike `bulkWrite`). First-try successes (the common case) are
    /// written together: one multi-document statement per claims count read, whose
    /// per-document values are derived from `_id` on the server ([`uniform_success`]);
    /// every other outcome has a statement of its own. The server's cost is per
    /// statement far more than per document (issue 12: about 11k statements/s, several
    /// times that in documents of one statement). Each statement matches only the
    /// documents as they were read (`claims` unchanged), so an outcome from a
    /// dispatcher whose lease was taken over never overwrites the new holder's. Returns,
    /// per outcome, whether it was recorded.
    pub async fn end_outbox_claims(
        &self,
        outcomes: &[OutboxOutcome<'_>],
        stamp: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError> {
        if outcomes.is_empty() {
            return Ok(Vec::new());
        }
        let mut updates = Vec::new();
        let mut groups: BTreeMap<(i32, i32), Vec<&OutboxOutcome<'_>>> = BTreeMap::new();
        for o in outcomes {
            if uniform_success(o) {
                groups.entry((o.doc.claims, o.claims)).or_default().push(o);
                continue;
            }
            updates.push(doc! {
                "q": { "_id": &o.doc.key, "claims": o.doc.claims },
                "u": outcome_update(o, stamp, now)?,
            });
        }
        for ((read_claims, add), group) in &groups {
            updates.push(uniform_success_statement(
                group,
                *read_claims,
                *add,
                stamp,
                now,
            ));
        }
        let reply = self
            .app
            .run_command(doc! { "update": OUTBOX, "updates": updates, "ordered": false })
            .await
            .map_err(StoreError::op("update", OUTBOX))?;
        if let Ok(errors) = reply.get_array("writeErrors") {
            if let Some(first) = errors.first() {
                return Err(StoreError::Malformed {
                    collection: OUTBOX,
                    message: format!("{} outcome write(s) refused, first: {first}", errors.len()),
                });
            }
        }
        let matched = read_int(&reply, "n").unwrap_or(0);
        if matched == outcomes.len() as i64 {
            return Ok(vec![true; outcomes.len()]);
        }
        // Some were taken over meanwhile (rare): which ones carry our stamp?
        let keys: Vec<&str> = outcomes.iter().map(|o| o.doc.key.as_str()).collect();
        let ours: HashSet<String> = self
            .outbox()
            .find(doc! { "_id": { "$in": &keys }, "dispatched_by": stamp })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(StoreError::op("find", OUTBOX))?
            .try_collect::<Vec<Document>>()
            .await
            .map_err(StoreError::op("find", OUTBOX))?
            .iter()
            .filter_map(|d| d.get_str("_id").ok().map(str::to_string))
            .collect();
        Ok(keys.iter().map(|k| ours.contains(*k)).collect())
    }

    /// Outbox documents by kind, then status.
    pub async fn outbox_counts(
        &self,
    ) -> Result<BTreeMap<String, BTreeMap<String, u64>>, StoreError> {
        let mut counts: BTreeMap<String, BTreeMap<String, u64>> = BTreeMap::new();
        let mut cursor = self
            .outbox()
            .aggregate(vec![doc! { "$group": {
                "_id": { "kind": "$kind", "status": "$status" },
                "n": { "$sum": 1 },
            } }])
            .await
            .map_err(StoreError::op("aggregate", OUTBOX))?;
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("aggregate", OUTBOX))?
        {
            let Ok(id) = d.get_document("_id") else {
                continue;
            };
            let kind = id.get_str("kind").unwrap_or("?").to_string();
            let st = id.get_str("status").unwrap_or("?").to_string();
            let n = read_int(&d, "n").unwrap_or(0).max(0) as u64;
            *counts.entry(kind).or_default().entry(st).or_default() += n;
        }
        Ok(counts)
    }

    /// When the oldest `pending` notification was created.
    pub async fn oldest_pending_outbox(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let oldest: Option<Document> = self
            .outbox()
            .find_one(doc! { "status": "pending" })
            .sort(doc! { "created_at": 1 })
            .projection(doc! { "created_at": 1 })
            .await
            .map_err(StoreError::op("find", OUTBOX))?;
        Ok(oldest.and_then(|d| d.get_datetime("created_at").ok().map(|t| t.to_chrono())))
    }

    /// Device tokens deactivated at or after `since`.
    pub async fn tokens_deactivated_since(&self, since: DateTime<Utc>) -> Result<u64, StoreError> {
        self.app
            .collection::<Document>(DEVICE_TOKENS)
            .count_documents(doc! {
                "is_active": false,
                "deactivated_at": { "$gte": bson_time(since) },
            })
            .await
            .map_err(StoreError::op("count", DEVICE_TOKENS))
    }

    /// For each of `users`, which of `artist_ids` a `new_workshop` notification
    /// (pending, sending or sent) created after `since` was about, for any workshop
    /// other than `except_uuid`: the cooldown's evidence. Also counts `new_workshop`
    /// entries of the app's `notification_history` sent after `since`.
    pub async fn recent_new_workshop_artists(
        &self,
        users: &[String],
        artist_ids: &[String],
        except_uuid: &str,
        since: DateTime<Utc>,
    ) -> Result<HashMap<String, HashSet<String>>, StoreError> {
        let mut cursor = self
            .outbox()
            .find(doc! {
                "user_id": { "$in": users },
                "kind": Kind::NewWorkshop.as_str(),
                "created_at": { "$gt": bson_time(since) },
                "status": { "$in": ["pending", "sending", "sent"] },
                "artist_ids": { "$in": artist_ids },
                "workshop_uuid": { "$ne": except_uuid },
            })
            .projection(doc! { "_id": 0, "user_id": 1, "artist_ids": 1 })
            .await
            .map_err(StoreError::op("find", OUTBOX))?;
        let mut out: HashMap<String, HashSet<String>> = HashMap::new();
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("find", OUTBOX))?
        {
            let Ok(user) = d.get_str("user_id") else {
                continue;
            };
            let entry = out.entry(user.to_string()).or_default();
            if let Ok(artists) = d.get_array("artist_ids") {
                for a in artists.iter().filter_map(|v| v.as_str()) {
                    entry.insert(a.to_string());
                }
            }
        }
        // Pushes the app's old server sent are only in its `notification_history`
        // (ours are there too, already counted above: a set, so no double count).
        let mut cursor = self
            .app
            .collection::<Document>(NOTIFICATION_HISTORY)
            .find(doc! {
                "user_id": { "$in": users },
                "notification_type": "new_workshop",
                "sent_at": { "$gt": bson_time(since) },
                "artist_id": { "$in": artist_ids },
                "workshop_uuid": { "$ne": except_uuid },
            })
            .projection(doc! { "_id": 0, "user_id": 1, "artist_id": 1 })
            .await
            .map_err(StoreError::op("find", NOTIFICATION_HISTORY))?;
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("find", NOTIFICATION_HISTORY))?
        {
            if let (Ok(user), Ok(artist)) = (d.get_str("user_id"), d.get_str("artist_id")) {
                out.entry(user.to_string())
                    .or_default()
                    .insert(artist.to_string());
            }
        }
        Ok(out)
    }

    /// Records pushes delivered in the app's `notification_history`, one document per
    /// notification and user (`_id` = the outbox key, which names the user), in one
    /// unordered `insert`: a key already there (a notification sent again after a
    /// crash, recorded twice, or by two dispatchers at once) is a duplicate-key error
    /// per document, which means "already recorded", and the first entry stands. An
    /// insert costs the server about a third of what an upsert does (issue 12). Each
    /// entry is `(document, when its first device accepted it)`. A document the
    /// contract rejects is logged and left out (the push is already out; blocking the
    /// batch would only resend it). Returns how many were newly written.
    pub async fn record_history(
        &self,
        delivered: &[(&OutboxDoc, DateTime<Utc>)],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut entries = Vec::with_capacity(delivered.len());
        for (d, sent_at) in delivered {
            let Some(notification_type) = d.kind.history_type() else {
                continue;
            };
            let fields = doc! {
                "user_id": &d.user_id,
                "workshop_uuid": &d.workshop_uuid,
                "artist_id": &d.artist_id,
                "notification_type": notification_type,
                "title": &d.title,
                "body": &d.body,
                "is_sent": true,
                "sent_at": bson_time(*sent_at),
                "created_at": bson_time(now),
            };
            if let Err(rejected) =
                crate::contract::validate_notification(&super::contract_view(&fields))
            {
                tracing::error!(key = %d.key, "notification_history entry not written: {rejected}");
                continue;
            }
            let mut entry = doc! { "_id": &d.key };
            entry.extend(fields);
            entries.push(entry);
        }
        if entries.is_empty() {
            return Ok(0);
        }
        let total = entries.len() as u64;
        match self
            .app
            .collection::<Document>(NOTIFICATION_HISTORY)
            .insert_many(entries)
            .ordered(false)
            .await
        {
            Ok(result) => Ok(result.inserted_ids.len() as u64),
            Err(err) if is_duplicate_key(&err) => {
                let already = match *err.kind {
                    ErrorKind::InsertMany(ref failure) => {
                        failure.write_errors.as_deref().map_or(0, <[_]>::len) as u64
                    }
                    _ => total,
                };
                Ok(total.saturating_sub(already))
            }
            Err(err) => Err(StoreError::op("insert", NOTIFICATION_HISTORY)(err)),
        }
    }

    /// Which of `users` were already told of workshop `uuid`: a `new_workshop` for it
    /// enqueued or sent (whatever identity it had then).
    pub async fn users_told_of_workshop(
        &self,
        users: &[String],
        uuid: &str,
    ) -> Result<HashSet<String>, StoreError> {
        let mut cursor = self
            .outbox()
            .find(doc! {
                "user_id": { "$in": users },
                "workshop_uuid": uuid,
                "kind": Kind::NewWorkshop.as_str(),
                "status": { "$in": ["pending", "sending", "sent"] },
            })
            .projection(doc! { "_id": 0, "user_id": 1 })
            .await
            .map_err(StoreError::op("find", OUTBOX))?;
        let mut out = HashSet::new();
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("find", OUTBOX))?
        {
            if let Ok(user) = d.get_str("user_id") {
                out.insert(user.to_string());
            }
        }
        Ok(out)
    }

    /// Whether the reminders of a session (`<uuid>|<YYYY-MM-DDTHH:MM>`) were enqueued.
    pub async fn reminder_session_done(&self, marker: &str) -> Result<bool, StoreError> {
        Ok(self
            .app
            .collection::<Document>(REMINDER_SESSIONS)
            .find_one(doc! { "_id": marker })
            .await
            .map_err(StoreError::op("find", REMINDER_SESSIONS))?
            .is_some())
    }

    /// Records a session's reminders as enqueued; kept a week past the session, then
    /// dropped by the TTL index.
    pub async fn mark_reminder_session_done(
        &self,
        marker: &str,
        start: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.app
            .collection::<Document>(REMINDER_SESSIONS)
            .update_one(
                doc! { "_id": marker },
                doc! { "$setOnInsert": {
                    "enqueued_at": bson_time(now),
                    "session_start": bson_time(start),
                    "expire_at": bson_time(start + chrono::Duration::days(7)),
                } },
            )
            .upsert(true)
            .await
            .map_err(StoreError::op("upsert", REMINDER_SESSIONS))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
