//! Layer 2: schema.org `Event` JSON-LD.
//!
//! Reads every `<script type="application/ld+json">`, tolerating what real pages ship:
//! comment or CDATA wrappers, raw new lines inside strings, trailing commas, several
//! objects in one script, and blocks so broken that only `startDate`-like keys can be
//! salvaged. Events are found anywhere in the data (`@graph`, arrays, `mainEntity`,
//! `itemListElement`); `@type` may be a string or an array, and any type ending in
//! `Event` counts. With several differently named events, the one whose `url` is the
//! page's wins, else the first. Sessions come from `subEvent`s when they have dates,
//! else from the event's `startDate`/`endDate`; date-times with an offset are moved into
//! the studio's zone, those without one are taken as local.

use super::fields::{non_blank, non_empty, DatedSlot, LayerFields};
use super::price::{parse_amount, PriceLine};
use super::{date, time};
use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime};
use chrono_tz::Tz;
use regex::Regex;
use scraper::{Html, Selector};
use serde_json::Value;
use std::sync::LazyLock;
use url::Url;

static SCRIPT: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("script").expect("static selector"));

/// The JSON values of every JSON-LD script on the page (broken ones repaired or
/// salvaged as far as possible).
pub fn blocks(doc: &Html) -> Vec<Value> {
    let mut out = Vec::new();
    for s in doc.select(&SCRIPT) {
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

/// Decodes the HTML entities pages leave in JSON-LD strings and strips tags.
pub fn clean_text(s: &str) -> String {
    static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<[^>]*>").expect("static regex"));
    static ENTITY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"&(#x[0-9a-fA-F]+|#\d+|[a-zA-Z]+);").expect("static regex"));
    let no_tags = TAG.replace_all(s, " ");
    let mut text = no_tags.into_owned();
    // Twice: `&amp;amp;` is common.
    for _ in 0..2 {
        text = ENTITY
            .replace_all(&text, |c: &regex::Captures<'_>| {
                let e = &c[1];
                let decoded = if let Some(hex) = e.strip_prefix("#x").or(e.strip_prefix("#X")) {
                    u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
                } else if let Some(dec) = e.strip_prefix('#') {
                    dec.parse().ok().and_then(char::from_u32)
                } else {
                    match e {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        "nbsp" => Some(' '),
                        "ndash" => Some('–'),
                        "mdash" => Some('—'),
                        "rsquo" | "lsquo" => Some('’'),
                        "rdquo" | "ldquo" => Some('"'),
                        "hellip" => Some('…'),
                        _ => None,
                    }
                };
                decoded.map_or_else(|| c[0].to_string(), |ch| ch.to_string())
            })
            .into_owned();
    }
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A point in time as a JSON-LD date field gives it, in the studio's zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalStamp {
    pub date: NaiveDate,
    pub time: Option<NaiveTime>,
    /// The date as written, before any zone conversion.
    pub written_date: NaiveDate,
}

static ISO_FULL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?P<date>\d{4}-\d{1,2}-\d{1,2})(?:[T\s](?P<time>\d{1,2}:\d{2})(?::\d{2})*(?:\.\d+)?\s*(?P<off>Z|[+-]\d{2}(?::?\d{2})?)?)?\s*$")
        .expect("static regex")
});

/// Reads `2025-06-21`, `2025-06-21T18:00`, `2025-06-21T18:00:00+05:30`,
/// `2025-06-21T12:30:00.000Z`; other wordings through the text parsers. Offsets are
/// converted into `tz`.
pub fn parse_stamp(s: &str, tz: Tz) -> Option<LocalStamp> {
    if let Some(c) = ISO_FULL.captures(s) {
        let date = NaiveDate::parse_from_str(&c["date"], "%Y-%m-%d").ok()?;
        let Some(t) = c.name("time") else {
            return Some(LocalStamp {
                date,
                time: None,
                written_date: date,
            });
        };
        let t = t.as_str();
        let time = NaiveTime::parse_from_str(t, "%H:%M").ok()?;
        let naive = NaiveDateTime::new(date, time);
        let local = match c.name("off").map(|o| o.as_str()) {
            None => naive,
            Some(off) => {
                let off = match off {
                    "Z" => "+00:00".to_string(),
                    o if o.len() == 3 => format!("{o}:00"),
                    o if o.len() == 5 => format!("{}:{}", &o[..3], &o[3..]),
                    o => o.to_string(),
                };
                let dt = DateTime::parse_from_str(
                    &format!("{} {off}", naive.format("%Y-%m-%d %H:%M:%S")),
                    "%Y-%m-%d %H:%M:%S %:z",
                )
                .ok()?;
                dt.with_timezone(&tz).naive_local()
            }
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

/// Sessions from one start/end pair.
pub fn slots_from_stamps(start: LocalStamp, end: Option<LocalStamp>) -> Vec<DatedSlot> {
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
            // A multi-day event: one session a day with the same hours.
            (0..=days)
                .map(|i| DatedSlot {
                    date: start.date + Duration::days(i),
                    start: st,
                    end: st.and(et),
                })
                .collect()
        }
        _ => single(None),
    }
}

fn event_slots(ev: &Value, tz: Tz) -> Vec<DatedSlot> {
    let subs: Vec<DatedSlot> = as_list(ev.get("subEvent").or_else(|| ev.get("subEvents")))
        .into_iter()
        .flat_map(|s| event_slots(s, tz))
        .collect();
    if !subs.is_empty() {
        return subs;
    }
    let Some(start) = str_field(ev, "startDate").and_then(|s| parse_stamp(s, tz)) else {
        return Vec::new();
    };
    let end = str_field(ev, "endDate").and_then(|s| parse_stamp(s, tz));
    slots_from_stamps(start, end)
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

fn written_start(ev: &Value, tz: Tz) -> Option<NaiveDate> {
    str_field(ev, "startDate")
        .and_then(|s| parse_stamp(s, tz))
        .map(|s| s.written_date)
}

/// Runs the JSON-LD layer. `visible_dates` are the dates the page's text shows: when
/// several events of one series are described (often every past occurrence too), only
/// those the page shows are kept, if any are.
pub fn layer(doc: &Html, page_url: &Url, tz: Tz, visible_dates: &[NaiveDate]) -> LayerFields {
    let values = blocks(doc);
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
    let Some(first) = evs.first() else {
        return LayerFields::default();
    };
    let mut slots: Vec<DatedSlot> = evs.iter().flat_map(|e| event_slots(e, tz)).collect();
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
        slots: non_empty(
            slots,
            format!("{which}.startDate/endDate/subEvent{series_note}"),
        ),
        times: None,
        prices: non_empty(prices, format!("{which}.offers")),
        event_type: None,
        song_parts: Vec::new(),
    }
}

/// True when the page has any JSON-LD event (for listing detection and logs).
pub fn has_events(doc: &Html) -> bool {
    !events(&blocks(doc)).is_empty()
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
        layer(&Html::parse_document(html), &page(), Kolkata, &[])
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
    fn offset_can_move_the_date() {
        let f = run(&script(
            r#"{"@type":"Event","name":"X","startDate":"2023-09-16T15:30:00-05:00"}"#,
        ));
        assert_eq!(
            f.slots.unwrap().value,
            vec![DatedSlot {
                date: d(2023, 9, 17),
                start: Some(t(2, 0)),
                end: None
            }]
        );
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
    fn multi_day_range_gives_a_session_per_day() {
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
            &[d(2025, 10, 15), d(2025, 11, 19)],
        );
        let slots = f.slots.unwrap();
        assert!(slots.detail.contains("only occurrences the page shows"));
        assert_eq!(
            slots
                .value
                .iter()
                .map(|s| (s.date, s.start.unwrap()))
                .collect::<Vec<_>>(),
            vec![(d(2025, 10, 15), t(23, 30)), (d(2025, 11, 20), t(0, 30))]
        );
    }

    #[test]
    fn malformed_seconds_are_tolerated() {
        assert_eq!(
            parse_stamp("2025-09-27T12:30:00:00+01:00", Kolkata),
            Some(LocalStamp {
                date: d(2025, 9, 27),
                time: Some(t(17, 0)),
                written_date: d(2025, 9, 27)
            })
        );
        assert_eq!(
            parse_stamp("2024-10-03T19:00:00+0100", Kolkata)
                .unwrap()
                .time,
            Some(t(23, 30))
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
    }
}
