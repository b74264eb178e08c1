//! Decides what a studio run does to the store, as a pure function of the extracted
//! drafts and what the store already holds. `--dry-run` prints this plan; a real run
//! applies it. Keeping the decisions here keeps the store a thin executor and makes
//! every rule (dedup, versioning, archiving, the safety brake) unit-testable.
//!
//! Two rules guard against reading absence as evidence:
//! * a listed event page that answers but yields no event (a maintenance page, a body cut
//!   short) or cannot be read keeps the workshops it yielded before: it is a failed page
//!   ([`page_evidence`]), so the run archives nothing and the next run retries it.
//!   Archiving needs the page gone from the listing of a run that read everything
//!   ([`archive_policy`]).
//! * a signature marks a duplicate only while it is its owner's current identity: a
//!   workshop whose sessions or artists changed retires its old signature
//!   ([`Plan::retire_signatures`]), and an owner whose stored signature is another one
//!   does not claim the old one even before it is retired.

use crate::edits::{self, Editable, Keep, KeptEdit, Written};
use crate::workshop::{Identified, TimeDetail, WorkshopDraft};
use std::collections::{BTreeMap, BTreeSet};

/// A page's values of the person-editable fields.
pub fn editable_of_draft(d: &WorkshopDraft) -> Editable {
    Editable {
        artist_id_list: d.artist_id_list.clone(),
        by: d.by.clone(),
        song: d.song.clone(),
        choreo_insta_link: d.choreo_insta_link.clone(),
    }
}

/// The content hash of the page's draft with the kept fields set to the stored
/// (person's) values.
pub fn kept_values_hash(draft: &WorkshopDraft, stored: &Editable, keep: Keep) -> String {
    let mut d = draft.clone();
    if keep.artists {
        d.artist_id_list = stored.artist_id_list.clone();
        d.by = stored.by.clone();
    }
    if keep.song {
        d.song = stored.song.clone();
    }
    d.content_hash()
}

/// Whether two `time_details` lists hold the same sessions, in any order.
fn same_sessions(a: &[TimeDetail], b: &[TimeDetail]) -> bool {
    let key = |t: &TimeDetail| {
        (
            t.year,
            t.month,
            t.day,
            t.start_time.clone(),
            t.end_time.clone(),
        )
    };
    let mut a: Vec<_> = a.iter().map(key).collect();
    let mut b: Vec<_> = b.iter().map(key).collect();
    a.sort();
    b.sort();
    a == b
}

/// What the store holds of one workshop, as much as reconciliation needs.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWorkshop {
    pub uuid: String,
    pub content_hash: Option<String>,
    pub version: i64,
    pub is_archived: bool,
    /// Only `url` workshops are the pipeline's; hand-entered ones are never archived.
    pub payment_link_type: Option<String>,
    pub time_details: Vec<TimeDetail>,
    /// The signature the document was last written with (its current identity);
    /// `None` for documents the pipeline did not write.
    pub signature: Option<String>,
    /// The artists the stored document names (`artist_id_list`).
    pub artist_ids: Vec<String>,
    /// The stored values of the fields a person may edit.
    pub editable: Editable,
    /// What the pipeline last wrote to them (`pipeline_written`); `None` when the
    /// document has no record.
    pub written: Option<Written>,
    /// Where a person's review of the workshop stands (`None`: never held).
    pub review: Option<ReviewStatus>,
}

/// A workshop held for review because its date or artist rests on weak evidence, and
/// what a person decided (`nachna-ingest review approve|reject`). Stored as the
/// lowercase strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    /// Stored and listed, but not announced until a person confirms it.
    Held,
    /// A person confirmed it: announced, and never held again.
    Approved,
    /// A person rejected it: archived, never announced, and a re-ingest leaves it so.
    Rejected,
}

impl ReviewStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Held => "held",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Rejected => "rejected",
        }
    }

    pub fn parse(text: &str) -> Option<ReviewStatus> {
        match text {
            "held" => Some(ReviewStatus::Held),
            "approved" => Some(ReviewStatus::Approved),
            "rejected" => Some(ReviewStatus::Rejected),
            _ => None,
        }
    }
}

/// The review rule: a write that announces a workshop (its marker is set) whose draft
/// rests on weak evidence holds the announcement for a person, unless a person has
/// already decided on this workshop (approved stays approved; a held one stays held).
/// Returns the reasons to store with the hold.
pub fn review_hold(action: &Action, stored: Option<ReviewStatus>) -> Option<Vec<String>> {
    let draft = match action {
        Action::Insert {
            draft,
            announce: Some(_),
        }
        | Action::Update {
            draft,
            announce: Some(_),
            ..
        } => draft,
        _ => return None,
    };
    if stored.is_some() {
        return None;
    }
    draft
        .confidence()
        .filter(|c| c.is_weak())
        .map(|c| c.weak.clone())
}

/// Why a workshop goes to the notifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Announcement {
    /// First sighting of the workshop's signature; on an update, the workshop newly
    /// matched artists (see `Action::Update`'s `newly_matched`).
    NewWorkshop,
    /// A stored workshop whose sessions changed.
    ScheduleChange,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Insert {
        draft: Identified,
        announce: Option<Announcement>,
    },
    Update {
        draft: Identified,
        expected_version: i64,
        announce: Option<Announcement>,
        /// Artists the page names now that the stored document did not (an artist or
        /// alias added to `artists_v2` since): with `announce = NewWorkshop`, only their
        /// followers who were never told of the workshop hear of it.
        newly_matched: Vec<String>,
    },
    Unchanged {
        uuid: String,
    },
    /// Same event as `of`, reached through another link: not stored.
    Duplicate {
        uuid: String,
        of: String,
        payment_link: String,
    },
}

/// What a write does with the workshop's `pending_fanout` marker. The store applies it
/// in the same atomic write as the document, so no announcement is lost to a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MarkerWrite {
    Leave,
    Set(Announcement),
    /// Set `set`, unless an `unless` marker is still pending (then leave that one).
    SetUnlessPending {
        set: Announcement,
        unless: Announcement,
    },
}

/// Where a new workshop may borrow its choreography reel: a stored workshop with the
/// same artist list and song that has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChoreoBorrow<'a> {
    pub artist_ids: &'a [String],
    pub song: &'a str,
}

impl Action {
    pub fn uuid(&self) -> &str {
        match self {
            Action::Insert { draft, .. } | Action::Update { draft, .. } => draft.uuid(),
            Action::Unchanged { uuid } | Action::Duplicate { uuid, .. } => uuid,
        }
    }

    /// The marker rule. A new workshop or a schedule change is announced through a
    /// marker written with it; a `new_workshop` marker not yet fanned out survives a
    /// schedule change, so followers who never heard of the workshop get "new" (with
    /// the new schedule), not "rescheduled".
    pub fn marker(&self) -> MarkerWrite {
        match self {
            Action::Insert {
                announce: Some(kind),
                ..
            } => MarkerWrite::Set(*kind),
            Action::Update {
                announce: Some(Announcement::ScheduleChange),
                ..
            } => MarkerWrite::SetUnlessPending {
                set: Announcement::ScheduleChange,
                unless: Announcement::NewWorkshop,
            },
            // Newly matched artists: a pending `new_workshop` (for everyone) already
            // covers them; it is kept rather than narrowed.
            Action::Update {
                announce: Some(Announcement::NewWorkshop),
                ..
            } => MarkerWrite::SetUnlessPending {
                set: Announcement::NewWorkshop,
                unless: Announcement::NewWorkshop,
            },
            _ => MarkerWrite::Leave,
        }
    }

    /// The choreography-link rule: a workshop whose page gives no reel borrows one
    /// recorded for the same artists and song (`choreo_links`, or another workshop).
    /// On an update the store borrows only when the plan's [`Keep`] lets it write the
    /// link (the stored one is empty): a person's or a known reel is never replaced.
    pub fn choreo_borrow(&self) -> Option<ChoreoBorrow<'_>> {
        let (Action::Insert { draft, .. } | Action::Update { draft, .. }) = self else {
            return None;
        };
        let d = draft.draft();
        if d.choreo_insta_link.is_some() || d.artist_id_list.is_empty() {
            return None;
        }
        Some(ChoreoBorrow {
            artist_ids: &d.artist_id_list,
            song: d.song.as_deref()?,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub archive: Vec<String>,
    /// Set when the safety brake stopped archiving; `archive` is then empty.
    pub brake: Option<String>,
    /// `(signature, uuid)`: signatures their workshop no longer carries (its sessions
    /// or artists changed). Retired, they can no longer mark a duplicate.
    pub retire_signatures: Vec<(String, String)>,
    /// Per updated uuid: the stored fields the update leaves alone (a person's edit,
    /// see [`crate::edits`]). A uuid not listed keeps nothing.
    pub keep: BTreeMap<String, Keep>,
    /// Every person's value kept against a differing page value (for the report).
    pub kept_edits: Vec<KeptEdit>,
    /// Unchanged workshops without a `pipeline_written` record (written before records
    /// were kept) and the record to give them: the values of the page, which equal what
    /// was written since the content hash did not change.
    pub record_written: Vec<(String, Written)>,
    /// Drafts that continue a stored workshop under its uuid (the page now names the
    /// event another way): the draft's own uuid -> the stored one. The page records of
    /// the run remember the stored uuid, so an unchanged page still accounts for it.
    pub continued: BTreeMap<String, String>,
}

/// What one listed event page gave this run.
#[derive(Debug, Clone, PartialEq)]
pub enum PageOutcome {
    /// Read and extracted: the workshop uuids it yielded (past ones included).
    Yielded(Vec<String>),
    /// Unchanged since it was last remembered: the uuids it yielded then.
    Unchanged(Vec<String>),
    /// Answered, but no event in it (`reason` from the extractor).
    NoEvent { reason: String },
    /// Could not be read or extracted.
    Failed { error: String },
}

/// What one page tells the plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PageEvidence {
    /// Workshops the page accounts for: this run never archives them.
    pub seen: Vec<String>,
    /// Set when the page counts as failed (the run then archives nothing).
    pub failure: Option<String>,
    /// Whether the page's new record may replace what is remembered of it. A page that
    /// lost its event keeps its old record, so the next run reads it again.
    pub remember: bool,
}

/// Absence is not evidence: a listed page that yielded workshops before and now answers
/// without an event (or not at all) keeps them live and is a failed page. A page that
/// never yielded one is simply not a workshop page.
pub fn page_evidence(url: &str, previous_uuids: &[String], outcome: &PageOutcome) -> PageEvidence {
    match outcome {
        PageOutcome::Yielded(uuids) => PageEvidence {
            seen: uuids.clone(),
            failure: None,
            remember: true,
        },
        PageOutcome::Unchanged(uuids) => PageEvidence {
            seen: uuids.clone(),
            failure: None,
            remember: false,
        },
        PageOutcome::NoEvent { .. } if previous_uuids.is_empty() => PageEvidence {
            seen: Vec::new(),
            failure: None,
            remember: true,
        },
        PageOutcome::NoEvent { reason } => PageEvidence {
            seen: previous_uuids.to_vec(),
            failure: Some(format!(
                "event page {url}: answered but yielded no event ({reason}); it yielded {} before, \
                 so {} kept live and the page is read again next run",
                previous_uuids.join(", "),
                if previous_uuids.len() == 1 { "that workshop is" } else { "those workshops are" }
            )),
            remember: false,
        },
        PageOutcome::Failed { error } => PageEvidence {
            seen: previous_uuids.to_vec(),
            failure: Some(error.clone()),
            remember: false,
        },
    }
}

/// A run may archive only when it read the whole listing, found event links, and read
/// every event page (a failed page includes one that lost its event).
pub fn archive_policy(
    crawl_complete: bool,
    event_links: usize,
    failed_pages: usize,
) -> ArchivePolicy {
    if crawl_complete && event_links > 0 && failed_pages == 0 {
        ArchivePolicy::Allowed
    } else {
        ArchivePolicy::Forbidden
    }
}

/// Whether a run may archive what it did not see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArchivePolicy {
    /// The crawl completed without errors and found event links: archive the rest.
    Allowed,
    /// Partial or failed crawl, or no event links: archive nothing.
    Forbidden,
}

pub struct ReconcileInput<'a> {
    /// Future (or ongoing) workshops extracted in this run, identified once.
    pub drafts: Vec<Identified>,
    /// Every uuid this run accounts for: drafts, past ones skipped, unchanged pages.
    pub seen_uuids: &'a BTreeSet<String>,
    /// The studio's stored workshops by uuid.
    pub stored: &'a BTreeMap<String, StoredWorkshop>,
    /// Owner uuid of each already-known signature among the drafts'.
    pub signature_owners: &'a BTreeMap<String, String>,
    pub archive_policy: ArchivePolicy,
    pub brake_fraction: f64,
}

pub fn reconcile(mut input: ReconcileInput<'_>) -> Plan {
    let mut drafts = std::mem::take(&mut input.drafts);
    drafts.sort_by(|a, b| a.uuid().cmp(b.uuid()));
    drafts.dedup_by(|a, b| a.uuid() == b.uuid());
    let draft_uuids: BTreeSet<String> = drafts.iter().map(|d| d.uuid().to_string()).collect();
    let mut continued = BTreeMap::new();

    // Signatures claimed earlier in this run, so the second link of a pair collides even
    // when neither was stored before.
    let mut claimed: BTreeMap<String, String> = BTreeMap::new();
    let mut actions = Vec::with_capacity(drafts.len());
    let mut retire_signatures = Vec::new();
    let mut keep_by_uuid = BTreeMap::new();
    let mut kept_edits = Vec::new();
    let mut record_written = Vec::new();
    for mut draft in drafts {
        let signature = draft.signature().to_string();
        let mut uuid = draft.uuid().to_string();
        let mut stored = input.stored.get(&uuid);
        let owner = claimed
            .get(&signature)
            .or_else(|| input.signature_owners.get(&signature))
            .cloned();
        // Only an owner that still carries the signature can claim the event: one whose
        // sessions or artists changed since is another event now.
        let owner_moved_on = owner.as_ref().is_some_and(|o| {
            claimed.get(&signature) != Some(o)
                && input
                    .stored
                    .get(o)
                    .is_some_and(|w| w.signature.as_deref().is_some_and(|s| s != signature))
        });
        if let Some(owner) = owner.as_ref().filter(|o| **o != uuid) {
            // A person's rejection holds for the event, whichever link reaches it.
            let owner_live = claimed.get(&signature) == Some(owner)
                || (!owner_moved_on
                    && input.stored.get(owner).is_some_and(|w| {
                        !w.is_archived || w.review == Some(ReviewStatus::Rejected)
                    }));
            // The event is stored, live, under a uuid nothing else in this run reaches:
            // the page now names it another way (an identity rule changed, the event
            // moved to another link). The draft continues that workshop; reading it as
            // a duplicate would leave the stored one unseen, to be archived (or, for a
            // whole studio, held by the safety brake forever) while its page is live.
            let continues = claimed.get(&signature) != Some(owner)
                && !draft_uuids.contains(owner)
                && !input.seen_uuids.contains(owner)
                && input
                    .stored
                    .get(owner)
                    .is_some_and(|w| !w.is_archived && w.review != Some(ReviewStatus::Rejected));
            if owner_live && continues {
                continued.insert(uuid.clone(), owner.clone());
                draft = draft.continuing(owner);
                uuid = owner.clone();
                stored = input.stored.get(owner);
            } else if owner_live {
                actions.push(Action::Duplicate {
                    payment_link: draft.draft().payment_link.clone(),
                    uuid,
                    of: owner.clone(),
                });
                continue;
            }
        }
        claimed.insert(signature.clone(), uuid.clone());
        // A person rejected it: it stays archived whatever the page says.
        if stored.is_some_and(|w| w.review == Some(ReviewStatus::Rejected)) {
            actions.push(Action::Unchanged { uuid });
            continue;
        }
        match stored {
            None => {
                // A signature owned by this uuid without a document is a run that
                // crashed between the two writes: still the first sighting.
                // An old identity of another workshop is no sighting of this event.
                let first_sighting = owner_moved_on || owner.as_deref().is_none_or(|o| o == uuid);
                actions.push(Action::Insert {
                    announce: first_sighting.then_some(Announcement::NewWorkshop),
                    draft,
                });
            }
            Some(existing) => {
                if let Some(old) = existing.signature.as_ref().filter(|old| **old != signature) {
                    retire_signatures.push((old.clone(), uuid.clone()));
                }
                let page_values = editable_of_draft(draft.draft());
                let (keep, kept) = edits::decide(
                    &uuid,
                    &existing.editable,
                    existing.written.as_ref(),
                    &page_values,
                );
                kept_edits.extend(kept);
                // A person's kept values make the stored document differ from the page
                // by design: it is unchanged when it equals the page with those values
                // (what `adopt` hashes, and what an update with them writes).
                let stored_hash = existing.content_hash.as_deref();
                let changed = stored_hash != Some(draft.content_hash())
                    && (keep == Keep::default()
                        || stored_hash
                            != Some(
                                kept_values_hash(draft.draft(), &existing.editable, keep).as_str(),
                            ));
                if changed || existing.is_archived {
                    // As sets: the previous pipeline did not always store sessions in
                    // date order, and a reordering is no schedule change.
                    let schedule_changed =
                        !same_sessions(&existing.time_details, &draft.draft().time_details);
                    // Late data reaches followers: artists matched only now (the artist
                    // directory changed) make the workshop new to their followers. A
                    // schedule change in the same run is announced as such instead.
                    // Artists a person assigned stay, so nobody is newly matched then.
                    let newly_matched: Vec<String> = draft
                        .draft()
                        .artist_id_list
                        .iter()
                        .filter(|a| !keep.artists && !existing.artist_ids.contains(a))
                        .cloned()
                        .collect();
                    if keep != Keep::default() {
                        keep_by_uuid.insert(uuid.clone(), keep);
                    }
                    let announce = if schedule_changed {
                        Some(Announcement::ScheduleChange)
                    } else if !newly_matched.is_empty() {
                        Some(Announcement::NewWorkshop)
                    } else {
                        None
                    };
                    actions.push(Action::Update {
                        announce,
                        expected_version: existing.version,
                        newly_matched,
                        draft,
                    });
                } else {
                    if existing.written.is_none() {
                        record_written.push((uuid.clone(), Written::of(&page_values)));
                    }
                    actions.push(Action::Unchanged { uuid });
                }
            }
        }
    }

    let continued_owners: BTreeSet<String> = continued.values().cloned().collect();
    let (archive, brake) = archive_unseen(&input, &continued_owners);
    Plan {
        continued,
        actions,
        archive,
        brake,
        retire_signatures,
        keep: keep_by_uuid,
        kept_edits,
        record_written,
    }
}

/// The live url workshops this run did not see, archived only when the policy allows and
/// they stay under the safety brake; otherwise none, with the brake's message.
fn archive_unseen(
    input: &ReconcileInput<'_>,
    continued: &BTreeSet<String>,
) -> (Vec<String>, Option<String>) {
    let live: Vec<&StoredWorkshop> = input
        .stored
        .values()
        .filter(|w| !w.is_archived && w.payment_link_type.as_deref() == Some("url"))
        .collect();
    let vanished: Vec<String> = live
        .iter()
        .filter(|w| !input.seen_uuids.contains(&w.uuid) && !continued.contains(&w.uuid))
        .map(|w| w.uuid.clone())
        .collect();
    match input.archive_policy {
        ArchivePolicy::Forbidden => (Vec::new(), None),
        ArchivePolicy::Allowed if vanished.is_empty() => (Vec::new(), None),
        ArchivePolicy::Allowed => {
            let fraction = vanished.len() as f64 / live.len() as f64;
            if fraction > input.brake_fraction {
                (
                    Vec::new(),
                    Some(format!(
                        "safety brake: this run would archive {} of {} live workshops ({:.0}% > {:.0}%); archived none. \
                         Check the listing page and source file; if the studio really removed them, rerun with --allow-mass-archive",
                        vanished.len(),
                        live.len(),
                        fraction * 100.0,
                        input.brake_fraction * 100.0
                    )),
                )
            } else {
                (vanished, None)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workshop::{sessions_to_time_details, EventType, Session};
    use chrono::{NaiveDate, NaiveTime};

    fn draft(uuid: &str, day: u32, price: &str) -> WorkshopDraft {
        let mut sessions = vec![Session {
            date: NaiveDate::from_ymd_opt(2026, 6, day).unwrap(),
            start: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            end: None,
        }];
        WorkshopDraft {
            uuid: uuid.into(),
            studio_id: "s".into(),
            payment_link: format!("https://x.test/{uuid}"),
            payment_link_type: "url".into(),
            event_type: EventType::Workshop,
            time_details: sessions_to_time_details(&mut sessions),
            by: "A".into(),
            song: Some("Song".into()),
            pricing_info: price.into(),
            artist_id_list: vec!["a".into()],
            choreo_insta_link: None,
            sessions,
        }
    }

    fn stored_from(d: &WorkshopDraft, version: i64, archived: bool) -> StoredWorkshop {
        StoredWorkshop {
            uuid: d.uuid.clone(),
            content_hash: Some(d.content_hash()),
            version,
            is_archived: archived,
            payment_link_type: Some("url".into()),
            time_details: d.time_details.clone(),
            signature: Some(d.signature()),
            artist_ids: d.artist_id_list.clone(),
            editable: editable_of_draft(d),
            written: Some(Written::of(&editable_of_draft(d))),
            review: None,
        }
    }

    fn run(
        drafts: Vec<WorkshopDraft>,
        stored: Vec<StoredWorkshop>,
        owners: Vec<(String, String)>,
        seen_extra: &[&str],
        policy: ArchivePolicy,
    ) -> Plan {
        let mut seen: BTreeSet<String> = drafts.iter().map(|d| d.uuid.clone()).collect();
        let drafts = drafts.into_iter().map(Identified::new).collect();
        seen.extend(seen_extra.iter().map(|s| s.to_string()));
        let stored: BTreeMap<_, _> = stored.into_iter().map(|w| (w.uuid.clone(), w)).collect();
        let owners: BTreeMap<_, _> = owners.into_iter().collect();
        reconcile(ReconcileInput {
            drafts,
            seen_uuids: &seen,
            stored: &stored,
            signature_owners: &owners,
            archive_policy: policy,
            brake_fraction: 0.5,
        })
    }

    #[test]
    fn unseen_workshop_is_inserted_and_announced() {
        let plan = run(
            vec![draft("s/a", 10, "850/-")],
            vec![],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert!(matches!(
            &plan.actions[0],
            Action::Insert { announce: Some(Announcement::NewWorkshop), draft } if draft.uuid() == "s/a"
        ));
    }

    #[test]
    fn identical_workshop_is_unchanged() {
        let d = draft("s/a", 10, "850/-");
        let plan = run(
            vec![d.clone()],
            vec![stored_from(&d, 3, false)],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert_eq!(plan.actions, vec![Action::Unchanged { uuid: "s/a".into() }]);
        assert!(plan.archive.is_empty());
    }

    #[test]
    fn price_change_updates_without_announcing() {
        let old = draft("s/a", 10, "850/-");
        let new = draft("s/a", 10, "950/-");
        let plan = run(
            vec![new],
            vec![stored_from(&old, 3, false)],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert!(matches!(
            &plan.actions[0],
            Action::Update {
                expected_version: 3,
                announce: None,
                ..
            }
        ));
    }

    #[test]
    fn session_change_announces_schedule_change() {
        let old = draft("s/a", 10, "850/-");
        let new = draft("s/a", 11, "850/-");
        let plan = run(
            vec![new],
            vec![stored_from(&old, 1, false)],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert!(matches!(
            &plan.actions[0],
            Action::Update {
                announce: Some(Announcement::ScheduleChange),
                ..
            }
        ));
    }

    #[test]
    fn second_link_to_same_event_in_one_run_is_duplicate_of_first_by_uuid_order() {
        let plan = run(
            vec![draft("s/zz", 10, "850/-"), draft("s/aa", 10, "999/-")],
            vec![],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert!(matches!(&plan.actions[0], Action::Insert { draft, .. } if draft.uuid() == "s/aa"));
        assert!(matches!(
            &plan.actions[1],
            Action::Duplicate { uuid, of, .. } if uuid == "s/zz" && of == "s/aa"
        ));
    }

    #[test]
    fn signature_owned_by_live_stored_workshop_makes_duplicate() {
        let original = draft("s/orig", 10, "850/-");
        let second = draft("s/second", 10, "850/-");
        let plan = run(
            vec![second],
            vec![stored_from(&original, 1, false)],
            vec![(original.signature(), "s/orig".into())],
            &["s/orig"],
            ArchivePolicy::Allowed,
        );
        assert!(matches!(&plan.actions[0], Action::Duplicate { of, .. } if of == "s/orig"));
    }

    #[test]
    fn a_page_that_names_a_stored_event_another_way_continues_it_under_its_stored_uuid() {
        // An identity rule changed (e.g. a listing card's uuid no longer carries its
        // date): the only link to the event now gives another uuid.
        let stored = draft("s/card-2026-06-21", 21, "850/-");
        let renamed = draft("s/card", 21, "950/-");
        let plan = run(
            vec![renamed],
            vec![stored_from(&stored, 4, false)],
            vec![(stored.signature(), "s/card-2026-06-21".into())],
            &[],
            ArchivePolicy::Allowed,
        );
        assert_eq!(plan.actions.len(), 1, "{plan:#?}");
        match &plan.actions[0] {
            Action::Update {
                draft,
                expected_version,
                announce,
                ..
            } => {
                assert_eq!(draft.uuid(), "s/card-2026-06-21");
                assert_eq!(draft.draft().pricing_info, "950/-");
                assert_eq!(*expected_version, 4);
                assert_eq!(*announce, None);
            }
            other => panic!("expected an update of the stored workshop, got {other:?}"),
        }
        assert!(plan.archive.is_empty(), "{plan:#?}");
        assert_eq!(plan.brake, None);
        assert_eq!(
            plan.continued,
            BTreeMap::from([("s/card".to_string(), "s/card-2026-06-21".to_string())])
        );
    }

    #[test]
    fn a_second_link_does_not_continue_an_owner_this_run_reaches_itself() {
        let original = draft("s/orig", 10, "850/-");
        let second = draft("s/second", 10, "850/-");
        let plan = run(
            vec![original.clone(), second],
            vec![stored_from(&original, 1, false)],
            vec![(original.signature(), "s/orig".into())],
            &[],
            ArchivePolicy::Allowed,
        );
        assert_eq!(
            plan.actions[0],
            Action::Unchanged {
                uuid: "s/orig".into()
            }
        );
        assert!(matches!(
            &plan.actions[1],
            Action::Duplicate { uuid, of, .. } if uuid == "s/second" && of == "s/orig"
        ));
        assert!(plan.continued.is_empty());
    }

    #[test]
    fn signature_of_archived_owner_is_taken_over_without_announcing() {
        let original = draft("s/orig", 10, "850/-");
        let second = draft("s/second", 10, "850/-");
        let plan = run(
            vec![second],
            vec![stored_from(&original, 1, true)],
            vec![(original.signature(), "s/orig".into())],
            &[],
            ArchivePolicy::Allowed,
        );
        assert!(matches!(
            &plan.actions[0],
            Action::Insert { announce: None, .. }
        ));
    }

    #[test]
    fn crash_between_signature_and_document_still_announces() {
        let d = draft("s/a", 10, "850/-");
        let plan = run(
            vec![d.clone()],
            vec![],
            vec![(d.signature(), "s/a".into())],
            &[],
            ArchivePolicy::Allowed,
        );
        assert!(matches!(
            &plan.actions[0],
            Action::Insert {
                announce: Some(Announcement::NewWorkshop),
                ..
            }
        ));
    }

    #[test]
    fn archived_workshop_seen_again_is_unarchived() {
        let d = draft("s/a", 10, "850/-");
        let plan = run(
            vec![d.clone()],
            vec![stored_from(&d, 2, true)],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert!(matches!(
            &plan.actions[0],
            Action::Update {
                expected_version: 2,
                ..
            }
        ));
    }

    #[test]
    fn vanished_workshop_is_archived_when_allowed() {
        let keep: Vec<_> = (1..=3)
            .map(|i| draft(&format!("s/k{i}"), 10 + i, "1/-"))
            .collect();
        let gone = draft("s/gone", 20, "1/-");
        let mut stored: Vec<_> = keep.iter().map(|d| stored_from(d, 1, false)).collect();
        stored.push(stored_from(&gone, 1, false));
        let plan = run(keep, stored, vec![], &[], ArchivePolicy::Allowed);
        assert_eq!(plan.archive, vec!["s/gone".to_string()]);
        assert_eq!(plan.brake, None);
    }

    #[test]
    fn nothing_is_archived_after_a_partial_crawl() {
        let gone = draft("s/gone", 20, "1/-");
        let plan = run(
            vec![],
            vec![stored_from(&gone, 1, false)],
            vec![],
            &[],
            ArchivePolicy::Forbidden,
        );
        assert!(plan.archive.is_empty());
        assert_eq!(plan.brake, None);
    }

    #[test]
    fn safety_brake_stops_archiving_more_than_half() {
        let keep = draft("s/keep", 10, "1/-");
        let gone1 = draft("s/g1", 11, "1/-");
        let gone2 = draft("s/g2", 12, "1/-");
        let stored = vec![
            stored_from(&keep, 1, false),
            stored_from(&gone1, 1, false),
            stored_from(&gone2, 1, false),
        ];
        let plan = run(vec![keep], stored, vec![], &[], ArchivePolicy::Allowed);
        assert!(plan.archive.is_empty());
        assert!(plan.brake.as_deref().unwrap().contains("2 of 3"));
    }

    #[test]
    fn hand_entered_workshops_are_never_archived() {
        let keep = draft("s/keep", 10, "1/-");
        let mut manual = stored_from(&draft("s/manual", 11, "1/-"), 1, false);
        manual.payment_link_type = Some("whatsapp".into());
        let plan = run(
            vec![keep.clone()],
            vec![stored_from(&keep, 1, false), manual],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert!(plan.archive.is_empty());
        assert_eq!(plan.brake, None);
    }

    #[test]
    fn past_workshops_still_listed_are_not_archived() {
        let past = draft("s/past", 1, "1/-");
        let live = draft("s/live", 20, "1/-");
        let plan = run(
            vec![live.clone()],
            vec![stored_from(&past, 1, false), stored_from(&live, 1, false)],
            vec![],
            &["s/past"],
            ArchivePolicy::Allowed,
        );
        assert!(plan.archive.is_empty());
    }

    #[test]
    fn listed_page_that_lost_its_event_keeps_its_workshop_and_fails() {
        let previous = vec!["s/a".to_string()];
        let ev = page_evidence(
            "https://x.test/a",
            &previous,
            &PageOutcome::NoEvent {
                reason: "no event date found".into(),
            },
        );
        assert_eq!(ev.seen, previous);
        assert!(
            !ev.remember,
            "the old record stays so the page is read again"
        );
        let failure = ev.failure.expect("a failed page");
        assert!(failure.contains("https://x.test/a") && failure.contains("no event date found"));
        assert!(failure.contains("s/a"), "{failure}");

        // The run then archives nothing, although the page yielded no draft.
        let d = draft("s/a", 10, "1/-");
        let other = draft("s/b", 11, "1/-");
        let plan = run(
            vec![other.clone()],
            vec![stored_from(&d, 1, false), stored_from(&other, 1, false)],
            vec![],
            &["s/a"],
            archive_policy(true, 2, 1),
        );
        assert!(plan.archive.is_empty());
        assert_eq!(plan.brake, None);
    }

    #[test]
    fn page_that_never_had_an_event_is_just_not_a_workshop() {
        let ev = page_evidence(
            "https://x.test/about",
            &[],
            &PageOutcome::NoEvent {
                reason: "no event date found".into(),
            },
        );
        assert_eq!(
            ev,
            PageEvidence {
                seen: vec![],
                failure: None,
                remember: true
            }
        );
    }

    #[test]
    fn unreadable_page_keeps_what_it_yielded_before() {
        let ev = page_evidence(
            "https://x.test/a",
            &["s/a".to_string()],
            &PageOutcome::Failed {
                error: "event page https://x.test/a: HTTP 503".into(),
            },
        );
        assert_eq!(ev.seen, vec!["s/a".to_string()]);
        assert_eq!(
            ev.failure.as_deref(),
            Some("event page https://x.test/a: HTTP 503")
        );
        assert!(!ev.remember);
    }

    #[test]
    fn yielded_and_unchanged_pages_account_for_their_uuids() {
        let uuids = vec!["s/a".to_string(), "s/b".to_string()];
        let yielded = page_evidence("u", &[], &PageOutcome::Yielded(uuids.clone()));
        assert_eq!(
            (yielded.seen.clone(), yielded.failure, yielded.remember),
            (uuids.clone(), None, true)
        );
        let unchanged = page_evidence("u", &uuids, &PageOutcome::Unchanged(uuids.clone()));
        assert_eq!(
            (unchanged.seen, unchanged.failure, unchanged.remember),
            (uuids, None, false)
        );
    }

    #[test]
    fn archiving_needs_a_complete_crawl_with_links_and_no_failed_page() {
        assert_eq!(archive_policy(true, 3, 0), ArchivePolicy::Allowed);
        assert_eq!(archive_policy(false, 3, 0), ArchivePolicy::Forbidden);
        assert_eq!(archive_policy(true, 0, 0), ArchivePolicy::Forbidden);
        assert_eq!(archive_policy(true, 3, 1), ArchivePolicy::Forbidden);
    }

    #[test]
    fn schedule_change_retires_the_old_signature() {
        let old = draft("s/a", 10, "850/-");
        let new = draft("s/a", 11, "850/-");
        let plan = run(
            vec![new],
            vec![stored_from(&old, 1, false)],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert_eq!(
            plan.retire_signatures,
            vec![(old.signature(), "s/a".to_string())]
        );
    }

    #[test]
    fn price_change_keeps_the_signature() {
        let old = draft("s/a", 10, "850/-");
        let new = draft("s/a", 10, "950/-");
        let plan = run(
            vec![new],
            vec![stored_from(&old, 1, false)],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert!(plan.retire_signatures.is_empty());
    }

    #[test]
    fn an_old_identity_of_a_rescheduled_workshop_marks_no_duplicate() {
        // s/orig moved from the 10th to the 11th; its old signature is still recorded
        // (not yet retired). A new event on the 10th is a new event.
        let moved = draft("s/orig", 11, "850/-");
        let old_schedule = draft("s/orig", 10, "850/-");
        let newcomer = draft("s/new", 10, "850/-");
        let plan = run(
            vec![newcomer],
            vec![stored_from(&moved, 2, false)],
            vec![(old_schedule.signature(), "s/orig".into())],
            &["s/orig"],
            ArchivePolicy::Allowed,
        );
        assert!(
            matches!(
                &plan.actions[0],
                Action::Insert { draft, announce: Some(Announcement::NewWorkshop) } if draft.uuid() == "s/new"
            ),
            "{plan:#?}"
        );
    }

    #[test]
    fn an_artist_matched_only_now_announces_the_workshop_to_its_followers() {
        let before = draft("s/a", 10, "850/-");
        let mut now = before.clone();
        now.artist_id_list = vec!["a".into(), "late".into()];
        let plan = run(
            vec![now],
            vec![stored_from(&before, 1, false)],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        match &plan.actions[0] {
            Action::Update {
                announce,
                newly_matched,
                ..
            } => {
                assert_eq!(*announce, Some(Announcement::NewWorkshop));
                assert_eq!(newly_matched, &vec!["late".to_string()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_persons_artists_survive_a_price_change_that_still_lands() {
        let before = draft("s/a", 10, "850/-");
        let mut stored = stored_from(&before, 1, false);
        // An admin assigned another artist and song in place.
        stored.editable.artist_id_list = vec!["admin_pick".into()];
        stored.editable.by = "Admin Pick".into();
        stored.editable.song = Some("admin song".into());
        stored.artist_ids = vec!["admin_pick".into()];
        let now = draft("s/a", 10, "950/-");
        let plan = run(vec![now], vec![stored], vec![], &[], ArchivePolicy::Allowed);
        assert!(
            matches!(
                &plan.actions[0],
                Action::Update { announce: None, newly_matched, draft, .. }
                    if newly_matched.is_empty() && draft.draft().pricing_info == "950/-"
            ),
            "{plan:#?}"
        );
        let keep = plan.keep["s/a"];
        assert!(keep.artists && keep.song && !keep.choreo);
        let fields: Vec<_> = plan.kept_edits.iter().map(|k| k.field).collect();
        assert_eq!(
            fields,
            vec![
                crate::edits::EditField::Artists,
                crate::edits::EditField::Song
            ]
        );
    }

    #[test]
    fn an_adopted_workshop_equal_to_its_page_but_for_a_persons_values_is_unchanged() {
        let page = draft("s/a", 10, "850/-");
        let mut legacy = page.clone();
        legacy.song = Some("admin song".into());
        let mut stored = stored_from(&legacy, 1, false);
        // `adopt` hashes the document as stored and records its values as a person's.
        stored.written = Some(Written::adopted(&stored.editable));
        let plan = run(
            vec![page],
            vec![stored],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert_eq!(plan.actions, vec![Action::Unchanged { uuid: "s/a".into() }]);
        assert_eq!(plan.kept_edits.len(), 1, "{plan:#?}");
    }

    #[test]
    fn sessions_stored_in_another_order_are_no_schedule_change() {
        let mut sessions = vec![
            Session {
                date: NaiveDate::from_ymd_opt(2026, 6, 10).unwrap(),
                start: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
                end: None,
            },
            Session {
                date: NaiveDate::from_ymd_opt(2026, 6, 11).unwrap(),
                start: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
                end: None,
            },
        ];
        let mut page = draft("s/a", 10, "850/-");
        page.time_details = sessions_to_time_details(&mut sessions);
        page.sessions = sessions;
        let mut stored = stored_from(&page, 1, false);
        stored.time_details.reverse();
        stored.content_hash = Some("legacy".into());
        let plan = run(
            vec![page],
            vec![stored],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert!(
            matches!(&plan.actions[0], Action::Update { announce: None, .. }),
            "{plan:#?}"
        );
    }

    #[test]
    fn an_unchanged_workshop_without_a_record_gets_the_pages_values_as_one() {
        let d = draft("s/a", 10, "850/-");
        let mut stored = stored_from(&d, 1, false);
        stored.written = None;
        let plan = run(
            vec![d.clone()],
            vec![stored],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert_eq!(plan.actions, vec![Action::Unchanged { uuid: "s/a".into() }]);
        assert_eq!(
            plan.record_written,
            vec![("s/a".to_string(), Written::of(&editable_of_draft(&d)))]
        );
    }

    #[test]
    fn an_artist_dropped_announces_nothing() {
        let before = draft("s/a", 10, "850/-");
        let mut now = before.clone();
        now.artist_id_list = vec![];
        let plan = run(
            vec![now],
            vec![stored_from(&before, 1, false)],
            vec![],
            &[],
            ArchivePolicy::Allowed,
        );
        assert!(matches!(
            &plan.actions[0],
            Action::Update { announce: None, newly_matched, .. } if newly_matched.is_empty()
        ));
    }

    fn weak(d: WorkshopDraft) -> Identified {
        Identified::new(d).with_confidence(crate::workshop::Confidence {
            verdict: "date: loose page text (weak); artist: handle (strong)".into(),
            weak: vec!["date read from loose visible text".into()],
            title: None,
        })
    }

    #[test]
    fn a_weak_new_workshop_is_held_and_a_strong_one_is_not() {
        let d = draft("s/a", 10, "850/-");
        let insert = Action::Insert {
            draft: weak(d.clone()),
            announce: Some(Announcement::NewWorkshop),
        };
        assert_eq!(
            review_hold(&insert, None),
            Some(vec!["date read from loose visible text".to_string()])
        );
        let strong = Action::Insert {
            draft: Identified::new(d.clone()).with_confidence(Default::default()),
            announce: Some(Announcement::NewWorkshop),
        };
        assert_eq!(review_hold(&strong, None), None);
        // Nothing announced, nothing to hold.
        let silent = Action::Insert {
            draft: weak(d),
            announce: None,
        };
        assert_eq!(review_hold(&silent, None), None);
    }

    #[test]
    fn a_person_decided_workshop_is_never_held_again() {
        let d = draft("s/a", 10, "850/-");
        let update = Action::Update {
            draft: weak(d),
            expected_version: 2,
            announce: Some(Announcement::ScheduleChange),
            newly_matched: vec![],
        };
        assert!(review_hold(&update, None).is_some());
        assert_eq!(review_hold(&update, Some(ReviewStatus::Approved)), None);
        assert_eq!(review_hold(&update, Some(ReviewStatus::Held)), None);
    }

    #[test]
    fn a_rejected_workshop_stays_archived_when_its_page_is_read_again() {
        let before = draft("s/a", 10, "850/-");
        let mut now = before.clone();
        now.pricing_info = "900/-".into();
        let mut stored = stored_from(&before, 2, true);
        stored.review = Some(ReviewStatus::Rejected);
        let plan = run(vec![now], vec![stored], vec![], &[], ArchivePolicy::Allowed);
        assert_eq!(plan.actions, vec![Action::Unchanged { uuid: "s/a".into() }]);
    }

    #[test]
    fn a_second_link_to_a_rejected_event_is_its_duplicate_not_a_new_workshop() {
        let rejected = draft("s/orig", 10, "850/-");
        let second = draft("s/second", 10, "850/-");
        let mut stored = stored_from(&rejected, 2, true);
        stored.review = Some(ReviewStatus::Rejected);
        let plan = run(
            vec![second],
            vec![stored],
            vec![(rejected.signature(), "s/orig".into())],
            &[],
            ArchivePolicy::Allowed,
        );
        assert_eq!(plan.actions.len(), 1);
        assert!(matches!(
            &plan.actions[0],
            Action::Duplicate { uuid, of, .. } if uuid == "s/second" && of == "s/orig"
        ));
    }

    #[test]
    fn review_status_strings_round_trip() {
        for s in [
            ReviewStatus::Held,
            ReviewStatus::Approved,
            ReviewStatus::Rejected,
        ] {
            assert_eq!(ReviewStatus::parse(s.as_str()), Some(s));
        }
    }
}
