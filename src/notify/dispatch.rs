//! Dispatch: drain the outbox through a [`Pusher`].
//!
//! The outbox is split into shards ([`crate::store::outbox::OUTBOX_SHARDS`]; a pending
//! document carries `queue: <shard>`). A dispatcher takes one shard at a time with a
//! lease (`notification_dispatch_leases`) and reads its due documents with one query
//! whose cursor hands them out a batch at a time; then per batch of `push.batch_size`
//! due documents: one write marks the batch's keys in flight and extends the lease, the
//! pushes go out (up to `push.concurrency` in flight at once, over one HTTP/2
//! connection), one unordered `insert` records the delivered ones in the app's
//! `notification_history` (`_id` = the outbox key: a resend's duplicate-key error means
//! "already recorded"), and one multi-statement `update` records every outcome.
//!
//! One aggregation per round lists the shards with due work, and every one of them is
//! dispatched in that round. (A `find` of the first 5,000 due documents listed shard 0
//! alone for a large backlog, since the queue index returns shard by shard: 100,000
//! notifications took 16 rounds, each reading the whole queue again, and a limited
//! query per batch read a shard's remaining documents again per batch, since
//! SecantusDB applies `limit` after reading all that match. Together most of the
//! database's CPU in the 100k dispatch; issue 12.)
//!
//! What the server pays per notification (issue 12; it works through statements one by
//! one, and a statement costs it several times what one more document in a statement
//! does): the history entry, one inserted document; and a share of one statement per
//! batch for the outcomes of every first-try success. Each push carries `apns-id` = the
//! key as a UUID, which APNs echoes, so a device's `apns_id` is derived from `_id` on
//! the server and the successes of a batch are written by one multi-document statement
//! (`$in` on their keys, guarded by the `claims` they were read with). Anything else
//! (retries, deactivated tokens, android devices, failures) keeps a statement of its
//! own. Before this, each notification cost an outcome statement and a history upsert:
//! two of the server's most expensive writes.
//!
//! Crash safety: a dispatcher that dies mid-batch leaves its batch in flight on the
//! lease; once the lease expires another dispatcher takes the shard and sends what was
//! not recorded again, with the same `apns-collapse-id`, so a device shows it once
//! (its `claims` counts both). Nothing is lost: a document leaves the queue only with
//! its recorded outcome. An outcome write matches only the document as it was read,
//! so a dispatcher whose lease was taken over never records over the new holder.
//!
//! Outcomes by APNs answer ([`super::outcome::classify`]):
//!
//! | answer | what happens |
//! |---|---|
//! | 200 | device `sent` |
//! | 410 `Unregistered`, `BadDeviceToken`, `DeviceTokenNotForTopic` | that token gets `is_active: false` + reason + time; the user's other devices still get it |
//! | 429, 500, 503, timeouts, connection errors | retried with exponential back-off (`push.retry_attempts`), then the document goes back to `pending` for a later dispatch (`push.max_dispatch_attempts`); the token stays active |
//! | `ExpiredProviderToken`, `InvalidProviderToken`, `BadTopic`, `TopicDisallowed`, `BadCertificate…`, any 403 | configuration fault: dispatch stops, the document stays `pending`, an error says what to fix; no token is touched |
//! | `PayloadTooLarge`, other payload 400s | the notification is `failed` with the reason |
//!
//! Android (and unknown) platforms have no sender yet: their device result is
//! `no_sender` ("no sender for platform android"), never silently dropped.

use super::outbox::{DeviceResult, DeviceStatus, Kind, OutboxDoc, Status};
use super::outcome::{DeviceAnswer, ProviderFault, Verdict};
use super::payload::request_for;
use super::sender::Pusher;
use super::{Notifier, NotifyError};
use crate::metrics;
use crate::process::OwnerId;
use crate::store::outbox::{OutboxEnd, OutboxOutcome, ShardTake};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use futures::StreamExt;
use serde::Serialize;
use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use tokio::sync::Semaphore;
use tracing::{debug, error, info, warn};

/// What one drain did.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DispatchReport {
    /// Documents claimed.
    pub claimed: u64,
    pub sent: u64,
    pub no_device: u64,
    pub failed: u64,
    /// Not sent because their `apns-expiration` (a reminder's session start) had passed.
    pub expired: u64,
    /// Back to `pending` after transient failures, for a later dispatch.
    pub retry_later: u64,
    /// Back to `pending` untouched because dispatch stopped.
    pub released: u64,
    /// Requests made to the sender (retries included).
    pub requests: u64,
    /// Devices that accepted a push.
    pub delivered: u64,
    pub deactivated_tokens: u64,
    pub no_sender_devices: u64,
    /// Outcomes not recorded because another dispatcher had taken the document over
    /// (our shard lease expired).
    pub lease_lost: u64,
    /// Set when APNs refused our credentials and dispatch stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped: Option<ProviderFault>,
}

impl DispatchReport {
    pub fn summary_line(&self) -> String {
        let mut line = format!(
            "dispatch: claimed {}, sent {}, no device {}, failed {}, expired {}, retry later {}, \
             requests {}, delivered {}, tokens deactivated {}, devices without sender {}",
            self.claimed,
            self.sent,
            self.no_device,
            self.failed,
            self.expired,
            self.retry_later,
            self.requests,
            self.delivered,
            self.deactivated_tokens,
            self.no_sender_devices
        );
        if let Some(stop) = &self.stopped {
            line.push_str(&format!(
                " | STOPPED: APNs {} — {}; {} notification(s) left pending",
                stop.reason, stop.hint, self.released
            ));
        }
        line
    }
}

/// How one device's turn ended.
enum DeviceEnd {
    /// Sent, deactivated, no sender, failed, or already settled: next device.
    Done,
    /// Transient failures through every try: the document is retried later.
    Transient(String),
    /// APNs refused the payload: no other device is tried.
    PayloadFault(String),
    /// Dispatch stopped (provider fault): the document goes back untouched.
    Stopped,
}

/// One push attempt in `/metrics` (`docs/metrics.md`): `sent`, `rejected` (APNs said
/// no) or `error` (no answer, or a transient one), with APNs' reason or `none`.
fn record_attempt(answer: &DeviceAnswer) {
    let outcome = match answer.verdict {
        Verdict::Delivered => "sent",
        Verdict::Retry => "error",
        Verdict::DeactivateToken
        | Verdict::ProviderFault
        | Verdict::PayloadFault
        | Verdict::DeviceFailed => "rejected",
    };
    let reason = match (answer.code, answer.reason.as_deref()) {
        (Some(_), Some(r)) => r,
        _ => "none",
    };
    metrics::record_push(outcome, reason);
}

/// How one document's dispatch ends, for the report (counted once it is recorded).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tally {
    Finished(Status),
    /// Expired before any device got it.
    Expired,
    RetryLater,
    Released,
}

/// One document's dispatch, decided and waiting to be recorded with its batch.
pub struct Decided {
    pub doc: OutboxDoc,
    pub end: OutboxEnd,
    tally: Tally,
    /// Every device was untried when read and took exactly one push in this dispatch.
    first_try: bool,
}

/// Due documents of one shard, claimed under that shard's lease and marked in flight.
#[derive(Debug)]
pub struct Batch {
    pub shard: i32,
    pub docs: Vec<OutboxDoc>,
}

/// Shards dispatched at the same time by one dispatcher: all of them (their pushes
/// share the `push.concurrency` limit, and memory holds at most one batch per shard).
/// While some record their batch, the others keep the connection full: with APNs-like
/// latency, 4 at a time left it idle between batches (issue 12: 3,000-4,300 pushes/s
/// with 500 in flight at 50 ms, of a 10,000/s ceiling).
const PARALLEL_SHARDS: usize = crate::store::outbox::OUTBOX_SHARDS as usize;

/// Drains the outbox once.
pub struct Dispatcher<'a> {
    notifier: &'a Notifier,
    pusher: &'a dyn Pusher,
    owner: String,
    stop: Mutex<Option<ProviderFault>>,
    /// Pushes in flight, at most `push.concurrency`.
    in_flight: Semaphore,
    /// Keys a dead dispatcher had in flight in the shards this one took over.
    dead_in_flight: Mutex<HashSet<String>>,
    /// Makes each outcome write's stamp unique.
    writes: AtomicU64,
}

/// A dispatcher identity: this process's [`OwnerId`].
pub fn owner_id() -> String {
    OwnerId::new().to_string()
}

impl<'a> Dispatcher<'a> {
    pub fn new(notifier: &'a Notifier, pusher: &'a dyn Pusher) -> Dispatcher<'a> {
        Dispatcher::with_owner(notifier, pusher, owner_id())
    }

    pub fn with_owner(
        notifier: &'a Notifier,
        pusher: &'a dyn Pusher,
        owner: String,
    ) -> Dispatcher<'a> {
        let p = &notifier.push;
        let worst: std::time::Duration = p.request_timeout() * p.retry_attempts.max(1)
            + (1..p.retry_attempts.max(1))
                .map(|a| p.backoff(a))
                .sum::<std::time::Duration>();
        if worst >= p.lease() {
            warn!(
                lease_secs = p.lease_secs,
                worst_case_secs = worst.as_secs(),
                "push.lease_secs is shorter than one notification's worst case of retries: a slow notification may be sent twice; raise push.lease_secs"
            );
        }
        Dispatcher {
            notifier,
            pusher,
            owner,
            stop: Mutex::new(None),
            in_flight: Semaphore::new(p.concurrency.max(1)),
            dead_in_flight: Mutex::new(HashSet::new()),
            writes: AtomicU64::new(0),
        }
    }

    fn store(&self) -> &Store {
        &self.notifier.store
    }

    fn now(&self) -> DateTime<Utc> {
        self.notifier.clock.now()
    }

    fn stopped(&self) -> bool {
        self.stop.lock().expect("stop lock").is_some()
    }

    fn lease_until(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + chrono::Duration::from_std(self.notifier.push.lease())
            .unwrap_or(chrono::Duration::seconds(120))
    }

    fn batch_size(&self) -> i64 {
        self.notifier.push.batch_size.clamp(1, 5000) as i64
    }

    /// Takes a shard's lease; false when another dispatcher holds it.
    async fn take_shard(&self, shard: i32) -> Result<bool, StoreError> {
        let now = self.now();
        match self
            .store()
            .take_dispatch_shard(shard, &self.owner, now, self.lease_until(now))
            .await?
        {
            ShardTake::Held => Ok(false),
            ShardTake::Taken { dead_in_flight } => {
                if !dead_in_flight.is_empty() {
                    warn!(
                        shard,
                        in_flight = dead_in_flight.len(),
                        "took over an outbox shard from a dispatcher that stopped mid-batch: its unrecorded notifications are sent again with the same collapse id"
                    );
                }
                self.dead_in_flight
                    .lock()
                    .expect("dead lock")
                    .extend(dead_in_flight);
                Ok(true)
            }
        }
    }

    /// Marks `docs` (due documents of a shard this dispatcher holds) in flight on the
    /// lease before anything is sent. `None`: empty, or the lease was lost.
    async fn mark_batch(
        &self,
        shard: i32,
        docs: Vec<OutboxDoc>,
    ) -> Result<Option<Batch>, StoreError> {
        if docs.is_empty() {
            return Ok(None);
        }
        let keys: Vec<&str> = docs.iter().map(|d| d.key.as_str()).collect();
        let now = self.now();
        if !self
            .store()
            .mark_dispatch_batch(shard, &self.owner, &keys, now, self.lease_until(now))
            .await?
        {
            warn!(
                shard,
                "lost the outbox shard's lease (expired, taken by another dispatcher): batch not sent"
            );
            return Ok(None);
        }
        Ok(Some(Batch { shard, docs }))
    }

    /// The next batch of a shard this dispatcher holds: due documents, marked in
    /// flight on the lease before anything is sent. `None`: nothing due, or the lease
    /// was lost.
    async fn next_batch(&self, shard: i32) -> Result<Option<Batch>, StoreError> {
        let docs = self
            .store()
            .outbox_due(shard, self.now(), self.batch_size())
            .await?;
        self.mark_batch(shard, docs).await
    }

    /// Claims one batch: the first shard with due work that is free. Empty when there
    /// is none. (The shard stays leased until the lease expires or a drain releases it.)
    pub async fn claim_batch(&self) -> Result<Vec<OutboxDoc>, StoreError> {
        for shard in self.store().outbox_due_shards(self.now()).await? {
            if !self.take_shard(shard).await? {
                continue;
            }
            if let Some(batch) = self.next_batch(shard).await? {
                return Ok(batch.docs);
            }
            self.store()
                .release_dispatch_shard(shard, &self.owner)
                .await?;
        }
        Ok(Vec::new())
    }

    /// Claims and sends until nothing is due (or APNs refuses our credentials).
    pub async fn drain(&self) -> Result<DispatchReport, NotifyError> {
        let report = Mutex::new(DispatchReport::default());
        let mut done: HashSet<i32> = HashSet::new();
        loop {
            let shards: Vec<i32> = self
                .store()
                .outbox_due_shards(self.now())
                .await?
                .into_iter()
                .filter(|s| !done.contains(s))
                .collect();
            if shards.is_empty() || self.stopped() {
                break;
            }
            let work: Vec<_> = shards
                .iter()
                .map(|&shard| self.drain_shard(shard, &report))
                .collect();
            let results: Vec<Result<(), NotifyError>> = futures::stream::iter(work)
                .buffer_unordered(PARALLEL_SHARDS)
                .collect()
                .await;
            for r in results {
                r?;
            }
            // A shard is visited once per drain: what is still due in it was held by
            // another dispatcher, or came due while we were at it (next drain).
            done.extend(shards);
        }
        let mut report = report.into_inner().expect("report lock");
        report.stopped = self.stop.lock().expect("stop lock").clone();
        if let Some(stop) = &report.stopped {
            error!(
                reason = %stop.reason,
                status = stop.status.unwrap_or_default(),
                left_pending = report.released,
                "APNs refused our credentials: dispatch stopped, notifications stay pending. Fix: {}",
                stop.hint
            );
        }
        Ok(report)
    }

    /// Dispatches one shard batch by batch while it has due work and its lease holds.
    async fn drain_shard(
        &self,
        shard: i32,
        report: &Mutex<DispatchReport>,
    ) -> Result<(), NotifyError> {
        if !self.take_shard(shard).await? {
            return Ok(());
        }
        // One query per pass over the shard, its cursor read a batch at a time (see
        // `Store::outbox_due_pass`).
        let mut due = self
            .store()
            .outbox_due_pass(shard, self.now(), self.batch_size())
            .await?;
        while !self.stopped() {
            let docs = due.next_batch(self.batch_size() as usize).await?;
            let Some(batch) = self.mark_batch(shard, docs).await? else {
                break;
            };
            let n = batch.docs.len();
            let recorded = self.send_batch(batch.docs, report).await?;
            if recorded == 0 && n > 0 {
                // Nothing recorded (all taken over): leave the shard to its new holder.
                return Ok(());
            }
            if (n as i64) < self.batch_size() {
                // A short batch was all that was due: no query to learn it again.
                break;
            }
        }
        self.store()
            .release_dispatch_shard(shard, &self.owner)
            .await?;
        Ok(())
    }

    /// Sends a claimed batch (documents concurrently, pushes bounded by
    /// `push.concurrency`) and records every outcome in one write. Returns how many
    /// outcomes were recorded.
    pub async fn send_batch(
        &self,
        docs: Vec<OutboxDoc>,
        report: &Mutex<DispatchReport>,
    ) -> Result<usize, NotifyError> {
        report.lock().expect("report lock").claimed += docs.len() as u64;
        let decided: Vec<Decided> =
            futures::future::join_all(docs.into_iter().map(|doc| self.decide(doc, report)))
                .await
                .into_iter()
                .collect::<Result<_, _>>()?;
        self.record(&decided, report).await
    }

    /// Sends one claimed document and records its outcome (a batch of one).
    pub async fn process(
        &self,
        doc: OutboxDoc,
        report: &Mutex<DispatchReport>,
    ) -> Result<(), NotifyError> {
        self.send_batch(vec![doc], report).await.map(|_| ())
    }

    /// Records a batch's outcomes; counts each in the report once it is recorded.
    async fn record(
        &self,
        decided: &[Decided],
        report: &Mutex<DispatchReport>,
    ) -> Result<usize, NotifyError> {
        let dead = self.dead_in_flight.lock().expect("dead lock").clone();
        let outcomes: Vec<OutboxOutcome<'_>> = decided
            .iter()
            .map(|d| OutboxOutcome {
                doc: &d.doc,
                end: &d.end,
                claims: if dead.contains(&d.doc.key) { 2 } else { 1 },
                first_try: d.first_try,
            })
            .collect();
        let stamp = format!(
            "{}#{}",
            self.owner,
            self.writes.fetch_add(1, Ordering::Relaxed)
        );
        // The app's history of delivered pushes, written before the outcomes: a crash
        // in between resends, and the resend's upsert writes nothing new; the other
        // order could lose an entry for good.
        let delivered: Vec<(&OutboxDoc, DateTime<Utc>)> = decided
            .iter()
            .filter_map(|d| {
                d.doc
                    .devices
                    .iter()
                    .filter(|x| x.status == DeviceStatus::Sent)
                    .filter_map(|x| x.at)
                    .min()
                    .map(|at| (&d.doc, at))
            })
            .collect();
        if !delivered.is_empty() {
            self.store().record_history(&delivered, self.now()).await?;
        }
        let recorded = self
            .store()
            .end_outbox_claims(&outcomes, &stamp, self.now())
            .await?;
        let mut r = report.lock().expect("report lock");
        let mut n = 0;
        for (d, owned) in decided.iter().zip(recorded) {
            if d.tally == Tally::Released {
                r.released += 1;
            }
            if !owned {
                r.lease_lost += 1;
                warn!(key = %d.doc.key, "another dispatcher took this notification over (lease expired): outcome not recorded");
                continue;
            }
            n += 1;
            match d.tally {
                Tally::Finished(Status::Sent) => r.sent += 1,
                Tally::Finished(Status::NoDevice) => r.no_device += 1,
                Tally::Finished(_) => r.failed += 1,
                Tally::Expired => r.expired += 1,
                Tally::RetryLater => r.retry_later += 1,
                Tally::Released => {}
            }
        }
        Ok(n)
    }

    /// Sends one document to its devices and decides how it ends (nothing recorded yet
    /// but deactivated tokens).
    async fn decide(
        &self,
        mut doc: OutboxDoc,
        report: &Mutex<DispatchReport>,
    ) -> Result<Decided, NotifyError> {
        let now = self.now();
        if now >= doc.push_expiration {
            return Ok(self.expired(doc, now));
        }
        if self.stopped() {
            return Ok(self.released(doc));
        }
        let untried = doc.devices.iter().all(|d| {
            d.status == DeviceStatus::Pending
                && d.code.is_none()
                && d.reason.is_none()
                && d.apns_id.is_none()
        });
        let attempts_before: Vec<i32> = doc.devices.iter().map(|d| d.attempts).collect();
        let mut payload_fault: Option<String> = None;
        let mut last_transient: Option<String> = None;
        for i in 0..doc.devices.len() {
            match self.send_to_device(&mut doc, i, now, report).await? {
                DeviceEnd::Done => {}
                DeviceEnd::Transient(reason) => last_transient = Some(reason),
                DeviceEnd::PayloadFault(reason) => {
                    payload_fault = Some(reason);
                    break;
                }
                DeviceEnd::Stopped => return Ok(self.released(doc)),
            }
        }
        let mut decided = if let Some(reason) = payload_fault {
            self.finished(
                doc,
                Status::Failed,
                Some(format!("APNs rejected the notification: {reason}")),
                now,
            )
        } else if doc.devices.iter().any(|d| d.status == DeviceStatus::Retry) {
            let reason = last_transient.unwrap_or_default();
            if doc.attempts + 1 >= self.notifier.push.max_dispatch_attempts.max(1) as i32 {
                let reason = format!(
                    "gave up after {} dispatches with transient errors (last: {reason})",
                    doc.attempts + 1
                );
                self.finished(doc, Status::Failed, Some(reason), now)
            } else {
                self.retry_later(doc, &reason, now)
            }
        } else {
            let (status, reason) = final_status(&doc.devices);
            self.finished(doc, status, reason, now)
        };
        decided.first_try = untried
            && decided
                .doc
                .devices
                .iter()
                .zip(&attempts_before)
                .all(|(d, before)| d.attempts == before + 1);
        Ok(decided)
    }

    /// Pushes to device `i` (retrying transient failures up to `push.retry_attempts`,
    /// each push holding one of the `push.concurrency` permits) and records its result
    /// on the document.
    async fn send_to_device(
        &self,
        doc: &mut OutboxDoc,
        i: usize,
        now: DateTime<Utc>,
        report: &Mutex<DispatchReport>,
    ) -> Result<DeviceEnd, NotifyError> {
        if matches!(
            doc.devices[i].status,
            DeviceStatus::Sent
                | DeviceStatus::Deactivated
                | DeviceStatus::NoSender
                | DeviceStatus::Failed
        ) {
            return Ok(DeviceEnd::Done);
        }
        if doc.devices[i].platform != "ios" {
            let d = &mut doc.devices[i];
            d.status = DeviceStatus::NoSender;
            d.reason = Some(format!("no sender for platform {}", d.platform));
            d.at = Some(now);
            report.lock().expect("report lock").no_sender_devices += 1;
            return Ok(DeviceEnd::Done);
        }
        let request = request_for(
            doc,
            &doc.devices[i].token,
            self.notifier.push.topic.as_deref(),
        );
        let tries = self.notifier.push.retry_attempts.max(1);
        for attempt in 1..=tries {
            let answer = {
                let _permit = self.in_flight.acquire().await.expect("semaphore open");
                // Checked with the permit held: a provider fault is set before its
                // permit goes back, so no push follows it.
                if self.stopped() {
                    return Ok(DeviceEnd::Stopped);
                }
                let answer = DeviceAnswer::of(&self.pusher.push(&request).await);
                if answer.verdict == Verdict::ProviderFault {
                    self.stop
                        .lock()
                        .expect("stop lock")
                        .get_or_insert(answer.provider_fault());
                }
                answer
            };
            report.lock().expect("report lock").requests += 1;
            record_attempt(&answer);
            let at = self.now();
            let d = &mut doc.devices[i];
            d.attempts += 1;
            d.at = Some(at);
            d.code = answer.code;
            d.apns_id = answer.apns_id.clone();
            d.reason = answer.reason.clone();
            let reason_text = answer.reason_text();
            match answer.verdict {
                Verdict::Delivered => {
                    d.status = DeviceStatus::Sent;
                    report.lock().expect("report lock").delivered += 1;
                    return Ok(DeviceEnd::Done);
                }
                Verdict::DeactivateToken => {
                    d.status = DeviceStatus::Deactivated;
                    let token = d.token.clone();
                    self.deactivate(&doc.user_id, &token, &reason_text, at, report)
                        .await?;
                    return Ok(DeviceEnd::Done);
                }
                Verdict::Retry if attempt < tries => {
                    tokio::time::sleep(self.notifier.push.backoff(attempt)).await;
                }
                Verdict::Retry => {
                    d.status = DeviceStatus::Retry;
                    return Ok(DeviceEnd::Transient(reason_text));
                }
                Verdict::ProviderFault => {
                    // Dispatch stopped (above). The device is untouched: it will be
                    // tried again once fixed.
                    d.status = DeviceStatus::Pending;
                    d.code = None;
                    d.apns_id = None;
                    d.reason = None;
                    d.attempts -= 1;
                    return Ok(DeviceEnd::Stopped);
                }
                Verdict::PayloadFault => {
                    d.status = DeviceStatus::Failed;
                    return Ok(DeviceEnd::PayloadFault(reason_text));
                }
                Verdict::DeviceFailed => {
                    d.status = DeviceStatus::Failed;
                    return Ok(DeviceEnd::Done);
                }
            }
        }
        Ok(DeviceEnd::Done)
    }

    /// Marks a token APNs called dead inactive; logged and counted together.
    async fn deactivate(
        &self,
        user_id: &str,
        token: &str,
        reason: &str,
        at: DateTime<Utc>,
        report: &Mutex<DispatchReport>,
    ) -> Result<(), StoreError> {
        if self
            .store()
            .deactivate_token(user_id, token, reason, at)
            .await?
        {
            info!(user_id = %user_id, reason = %reason, "device token deactivated");
            metrics::record_token_deactivated(reason);
            report.lock().expect("report lock").deactivated_tokens += 1;
        }
        Ok(())
    }

    /// Past its `apns-expiration`: not sent. Devices reached by an earlier dispatch
    /// keep the document `sent`.
    fn expired(&self, doc: OutboxDoc, now: DateTime<Utc>) -> Decided {
        let reason = match doc.session_start {
            Some(start) if doc.kind == Kind::Reminder => format!(
                "expired before it could be sent: the session started at {}",
                start.to_rfc3339()
            ),
            _ => format!(
                "expired before it could be sent (apns-expiration {})",
                doc.push_expiration.to_rfc3339()
            ),
        };
        let partly_sent = doc.devices.iter().any(|d| d.status == DeviceStatus::Sent);
        let status = if partly_sent {
            Status::Sent
        } else {
            Status::Suppressed
        };
        let mut decided = self.finished(doc, status, Some(reason), now);
        if !partly_sent {
            decided.tally = Tally::Expired;
        }
        decided
    }

    /// A final status.
    fn finished(
        &self,
        doc: OutboxDoc,
        status: Status,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Decided {
        let expire_at = status
            .expires()
            .then(|| now + self.notifier.notify.outbox_ttl());
        Decided {
            doc,
            end: OutboxEnd::Final {
                status,
                reason,
                expire_at,
            },
            tally: Tally::Finished(status),
            first_try: false,
        }
    }

    /// Back to `pending` after transient failures; due again after a back-off.
    fn retry_later(&self, doc: OutboxDoc, reason: &str, now: DateTime<Utc>) -> Decided {
        let attempts = doc.attempts + 1;
        let wait = chrono::Duration::from_std(self.notifier.push.backoff(attempts as u32 + 1))
            .unwrap_or(chrono::Duration::seconds(60));
        Decided {
            doc,
            end: OutboxEnd::RetryLater {
                reason: format!("retrying after transient errors (last: {reason})"),
                next_attempt_at: now + wait,
            },
            tally: Tally::RetryLater,
            first_try: false,
        }
    }

    /// Back to `pending` untouched (dispatch stopped); due at once when restarted.
    fn released(&self, doc: OutboxDoc) -> Decided {
        Decided {
            doc,
            end: OutboxEnd::Released,
            tally: Tally::Released,
            first_try: false,
        }
    }
}

/// The status of a document none of whose devices is still to be tried.
fn final_status(devices: &[DeviceResult]) -> (Status, Option<String>) {
    if devices.iter().any(|d| d.status == DeviceStatus::Sent) {
        return (Status::Sent, None);
    }
    if devices.is_empty() {
        return (
            Status::NoDevice,
            Some("the user has no active device token".into()),
        );
    }
    let failed: Vec<&DeviceResult> = devices
        .iter()
        .filter(|d| d.status == DeviceStatus::Failed)
        .collect();
    if let Some(first) = failed.first() {
        return (
            Status::Failed,
            Some(format!(
                "every device failed (first: {})",
                first.reason.as_deref().unwrap_or("unknown")
            )),
        );
    }
    let deactivated = devices
        .iter()
        .filter(|d| d.status == DeviceStatus::Deactivated)
        .count();
    let no_sender: Vec<&str> = devices
        .iter()
        .filter(|d| d.status == DeviceStatus::NoSender)
        .map(|d| d.platform.as_str())
        .collect();
    let mut parts = Vec::new();
    if deactivated > 0 {
        parts.push(format!(
            "{deactivated} token(s) rejected by APNs and deactivated"
        ));
    }
    if !no_sender.is_empty() {
        parts.push(format!(
            "{} device(s) with no sender for platform {}",
            no_sender.len(),
            no_sender.join(", ")
        ));
    }
    (
        Status::NoDevice,
        Some(format!("no deliverable device: {}", parts.join("; "))),
    )
}

impl Notifier {
    /// Drains the outbox once through `pusher`.
    pub async fn dispatch(&self, pusher: &dyn Pusher) -> Result<DispatchReport, NotifyError> {
        let report = Dispatcher::new(self, pusher).drain().await?;
        // The daemon drains every few seconds: a round that found nothing is not news.
        if report.claimed == 0 && report.stopped.is_none() {
            debug!("dispatch: nothing due");
        } else {
            info!(
                claimed = report.claimed,
                sent = report.sent,
                no_device = report.no_device,
                failed = report.failed,
                expired = report.expired,
                retry_later = report.retry_later,
                delivered = report.delivered,
                "{}",
                report.summary_line()
            );
        }
        Ok(report)
    }
}
