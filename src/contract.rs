//! The app contract (`shared/app-contract.md`) in one place: what the app's API server
//! needs from every document we write, checked before the store writes it.
//!
//! The app's server builds whole lists from every live document at once, so one document
//! that breaks a rule below empties or crashes a list for every user. The store therefore
//! runs [`check_workshop`], [`check_studio`] or [`check_notification`] on the document
//! exactly as it will be stored, and writes nothing when a rule is broken; the run reports
//! the [`Rejected`] error, which names each broken rule and the page (or push) it came
//! from.
//!
//! The checks read a document in MongoDB's relaxed extended JSON (what the store turns a
//! BSON document into): an ObjectId is `{"$oid": …}`, a datetime `{"$date": …}`, a 32- or
//! 64-bit integer a JSON integer, a double a JSON float. This module is a leaf: it names
//! neither the driver nor anything else of the crate.
//!
//! [`app_price`] is the app's own price rule (in-app booking charges what it yields),
//! used to check `pricing_info` and, in tests, every golden document.

use chrono::NaiveDate;
use regex::Regex;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::LazyLock;

/// One rule of the contract. [`Rule::code`] is the stable name used in reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Rule {
    /// `workshops_v2`: `_id`, `uuid`, `payment_link`, `payment_link_type`, `studio_id`,
    /// `event_type`, `by`, `song`, `updated_at`, `choreo_insta_link`, `time_details`
    /// and `workshop_uuid` are present.
    WorkshopRequiredKeys,
    /// `_id` is an ObjectId (admin edits key on it).
    WorkshopId,
    /// `uuid` is a non-empty string.
    WorkshopUuid,
    /// `workshop_uuid` equals `uuid`: the app's server keeps a unique index on it.
    WorkshopUuidMirror,
    /// `payment_link` is a string; an `http(s)` URL when `payment_link_type` is `url`.
    WorkshopPaymentLink,
    /// `payment_link_type` is `url`, `whatsapp` or `nachna`.
    WorkshopPaymentLinkType,
    /// `event_type` is `workshop`, `intensive` or `regulars`.
    WorkshopEventType,
    /// `by` is a string.
    WorkshopBy,
    /// `song` is a string or null.
    WorkshopSong,
    /// `updated_at` is a number.
    WorkshopUpdatedAt,
    /// `choreo_insta_link` is null or an `http(s)` URL (never `""`).
    WorkshopChoreoLink,
    /// `time_details` is a list of documents.
    WorkshopTimeDetails,
    /// Every `time_details` entry has `day`, `month`, `year`, `start_time`, `end_time`.
    WorkshopTimeDetailKeys,
    /// `day`, `month`, `year` are integers forming a real date.
    WorkshopTimeDetailDate,
    /// `start_time` is `HH:MM AM/PM` (or `TBA`); `end_time` the same, `""` or null.
    WorkshopTimeDetailTimes,
    /// `studio_id` is a string naming a document in `discovery.studios`.
    WorkshopStudioExists,
    /// `artist_id_list` is a list of strings, each an `artists_v2` id whose artist has
    /// an `http(s)` `instagram_link`.
    WorkshopArtists,
    /// `pricing_info` is a string that reads well: no HTML, no markup entities, no time
    /// or date used as a label.
    WorkshopPricingReadable,
    /// A non-empty `pricing_info` yields a price above ₹0 under the app's rule.
    WorkshopPricingParses,
    /// `studios`: `studio_id` is a non-empty string.
    StudioId,
    /// `studios`: `studio_name` is a non-empty string.
    StudioName,
    /// `studios`: `instagram_link` is an `http(s)` URL.
    StudioInstagramLink,
    /// `notification_history`: `user_id`, `workshop_uuid`, `artist_id`, `title`, `body`
    /// are strings (`user_id`, `workshop_uuid`, `title` non-empty).
    NotificationFields,
    /// `notification_type` is `new_workshop`, `reminder_24h` or `schedule_change`.
    NotificationType,
    /// `is_sent` is `true`.
    NotificationIsSent,
    /// `sent_at` and `created_at` are UTC datetimes.
    NotificationTimes,
}

impl Rule {
    pub const ALL: [Rule; 26] = [
        Rule::WorkshopRequiredKeys,
        Rule::WorkshopId,
        Rule::WorkshopUuid,
        Rule::WorkshopUuidMirror,
        Rule::WorkshopPaymentLink,
        Rule::WorkshopPaymentLinkType,
        Rule::WorkshopEventType,
        Rule::WorkshopBy,
        Rule::WorkshopSong,
        Rule::WorkshopUpdatedAt,
        Rule::WorkshopChoreoLink,
        Rule::WorkshopTimeDetails,
        Rule::WorkshopTimeDetailKeys,
        Rule::WorkshopTimeDetailDate,
        Rule::WorkshopTimeDetailTimes,
        Rule::WorkshopStudioExists,
        Rule::WorkshopArtists,
        Rule::WorkshopPricingReadable,
        Rule::WorkshopPricingParses,
        Rule::StudioId,
        Rule::StudioName,
        Rule::StudioInstagramLink,
        Rule::NotificationFields,
        Rule::NotificationType,
        Rule::NotificationIsSent,
        Rule::NotificationTimes,
    ];

    /// Stable name, `<collection>.<field>[.<aspect>]`.
    pub fn code(self) -> &'static str {
        match self {
            Rule::WorkshopRequiredKeys => "workshops_v2.required_keys",
            Rule::WorkshopId => "workshops_v2._id",
            Rule::WorkshopUuid => "workshops_v2.uuid",
            Rule::WorkshopUuidMirror => "workshops_v2.workshop_uuid",
            Rule::WorkshopPaymentLink => "workshops_v2.payment_link",
            Rule::WorkshopPaymentLinkType => "workshops_v2.payment_link_type",
            Rule::WorkshopEventType => "workshops_v2.event_type",
            Rule::WorkshopBy => "workshops_v2.by",
            Rule::WorkshopSong => "workshops_v2.song",
            Rule::WorkshopUpdatedAt => "workshops_v2.updated_at",
            Rule::WorkshopChoreoLink => "workshops_v2.choreo_insta_link",
            Rule::WorkshopTimeDetails => "workshops_v2.time_details",
            Rule::WorkshopTimeDetailKeys => "workshops_v2.time_details.keys",
            Rule::WorkshopTimeDetailDate => "workshops_v2.time_details.date",
            Rule::WorkshopTimeDetailTimes => "workshops_v2.time_details.times",
            Rule::WorkshopStudioExists => "workshops_v2.studio_id",
            Rule::WorkshopArtists => "workshops_v2.artist_id_list",
            Rule::WorkshopPricingReadable => "workshops_v2.pricing_info.readable",
            Rule::WorkshopPricingParses => "workshops_v2.pricing_info.price",
            Rule::StudioId => "studios.studio_id",
            Rule::StudioName => "studios.studio_name",
            Rule::StudioInstagramLink => "studios.instagram_link",
            Rule::NotificationFields => "notification_history.fields",
            Rule::NotificationType => "notification_history.notification_type",
            Rule::NotificationIsSent => "notification_history.is_sent",
            Rule::NotificationTimes => "notification_history.times",
        }
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// One broken rule and what exactly broke it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    pub rule: Rule,
    pub detail: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.rule, self.detail)
    }
}

/// A document the store refused to write. `subject` names where it came from: the page
/// (and uuid) of a workshop, the studio id, the push (user, workshop, type).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{collection} document for {subject} breaks the app contract: {}", list(.violations))]
pub struct Rejected {
    pub collection: &'static str,
    pub subject: String,
    pub violations: Vec<Violation>,
}

impl Rejected {
    pub fn rules(&self) -> Vec<Rule> {
        self.violations.iter().map(|v| v.rule).collect()
    }
}

fn list(violations: &[Violation]) -> String {
    violations
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// What the references in a workshop must point at: the studios in `discovery.studios`
/// and the artists in `artists_v2` with their `instagram_link`.
#[derive(Debug, Clone, Default)]
pub struct References {
    studios: BTreeSet<String>,
    artists: BTreeMap<String, Option<String>>,
}

impl References {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add_studio(&mut self, studio_id: impl Into<String>) -> &mut Self {
        self.studios.insert(studio_id.into());
        self
    }

    pub fn add_artist(
        &mut self,
        artist_id: impl Into<String>,
        instagram_link: Option<&str>,
    ) -> &mut Self {
        self.artists
            .insert(artist_id.into(), instagram_link.map(str::to_string));
        self
    }

    pub fn has_studio(&self, studio_id: &str) -> bool {
        self.studios.contains(studio_id)
    }

    /// `None` when the artist is unknown; `Some(link)` otherwise.
    pub fn artist_link(&self, artist_id: &str) -> Option<Option<&str>> {
        self.artists.get(artist_id).map(Option::as_deref)
    }
}

/// True for an absolute `http://` or `https://` URL with a host.
pub fn is_http_url(s: &str) -> bool {
    match url::Url::parse(s.trim()) {
        Ok(u) => {
            matches!(u.scheme(), "http" | "https") && u.host_str().is_some_and(|h| !h.is_empty())
        }
        Err(_) => false,
    }
}

/// The app's time format: zero-padded 12-hour `HH:MM AM` / `HH:MM PM`.
pub fn is_app_time(s: &str) -> bool {
    static TIME: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^(0[1-9]|1[0-2]):[0-5][0-9] (AM|PM)$").expect("static regex")
    });
    TIME.is_match(s)
}

/// The form we write when a session's start time is not announced.
pub const TBA: &str = "TBA";

/// The price in whole rupees that the app charges for `pricing_info`, exactly as the
/// contract describes the app's rule:
///
/// * a whole string that is just a number (`950`, `₹1,500`) is that price;
/// * otherwise lines are split on `\n`; a line without `:` is ignored; the amount is
///   what follows the last `:`, with `₹`, `,` and `/-` removed, and must be whole digits;
/// * the first line labelled "Single Class" that parses wins, else the first line that
///   parses;
/// * nothing parses → 0 (the app shows and charges ₹0).
pub fn app_price(pricing_info: &str) -> u64 {
    if let Some(p) = lone_price(pricing_info) {
        return p;
    }
    let mut first = None;
    for line in pricing_info.split('\n') {
        let Some(colon) = line.rfind(':') else {
            continue;
        };
        let Some(amount) = digits_only(&line[colon + 1..].replace("/-", "")) else {
            continue;
        };
        if line[..colon].trim().eq_ignore_ascii_case("single class") {
            return amount;
        }
        first.get_or_insert(amount);
    }
    first.unwrap_or(0)
}

fn lone_price(s: &str) -> Option<u64> {
    digits_only(s)
}

/// `₹` and `,` removed, white space at the ends trimmed, then whole ASCII digits.
fn digits_only(s: &str) -> Option<u64> {
    let cleaned: String = s.chars().filter(|c| *c != '₹' && *c != ',').collect();
    let t = cleaned.trim();
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    t.parse().ok()
}

/// A document as the checks read it: relaxed extended JSON of the BSON document.
pub type Doc = Map<String, Value>;

/// The keys the app's server reads from every live workshop without checking.
const WORKSHOP_KEYS: [&str; 12] = [
    "_id",
    "uuid",
    "workshop_uuid",
    "payment_link",
    "payment_link_type",
    "studio_id",
    "event_type",
    "by",
    "song",
    "updated_at",
    "choreo_insta_link",
    "time_details",
];

fn str_of<'a>(doc: &'a Doc, key: &str) -> Option<&'a str> {
    doc.get(key).and_then(Value::as_str)
}

fn is_object_id(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.len() == 1 && o.get("$oid").is_some_and(Value::is_string))
}

fn is_datetime(v: &Value) -> bool {
    v.as_object()
        .is_some_and(|o| o.len() == 1 && o.contains_key("$date"))
}

fn is_integer(v: &Value) -> bool {
    v.as_i64().is_some() || v.as_u64().is_some()
}

/// Every rule a `workshops_v2` document breaks, as it will be stored.
pub fn check_workshop(doc: &Doc, refs: &References) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut bad = |rule: Rule, detail: String| out.push(Violation { rule, detail });
    check_workshop_identity(doc, &mut bad);
    check_workshop_payment(doc, &mut bad);
    check_workshop_fields(doc, &mut bad);
    check_workshop_time_details(doc, &mut bad);
    check_workshop_references(doc, refs, &mut bad);
    check_workshop_pricing(doc, &mut bad);
    out
}

/// The keys the server requires, `_id`, `uuid` and its `workshop_uuid` mirror.
fn check_workshop_identity(doc: &Doc, bad: &mut impl FnMut(Rule, String)) {
    let missing: Vec<&str> = WORKSHOP_KEYS
        .iter()
        .copied()
        .filter(|k| !doc.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        bad(
            Rule::WorkshopRequiredKeys,
            format!("missing {}", missing.join(", ")),
        );
    }
    if let Some(v) = doc.get("_id") {
        if !is_object_id(v) {
            bad(
                Rule::WorkshopId,
                format!("`_id` is {}, not an ObjectId", kind(v)),
            );
        }
    }
    let uuid = doc.get("uuid");
    match uuid {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        Some(v) => bad(Rule::WorkshopUuid, format!("`uuid` is {}", kind(v))),
        None => {}
    }
    match (uuid, doc.get("workshop_uuid")) {
        (Some(u), Some(w)) if u == w => {}
        (_, None) => {}
        (u, Some(w)) => bad(
            Rule::WorkshopUuidMirror,
            format!(
                "`workshop_uuid` is {} but `uuid` is {}",
                kind(w),
                opt_kind(u)
            ),
        ),
    }
}

/// `payment_link` (an http(s) URL for `url` workshops) and `payment_link_type`.
fn check_workshop_payment(doc: &Doc, bad: &mut impl FnMut(Rule, String)) {
    let link_type = str_of(doc, "payment_link_type");
    match doc.get("payment_link") {
        Some(Value::String(s)) if link_type != Some("url") || is_http_url(s) => {}
        Some(Value::String(s)) => bad(
            Rule::WorkshopPaymentLink,
            format!("`payment_link` {s:?} is not an http(s) URL"),
        ),
        Some(v) => bad(
            Rule::WorkshopPaymentLink,
            format!("`payment_link` is {}", kind(v)),
        ),
        None => {}
    }
    match doc.get("payment_link_type") {
        Some(Value::String(s)) if matches!(s.as_str(), "url" | "whatsapp" | "nachna") => {}
        Some(v) => bad(
            Rule::WorkshopPaymentLinkType,
            format!(
                "`payment_link_type` is {} (expected url, whatsapp or nachna)",
                kind(v)
            ),
        ),
        None => {}
    }
}

/// `event_type`, `by`, `song`, `updated_at`, `choreo_insta_link`: types and values.
fn check_workshop_fields(doc: &Doc, bad: &mut impl FnMut(Rule, String)) {
    match doc.get("event_type") {
        Some(Value::String(s)) if matches!(s.as_str(), "workshop" | "intensive" | "regulars") => {}
        Some(v) => bad(
            Rule::WorkshopEventType,
            format!(
                "`event_type` is {} (expected workshop, intensive or regulars)",
                kind(v)
            ),
        ),
        None => {}
    }
    match doc.get("by") {
        Some(Value::String(_)) | None => {}
        Some(v) => bad(Rule::WorkshopBy, format!("`by` is {}", kind(v))),
    }
    match doc.get("song") {
        Some(Value::String(_) | Value::Null) | None => {}
        Some(v) => bad(Rule::WorkshopSong, format!("`song` is {}", kind(v))),
    }
    match doc.get("updated_at") {
        Some(Value::Number(_)) | None => {}
        Some(v) => bad(
            Rule::WorkshopUpdatedAt,
            format!("`updated_at` is {}, not a number", kind(v)),
        ),
    }
    match doc.get("choreo_insta_link") {
        Some(Value::Null) | None => {}
        Some(Value::String(s)) if is_http_url(s) => {}
        Some(v) => bad(
            Rule::WorkshopChoreoLink,
            format!(
                "`choreo_insta_link` is {}; must be null or an http(s) URL",
                kind(v)
            ),
        ),
    }
}

/// `time_details`: a list of complete entries.
fn check_workshop_time_details(doc: &Doc, bad: &mut impl FnMut(Rule, String)) {
    match doc.get("time_details") {
        None => {}
        Some(Value::Array(entries)) => {
            for (i, entry) in entries.iter().enumerate() {
                match entry {
                    Value::Object(e) if !is_object_id(entry) && !is_datetime(entry) => {
                        check_time_detail(i, e, bad)
                    }
                    _ => bad(
                        Rule::WorkshopTimeDetails,
                        format!("time_details[{i}] is {}, not a document", kind(entry)),
                    ),
                }
            }
        }
        Some(v) => bad(
            Rule::WorkshopTimeDetails,
            format!("`time_details` is {}", kind(v)),
        ),
    }
}

/// The studio and every artist exist (artists with an http(s) Instagram link).
fn check_workshop_references(doc: &Doc, refs: &References, bad: &mut impl FnMut(Rule, String)) {
    match doc.get("studio_id") {
        Some(Value::String(s)) if refs.has_studio(s) => {}
        Some(Value::String(s)) => bad(
            Rule::WorkshopStudioExists,
            format!("studio `{s}` is not in discovery.studios"),
        ),
        Some(v) => bad(
            Rule::WorkshopStudioExists,
            format!("`studio_id` is {}", kind(v)),
        ),
        None => {}
    }
    match doc.get("artist_id_list") {
        None => {}
        Some(Value::Array(ids)) => {
            for id in ids {
                let Value::String(id) = id else {
                    bad(
                        Rule::WorkshopArtists,
                        format!("`artist_id_list` holds {}", kind(id)),
                    );
                    continue;
                };
                match refs.artist_link(id) {
                    None => bad(
                        Rule::WorkshopArtists,
                        format!("artist `{id}` is not in artists_v2"),
                    ),
                    Some(Some(link)) if is_http_url(link) => {}
                    Some(link) => bad(
                        Rule::WorkshopArtists,
                        format!(
                            "artist `{id}` has no http(s) instagram_link ({})",
                            link.map(|l| format!("{l:?}"))
                                .unwrap_or_else(|| "none".into())
                        ),
                    ),
                }
            }
        }
        Some(v) => bad(
            Rule::WorkshopArtists,
            format!("`artist_id_list` is {}", kind(v)),
        ),
    }
}

/// `pricing_info`: readable text the app's price rule charges something for.
fn check_workshop_pricing(doc: &Doc, bad: &mut impl FnMut(Rule, String)) {
    match doc.get("pricing_info") {
        None => {}
        Some(Value::String(p)) => {
            if let Some(problem) = unreadable_pricing(p) {
                bad(Rule::WorkshopPricingReadable, problem);
            }
            if !p.trim().is_empty() && app_price(p) == 0 {
                bad(
                    Rule::WorkshopPricingParses,
                    format!("the app would charge ₹0 for {p:?}"),
                );
            }
        }
        Some(v) => bad(
            Rule::WorkshopPricingReadable,
            format!("`pricing_info` is {}", kind(v)),
        ),
    }
}

fn check_time_detail(i: usize, e: &Doc, bad: &mut impl FnMut(Rule, String)) {
    let missing: Vec<&str> = ["day", "month", "year", "start_time", "end_time"]
        .into_iter()
        .filter(|k| !e.contains_key(*k))
        .collect();
    if !missing.is_empty() {
        bad(
            Rule::WorkshopTimeDetailKeys,
            format!("time_details[{i}] has no {}", missing.join(", ")),
        );
    }
    let mut not_int = Vec::new();
    for k in ["day", "month", "year"] {
        if let Some(v) = e.get(k) {
            if !is_integer(v) {
                not_int.push(format!("{k} is {}", kind(v)));
            }
        }
    }
    let int = |k: &str| e.get(k).and_then(Value::as_i64);
    if !not_int.is_empty() {
        bad(
            Rule::WorkshopTimeDetailDate,
            format!("time_details[{i}]: {}", not_int.join(", ")),
        );
    } else if let (Some(d), Some(m), Some(y)) = (int("day"), int("month"), int("year")) {
        let real = i32::try_from(y).ok().and_then(|y| {
            NaiveDate::from_ymd_opt(y, u32::try_from(m).ok()?, u32::try_from(d).ok()?)
        });
        if real.is_none() {
            bad(
                Rule::WorkshopTimeDetailDate,
                format!("time_details[{i}]: {y}-{m}-{d} is not a date"),
            );
        }
    }
    match e.get("start_time") {
        None => {}
        Some(Value::String(s)) if is_app_time(s) || s == TBA => {}
        Some(v) => bad(
            Rule::WorkshopTimeDetailTimes,
            format!(
                "time_details[{i}].start_time is {} (expected `HH:MM AM/PM`)",
                kind(v)
            ),
        ),
    }
    match e.get("end_time") {
        None | Some(Value::Null) => {}
        Some(Value::String(s)) if s.is_empty() || is_app_time(s) || s == TBA => {}
        Some(v) => bad(
            Rule::WorkshopTimeDetailTimes,
            format!(
                "time_details[{i}].end_time is {} (expected `HH:MM AM/PM`, \"\" or null)",
                kind(v)
            ),
        ),
    }
}

static TIME_EXPR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?:\b\d{1,2}(?:[:.]\d{2})?\s*(?:[ap]\.?m\b\.?)?\s*(?:-|–|—|to)\s*)?\b\d{1,2}(?:[:.]\d{2})?\s*[ap]\.?m\b\.?|\b\d{1,2}:\d{2}\b(?:\s*(?:-|–|—|to)\s*\d{1,2}:\d{2}\b)?|\b(?:noon|midnight)\b",
    )
    .expect("static regex")
});

/// True when a text holds a clock time (`6 PM`, `18:00`, `5:00P.M.`).
pub fn label_has_time(label: &str) -> bool {
    TIME_EXPR.is_match(label)
}

/// `label` without its clock times (and time ranges).
pub fn without_times(label: &str) -> String {
    TIME_EXPR.replace_all(label, " ").into_owned()
}

/// True when a label is nothing but a date (`Sat, 21st June`, `21/06/2026`): the app's
/// date tiers name the tier (`Early Bird (Till 18th Sept)`), never the date alone.
pub fn label_is_only_a_date(label: &str) -> bool {
    static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{2,4})?$").expect("static regex")
    });
    static ORDINAL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\d{1,4}(?:st|nd|rd|th)?$").expect("static regex"));
    const NAMES: &[&str] = &[
        "jan",
        "january",
        "feb",
        "february",
        "mar",
        "march",
        "apr",
        "april",
        "may",
        "jun",
        "june",
        "jul",
        "july",
        "aug",
        "august",
        "sep",
        "sept",
        "september",
        "oct",
        "october",
        "nov",
        "november",
        "dec",
        "december",
        "mon",
        "monday",
        "tue",
        "tues",
        "tuesday",
        "wed",
        "wednesday",
        "thu",
        "thursday",
        "fri",
        "friday",
        "sat",
        "saturday",
        "sun",
        "sunday",
    ];
    const FILLERS: &[&str] = &["to", "and", "on", "of"];
    let t = label.trim();
    if NUMERIC.is_match(t) {
        return true;
    }
    let lower = t.to_lowercase();
    let tokens: Vec<&str> = lower
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    tokens.iter().any(|w| NAMES.contains(w))
        && tokens
            .iter()
            .all(|w| NAMES.contains(w) || FILLERS.contains(w) || ORDINAL.is_match(w))
}

/// Why `pricing_info` would read badly in the app, if it would.
pub fn unreadable_pricing(p: &str) -> Option<String> {
    static TAG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"</?[A-Za-z!][^>]*>").expect("static regex"));
    static ENTITY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"&(?:[A-Za-z][A-Za-z0-9]{1,31}|#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6});")
            .expect("static regex")
    });
    if let Some(m) = TAG.find(p) {
        return Some(format!("HTML `{}` in {p:?}", m.as_str()));
    }
    if let Some(m) = ENTITY.find(p) {
        return Some(format!("markup entity `{}` in {p:?}", m.as_str()));
    }
    for line in p.split('\n') {
        let Some(colon) = line.rfind(':') else {
            continue;
        };
        let label = line[..colon].trim();
        if label_has_time(label) {
            return Some(format!("a time used in the label {label:?}"));
        }
        if label_is_only_a_date(label) {
            return Some(format!("a date used as the label {label:?}"));
        }
    }
    None
}

/// Every rule a `studios` document breaks, as it will be stored.
pub fn check_studio(doc: &Doc) -> Vec<Violation> {
    let mut out = Vec::new();
    match doc.get("studio_id") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        v => out.push(Violation {
            rule: Rule::StudioId,
            detail: format!("`studio_id` is {}", opt_kind(v)),
        }),
    }
    match doc.get("studio_name") {
        Some(Value::String(s)) if !s.trim().is_empty() => {}
        v => out.push(Violation {
            rule: Rule::StudioName,
            detail: format!("`studio_name` is {}", opt_kind(v)),
        }),
    }
    match doc.get("instagram_link") {
        Some(Value::String(s)) if is_http_url(s) => {}
        v => out.push(Violation {
            rule: Rule::StudioInstagramLink,
            detail: format!("`instagram_link` is {}, not an http(s) URL", opt_kind(v)),
        }),
    }
    out
}

/// The `notification_type` values we write.
pub const NOTIFICATION_TYPES: [&str; 3] = ["new_workshop", "reminder_24h", "schedule_change"];

/// Every rule a `dance_app.notification_history` document breaks.
pub fn check_notification(doc: &Doc) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (key, non_empty) in [
        ("user_id", true),
        ("workshop_uuid", true),
        ("artist_id", false),
        ("title", true),
        ("body", false),
    ] {
        match doc.get(key) {
            Some(Value::String(s)) if !non_empty || !s.trim().is_empty() => {}
            v => problems.push(format!("`{key}` is {}", opt_kind(v))),
        }
    }
    if !problems.is_empty() {
        out.push(Violation {
            rule: Rule::NotificationFields,
            detail: problems.join(", "),
        });
    }
    match doc.get("notification_type") {
        Some(Value::String(s)) if NOTIFICATION_TYPES.contains(&s.as_str()) => {}
        v => out.push(Violation {
            rule: Rule::NotificationType,
            detail: format!(
                "`notification_type` is {} (expected {})",
                opt_kind(v),
                NOTIFICATION_TYPES.join(", ")
            ),
        }),
    }
    match doc.get("is_sent") {
        Some(Value::Bool(true)) => {}
        v => out.push(Violation {
            rule: Rule::NotificationIsSent,
            detail: format!("`is_sent` is {}", opt_kind(v)),
        }),
    }
    let mut times = Vec::new();
    for key in ["sent_at", "created_at"] {
        match doc.get(key) {
            Some(v) if is_datetime(v) => {}
            v => times.push(format!("`{key}` is {}", opt_kind(v))),
        }
    }
    if !times.is_empty() {
        out.push(Violation {
            rule: Rule::NotificationTimes,
            detail: format!("{} (expected UTC datetimes)", times.join(", ")),
        });
    }
    out
}

/// A workshop document checked: `Ok` or the rules it breaks, naming its page and uuid.
pub fn validate_workshop(doc: &Doc, refs: &References) -> Result<(), Rejected> {
    let violations = check_workshop(doc, refs);
    if violations.is_empty() {
        return Ok(());
    }
    let uuid = str_of(doc, "uuid").unwrap_or("(no uuid)");
    let subject = match str_of(doc, "payment_link") {
        Some(page) => format!("page {page} (uuid {uuid})"),
        None => format!("uuid {uuid}"),
    };
    Err(Rejected {
        collection: "workshops_v2",
        subject,
        violations,
    })
}

/// A studio document checked.
pub fn validate_studio(doc: &Doc) -> Result<(), Rejected> {
    let violations = check_studio(doc);
    if violations.is_empty() {
        return Ok(());
    }
    Err(Rejected {
        collection: "studios",
        subject: format!(
            "studio {}",
            str_of(doc, "studio_id").unwrap_or("(no studio_id)")
        ),
        violations,
    })
}

/// A `notification_history` document checked.
pub fn validate_notification(doc: &Doc) -> Result<(), Rejected> {
    let violations = check_notification(doc);
    if violations.is_empty() {
        return Ok(());
    }
    Err(Rejected {
        collection: "notification_history",
        subject: format!(
            "push {} to user {} about {}",
            str_of(doc, "notification_type").unwrap_or("?"),
            str_of(doc, "user_id").unwrap_or("?"),
            str_of(doc, "workshop_uuid").unwrap_or("?"),
        ),
        violations,
    })
}

/// A short description of a value for messages: its type, and the value when short.
fn kind(v: &Value) -> String {
    match v {
        Value::String(s) if s.chars().count() <= 60 => format!("{s:?}"),
        Value::String(_) => "a long string".into(),
        Value::Null => "null".into(),
        Value::Number(n) if is_integer(v) => format!("the integer {n}"),
        Value::Number(n) => format!("the number {n}"),
        Value::Bool(b) => format!("{b}"),
        Value::Array(_) => "a list".into(),
        v if is_object_id(v) => "an ObjectId".into(),
        v if is_datetime(v) => "a datetime".into(),
        Value::Object(_) => "a document".into(),
    }
}

fn opt_kind(v: Option<&Value>) -> String {
    v.map(kind).unwrap_or_else(|| "missing".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Doc {
        v.as_object().expect("an object").clone()
    }

    const OID: &str = "665f1c2e9b1e8a0012345678";

    fn refs() -> References {
        let mut r = References::new();
        r.add_studio("dance.inn.bangalore")
            .add_artist(
                "zoya.khan.dance",
                Some("https://www.instagram.com/zoya.khan.dance/"),
            )
            .add_artist("no_link", None)
            .add_artist("bad_link", Some("instagram.com/bad_link"));
        r
    }

    fn workshop() -> Doc {
        obj(json!({
            "_id": { "$oid": OID },
            "uuid": "dance.inn.bangalore/mV3sZk9",
            "workshop_uuid": "dance.inn.bangalore/mV3sZk9",
            "studio_id": "dance.inn.bangalore",
            "payment_link": "https://rzp.io/rzp/mV3sZk9",
            "payment_link_type": "url",
            "event_type": "workshop",
            "time_details": [
                { "day": 5, "month": 3, "year": 2027, "start_time": "05:00 PM", "end_time": "07:00 PM" },
                { "day": 6, "month": 3, "year": 2027, "start_time": "05:00 PM", "end_time": "" },
            ],
            "by": "Zoya Khan",
            "song": "Chaiyya Chaiyya",
            "pricing_info": "₹950",
            "artist_id_list": ["zoya.khan.dance"],
            "choreo_insta_link": Value::Null,
            "updated_at": 1_780_000_000.5_f64,
            "version": 1,
            "is_archived": false,
        }))
    }

    fn rules_broken(d: &Doc) -> Vec<Rule> {
        let mut r: Vec<Rule> = check_workshop(d, &refs())
            .into_iter()
            .map(|v| v.rule)
            .collect();
        r.dedup();
        r
    }

    fn with(mut d: Doc, key: &str, value: impl Into<Value>) -> Doc {
        d.insert(key.to_string(), value.into());
        d
    }

    fn entry(mut e: Doc) -> Doc {
        let mut d = workshop();
        let td = d.get_mut("time_details").unwrap().as_array_mut().unwrap();
        if let Value::Object(first) = &mut td[0] {
            for (k, v) in std::mem::take(&mut e) {
                if v == json!("__remove__") {
                    first.remove(&k);
                } else {
                    first.insert(k, v);
                }
            }
        }
        d
    }

    #[test]
    fn a_valid_workshop_breaks_no_rule() {
        assert_eq!(check_workshop(&workshop(), &refs()), vec![]);
        assert!(validate_workshop(&workshop(), &refs()).is_ok());
    }

    #[test]
    fn rule_required_keys() {
        for key in WORKSHOP_KEYS {
            let mut d = workshop();
            d.remove(key);
            let broken = check_workshop(&d, &refs());
            assert_eq!(broken[0].rule, Rule::WorkshopRequiredKeys, "{key}");
            assert_eq!(broken[0].detail, format!("missing {key}"));
        }
    }

    #[test]
    fn rule_id_is_an_object_id() {
        assert_eq!(
            rules_broken(&with(workshop(), "_id", "abc")),
            vec![Rule::WorkshopId]
        );
    }

    #[test]
    fn rule_uuid_is_a_non_empty_string() {
        let mut d = with(workshop(), "uuid", "");
        d.insert("workshop_uuid".into(), json!(""));
        assert_eq!(rules_broken(&d), vec![Rule::WorkshopUuid]);
    }

    #[test]
    fn rule_workshop_uuid_equals_uuid() {
        let d = with(workshop(), "workshop_uuid", "dance.inn.bangalore/other");
        assert_eq!(rules_broken(&d), vec![Rule::WorkshopUuidMirror]);
        let d = with(workshop(), "workshop_uuid", Value::Null);
        assert_eq!(rules_broken(&d), vec![Rule::WorkshopUuidMirror]);
    }

    #[test]
    fn rule_payment_link_is_a_string_and_a_url_for_scraped_pages() {
        assert_eq!(
            rules_broken(&with(workshop(), "payment_link", 5)),
            vec![Rule::WorkshopPaymentLink]
        );
        assert_eq!(
            rules_broken(&with(workshop(), "payment_link", "rzp.io/rzp/x")),
            vec![Rule::WorkshopPaymentLink]
        );
        // Hand-entered workshops may carry a phone number.
        let whatsapp = with(
            with(workshop(), "payment_link_type", "whatsapp"),
            "payment_link",
            "+91 98860 43210",
        );
        assert_eq!(rules_broken(&whatsapp), vec![]);
    }

    #[test]
    fn rule_payment_link_type_values() {
        assert_eq!(
            rules_broken(&with(workshop(), "payment_link_type", "URL")),
            vec![Rule::WorkshopPaymentLinkType]
        );
    }

    #[test]
    fn rule_event_type_values() {
        assert_eq!(
            rules_broken(&with(workshop(), "event_type", "class")),
            vec![Rule::WorkshopEventType]
        );
        assert_eq!(
            rules_broken(&with(workshop(), "event_type", "regulars")),
            vec![]
        );
        assert_eq!(
            rules_broken(&with(workshop(), "event_type", "intensive")),
            vec![]
        );
    }

    #[test]
    fn rule_by_is_a_string() {
        assert_eq!(
            rules_broken(&with(workshop(), "by", Value::Null)),
            vec![Rule::WorkshopBy]
        );
    }

    #[test]
    fn rule_song_is_a_string_or_null() {
        assert_eq!(rules_broken(&with(workshop(), "song", Value::Null)), vec![]);
        assert_eq!(
            rules_broken(&with(workshop(), "song", vec!["a", "b"])),
            vec![Rule::WorkshopSong]
        );
    }

    #[test]
    fn rule_updated_at_is_a_number() {
        assert_eq!(
            rules_broken(&with(workshop(), "updated_at", "1749162394.07")),
            vec![Rule::WorkshopUpdatedAt]
        );
        assert_eq!(
            rules_broken(&with(workshop(), "updated_at", 1_749_162_394_i64)),
            vec![]
        );
    }

    #[test]
    fn rule_choreo_link_is_null_or_http_url_never_empty() {
        assert_eq!(
            rules_broken(&with(workshop(), "choreo_insta_link", "")),
            vec![Rule::WorkshopChoreoLink]
        );
        assert_eq!(
            rules_broken(&with(
                workshop(),
                "choreo_insta_link",
                "instagram.com/reel/x"
            )),
            vec![Rule::WorkshopChoreoLink]
        );
        assert_eq!(
            rules_broken(&with(
                workshop(),
                "choreo_insta_link",
                "https://www.instagram.com/reel/C1x/"
            )),
            vec![]
        );
    }

    #[test]
    fn rule_time_details_is_a_list_of_documents() {
        assert_eq!(
            rules_broken(&with(workshop(), "time_details", "5th March")),
            vec![Rule::WorkshopTimeDetails]
        );
        assert_eq!(
            rules_broken(&with(workshop(), "time_details", vec!["5th March"])),
            vec![Rule::WorkshopTimeDetails]
        );
    }

    #[test]
    fn rule_time_detail_has_all_five_keys() {
        let d = entry(obj(json!({ "end_time": json!("__remove__") })));
        let broken = check_workshop(&d, &refs());
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].rule, Rule::WorkshopTimeDetailKeys);
        assert_eq!(broken[0].detail, "time_details[0] has no end_time");
    }

    #[test]
    fn rule_time_detail_date_is_integers_forming_a_date() {
        assert_eq!(
            rules_broken(&entry(obj(json!({ "day": "5" })))),
            vec![Rule::WorkshopTimeDetailDate]
        );
        assert_eq!(
            rules_broken(&entry(obj(json!({ "month": 3.0 })))),
            vec![Rule::WorkshopTimeDetailDate]
        );
        assert_eq!(
            rules_broken(&entry(obj(json!({ "day": 30, "month": 2 })))),
            vec![Rule::WorkshopTimeDetailDate]
        );
    }

    #[test]
    fn rule_time_detail_times_are_twelve_hour() {
        assert_eq!(
            rules_broken(&entry(obj(json!({ "start_time": "18:00" })))),
            vec![Rule::WorkshopTimeDetailTimes]
        );
        assert_eq!(
            rules_broken(&entry(obj(json!({ "start_time": "6:00 PM" })))),
            vec![Rule::WorkshopTimeDetailTimes]
        );
        assert_eq!(
            rules_broken(&entry(obj(json!({ "end_time": "20:00" })))),
            vec![Rule::WorkshopTimeDetailTimes]
        );
        // Unknown end: "" or null; start not announced: TBA.
        assert_eq!(
            rules_broken(&entry(obj(json!({ "end_time": Value::Null })))),
            vec![]
        );
        assert_eq!(
            rules_broken(&entry(obj(json!({ "start_time": "TBA" })))),
            vec![]
        );
        assert_eq!(
            rules_broken(&entry(obj(json!({ "start_time": "12:00 AM" })))),
            vec![]
        );
    }

    #[test]
    fn rule_studio_must_exist() {
        let d = with(workshop(), "studio_id", "vins.dance.co");
        let broken = check_workshop(&d, &refs());
        assert_eq!(broken.len(), 1);
        assert_eq!(broken[0].rule, Rule::WorkshopStudioExists);
        assert_eq!(
            broken[0].detail,
            "studio `vins.dance.co` is not in discovery.studios"
        );
    }

    #[test]
    fn rule_artists_exist_with_an_instagram_link() {
        for id in ["unknown_artist", "no_link", "bad_link"] {
            let d = with(workshop(), "artist_id_list", vec![id]);
            assert_eq!(rules_broken(&d), vec![Rule::WorkshopArtists], "{id}");
        }
        assert_eq!(
            rules_broken(&with(workshop(), "artist_id_list", Vec::<String>::new())),
            vec![]
        );
        assert_eq!(
            rules_broken(&with(workshop(), "artist_id_list", json!([3]))),
            vec![Rule::WorkshopArtists]
        );
    }

    #[test]
    fn rule_pricing_reads_well() {
        for p in [
            "&lt;p&gt;Price&lt;/strong&gt;: 1250/-",
            "<strong>Price</strong>: ₹1250/-",
            "06:00 PM: ₹950/-",
            "Sat, 21st June: ₹950/-",
        ] {
            assert_eq!(
                rules_broken(&with(workshop(), "pricing_info", p)),
                vec![Rule::WorkshopPricingReadable],
                "{p}"
            );
        }
        // A date inside a tier's label is the app's own date-tier format.
        assert_eq!(
            rules_broken(&with(
                workshop(),
                "pricing_info",
                "Early Bird (Till 18th Sept): ₹799/-\nStandard (After 20th Sept): ₹999/-"
            )),
            vec![]
        );
        assert_eq!(rules_broken(&with(workshop(), "pricing_info", "")), vec![]);
    }

    #[test]
    fn rule_pricing_yields_a_price() {
        assert_eq!(
            rules_broken(&with(workshop(), "pricing_info", "950/-")),
            vec![Rule::WorkshopPricingParses]
        );
        assert_eq!(
            rules_broken(&with(workshop(), "pricing_info", "Fee: 12.50/-")),
            vec![Rule::WorkshopPricingParses]
        );
    }

    #[test]
    fn rejection_names_the_page_and_rule() {
        let d = with(workshop(), "choreo_insta_link", "");
        let err = validate_workshop(&d, &refs()).unwrap_err();
        assert_eq!(err.rules(), vec![Rule::WorkshopChoreoLink]);
        assert_eq!(
            err.to_string(),
            "workshops_v2 document for page https://rzp.io/rzp/mV3sZk9 (uuid \
             dance.inn.bangalore/mV3sZk9) breaks the app contract: \
             workshops_v2.choreo_insta_link: `choreo_insta_link` is \"\"; must be null or an \
             http(s) URL"
        );
    }

    fn studio() -> Doc {
        obj(json!({
            "studio_id": "dance.inn.bangalore",
            "studio_name": "Dance Inn",
            "image_url": "https://danceinn.studio/logo.png",
            "instagram_link": "https://www.instagram.com/dance.inn.bangalore/",
        }))
    }

    fn studio_rules(d: &Doc) -> Vec<Rule> {
        check_studio(d).into_iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_valid_studio_breaks_no_rule() {
        assert_eq!(check_studio(&studio()), vec![]);
    }

    #[test]
    fn rule_studio_id() {
        assert_eq!(
            studio_rules(&with(studio(), "studio_id", " ")),
            vec![Rule::StudioId]
        );
    }

    #[test]
    fn rule_studio_name() {
        let mut d = studio();
        d.remove("studio_name");
        assert_eq!(studio_rules(&d), vec![Rule::StudioName]);
        assert_eq!(
            studio_rules(&with(studio(), "studio_name", "")),
            vec![Rule::StudioName]
        );
    }

    #[test]
    fn rule_studio_instagram_link() {
        let mut d = studio();
        d.remove("instagram_link");
        assert_eq!(studio_rules(&d), vec![Rule::StudioInstagramLink]);
        assert_eq!(
            studio_rules(&with(studio(), "instagram_link", "@dance.inn.bangalore")),
            vec![Rule::StudioInstagramLink]
        );
        let err = validate_studio(&d).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("studios document for studio dance.inn.bangalore"));
    }

    fn notification() -> Doc {
        let now = json!({ "$date": "2026-06-01T10:00:00Z" });
        obj(json!({
            "_id": "push-1",
            "user_id": "665f1c2e9b1e8a0012345678",
            "workshop_uuid": "dance.inn.bangalore/mV3sZk9",
            "artist_id": "zoya.khan.dance",
            "notification_type": "new_workshop",
            "title": "Zoya Khan has a new workshop",
            "body": "Chaiyya Chaiyya at Dance Inn, 5 Mar",
            "is_sent": true,
            "sent_at": now.clone(),
            "created_at": now,
        }))
    }

    fn notification_rules(d: &Doc) -> Vec<Rule> {
        check_notification(d).into_iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_valid_notification_breaks_no_rule() {
        assert_eq!(check_notification(&notification()), vec![]);
        for t in NOTIFICATION_TYPES {
            assert_eq!(
                notification_rules(&with(notification(), "notification_type", t)),
                vec![]
            );
        }
    }

    #[test]
    fn rule_notification_fields() {
        let mut d = notification();
        d.remove("workshop_uuid");
        assert_eq!(notification_rules(&d), vec![Rule::NotificationFields]);
        assert_eq!(
            notification_rules(&with(notification(), "user_id", json!({ "$oid": OID }))),
            vec![Rule::NotificationFields]
        );
    }

    #[test]
    fn rule_notification_type() {
        assert_eq!(
            notification_rules(&with(notification(), "notification_type", "new")),
            vec![Rule::NotificationType]
        );
    }

    #[test]
    fn rule_notification_is_sent() {
        assert_eq!(
            notification_rules(&with(notification(), "is_sent", false)),
            vec![Rule::NotificationIsSent]
        );
    }

    #[test]
    fn rule_notification_times() {
        assert_eq!(
            notification_rules(&with(notification(), "sent_at", "2026-06-01T10:00:00Z")),
            vec![Rule::NotificationTimes]
        );
        let err = validate_notification(&with(notification(), "is_sent", false)).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("notification_history document for push new_workshop to user"));
    }

    #[test]
    fn every_rule_has_a_distinct_code() {
        let codes: BTreeSet<&str> = Rule::ALL.iter().map(|r| r.code()).collect();
        assert_eq!(codes.len(), Rule::ALL.len());
    }

    // The app's price rule, case by case from the contract.

    #[test]
    fn app_price_lone_number() {
        assert_eq!(app_price("950"), 950);
        assert_eq!(app_price("₹1,500"), 1500);
        assert_eq!(app_price("₹950"), 950);
    }

    #[test]
    fn app_price_slash_dash_alone_is_nothing() {
        assert_eq!(app_price("950/-"), 0);
        assert_eq!(app_price("₹950/-"), 0);
    }

    #[test]
    fn app_price_amount_after_the_last_colon() {
        assert_eq!(
            app_price("First 15 spots: ₹850/-\nAfter 15 spots: ₹950/-"),
            850
        );
        assert_eq!(app_price("Early Bird (Till 18th Sept): ₹799/-"), 799);
        assert_eq!(app_price("Sat 6:00 PM: 950/-"), 950);
        // The last colon: a time after the amount's colon breaks the line.
        assert_eq!(app_price("Fee: 950/- (6:00 PM)"), 0);
    }

    #[test]
    fn app_price_strips_rupee_commas_and_slash_dash() {
        assert_eq!(app_price("Fee: ₹1,100/-"), 1100);
        assert_eq!(app_price("Fee:1100"), 1100);
    }

    #[test]
    fn app_price_whole_digits_only() {
        assert_eq!(app_price("Fee: 1100.00/-"), 0);
        assert_eq!(app_price("Fee: Rs. 1100/-"), 0);
        assert_eq!(app_price("Fee: 1100/- only\nOTS: 1200/-"), 1200);
    }

    #[test]
    fn app_price_ignores_lines_without_colon() {
        assert_eq!(app_price("Early bird 800/-\nStandard: 1000/-"), 1000);
        assert_eq!(
            app_price("Single Class:\nFirst 15: 850/-\nOTS: 1100/-"),
            850
        );
    }

    #[test]
    fn app_price_single_class_line_wins() {
        assert_eq!(app_price("Two Classes: 2000/-\nSingle Class: 1100/-"), 1100);
        assert_eq!(app_price("Both days: 2000/-\nSingle day: 1200/-"), 2000);
    }

    #[test]
    fn app_price_nothing_is_zero() {
        assert_eq!(app_price(""), 0);
        assert_eq!(app_price("Free entry"), 0);
    }

    #[test]
    fn http_urls() {
        assert!(is_http_url("https://www.instagram.com/x/"));
        assert!(is_http_url("http://example.test"));
        assert!(!is_http_url(""));
        assert!(!is_http_url("ftp://example.test"));
        assert!(!is_http_url("www.instagram.com/x"));
    }
}
