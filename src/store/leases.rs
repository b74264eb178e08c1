//! `ingest_leases`: one document per studio, `_id` = studio id:
//! `{ owner, host, pid, purpose, acquired_at, renewed_at, expires_at }`.
//! The lease protocol (renewal, loss, waiting) is `runs::lease`; here are its writes.

use super::schema::LEASES;
use super::{is_duplicate_key, read_time, Store, StoreError};
use crate::process;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::options::ReturnDocument;
use serde::Serialize;
use std::fmt;

/// A lease as stored: who holds a studio and until when.
#[derive(Debug, Clone, Serialize)]
pub struct LeaseHolder {
    pub studio_id: String,
    pub owner: String,
    pub purpose: String,
    pub acquired_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl LeaseHolder {
    fn from_doc(d: &Document) -> LeaseHolder {
        LeaseHolder {
            studio_id: d.get_str("_id").unwrap_or_default().to_string(),
            owner: d.get_str("owner").unwrap_or_default().to_string(),
            purpose: d.get_str("purpose").unwrap_or_default().to_string(),
            acquired_at: read_time(d, "acquired_at"),
            expires_at: read_time(d, "expires_at"),
        }
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_some_and(|t| t > now)
    }
}

impl fmt::Display for LeaseHolder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.owner, self.purpose)?;
        if let Some(t) = self.acquired_at {
            write!(f, " since {}", t.format("%Y-%m-%d %H:%M:%SZ"))?;
        }
        if let Some(t) = self.expires_at {
            write!(f, ", lease expires {}", t.format("%H:%M:%SZ"))?;
        }
        Ok(())
    }
}

/// The answer of one attempt to take a lease.
pub enum LeaseTake {
    /// Ours now; the previous document, if there was one (expired, or ours already).
    Taken { previous: Option<LeaseHolder> },
    /// Someone else holds it.
    Held,
}

/// The fields of a lease held by this process for `owner`, as both ways of taking one
/// write them.
fn holder_fields(
    owner: &str,
    purpose: &str,
    now: DateTime<Utc>,
    expires: DateTime<Utc>,
) -> Document {
    doc! {
        "owner": owner,
        "host": process::hostname(),
        "pid": i64::from(process::pid()),
        "purpose": purpose,
        "acquired_at": now,
        "renewed_at": now,
        "expires_at": expires,
    }
}

impl Store {
    fn leases(&self) -> mongodb::Collection<Document> {
        self.discovery.collection(LEASES)
    }

    /// One atomic `findOneAndUpdate` with upsert whose filter matches only a free lease
    /// (expired, or already ours). When someone else holds it the filter matches
    /// nothing and the upsert collides with the existing `_id`: [`LeaseTake::Held`].
    pub async fn take_lease(
        &self,
        studio: &str,
        owner: &str,
        purpose: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<LeaseTake, StoreError> {
        let result = self
            .leases()
            .find_one_and_update(
                doc! {
                    "_id": studio,
                    "$or": [
                        { "expires_at": { "$lte": now } },
                        { "owner": owner },
                    ],
                },
                doc! { "$set": holder_fields(owner, purpose, now, expires) },
            )
            .upsert(true)
            .return_document(ReturnDocument::Before)
            .await;
        match result {
            Ok(previous) => Ok(LeaseTake::Taken {
                previous: previous.as_ref().map(LeaseHolder::from_doc),
            }),
            Err(err) if is_duplicate_key(&err) => Ok(LeaseTake::Held),
            Err(err) => Err(StoreError::op("findOneAndUpdate", LEASES)(err)),
        }
    }

    /// Takes the studio's lease from `dead_owner` whatever its expiry: only when that
    /// owner still holds it (one atomic update; `false` when someone else took or
    /// released it meanwhile). For owners known to be gone (see
    /// [`crate::process::owner_is_gone`]).
    pub async fn take_lease_from(
        &self,
        studio: &str,
        dead_owner: &str,
        owner: &str,
        purpose: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .leases()
            .update_one(
                doc! { "_id": studio, "owner": dead_owner },
                doc! { "$set": holder_fields(owner, purpose, now, expires) },
            )
            .await
            .map_err(StoreError::op("updateOne", LEASES))?;
        Ok(result.modified_count == 1)
    }

    /// The studio's lease document, live or expired.
    pub async fn lease_holder(&self, studio: &str) -> Result<Option<LeaseHolder>, StoreError> {
        Ok(self
            .leases()
            .find_one(doc! { "_id": studio })
            .await
            .map_err(StoreError::op("find", LEASES))?
            .as_ref()
            .map(LeaseHolder::from_doc))
    }

    /// Extends `owner`'s lease to `expires`; false when it is no longer theirs.
    pub async fn renew_lease(
        &self,
        studio: &str,
        owner: &str,
        now: DateTime<Utc>,
        expires: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let r = self
            .leases()
            .update_one(
                doc! { "_id": studio, "owner": owner },
                doc! { "$set": { "renewed_at": now, "expires_at": expires } },
            )
            .await
            .map_err(StoreError::op("update", LEASES))?;
        Ok(r.matched_count == 1)
    }

    /// Deletes the lease if `owner` still holds it.
    pub async fn release_lease(&self, studio: &str, owner: &str) -> Result<(), StoreError> {
        self.leases()
            .delete_one(doc! { "_id": studio, "owner": owner })
            .await
            .map_err(StoreError::op("delete", LEASES))?;
        Ok(())
    }

    /// Every lease document (for `status`).
    pub async fn all_leases(&self) -> Result<Vec<LeaseHolder>, StoreError> {
        let docs: Vec<Document> = self
            .leases()
            .find(doc! {})
            .await
            .map_err(StoreError::op("find", LEASES))?
            .try_collect()
            .await
            .map_err(StoreError::op("find", LEASES))?;
        Ok(docs.iter().map(LeaseHolder::from_doc).collect())
    }
}
