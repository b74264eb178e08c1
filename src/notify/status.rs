//! `notify status`: the outbox at a glance.

use super::Notifier;
use crate::store::StoreError;
use serde::Serialize;
use std::collections::BTreeMap;

/// Outbox counts by kind and status, the oldest pending notification, and tokens
/// deactivated in the last day.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OutboxStatus {
    /// kind → status → count.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Age of the oldest `pending` notification, seconds.
    pub oldest_pending_age_secs: Option<i64>,
    pub tokens_deactivated_last_day: u64,
}

impl Notifier {
    pub async fn outbox_status(&self) -> Result<OutboxStatus, StoreError> {
        let now = self.clock.now();
        Ok(OutboxStatus {
            counts: self.store.outbox_counts().await?,
            oldest_pending_age_secs: self
                .store
                .oldest_pending_outbox()
                .await?
                .map(|t| (now - t).num_seconds().max(0)),
            tokens_deactivated_last_day: self
                .store
                .tokens_deactivated_since(now - chrono::Duration::days(1))
                .await?,
        })
    }
}

impl OutboxStatus {
    /// Outbox documents by status, over all kinds.
    pub fn totals(&self) -> Vec<(String, u64)> {
        let mut totals: BTreeMap<String, u64> = BTreeMap::new();
        for by_status in self.counts.values() {
            for (s, n) in by_status {
                *totals.entry(s.clone()).or_default() += n;
            }
        }
        totals.into_iter().collect()
    }
}
