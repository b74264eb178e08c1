//! `workshops_v2` and `workshop_signatures`: applying a reconciliation plan.
//!
//! Write order per workshop is signature first, then the document, so a crash between
//! the two is completed by the next run (see `reconcile`). Documents are upserted by
//! `uuid` with `$setOnInsert`, so `_id` never changes and replays are no-ops. A workshop
//! to announce carries `pending_fanout` in the same write; the notifier clears it after
//! enqueueing, so no announcement is lost to a crash in between.

use super::{unix_seconds, Store, StoreError};
use crate::reconcile::{Action, Announcement, StoredWorkshop};
use crate::workshop::{TimeDetail, WorkshopDraft};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Collection;
use std::collections::BTreeMap;

pub const WORKSHOPS: &str = "workshops_v2";
pub const SIGNATURES: &str = "workshop_signatures";

/// Marks a document as written by this pipeline (and which signature form it used).
pub const WRITER: &str = "nachna-ingest";

impl Store {
    pub fn workshops(&self) -> Collection<Document> {
        self.discovery.collection(WORKSHOPS)
    }

    pub fn signatures(&self) -> Collection<Document> {
        self.discovery.collection(SIGNATURES)
    }

    /// Every stored workshop of a studio, archived ones included.
    pub async fn load_studio_workshops(
        &self,
        studio_id: &str,
    ) -> Result<BTreeMap<String, StoredWorkshop>, StoreError> {
        let mut cursor = self
            .workshops()
            .find(doc! { "studio_id": studio_id })
            .projection(doc! {
                "uuid": 1, "content_hash": 1, "version": 1, "is_archived": 1,
                "payment_link_type": 1, "time_details": 1,
            })
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?;
        let mut out = BTreeMap::new();
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?
        {
            let Ok(uuid) = d.get_str("uuid") else {
                continue;
            };
            let time_details = d
                .get_array("time_details")
                .ok()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| mongodb::bson::from_bson::<TimeDetail>(v.clone()).ok())
                        .collect()
                })
                .unwrap_or_default();
            out.insert(
                uuid.to_string(),
                StoredWorkshop {
                    uuid: uuid.to_string(),
                    content_hash: d.get_str("content_hash").ok().map(str::to_string),
                    version: read_int(&d, "version").unwrap_or(1),
                    is_archived: d.get_bool("is_archived").unwrap_or(false),
                    payment_link_type: d.get_str("payment_link_type").ok().map(str::to_string),
                    time_details,
                },
            );
        }
        Ok(out)
    }

    /// Owner uuid of each of `signatures` already recorded.
    pub async fn signature_owners(
        &self,
        signatures: &[String],
    ) -> Result<BTreeMap<String, String>, StoreError> {
        if signatures.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut cursor = self
            .signatures()
            .find(doc! { "_id": { "$in": signatures } })
            .await
            .map_err(StoreError::op("find", SIGNATURES))?;
        let mut out = BTreeMap::new();
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("find", SIGNATURES))?
        {
            if let (Ok(sig), Ok(uuid)) = (d.get_str("_id"), d.get_str("uuid")) {
                out.insert(sig.to_string(), uuid.to_string());
            }
        }
        Ok(out)
    }

    /// Applies one action. Returns false when an update lost a race (another writer
    /// changed the document since it was read); the caller reports it.
    pub async fn apply_action(
        &self,
        action: &Action,
        now: DateTime<Utc>,
        today: &str,
    ) -> Result<bool, StoreError> {
        match action {
            Action::Insert { draft, announce } => {
                self.claim_signature(draft, now, today).await?;
                let mut fields = draft_fields(draft)?;
                if fields
                    .get("choreo_insta_link")
                    .is_none_or(|v| *v == Bson::Null)
                {
                    if let Some(link) = self.borrow_choreo_link(draft).await? {
                        fields.insert("choreo_insta_link", link);
                    }
                }
                fields.insert("updated_at", unix_seconds(now));
                fields.insert("version", 1_i32);
                fields.insert("is_archived", false);
                fields.insert("first_seen_at", now);
                if let Some(kind) = announce {
                    fields.insert("pending_fanout", pending(*kind, now));
                }
                self.workshops()
                    .update_one(
                        doc! { "uuid": &draft.uuid },
                        doc! { "$setOnInsert": fields },
                    )
                    .upsert(true)
                    .await
                    .map_err(StoreError::op("upsert", WORKSHOPS))?;
                Ok(true)
            }
            Action::Update {
                draft,
                expected_version,
                announce,
            } => {
                self.claim_signature(draft, now, today).await?;
                let mut fields = draft_fields(draft)?;
                // An admin-set or earlier link wins over whatever the page has.
                fields.remove("choreo_insta_link");
                fields.insert("updated_at", unix_seconds(now));
                fields.insert("is_archived", false);
                let update = |fields: Document| {
                    doc! {
                        "$set": fields,
                        "$unset": { "archived_at": "" },
                        "$inc": { "version": 1_i32 },
                    }
                };
                let filter = doc! { "uuid": &draft.uuid, "version": expected_version };
                if let Some(kind) = announce {
                    // A `new_workshop` marker not yet fanned out must survive: followers
                    // who never heard of the workshop get "new" (with the new schedule),
                    // not "rescheduled". Each attempt is one atomic write.
                    let mut with_marker = fields.clone();
                    with_marker.insert("pending_fanout", pending(*kind, now));
                    let mut unless_new = filter.clone();
                    unless_new.insert("pending_fanout.kind", doc! { "$ne": "new_workshop" });
                    let result = self
                        .workshops()
                        .update_one(unless_new, update(with_marker))
                        .await
                        .map_err(StoreError::op("update", WORKSHOPS))?;
                    if result.matched_count == 1 {
                        return Ok(true);
                    }
                }
                let result = self
                    .workshops()
                    .update_one(filter, update(fields))
                    .await
                    .map_err(StoreError::op("update", WORKSHOPS))?;
                Ok(result.matched_count == 1)
            }
            Action::Unchanged { uuid } => {
                // Only the day of the last sighting is kept, so a second run on the same
                // day writes nothing at all.
                self.signatures()
                    .update_many(
                        doc! { "uuid": uuid, "last_seen_on": { "$ne": today } },
                        doc! { "$set": { "last_seen_on": today } },
                    )
                    .await
                    .map_err(StoreError::op("update", SIGNATURES))?;
                Ok(true)
            }
            Action::Duplicate { .. } => Ok(true),
        }
    }

    async fn claim_signature(
        &self,
        draft: &WorkshopDraft,
        now: DateTime<Utc>,
        today: &str,
    ) -> Result<(), StoreError> {
        self.signatures()
            .update_one(
                doc! { "_id": draft.signature() },
                doc! {
                    "$set": { "uuid": &draft.uuid, "last_seen_on": today },
                    "$setOnInsert": {
                        "studio_id": &draft.studio_id,
                        "canonical": draft.signature_canonical_form(),
                        "first_seen_at": now,
                    },
                },
            )
            .upsert(true)
            .await
            .map_err(StoreError::op("upsert", SIGNATURES))?;
        Ok(())
    }

    /// A choreography reel from another workshop with the same artists and song.
    async fn borrow_choreo_link(
        &self,
        draft: &WorkshopDraft,
    ) -> Result<Option<String>, StoreError> {
        let Some(song) = &draft.song else {
            return Ok(None);
        };
        if draft.artist_id_list.is_empty() {
            return Ok(None);
        }
        let found = self
            .workshops()
            .find_one(doc! {
                "artist_id_list": &draft.artist_id_list,
                "song": song,
                "choreo_insta_link": { "$type": "string", "$ne": "" },
            })
            .projection(doc! { "choreo_insta_link": 1 })
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?;
        Ok(found.and_then(|d| d.get_str("choreo_insta_link").ok().map(str::to_string)))
    }

    /// Archives (never deletes) the given live workshops of a studio.
    pub async fn archive_workshops(
        &self,
        studio_id: &str,
        uuids: &[String],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        if uuids.is_empty() {
            return Ok(0);
        }
        let result = self
            .workshops()
            .update_many(
                doc! { "studio_id": studio_id, "uuid": { "$in": uuids }, "is_archived": { "$ne": true } },
                doc! {
                    "$set": { "is_archived": true, "archived_at": now, "updated_at": unix_seconds(now) },
                    "$inc": { "version": 1_i32 },
                },
            )
            .await
            .map_err(StoreError::op("update", WORKSHOPS))?;
        Ok(result.modified_count)
    }
}

fn pending(kind: Announcement, now: DateTime<Utc>) -> Document {
    let kind = match kind {
        Announcement::NewWorkshop => "new_workshop",
        Announcement::ScheduleChange => "schedule_change",
    };
    doc! { "kind": kind, "since": now }
}

/// The app's fields plus our bookkeeping, in the exact BSON types the app reads.
fn draft_fields(draft: &WorkshopDraft) -> Result<Document, StoreError> {
    let mut d = mongodb::bson::to_document(draft).map_err(|e| StoreError::Malformed {
        collection: WORKSHOPS,
        message: format!("cannot encode workshop {}: {e}", draft.uuid),
    })?;
    d.insert("content_hash", draft.content_hash());
    d.insert("signature", draft.signature());
    d.insert("written_by", WRITER);
    Ok(d)
}

pub(crate) fn read_int(d: &Document, key: &str) -> Option<i64> {
    match d.get(key)? {
        Bson::Int32(v) => Some(i64::from(*v)),
        Bson::Int64(v) => Some(*v),
        Bson::Double(v) => Some(*v as i64),
        _ => None,
    }
}
