//! `ingest_daemons`: one document per running daemon (`_id` = its owner id), refreshed
//! every few seconds; removed on a clean stop, left to go stale by a crash.

use super::schema::DAEMONS;
use super::{read_strings, read_time, Store, StoreError};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use serde::Serialize;

/// A studio's cron job, as a daemon schedules it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Scheduled {
    pub studio_id: String,
    pub cron: String,
    pub timezone: String,
    /// The scheduler's next tick (jitter not included).
    pub next_run: Option<DateTime<Utc>>,
}

/// A daemon as it last reported itself.
#[derive(Debug, Clone, Serialize)]
pub struct DaemonInfo {
    pub owner: String,
    pub version: String,
    pub state: String,
    pub started_at: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub scheduled: Vec<Scheduled>,
    pub running: Vec<String>,
}

impl Store {
    fn daemons(&self) -> mongodb::Collection<Document> {
        self.discovery.collection(DAEMONS)
    }

    /// Upserts this daemon's document (`info.owner` is the key; `last_seen` is set).
    pub async fn record_daemon(&self, info: &DaemonInfo) -> Result<(), StoreError> {
        let scheduled: Vec<Document> = info
            .scheduled
            .iter()
            .map(|s| {
                doc! {
                    "studio_id": &s.studio_id,
                    "cron": &s.cron,
                    "timezone": &s.timezone,
                    "next_run": s.next_run,
                }
            })
            .collect();
        self.daemons()
            .update_one(
                doc! { "_id": &info.owner },
                doc! { "$set": {
                    "version": &info.version,
                    "state": &info.state,
                    "started_at": info.started_at,
                    "last_seen": info.last_seen,
                    "scheduled": scheduled,
                    "running": &info.running,
                } },
            )
            .upsert(true)
            .await
            .map_err(StoreError::op("upsert", DAEMONS))?;
        Ok(())
    }

    pub async fn remove_daemon(&self, owner: &str) -> Result<(), StoreError> {
        self.daemons()
            .delete_one(doc! { "_id": owner })
            .await
            .map_err(StoreError::op("delete", DAEMONS))?;
        Ok(())
    }

    /// Daemons whose last report is at or after `since`, by owner.
    pub async fn daemons_seen_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<DaemonInfo>, StoreError> {
        let docs: Vec<Document> = self
            .daemons()
            .find(doc! { "last_seen": { "$gte": since } })
            .sort(doc! { "_id": 1 })
            .await
            .map_err(StoreError::op("find", DAEMONS))?
            .try_collect()
            .await
            .map_err(StoreError::op("find", DAEMONS))?;
        Ok(docs.iter().map(info_from_doc).collect())
    }
}

fn info_from_doc(d: &Document) -> DaemonInfo {
    let scheduled = d
        .get_array("scheduled")
        .map(|a| {
            a.iter()
                .filter_map(|e| e.as_document())
                .map(|s| Scheduled {
                    studio_id: s.get_str("studio_id").unwrap_or_default().to_string(),
                    cron: s.get_str("cron").unwrap_or_default().to_string(),
                    timezone: s.get_str("timezone").unwrap_or_default().to_string(),
                    next_run: read_time(s, "next_run"),
                })
                .collect()
        })
        .unwrap_or_default();
    DaemonInfo {
        owner: d.get_str("_id").unwrap_or_default().to_string(),
        version: d.get_str("version").unwrap_or_default().to_string(),
        state: d.get_str("state").unwrap_or_default().to_string(),
        started_at: read_time(d, "started_at"),
        last_seen: read_time(d, "last_seen"),
        scheduled,
        running: read_strings(d, "running"),
    }
}
