//! Last resort: events kept only in a page's embedded app data.
//!
//! Script-rendered pages (Next.js `__NEXT_DATA__`, site builders' warm-up data) often
//! hold their event only in a `<script type="application/json">` block. When no other
//! layer finds a date, this layer reads those blocks (never JSON-LD, never JavaScript
//! code) and takes the objects that look like an event: a title (`title` / `name`) and
//! a start stamp under a start key (`startDate`, `startTime`, `start_date`, `startsAt`,
//! …) that parses as an ISO date-time. Keys such as `publishedAt`, `bookingOpensAt` or
//! `eventStartDate` of a venue allocation are not start keys, so publication and booking
//! dates never become sessions. Stamps are read like JSON-LD's (an explicit offset keeps
//! its wall clock, UTC is converted into the event's zone or the studio's).
//!
//! With several events, the one whose title the page's title names wins, else the
//! first; occurrences of the same title all count.

use super::fields::{non_blank, non_empty, DatedSlot, LayerFields};
use super::jsonld::{self, parse_stamp};
use chrono_tz::Tz;
use scraper::{Html, Selector};
use serde_json::Value;
use std::sync::LazyLock;

static SCRIPT: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("script").expect("static selector"));

const START_KEYS: &[&str] = &[
    "startDate",
    "startTime",
    "start_date",
    "start_time",
    "startsAt",
    "starts_at",
    "startDateTime",
    "start_datetime",
];
const END_KEYS: &[&str] = &[
    "endDate",
    "endTime",
    "end_date",
    "end_time",
    "endsAt",
    "ends_at",
    "endDateTime",
    "end_datetime",
];

/// Largest app-data block read (bytes): enough for real pages, bounded for any page.
const MAX_BLOCK: usize = 4 << 20;
/// Objects visited at most per page.
const MAX_NODES: usize = 200_000;

/// One event found in app data.
struct Found {
    title: String,
    slots: Vec<DatedSlot>,
}

fn str_of<'a>(v: &'a Value, keys: &[&str]) -> Option<&'a str> {
    keys.iter().find_map(|k| v.get(*k).and_then(Value::as_str))
}

/// The object holding an event's start: the event itself, or an object nested in it up
/// to two levels (`scheduling.config.startDate`) that is not another titled object.
fn schedule_of(v: &Value, depth: u8) -> Option<&Value> {
    if str_of(v, START_KEYS).is_some() {
        return Some(v);
    }
    if depth == 0 {
        return None;
    }
    v.as_object()?
        .values()
        .filter(|c| c.is_object() && str_of(c, &["title", "name"]).is_none())
        .find_map(|c| schedule_of(c, depth - 1))
}

fn event_of(v: &Value, tz: Tz) -> Option<Found> {
    let title = str_of(v, &["title", "name"])?.trim();
    if title.is_empty() {
        return None;
    }
    let sched = schedule_of(v, 2)?;
    let zone = jsonld::event_zone(sched)
        .or_else(|| jsonld::event_zone(v))
        .unwrap_or(tz);
    let start = parse_stamp(str_of(sched, START_KEYS)?, zone)?;
    start.time?;
    let end = str_of(sched, END_KEYS).and_then(|e| parse_stamp(e, zone));
    Some(Found {
        title: jsonld::clean_text(title),
        slots: jsonld::slots_from_stamps(start, end),
    })
}

fn events_in(root: &Value, tz: Tz, budget: &mut usize, out: &mut Vec<Found>) {
    let mut stack = vec![root];
    while let Some(v) = stack.pop() {
        if *budget == 0 {
            return;
        }
        *budget -= 1;
        match v {
            Value::Object(map) => {
                if let Some(f) = event_of(v, tz) {
                    out.push(f);
                }
                stack.extend(map.values().rev());
            }
            Value::Array(items) => stack.extend(items.iter().rev()),
            _ => {}
        }
    }
}

/// Every event object of the page's app data: (title, sessions).
pub fn events(doc: &Html, tz: Tz) -> Vec<(String, Vec<DatedSlot>)> {
    let mut found = Vec::new();
    let mut budget = MAX_NODES;
    for s in doc.select(&SCRIPT) {
        let ty = s.value().attr("type").unwrap_or("").to_ascii_lowercase();
        if !ty.contains("json") || ty.contains("ld+json") {
            continue;
        }
        let raw: String = s.text().collect();
        if raw.len() > MAX_BLOCK {
            continue;
        }
        if let Ok(v) = serde_json::from_str::<Value>(&raw) {
            events_in(&v, tz, &mut budget, &mut found);
        }
    }
    found.into_iter().map(|f| (f.title, f.slots)).collect()
}

/// The app-data layer, or `None` when no block holds an event. `page_title` (the
/// `<title>` or first heading) picks among several events.
pub fn layer(doc: &Html, tz: Tz, page_title: Option<&str>) -> Option<LayerFields> {
    let found: Vec<Found> = events(doc, tz)
        .into_iter()
        .map(|(title, slots)| Found { title, slots })
        .collect();
    let norm = crate::workshop::normalise_key_text;
    let wanted = page_title.map(norm).unwrap_or_default();
    let chosen = found
        .iter()
        .find(|f| {
            let t = norm(&f.title);
            !t.is_empty() && wanted.contains(&t)
        })
        .or(found.first())?
        .title
        .clone();
    let mut slots: Vec<DatedSlot> = found
        .iter()
        .filter(|f| f.title == chosen)
        .flat_map(|f| f.slots.iter().copied())
        .collect();
    slots.sort();
    slots.dedup();
    let detail = "embedded app data (`<script type=\"application/json\">`): an object's title and start stamp";
    Some(LayerFields {
        title: non_blank(&chosen, detail),
        slots: non_empty(slots, detail),
        ..LayerFields::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};
    use chrono_tz::Asia::Kolkata;

    fn run(json: &str, title: Option<&str>) -> Option<LayerFields> {
        let html = format!(
            r#"<html><head><script id="__NEXT_DATA__" type="application/json">{json}</script></head><body></body></html>"#
        );
        layer(&Html::parse_document(&html), Kolkata, title)
    }

    #[test]
    fn an_event_object_gives_its_title_and_session() {
        let f = run(
            r#"{"props":{"page":{"publishedAt":"2024-05-01T10:00:00Z","event":{"title":"Sunrise Run","startDate":"2024-05-23T00:30:00.000Z","endDate":"2024-05-23T02:30:00.000Z","venue":{"name":"Park","eventStartDate":"2024-05-22T00:00:00Z"}}}}}"#,
            None,
        )
        .unwrap();
        assert_eq!(f.title.unwrap().value, "Sunrise Run");
        assert_eq!(
            f.slots.unwrap().value,
            vec![DatedSlot {
                date: NaiveDate::from_ymd_opt(2024, 5, 23).unwrap(),
                start: NaiveTime::from_hms_opt(6, 0, 0),
                end: NaiveTime::from_hms_opt(8, 0, 0),
            }]
        );
    }

    #[test]
    fn a_start_nested_in_the_event_object_counts() {
        let f = run(
            r#"{"events":[{"title":"Burlesque Basics","scheduling":{"config":{"startDate":"2026-01-21T19:00:00.000Z","endDate":"2026-01-21T21:00:00.000Z","timeZoneId":"Europe/London"}}}]}"#,
            None,
        )
        .unwrap();
        let s = f.slots.unwrap().value;
        assert_eq!(s[0].date, NaiveDate::from_ymd_opt(2026, 1, 21).unwrap());
        assert_eq!(s[0].start, NaiveTime::from_hms_opt(19, 0, 0));
    }

    #[test]
    fn publication_and_booking_stamps_are_no_event() {
        assert!(run(
            r#"{"post":{"title":"News","publishedAt":"2024-05-01T10:00:00Z","bookingOpensAt":"2024-05-02T10:00:00Z"}}"#,
            None
        )
        .is_none());
    }

    #[test]
    fn the_page_title_picks_among_several_events() {
        let f = run(
            r#"{"events":[{"name":"Other Night","startDate":"2024-06-01T19:00:00+05:30"},{"name":"Salsa Social","startDate":"2024-06-08T19:00:00+05:30"}]}"#,
            Some("Salsa Social | Casa Ritmo"),
        )
        .unwrap();
        assert_eq!(f.title.unwrap().value, "Salsa Social");
    }
}
