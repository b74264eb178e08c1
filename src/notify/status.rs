//! `notify status`: the outbox at a glance.

use super::audience::DEVICE_TOKENS;
use super::outbox::{bson_time, OUTBOX};
use super::Notifier;
use crate::store::StoreError;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
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
        let outbox = self.store.outbox();
        let mut status = OutboxStatus::default();
        let mut cursor = outbox
            .aggregate(vec![doc! { "$group": {
                "_id": { "kind": "$kind", "status": "$status" },
                "n": { "$sum": 1 },
            } }])
            .await
            .map_err(StoreError::op("aggregate", OUTBOX))?;
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("aggregate", OUTBOX))?
        {
            let Ok(id) = d.get_document("_id") else {
                continue;
            };
            let kind = id.get_str("kind").unwrap_or("?").to_string();
            let st = id.get_str("status").unwrap_or("?").to_string();
            let n = crate::store::workshops::read_int(&d, "n")
                .unwrap_or(0)
                .max(0) as u64;
            *status
                .counts
                .entry(kind)
                .or_default()
                .entry(st)
                .or_default() += n;
        }
        let oldest: Option<Document> = outbox
            .find_one(doc! { "status": "pending" })
            .sort(doc! { "created_at": 1 })
            .projection(doc! { "created_at": 1 })
            .await
            .map_err(StoreError::op("find", OUTBOX))?;
        status.oldest_pending_age_secs = oldest
            .and_then(|d| d.get_datetime("created_at").ok().copied())
            .map(|t| (now - t.to_chrono()).num_seconds().max(0));
        status.tokens_deactivated_last_day = self
            .store
            .app
            .collection::<Document>(DEVICE_TOKENS)
            .count_documents(doc! {
                "is_active": false,
                "deactivated_at": { "$gte": bson_time(now - chrono::Duration::days(1)) },
            })
            .await
            .map_err(StoreError::op("count", DEVICE_TOKENS))?;
        Ok(status)
    }
}
