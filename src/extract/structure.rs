//! Whether a page's visible dates describe an event at all.
//!
//! A date in running text is not yet an event: an About page states when the studio
//! opened and when it is open, a news post when it was written. When only the visible
//! text dates a page (no source rule, JSON-LD or meta event), the page is a workshop only
//! when one of its kept session dates is stated the way events are:
//! * **timed**: a session time on the date's own line or the line next to it (opening
//!   hours are no session time: a time for a run of three or more weekdays, `Monday to
//!   Saturday: 7 AM – 10 PM`, or after `open daily` / `opening hours`, is left out);
//! * **or called an event**: an event or booking word (`workshop`, `class`, `session`,
//!   `register`, `tickets`, a price, …) on the date's line or within three lines of it.
//!
//! This is a rule about structure, never about a site: it looks at nothing but the
//! lines, the dates and times found in them, and a fixed vocabulary.

use super::fastre::WordRegex;
use super::html::PageText;
use super::price;
use super::text;
use chrono::NaiveDate;
use std::sync::LazyLock;

/// Dated lines examined at most: enough for any event page, bounded for any page.
const MAX_DATED_LINES: usize = 200;

/// Words that make a date an event's: what happens, and how one takes part.
static EVENT_WORDS: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(
        r"(?i)\b(?:workshops?|class(?:es)?|sessions?|events?|intensives?|master\s*class(?:es)?|bootcamps?|boot\s+camps?|camps?|retreats?|courses?|batch(?:es)?|choreo(?:graphy)?|performances?|shows?|showcases?|concerts?|gigs?|socials?|part(?:y|ies)|jams?|battles?|competitions?|auditions?|recitals?|screenings?|talks?|lectures?|meet\s*ups?|tours?|walks?|festivals?|fests?|register|registration|book(?:ing)?|tickets?|rsvp|enrol(?:l)?(?:ment)?|sign\s*up|join\s+us|fees?|entry|admission)\b",
    )
});

static WEEKDAY_RUN: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(
        r"(?i)\b(?P<a>mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?\s*(?:-|–|—|to|through|thru|till|until)\s*(?P<b>mon|tue|wed|thu|fri|sat|sun)[a-z]*",
    )
});

static HOURS_WORDS: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(
        r"(?i)\b(?:open(?:ing)?\s+(?:hours|daily|every\s*day|all\s+week)|office\s+hours|studio\s+hours|business\s+hours|we\s+are\s+open)\b",
    )
});

fn weekday_index(w: &str) -> Option<i32> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .position(|d| w.eq_ignore_ascii_case(d))
        .map(|i| i as i32)
}

/// True when the text before a time says it is opening hours: a run of three or more
/// weekdays (`Monday to Saturday`, `Mon–Fri`) or `opening hours` / `open daily`.
pub fn is_opening_hours(before_time: &str) -> bool {
    if HOURS_WORDS.is_match(before_time) {
        return true;
    }
    WEEKDAY_RUN.captures_iter(before_time).any(|c| {
        match (weekday_index(&c["a"]), weekday_index(&c["b"])) {
            (Some(a), Some(b)) => (b - a).rem_euclid(7) >= 2,
            _ => false,
        }
    })
}

/// True when one of the page's kept session dates is timed or called an event (see
/// the module docs). `title` is the page's title, which counts as near every date.
pub fn has_event_structure(text: &PageText, title: Option<&str>, today: NaiveDate) -> bool {
    let lines: Vec<&str> = text.lines.iter().map(|l| l.text.as_str()).collect();
    let called_event = |s: &str| EVENT_WORDS.is_match(s) || !price::prices_in_line(s).is_empty();
    if title.is_some_and(|t| EVENT_WORDS.is_match(t)) {
        return true;
    }
    let dated = (0..lines.len())
        .filter(|&i| !text::schedule(&lines[i..=i], today).slots.is_empty())
        .take(MAX_DATED_LINES);
    for i in dated {
        let lo = i.saturating_sub(1);
        let hi = (i + 2).min(lines.len());
        if text::schedule(&lines[lo..hi], today)
            .slots
            .iter()
            .any(|s| s.start.is_some())
        {
            return true;
        }
        let near = &lines[i.saturating_sub(3)..(i + 4).min(lines.len())];
        if near.iter().any(|l| called_event(l)) {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::html::Line;

    fn page(lines: &[&str]) -> PageText {
        PageText {
            lines: lines
                .iter()
                .map(|t| Line {
                    text: t.to_string(),
                    heading: 0,
                })
                .collect(),
            ..PageText::default()
        }
    }
    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    #[test]
    fn opening_hours_are_not_session_times() {
        assert!(is_opening_hours("Monday to Saturday: "));
        assert!(is_opening_hours("Mon–Fri "));
        assert!(is_opening_hours("We are open daily "));
        assert!(!is_opening_hours("Sat – Sun: "));
        assert!(!is_opening_hours("Saturday, 4th July: "));
    }

    #[test]
    fn a_date_in_a_story_with_opening_hours_is_no_event() {
        let p = page(&[
            "Our story",
            "Our doors opened on 3 March 2019, in a small room above a bakery.",
            "Today more than 500 dancers call it home.",
            "Monday to Saturday: 7 AM – 10 PM",
            "Sunday: closed",
        ]);
        assert!(!has_event_structure(&p, Some("About us"), today()));
    }

    #[test]
    fn a_timed_date_or_a_date_called_an_event_is_one() {
        assert!(has_event_structure(
            &page(&["Sat 4 July 2026", "6 – 8 PM"]),
            None,
            today()
        ));
        assert!(has_event_structure(
            &page(&[
                "Mark the date: 25th September 2026",
                "Workshops in four styles"
            ]),
            None,
            today()
        ));
        assert!(has_event_structure(
            &page(&["25th September 2026"]),
            Some("Salsa Workshop"),
            today()
        ));
    }
}
