//! This daemon's entry in `discovery.ingest_daemons`, refreshed every few seconds, so
//! `status` can show who is up, what each schedules and when, and `trigger` can say
//! when no daemon is there to pick a request up. Removed on a clean stop; a crashed
//! daemon's document simply goes stale.

use crate::process::OwnerId;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use std::time::Duration;

pub use crate::store::daemons::{DaemonInfo, Scheduled};

/// How often a daemon refreshes its document.
pub const BEAT_EVERY: Duration = Duration::from_secs(5);
/// A document older than this is a daemon that is gone.
pub const LIVE_WITHIN: Duration = Duration::from_secs(30);

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

    pub async fn beat(
        &self,
        state: &str,
        scheduled: &[Scheduled],
        running: &[String],
    ) -> Result<(), StoreError> {
        self.store
            .record_daemon(&DaemonInfo {
                owner: self.owner.to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
                state: state.to_string(),
                started_at: Some(self.started_at),
                last_seen: Some(Utc::now()),
                scheduled: scheduled.to_vec(),
                running: running.to_vec(),
            })
            .await
    }

    pub async fn remove(&self) -> Result<(), StoreError> {
        self.store.remove_daemon(self.owner.as_str()).await
    }
}

/// Daemons seen within [`LIVE_WITHIN`].
pub async fn live_daemons(store: &Store) -> Result<Vec<DaemonInfo>, StoreError> {
    let since = Utc::now() - chrono::Duration::from_std(LIVE_WITHIN).unwrap_or_default();
    store.daemons_seen_since(since).await
}
