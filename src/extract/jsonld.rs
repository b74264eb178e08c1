//! Layer 2: schema.org `Event` JSON-LD.
//!
//! Reads every `<script type="application/ld+json">`, tolerating what real pages ship:
//! comment or CDATA wrappers, raw new lines inside strings, trailing commas, several
//! objects in one script, and blocks so broken that only `startDate`-like keys can be
//! salvaged. Events are found anywhere in the data (`@graph`, arrays, `mainEntity`,
//! `itemListElement`); `@type` may be a string or an array, and any type ending in
//! `Event` counts. With several differently named events, the one whose `url` is the
//! page's wins, else the first. Sessions come from `subEvent`s when they have dates,
//! else from the event's `startDate`/`endDate`. A date-time with an explicit offset
//! keeps the wall-clock time it states; a UTC (`Z`) instant is converted into the
//! event's own zone (`scheduleTimezone`, …) or else the studio's; one without a zone is
//! local as written. A range over several days gives its first and last day (every day
//! only when the event says it meets daily).

use super::dom::PageIndex;
use super::fastre::WordRegex;
use super::fields::{non_blank, non_empty, DatedSlot, LayerFields};
use super::price::{parse_amount, PriceLine};
use super::text::VisibleTimes;
use super::{date, time};
use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use regex::Regex;
use scraper::Html;
use serde_json::Value;
use std::sync::LazyLock;
use url::Url;

/// The JSON values of every JSON-LD script on the page (broken ones repaired or
/// salvaged as far as possible).
pub fn blocks(doc: &Html) -> Vec<Value> {
    blocks_in(&PageIndex::new(doc))
}

fn blocks_in(page: &PageIndex<'_>) -> Vec<Value> {
    let mut out = Vec::new();
    for s in &page.scripts {
        let ty = s.value().attr("type").unwrap_or("").to_ascii_lowercase();
        if !ty.contains("ld+json") {
            continue;
        }
        let raw: String = s.text().collect();
        out.extend(parse_lenient(&raw));
    }
    out
}

/// Parses JSON-LD text, repairing common breakage; never fails, may return nothing.
pub fn parse_lenient(raw: &str) -> Vec<Value> {
    let cleaned = strip_wrappers(raw);
    if cleaned.is_empty() {
        return Vec::new();
    }
    if let Ok(v) = serde_json::from_str::<Value>(&cleaned) {
        return vec![v];
    }
    let repaired = repair(&cleaned);
    if let Ok(v) = serde_json::from_str::<Value>(&repaired) {
        return vec![v];
    }
    // Several values back to back (`{..}{..}` or `{..}\n{..}`).
    let mut values = Vec::new();
    for v in serde_json::Deserializer::from_str(&repaired).into_iter::<Value>() {
        match v {
            Ok(v) => values.push(v),
            Err(_) => break,
        }
    }
    if !values.is_empty() {
        return values;
    }
    salvage(&repaired).into_iter().collect()
}

fn strip_wrappers(raw: &str) -> String {
    let mut s = raw.trim();
    for prefix in ["<!--", "//<![CDATA[", "/*<![CDATA[*/", "<![CDATA["] {
        s = s.strip_prefix(prefix).unwrap_or(s).trim();
    }
    for suffix in ["-->", "//]]>", "/*]]>*/", "]]>"] {
        s = s.strip_suffix(suffix).unwrap_or(s).trim();
    }
    s.trim_end_matches(';').trim().to_string()
}

/// Escapes raw control characters inside strings and drops trailing commas.
fn repair(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_string = false;
    let mut escaped = false;
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if in_string {
            if escaped {
                escaped = false;
                out.push(c);
            } else if c == '\\' {
                escaped = true;
                out.push(c);
            } else if c == '"' {
                in_string = false;
                out.push(c);
            } else if c == '\n' || c == '\r' || c == '\t' {
                out.push(' ');
            } else if (c as u32) < 0x20 {
                // other control characters: drop
            } else {
                out.push(c);
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|ch| !ch.is_whitespace());
            if !matches!(next, Some('}') | Some(']')) {
                out.push(c);
            }
        } else {
            out.push(c);
        }
        i += 1;
    }
    out
}

static SALVAGE_KEY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#""(@type|name|startDate|endDate|description)"\s*:\s*"((?:[^"\\]|\\.)*)""#)
        .expect("static regex")
});

/// From JSON that will not parse, the first event-like keys as a flat object.
fn salvage(s: &str) -> Option<Value> {
    let mut obj = serde_json::Map::new();
    for c in SALVAGE_KEY.captures_iter(s) {
        let key = c[1].to_string();
        if !obj.contains_key(&key) {
            obj.insert(key, Value::String(c[2].replace("\\\"", "\"")));
        }
    }
    let is_event = obj
        .get("@type")
        .and_then(Value::as_str)
        .is_some_and(|t| t.ends_with("Event"));
    (is_event && obj.contains_key("startDate")).then_some(Value::Object(obj))
}

fn type_names(v: &Value) -> Vec<String> {
    match v.get("@type") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        _ => Vec::new(),
    }
}

fn is_event(v: &Value) -> bool {
    type_names(v).iter().any(|t| {
        let last = t.rsplit(['/', ':', '#']).next().unwrap_or(t);
        last.ends_with("Event")
    })
}

fn is_person(v: &Value) -> bool {
    type_names(v).iter().any(|t| t.ends_with("Person"))
}

/// Every event object, outermost first, in document order (sub-events stay inside
/// their parent).
pub fn events(values: &[Value]) -> Vec<&Value> {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => {
                if is_event(v) {
                    out.push(v);
                } else {
                    o.values().for_each(|x| walk(x, out));
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for v in values {
        walk(v, &mut out);
    }
    out
}

/// The events a page lists in a JSON-LD `ItemList` (`itemListElement` of Event objects,
/// or of `ListItem`s whose `item` is an Event), in list order, each once (same name and
/// start), when there are two or more with a start date and none of them is the page's
/// own event (a detail page listing related events describes itself). Empty otherwise.
pub fn item_list_events(doc: &Html, page_url: &Url) -> Vec<Value> {
    fn walk<'a>(v: &'a Value, out: &mut Vec<&'a Value>) {
        match v {
            Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            Value::Object(o) => {
                if type_names(v).iter().any(|t| t.ends_with("ItemList")) {
                    for el in as_list(v.get("itemListElement")) {
                        if is_event(el) {
                            out.push(el);
                        } else if let Some(item) = el.get("item").filter(|i| is_event(i)) {
                            out.push(item);
                        }
                    }
                } else {
                    o.values().for_each(|x| walk(x, out));
                }
            }
            _ => {}
        }
    }
    let values = blocks(doc);
    let mut found = Vec::new();
    for v in &values {
        walk(v, &mut found);
    }
    let mut seen = std::collections::HashSet::new();
    let listed: Vec<&Value> = found
        .into_iter()
        .filter(|e| str_field(e, "startDate").is_some())
        .filter(|e| {
            seen.insert((
                str_field(e, "name").unwrap_or("").to_string(),
                str_field(e, "startDate").unwrap_or("").to_string(),
            ))
        })
        .collect();
    let own = listed.iter().any(|e| {
        str_field(e, "url")
            .or_else(|| str_field(e, "@id"))
            .is_some_and(|u| same_page(u, page_url))
    });
    if listed.len() < 2 || own {
        return Vec::new();
    }
    listed.into_iter().cloned().collect()
}

/// The fields of one event listed in an `ItemList` ([`item_list_events`]), read on its
/// own (no visible text is compared with it: the page's text is every event's).
pub fn item_fields(ev: &Value, tz: Tz) -> LayerFields {
    let mut f = fields_of(&[ev], tz, &VisibleTimes::slots_only(Vec::new()), "");
    let relabel = |d: &mut String| *d = d.replacen("Event.", "ItemList Event.", 1);
    if let Some(x) = f.slots.as_mut() {
        relabel(&mut x.detail);
    }
    if let Some(x) = f.title.as_mut() {
        relabel(&mut x.detail);
    }
    f
}

/// The `url` an event gives for itself, resolved against the page.
pub fn event_url(ev: &Value, page_url: &Url) -> Option<Url> {
    str_field(ev, "url")
        .and_then(|u| page_url.join(u).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// A string field, tolerating arrays (first string) and objects with `name`.
fn str_field<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    match v.get(key)? {
        Value::String(s) => Some(s.as_str()),
        Value::Array(a) => a.iter().find_map(Value::as_str),
        Value::Object(o) => o.get("name").and_then(Value::as_str),
        _ => None,
    }
}

fn as_list(v: Option<&Value>) -> Vec<&Value> {
    match v {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(Value::Null) | None => Vec::new(),
        Some(other) => vec![other],
    }
}

/// Decodes the HTML entities pages leave in JSON-LD strings and strips tags, through
/// the HTML parser (html5ever) rather than a hand-written entity table. Pages often
/// escape twice (`&amp;amp;`, `&lt;p&gt;`), so the text is parsed again while one more
/// pass still changes it (at most three passes).
pub fn clean_text(s: &str) -> String {
    let mut text = s.to_string();
    for _ in 0..3 {
        if !text.contains(['&', '<']) {
            break;
        }
        let frag = Html::parse_fragment(&text);
        let decoded: String = frag.root_element().text().collect::<Vec<_>>().join(" ");
        if decoded == text {
            break;
        }
        text = decoded;
    }
    static SPACE_BEFORE_PUNCT: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\s+([:,.;!?])").expect("static regex"));
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    // After the join every gap is one space: the pattern can only match a space before
    // one of its marks, which most texts (meta tags read for every page) do not have.
    let space_before_mark = text
        .as_bytes()
        .windows(2)
        .any(|w| w[0] == b' ' && matches!(w[1], b':' | b',' | b'.' | b';' | b'!' | b'?'));
    if !space_before_mark {
        return text;
    }
    SPACE_BEFORE_PUNCT.replace_all(&text, "$1").into_owned()
}

/// A point in time as a JSON-LD date field gives it, as the page's wall clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalStamp {
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
    /// The date as written, before any zone conversion.
    pub written_date: NaiveDate,
}

/// How an ISO stamp states its zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Zone {
    /// No zone: local time as written.
    None,
    /// `Z`: an instant in UTC.
    Utc,
    /// `+05:30`, `-0400`, `+00:00`, even `+5.5:00`: the page wrote its own wall clock.
    Offset,
}

/// Splits an ISO-like stamp into date, optional `HH:MM`, and zone. Real pages bend
/// ISO 8601 (`2024-5-24T19:00+5.5:00`, `12:30:00:00+01:00`, `+0100`), so the split is
/// lenient; the parts are then parsed by chrono.
static ISO_PARTS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?P<date>\d{4}-\d{1,2}-\d{1,2})(?:[T\s]+(?P<time>\d{1,2}:\d{2})(?::\d{2})*(?:\.\d+)?\s*(?P<zone>Z|UTC|GMT|[+-]\d{1,2}(?:\.\d+)?(?::?\d{2})?)?)?\s*$")
        .expect("static regex")
});

/// Reads `2025-06-21`, `2025-06-21T18:00`, `2025-06-21T18:00:00+05:30`,
/// `2025-06-21T12:30:00.000Z`; other wordings through the text parsers.
///
/// A stamp with an explicit offset keeps the wall-clock time written on the page
/// (`2015-10-31T19:30:00-04:00` is 7:30 PM on 31 October, wherever the studio is): the
/// page states when the event starts where it happens. A `Z` (UTC) stamp is an instant
/// and is converted into `zone`, the event's own zone (see [`event_zone`]) or else the
/// studio's.
pub fn parse_stamp(s: &str, zone: Tz) -> Option<LocalStamp> {
    if let Some(c) = ISO_PARTS.captures(s) {
        let date = NaiveDate::parse_from_str(&c["date"], "%Y-%m-%d").ok()?;
        let Some(t) = c.name("time") else {
            return Some(LocalStamp {
                date,
                time: None,
                written_date: date,
            });
        };
        let time = NaiveTime::parse_from_str(t.as_str(), "%H:%M").ok()?;
        let kind = match c.name("zone").map(|z| z.as_str().to_ascii_uppercase()) {
            None => Zone::None,
            Some(z) if z == "Z" || z == "UTC" || z == "GMT" => Zone::Utc,
            Some(_) => Zone::Offset,
        };
        let local = match kind {
            Zone::None | Zone::Offset => NaiveDateTime::new(date, time),
            Zone::Utc => Utc
                .from_utc_datetime(&NaiveDateTime::new(date, time))
                .with_timezone(&zone)
                .naive_local(),
        };
        return Some(LocalStamp {
            date: local.date(),
            time: Some(local.time()),
            written_date: date,
        });
    }
    // Not ISO: `June 21, 2025 6:00 PM` and the like. A missing year cannot be inferred
    // here, so only dated statements with a year count.
    let mentions = date::find_dates(s);
    let m = mentions.first()?;
    if !m.has_explicit_year() {
        return None;
    }
    let d = *date::resolve_mention(m, &Default::default(), NaiveDate::MIN).first()?;
    let time = m.time.or_else(|| time::first_time(s).map(|t| t.start));
    Some(LocalStamp {
        date: d,
        time,
        written_date: d,
    })
}

/// The zone an event states for itself: an IANA name in `scheduleTimezone` (schema.org
/// `Schedule`), `timezone`, `timeZone` or `timeZoneId`, on the event or its
/// `eventSchedule`.
pub fn event_zone(ev: &Value) -> Option<Tz> {
    let keys = ["scheduleTimezone", "timezone", "timeZone", "timeZoneId"];
    let on = |v: &Value| {
        keys.iter()
            .find_map(|k| v.get(*k).and_then(Value::as_str))
            .and_then(|z| z.trim().parse::<Tz>().ok())
    };
    on(ev).or_else(|| as_list(ev.get("eventSchedule")).into_iter().find_map(on))
}

/// Words by which a page says a multi-day range meets every day.
static DAILY: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(
        r"(?i)\b(?:daily|every\s*day|each\s+day|all\s+(?:the\s+)?(?:\d+|two|three|four|five|six|seven)\s+days|(?:\d+|two|three|four|five|six|seven)\s+consecutive\s+days|day\s+by\s+day)\b",
    )
});

/// True when `text` says that a range of days meets every day.
pub fn says_daily(text: &str) -> bool {
    DAILY.is_match(text)
}

/// Sessions from one start/end pair (see [`slots_from_range`], not daily).
pub fn slots_from_stamps(start: LocalStamp, end: Option<LocalStamp>) -> Vec<DatedSlot> {
    slots_from_range(start, end, false)
}

/// Sessions from one start/end pair. Same day (or overnight): one session. A range over
/// several days is the sessions the page states: its first and its last day, each with
/// the same hours; every day in between only when the page says the event meets daily
/// (`daily`) and the range is short ([`date::MAX_RANGE_DAYS`]). A longer range (a
/// season, a series' first and last date) keeps its first day only.
pub fn slots_from_range(start: LocalStamp, end: Option<LocalStamp>, daily: bool) -> Vec<DatedSlot> {
    let single = |end_time: Option<NaiveTime>| {
        vec![DatedSlot {
            date: start.date,
            start: start.time,
            end: end_time,
        }]
    };
    let Some(end) = end else {
        return single(None);
    };
    if end.date < start.date {
        return single(None);
    }
    let days = (end.date - start.date).num_days();
    match (start.time, end.time) {
        (Some(_), Some(et)) if days == 0 => single(Some(et)),
        // Overnight: 22:00 to 02:00 next day.
        (Some(st), Some(et)) if days == 1 && et <= st => single(Some(et)),
        (st, et)
            if days < date::MAX_RANGE_DAYS && !matches!((st, et), (Some(a), Some(b)) if b <= a) =>
        {
            let day = |d: NaiveDate| DatedSlot {
                date: d,
                start: st,
                end: st.and(et),
            };
            if daily {
                (0..=days)
                    .map(|i| day(start.date + Duration::days(i)))
                    .collect()
            } else {
                vec![day(start.date), day(end.date)]
            }
        }
        _ => single(None),
    }
}

/// A stamp as ISO 8601 / RFC 3339 writes it: `YYYY-MM-DD`, optionally `T` (or a space)
/// and `HH:MM[:SS[.fff]]`, optionally `Z` or `±HH[:MM]`. Anything else is bent.
static STRICT_ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}(?::?\d{2})?)?)?$")
        .expect("static regex")
});

/// True when `s` is a well-formed ISO 8601 / RFC 3339 date or date-time.
pub fn is_strict_iso(s: &str) -> bool {
    STRICT_ISO.is_match(s.trim())
}

/// What comparing an event's stamps with the visible text found (provenance notes).
#[derive(Default)]
struct StampNotes {
    /// Bent stamps whose time was replaced by the visible text's.
    bent: Vec<String>,
    /// Dates on which the stamp's time is not the time the visible text states.
    contradicted: Vec<String>,
}

fn hhmm(t: NaiveTime) -> String {
    t.format("%I:%M %p").to_string()
}

fn event_slots(
    ev: &Value,
    tz: Tz,
    visible: &VisibleTimes<'_>,
    notes: &mut StampNotes,
) -> Vec<DatedSlot> {
    let tz = event_zone(ev).unwrap_or(tz);
    let subs: Vec<DatedSlot> = as_list(ev.get("subEvent").or_else(|| ev.get("subEvents")))
        .into_iter()
        .flat_map(|s| event_slots(s, tz, visible, notes))
        .collect();
    if !subs.is_empty() {
        return subs;
    }
    let Some(start_raw) = str_field(ev, "startDate") else {
        return Vec::new();
    };
    let Some(start) = parse_stamp(start_raw, tz) else {
        return Vec::new();
    };
    let end_raw = str_field(ev, "endDate");
    let end = end_raw.and_then(|s| parse_stamp(s, tz));
    // A stamp that is not well-formed ISO 8601 (`12:30:00:00+01:00`) was written by hand
    // or by a broken template: its date is trusted, its time only when the visible text
    // states none for that date.
    let bent = !is_strict_iso(start_raw) || end_raw.is_some_and(|e| !is_strict_iso(e));
    let daily = ["description", "name", "eventSchedule"]
        .iter()
        .any(|k| match ev.get(*k) {
            Some(Value::String(t)) => says_daily(&clean_text(t)),
            Some(v @ Value::Object(_)) => v
                .get("repeatFrequency")
                .and_then(Value::as_str)
                .is_some_and(|f| matches!(f.trim(), "P1D" | "Daily" | "daily")),
            _ => false,
        });
    let mut slots = slots_from_range(start, end, daily);
    for slot in &mut slots {
        let Some(st) = slot.start else {
            continue;
        };
        // The time the page states most often for this date (the stamp's on a tie).
        let shown = visible.starts_on(slot.date);
        let Some(best) = shown
            .iter()
            .copied()
            .filter(|t| *t != st)
            .max_by_key(|t| {
                (
                    visible.support(*t),
                    std::cmp::Reverse(shown.iter().position(|s| s == t)),
                )
            })
            .filter(|t| visible.support(*t) > visible.support(st))
        else {
            continue;
        };
        notes.contradicted.push(format!(
            "{}: the stamp says {}, the visible text {} ({} lines against {})",
            slot.date,
            hhmm(st),
            hhmm(best),
            visible.support(best),
            visible.support(st)
        ));
        if bent {
            notes.bent.push(format!(
                "`{start_raw}` is not valid ISO 8601: its time on {} is the one the visible text states most, {}",
                slot.date,
                hhmm(best)
            ));
            slot.start = Some(best);
            slot.end = visible
                .slots
                .iter()
                .find(|v| v.date == slot.date && v.start == Some(best) && v.end.is_some())
                .and_then(|v| v.end)
                .or_else(|| visible.end_with(best));
        }
    }
    slots
}

fn price_value(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_f64().filter(|f| *f >= 0.0).map(|f| f.trunc() as u64),
        Value::String(s) => parse_amount(s),
        _ => None,
    }
}

/// Price lines from `offers` (objects, arrays, `AggregateOffer` with or without nested
/// offers, `priceSpecification`).
pub fn offer_prices(offers: Option<&Value>) -> Vec<PriceLine> {
    let mut out = Vec::new();
    for o in as_list(offers) {
        let types = type_names(o);
        let nested = o.get("offers");
        if types.iter().any(|t| t.ends_with("AggregateOffer")) && nested.is_some() {
            out.extend(offer_prices(nested));
            continue;
        }
        if !in_rupees(o) {
            continue;
        }
        let name = str_field(o, "name")
            .map(clean_text)
            .filter(|n| !n.is_empty());
        let price = o
            .get("price")
            .and_then(price_value)
            .or_else(|| {
                as_list(o.get("priceSpecification"))
                    .into_iter()
                    .find_map(|p| p.get("price").and_then(price_value))
            })
            .or_else(|| o.get("lowPrice").and_then(price_value));
        if let Some(amount) = price.filter(|a| *a > 0) {
            out.push(PriceLine {
                label: name.clone(),
                amount,
            });
        }
        if types.iter().any(|t| t.ends_with("AggregateOffer")) {
            if let Some(high) = o.get("highPrice").and_then(price_value) {
                if Some(high) != price && high > 0 {
                    out.push(PriceLine {
                        label: name,
                        amount: high,
                    });
                }
            }
        }
    }
    out
}

/// False for an offer priced in another currency (`"priceCurrency": "USD"`): the app
/// charges `pricing_info` in rupees, so such a price is left out rather than written as ₹.
/// An offer that names no currency is read as rupees.
fn in_rupees(offer: &Value) -> bool {
    let currency = str_field(offer, "priceCurrency").or_else(|| {
        as_list(offer.get("priceSpecification"))
            .into_iter()
            .find_map(|p| str_field(p, "priceCurrency"))
    });
    currency.is_none_or(|c| {
        matches!(
            c.trim().to_ascii_uppercase().as_str(),
            "" | "INR" | "₹" | "RS" | "RS." | "RUPEE" | "RUPEES"
        )
    })
}

fn person_names(v: Option<&Value>, persons_only: bool) -> Vec<String> {
    as_list(v)
        .into_iter()
        .filter_map(|p| match p {
            Value::String(s) if !persons_only => Some(clean_text(s)),
            Value::Object(_) if !persons_only || is_person(p) => {
                p.get("name").and_then(Value::as_str).map(clean_text)
            }
            _ => None,
        })
        .filter(|n| !n.is_empty())
        .collect()
}

fn same_page(event_url: &str, page: &Url) -> bool {
    let Ok(u) = page.join(event_url) else {
        return false;
    };
    let norm = |u: &Url| {
        format!(
            "{}{}",
            u.host_str()
                .unwrap_or("")
                .trim_start_matches("www.")
                .to_ascii_lowercase(),
            u.path().trim_end_matches('/')
        )
    };
    norm(&u) == norm(page)
}

/// The events that describe this page: all events sharing the chosen event's name.
pub fn page_events<'a>(all: &[&'a Value], page_url: &Url) -> Vec<&'a Value> {
    if all.is_empty() {
        return Vec::new();
    }
    let name = |v: &Value| {
        str_field(v, "name")
            .map(|n| crate::workshop::normalise_key_text(&clean_text(n)))
            .unwrap_or_default()
    };
    let chosen = all
        .iter()
        .find(|e| {
            str_field(e, "url")
                .or_else(|| str_field(e, "@id"))
                .is_some_and(|u| same_page(u, page_url))
        })
        .unwrap_or(&all[0]);
    let chosen_name = name(chosen);
    all.iter()
        .filter(|e| {
            std::ptr::eq(**e, *chosen) || (!chosen_name.is_empty() && name(e) == chosen_name)
        })
        .copied()
        .collect()
}

/// The start date an event's `startDate` writes (before any zone conversion).
pub fn written_start(ev: &Value, tz: Tz) -> Option<NaiveDate> {
    str_field(ev, "startDate")
        .and_then(|s| parse_stamp(s, event_zone(ev).unwrap_or(tz)))
        .map(|s| s.written_date)
}

/// Runs the JSON-LD layer. `visible` are the sessions the page's text shows, in page
/// order. When several events of one series are described (often every past
/// occurrence too), only those the page shows are kept, if any are. A stamp's time is
/// checked against the first time the text states for its date: a bent stamp
/// ([`is_strict_iso`]) takes the text's time; any disagreement is noted in the
/// provenance ([`super::confidence::DATE_TIME_CONTRADICTED`]), which makes the date
/// weak.
pub fn layer(doc: &Html, page_url: &Url, tz: Tz, visible: &VisibleTimes<'_>) -> LayerFields {
    layer_in(&PageIndex::new(doc), page_url, tz, visible)
}

/// [`layer`] over a page's [`PageIndex`].
pub fn layer_in(
    page: &PageIndex<'_>,
    page_url: &Url,
    tz: Tz,
    visible: &VisibleTimes<'_>,
) -> LayerFields {
    let visible_dates: Vec<NaiveDate> = visible.slots.iter().map(|s| s.date).collect();
    let values = blocks_in(page);
    let all = events(&values);
    let mut evs = page_events(&all, page_url);
    let mut series_note = "";
    if evs.len() > 1 && !visible_dates.is_empty() {
        let shown: Vec<&Value> = evs
            .iter()
            .filter(|e| written_start(e, tz).is_some_and(|d| visible_dates.contains(&d)))
            .copied()
            .collect();
        if !shown.is_empty() && shown.len() < evs.len() {
            evs = shown;
            series_note = ", only occurrences the page shows";
        }
    }
    fields_of(&evs, tz, visible, series_note)
}

/// The fields of one event (or of several occurrences of one event, `evs`).
fn fields_of(evs: &[&Value], tz: Tz, visible: &VisibleTimes<'_>, series_note: &str) -> LayerFields {
    let Some(first) = evs.first() else {
        return LayerFields::default();
    };
    let mut notes = StampNotes::default();
    let mut slots: Vec<DatedSlot> = evs
        .iter()
        .flat_map(|e| event_slots(e, tz, visible, &mut notes))
        .collect();
    slots.sort();
    slots.dedup();
    let prices: Vec<PriceLine> = evs
        .iter()
        .flat_map(|e| offer_prices(e.get("offers")))
        .collect();
    let mut artists = person_names(first.get("performer"), false);
    if artists.is_empty() {
        artists = person_names(first.get("performers"), false);
    }
    if artists.is_empty() {
        artists = person_names(first.get("organizer"), true);
    }
    let which = if evs.len() > 1 {
        format!("{} events named alike", evs.len())
    } else {
        "Event".to_string()
    };
    LayerFields {
        title: str_field(first, "name")
            .and_then(|n| non_blank(&clean_text(n), format!("{which}.name"))),
        description: str_field(first, "description")
            .and_then(|d| non_blank(&clean_text(d), format!("{which}.description"))),
        artists: non_empty(artists, format!("{which}.performer/organizer")),
        songs: None,
        slots: non_empty(slots, {
            let mut detail = format!("{which}.startDate/endDate/subEvent{series_note}");
            for b in &notes.bent {
                detail.push_str("; ");
                detail.push_str(b);
            }
            if !notes.contradicted.is_empty() {
                detail.push_str(&format!(
                    "; {} ({})",
                    super::confidence::DATE_TIME_CONTRADICTED,
                    notes.contradicted.join(", ")
                ));
            }
            detail
        }),
        times: None,
        prices: non_empty(prices, format!("{which}.offers")),
        event_type: None,
        song_parts: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono_tz::Asia::Kolkata;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn page() -> Url {
        Url::parse("https://studio.test/events/rajesh-21-june").unwrap()
    }
    fn run(html: &str) -> LayerFields {
        layer(
            &Html::parse_document(html),
            &page(),
            Kolkata,
            &VisibleTimes::slots_only(Vec::new()),
        )
    }
    fn script(json: &str) -> String {
        format!(
            r#"<html><head><script type="application/ld+json">{json}</script></head><body></body></html>"#
        )
    }

    #[test]
    fn simple_event_with_offset_in_studio_zone() {
        let f = run(&script(
            r#"{"@context":"https://schema.org","@type":"DanceEvent","name":"Rajesh Workshop","startDate":"2026-06-21T18:00:00+05:30","endDate":"2026-06-21T20:00:00+05:30"}"#,
        ));
        assert_eq!(f.title.unwrap().value, "Rajesh Workshop");
        assert_eq!(
            f.slots.unwrap().value,
            vec![DatedSlot {
                date: d(2026, 6, 21),
                start: Some(t(18, 0)),
                end: Some(t(20, 0))
            }]
        );
    }

    #[test]
    fn prices_in_another_currency_are_left_out() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21T18:00:00+05:30","offers":[{"name":"Entry","price":"20","priceCurrency":"USD"},{"name":"Local","price":"900","priceCurrency":"inr"},{"name":"Door","price":"1000"}]}"#,
        ));
        let lines: Vec<String> = f.prices.unwrap().value.iter().map(|p| p.render()).collect();
        assert_eq!(lines, vec!["Local: 900/-", "Door: 1000/-"]);
    }

    #[test]
    fn utc_times_are_converted_to_the_studio_zone() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21T12:30:00Z","endDate":"2026-06-21T14:30:00.000Z"}"#,
        ));
        assert_eq!(
            f.slots.unwrap().value,
            vec![DatedSlot {
                date: d(2026, 6, 21),
                start: Some(t(18, 0)),
                end: Some(t(20, 0))
            }]
        );
    }

    #[test]
    fn an_explicit_offset_keeps_the_wall_clock_written_on_the_page() {
        // Not converted to the studio's zone: 7:30 PM where the event is.
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2015-10-31T19:30:00-07:00","endDate":"2015-10-31T22:00:00-07:00"}"#,
        ));
        assert_eq!(
            f.slots.unwrap().value,
            vec![DatedSlot {
                date: d(2015, 10, 31),
                start: Some(t(19, 30)),
                end: Some(t(22, 0))
            }]
        );
        let g = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2022-11-04T19:30:00+00:00"}"#,
        ));
        assert_eq!(g.slots.unwrap().value[0].start, Some(t(19, 30)));
    }

    #[test]
    fn a_utc_instant_takes_the_zone_the_event_states() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-01-21T19:00:00.000Z","eventSchedule":{"@type":"Schedule","scheduleTimezone":"Europe/London"}}"#,
        ));
        assert_eq!(
            f.slots.unwrap().value[0],
            DatedSlot {
                date: d(2026, 1, 21),
                start: Some(t(19, 0)),
                end: None
            }
        );
        // Without one, the studio's zone: 19:00Z is 00:30 the next day in Kolkata.
        let g = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-01-21T19:00:00Z"}"#,
        ));
        assert_eq!(g.slots.unwrap().value[0].date, d(2026, 1, 22));
    }

    #[test]
    fn bent_iso_stamps_are_read() {
        // EventON writes single-digit months and a fractional offset.
        assert_eq!(
            parse_stamp("2024-5-24T19:00+5.5:00", Kolkata),
            Some(LocalStamp {
                date: d(2024, 5, 24),
                time: Some(t(19, 0)),
                written_date: d(2024, 5, 24)
            })
        );
        assert_eq!(parse_stamp("2024-13-01T19:00", Kolkata), None);
        assert_eq!(parse_stamp("2024-05-01T25:00", Kolkata), None);
    }

    #[test]
    fn strict_iso_is_told_from_bent_stamps() {
        for ok in [
            "2026-06-21",
            "2026-06-21T18:00",
            "2026-06-21T18:00:00+05:30",
            "2026-06-21T12:30:00.000Z",
            "2026-06-21 18:00:00-0400",
        ] {
            assert!(is_strict_iso(ok), "{ok}");
        }
        for bent in [
            "2025-09-27T12:30:00:00+01:00",
            "2024-5-24T19:00+5.5:00",
            "June 21, 2026 6:00 PM",
        ] {
            assert!(!is_strict_iso(bent), "{bent}");
        }
    }

    #[test]
    fn a_bent_stamps_time_yields_to_the_time_the_text_states_most() {
        let html =
            script(r#"{"@type":"Event","name":"X","startDate":"2026-06-21T12:30:00:00+05:30"}"#);
        let day = d(2026, 6, 21);
        let slot = |h: u32, e: Option<u32>| DatedSlot {
            date: day,
            start: Some(t(h, 0)),
            end: e.map(|e| t(e, 0)),
        };
        // Without lines each slot counts once: 6 PM twice beats the stamp's 12:30 once.
        let visible =
            VisibleTimes::slots_only(vec![slot(18, None), slot(12, Some(14)), slot(18, Some(20))]);
        let f = layer(&Html::parse_document(&html), &page(), Kolkata, &visible);
        let slots = f.slots.unwrap();
        assert_eq!(slots.value, vec![slot(18, Some(20))]);
        assert!(slots
            .detail
            .contains(super::super::confidence::DATE_TIME_CONTRADICTED));
        // A valid stamp keeps its time; the contradiction is still noted.
        let html =
            script(r#"{"@type":"Event","name":"X","startDate":"2026-06-21T12:30:00+05:30"}"#);
        let f = layer(&Html::parse_document(&html), &page(), Kolkata, &visible);
        let slots = f.slots.unwrap();
        assert_eq!(
            slots.value[0].start,
            Some(NaiveTime::from_hms_opt(12, 30, 0).unwrap())
        );
        assert!(slots
            .detail
            .contains(super::super::confidence::DATE_TIME_CONTRADICTED));
        // The text agreeing (or stating no time for the date) notes nothing.
        let agree = VisibleTimes::slots_only(vec![DatedSlot {
            date: day,
            start: Some(NaiveTime::from_hms_opt(12, 30, 0).unwrap()),
            end: None,
        }]);
        let f = layer(&Html::parse_document(&html), &page(), Kolkata, &agree);
        assert!(!f.slots.unwrap().detail.contains("another time"));
    }

    #[test]
    fn times_without_offset_are_local() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21T18:00"}"#,
        ));
        assert_eq!(f.slots.unwrap().value[0].start, Some(t(18, 0)));
    }

    #[test]
    fn date_only_start_has_no_time() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21"}"#,
        ));
        assert_eq!(
            f.slots.unwrap().value,
            vec![DatedSlot::date_only(d(2026, 6, 21))]
        );
    }

    #[test]
    fn graph_and_type_arrays() {
        let f = run(&script(
            r#"{"@context":"https://schema.org","@graph":[{"@type":"WebPage","name":"Page"},{"@type":["Event","DanceEvent"],"name":"In graph","startDate":"2026-07-01T10:00:00+05:30"}]}"#,
        ));
        assert_eq!(f.title.unwrap().value, "In graph");
        assert_eq!(f.slots.unwrap().value[0].date, d(2026, 7, 1));
    }

    #[test]
    fn sub_events_give_the_sessions() {
        let f = run(&script(
            r#"{"@type":"Event","name":"Two day","startDate":"2026-06-21T18:00:00+05:30","endDate":"2026-06-28T20:00:00+05:30",
               "subEvent":[{"@type":"Event","startDate":"2026-06-21T18:00:00+05:30","endDate":"2026-06-21T20:00:00+05:30"},
                           {"@type":"Event","startDate":"2026-06-28T17:00:00+05:30","endDate":"2026-06-28T19:00:00+05:30"}]}"#,
        ));
        let slots = f.slots.unwrap().value;
        assert_eq!(slots.len(), 2);
        assert_eq!(
            slots[1],
            DatedSlot {
                date: d(2026, 6, 28),
                start: Some(t(17, 0)),
                end: Some(t(19, 0))
            }
        );
    }

    #[test]
    fn two_day_range_gives_both_days() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21T18:00:00+05:30","endDate":"2026-06-22T20:00:00+05:30"}"#,
        ));
        let slots = f.slots.unwrap().value;
        assert_eq!(slots.len(), 2);
        assert_eq!(
            slots[1],
            DatedSlot {
                date: d(2026, 6, 22),
                start: Some(t(18, 0)),
                end: Some(t(20, 0))
            }
        );
    }

    #[test]
    fn multi_day_range_gives_its_first_and_last_day_unless_daily() {
        // A weekend intensive stated as one range Fri..Sun next week: the page states two
        // days, not eight.
        let f = run(&script(
            r#"{"@type":"Event","name":"Intensive","startDate":"2026-06-19T10:00:00+05:30","endDate":"2026-06-26T13:00:00+05:30"}"#,
        ));
        let dates: Vec<NaiveDate> = f.slots.unwrap().value.iter().map(|s| s.date).collect();
        assert_eq!(dates, vec![d(2026, 6, 19), d(2026, 6, 26)]);
        let g = run(&script(
            r#"{"@type":"Event","name":"Camp","description":"We meet daily, 10 to 1.","startDate":"2026-06-19T10:00:00+05:30","endDate":"2026-06-21T13:00:00+05:30"}"#,
        ));
        let dates: Vec<NaiveDate> = g.slots.unwrap().value.iter().map(|s| s.date).collect();
        assert_eq!(dates, vec![d(2026, 6, 19), d(2026, 6, 20), d(2026, 6, 21)]);
    }

    #[test]
    fn overnight_event_is_one_session() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21T22:00:00+05:30","endDate":"2026-06-22T02:00:00+05:30"}"#,
        ));
        assert_eq!(
            f.slots.unwrap().value,
            vec![DatedSlot {
                date: d(2026, 6, 21),
                start: Some(t(22, 0)),
                end: Some(t(2, 0))
            }]
        );
    }

    #[test]
    fn offers_array_and_names() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21","offers":[{"@type":"Offer","name":"Early Bird","price":"850"},{"@type":"Offer","price":1100.0}]}"#,
        ));
        let rendered: Vec<String> = f
            .prices
            .unwrap()
            .value
            .iter()
            .map(PriceLine::render)
            .collect();
        assert_eq!(rendered, vec!["Early Bird: 850/-", "1100/-"]);
    }

    #[test]
    fn aggregate_offer_with_nested_offers_uses_them() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21","offers":{"@type":"AggregateOffer","lowPrice":"850","highPrice":"1100","offers":[{"@type":"Offer","name":"Single","price":"850"},{"@type":"Offer","name":"Couple","price":"1,500.00"}]}}"#,
        ));
        let rendered: Vec<String> = f
            .prices
            .unwrap()
            .value
            .iter()
            .map(PriceLine::render)
            .collect();
        assert_eq!(rendered, vec!["Single: 850/-", "Couple: 1500/-"]);
    }

    #[test]
    fn aggregate_offer_alone_gives_low_and_high() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21","offers":{"@type":"AggregateOffer","lowPrice":850,"highPrice":1100,"priceCurrency":"INR"}}"#,
        ));
        let rendered: Vec<String> = f
            .prices
            .unwrap()
            .value
            .iter()
            .map(PriceLine::render)
            .collect();
        assert_eq!(rendered, vec!["850/-", "1100/-"]);
    }

    #[test]
    fn performers_and_person_organizer() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21","performer":[{"@type":"Person","name":"Vipul Devrani"},{"@type":"Person","name":"Rajesh &amp; Co"}]}"#,
        ));
        assert_eq!(
            f.artists.unwrap().value,
            vec!["Vipul Devrani", "Rajesh & Co"]
        );
        let g = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21","organizer":{"@type":"Organization","name":"Studio"}}"#,
        ));
        assert!(g.artists.is_none());
        let h = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2026-06-21","organizer":{"@type":"Person","name":"Asha"}}"#,
        ));
        assert_eq!(h.artists.unwrap().value, vec!["Asha"]);
    }

    #[test]
    fn broken_json_with_newlines_and_trailing_commas_is_repaired() {
        let f = run(&script(
            "<!-- {\"@type\":\"Event\",\"name\":\"Line\nbreak\",\"startDate\":\"2026-06-21T18:00\",} -->",
        ));
        assert_eq!(f.title.unwrap().value, "Line break");
        assert_eq!(f.slots.unwrap().value[0].start, Some(t(18, 0)));
    }

    #[test]
    fn hopeless_json_is_salvaged_for_dates() {
        let f = run(&script(
            r#"{"@type":"Event","name":"Salvaged","startDate":"2026-06-21T18:00:00+05:30", "offers": {"price": 850,,, }"#,
        ));
        assert_eq!(f.title.unwrap().value, "Salvaged");
        assert_eq!(f.slots.unwrap().value[0].date, d(2026, 6, 21));
    }

    #[test]
    fn garbage_gives_nothing_and_does_not_panic() {
        let f = run(&script("this is { not json"));
        assert!(f.slots.is_none());
        assert!(f.title.is_none());
    }

    #[test]
    fn non_event_json_ld_is_ignored() {
        let f = run(&script(
            r#"{"@type":"Organization","name":"Studio","foundingDate":"2020-01-01"}"#,
        ));
        assert!(f.slots.is_none());
    }

    #[test]
    fn event_matching_the_page_url_wins() {
        let f = run(&script(
            r#"[{"@type":"Event","name":"Other","url":"https://studio.test/events/other","startDate":"2026-07-01"},
                {"@type":"Event","name":"Mine","url":"https://studio.test/events/rajesh-21-june/","startDate":"2026-06-21"}]"#,
        ));
        assert_eq!(f.title.unwrap().value, "Mine");
        assert_eq!(
            f.slots.unwrap().value,
            vec![DatedSlot::date_only(d(2026, 6, 21))]
        );
    }

    #[test]
    fn events_with_the_same_name_are_sessions_of_one_workshop() {
        let f = run(&script(
            r#"[{"@type":"Event","name":"Salsa","startDate":"2026-06-21T18:00"},{"@type":"Event","name":"Salsa","startDate":"2026-06-28T18:00"},{"@type":"Event","name":"Other","startDate":"2026-06-22T18:00"}]"#,
        ));
        let dates: Vec<NaiveDate> = f.slots.unwrap().value.iter().map(|s| s.date).collect();
        assert_eq!(dates, vec![d(2026, 6, 21), d(2026, 6, 28)]);
    }

    #[test]
    fn series_keeps_only_occurrences_the_page_shows() {
        let html = script(
            r#"[{"@type":"Event","name":"Mixer","startDate":"2023-10-18T18:30:00+01:00"},
                {"@type":"Event","name":"Mixer","startDate":"2025-10-15T19:00:00+01:00"},
                {"@type":"Event","name":"Mixer","startDate":"2025-11-19T19:00:00+00:00"}]"#,
        );
        let f = layer(
            &Html::parse_document(&html),
            &page(),
            Kolkata,
            &VisibleTimes::slots_only(vec![
                DatedSlot::date_only(d(2025, 10, 15)),
                DatedSlot::date_only(d(2025, 11, 19)),
            ]),
        );
        let slots = f.slots.unwrap();
        assert!(slots.detail.contains("only occurrences the page shows"));
        assert_eq!(
            slots
                .value
                .iter()
                .map(|s| (s.date, s.start.unwrap()))
                .collect::<Vec<_>>(),
            vec![(d(2025, 10, 15), t(19, 0)), (d(2025, 11, 19), t(19, 0))]
        );
    }

    #[test]
    fn malformed_seconds_are_tolerated() {
        assert_eq!(
            parse_stamp("2025-09-27T12:30:00:00+01:00", Kolkata),
            Some(LocalStamp {
                date: d(2025, 9, 27),
                time: Some(t(12, 30)),
                written_date: d(2025, 9, 27)
            })
        );
        assert_eq!(
            parse_stamp("2024-10-03T19:00:00+0100", Kolkata)
                .unwrap()
                .time,
            Some(t(19, 0))
        );
    }

    #[test]
    fn several_scripts_and_several_values() {
        let html = format!(
            "{}{}",
            script(r#"{"@type":"Organization","name":"S"}"#),
            script(r#"{"@type":"Event","name":"A","startDate":"2026-06-21"} {"@type":"Thing"}"#)
        );
        let f = run(&html);
        assert_eq!(f.title.unwrap().value, "A");
    }

    #[test]
    fn non_iso_start_date_is_read_by_text_parsers() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"June 21, 2026 6:00 PM"}"#,
        ));
        assert_eq!(
            f.slots.unwrap().value,
            vec![DatedSlot {
                date: d(2026, 6, 21),
                start: Some(t(18, 0)),
                end: None
            }]
        );
    }

    #[test]
    fn clean_text_decodes_entities_and_strips_tags() {
        assert_eq!(
            clean_text("<p>Tom &amp;amp; Jerry&#39;s &#x2013; fun</p>"),
            "Tom & Jerry's – fun"
        );
        // Escaped markup (a CMS that escaped its HTML once more) loses its tags too.
        assert_eq!(
            clean_text("&lt;p&gt;You&amp;rsquo;ve asked&lt;/p&gt;&lt;strong&gt;Price&lt;/strong&gt;: 1250/-"),
            "You’ve asked Price: 1250/-"
        );
        assert_eq!(clean_text("a < b and c > d"), "a < b and c > d");
    }
}
