//! `discovery.ingest_daemons`: one document per running daemon, refreshed every few
//! seconds, so `status` can show who is up, what each schedules and when, and `trigger`
//! can say when no daemon is there to pick a request up. Removed on a clean stop; a
//! crashed daemon's document simply goes stale.

use super::lease::OwnerId;
use super::scheduler::Scheduled;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use serde::Serialize;
use std::time::Duration;

pub const DAEMONS: &str = "ingest_daemons";
/// How often a daemon refreshes its document.
pub const BEAT_EVERY: Duration = Duration::from_secs(5);
/// A document older than this is a daemon that is gone.
pub const LIVE_WITHIN: Duration = Duration::from_secs(30);

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

#[derive(Clone)]
pub struct Presence {
    store: Store,
    owner: OwnerId,
    started_at: DateTime<Utc>,
}

impl Presence {
    pub fn new(store: Store, owner: OwnerId) -> Presence {
        Presence {
            store,
            owner,
            started_at: Utc::now(),
        }
    }

    fn collection(&self) -> mongodb::Collection<Document> {
        self.store.discovery.collection(DAEMONS)
    }

    pub async fn beat(
        &self,
        state: &str,
        scheduled: &[Scheduled],
        running: &[String],
    ) -> Result<(), StoreError> {
        let scheduled: Vec<Document> = scheduled
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
        self.collection()
            .update_one(
                doc! { "_id": self.owner.as_str() },
                doc! { "$set": {
                    "version": env!("CARGO_PKG_VERSION"),
                    "state": state,
                    "started_at": self.started_at,
                    "last_seen": Utc::now(),
                    "scheduled": scheduled,
                    "running": running,
                } },
            )
            .upsert(true)
            .await
            .map_err(StoreError::op("upsert", DAEMONS))?;
        Ok(())
    }

    pub async fn remove(&self) -> Result<(), StoreError> {
        self.collection()
            .delete_one(doc! { "_id": self.owner.as_str() })
            .await
            .map_err(StoreError::op("delete", DAEMONS))?;
        Ok(())
    }
}

/// Daemons seen within [`LIVE_WITHIN`].
pub async fn live_daemons(store: &Store) -> Result<Vec<DaemonInfo>, StoreError> {
    let since = Utc::now() - chrono::Duration::from_std(LIVE_WITHIN).unwrap_or_default();
    let docs: Vec<Document> = store
        .discovery
        .collection::<Document>(DAEMONS)
        .find(doc! { "last_seen": { "$gte": since } })
        .sort(doc! { "_id": 1 })
        .await
        .map_err(StoreError::op("find", DAEMONS))?
        .try_collect()
        .await
        .map_err(StoreError::op("find", DAEMONS))?;
    Ok(docs.iter().map(info_from_doc).collect())
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
                    next_run: s.get_datetime("next_run").ok().map(|t| t.to_chrono()),
                })
                .collect()
        })
        .unwrap_or_default();
    DaemonInfo {
        owner: d.get_str("_id").unwrap_or_default().to_string(),
        version: d.get_str("version").unwrap_or_default().to_string(),
        state: d.get_str("state").unwrap_or_default().to_string(),
        started_at: d.get_datetime("started_at").ok().map(|t| t.to_chrono()),
        last_seen: d.get_datetime("last_seen").ok().map(|t| t.to_chrono()),
        scheduled,
        running: d
            .get_array("running")
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default(),
    }
}
