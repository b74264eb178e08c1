//! Adopting a database written by the previous pipeline (`nachna-ingest adopt`): reading
//! its workshops, rewriting each in place (by `_id`, which never changes), and the marker
//! that records the adoption in a collection of ours (`ingest_meta`).
//!
//! What to write is decided by the command (`commands::adopt`, a pure plan); this file
//! only reads and persists. Only `payment_link_type: "url"` documents not written by this
//! tool are read; hand-entered workshops and `workshops_v2_copy` are never touched.

use super::schema::{CHOREO_LINKS, META, SIGNATURES, WORKSHOPS};
use super::workshops::{editable_of, lenient_time_detail, written_doc, WRITER};
use super::{read_strings, Store, StoreError};
use crate::edits::{Editable, Written};
use crate::workshop::TimeDetail;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};

/// The marker document's `_id` in `ingest_meta`.
const ADOPTION: &str = "adoption";

/// A workshop document's `_id`, whatever its type; opaque outside the store.
#[derive(Debug, Clone, PartialEq)]
pub struct DocId(Bson);

impl DocId {
    /// A string `_id`, for unit tests of plans.
    #[doc(hidden)]
    pub fn for_tests(id: &str) -> DocId {
        DocId(Bson::String(id.to_string()))
    }
}

impl std::fmt::Display for DocId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Bson::ObjectId(id) => write!(f, "{}", id.to_hex()),
            Bson::String(s) => f.write_str(s),
            other => write!(f, "{other}"),
        }
    }
}

/// One `workshops_v2` document of the pipeline's kind (`payment_link_type: "url"`), as
/// adoption needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredUrlWorkshop {
    pub id: DocId,
    pub uuid: String,
    pub studio_id: String,
    pub payment_link: String,
    pub event_type: String,
    /// Read leniently: `end_time: null` is `""`, float dates are integers.
    pub time_details: Vec<TimeDetail>,
    pub pricing_info: String,
    pub editable: Editable,
    pub is_archived: bool,
    /// Written by this tool (`written_by`): never rewritten by adoption.
    pub ours: bool,
}

/// How the database stands with respect to adoption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptionState {
    /// When `adopt` ran, if it did.
    pub adopted_at: Option<DateTime<Utc>>,
    /// Whether any pipeline (`url`) workshop was not written by this tool.
    pub has_legacy: bool,
}

impl AdoptionState {
    /// Whether `ingest` and `run` must refuse until `adopt` has run.
    pub fn needs_adoption(&self) -> bool {
        self.adopted_at.is_none() && self.has_legacy
    }
}

/// What adoption writes to one document (by `_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct AdoptWrite {
    pub id: DocId,
    pub uuid: String,
    pub content_hash: String,
    pub signature: String,
    pub written: Written,
    /// Set for a second copy of one workshop (same page and song): archived, not
    /// deleted.
    pub archive: bool,
    /// A reel for an empty `choreo_insta_link`, from the admins' `choreo_links`.
    pub fill_choreo: Option<String>,
}

/// One entry of the admins' `choreo_links` map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoreoLink {
    pub artist_ids: Vec<String>,
    pub song: String,
    pub link: String,
}

/// A signature to record for an adopted workshop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdoptSignature {
    pub signature: String,
    pub uuid: String,
    pub studio_id: String,
    pub canonical: String,
}

/// What the marker records.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdoptionSummary {
    pub adopted: u64,
    pub uuids_changed: u64,
    pub archived_copies: u64,
    pub person_values: u64,
}

impl Store {
    fn meta(&self) -> mongodb::Collection<Document> {
        self.discovery.collection(META)
    }

    /// Whether adoption ran, and whether there is anything to adopt (two small reads).
    pub async fn adoption_state(&self) -> Result<AdoptionState, StoreError> {
        let marker = self
            .meta()
            .find_one(doc! { "_id": ADOPTION })
            .await
            .map_err(StoreError::op("find", META))?;
        let adopted_at = marker
            .as_ref()
            .and_then(|m| m.get_datetime("adopted_at").ok())
            .map(|t| t.to_chrono());
        let legacy = self
            .discovery
            .collection::<Document>(WORKSHOPS)
            .find_one(doc! { "payment_link_type": "url", "written_by": { "$ne": WRITER } })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?;
        Ok(AdoptionState {
            adopted_at,
            has_legacy: legacy.is_some(),
        })
    }

    /// Every `url` workshop (archived ones too), in `_id` order.
    pub async fn url_workshops(&self) -> Result<Vec<StoredUrlWorkshop>, StoreError> {
        let docs: Vec<Document> = self
            .discovery
            .collection::<Document>(WORKSHOPS)
            .find(doc! { "payment_link_type": "url" })
            .sort(doc! { "_id": 1 })
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?
            .try_collect()
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?;
        Ok(docs
            .iter()
            .map(|d| StoredUrlWorkshop {
                id: DocId(d.get("_id").cloned().unwrap_or(Bson::Null)),
                uuid: d.get_str("uuid").unwrap_or_default().to_string(),
                studio_id: d.get_str("studio_id").unwrap_or_default().to_string(),
                payment_link: d.get_str("payment_link").unwrap_or_default().to_string(),
                event_type: d.get_str("event_type").unwrap_or("workshop").to_string(),
                time_details: d
                    .get_array("time_details")
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_document())
                            .filter_map(lenient_time_detail)
                            .collect()
                    })
                    .unwrap_or_default(),
                pricing_info: d.get_str("pricing_info").unwrap_or_default().to_string(),
                editable: editable_of(d),
                is_archived: d.get_bool("is_archived").unwrap_or(false),
                ours: d.get_str("written_by").ok() == Some(WRITER),
            })
            .collect())
    }

    /// Rewrites one adopted document in place. Only a document not yet written by this
    /// tool is matched, so a repeated (or resumed) adoption changes nothing twice.
    /// `_id`, `version`, `updated_at` and every app field but `uuid` stay as they are.
    pub async fn adopt_workshop(
        &self,
        w: &AdoptWrite,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut set = doc! {
            "uuid": &w.uuid,
            "workshop_uuid": &w.uuid,
            "content_hash": &w.content_hash,
            "signature": &w.signature,
            "written_by": WRITER,
            "pipeline_written": written_doc(&w.written),
            "adopted_at": now,
        };
        if let Some(link) = &w.fill_choreo {
            set.insert("choreo_insta_link", link);
        }
        if w.archive {
            set.insert("is_archived", true);
            set.insert("archived_at", now);
        }
        let r = self
            .discovery
            .collection::<Document>(WORKSHOPS)
            .update_one(
                doc! { "_id": w.id.0.clone(), "written_by": { "$ne": WRITER } },
                doc! { "$set": set },
            )
            .await
            .map_err(StoreError::op("update", WORKSHOPS))?;
        Ok(r.modified_count == 1)
    }

    /// The admins' `choreo_links` entries with an `http(s)` reel.
    pub async fn choreo_links(&self) -> Result<Vec<ChoreoLink>, StoreError> {
        let docs: Vec<Document> = self
            .discovery
            .collection::<Document>(CHOREO_LINKS)
            .find(doc! { "choreo_insta_link": { "$regex": "^https?://" } })
            .await
            .map_err(StoreError::op("find", CHOREO_LINKS))?
            .try_collect()
            .await
            .map_err(StoreError::op("find", CHOREO_LINKS))?;
        Ok(docs
            .iter()
            .filter_map(|d| {
                Some(ChoreoLink {
                    artist_ids: read_strings(d, "artist_id_list"),
                    song: d.get_str("song").ok()?.to_string(),
                    link: d.get_str("choreo_insta_link").ok()?.to_string(),
                })
            })
            .collect())
    }

    /// Records an adopted workshop's signature unless one is recorded already.
    pub async fn adopt_signature(
        &self,
        s: &AdoptSignature,
        now: DateTime<Utc>,
        today: &str,
    ) -> Result<(), StoreError> {
        self.discovery
            .collection::<Document>(SIGNATURES)
            .update_one(
                doc! { "_id": &s.signature },
                doc! { "$setOnInsert": {
                    "uuid": &s.uuid, "studio_id": &s.studio_id, "canonical": &s.canonical,
                    "first_seen_at": now, "last_seen_on": today,
                } },
            )
            .upsert(true)
            .await
            .map_err(StoreError::op("upsert", SIGNATURES))?;
        Ok(())
    }

    /// Records that adoption ran (written last: an adoption cut short is resumed by the
    /// next `adopt`). An existing marker is kept as it is.
    pub async fn record_adoption(
        &self,
        summary: &AdoptionSummary,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let as_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        self.meta()
            .update_one(
                doc! { "_id": ADOPTION },
                doc! { "$setOnInsert": {
                    "adopted_at": now,
                    "tool_version": env!("CARGO_PKG_VERSION"),
                    "workshops_adopted": as_i64(summary.adopted),
                    "uuids_changed": as_i64(summary.uuids_changed),
                    "copies_archived": as_i64(summary.archived_copies),
                    "person_values_kept": as_i64(summary.person_values),
                } },
            )
            .upsert(true)
            .await
            .map_err(StoreError::op("upsert", META))?;
        Ok(())
    }
}
