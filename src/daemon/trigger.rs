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

use super::lease::{Acquire, OwnerId};
use super::metrics;
use super::runner::Runner;
use crate::pipeline::RunOptions;
use crate::report::{Outcome, RunReport};
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use mongodb::options::ReturnDocument;
use serde::Serialize;
use std::collections::BTreeSet;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub const REQUESTS: &str = "ingest_requests";
/// Tries per request before an interrupted one is given up as failed.
pub const MAX_ATTEMPTS: i32 = 3;

/// One request as stored.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub id: String,
    pub studio_id: String,
    pub force: bool,
    pub status: String,
    pub requested_at: Option<DateTime<Utc>>,
    pub requested_by: String,
    pub claimed_by: Option<String>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Option<String>,
    pub run_id: Option<String>,
    pub summary: Option<String>,
    pub errors: Vec<String>,
    pub attempts: i32,
}

impl Request {
    fn from_doc(d: &Document) -> Request {
        let s = |k: &str| d.get_str(k).ok().map(str::to_string);
        Request {
            id: d
                .get_object_id("_id")
                .map(|o| o.to_hex())
                .unwrap_or_default(),
            studio_id: s("studio_id").unwrap_or_default(),
            force: d.get_bool("force").unwrap_or(false),
            status: s("status").unwrap_or_default(),
            requested_at: d.get_datetime("requested_at").ok().map(|t| t.to_chrono()),
            requested_by: s("requested_by").unwrap_or_default(),
            claimed_by: s("claimed_by"),
            finished_at: d.get_datetime("finished_at").ok().map(|t| t.to_chrono()),
            outcome: s("outcome"),
            run_id: s("run_id"),
            summary: s("summary"),
            errors: d
                .get_array("errors")
                .map(|a| {
                    a.iter()
                        .filter_map(|e| e.as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default(),
            attempts: d.get_i32("attempts").unwrap_or(0),
        }
    }

    /// `done`, `failed` and `expired` are final.
    pub fn is_final(&self) -> bool {
        matches!(self.status.as_str(), "done" | "failed" | "expired")
    }

    pub fn succeeded(&self) -> bool {
        self.status == "done" && self.outcome.as_deref() == Some(Outcome::Success.as_str())
    }
}

/// The requests collection.
#[derive(Clone)]
pub struct Requests {
    store: Store,
    owner: OwnerId,
}

impl Requests {
    pub fn new(store: Store, owner: OwnerId) -> Requests {
        Requests { store, owner }
    }

    fn collection(&self) -> mongodb::Collection<Document> {
        self.store.discovery.collection(REQUESTS)
    }

    /// Records a pending request; returns its id.
    pub async fn insert(&self, studio: &str, force: bool) -> Result<ObjectId, StoreError> {
        let id = ObjectId::new();
        self.collection()
            .insert_one(doc! {
                "_id": id,
                "studio_id": studio,
                "force": force,
                "status": "pending",
                "requested_at": Utc::now(),
                "requested_by": self.owner.as_str(),
                "attempts": 0,
            })
            .await
            .map_err(StoreError::op("insert", REQUESTS))?;
        Ok(id)
    }

    pub async fn get(&self, id: ObjectId) -> Result<Option<Request>, StoreError> {
        Ok(self
            .collection()
            .find_one(doc! { "_id": id })
            .await
            .map_err(StoreError::op("find", REQUESTS))?
            .as_ref()
            .map(Request::from_doc))
    }

    /// Requests not final yet (pending or running), oldest first.
    pub async fn open(&self) -> Result<Vec<Request>, StoreError> {
        let docs: Vec<Document> = self
            .collection()
            .find(doc! { "status": { "$in": ["pending", "running"] } })
            .sort(doc! { "requested_at": 1 })
            .limit(500)
            .await
            .map_err(StoreError::op("find", REQUESTS))?
            .try_collect()
            .await
            .map_err(StoreError::op("find", REQUESTS))?;
        Ok(docs.iter().map(Request::from_doc).collect())
    }

    /// Studios with pending requests, oldest request first.
    async fn pending_studios(&self) -> Result<Vec<String>, StoreError> {
        let docs: Vec<Document> = self
            .collection()
            .find(doc! { "status": "pending" })
            .projection(doc! { "studio_id": 1 })
            .sort(doc! { "requested_at": 1 })
            .limit(500)
            .await
            .map_err(StoreError::op("find", REQUESTS))?
            .try_collect()
            .await
            .map_err(StoreError::op("find", REQUESTS))?;
        let mut seen = BTreeSet::new();
        Ok(docs
            .iter()
            .filter_map(|d| d.get_str("studio_id").ok())
            .filter(|s| seen.insert(s.to_string()))
            .map(str::to_string)
            .collect())
    }

    /// Pending requests older than `max_age` become `expired`.
    async fn expire(&self, max_age: Duration) -> Result<u64, StoreError> {
        let cutoff = Utc::now() - chrono::Duration::from_std(max_age).unwrap_or_default();
        let r = self
            .collection()
            .update_many(
                doc! { "status": "pending", "requested_at": { "$lt": cutoff } },
                doc! { "$set": { "status": "expired", "finished_at": Utc::now() } },
            )
            .await
            .map_err(StoreError::op("update", REQUESTS))?;
        for _ in 0..r.modified_count {
            metrics::record_trigger("expired");
        }
        Ok(r.modified_count)
    }

    /// With the studio's lease held: requests still `running` for it belong to a run
    /// that died; they go back to `pending` (or `failed` after too many tries).
    async fn requeue_orphans(&self, studio: &str) -> Result<(), StoreError> {
        self.requeue(doc! { "studio_id": studio, "status": "running" })
            .await
    }

    async fn requeue(&self, filter: Document) -> Result<(), StoreError> {
        let mut exhausted = filter.clone();
        exhausted.insert("attempts", doc! { "$gte": MAX_ATTEMPTS });
        self.collection()
            .update_many(
                exhausted,
                doc! { "$set": { "status": "failed", "outcome": Outcome::Interrupted.as_str(),
                "finished_at": Utc::now() } },
            )
            .await
            .map_err(StoreError::op("update", REQUESTS))?;
        let r = self
            .collection()
            .update_many(
                filter,
                doc! { "$set": { "status": "pending" },
                "$unset": { "claimed_by": "", "claimed_at": "" } },
            )
            .await
            .map_err(StoreError::op("update", REQUESTS))?;
        for _ in 0..r.modified_count {
            metrics::record_trigger("requeued");
        }
        Ok(())
    }

    /// Claims every pending request of `studio`, one atomic update each.
    async fn claim_all(&self, studio: &str) -> Result<Vec<Request>, StoreError> {
        let mut claimed = Vec::new();
        loop {
            let next = self
                .collection()
                .find_one_and_update(
                    doc! { "studio_id": studio, "status": "pending" },
                    doc! { "$set": { "status": "running", "claimed_by": self.owner.as_str(),
                              "claimed_at": Utc::now() },
                    "$inc": { "attempts": 1 } },
                )
                .sort(doc! { "requested_at": 1 })
                .return_document(ReturnDocument::After)
                .await
                .map_err(StoreError::op("findOneAndUpdate", REQUESTS))?;
            match next {
                Some(d) => {
                    metrics::record_trigger("claimed");
                    claimed.push(Request::from_doc(&d));
                }
                None => return Ok(claimed),
            }
        }
    }

    /// Writes a run's outcome on the requests it served.
    pub async fn finish(&self, ids: &[ObjectId], report: &RunReport) -> Result<(), StoreError> {
        let ids: Vec<Bson> = ids.iter().map(|i| Bson::ObjectId(*i)).collect();
        if report.outcome == Outcome::Interrupted {
            return self
                .requeue(doc! { "_id": { "$in": ids }, "status": "running" })
                .await;
        }
        let status = if report.outcome == Outcome::Success {
            "done"
        } else {
            "failed"
        };
        let counts = mongodb::bson::to_document(&serde_json::json!({
            "pages": report.pages,
            "workshops": report.workshops,
        }))
        .unwrap_or_default();
        // Counted first, so the metric is there by the time a waiting `trigger` sees
        // the outcome.
        for _ in 0..ids.len() {
            metrics::record_trigger(if status == "done" { "done" } else { "failed" });
        }
        self.collection()
            .update_many(
                doc! { "_id": { "$in": ids } },
                doc! { "$set": {
                    "status": status,
                    "outcome": report.outcome.as_str(),
                    "run_id": &report.run_id,
                    "summary": report.summary_line(),
                    "counts": counts,
                    "errors": &report.errors,
                    "finished_at": Utc::now(),
                } },
            )
            .await
            .map_err(StoreError::op("update", REQUESTS))?;
        Ok(())
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
    for studio in requests.pending_studios().await? {
        // A studio this daemon has no source for is left to the daemons that have one.
        let Some(source) = runner.sources().get(&studio) else {
            continue;
        };
        // Running here already: the request waits for that run to end.
        let Ok(reservation) = runner.reserve(&studio, "trigger") else {
            continue;
        };
        let lease = match runner.leases().try_acquire(&studio, "trigger").await? {
            Acquire::Acquired(lease) => lease,
            Acquire::Busy(_) => continue,
        };
        let claimed = match claim(requests, &studio).await {
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
        let ids = claimed
            .iter()
            .filter_map(|r| ObjectId::parse_str(&r.id).ok())
            .collect();
        let options = RunOptions {
            force,
            trigger: "trigger".into(),
            ..RunOptions::default()
        };
        runner.spawn_run(reservation, lease, source, options, ids);
    }
    Ok(())
}

/// With the studio's lease held: orphaned requests back to pending, then claim them all.
async fn claim(requests: &Requests, studio: &str) -> Result<Vec<Request>, StoreError> {
    requests.requeue_orphans(studio).await?;
    requests.claim_all(studio).await
}
