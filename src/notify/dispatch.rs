//! Dispatch: drain the outbox through a [`Pusher`].
//!
//! Up to `push.concurrency` workers each loop: claim one document with
//! `find_one_and_update` (`pending` and due, or `sending` with an expired lease → set
//! `status: sending`, `owner`, `lease_until`; see [`Dispatcher::claim`]), push to each
//! of its devices, record the
//! outcome with an update that only matches while this dispatcher still owns it. A
//! document whose dispatcher died mid-way is claimed again when its lease expires and
//! sent again with the same `apns-collapse-id`, so the device shows it once.
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

use super::outbox::{DeviceResult, DeviceStatus, OutboxDoc, Status};
use super::outcome::{DeviceAnswer, ProviderFault, Verdict};
use super::payload::request_for;
use super::sender::Pusher;
use super::{Notifier, NotifyError};
use crate::metrics;
use crate::process::OwnerId;
use crate::store::outbox::{Claimable, OutboxEnd};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::VecDeque;
use std::sync::Mutex;
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
    /// Completions that found another dispatcher owned the document (our lease expired).
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
    /// Dispatch stopped (provider fault); the document was released.
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

/// Counts a document's end in the drain's report.
fn tally(report: &Mutex<DispatchReport>, end: Option<End>, key: &str) {
    let mut r = report.lock().expect("report lock");
    match end {
        None => {
            r.lease_lost += 1;
            warn!(key = %key, "another dispatcher took this notification over (lease expired): outcome not recorded");
        }
        Some(End::Finished(Status::Sent)) => r.sent += 1,
        Some(End::Finished(Status::NoDevice)) => r.no_device += 1,
        Some(End::Finished(_)) => r.failed += 1,
        Some(End::RetryLater) => r.retry_later += 1,
    }
}

/// How one document's dispatch ended.
enum End {
    Finished(Status),
    RetryLater,
}

/// Ids listed per query when looking for work.
const CANDIDATE_BATCH: i64 = 1000;

#[derive(Default)]
struct Candidates {
    ids: VecDeque<(String, Claimable)>,
    /// A listing found nothing: this drain is done.
    exhausted: bool,
}

/// Drains the outbox once.
pub struct Dispatcher<'a> {
    notifier: &'a Notifier,
    pusher: &'a dyn Pusher,
    owner: String,
    stop: Mutex<Option<ProviderFault>>,
    candidates: tokio::sync::Mutex<Candidates>,
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
            candidates: tokio::sync::Mutex::new(Candidates::default()),
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

    /// Claims one document: a due `pending` one, or a `sending` one whose lease expired.
    ///
    /// Candidates are listed by id in batches (one range query per batch), then each is
    /// claimed with `find_one_and_update` on its `_id` *and* the claimable condition, so
    /// two dispatchers never both win one document. (One range query per claim costs
    /// time proportional to the backlog on SecantusDB; an `_id` lookup does not.)
    pub async fn claim(&self) -> Result<Option<OutboxDoc>, StoreError> {
        loop {
            let Some((id, which)) = self.next_candidate().await? else {
                return Ok(None);
            };
            let now = self.now();
            let found = self
                .store()
                .claim_outbox(&id, which, &self.owner, self.lease_until(now), now)
                .await?;
            if found.is_some() {
                return Ok(found);
            }
            // Taken by another dispatcher since it was listed: try the next one.
        }
    }

    async fn next_candidate(&self) -> Result<Option<(String, Claimable)>, StoreError> {
        let mut queue = self.candidates.lock().await;
        if queue.ids.is_empty() && !queue.exhausted {
            let now = self.now();
            for which in [Claimable::Due, Claimable::LeaseExpired] {
                let ids = self
                    .store()
                    .outbox_candidates(which, now, CANDIDATE_BATCH)
                    .await?;
                queue.ids.extend(ids.into_iter().map(|id| (id, which)));
                if !queue.ids.is_empty() {
                    break;
                }
            }
            queue.exhausted = queue.ids.is_empty();
        }
        Ok(queue.ids.pop_front())
    }

    /// Claims and sends until nothing is due (or APNs refuses our credentials).
    pub async fn drain(&self) -> Result<DispatchReport, NotifyError> {
        let report = Mutex::new(DispatchReport::default());
        let workers = self.notifier.push.concurrency.max(1);
        let results = futures::future::join_all((0..workers).map(|_| self.worker(&report))).await;
        let mut report = report.into_inner().expect("report lock");
        report.stopped = self.stop.lock().expect("stop lock").clone();
        for r in results {
            r?;
        }
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

    async fn worker(&self, report: &Mutex<DispatchReport>) -> Result<(), NotifyError> {
        while !self.stopped() {
            let Some(doc) = self.claim().await? else {
                return Ok(());
            };
            report.lock().expect("report lock").claimed += 1;
            self.process(doc, report).await?;
        }
        Ok(())
    }

    /// Sends one claimed document and records the outcome: expired ones are closed
    /// unsent; otherwise each device is tried in turn, then the document's end is
    /// written (while we still own it) and tallied.
    pub async fn process(
        &self,
        mut doc: OutboxDoc,
        report: &Mutex<DispatchReport>,
    ) -> Result<(), NotifyError> {
        let now = self.now();
        if now >= doc.push_expiration {
            return self.close_expired(&doc, now, report).await;
        }
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
                DeviceEnd::Stopped => return Ok(()),
            }
        }
        let end = self
            .record_end(&doc, payload_fault, last_transient, now)
            .await?;
        tally(report, end, &doc.key);
        Ok(())
    }

    /// A document whose `apns-expiration` passed before it could be sent: `sent` when an
    /// earlier dispatch reached a device, else `suppressed`.
    async fn close_expired(
        &self,
        doc: &OutboxDoc,
        now: DateTime<Utc>,
        report: &Mutex<DispatchReport>,
    ) -> Result<(), NotifyError> {
        let reason = match doc.session_start {
            Some(start) if doc.kind == super::outbox::Kind::Reminder => format!(
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
        let owned = self.finish(doc, status, Some(reason), now).await?;
        let mut r = report.lock().expect("report lock");
        match (owned, partly_sent) {
            (false, _) => r.lease_lost += 1,
            (true, true) => r.sent += 1,
            (true, false) => r.expired += 1,
        }
        Ok(())
    }

    /// Pushes to device `i` (retrying transient failures up to `push.retry_attempts`)
    /// and records its result on the document.
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
            if self.stopped() {
                self.release(doc, now).await?;
                report.lock().expect("report lock").released += 1;
                return Ok(DeviceEnd::Stopped);
            }
            let answer = DeviceAnswer::of(&self.pusher.push(&request).await);
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
                    // The device is untouched: it will be tried again once fixed.
                    d.status = DeviceStatus::Pending;
                    d.code = None;
                    d.apns_id = None;
                    d.reason = None;
                    d.attempts -= 1;
                    self.stop
                        .lock()
                        .expect("stop lock")
                        .get_or_insert(answer.provider_fault());
                    self.release(doc, now).await?;
                    report.lock().expect("report lock").released += 1;
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

    /// Writes how the document ends: failed (payload refused, or transient failures
    /// past `push.max_dispatch_attempts`), back to pending for a later dispatch, or its
    /// final status from the devices. `None` when another dispatcher owns it now.
    async fn record_end(
        &self,
        doc: &OutboxDoc,
        payload_fault: Option<String>,
        last_transient: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<Option<End>, StoreError> {
        if let Some(reason) = payload_fault {
            let reason = format!("APNs rejected the notification: {reason}");
            let owned = self.finish(doc, Status::Failed, Some(reason), now).await?;
            return Ok(owned.then_some(End::Finished(Status::Failed)));
        }
        if doc.devices.iter().any(|d| d.status == DeviceStatus::Retry) {
            let reason = last_transient.unwrap_or_default();
            if doc.attempts + 1 >= self.notifier.push.max_dispatch_attempts.max(1) as i32 {
                let reason = format!(
                    "gave up after {} dispatches with transient errors (last: {reason})",
                    doc.attempts + 1
                );
                let owned = self.finish(doc, Status::Failed, Some(reason), now).await?;
                return Ok(owned.then_some(End::Finished(Status::Failed)));
            }
            let owned = self.retry_later(doc, &reason, now).await?;
            return Ok(owned.then_some(End::RetryLater));
        }
        let (status, reason) = final_status(&doc.devices);
        let owned = self.finish(doc, status, reason, now).await?;
        Ok(owned.then_some(End::Finished(status)))
    }

    /// Records a final status. False when another dispatcher owns the document now.
    async fn finish(
        &self,
        doc: &OutboxDoc,
        status: Status,
        reason: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let expire_at = status
            .expires()
            .then(|| now + self.notifier.notify.outbox_ttl());
        let end = OutboxEnd::Final {
            status,
            reason,
            expire_at,
        };
        self.store()
            .end_outbox_claim(doc, &self.owner, &end, now)
            .await
    }

    /// Back to `pending` after transient failures; due again after a back-off.
    async fn retry_later(
        &self,
        doc: &OutboxDoc,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let attempts = doc.attempts + 1;
        let wait = chrono::Duration::from_std(self.notifier.push.backoff(attempts as u32 + 1))
            .unwrap_or(chrono::Duration::seconds(60));
        let end = OutboxEnd::RetryLater {
            reason: format!("retrying after transient errors (last: {reason})"),
            next_attempt_at: now + wait,
        };
        self.store()
            .end_outbox_claim(doc, &self.owner, &end, now)
            .await
    }

    /// Back to `pending` untouched (dispatch stopped); due at once when restarted.
    async fn release(&self, doc: &OutboxDoc, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.store()
            .end_outbox_claim(doc, &self.owner, &OutboxEnd::Released, now)
            .await
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
