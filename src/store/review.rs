//! `workshops_v2.review`: workshops held for a person because their date or artist rests
//! on weak evidence (`reconcile::review_hold`), and that person's decision.
//!
//! A held workshop is stored and listed like any other, but its `pending_fanout` marker
//! waits: fan-out and reminders leave it alone (`workshops_to_fan_out`,
//! `reminder_candidates`). Approving lets the marker go to fan-out; rejecting archives
//! the workshop (never deletes it) and drops the marker. Both are single conditional
//! updates, so repeating one changes nothing.

use super::schema::WORKSHOPS;
use super::workshops::review_status;
use super::{read_strings, unix_seconds, Store, StoreError};
use crate::reconcile::ReviewStatus;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use serde::Serialize;

/// A workshop waiting for a person's review, as `review` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldWorkshop {
    pub uuid: String,
    pub studio_id: String,
    /// The page's title for the event, when it had one.
    pub title: Option<String>,
    pub song: Option<String>,
    pub by: String,
    /// Why the date or artist is weak.
    pub reasons: Vec<String>,
    /// The confidence verdict, e.g. `date: loose page text (weak); artist: handle (strong)`.
    pub verdict: String,
    /// The page (`payment_link`).
    pub page_url: String,
    pub held_at: Option<DateTime<Utc>>,
    /// What is waiting to be announced (`new_workshop`, `schedule_change`), if anything.
    pub pending: Option<String>,
}

/// What a review decision did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// The decision was recorded now.
    Recorded,
    /// The workshop already had this decision: nothing changed.
    Already,
    /// No workshop has this uuid.
    Unknown,
    /// Approving a workshop a person rejected: refused (reject is final).
    WasRejected,
    /// Approving a workshop that was never held: it is announced as usual.
    NotHeld,
}

impl Store {
    fn review_workshops(&self) -> mongodb::Collection<Document> {
        self.discovery.collection(WORKSHOPS)
    }

    /// Workshops held for review, oldest hold first.
    pub async fn held_workshops(&self) -> Result<Vec<HeldWorkshop>, StoreError> {
        let docs: Vec<Document> = self
            .review_workshops()
            .find(doc! { "review.status": ReviewStatus::Held.as_str() })
            .sort(doc! { "review.held_at": 1, "uuid": 1 })
            .projection(doc! {
                "uuid": 1, "studio_id": 1, "song": 1, "by": 1, "payment_link": 1,
                "review": 1, "pending_fanout.kind": 1,
            })
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?
            .try_collect()
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?;
        Ok(docs
            .iter()
            .map(|d| {
                let review = d.get_document("review").ok();
                let text = |k: &str| d.get_str(k).unwrap_or_default().to_string();
                HeldWorkshop {
                    uuid: text("uuid"),
                    studio_id: text("studio_id"),
                    title: review
                        .and_then(|r| r.get_str("title").ok())
                        .map(str::to_string),
                    song: d.get_str("song").ok().map(str::to_string),
                    by: text("by"),
                    reasons: review
                        .map(|r| read_strings(r, "reasons"))
                        .unwrap_or_default(),
                    verdict: review
                        .and_then(|r| r.get_str("verdict").ok())
                        .unwrap_or_default()
                        .to_string(),
                    page_url: text("payment_link"),
                    held_at: review
                        .and_then(|r| r.get_datetime("held_at").ok())
                        .map(|t| t.to_chrono()),
                    pending: d
                        .get_document("pending_fanout")
                        .ok()
                        .and_then(|m| m.get_str("kind").ok())
                        .map(str::to_string),
                }
            })
            .collect())
    }

    /// The review state of a workshop: `None` when no workshop has this uuid, else its
    /// status (`None` inside: never held).
    async fn review_of(&self, uuid: &str) -> Result<Option<Option<ReviewStatus>>, StoreError> {
        Ok(self
            .review_workshops()
            .find_one(doc! { "uuid": uuid })
            .projection(doc! { "review.status": 1 })
            .await
            .map_err(StoreError::op("find", WORKSHOPS))?
            .map(|d| review_status(&d)))
    }

    /// A person confirms a held workshop: its waiting marker goes to the next fan-out
    /// (the caller runs it), and later ingests never hold it again.
    pub async fn approve_review(
        &self,
        uuid: &str,
        now: DateTime<Utc>,
    ) -> Result<Decision, StoreError> {
        let r = self
            .review_workshops()
            .update_one(
                doc! { "uuid": uuid, "review.status": ReviewStatus::Held.as_str() },
                doc! { "$set": {
                    "review.status": ReviewStatus::Approved.as_str(),
                    "review.decided_at": now,
                } },
            )
            .await
            .map_err(StoreError::op("update", WORKSHOPS))?;
        if r.matched_count == 1 {
            return Ok(Decision::Recorded);
        }
        Ok(match self.review_of(uuid).await? {
            None => Decision::Unknown,
            Some(Some(ReviewStatus::Approved)) => Decision::Already,
            Some(Some(ReviewStatus::Rejected)) => Decision::WasRejected,
            // Held again between the two reads cannot happen (held is only ever set on
            // a workshop without a review); report it as not held.
            Some(_) => Decision::NotHeld,
        })
    }

    /// A person rejects a workshop: archived (version + 1 when it was live), its marker
    /// dropped, and re-ingests leave it archived. Works on any workshop, held or not.
    pub async fn reject_review(
        &self,
        uuid: &str,
        now: DateTime<Utc>,
    ) -> Result<Decision, StoreError> {
        let not_rejected = doc! { "$ne": ReviewStatus::Rejected.as_str() };
        let decided = doc! {
            "review.status": ReviewStatus::Rejected.as_str(),
            "review.decided_at": now,
        };
        // A live one is archived as the pipeline archives (version + 1).
        let r = self
            .review_workshops()
            .update_one(
                doc! { "uuid": uuid, "review.status": not_rejected.clone(), "is_archived": { "$ne": true } },
                doc! {
                    "$set": {
                        "review.status": ReviewStatus::Rejected.as_str(),
                        "review.decided_at": now,
                        "is_archived": true,
                        "archived_at": now,
                        "updated_at": unix_seconds(now),
                    },
                    "$inc": { "version": 1_i32 },
                    "$unset": { "pending_fanout": "" },
                },
            )
            .await
            .map_err(StoreError::op("update", WORKSHOPS))?;
        if r.matched_count == 1 {
            return Ok(Decision::Recorded);
        }
        // Already archived: only the decision is recorded.
        let r = self
            .review_workshops()
            .update_one(
                doc! { "uuid": uuid, "review.status": not_rejected },
                doc! { "$set": decided, "$unset": { "pending_fanout": "" } },
            )
            .await
            .map_err(StoreError::op("update", WORKSHOPS))?;
        if r.matched_count == 1 {
            return Ok(Decision::Recorded);
        }
        Ok(match self.review_of(uuid).await? {
            None => Decision::Unknown,
            Some(_) => Decision::Already,
        })
    }
}
