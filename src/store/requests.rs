//! `ingest_requests`: live re-ingest requests (`nachna-ingest trigger` writes them, the
//! daemons' trigger watchers claim and finish them; the lifecycle is described in
//! `daemon::trigger`).

use super::runs::run_counts;
use super::schema::REQUESTS;
use super::{read_strings, read_time, Store, StoreError};
use crate::report::{Outcome, RunReport};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use mongodb::options::ReturnDocument;
use serde::Serialize;
use std::collections::BTreeSet;

/// Where a request is: `pending` → `running` → `done` | `failed`; `pending` → `expired`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RequestStatus {
    Pending,
    Running,
    Done,
    Failed,
    Expired,
    /// A status this version does not know (written by a newer one): not final.
    Unknown,
}

impl RequestStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RequestStatus::Pending => "pending",
            RequestStatus::Running => "running",
            RequestStatus::Done => "done",
            RequestStatus::Failed => "failed",
            RequestStatus::Expired => "expired",
            RequestStatus::Unknown => "unknown",
        }
    }

    fn parse(s: &str) -> RequestStatus {
        match s {
            "pending" => RequestStatus::Pending,
            "running" => RequestStatus::Running,
            "done" => RequestStatus::Done,
            "failed" => RequestStatus::Failed,
            "expired" => RequestStatus::Expired,
            _ => RequestStatus::Unknown,
        }
    }

    /// `done`, `failed` and `expired` are final.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RequestStatus::Done | RequestStatus::Failed | RequestStatus::Expired
        )
    }
}

impl std::fmt::Display for RequestStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request as stored. `id` is the hex of its ObjectId.
#[derive(Debug, Clone, Serialize)]
pub struct Request {
    pub id: String,
    pub studio_id: String,
    pub force: bool,
    pub status: RequestStatus,
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
            status: RequestStatus::parse(d.get_str("status").unwrap_or_default()),
            requested_at: read_time(d, "requested_at"),
            requested_by: s("requested_by").unwrap_or_default(),
            claimed_by: s("claimed_by"),
            finished_at: read_time(d, "finished_at"),
            outcome: s("outcome"),
            run_id: s("run_id"),
            summary: s("summary"),
            errors: read_strings(d, "errors"),
            attempts: d.get_i32("attempts").unwrap_or(0),
        }
    }

    pub fn is_final(&self) -> bool {
        self.status.is_final()
    }

    pub fn succeeded(&self) -> bool {
        self.status == RequestStatus::Done
            && self.outcome.as_deref() == Some(Outcome::Success.as_str())
    }
}

fn object_ids(ids: &[String]) -> Vec<Bson> {
    ids.iter()
        .filter_map(|i| ObjectId::parse_str(i).ok())
        .map(Bson::ObjectId)
        .collect()
}

impl Store {
    fn requests(&self) -> mongodb::Collection<Document> {
        self.discovery.collection(REQUESTS)
    }

    /// Records a pending request; returns its id.
    pub async fn insert_request(
        &self,
        studio: &str,
        force: bool,
        requested_by: &str,
        now: DateTime<Utc>,
    ) -> Result<String, StoreError> {
        let id = ObjectId::new();
        self.requests()
            .insert_one(doc! {
                "_id": id,
                "studio_id": studio,
                "force": force,
                "status": "pending",
                "requested_at": now,
                "requested_by": requested_by,
                "attempts": 0,
            })
            .await
            .map_err(StoreError::op("insert", REQUESTS))?;
        Ok(id.to_hex())
    }

    pub async fn request(&self, id: &str) -> Result<Option<Request>, StoreError> {
        let Ok(oid) = ObjectId::parse_str(id) else {
            return Ok(None);
        };
        Ok(self
            .requests()
            .find_one(doc! { "_id": oid })
            .await
            .map_err(StoreError::op("find", REQUESTS))?
            .as_ref()
            .map(Request::from_doc))
    }

    /// Requests not final yet (pending or running), oldest first.
    pub async fn open_requests(&self) -> Result<Vec<Request>, StoreError> {
        let docs: Vec<Document> = self
            .requests()
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
    pub async fn pending_request_studios(&self) -> Result<Vec<String>, StoreError> {
        let docs: Vec<Document> = self
            .requests()
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

    /// Pending requests made before `cutoff` become `expired`; returns how many.
    pub async fn expire_requests(
        &self,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let r = self
            .requests()
            .update_many(
                doc! { "status": "pending", "requested_at": { "$lt": cutoff } },
                doc! { "$set": { "status": "expired", "finished_at": now } },
            )
            .await
            .map_err(StoreError::op("update", REQUESTS))?;
        Ok(r.modified_count)
    }

    /// Requests still `running` for `studio` (their run died) go back to `pending`, or
    /// to `failed` once tried `max_attempts` times. Returns how many were requeued.
    pub async fn requeue_orphan_requests(
        &self,
        studio: &str,
        max_attempts: i32,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.requeue(
            doc! { "studio_id": studio, "status": "running" },
            max_attempts,
            now,
        )
        .await
    }

    /// As [`Store::requeue_orphan_requests`], for the given requests of an interrupted run.
    pub async fn requeue_requests(
        &self,
        ids: &[String],
        max_attempts: i32,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.requeue(
            doc! { "_id": { "$in": object_ids(ids) }, "status": "running" },
            max_attempts,
            now,
        )
        .await
    }

    async fn requeue(
        &self,
        filter: Document,
        max_attempts: i32,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut exhausted = filter.clone();
        exhausted.insert("attempts", doc! { "$gte": max_attempts });
        self.requests()
            .update_many(
                exhausted,
                doc! { "$set": { "status": "failed", "outcome": Outcome::Interrupted.as_str(),
                "finished_at": now } },
            )
            .await
            .map_err(StoreError::op("update", REQUESTS))?;
        let r = self
            .requests()
            .update_many(
                filter,
                doc! { "$set": { "status": "pending" },
                "$unset": { "claimed_by": "", "claimed_at": "" } },
            )
            .await
            .map_err(StoreError::op("update", REQUESTS))?;
        Ok(r.modified_count)
    }

    /// Claims the oldest pending request of `studio` for `owner` (one atomic update).
    pub async fn claim_request(
        &self,
        studio: &str,
        owner: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Request>, StoreError> {
        let next = self
            .requests()
            .find_one_and_update(
                doc! { "studio_id": studio, "status": "pending" },
                doc! { "$set": { "status": "running", "claimed_by": owner,
                          "claimed_at": now },
                "$inc": { "attempts": 1 } },
            )
            .sort(doc! { "requested_at": 1 })
            .return_document(ReturnDocument::After)
            .await
            .map_err(StoreError::op("findOneAndUpdate", REQUESTS))?;
        Ok(next.as_ref().map(Request::from_doc))
    }

    /// Writes a finished run's outcome on the requests it served, as `status`.
    pub async fn finish_requests(
        &self,
        ids: &[String],
        status: RequestStatus,
        report: &RunReport,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.requests()
            .update_many(
                doc! { "_id": { "$in": object_ids(ids) } },
                doc! { "$set": {
                    "status": status.as_str(),
                    "outcome": report.outcome.as_str(),
                    "run_id": &report.run_id,
                    "summary": report.summary_line(),
                    "counts": run_counts(report),
                    "errors": &report.errors,
                    "finished_at": now,
                } },
            )
            .await
            .map_err(StoreError::op("update", REQUESTS))?;
        Ok(())
    }
}
