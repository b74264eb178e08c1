//! `workshops_v2` and `workshop_signatures`: applying a reconciliation plan.
//!
//! Write order per workshop is signature first, then the document, so a crash between
//! the two is completed by the next run (see `reconcile`); a run's new workshops are
//! written in batches that keep that order (every claim of the batch, then every
//! document: [`Store::write_inserts`]). Documents are upserted by
//! `uuid` with `$setOnInsert`, so `_id` never changes and replays are no-ops. A workshop
//! to announce carries `pending_fanout` in the same write; the notifier clears it after
//! enqueueing, so no announcement is lost to a crash in between.

use super::schema::{FanoutKind, CHOREO_LINKS, SIGNATURES, STUDIOS, WORKSHOPS};
use super::{bson_time, contract_view, read_int, read_strings, unix_seconds, Store, StoreError};
use crate::contract::{self, References, Rejected};
use crate::edits::{Editable, Keep, Written};
use crate::reconcile::{
    review_hold, Action, Announcement, ChoreoBorrow, MarkerWrite, ReviewStatus, StoredWorkshop,
};
use crate::workshop::{Identified, Session, TimeDetail};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use mongodb::Collection;
use std::collections::{BTreeMap, HashMap};

/// Marks a document as written by this pipeline (and which signature form it used).
pub const WRITER: &str = "nachna-ingest";

/// What applying one action did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// Written, or nothing to write.
    Done,
    /// Written, and its announcement held for a person's review (weak evidence).
    Held,
    /// An update lost a race (another writer changed the document since it was read).
    LostRace,
    /// The document would break the app contract: nothing was written.
    Rejected(Rejected),
}

/// A workshop insert ready to write ([`Store::prepare_insert`]).
#[derive(Debug, Clone)]
pub struct PreparedInsert {
    /// Held for review (written, but not shown or announced yet).
    pub held: bool,
    signature: Document,
    workshop: Document,
}

/// The upsert statement claiming a draft's signature for its uuid.
fn signature_claim(draft: &Identified, now: DateTime<Utc>, today: &str) -> Document {
    let identity = draft.identity();
    doc! {
        "q": { "_id": &identity.signature },
        "u": {
            "$set": { "uuid": draft.uuid(), "last_seen_on": today },
            // A signature retired earlier (the schedule changed back) is live again.
            "$unset": { "retired_at": "" },
            "$setOnInsert": {
                "studio_id": &draft.draft().studio_id,
                "canonical": &identity.canonical,
                "first_seen_at": now,
            },
        },
        "upsert": true,
    }
}

/// A run's contract references, read once ([`Store::reference_cache`]).
#[derive(Debug, Clone, Default)]
pub struct ReferenceCache {
    refs: References,
    studio: String,
    /// Every artist id the cache was read for (found or not).
    asked: std::collections::BTreeSet<String>,
}

impl ReferenceCache {
    fn covers(&self, studio: &str, artists: &[String]) -> bool {
        studio == self.studio && artists.iter().all(|a| self.asked.contains(a))
    }
}

impl Store {
    fn workshops(&self) -> Collection<Document> {
        self.discovery.collection(WORKSHOPS)
    }

    fn signatures(&self) -> Collection<Document> {
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
                "payment_link_type": 1, "time_details": 1, "signature": 1,
                "artist_id_list": 1, "by": 1, "song": 1, "choreo_insta_link": 1,
                "pipeline_written": 1, "review.status": 1,
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
            // Leniently: the previous pipeline's `end_time: null` (and float dates) read
            // as ours (`""`), so they are no schedule change.
            let time_details = d
                .get_array("time_details")
                .ok()
                .map(|a| {
                    a.iter()
                        .filter_map(|v| v.as_document())
                        .filter_map(lenient_time_detail)
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
                    signature: d.get_str("signature").ok().map(str::to_string),
                    artist_ids: read_strings(&d, "artist_id_list"),
                    editable: editable_of(&d),
                    written: d.get_document("pipeline_written").ok().map(written_of),
                    review: review_status(&d),
                },
            );
        }
        Ok(out)
    }

    /// Owner uuid of each of `signatures` already recorded and not retired.
    pub async fn signature_owners(
        &self,
        signatures: &[String],
    ) -> Result<BTreeMap<String, String>, StoreError> {
        if signatures.is_empty() {
            return Ok(BTreeMap::new());
        }
        let mut cursor = self
            .signatures()
            .find(doc! { "_id": { "$in": signatures }, "retired_at": { "$exists": false } })
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

    /// Applies one action of the plan: the document write, with the marker and
    /// choreography-link rules the plan states ([`Action::marker`],
    /// [`Action::choreo_borrow`]), after checking the document as it will be stored
    /// against the app contract ([`Applied::Rejected`]: nothing written). An update that
    /// lost a race (another writer changed the document since it was read) is
    /// [`Applied::LostRace`]; the caller reports both.
    pub async fn apply_action(
        &self,
        action: &Action,
        now: DateTime<Utc>,
        today: &str,
    ) -> Result<Applied, StoreError> {
        self.apply_action_keeping(action, Keep::default(), now, today)
            .await
    }

    /// [`Store::apply_action`], leaving the stored fields `keep` names alone (a person's
    /// edit, decided by the plan: [`crate::reconcile::Plan::keep`]). Every field the
    /// write sets from the page is recorded in `pipeline_written`.
    pub async fn apply_action_keeping(
        &self,
        action: &Action,
        keep: Keep,
        now: DateTime<Utc>,
        today: &str,
    ) -> Result<Applied, StoreError> {
        self.apply_action_cached(action, keep, now, today, None)
            .await
    }

    /// What the app contract checks of a run's workshops point at, read once for the
    /// run ([`Store::apply_action_cached`]): the studio and every artist the plan's
    /// drafts name. Two reads per run instead of two per written workshop.
    pub async fn reference_cache(
        &self,
        studio_id: &str,
        artist_ids: std::collections::BTreeSet<String>,
    ) -> Result<ReferenceCache, StoreError> {
        let ids: Vec<String> = artist_ids.iter().cloned().collect();
        Ok(ReferenceCache {
            refs: self.contract_references(studio_id, &ids).await?,
            studio: studio_id.to_string(),
            asked: artist_ids,
        })
    }

    /// [`Store::apply_action_keeping`] with the run's [`ReferenceCache`]: a document
    /// whose studio and artists the cache was asked about is checked against it; any
    /// other (a kept artist list the plan's drafts do not name) is looked up as before.
    pub async fn apply_action_cached(
        &self,
        action: &Action,
        keep: Keep,
        now: DateTime<Utc>,
        today: &str,
        cache: Option<&ReferenceCache>,
    ) -> Result<Applied, StoreError> {
        match action {
            Action::Insert { .. } => match self.prepare_insert(action, now, today, cache).await? {
                Err(rejected) => Ok(Applied::Rejected(rejected)),
                Ok(prepared) => {
                    self.write_inserts(std::slice::from_ref(&prepared)).await?;
                    Ok(if prepared.held {
                        Applied::Held
                    } else {
                        Applied::Done
                    })
                }
            },
            Action::Update {
                draft,
                expected_version,
                newly_matched,
                ..
            } => {
                let mut fields = draft_fields(draft)?;
                if !keep.choreo {
                    if let Some(borrow) = action.choreo_borrow() {
                        if let Some(link) = self.choreo_link_of(&borrow).await? {
                            fields.insert("choreo_insta_link", link);
                        }
                    }
                }
                for key in keep.fields() {
                    fields.remove(key);
                }
                // What the page wrote is recorded; a kept field keeps its record, so
                // it stays a person's.
                for key in EDITABLE_KEYS {
                    if let Some(v) = fields.get(key).cloned() {
                        fields.insert(format!("pipeline_written.{key}"), v);
                    }
                }
                fields.insert("updated_at", unix_seconds(now));
                fields.insert("is_archived", false);
                let filter = doc! { "uuid": draft.uuid(), "version": expected_version };
                let Some(mut after) = self
                    .workshops()
                    .find_one(filter.clone())
                    .await
                    .map_err(StoreError::op("find", WORKSHOPS))?
                else {
                    return Ok(Applied::LostRace);
                };
                after.remove("archived_at");
                let previous = previous_schedule(&after);
                let hold = review_hold(action, review_status(&after));
                if let Some(reasons) = &hold {
                    fields.insert("review", held(draft, reasons, now));
                }
                for (k, v) in fields.iter().filter(|(k, _)| !k.contains('.')) {
                    after.insert(k.clone(), v.clone());
                }
                if let Err(rejected) = self.check_workshop(&after, cache).await? {
                    return Ok(Applied::Rejected(rejected));
                }
                self.claim_signature(draft, now, today).await?;
                Ok(
                    if self
                        .update_with_marker(
                            filter,
                            fields,
                            action.marker(),
                            newly_matched,
                            previous,
                            now,
                        )
                        .await?
                    {
                        if hold.is_some() {
                            Applied::Held
                        } else {
                            Applied::Done
                        }
                    } else {
                        Applied::LostRace
                    },
                )
            }
            Action::Unchanged { uuid } => {
                // Documents stored before `workshop_uuid` was written get it once (the
                // app's server keeps a unique index on it); afterwards this matches
                // nothing and writes nothing.
                self.workshops()
                    .update_one(
                        doc! { "uuid": uuid, "workshop_uuid": { "$ne": uuid } },
                        doc! { "$set": { "workshop_uuid": uuid } },
                    )
                    .await
                    .map_err(StoreError::op("update", WORKSHOPS))?;
                // Only the day of the last sighting is kept, so a second run on the same
                // day writes nothing at all.
                self.signatures()
                    .update_many(
                        doc! { "uuid": uuid, "last_seen_on": { "$ne": today }, "retired_at": { "$exists": false } },
                        doc! { "$set": { "last_seen_on": today } },
                    )
                    .await
                    .map_err(StoreError::op("update", SIGNATURES))?;
                Ok(Applied::Done)
            }
            Action::Duplicate { .. } => Ok(Applied::Done),
        }
    }

    /// An insert checked against the app contract and ready to write (its signature
    /// claim and its document upsert, written by [`Store::write_inserts`]); `Ok(Err(..))`
    /// when the contract refuses it. `action` must be an [`Action::Insert`].
    pub async fn prepare_insert(
        &self,
        action: &Action,
        now: DateTime<Utc>,
        today: &str,
        cache: Option<&ReferenceCache>,
    ) -> Result<Result<PreparedInsert, Rejected>, StoreError> {
        let Action::Insert { draft, .. } = action else {
            return Err(StoreError::Malformed {
                collection: WORKSHOPS,
                message: format!(
                    "{}: prepare_insert of an action that is not an insert",
                    action.uuid()
                ),
            });
        };
        let mut fields = draft_fields(draft)?;
        let mut values = crate::reconcile::editable_of_draft(draft.draft());
        if let Some(borrow) = action.choreo_borrow() {
            if let Some(link) = self.choreo_link_of(&borrow).await? {
                fields.insert("choreo_insta_link", &link);
                values.choreo_insta_link = Some(link);
            }
        }
        fields.insert("pipeline_written", written_doc(&Written::of(&values)));
        fields.insert("updated_at", unix_seconds(now));
        fields.insert("version", 1_i32);
        fields.insert("is_archived", false);
        fields.insert("first_seen_at", now);
        if let MarkerWrite::Set(kind) = action.marker() {
            fields.insert("pending_fanout", pending(kind, now));
        }
        let hold = review_hold(action, None);
        if let Some(reasons) = &hold {
            fields.insert("review", held(draft, reasons, now));
        }
        // Given here (not left to the server) so that the contract check sees the
        // document exactly as stored; on a replay `$setOnInsert` keeps the first.
        fields.insert("_id", ObjectId::new());
        if let Err(rejected) = self.check_workshop(&fields, cache).await? {
            return Ok(Err(rejected));
        }
        Ok(Ok(PreparedInsert {
            held: hold.is_some(),
            signature: signature_claim(draft, now, today),
            workshop: doc! {
                "q": { "uuid": draft.uuid() },
                "u": { "$setOnInsert": fields },
                "upsert": true,
            },
        }))
    }

    /// Writes prepared inserts: every signature claim first (one multi-statement
    /// `update`), then every document (another), so a crash in between leaves claimed
    /// signatures whose documents the next run writes, as with one insert at a time.
    pub async fn write_inserts(&self, batch: &[PreparedInsert]) -> Result<(), StoreError> {
        for chunk in batch.chunks(1000) {
            let claims: Vec<&Document> = chunk.iter().map(|p| &p.signature).collect();
            self.update_statements(SIGNATURES, "upsert", &claims)
                .await?;
            let docs: Vec<&Document> = chunk.iter().map(|p| &p.workshop).collect();
            self.update_statements(WORKSHOPS, "upsert", &docs).await?;
        }
        Ok(())
    }

    /// One `update` command carrying `statements`; a refused statement is an error that
    /// names the collection and the first refusal.
    async fn update_statements(
        &self,
        collection: &'static str,
        what: &'static str,
        statements: &[&Document],
    ) -> Result<(), StoreError> {
        if statements.is_empty() {
            return Ok(());
        }
        let reply = self
            .discovery
            .run_command(doc! { "update": collection, "updates": statements, "ordered": false })
            .await
            .map_err(StoreError::op(what, collection))?;
        if let Ok(errors) = reply.get_array("writeErrors") {
            if let Some(first) = errors.first() {
                return Err(StoreError::Malformed {
                    collection,
                    message: format!("{} write(s) refused, first: {first}", errors.len()),
                });
            }
        }
        Ok(())
    }

    /// The app contract on a workshop document as it will be stored: `Ok(Err(..))`
    /// names the broken rules and the page.
    pub(crate) async fn check_workshop(
        &self,
        d: &Document,
        cache: Option<&ReferenceCache>,
    ) -> Result<Result<(), Rejected>, StoreError> {
        let studio = d.get_str("studio_id").unwrap_or_default();
        let artists = read_strings(d, "artist_id_list");
        if let Some(c) = cache.filter(|c| c.covers(studio, &artists)) {
            return Ok(contract::validate_workshop(&contract_view(d), &c.refs));
        }
        let refs = self.contract_references(studio, &artists).await?;
        Ok(contract::validate_workshop(&contract_view(d), &refs))
    }

    /// What a workshop's references must point at: its studio and its artists.
    pub(crate) async fn contract_references(
        &self,
        studio_id: &str,
        artist_ids: &[String],
    ) -> Result<References, StoreError> {
        let mut refs = References::new();
        if self
            .discovery
            .collection::<Document>(STUDIOS)
            .find_one(doc! { "studio_id": studio_id })
            .projection(doc! { "_id": 1 })
            .await
            .map_err(StoreError::op("find", STUDIOS))?
            .is_some()
        {
            refs.add_studio(studio_id);
        }
        for a in self
            .artists_with_ids(artist_ids, doc! { "artist_id": 1, "instagram_link": 1 })
            .await?
        {
            if let Ok(id) = a.get_str("artist_id") {
                refs.add_artist(id, a.get_str("instagram_link").ok());
            }
        }
        Ok(refs)
    }

    /// One update of a stored workshop (version + 1, unarchived) with the marker rule;
    /// each attempt is one atomic write.
    async fn update_with_marker(
        &self,
        filter: Document,
        fields: Document,
        marker: MarkerWrite,
        only_artists: &[String],
        previous: Option<Vec<Bson>>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let update = |fields: Document| {
            doc! {
                "$set": fields,
                "$unset": { "archived_at": "" },
                "$inc": { "version": 1_i32 },
            }
        };
        let (set, unless) = match marker {
            MarkerWrite::Leave => (None, None),
            MarkerWrite::Set(kind) => (Some(kind), None),
            MarkerWrite::SetUnlessPending { set, unless } => (Some(set), Some(unless)),
        };
        if let Some(kind) = set {
            let mut with_marker = fields.clone();
            let mut marker_doc = pending(kind, now);
            if kind == Announcement::NewWorkshop && !only_artists.is_empty() {
                // Only the newly matched artists' followers: the others were told when
                // the workshop was new.
                marker_doc.insert("artist_ids", only_artists);
            }
            if kind == Announcement::ScheduleChange {
                if let Some(previous) = &previous {
                    // The push says from what to what.
                    marker_doc.insert("previous_time_details", previous.clone());
                }
            }
            with_marker.insert("pending_fanout", marker_doc);
            let mut guarded = filter.clone();
            if let Some(pending_kind) = unless {
                guarded.insert(
                    "pending_fanout.kind",
                    doc! { "$ne": marker_kind(pending_kind).as_str() },
                );
            }
            let result = self
                .workshops()
                .update_one(guarded, update(with_marker))
                .await
                .map_err(StoreError::op("update", WORKSHOPS))?;
            if result.matched_count == 1 || unless.is_none() {
                return Ok(result.matched_count == 1);
            }
        }
        let result = self
            .workshops()
            .update_one(filter, update(fields))
            .await
            .map_err(StoreError::op("update", WORKSHOPS))?;
        Ok(result.matched_count == 1)
    }

    async fn claim_signature(
        &self,
        draft: &Identified,
        now: DateTime<Utc>,
        today: &str,
    ) -> Result<(), StoreError> {
        let claim = signature_claim(draft, now, today);
        self.update_statements(SIGNATURES, "upsert", &[&claim])
            .await
    }

    /// Retires signatures their workshop no longer carries (`(signature, uuid)` pairs
    /// from the plan): kept for history, they no longer mark duplicates. Only a
    /// signature still owned by that uuid is touched, so a claim by another workshop
    /// meanwhile stands. Returns how many were retired.
    pub async fn retire_signatures(
        &self,
        retire: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut retired = 0;
        for (signature, uuid) in retire {
            let r = self
                .signatures()
                .update_one(
                    doc! { "_id": signature, "uuid": uuid, "retired_at": { "$exists": false } },
                    doc! { "$set": { "retired_at": now } },
                )
                .await
                .map_err(StoreError::op("update", SIGNATURES))?;
            retired += r.modified_count;
        }
        Ok(retired)
    }

    /// The choreography reel recorded for these artists and song: first the admins' map
    /// (`choreo_links`, songs stored lower-case, artists in any order), then a stored
    /// workshop that has one.
    async fn choreo_link_of(
        &self,
        borrow: &ChoreoBorrow<'_>,
    ) -> Result<Option<String>, StoreError> {
        let song = borrow.song.trim();
        let recorded = self
            .discovery
            .collection::<Document>(CHOREO_LINKS)
            .find_one(doc! {
                "artist_id_list": { "$all": borrow.artist_ids, "$size": borrow.artist_ids.len() as i32 },
                "song": { "$in": [song, song.to_lowercase()] },
                "choreo_insta_link": { "$regex": "^https?://" },
            })
            .projection(doc! { "choreo_insta_link": 1 })
            .await
            .map_err(StoreError::op("find", CHOREO_LINKS))?;
        if let Some(link) =
            recorded.and_then(|d| d.get_str("choreo_insta_link").ok().map(str::to_string))
        {
            return Ok(Some(link));
        }
        let found = self
            .workshops()
            .find_one(doc! {
                "artist_id_list": borrow.artist_ids,
                "song": borrow.song,
                "choreo_insta_link": { "$type": "string", "$ne": "" },
            })
            .projection(doc! { "choreo_insta_link": 1 })
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?;
        Ok(found.and_then(|d| d.get_str("choreo_insta_link").ok().map(str::to_string)))
    }

    /// Gives workshops written before `pipeline_written` existed their record (see
    /// [`crate::reconcile::Plan::record_written`]); a document that has one meanwhile is
    /// left alone, so this writes each document at most once.
    pub async fn record_pipeline_written(
        &self,
        records: &[(String, Written)],
    ) -> Result<u64, StoreError> {
        let mut written = 0;
        for (uuid, record) in records {
            let r = self
                .workshops()
                .update_one(
                    doc! { "uuid": uuid, "pipeline_written": { "$exists": false } },
                    doc! { "$set": { "pipeline_written": written_doc(record) } },
                )
                .await
                .map_err(StoreError::op("update", WORKSHOPS))?;
            written += r.modified_count;
        }
        Ok(written)
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

/// The schedule followers last heard of, for a schedule change's marker: the one a
/// still-pending schedule change already carries (they were not told of the one in
/// between), else the stored `time_details`.
fn previous_schedule(stored: &Document) -> Option<Vec<Bson>> {
    stored
        .get_document("pending_fanout")
        .ok()
        .filter(|m| m.get_str("kind").map(FanoutKind::parse) == Ok(FanoutKind::ScheduleChange))
        .and_then(|m| m.get_array("previous_time_details").ok())
        .or_else(|| stored.get_array("time_details").ok())
        .cloned()
}

/// Where a stored workshop's review stands (`review.status`).
pub(crate) fn review_status(d: &Document) -> Option<ReviewStatus> {
    d.get_document("review")
        .ok()
        .and_then(|r| r.get_str("status").ok())
        .and_then(ReviewStatus::parse)
}

/// The `review` subdocument of a workshop held for a person: why, and what to show.
fn held(draft: &Identified, reasons: &[String], now: DateTime<Utc>) -> Document {
    let c = draft.confidence().cloned().unwrap_or_default();
    doc! {
        "status": ReviewStatus::Held.as_str(),
        "reasons": reasons,
        "verdict": c.verdict,
        "title": c.title,
        "held_at": now,
    }
}

/// The person-editable keys, as recorded in `pipeline_written`.
const EDITABLE_KEYS: [&str; 4] = ["artist_id_list", "by", "song", "choreo_insta_link"];

fn opt_str(d: &Document, key: &str) -> Option<String> {
    d.get_str(key).ok().map(str::to_string)
}

/// The stored values of the person-editable fields.
pub(crate) fn editable_of(d: &Document) -> Editable {
    Editable {
        artist_id_list: read_strings(d, "artist_id_list"),
        by: d.get_str("by").unwrap_or_default().to_string(),
        song: opt_str(d, "song"),
        choreo_insta_link: opt_str(d, "choreo_insta_link"),
    }
}

/// A `pipeline_written` record (a key that is null or absent: nothing written there).
pub(crate) fn written_of(d: &Document) -> Written {
    Written {
        artist_id_list: d
            .get_array("artist_id_list")
            .ok()
            .map(|_| read_strings(d, "artist_id_list")),
        by: opt_str(d, "by"),
        song: opt_str(d, "song"),
        choreo_insta_link: opt_str(d, "choreo_insta_link"),
    }
}

pub(crate) fn written_doc(w: &Written) -> Document {
    doc! {
        "artist_id_list": w.artist_id_list.as_ref().map(|v| Bson::from(v.clone())).unwrap_or(Bson::Null),
        "by": w.by.as_deref(),
        "song": w.song.as_deref(),
        "choreo_insta_link": w.choreo_insta_link.as_deref(),
    }
}

fn marker_kind(kind: Announcement) -> FanoutKind {
    FanoutKind::from(kind)
}

fn pending(kind: Announcement, now: DateTime<Utc>) -> Document {
    doc! { "kind": marker_kind(kind).as_str(), "since": now }
}

/// The app's fields plus our bookkeeping, in the exact BSON types the app reads.
fn draft_fields(draft: &Identified) -> Result<Document, StoreError> {
    let mut d = mongodb::bson::to_document(draft.draft()).map_err(|e| StoreError::Malformed {
        collection: WORKSHOPS,
        message: format!("cannot encode workshop {}: {e}", draft.uuid()),
    })?;
    // The app's server keeps a unique index on `workshop_uuid`.
    d.insert("workshop_uuid", draft.uuid());
    d.insert("content_hash", draft.content_hash());
    d.insert("signature", draft.signature());
    d.insert("written_by", WRITER);
    if let Some(c) = draft.confidence() {
        d.insert("confidence", c.verdict.as_str());
    }
    Ok(d)
}

/// A workshop's `pending_fanout` marker: what to announce, and since when (the same
/// `kind` and `since` identify it when it is cleared, so a newer one is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FanoutMarker {
    pub kind: FanoutKind,
    pub since: Option<DateTime<Utc>>,
}

/// What the notifier reads of a `workshops_v2` document.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyWorkshop {
    pub uuid: String,
    /// The event signature when the pipeline wrote one.
    pub signature: Option<String>,
    pub studio_id: String,
    pub by: String,
    pub song: Option<String>,
    pub event_type: String,
    pub is_archived: bool,
    /// Distinct, non-empty, in stored order.
    pub artist_ids: Vec<String>,
    /// The sessions, typed: `time_details` read back at the store's edge (entries
    /// without a readable date or start time are skipped).
    pub sessions: Vec<Session>,
    pub pending_fanout: Option<FanoutMarker>,
    /// When the marker names artists (a workshop that newly matched them): fan out to
    /// their followers only, and only to those never told of the workshop.
    pub fanout_only_artists: Vec<String>,
    /// A schedule change's previous sessions (`pending_fanout.previous_time_details`),
    /// typed; empty when unknown.
    pub previous_sessions: Vec<Session>,
}

fn notify_projection() -> Document {
    doc! {
        "uuid": 1, "signature": 1, "studio_id": 1, "by": 1, "song": 1, "event_type": 1,
        "is_archived": 1, "artist_id_list": 1, "time_details": 1, "pending_fanout": 1,
    }
}

impl NotifyWorkshop {
    fn from_doc(d: &Document) -> NotifyWorkshop {
        let mut artist_ids: Vec<String> = Vec::new();
        for id in read_strings(d, "artist_id_list") {
            if !id.is_empty() && !artist_ids.contains(&id) {
                artist_ids.push(id);
            }
        }
        let sessions = sessions_in(d, "time_details");
        let fanout_only_artists = d
            .get_document("pending_fanout")
            .map(|m| read_strings(m, "artist_ids"))
            .unwrap_or_default();
        let previous_sessions = d
            .get_document("pending_fanout")
            .ok()
            .map(|m| sessions_in(m, "previous_time_details"))
            .unwrap_or_default();
        let pending_fanout = d.get_document("pending_fanout").ok().map(|m| FanoutMarker {
            kind: FanoutKind::parse(m.get_str("kind").unwrap_or_default()),
            since: m.get_datetime("since").ok().map(|t| t.to_chrono()),
        });
        NotifyWorkshop {
            uuid: d.get_str("uuid").unwrap_or_default().to_string(),
            signature: d
                .get_str("signature")
                .ok()
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            studio_id: d.get_str("studio_id").unwrap_or_default().to_string(),
            by: d.get_str("by").unwrap_or_default().to_string(),
            song: d
                .get_str("song")
                .ok()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            event_type: d.get_str("event_type").unwrap_or("workshop").to_string(),
            is_archived: d.get_bool("is_archived").unwrap_or(false),
            artist_ids,
            sessions,
            pending_fanout,
            fanout_only_artists,
            previous_sessions,
        }
    }
}

/// A `time_details`-shaped array back as typed sessions (unreadable entries skipped).
fn sessions_in(d: &Document, key: &str) -> Vec<Session> {
    d.get_array(key)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_document())
                .filter_map(lenient_time_detail)
                .filter_map(|t| Session::from_time_detail(&t))
                .collect()
        })
        .unwrap_or_default()
}

/// A `time_details` entry whatever numeric type the app stored its date in.
pub(crate) fn lenient_time_detail(t: &Document) -> Option<TimeDetail> {
    let int = |k: &str| read_int(t, k).and_then(|v| i32::try_from(v).ok());
    Some(TimeDetail {
        day: int("day")?,
        month: int("month")?,
        year: int("year")?,
        start_time: t.get_str("start_time").ok()?.to_string(),
        end_time: t.get_str("end_time").unwrap_or_default().to_string(),
    })
}

impl Store {
    async fn notify_workshops(&self, filter: Document) -> Result<Vec<NotifyWorkshop>, StoreError> {
        let docs: Vec<Document> = self
            .workshops()
            .find(filter)
            .projection(notify_projection())
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?
            .try_collect()
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?;
        Ok(docs.iter().map(NotifyWorkshop::from_doc).collect())
    }

    /// Workshops carrying a `pending_fanout` marker, except those a person has still to
    /// confirm (held for review) or rejected: their marker waits.
    pub async fn workshops_to_fan_out(&self) -> Result<Vec<NotifyWorkshop>, StoreError> {
        self.notify_workshops(doc! {
            "pending_fanout": { "$exists": true },
            "review.status": { "$nin": [ReviewStatus::Held.as_str(), ReviewStatus::Rejected.as_str()] },
        })
        .await
    }

    /// Live, non-`regulars` workshops with an artist and a session in `first_year` or
    /// later: the ones a reminder scan looks at.
    pub async fn reminder_candidates(
        &self,
        first_year: i32,
    ) -> Result<Vec<NotifyWorkshop>, StoreError> {
        self.notify_workshops(doc! {
            "is_archived": { "$ne": true },
            "review.status": { "$nin": [ReviewStatus::Held.as_str(), ReviewStatus::Rejected.as_str()] },
            "event_type": { "$ne": "regulars" },
            "artist_id_list.0": { "$exists": true },
            "time_details.year": { "$gte": first_year },
        })
        .await
    }

    /// Removes a workshop's `pending_fanout` marker if it is still `marker` (same
    /// `kind` and `since`); a newer marker set meanwhile stays. True if removed.
    pub async fn clear_fanout_marker(
        &self,
        uuid: &str,
        marker: &FanoutMarker,
    ) -> Result<bool, StoreError> {
        let since = marker
            .since
            .map(|t| Bson::DateTime(bson_time(t)))
            .unwrap_or(Bson::Null);
        let result = self
            .workshops()
            .update_one(
                doc! { "uuid": uuid, "pending_fanout.kind": marker.kind.as_str(), "pending_fanout.since": since },
                doc! { "$unset": { "pending_fanout": "" } },
            )
            .await
            .map_err(StoreError::op("update", WORKSHOPS))?;
        Ok(result.modified_count == 1)
    }

    /// Display names of artists by id (non-empty names only).
    pub async fn artist_names(
        &self,
        artist_ids: &[String],
    ) -> Result<HashMap<String, String>, StoreError> {
        let mut names = HashMap::new();
        for a in self
            .artists_with_ids(artist_ids, doc! { "artist_id": 1, "artist_name": 1 })
            .await?
        {
            if let (Ok(id), Ok(name)) = (a.get_str("artist_id"), a.get_str("artist_name")) {
                if !name.trim().is_empty() {
                    names.insert(id.to_string(), name.trim().to_string());
                }
            }
        }
        Ok(names)
    }

    /// A studio's display name, when `studios` has a non-empty one.
    pub async fn studio_name(&self, studio_id: &str) -> Result<Option<String>, StoreError> {
        Ok(self
            .discovery
            .collection::<Document>(STUDIOS)
            .find_one(doc! { "studio_id": studio_id })
            .projection(doc! { "studio_name": 1 })
            .await
            .map_err(StoreError::op("find", STUDIOS))?
            .and_then(|s| s.get_str("studio_name").ok().map(str::to_string))
            .filter(|s| !s.trim().is_empty()))
    }
}
