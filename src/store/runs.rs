//! `ingest_runs`: one document per studio run, for operators and the daemon's status.

use super::{Store, StoreError};
use crate::report::RunReport;
use chrono::{DateTime, Utc};
use mongodb::bson::{doc, Document};

pub const RUNS: &str = "ingest_runs";

impl Store {
    pub async fn record_run_start(
        &self,
        run_id: &str,
        studio_id: &str,
        trigger: &str,
        started_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.discovery
            .collection::<Document>(RUNS)
            .insert_one(doc! {
                "_id": run_id,
                "studio_id": studio_id,
                "trigger": trigger,
                "started_at": started_at,
                "outcome": "running",
                "host": hostname(),
                "pid": std::process::id() as i64,
            })
            .await
            .map_err(StoreError::op("insert", RUNS))?;
        Ok(())
    }

    pub async fn record_run_end(
        &self,
        report: &RunReport,
        finished_at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let counts = mongodb::bson::to_document(&serde_json::json!({
            "pages": report.pages,
            "workshops": report.workshops,
        }))
        .unwrap_or_default();
        self.discovery
            .collection::<Document>(RUNS)
            .update_one(
                doc! { "_id": &report.run_id },
                doc! { "$set": {
                    "finished_at": finished_at,
                    "outcome": report.outcome.as_str(),
                    "duration_ms": report.duration_ms as i64,
                    "counts": counts,
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
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}
