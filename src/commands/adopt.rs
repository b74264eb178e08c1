//! `nachna-ingest adopt [--dry-run]`: take over a database written by the previous
//! pipeline, once, so that `ingest` manages it without losing, undoing or announcing
//! anything.
//!
//! The plan ([`plan_adoption`]) is pure: for every `url` workshop this tool did not
//! write, the uuid `ingest` gives its page (documents sharing a uuid, one per song, are
//! split by the per-song scheme, matched by payment link and song), the content hash
//! and signature of the document as stored (so an unchanged page is no change, and
//! `end_time: null` equals `""`), and a `pipeline_written` record under which every
//! non-empty person-editable value counts as a person's. A second copy of the same page
//! and song (the old pipeline's overlapping runs) is archived, never deleted. The store
//! rewrites each document in place by `_id`; the marker in `ingest_meta` is written last.

use crate::app::{self, App};
use crate::cli::{AdoptArgs, GlobalArgs};
use crate::edits::Written;
use crate::extract;
use crate::source::Source;
use crate::store::adopt::{
    AdoptSignature, AdoptWrite, AdoptionSummary, ChoreoLink, StoredUrlWorkshop,
};
use crate::workshop::{normalise_key_text, EventType, Identified, Session, WorkshopDraft};
use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use url::Url;

/// What adoption would do.
#[derive(Debug, Default)]
pub struct AdoptPlan {
    pub writes: Vec<AdoptWrite>,
    pub signatures: Vec<AdoptSignature>,
    /// One line per document whose uuid changes, per archived copy, per problem.
    pub notes: Vec<String>,
    pub summary: AdoptionSummary,
}

/// The uuid `ingest` gives a document's page and song: the page's identity under its
/// studio's source (the document's own uuid, without a song suffix, when there is no
/// source or the link is not a URL), then `--<song slug>` when the page has several
/// songs.
fn ingest_uuid(w: &StoredUrlWorkshop, source: Option<&Source>, songs_on_page: usize) -> String {
    let base = source
        .zip(Url::parse(&w.payment_link).ok())
        .map(|(s, url)| extract::page_identity(s, &url).base_uuid)
        .unwrap_or_else(|| match w.uuid.split_once("--") {
            Some((base, _)) if songs_on_page >= 2 => base.to_string(),
            _ => w.uuid.clone(),
        });
    match w.editable.song.as_deref().filter(|s| !s.trim().is_empty()) {
        Some(song) if songs_on_page >= 2 => format!("{base}--{}", extract::song_slug(song)),
        _ => base,
    }
}

fn song_key(w: &StoredUrlWorkshop) -> String {
    normalise_key_text(w.editable.song.as_deref().unwrap_or_default())
}

/// The document as a draft (what `ingest` compares a page with), under `uuid`.
fn draft_of(w: &StoredUrlWorkshop, uuid: String) -> (WorkshopDraft, Option<String>) {
    let (event_type, problem) = match w.event_type.parse::<EventType>() {
        Ok(t) => (t, None),
        Err(e) => (
            EventType::Workshop,
            Some(format!("{}: {e}; hashed as `workshop`", w.id)),
        ),
    };
    let sessions: Vec<Session> = w
        .time_details
        .iter()
        .filter_map(Session::from_time_detail)
        .collect();
    let draft = WorkshopDraft {
        uuid,
        studio_id: w.studio_id.clone(),
        payment_link: w.payment_link.clone(),
        payment_link_type: "url".into(),
        event_type,
        time_details: w.time_details.clone(),
        by: w.editable.by.clone(),
        song: w.editable.song.clone(),
        pricing_info: w.pricing_info.clone(),
        artist_id_list: w.editable.artist_id_list.clone(),
        choreo_insta_link: None,
        sessions,
    };
    (draft, problem)
}

/// The admins' reel for a document without one: same artists (any order) and song
/// (compared normalised; the app stores it lower-case).
fn reel_for(w: &StoredUrlWorkshop, links: &[ChoreoLink]) -> Option<String> {
    let blank = |s: Option<&str>| s.is_none_or(|s| s.trim().is_empty());
    if !blank(w.editable.choreo_insta_link.as_deref()) || w.editable.artist_id_list.is_empty() {
        return None;
    }
    let song = song_key(w);
    if song.is_empty() {
        return None;
    }
    let mut artists = w.editable.artist_id_list.clone();
    artists.sort();
    links
        .iter()
        .find(|l| {
            let mut a = l.artist_ids.clone();
            a.sort();
            a == artists && normalise_key_text(&l.song) == song
        })
        .map(|l| l.link.clone())
}

/// The pure plan over every `url` workshop (this tool's own are read to keep their
/// uuids and signatures, never rewritten).
pub fn plan_adoption(
    docs: &[StoredUrlWorkshop],
    sources: &[Source],
    choreo_links: &[ChoreoLink],
) -> AdoptPlan {
    let source_of: BTreeMap<&str, &Source> =
        sources.iter().map(|s| (s.studio.id.as_str(), s)).collect();
    // Songs per page: a page with two or more gives one workshop per song.
    let mut songs: BTreeMap<(&str, &str), BTreeSet<String>> = BTreeMap::new();
    for w in docs {
        let key = song_key(w);
        if !key.is_empty() {
            songs
                .entry((w.studio_id.as_str(), w.payment_link.as_str()))
                .or_default()
                .insert(key);
        }
    }
    let mut taken: BTreeMap<String, (String, String)> = BTreeMap::new();
    for w in docs.iter().filter(|w| w.ours) {
        taken.insert(w.uuid.clone(), (w.payment_link.clone(), song_key(w)));
    }
    let mut shared: BTreeMap<&str, usize> = BTreeMap::new();
    for w in docs {
        *shared.entry(w.uuid.as_str()).or_default() += 1;
    }
    let mut plan = AdoptPlan::default();
    let mut claimed: BTreeSet<String> = BTreeSet::new();
    // Live documents first, so a live one keeps the clean uuid over an archived copy.
    let mut legacy: Vec<&StoredUrlWorkshop> = docs.iter().filter(|w| !w.ours).collect();
    legacy.sort_by_key(|w| w.is_archived);
    for w in legacy {
        let on_page = songs
            .get(&(w.studio_id.as_str(), w.payment_link.as_str()))
            .map_or(0, BTreeSet::len);
        let wanted = ingest_uuid(w, source_of.get(w.studio_id.as_str()).copied(), on_page);
        let identity = (w.payment_link.clone(), song_key(w));
        let (uuid, archive) = match taken.get(&wanted) {
            None => (wanted, false),
            Some(other) if *other == identity => {
                let copy = format!("{wanted}--copy-{}", w.id);
                plan.notes.push(format!(
                    "{}: a second copy of {wanted} (same page and song): archived as {copy}, not deleted",
                    w.id
                ));
                (copy, !w.is_archived)
            }
            Some(_) => {
                let apart = format!("{wanted}--{}", w.id);
                plan.notes.push(format!(
                    "{}: uuid {wanted} belongs to another page or song: stored as {apart}",
                    w.id
                ));
                (apart, false)
            }
        };
        taken.insert(uuid.clone(), identity);
        if uuid != w.uuid {
            plan.summary.uuids_changed += 1;
            let why = match shared.get(w.uuid.as_str()) {
                Some(n) if *n > 1 => format!(" (uuid shared by {n} documents; split by song)"),
                _ => String::new(),
            };
            plan.notes
                .push(format!("{}: uuid {} -> {uuid}{why}", w.id, w.uuid));
        }
        if archive {
            plan.summary.archived_copies += 1;
        }
        let (draft, problem) = draft_of(w, uuid.clone());
        plan.notes.extend(problem);
        let identified = Identified::new(draft);
        let mut written = Written::adopted(&w.editable);
        let fill_choreo = reel_for(w, choreo_links);
        if let Some(link) = &fill_choreo {
            // Filled by the pipeline: a reel the page gives later may replace it.
            written.choreo_insta_link = Some(link.clone());
            plan.notes.push(format!(
                "{}: choreo_insta_link filled from choreo_links: {link}",
                w.id
            ));
        }
        plan.summary.person_values += person_values(&w.editable, &written);
        if !w.is_archived && !archive && claimed.insert(identified.signature().to_string()) {
            let identity = identified.identity();
            plan.signatures.push(AdoptSignature {
                signature: identity.signature.clone(),
                uuid: uuid.clone(),
                studio_id: w.studio_id.clone(),
                canonical: identity.canonical.clone(),
            });
        }
        plan.writes.push(AdoptWrite {
            id: w.id.clone(),
            uuid,
            content_hash: identified.content_hash().to_string(),
            signature: identified.signature().to_string(),
            written,
            archive,
            fill_choreo,
        });
        plan.summary.adopted += 1;
    }
    plan
}

/// How many field groups adoption records as a person's.
fn person_values(current: &crate::edits::Editable, written: &Written) -> u64 {
    let mut n = 0;
    if written.artist_id_list.is_none() {
        n += 1;
    }
    if current
        .song
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty())
    {
        n += 1;
    }
    if current
        .choreo_insta_link
        .as_deref()
        .is_some_and(|s| !s.trim().is_empty())
    {
        n += 1;
    }
    n
}

pub async fn run(global: &GlobalArgs, args: AdoptArgs) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    let sources = app::load_sources(&settings.sources_dir)?;
    let app = App::build_for_adopt(settings).await?;
    let store = app.store();
    let state = store.adoption_state().await?;
    if let Some(at) = state.adopted_at {
        println!(
            "already adopted on {}: nothing to do (adoption runs once)",
            at.to_rfc3339()
        );
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("adopt: reading workshops_v2 ...");
    let docs = store.url_workshops().await?;
    let links = store.choreo_links().await?;
    let plan = plan_adoption(&docs, &sources, &links);
    for note in &plan.notes {
        println!("  {note}");
    }
    let s = &plan.summary;
    let verb = if args.dry_run {
        "would adopt"
    } else {
        "adopting"
    };
    println!(
        "{verb} {} workshop(s) of {} url workshop(s): {} uuid(s) changed, {} copy(ies) archived, \
         {} value(s) kept as a person's, {} signature(s) recorded; hand-entered workshops and \
         workshops_v2_copy untouched",
        s.adopted,
        docs.len(),
        s.uuids_changed,
        s.archived_copies,
        s.person_values,
        plan.signatures.len()
    );
    if args.dry_run {
        println!("dry run: nothing written");
        return Ok(ExitCode::SUCCESS);
    }
    let now = chrono::Utc::now();
    let today = now.format("%Y-%m-%d").to_string();
    // Signatures first (as `ingest` writes them): an adoption cut short and run again
    // skips the documents already adopted, whose signatures are then already recorded.
    for sig in &plan.signatures {
        store.adopt_signature(sig, now, &today).await?;
    }
    let total = plan.writes.len();
    // No unique index on `uuid` yet (it is created below, once uuids are distinct), so
    // the order of the renames does not matter; each write is one document by `_id`.
    for (i, w) in plan.writes.iter().enumerate() {
        store.adopt_workshop(w, now).await?;
        if (i + 1) % 100 == 0 || i + 1 == total {
            eprintln!("adopt: {}/{total} workshops written", i + 1);
        }
    }
    store.ensure_schema().await.map_err(|e| {
        anyhow::anyhow!(
            "the workshops were adopted, but the indexes could not be created: {e}. \
             Hand-entered workshops sharing a uuid must be fixed by a person; then run `adopt` again"
        )
    })?;
    store.record_adoption(&plan.summary, now).await?;
    println!("adopted: `ingest` and `run` may now use this database");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::edits::Editable;
    use crate::store::adopt::DocId;
    use crate::workshop::TimeDetail;

    fn doc(id: &str, uuid: &str, link: &str, song: Option<&str>) -> StoredUrlWorkshop {
        StoredUrlWorkshop {
            id: DocId::for_tests(id),
            uuid: uuid.into(),
            studio_id: "s".into(),
            payment_link: link.into(),
            event_type: "workshop".into(),
            time_details: vec![TimeDetail {
                day: 21,
                month: 6,
                year: 2026,
                start_time: "06:00 PM".into(),
                end_time: String::new(),
            }],
            pricing_info: "₹950".into(),
            editable: Editable {
                artist_id_list: vec![],
                by: "Someone".into(),
                song: song.map(str::to_string),
                choreo_insta_link: None,
            },
            is_archived: false,
            ours: false,
        }
    }

    #[test]
    fn a_shared_uuid_is_split_by_song_and_single_pages_keep_theirs() {
        let docs = vec![
            doc(
                "1",
                "s/double",
                "https://x.test/e/double",
                Some("Hauli Slowly"),
            ),
            doc(
                "2",
                "s/double",
                "https://x.test/e/double",
                Some("Ninnindale"),
            ),
            doc(
                "3",
                "s/single",
                "https://x.test/e/single",
                Some("Tum Hi Ho"),
            ),
        ];
        let plan = plan_adoption(&docs, &[], &[]);
        let uuids: Vec<&str> = plan.writes.iter().map(|w| w.uuid.as_str()).collect();
        assert_eq!(
            uuids,
            vec!["s/double--hauli-slowly", "s/double--ninnindale", "s/single"]
        );
        assert_eq!(plan.summary.uuids_changed, 2);
        assert_eq!(plan.signatures.len(), 3);
        assert!(plan.writes.iter().all(|w| !w.archive));
    }

    #[test]
    fn a_second_copy_of_the_same_page_and_song_is_archived() {
        let docs = vec![
            doc("1", "s/a", "https://x.test/e/a", Some("Song")),
            doc("2", "s/a", "https://x.test/e/a", Some("Song")),
        ];
        let plan = plan_adoption(&docs, &[], &[]);
        assert_eq!(plan.writes[0].uuid, "s/a");
        assert!(!plan.writes[0].archive);
        assert_eq!(plan.writes[1].uuid, "s/a--copy-2");
        assert!(plan.writes[1].archive);
        assert_eq!(plan.signatures.len(), 1);
    }

    #[test]
    fn null_and_empty_end_times_hash_alike_and_values_count_as_a_persons() {
        let a = doc("1", "s/a", "https://x.test/e/a", Some("Song"));
        let plan = plan_adoption(std::slice::from_ref(&a), &[], &[]);
        let w = &plan.writes[0];
        assert_eq!(w.written.song, None, "a song found there is a person's");
        assert_eq!(
            w.written.artist_id_list,
            Some(vec![]),
            "no artists: the page may fill them"
        );
        // The hash is the one a page giving exactly these values has.
        let (draft, _) = draft_of(&a, "s/a".into());
        assert_eq!(w.content_hash, draft.content_hash());
    }

    #[test]
    fn an_empty_reel_is_filled_from_choreo_links_and_a_persons_is_not() {
        let mut a = doc("1", "s/a", "https://x.test/e/a", Some("Hauli Slowly!"));
        a.editable.artist_id_list = vec!["b".into(), "a".into()];
        let mut b = a.clone();
        b.id = DocId::for_tests("2");
        b.uuid = "s/b".into();
        b.payment_link = "https://x.test/e/b".into();
        b.editable.choreo_insta_link = Some("https://www.instagram.com/reel/persons/".into());
        let links = vec![ChoreoLink {
            artist_ids: vec!["a".into(), "b".into()],
            song: "hauli slowly".into(),
            link: "https://www.instagram.com/reel/mapped/".into(),
        }];
        let plan = plan_adoption(&[a, b], &[], &links);
        assert_eq!(
            plan.writes[0].fill_choreo.as_deref(),
            Some("https://www.instagram.com/reel/mapped/")
        );
        assert_eq!(
            plan.writes[0].written.choreo_insta_link.as_deref(),
            Some("https://www.instagram.com/reel/mapped/")
        );
        assert_eq!(plan.writes[1].fill_choreo, None);
    }

    #[test]
    fn an_adoption_cut_short_is_completed_with_the_same_split() {
        // The first song was adopted before the crash; the second was not.
        let mut done = doc(
            "1",
            "s/double--hauli-slowly",
            "https://x.test/e/double",
            Some("Hauli Slowly"),
        );
        done.ours = true;
        let rest = doc(
            "2",
            "s/double",
            "https://x.test/e/double",
            Some("Ninnindale"),
        );
        let plan = plan_adoption(&[done, rest], &[], &[]);
        assert_eq!(plan.writes.len(), 1);
        assert_eq!(plan.writes[0].uuid, "s/double--ninnindale");
        assert!(!plan.writes[0].archive);
    }

    #[test]
    fn this_tools_documents_are_not_rewritten_and_keep_their_uuids() {
        let mut ours = doc("1", "s/a", "https://x.test/e/a", Some("Song"));
        ours.ours = true;
        let legacy = doc("2", "s/a", "https://x.test/e/a", Some("Song"));
        let plan = plan_adoption(&[ours, legacy], &[], &[]);
        assert_eq!(plan.writes.len(), 1);
        assert_eq!(plan.writes[0].uuid, "s/a--copy-2");
    }
}
