//! The workshop document the app reads (`discovery.workshops_v2`), and the two hashes
//! that decide what a re-ingest does with it:
//!
//! * the **signature** identifies the *event* (studio, artists, song, sessions) so that
//!   the same workshop reached through a second link or platform is recognised;
//! * the **content hash** covers every normalised field the pipeline writes, so an
//!   unchanged page leads to no write at all.
//!
//! Field names and types are fixed by the app (see `shared/data-model.md`); never rename
//! or retype one. Fields this crate adds (`content_hash`, `signature`, …) are extra.

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// What kind of class a workshop is; stored as the app's lowercase strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventType {
    Workshop,
    Intensive,
    Regulars,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Workshop => "workshop",
            EventType::Intensive => "intensive",
            EventType::Regulars => "regulars",
        }
    }
}

impl fmt::Display for EventType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "workshop" => Ok(EventType::Workshop),
            "intensive" => Ok(EventType::Intensive),
            "regulars" | "regular" => Ok(EventType::Regulars),
            other => Err(format!(
                "unknown event type `{other}` (expected workshop, intensive or regulars)"
            )),
        }
    }
}

/// One class session in the studio's local time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Session {
    pub date: NaiveDate,
    pub start: NaiveTime,
    /// `None` when the page gives only a start time.
    pub end: Option<NaiveTime>,
}

/// The app's `time_details` element: `{day, month, year, start_time, end_time}` with
/// 12-hour `HH:MM AM/PM` strings. A session without a known end stores `end_time: ""`
/// (the field stays a string, as the app decodes it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeDetail {
    pub day: i32,
    pub month: i32,
    pub year: i32,
    pub start_time: String,
    pub end_time: String,
}

/// Formats a time as the app expects: `06:00 PM`.
pub fn format_12h(time: NaiveTime) -> String {
    time.format("%I:%M %p").to_string()
}

/// Reads the app's `06:00 PM` (also `6:00 pm`, and 24-hour `18:00`): the inverse of
/// [`format_12h`], for documents read back at the store's edge.
pub fn parse_12h(text: &str) -> Option<NaiveTime> {
    let t = text.trim().to_ascii_uppercase();
    NaiveTime::parse_from_str(&t, "%I:%M %p")
        .or_else(|_| NaiveTime::parse_from_str(&t, "%I:%M%p"))
        .or_else(|_| NaiveTime::parse_from_str(&t, "%H:%M"))
        .ok()
}

impl Session {
    /// A stored `time_details` entry back as a session; `None` when its date or start
    /// time is unreadable (an end time that is empty or unreadable is `None`).
    pub fn from_time_detail(t: &TimeDetail) -> Option<Session> {
        let date = NaiveDate::from_ymd_opt(
            t.year,
            u32::try_from(t.month).ok()?,
            u32::try_from(t.day).ok()?,
        )?;
        Some(Session {
            date,
            start: parse_12h(&t.start_time)?,
            end: parse_12h(&t.end_time),
        })
    }
}

impl From<&Session> for TimeDetail {
    fn from(s: &Session) -> Self {
        use chrono::Datelike;
        TimeDetail {
            day: s.date.day() as i32,
            month: s.date.month() as i32,
            year: s.date.year(),
            start_time: format_12h(s.start),
            end_time: s.end.map(format_12h).unwrap_or_default(),
        }
    }
}

/// Every field of a `workshops_v2` document that the pipeline derives from a page.
/// `_id`, `version`, `updated_at`, `is_archived` and bookkeeping are the store's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkshopDraft {
    pub uuid: String,
    pub studio_id: String,
    pub payment_link: String,
    pub payment_link_type: String,
    pub event_type: EventType,
    /// Sorted and de-duplicated; see [`sessions_to_time_details`].
    pub time_details: Vec<TimeDetail>,
    pub by: String,
    pub song: Option<String>,
    pub pricing_info: String,
    /// Sorted artist ids from `artists_v2`; may be empty.
    pub artist_id_list: Vec<String>,
    pub choreo_insta_link: Option<String>,
    /// The sessions behind `time_details`, kept typed for signatures, past checks and
    /// reminders. Not serialised into the document.
    #[serde(skip)]
    pub sessions: Vec<Session>,
}

/// Sorts and de-duplicates sessions, then renders them in the app's shape.
pub fn sessions_to_time_details(sessions: &mut Vec<Session>) -> Vec<TimeDetail> {
    sessions.sort();
    sessions.dedup();
    sessions.iter().map(TimeDetail::from).collect()
}

/// Version tag of the signature canonical form; bump it if the form ever changes.
pub const SIGNATURE_FORM: &str = "nachna-sig-v1";

/// Lower-cases, strips accents and punctuation, and collapses white space, so that
/// wording differences ("Hauli  Slowly!" vs "hauli slowly") do not make a new event.
pub fn normalise_key_text(text: &str) -> String {
    let ascii = deunicode::deunicode(text).to_lowercase();
    ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect::<Vec<_>>()
        .join(" ")
}

impl WorkshopDraft {
    /// The canonical text hashed into the signature, one field per line:
    ///
    /// ```text
    /// nachna-sig-v1
    /// studio:<studio_id>
    /// artists:<sorted artist ids joined by ",">   or   by:<normalised by text>
    /// song:<normalised song, empty when none>
    /// sessions:<sorted "YYYY-MM-DDTHH:MM" starts joined by ",">
    /// ```
    ///
    /// Price, wording, end times and links are deliberately left out: they change
    /// without the event changing, and a second link to the same event must collide.
    pub fn signature_canonical_form(&self) -> String {
        let who = if self.artist_id_list.is_empty() {
            format!("by:{}", normalise_key_text(&self.by))
        } else {
            let mut ids = self.artist_id_list.clone();
            ids.sort();
            ids.dedup();
            format!("artists:{}", ids.join(","))
        };
        let song = self
            .song
            .as_deref()
            .map(normalise_key_text)
            .unwrap_or_default();
        let mut starts: Vec<String> = self
            .sessions
            .iter()
            .map(|s| format!("{}T{}", s.date.format("%Y-%m-%d"), s.start.format("%H:%M")))
            .collect();
        starts.sort();
        starts.dedup();
        format!(
            "{SIGNATURE_FORM}\nstudio:{}\n{who}\nsong:{song}\nsessions:{}",
            self.studio_id,
            starts.join(",")
        )
    }

    /// SHA-256 (hex) of [`Self::signature_canonical_form`].
    pub fn signature(&self) -> String {
        count(&SIGNATURES_COMPUTED);
        sha256_hex(self.signature_canonical_form().as_bytes())
    }

    /// SHA-256 (hex) over the serialised document fields. `choreo_insta_link` is left
    /// out because the store keeps an existing value rather than the page's.
    pub fn content_hash(&self) -> String {
        count(&CONTENT_HASHES_COMPUTED);
        let mut copy = self.clone();
        copy.choreo_insta_link = None;
        let json = serde_json::to_vec(&copy).expect("a draft always serialises");
        sha256_hex(&json)
    }

    /// True when every session starts before `today` (studio local date).
    pub fn is_past(&self, today: NaiveDate) -> bool {
        !self.sessions.is_empty() && self.sessions.iter().all(|s| s.date < today)
    }
}

/// What identifies a workshop, computed once per draft ([`Identified::new`]) and then
/// read by the plan, the store and the notifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// SHA-256 of `canonical`: the event's key in `workshop_signatures`.
    pub signature: String,
    /// [`WorkshopDraft::signature_canonical_form`].
    pub canonical: String,
    /// [`WorkshopDraft::content_hash`]: whether anything stored would change.
    pub content_hash: String,
}

/// How well the page backs a draft's date and artists (`extract::confidence::assess`
/// reads it off the provenance). A workshop announced on weak evidence is held for a
/// person to confirm (`nachna-ingest review`) instead of being pushed to followers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Confidence {
    /// One short line, e.g. `date: JSON-LD startDate (strong); artist: handle (strong)`.
    pub verdict: String,
    /// Why the date or an artist rests on weak evidence; empty when nothing is weak.
    pub weak: Vec<String>,
    /// The event's title as the page states it, shown to the reviewer.
    pub title: Option<String>,
}

impl Confidence {
    pub fn is_weak(&self) -> bool {
        !self.weak.is_empty()
    }
}

/// A draft with its identity, computed once when the run takes the draft in.
///
/// The identity covers every field but `choreo_insta_link`, so the plan may set that
/// link (borrowing one) without the identity going stale; any other change goes through
/// [`Identified::new`] again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identified {
    draft: WorkshopDraft,
    identity: Identity,
    /// `None` when nobody assessed it (a draft built by hand): never held for review.
    confidence: Option<Confidence>,
}

impl Identified {
    pub fn new(draft: WorkshopDraft) -> Identified {
        count(&SIGNATURES_COMPUTED);
        let canonical = draft.signature_canonical_form();
        let identity = Identity {
            signature: sha256_hex(canonical.as_bytes()),
            canonical,
            content_hash: draft.content_hash(),
        };
        Identified {
            draft,
            identity,
            confidence: None,
        }
    }

    /// The same draft with its confidence verdict (left out of the identity: a verdict
    /// changes nothing stored about the event itself).
    pub fn with_confidence(mut self, confidence: Confidence) -> Identified {
        self.confidence = Some(confidence);
        self
    }

    pub fn confidence(&self) -> Option<&Confidence> {
        self.confidence.as_ref()
    }

    pub fn draft(&self) -> &WorkshopDraft {
        &self.draft
    }

    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    pub fn uuid(&self) -> &str {
        &self.draft.uuid
    }

    pub fn signature(&self) -> &str {
        &self.identity.signature
    }

    pub fn content_hash(&self) -> &str {
        &self.identity.content_hash
    }

    /// Sets the choreography link (which the identity leaves out).
    pub fn set_choreo_link(&mut self, link: String) {
        self.draft.choreo_insta_link = Some(link);
    }

    /// The same event under the uuid it is already stored under: a page that now
    /// reaches it by another identity (a link or naming rule changed) continues it
    /// rather than starting a second one. The identity is recomputed (the uuid is part
    /// of the content); the confidence verdict stays.
    pub fn continuing(self, uuid: &str) -> Identified {
        let confidence = self.confidence;
        let mut draft = self.draft;
        draft.uuid = uuid.to_string();
        Identified {
            confidence,
            ..Identified::new(draft)
        }
    }

    pub fn into_draft(self) -> WorkshopDraft {
        self.draft
    }
}

impl From<WorkshopDraft> for Identified {
    fn from(draft: WorkshopDraft) -> Identified {
        Identified::new(draft)
    }
}

thread_local! {
    static SIGNATURES_COMPUTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
    static CONTENT_HASHES_COMPUTED: std::cell::Cell<u64> = const { std::cell::Cell::new(0) };
}

fn count(counter: &'static std::thread::LocalKey<std::cell::Cell<u64>>) {
    counter.with(|c| c.set(c.get() + 1));
}

/// How many signatures and content hashes this thread has computed so far: lets a
/// test prove that a run computes each once per workshop. (A single-threaded runtime
/// runs a whole studio run on the test's thread.)
pub fn identity_computations() -> (u64, u64) {
    (
        SIGNATURES_COMPUTED.with(|c| c.get()),
        CONTENT_HASHES_COMPUTED.with(|c| c.get()),
    )
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft() -> WorkshopDraft {
        let mut sessions = vec![Session {
            date: NaiveDate::from_ymd_opt(2026, 6, 21).unwrap(),
            start: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
            end: Some(NaiveTime::from_hms_opt(20, 0, 0).unwrap()),
        }];
        WorkshopDraft {
            uuid: "dna/rajesh".into(),
            studio_id: "dna".into(),
            payment_link: "https://example.test/e/Rajesh".into(),
            payment_link_type: "url".into(),
            event_type: EventType::Workshop,
            time_details: sessions_to_time_details(&mut sessions),
            by: "Rajesh".into(),
            song: Some("Hauli Slowly".into()),
            pricing_info: "850/-".into(),
            artist_id_list: vec!["rajesh".into()],
            choreo_insta_link: None,
            sessions,
        }
    }

    #[test]
    fn time_detail_uses_twelve_hour_clock_with_leading_zero() {
        let d = draft();
        assert_eq!(
            d.time_details,
            vec![TimeDetail {
                day: 21,
                month: 6,
                year: 2026,
                start_time: "06:00 PM".into(),
                end_time: "08:00 PM".into()
            }]
        );
    }

    #[test]
    fn signature_ignores_price_link_and_song_wording() {
        let a = draft();
        let mut b = draft();
        b.pricing_info = "1100/-".into();
        b.payment_link = "https://other.test/x".into();
        b.uuid = "dna/other".into();
        b.song = Some("  hauli SLOWLY! ".into());
        assert_eq!(a.signature(), b.signature());
        assert_ne!(a.content_hash(), b.content_hash());
    }

    #[test]
    fn signature_changes_with_sessions_and_artists() {
        let a = draft();
        let mut b = draft();
        b.sessions[0].start = NaiveTime::from_hms_opt(17, 0, 0).unwrap();
        assert_ne!(a.signature(), b.signature());
        let mut c = draft();
        c.artist_id_list = vec!["someone_else".into()];
        assert_ne!(a.signature(), c.signature());
    }

    #[test]
    fn canonical_form_is_documented_shape() {
        assert_eq!(
            draft().signature_canonical_form(),
            "nachna-sig-v1\nstudio:dna\nartists:rajesh\nsong:hauli slowly\nsessions:2026-06-21T18:00"
        );
    }

    #[test]
    fn content_hash_ignores_choreo_link() {
        let a = draft();
        let mut b = draft();
        b.choreo_insta_link = Some("https://instagram.com/reel/x".into());
        assert_eq!(a.content_hash(), b.content_hash());
    }

    #[test]
    fn twelve_hour_times_parse() {
        assert_eq!(parse_12h("12:00 AM"), NaiveTime::from_hms_opt(0, 0, 0));
        assert_eq!(parse_12h("12:30 PM"), NaiveTime::from_hms_opt(12, 30, 0));
        assert_eq!(parse_12h("6:05 pm"), NaiveTime::from_hms_opt(18, 5, 0));
        assert_eq!(parse_12h("TBD"), None);
    }

    #[test]
    fn stored_time_detail_reads_back_as_the_session() {
        let d = draft();
        let back: Vec<Session> = d
            .time_details
            .iter()
            .filter_map(Session::from_time_detail)
            .collect();
        assert_eq!(back, d.sessions);
    }

    #[test]
    fn sessions_are_sorted_and_deduplicated() {
        let s = |d: u32, h: u32| Session {
            date: NaiveDate::from_ymd_opt(2026, 3, d).unwrap(),
            start: NaiveTime::from_hms_opt(h, 0, 0).unwrap(),
            end: None,
        };
        let mut sessions = vec![s(3, 10), s(1, 18), s(3, 10), s(1, 9)];
        let details = sessions_to_time_details(&mut sessions);
        assert_eq!(sessions, vec![s(1, 9), s(1, 18), s(3, 10)]);
        assert_eq!(details[0].start_time, "09:00 AM");
        assert_eq!(details[2].end_time, "");
    }
}
