//! Live re-ingest requests in `discovery.ingest_requests`.
//!
//! `nachna-ingest trigger` inserts one `pending` request per studio. Every daemon polls
//! (`daemon.trigger_poll_ms`, default 2 s); for a studio it knows and is not running, it
//! takes the studio's lease, then claims the studio's pending requests one by one with
//! an atomic `findOneAndUpdate` (so each request is claimed by exactly one daemon, and
//! several requests for one studio share one run), runs the studio, and writes the
//! outcome and the run summary on every claimed request.
//!
//! Request lifecycle: `pending` → `running` → `done` (run succeeded) | `failed` (run
//! failed or was partial); `pending` → `expired` after `daemon.trigger_expiry_secs`.
//! A run interrupted by a shutdown, a lost lease or a crash puts its requests back to
//! `pending` (at most [`MAX_ATTEMPTS`] tries, then `failed` with outcome `interrupted`).

use super::runner::{Reservation, Runner};
use crate::metrics;
use crate::pipeline::{RunOptions, RunTrigger};
use crate::process::OwnerId;
use crate::report::{Outcome, RunReport};
use crate::runs::lease::{Acquire, Lease};
use crate::source::Source;
use crate::store::{Store, StoreError};
use chrono::Utc;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

pub use crate::store::requests::{Request, RequestStatus};

/// Tries per request before an interrupted one is given up as failed.
pub const MAX_ATTEMPTS: i32 = 3;

/// The requests collection, as one daemon claims and finishes requests (with metrics).
#[derive(Clone)]
pub struct Requests {
    store: Store,
    owner: OwnerId,
}

impl Requests {
    pub fn new(store: Store, owner: OwnerId) -> Requests {
        Requests { store, owner }
    }

    /// Records a pending request; returns its id.
    pub async fn insert(&self, studio: &str, force: bool) -> Result<String, StoreError> {
        self.store
            .insert_request(studio, force, self.owner.as_str(), Utc::now())
            .await
    }

    pub async fn get(&self, id: &str) -> Result<Option<Request>, StoreError> {
        self.store.request(id).await
    }

    /// Requests not final yet (pending or running), oldest first.
    pub async fn open(&self) -> Result<Vec<Request>, StoreError> {
        self.store.open_requests().await
    }

    /// Pending requests older than `max_age` become `expired`.
    async fn expire(&self, max_age: Duration) -> Result<u64, StoreError> {
        let now = Utc::now();
        let cutoff = now - chrono::Duration::from_std(max_age).unwrap_or_default();
        let n = self.store.expire_requests(cutoff, now).await?;
        record_triggers("expired", n);
        Ok(n)
    }

    /// With the studio's lease held: orphaned requests back to pending (they belong to
    /// a run that died), then claim every pending request, one atomic update each.
    async fn claim(&self, studio: &str) -> Result<Vec<Request>, StoreError> {
        let requeued = self
            .store
            .requeue_orphan_requests(studio, MAX_ATTEMPTS, Utc::now())
            .await?;
        record_triggers("requeued", requeued);
        let mut claimed = Vec::new();
        while let Some(r) = self
            .store
            .claim_request(studio, self.owner.as_str(), Utc::now())
            .await?
        {
            record_triggers("claimed", 1);
            claimed.push(r);
        }
        Ok(claimed)
    }

    /// Writes a run's outcome on the requests it served.
    pub async fn finish(&self, ids: &[String], report: &RunReport) -> Result<(), StoreError> {
        if report.outcome == Outcome::Interrupted {
            let requeued = self
                .store
                .requeue_requests(ids, MAX_ATTEMPTS, Utc::now())
                .await?;
            record_triggers("requeued", requeued);
            return Ok(());
        }
        let status = if report.outcome == Outcome::Success {
            RequestStatus::Done
        } else {
            RequestStatus::Failed
        };
        // Counted first, so the metric is there by the time a waiting `trigger` sees
        // the outcome.
        record_triggers(status.as_str(), ids.len() as u64);
        self.store
            .finish_requests(ids, status, report, Utc::now())
            .await
    }
}

fn record_triggers(outcome: &'static str, n: u64) {
    for _ in 0..n {
        metrics::record_trigger(outcome);
    }
}

/// The trigger watcher: polls until `stopping` fires.
pub async fn watch(
    runner: Runner,
    requests: Requests,
    poll: Duration,
    expiry: Duration,
    stopping: CancellationToken,
) {
    info!(poll_ms = poll.as_millis() as u64, "trigger watcher started");
    loop {
        if let Err(err) = poll_once(&runner, &requests, expiry).await {
            warn!(error = %err, "trigger poll failed; retrying");
        }
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = stopping.cancelled() => break,
        }
    }
    info!("trigger watcher stopped");
}

async fn poll_once(
    runner: &Runner,
    requests: &Requests,
    expiry: Duration,
) -> Result<(), StoreError> {
    requests.expire(expiry).await?;
    for studio in requests.store.pending_request_studios().await? {
        // A studio this daemon has no source for is left to the daemons that have one.
        let Some(source) = runner.sources().get(&studio) else {
            continue;
        };
        // Running here already: the request waits for that run to end.
        let Ok(reservation) = runner.reserve(&studio, RunTrigger::Trigger) else {
            continue;
        };
        let lease = match runner
            .leases()
            .try_acquire(&studio, RunTrigger::Trigger.as_str())
            .await?
        {
            Acquire::Acquired(lease) => lease,
            Acquire::Busy(_) => continue,
        };
        let claimed = match requests.claim(&studio).await {
            Ok(c) => c,
            Err(err) => {
                lease.release().await;
                return Err(err);
            }
        };
        if claimed.is_empty() {
            lease.release().await;
            continue;
        }
        let force = claimed.iter().any(|r| r.force);
        info!(
            studio,
            requests = claimed.len(),
            force,
            "trigger request(s) claimed: running now"
        );
        let ids = claimed.into_iter().map(|r| r.id).collect();
        let options = RunOptions {
            force,
            trigger: RunTrigger::Trigger,
            ..RunOptions::default()
        };
        spawn_run(runner, requests, reservation, lease, source, options, ids);
    }
    Ok(())
}

/// Runs the studio in the background, then writes the outcome on the requests it
/// served; the studio stays reserved until that is written.
fn spawn_run(
    runner: &Runner,
    requests: &Requests,
    reservation: Reservation,
    lease: Lease,
    source: Arc<Source>,
    options: RunOptions,
    ids: Vec<String>,
) {
    let runner = runner.clone();
    let requests = requests.clone();
    tokio::spawn(async move {
        let report = runner.run_reserved(lease, &source, &options).await;
        if let Err(err) = requests.finish(&ids, &report).await {
            error!(studio = %source.studio.id, error = %err, "could not record the outcome on the trigger request(s)");
        }
        drop(reservation);
    });
}
