//! `ingest_runs`: one document per studio run, for operators and the daemon's status.
//! A run is `running` from its start until it records its end; a run cut short is
//! marked `interrupted` by whoever notices (its own process, or the next lease holder).

use super::schema::RUNS;
use super::{read_time, Store, StoreError};
use crate::process;
use crate::report::{Outcome, RunReport};
use chrono::{DateTime, Utc};
use mongodb::bson::{doc, Document};
use serde::Serialize;

/// A run as `status` shows it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RunRecord {
    pub run_id: String,
    pub outcome: String,
    pub trigger: String,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// `{pages: {...}, workshops: {...}}` as recorded; `null` while running.
    pub counts: serde_json::Value,
    /// The date the run pretended was today (`ingest --today`), `YYYY-MM-DD`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
}

impl Store {
    fn runs(&self) -> mongodb::Collection<Document> {
        self.discovery.collection(RUNS)
    }

    pub async fn record_run_start(
        &self,
        run_id: &str,
        studio_id: &str,
        trigger: &str,
        started_at: DateTime<Utc>,
        as_of: Option<chrono::NaiveDate>,
    ) -> Result<(), StoreError> {
        let mut record = doc! {
                "_id": run_id,
                "studio_id": studio_id,
                "trigger": trigger,
                "started_at": started_at,
                "outcome": "running",
                "host": process::hostname(),
                "pid": i64::from(process::pid()),
        };
        if let Some(day) = as_of {
            record.insert("as_of", day.format("%Y-%m-%d").to_string());
        }
        self.runs()
            .insert_one(record)
            .await
            .map_err(StoreError::op("insert", RUNS))?;
        Ok(())
    }

    pub async fn record_run_end(
        &self,
        report: &RunReport,
        finished_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.runs()
            .update_one(
                doc! { "_id": &report.run_id },
                doc! { "$set": {
                    "finished_at": finished_at,
                    "outcome": report.outcome.as_str(),
                    "duration_ms": report.duration_ms as i64,
                    "counts": run_counts(report),
                    "new_uuids": &report.new_uuids,
                    "archived_uuids": &report.archived_uuids,
                    "errors": &report.errors,
                    "warnings": &report.warnings,
                } },
            )
            .await
            .map_err(StoreError::op("update", RUNS))?;
        Ok(())
    }

    /// Runs of `studio` still marked `running` become `interrupted` with `message`.
    /// Called by a new lease holder: nobody else can be running them. Returns how many.
    pub async fn mark_stale_runs(
        &self,
        studio: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let stale = doc! { "studio_id": studio, "outcome": "running" };
        // Almost always there is none: a read keeps an ordinary run's writes to its own
        // run record and its lease (issue 12), and only a real leftover costs a write.
        let any = self
            .runs()
            .find_one(stale.clone())
            .projection(doc! { "_id": 1 })
            .await
            .map_err(StoreError::op("find", RUNS))?;
        if any.is_none() {
            return Ok(0);
        }
        let r = self
            .runs()
            .update_many(
                stale,
                doc! { "$set": { "outcome": Outcome::Interrupted.as_str(), "finished_at": now },
                "$push": { "errors": message } },
            )
            .await
            .map_err(StoreError::op("update", RUNS))?;
        Ok(r.modified_count)
    }

    /// Marks this process's latest `running` run of `studio` interrupted; returns its id.
    pub async fn mark_run_interrupted(
        &self,
        studio: &str,
        message: &str,
        duration_ms: u64,
        now: DateTime<Utc>,
    ) -> Result<Option<String>, StoreError> {
        let found = self
            .runs()
            .find_one_and_update(
                doc! {
                    "studio_id": studio,
                    "outcome": "running",
                    "pid": i64::from(process::pid()),
                    "host": process::hostname(),
                },
                doc! { "$set": {
                    "outcome": Outcome::Interrupted.as_str(),
                    "finished_at": now,
                    "duration_ms": duration_ms as i64,
                }, "$push": { "errors": message } },
            )
            .sort(doc! { "started_at": -1 })
            .await
            .map_err(StoreError::op("findOneAndUpdate", RUNS))?;
        Ok(found.and_then(|d| d.get_str("_id").ok().map(str::to_string)))
    }

    /// Every run still marked `running`, oldest first: who started it and where.
    pub async fn running_runs(&self) -> Result<Vec<RunningRun>, StoreError> {
        use futures::TryStreamExt;
        let docs: Vec<Document> = self
            .runs()
            .find(doc! { "outcome": "running" })
            .sort(doc! { "started_at": 1 })
            .projection(doc! { "studio_id": 1, "host": 1, "pid": 1, "started_at": 1 })
            .await
            .map_err(StoreError::op("find", RUNS))?
            .try_collect()
            .await
            .map_err(StoreError::op("find", RUNS))?;
        Ok(docs
            .iter()
            .map(|d| RunningRun {
                run_id: d.get_str("_id").unwrap_or_default().to_string(),
                studio_id: d.get_str("studio_id").unwrap_or_default().to_string(),
                host: d.get_str("host").unwrap_or_default().to_string(),
                pid: super::read_int(d, "pid").unwrap_or_default(),
                started_at: read_time(d, "started_at"),
            })
            .collect())
    }

    /// Ends one run still `running` as `interrupted` with `message` (the process that
    /// ran it is gone). False when it was no longer running.
    pub async fn mark_run_crashed(
        &self,
        run_id: &str,
        message: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let r = self
            .runs()
            .update_one(
                doc! { "_id": run_id, "outcome": "running" },
                doc! { "$set": { "outcome": Outcome::Interrupted.as_str(), "finished_at": now },
                "$push": { "errors": message } },
            )
            .await
            .map_err(StoreError::op("update", RUNS))?;
        Ok(r.modified_count == 1)
    }

    /// The latest run of a studio.
    pub async fn last_run(&self, studio: &str) -> Result<Option<RunRecord>, StoreError> {
        let found = self
            .runs()
            .find_one(doc! { "studio_id": studio })
            .sort(doc! { "started_at": -1 })
            .await
            .map_err(StoreError::op("find", RUNS))?;
        Ok(found.map(|d| RunRecord {
            run_id: d.get_str("_id").unwrap_or_default().to_string(),
            outcome: d.get_str("outcome").unwrap_or_default().to_string(),
            trigger: d.get_str("trigger").unwrap_or_default().to_string(),
            started_at: read_time(&d, "started_at"),
            finished_at: read_time(&d, "finished_at"),
            counts: d
                .get_document("counts")
                .ok()
                .and_then(|c| serde_json::to_value(c).ok())
                .unwrap_or(serde_json::Value::Null),
            as_of: d.get_str("as_of").ok().map(str::to_string),
        }))
    }
}

/// A run recorded as `running`, as a starting process checks it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunningRun {
    pub run_id: String,
    pub studio_id: String,
    pub host: String,
    pub pid: i64,
    pub started_at: Option<DateTime<Utc>>,
}

/// The counts of a report as stored on runs and trigger requests.
pub(crate) fn run_counts(report: &RunReport) -> Document {
    mongodb::bson::to_document(&serde_json::json!({
        "pages": report.pages,
        "workshops": report.workshops,
    }))
    .unwrap_or_default()
}
