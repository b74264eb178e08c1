//! Finding calendar dates in free text.
//!
//! Recognised forms (case-insensitive, optional weekday prefix such as `Sat,`):
//! `21st June`, `21 Jun 2025`, `21st of June, 2025`, `June 21`, `June 21st, 2025`,
//! day-first numerals `21/06/2025`, `21-06-2025`, `21.06.2025`, ISO `2025-06-21` (and ISO
//! date-times, whose time is kept), ranges `21-22 June`, `June 21-22`, `1st to 3rd March`,
//! `21 June - 2 July`, and lists `June 21 & 28`, `21st, 22nd and 28th June`, a month named
//! once before its ordinal days (`August — 1st, 8th & 15th`), and yearless day/month
//! numerals, day first (`7/7, 9/7 & 14/7`), only in a list of two or more or after a
//! `Date:` label (a lone `24/7` is not a date).
//!
//! Parsing is split in two steps so that a whole page can share year knowledge:
//! [`find_dates`] returns [`DateMention`]s whose items may lack a year, and
//! [`resolve_mentions`] fills missing years: the year a page states for the same day and
//! month elsewhere, else the next occurrence on or after `today`. Impossible dates
//! (`31 June`, `29 Feb 2025`) never produce a mention. Numbers without a month name or
//! full numeric date (phone numbers, prices, times, team sizes) are never dates.

use super::fastre::WordRegex;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Weekday};
use regex::Regex;
use std::collections::HashMap;
use std::ops::Range;
use std::sync::LazyLock;

/// Ranges longer than this many days are not expanded into daily sessions: only their
/// first day is kept (a "June 1 - August 30" season is not 91 workshops).
pub const MAX_RANGE_DAYS: i64 = 10;

/// A day and month as written, with the year when the text gives one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialDate {
    pub day: u32,
    pub month: u32,
    pub year: Option<i32>,
}

/// One date expression as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateItem {
    Single(PartialDate),
    /// Inclusive range of days.
    Range(PartialDate, PartialDate),
}

/// A date expression found in text: its byte span and the dates it names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateMention {
    pub span: Range<usize>,
    pub items: Vec<DateItem>,
    /// The time of an ISO date-time (`2025-06-21T18:00`), local as written.
    pub time: Option<NaiveTime>,
    /// The weekday written with a single date (`Wed 21 Jan`): it pins a missing year.
    pub weekday: Option<Weekday>,
}

impl DateMention {
    /// A mention of dates alone: no time of day, no weekday written with it.
    fn dates(span: Range<usize>, items: Vec<DateItem>) -> Self {
        DateMention {
            span,
            items,
            time: None,
            weekday: None,
        }
    }

    /// True when every item states its year.
    pub fn has_explicit_year(&self) -> bool {
        self.items.iter().all(|i| match i {
            DateItem::Single(d) => d.year.is_some(),
            DateItem::Range(a, b) => a.year.is_some() && b.year.is_some(),
        })
    }
}

const MONTH: &str = r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)(?-u:\b)\.?";
const DAY: &str = r"(?:3[01]|[12][0-9]|0?[1-9])(?:st|nd|rd|th)?";
const YEAR: &str = r"(?:(?:19|20)\d{2}|['’]\d{2})";
const WEEKDAY: &str = r"(?:(?:mon|tue|tues|wed|weds|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday|sday)?\.?,?\s*)";
const RANGE_SEP: &str = r"\s*(?:-|–|—|~|(?-u:\b)to(?-u:\b)|(?-u:\b)till(?-u:\b)|(?-u:\b)until(?-u:\b)|(?-u:\b)thru(?-u:\b)|(?-u:\b)through(?-u:\b))\s*";
const LIST_SEP: &str = r"\s*(?:,|&|\+|(?-u:\b)and(?-u:\b))\s*";

/// Day-first: `21st June 2025`, `21-22 June`, `1st to 3rd March`, `21 & 28 June`,
/// `21 June - 2 July 2025`.
static DAY_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    let days = format!(r"(?P<days>{DAY}(?:(?:{RANGE_SEP}|{LIST_SEP}){WEEKDAY}?{DAY}(?-u:\b))*)");
    let re = format!(
        r"(?i)(?-u:\b){WEEKDAY}?{days}(?:\s*|-)(?:of\s+)?(?P<mon>{MONTH})(?:(?:,?\s*|-)(?P<year>{YEAR})(?-u:\b))?(?:{RANGE_SEP}{WEEKDAY}?(?P<day2>{DAY})\s*(?:of\s+)?(?P<mon2>{MONTH})(?:,?\s*(?P<year2>{YEAR})(?-u:\b))?)?"
    );
    Regex::new(&re).expect("static regex")
});

/// Month-first: `June 21`, `June 21st, 2025`, `June 21-22`, `June 21 & 28`,
/// `June 28 - July 2`.
static MONTH_FIRST: LazyLock<Regex> = LazyLock::new(|| {
    let days = format!(r"(?P<days>{DAY}(?-u:\b)(?:(?:{RANGE_SEP}|{LIST_SEP}){DAY}(?-u:\b))*)");
    let re = format!(
        r"(?i)(?-u:\b){WEEKDAY}?(?P<mon>{MONTH})\s*{days}(?:,?\s*(?P<year>{YEAR})(?-u:\b))?(?:{RANGE_SEP}{WEEKDAY}?(?P<mon2>{MONTH})\s*(?P<day2>{DAY})(?-u:\b)(?:,?\s*(?P<year2>{YEAR})(?-u:\b))?)?"
    );
    Regex::new(&re).expect("static regex")
});

/// Day-first numerals: `21/06/2025`, `21-06-2025`, `21.06.2025`, `21/06/25`.
static NUMERIC: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?-u:\b){WEEKDAY}?(?P<d>\d{{1,2}})(?P<sep>[/.-])(?P<m>\d{{1,2}})(?P<sep2>[/.-])(?P<y>(?:19|20)\d{{2}}|\d{{2}})(?-u:\b)"
    ))
    .expect("static regex")
});

/// ISO dates and date-times: `2025-06-21`, `2025-06-21T18:00:00+05:30`, `2025/06/21`.
static ISO: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(?P<y>(?:19|20)\d{2})(?P<sep>[-/])(?P<m>\d{1,2})[-/](?P<d>\d{1,2})(?:(?:T|\s)(?P<h>\d{2}):(?P<mi>\d{2})(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?(?-u:\b)",
    )
    .expect("static regex")
});

/// Day/month numerals without a year, day first as studios in India write them, in a
/// list of two or more (`7/7, 9/7, 14/7 & 16/7`). One bare `7/7` stays ambiguous
/// (`24/7`, a score, a fraction) unless a date label introduces it ([`DM_LABELLED`]).
static DM_LIST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?-u:\b)\d{{1,2}}/\d{{1,2}}(?:{LIST_SEP}\d{{1,2}}/\d{{1,2}})+(?-u:\b)"
    ))
    .expect("static regex")
});

/// One yearless day/month after a date label: `Date: 7/7`, `Dates - 14/7`.
static DM_LABELLED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)dates?\s*[:\-–—]?\s*(?P<dm>\d{1,2}/\d{1,2})(?-u:\b)")
        .expect("static regex")
});

static DM_PAIR: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?P<d>\d{1,2})/(?P<m>\d{1,2})").expect("static regex"));

/// A month named once, then a list of ordinal days (`Every Saturday in August — 1st,
/// 8th, 15th, 22nd & 29th`, `July: 4th & 11th`): two or more days, each with its ordinal
/// suffix, after a dash or colon.
static MONTH_ORDINALS: LazyLock<Regex> = LazyLock::new(|| {
    let ord = r"(?:3[01]|[12][0-9]|0?[1-9])(?:st|nd|rd|th)";
    Regex::new(&format!(
        r"(?i)(?-u:\b)(?P<mon>{MONTH})\s*[—–:-]\s*(?P<days>{ord}(?:{LIST_SEP}{ord})+)(?-u:\b)"
    ))
    .expect("static regex")
});

/// A month name right after a position: the list it ends belongs to that month.
static MONTH_NEXT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(&format!(r"(?i)^\s*(?:of\s+)?{MONTH}")).expect("static regex"));

static DAY_NUM: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?P<n>\d{{1,2}})(?:st|nd|rd|th)?|(?P<sep>{RANGE_SEP}|{LIST_SEP})"
    ))
    .expect("static regex")
});

static RANGE_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:-|–|—|~|to|till|until|thru|through)\s*$").expect("static regex")
});

/// What follows a date that shows its trailing number was a clock time: `June 6-8 PM`.
static TIME_AFTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^\s*(?:[ap]\.?\s?m(?-u:\b)|[ap]\.m\.|:\d{2}|\.\d{2}\s*[ap]\.?m|hrs(?-u:\b)|o'?clock)",
    )
    .expect("static regex")
});

/// Month number from a month name or abbreviation.
pub fn month_number(name: &str) -> Option<u32> {
    let n = name.trim().trim_end_matches('.').to_ascii_lowercase();
    let m = match n.get(..3)? {
        "jan" => 1,
        "feb" => 2,
        "mar" => 3,
        "apr" => 4,
        "may" => 5,
        "jun" => 6,
        "jul" => 7,
        "aug" => 8,
        "sep" => 9,
        "oct" => 10,
        "nov" => 11,
        "dec" => 12,
        _ => return None,
    };
    Some(m)
}

fn parse_year(s: &str) -> Option<i32> {
    let digits: String = s.chars().filter(char::is_ascii_digit).collect();
    let y: i32 = digits.parse().ok()?;
    Some(if digits.len() == 2 { 2000 + y } else { y })
}

/// True when day/month is a real calendar day in some year (29 Feb allowed without a
/// year), and in `year` when given.
fn plausible(day: u32, month: u32, year: Option<i32>) -> bool {
    match year {
        Some(y) => NaiveDate::from_ymd_opt(y, month, day).is_some(),
        None => NaiveDate::from_ymd_opt(2024, month, day).is_some(),
    }
}

/// Days and the separators between them, from a `days` group such as `21st, 22nd & 28th`.
fn day_sequence(text: &str) -> Vec<(u32, bool)> {
    // (day, joined_to_previous_by_range)
    let mut out = Vec::new();
    let mut pending_range = false;
    for c in DAY_NUM.captures_iter(text) {
        if let Some(n) = c.name("n") {
            if let Ok(d) = n.as_str().parse::<u32>() {
                out.push((d, pending_range && !out.is_empty()));
            }
            pending_range = false;
        } else if let Some(sep) = c.name("sep") {
            pending_range = RANGE_WORD.is_match(sep.as_str());
        }
    }
    out
}

/// Turns a day sequence sharing one month/year into items.
fn items_from_days(days: &[(u32, bool)], month: u32, year: Option<i32>) -> Option<Vec<DateItem>> {
    let mut items: Vec<DateItem> = Vec::new();
    for &(d, ranged) in days {
        if !plausible(d, month, year) {
            return None;
        }
        let pd = PartialDate {
            day: d,
            month,
            year,
        };
        match (ranged, items.pop()) {
            (true, Some(DateItem::Single(prev))) if prev.day < d => {
                items.push(DateItem::Range(prev, pd))
            }
            (_, Some(prev)) => {
                items.push(prev);
                items.push(DateItem::Single(pd));
            }
            (_, None) => items.push(DateItem::Single(pd)),
        }
    }
    (!items.is_empty()).then_some(items)
}

/// A number that counts something (`Day 1`, `Week 2`, `Session 3`, `#4`) rather than
/// naming a day of the month, unless a month name follows it directly (`Day 1 June`).
static COUNTER: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(&format!(
        r"(?i)\b(?:day|week|session|part|level|module|round|phase|episode|chapter|no\.|#)\s*(?P<n>\d{{1,2}})\b(?P<mon>\s*(?:st|nd|rd|th)?\s*(?:of\s+)?{MONTH})?"
    ))
});

/// The words [`COUNTER`] counts with, as it spells them.
const COUNTER_WORDS: [&[u8]; 12] = [
    b"day", b"week", b"session", b"part", b"level", b"module", b"round", b"phase", b"episode",
    b"chapter", b"no.", b"#",
];

/// False when [`COUNTER`] cannot match: on an ASCII line every match is one of
/// [`COUNTER_WORDS`] (any case), white space, then a digit. Other lines go to the
/// pattern, whose Unicode case folding (`ſ` is an `s`) a byte test would have to repeat.
fn may_hold_counter(text: &str) -> bool {
    if !text.is_ascii() {
        return true;
    }
    let b = text.as_bytes();
    // Only a digit run's first digit can follow the word: a digit after a digit has
    // no word before it.
    (0..b.len())
        .filter(|&i| b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()))
        .any(|digit| {
            let mut end = digit;
            // `\s` on ASCII text: tab, line feed, vertical tab, form feed, carriage return,
            // space.
            while end > 0 && matches!(b[end - 1], b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ') {
                end -= 1;
            }
            let before = &b[..end];
            COUNTER_WORDS.iter().any(|w| {
                before.len() >= w.len() && before[before.len() - w.len()..].eq_ignore_ascii_case(w)
            })
        })
}

/// `text` with counter numbers blanked (same length, so spans stay valid).
fn mask_counters(text: &str) -> std::borrow::Cow<'_, str> {
    if !may_hold_counter(text) || !COUNTER.is_match(text) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut masked = text.to_string();
    for c in COUNTER.captures_iter(text) {
        if c.name("mon").is_some() {
            continue;
        }
        let n = c.name("n").expect("group");
        masked.replace_range(n.range(), &" ".repeat(n.len()));
    }
    std::borrow::Cow::Owned(masked)
}

/// Every date expression in `text`, in text order, without overlaps.
pub fn find_dates(text: &str) -> Vec<DateMention> {
    // Every form needs an ASCII digit, and masking only blanks digits: a line without
    // one (most lines) needs neither the counter search nor the date searches.
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    super::memo::dates(text, || find_dates_in(&mask_counters(text)))
}

fn find_dates_in(text: &str) -> Vec<DateMention> {
    // Every form needs an ASCII digit (a day, or a numeric date): most lines have none.
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        return Vec::new();
    }
    // Unambiguous numeric forms first; written dates may not overlap them. Each search
    // runs only on a line holding what every one of its mentions needs (see the
    // `may_hold_*` tests): most dated lines hold one form, and each skipped search is a
    // regex pass over the line. Yearless day/month lists need `d/m` as numeric dates do.
    let bytes = text.as_bytes();
    let mut found = if may_hold_iso(bytes) {
        iso_mentions(text)
    } else {
        Vec::new()
    };
    if may_hold_numeric(bytes) {
        let numeric = numeric_mentions(text, &found);
        found.extend(numeric);
        let day_months = day_month_mentions(text, &found);
        found.extend(day_months);
    }
    if may_hold_month(bytes) {
        let mut candidates = written_candidates(text, &found);
        candidates.extend(month_ordinal_mentions(text, &found));
        candidates.sort_by_key(|m| (m.span.start, std::cmp::Reverse(m.span.end)));
        for m in candidates {
            if !overlaps_any(&found, &m.span) {
                found.push(m);
            }
        }
    }
    found.sort_by_key(|m| m.span.start);
    found
}

/// True when `text` has an ASCII `19dd-`, `19dd/`, `20dd-` or `20dd/`: an ISO mention's
/// year, month and day must parse as ASCII numbers, so every one starts so.
fn may_hold_iso(b: &[u8]) -> bool {
    // Found from each `-` or `/`: most lines have few.
    memchr::memchr2_iter(b'-', b'/', b).any(|at| {
        at >= 4 && {
            let w = &b[at - 4..at];
            (w[0] == b'1' && w[1] == b'9' || w[0] == b'2' && w[1] == b'0')
                && w[2].is_ascii_digit()
                && w[3].is_ascii_digit()
        }
    })
}

/// True when `text` has an ASCII digit, `/`, `.` or `-`, and an ASCII digit in a row:
/// every day-first numeric mention (`21/06/2025`) parses its day and month as ASCII.
fn may_hold_numeric(b: &[u8]) -> bool {
    memchr::memchr3_iter(b'/', b'.', b'-', b).any(|at| {
        at >= 1 && at + 1 < b.len() && b[at - 1].is_ascii_digit() && b[at + 1].is_ascii_digit()
    })
}

/// True when `text` has the first three letters of a month name (ASCII, any case):
/// a written mention needs [`month_number`] of its month, which reads exactly those.
fn may_hold_month(b: &[u8]) -> bool {
    // Three bytes as one lower-cased word: `| 0x20` lower-cases ASCII letters and maps
    // no other byte onto one, so it agrees with `to_ascii_lowercase` wherever a month's
    // letters can match; twelve integer compares replace twelve slice compares.
    const fn key(m: &[u8; 3]) -> u32 {
        u32::from_le_bytes([m[0], m[1], m[2], 0])
    }
    const MONTHS: [u32; 12] = [
        key(b"jan"),
        key(b"feb"),
        key(b"mar"),
        key(b"apr"),
        key(b"may"),
        key(b"jun"),
        key(b"jul"),
        key(b"aug"),
        key(b"sep"),
        key(b"oct"),
        key(b"nov"),
        key(b"dec"),
    ];
    b.windows(3)
        .any(|w| MONTHS.contains(&key(&[w[0] | 0x20, w[1] | 0x20, w[2] | 0x20])))
}

fn overlaps_any(found: &[DateMention], r: &Range<usize>) -> bool {
    found
        .iter()
        .any(|t| t.span.start < r.end && r.start < t.span.end)
}

/// ISO dates and date-times (`2025-06-21`, `2025-06-21T18:00:00+05:30`), with the time
/// of a date-time as written.
fn iso_mentions(text: &str) -> Vec<DateMention> {
    let mut found = Vec::new();
    for c in ISO.captures_iter(text) {
        let whole = c.get(0).expect("match");
        let (Ok(y), Ok(m), Ok(d)) = (
            c["y"].parse::<i32>(),
            c["m"].parse::<u32>(),
            c["d"].parse::<u32>(),
        ) else {
            continue;
        };
        if NaiveDate::from_ymd_opt(y, m, d).is_none() {
            continue;
        }
        let time = match (c.name("h"), c.name("mi")) {
            (Some(h), Some(mi)) => NaiveTime::from_hms_opt(
                h.as_str().parse().unwrap_or(99),
                mi.as_str().parse().unwrap_or(99),
                0,
            ),
            _ => None,
        };
        found.push(DateMention {
            span: whole.range(),
            items: vec![DateItem::Single(PartialDate {
                day: d,
                month: m,
                year: Some(y),
            })],
            time,
            weekday: None,
        });
    }
    found
}

/// True when a numeric date at `span` is part of a longer number run (phone numbers
/// like `98-45-2025-11`, versions like `21.06.25.1`).
fn inside_number_run(text: &str, span: &Range<usize>) -> bool {
    let before = text[..span.start].chars().next_back();
    let after = text[span.end..].chars().next();
    matches!(before, Some(ch) if ch.is_ascii_digit() || ch == '-' || ch == '/' || ch == '+')
        || matches!(after, Some(ch) if ch == '-' || ch == '/')
        || matches!(after, Some('.'))
            && text[span.end + 1..].starts_with(|ch: char| ch.is_ascii_digit())
}

/// Day-first numerals (`21/06/2025`, `21-06-2025`, `21.06.2025`, `21/06/25`) not inside
/// `taken` mentions.
fn numeric_mentions(text: &str, taken: &[DateMention]) -> Vec<DateMention> {
    let mut found: Vec<DateMention> = Vec::new();
    for c in NUMERIC.captures_iter(text) {
        let span = c.get(0).expect("match").range();
        if overlaps_any(taken, &span) || overlaps_any(&found, &span) || c["sep"] != c["sep2"] {
            continue;
        }
        // A two-digit year only with slashes (`21/06/25`); `21.06.25` is too often a
        // version or a time.
        if c["y"].len() == 2 && &c["sep"] != "/" {
            continue;
        }
        if inside_number_run(text, &span) {
            continue;
        }
        let (Ok(d), Ok(m)) = (c["d"].parse::<u32>(), c["m"].parse::<u32>()) else {
            continue;
        };
        let Some(y) = parse_year(&c["y"]) else {
            continue;
        };
        // Day first; month-first only when day-first is impossible (06/21/2025).
        let (day, month) = if NaiveDate::from_ymd_opt(y, m, d).is_some() {
            (d, m)
        } else if NaiveDate::from_ymd_opt(y, d, m).is_some() {
            (m, d)
        } else {
            continue;
        };
        found.push(DateMention::dates(
            span,
            vec![DateItem::Single(PartialDate {
                day,
                month,
                year: Some(y),
            })],
        ));
    }
    found
}

/// Yearless day/month numerals (`7/7, 9/7 & 14/7`, `Date: 7/7`) not inside `taken`
/// mentions nor part of a longer numeral (`7/7/2026` is a full date, `1/2/3` nothing).
/// Every pair of a list must be a real day and month, else the list is not dates.
fn day_month_mentions(text: &str, taken: &[DateMention]) -> Vec<DateMention> {
    let mut spans: Vec<Range<usize>> = DM_LIST.find_iter(text).map(|m| m.range()).collect();
    spans.extend(
        DM_LABELLED
            .captures_iter(text)
            .filter_map(|c| c.name("dm").map(|m| m.range())),
    );
    let mut found: Vec<DateMention> = Vec::new();
    for span in spans {
        if overlaps_any(taken, &span) || overlaps_any(&found, &span) {
            continue;
        }
        let before = text[..span.start].chars().next_back();
        let after = text[span.end..].chars().next();
        if matches!(before, Some(ch) if ch.is_ascii_digit() || ch == '/' || ch == '.')
            || matches!(after, Some(ch) if ch.is_ascii_digit() || ch == '/')
        {
            continue;
        }
        let items: Option<Vec<DateItem>> = DM_PAIR
            .captures_iter(&text[span.clone()])
            .map(|c| {
                let (d, m) = (c["d"].parse::<u32>().ok()?, c["m"].parse::<u32>().ok()?);
                plausible(d, m, None).then_some(DateItem::Single(PartialDate {
                    day: d,
                    month: m,
                    year: None,
                }))
            })
            .collect();
        if let Some(items) = items.filter(|i| !i.is_empty()) {
            found.push(DateMention::dates(span, items));
        }
    }
    found
}

/// A month named once, then its ordinal days (`August — 1st, 8th & 15th`), unless a
/// month name follows the last day (then the days are that month's).
fn month_ordinal_mentions(text: &str, taken: &[DateMention]) -> Vec<DateMention> {
    let mut found = Vec::new();
    for c in MONTH_ORDINALS.captures_iter(text) {
        let span = c.get(0).expect("match").range();
        if overlaps_any(taken, &span) || MONTH_NEXT.is_match(&text[span.end..]) {
            continue;
        }
        let Some(month) = month_number(&c["mon"]) else {
            continue;
        };
        let days = day_sequence(&c["days"]);
        if let Some(items) = items_from_days(&days, month, None) {
            found.push(DateMention::dates(span, items));
        }
    }
    found
}

/// Written dates in both orders, as candidates sorted earliest then longest first (the
/// caller keeps those that overlap nothing kept before them).
fn written_candidates(text: &str, taken: &[DateMention]) -> Vec<DateMention> {
    let mut candidates: Vec<DateMention> = Vec::new();
    for (re, day_first) in [(&*DAY_FIRST, true), (&*MONTH_FIRST, false)] {
        for c in re.captures_iter(text) {
            if overlaps_any(taken, &c.get(0).expect("match").range()) {
                continue;
            }
            candidates.extend(written_mention(text, &c, day_first));
        }
    }
    candidates.sort_by_key(|m| (m.span.start, std::cmp::Reverse(m.span.end)));
    candidates
}

/// One written date match as a mention: a single date, a list of days in one month, or
/// a range across months; `None` when it names no real calendar day.
fn written_mention(text: &str, c: &regex::Captures<'_>, day_first: bool) -> Option<DateMention> {
    let mut span = c.get(0).expect("match").range();
    let month = month_number(&c["mon"])?;
    let year = c.name("year").and_then(|y| parse_year(y.as_str()));
    let mut days = day_sequence(&c["days"]);
    if days.is_empty() {
        return None;
    }
    // `June 6-8 PM`, `June 21 & 28, 6:30 PM`: the last number is an hour.
    if !day_first && c.name("mon2").is_none() && c.name("year").is_none() {
        let days_m = c.name("days").expect("group");
        if TIME_AFTER.is_match(&text[days_m.end()..]) {
            if days.len() < 2 {
                return None;
            }
            days.pop();
            let ends: Vec<usize> = DAY_NUM
                .captures_iter(days_m.as_str())
                .filter_map(|c| c.name("n").map(|n| n.end()))
                .collect();
            span.end = days_m.start() + ends[days.len() - 1];
        }
    }
    let items = match range_end(c)? {
        Some(end) => {
            // `21 June - 2 July 2025`: the end's year is the start's too (or the year
            // before, across a new year).
            let start_year = year.or(end.year.map(|y| if month > end.month { y - 1 } else { y }));
            let (start_day, _) = days[0];
            if days.len() != 1
                || !plausible(start_day, month, start_year)
                || !plausible(end.day, end.month, end.year)
            {
                return None;
            }
            vec![DateItem::Range(
                PartialDate {
                    day: start_day,
                    month,
                    year: start_year,
                },
                end,
            )]
        }
        None => items_from_days(&days, month, year)?,
    };
    let weekday = match items.as_slice() {
        [DateItem::Single(_)] => leading_weekday(&text[span.clone()]),
        _ => None,
    };
    Some(DateMention {
        span,
        items,
        time: None,
        weekday,
    })
}

/// The weekday a date expression opens with (`Wed 21 Jan`, `Saturday, February 14`).
fn leading_weekday(text: &str) -> Option<Weekday> {
    static LEAD: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)^(mon|tue|wed|thu|fri|sat|sun)").expect("static regex"));
    let c = LEAD.captures(text)?;
    Some(match c[1].to_ascii_lowercase().as_str() {
        "mon" => Weekday::Mon,
        "tue" => Weekday::Tue,
        "wed" => Weekday::Wed,
        "thu" => Weekday::Thu,
        "fri" => Weekday::Fri,
        "sat" => Weekday::Sat,
        _ => Weekday::Sun,
    })
}

/// A yearless date whose written weekday is not the next occurrence's: the year nearest
/// the run date (two years either way) in which that day falls on that weekday, when that
/// date is nearer the run date than the next occurrence (`Wed 21 Jan` read in June 2026
/// is 21 January 2026, a Wednesday, not 2027, a Thursday). A weekday that fits only a
/// date further away than the next occurrence is taken for a slip (`Sat, 21st June`
/// read on 1 June 2026 stays 21 June 2026).
fn pinned_by_weekday(
    p: &PartialDate,
    next: NaiveDate,
    weekday: Weekday,
    today: NaiveDate,
) -> NaiveDate {
    if next.weekday() == weekday {
        return next;
    }
    let y = today.year();
    [y, y + 1, y - 1, y + 2, y - 2]
        .into_iter()
        .filter_map(|y| NaiveDate::from_ymd_opt(y, p.month, p.day))
        .filter(|d| d.weekday() == weekday)
        .min_by_key(|d| (*d - today).num_days().abs())
        .filter(|d| (*d - today).num_days().abs() < (next - today).num_days().abs())
        .unwrap_or(next)
}

/// The end of a range across months (`21 June - 2 July`): `Some(None)` when the match
/// has none, `None` when its month is not a month.
fn range_end(c: &regex::Captures<'_>) -> Option<Option<PartialDate>> {
    let (Some(d2), Some(m2)) = (c.name("day2"), c.name("mon2")) else {
        return Some(None);
    };
    let day2: u32 = d2
        .as_str()
        .trim_end_matches(|ch: char| ch.is_ascii_alphabetic())
        .parse()
        .unwrap_or(0);
    let month2 = month_number(m2.as_str())?;
    Some(Some(PartialDate {
        day: day2,
        month: month2,
        year: c.name("year2").and_then(|y| parse_year(y.as_str())),
    }))
}

/// The next date with this day and month on or after `today` (within 8 years, for 29
/// February).
pub fn next_occurrence(day: u32, month: u32, today: NaiveDate) -> Option<NaiveDate> {
    (today.year()..today.year() + 9)
        .filter_map(|y| NaiveDate::from_ymd_opt(y, month, day))
        .find(|d| *d >= today)
}

/// Known years per (day, month), from every mention that states one.
pub fn stated_years(mentions: &[DateMention]) -> HashMap<(u32, u32), i32> {
    let mut years = HashMap::new();
    for m in mentions {
        for item in &m.items {
            let parts: &[PartialDate] = match item {
                DateItem::Single(d) => std::slice::from_ref(d),
                DateItem::Range(a, b) => &[*a, *b],
            };
            for p in parts {
                if let Some(y) = p.year {
                    years.entry((p.day, p.month)).or_insert(y);
                }
            }
        }
    }
    years
}

fn resolve_partial(
    p: &PartialDate,
    known: &HashMap<(u32, u32), i32>,
    today: NaiveDate,
) -> Option<NaiveDate> {
    match p.year.or_else(|| known.get(&(p.day, p.month)).copied()) {
        Some(y) => NaiveDate::from_ymd_opt(y, p.month, p.day),
        None => next_occurrence(p.day, p.month, today),
    }
}

/// The dates one mention names. Ranges up to [`MAX_RANGE_DAYS`] expand to every day;
/// longer ones give their first day.
pub fn resolve_mention(
    mention: &DateMention,
    known: &HashMap<(u32, u32), i32>,
    today: NaiveDate,
) -> Vec<NaiveDate> {
    let mut out = Vec::new();
    for item in &mention.items {
        match item {
            DateItem::Single(p) => {
                let d = resolve_partial(p, known, today);
                let yearless = p.year.is_none() && !known.contains_key(&(p.day, p.month));
                out.extend(d.map(|d| match mention.weekday {
                    Some(w) if yearless && mention.items.len() == 1 => {
                        pinned_by_weekday(p, d, w, today)
                    }
                    _ => d,
                }));
            }
            DateItem::Range(a, b) => {
                let Some(start) = resolve_partial(a, known, today) else {
                    continue;
                };
                let end = match b.year {
                    Some(y) => NaiveDate::from_ymd_opt(y, b.month, b.day),
                    None => next_occurrence(b.day, b.month, start),
                };
                match end {
                    Some(end) if end >= start && (end - start).num_days() < MAX_RANGE_DAYS => {
                        let mut d = start;
                        while d <= end {
                            out.push(d);
                            d += Duration::days(1);
                        }
                    }
                    _ => out.push(start),
                }
            }
        }
    }
    // 1 January 1970 is the Unix epoch: what a widget shows for an unset date.
    out.retain(|d| *d != EPOCH);
    out
}

/// The Unix epoch's day, a placeholder rather than an event date.
const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("valid date"),
};

/// Resolves every mention of one page together (years stated for a day and month in
/// one mention apply to the same day and month elsewhere).
pub fn resolve_mentions(mentions: &[DateMention], today: NaiveDate) -> Vec<Vec<NaiveDate>> {
    let known = stated_years(mentions);
    mentions
        .iter()
        .map(|m| resolve_mention(m, &known, today))
        .collect()
}

/// Convenience: every date in `text`, resolved, in text order (duplicates kept).
pub fn dates_in(text: &str, today: NaiveDate) -> Vec<NaiveDate> {
    resolve_mentions(&find_dates(text), today)
        .into_iter()
        .flatten()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_counter_pretest_refuses_no_line_the_pattern_matches() {
        let lines = [
            "Day 1: basics",
            "DAY\t2 - choreo",
            "Week 3 of 8",
            "Session 4",
            "Part 2",
            "Level 1 and Level 2",
            "Module 5",
            "Round 2",
            "Phase 1",
            "Episode 7",
            "Chapter 3",
            "No. 4",
            "#5 in the series",
            "Day 1 June",
            "Saturday 21 June",
            "Sunday, 22 June 2026",
            "Today 5 PM",
            "21/06/2026",
            "holiday 2",
        ];
        for line in lines {
            if COUNTER.is_match(line) {
                assert!(may_hold_counter(line), "{line}");
            }
        }
        assert!(!may_hold_counter("21/06/2026 at 7 PM"));
        assert!(may_hold_counter("Day 1"));
    }

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn today() -> NaiveDate {
        d(2026, 6, 1)
    }

    fn dates(text: &str) -> Vec<NaiveDate> {
        dates_in(text, today())
    }

    #[test]
    fn ordinal_day_and_full_month_without_year_is_next_occurrence() {
        assert_eq!(dates("Workshop on 21st June"), vec![d(2026, 6, 21)]);
    }

    #[test]
    fn yearless_date_before_today_rolls_to_next_year() {
        assert_eq!(dates("21st May"), vec![d(2027, 5, 21)]);
        assert_eq!(dates("April 10th"), vec![d(2027, 4, 10)]);
    }

    #[test]
    fn yearless_date_equal_to_today_stays_this_year() {
        assert_eq!(dates("1 June"), vec![d(2026, 6, 1)]);
    }

    #[test]
    fn abbreviated_month_with_year() {
        assert_eq!(dates("21 Jun 2025"), vec![d(2025, 6, 21)]);
        assert_eq!(dates("3 Sept. 2026"), vec![d(2026, 9, 3)]);
        assert_eq!(dates("3 Sep 2026"), vec![d(2026, 9, 3)]);
    }

    #[test]
    fn hyphenated_day_month_year() {
        assert_eq!(dates("21-Jun-2026"), vec![d(2026, 6, 21)]);
        assert_eq!(dates("Sun, 21-Jun"), vec![d(2026, 6, 21)]);
    }

    #[test]
    fn day_of_month_with_comma_year() {
        assert_eq!(dates("21st of June, 2025"), vec![d(2025, 6, 21)]);
    }

    #[test]
    fn two_digit_year_with_apostrophe() {
        assert_eq!(dates("21 June '26"), vec![d(2026, 6, 21)]);
        assert_eq!(dates("21 June ’26"), vec![d(2026, 6, 21)]);
    }

    #[test]
    fn month_first_forms() {
        assert_eq!(dates("June 21"), vec![d(2026, 6, 21)]);
        assert_eq!(dates("June 21st, 2025"), vec![d(2025, 6, 21)]);
        assert_eq!(
            dates("Day 1(March 1, 2013) : Bollywood Jazz"),
            vec![d(2013, 3, 1)]
        );
    }

    #[test]
    fn weekday_prefixes_are_accepted() {
        assert_eq!(dates("Sat, 21 June 2025"), vec![d(2025, 6, 21)]);
        assert_eq!(dates("Saturday, June 21st, 2025"), vec![d(2025, 6, 21)]);
        assert_eq!(dates("Saturday, February 29th, 2020"), vec![d(2020, 2, 29)]);
        assert_eq!(dates("Sun 22nd June"), vec![d(2026, 6, 22)]);
    }

    #[test]
    fn numeric_dates_are_day_first() {
        assert_eq!(dates("Sat, 21/06/2025"), vec![d(2025, 6, 21)]);
        assert_eq!(dates("05/07/2026"), vec![d(2026, 7, 5)]);
        assert_eq!(dates("05-07-2026"), vec![d(2026, 7, 5)]);
        assert_eq!(dates("05.07.2026"), vec![d(2026, 7, 5)]);
        assert_eq!(dates("05/07/26"), vec![d(2026, 7, 5)]);
    }

    #[test]
    fn numeric_month_first_only_when_day_first_is_impossible() {
        assert_eq!(dates("06/21/2025"), vec![d(2025, 6, 21)]);
    }

    #[test]
    fn iso_date_and_datetime() {
        assert_eq!(dates("2025-06-21"), vec![d(2025, 6, 21)]);
        let m = find_dates("starts 2025-06-21T18:30:00+05:30 sharp");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].time, NaiveTime::from_hms_opt(18, 30, 0));
        assert_eq!(
            &"starts 2025-06-21T18:30:00+05:30 sharp"[m[0].span.clone()],
            "2025-06-21T18:30:00+05:30"
        );
    }

    #[test]
    fn day_first_range_expands_to_every_day() {
        assert_eq!(dates("21-22 June"), vec![d(2026, 6, 21), d(2026, 6, 22)]);
        assert_eq!(
            dates("1st to 3rd March 2013"),
            vec![d(2013, 3, 1), d(2013, 3, 2), d(2013, 3, 3)]
        );
        assert_eq!(
            dates("21st – 22nd June"),
            vec![d(2026, 6, 21), d(2026, 6, 22)]
        );
    }

    #[test]
    fn month_first_range() {
        assert_eq!(dates("June 21-22"), vec![d(2026, 6, 21), d(2026, 6, 22)]);
        assert_eq!(
            dates("June 21 to 23, 2025"),
            vec![d(2025, 6, 21), d(2025, 6, 22), d(2025, 6, 23)]
        );
    }

    #[test]
    fn cross_month_ranges() {
        assert_eq!(
            dates("June 29 - July 1"),
            vec![d(2026, 6, 29), d(2026, 6, 30), d(2026, 7, 1)]
        );
        assert_eq!(
            dates("30 June to 2 July 2026"),
            vec![d(2026, 6, 30), d(2026, 7, 1), d(2026, 7, 2)]
        );
    }

    #[test]
    fn range_across_new_year_takes_previous_year_for_start() {
        assert_eq!(
            dates("31 Dec - 1 Jan 2027"),
            vec![d(2026, 12, 31), d(2027, 1, 1)]
        );
    }

    #[test]
    fn long_ranges_keep_only_first_day() {
        assert_eq!(dates("June 1 - August 30"), vec![d(2026, 6, 1)]);
    }

    #[test]
    fn lists_of_days() {
        assert_eq!(dates("June 21 & 28"), vec![d(2026, 6, 21), d(2026, 6, 28)]);
        assert_eq!(
            dates("21st, 22nd and 28th June"),
            vec![d(2026, 6, 21), d(2026, 6, 22), d(2026, 6, 28)]
        );
        assert_eq!(
            dates("21 & 28 June 2025"),
            vec![d(2025, 6, 21), d(2025, 6, 28)]
        );
    }

    #[test]
    fn comma_year_is_not_a_listed_day() {
        assert_eq!(dates("June 21, 2025 at noon"), vec![d(2025, 6, 21)]);
    }

    #[test]
    fn counters_are_not_days_of_the_month() {
        assert_eq!(dates("Day 1 – Sat, 19th December"), vec![d(2026, 12, 19)]);
        assert_eq!(
            dates("Week 2 - 5th July, Session 3 & 12th July"),
            vec![d(2026, 7, 5), d(2026, 7, 12)]
        );
        // A month right after the number makes it a date again.
        assert_eq!(dates("Day 1 June"), vec![d(2026, 6, 1)]);
        assert_eq!(
            dates("Day 1(March 1, 2013) : Bollywood Jazz"),
            vec![d(2013, 3, 1)]
        );
    }

    #[test]
    fn the_unix_epoch_is_a_placeholder_not_a_date() {
        assert!(dates("Choose your date and time 1st Jan 1970").is_empty());
        assert_eq!(dates("1st Jan 1971"), vec![d(1971, 1, 1)]);
    }

    #[test]
    fn impossible_dates_are_rejected() {
        assert!(dates("31 June").is_empty());
        assert!(dates("29 Feb 2025").is_empty());
        assert!(dates("31/02/2025").is_empty());
        assert!(dates("2025-13-01").is_empty());
        assert!(dates("June 32").is_empty());
    }

    #[test]
    fn leap_day_without_year_is_next_leap_year() {
        assert_eq!(dates("29 Feb"), vec![d(2028, 2, 29)]);
    }

    #[test]
    fn yearless_day_month_lists_are_day_first() {
        assert_eq!(
            dates("Dates: 3/8, 5/8, 10/8 and 12/8"),
            vec![d(2026, 8, 3), d(2026, 8, 5), d(2026, 8, 10), d(2026, 8, 12)]
        );
        assert_eq!(dates("Date: 25/9"), vec![d(2026, 9, 25)]);
        // One bare pair is not a date; nor is a list with an impossible pair.
        assert!(dates("Open 24/7 for members").is_empty());
        assert!(dates("Ratings 8/15 and 9/20").is_empty());
        // A full numeric date stays one date.
        assert_eq!(
            dates("3/8/2026, 5/8/2026"),
            vec![d(2026, 8, 3), d(2026, 8, 5)]
        );
    }

    #[test]
    fn a_month_named_once_then_its_ordinal_days() {
        assert_eq!(
            dates("Every Sunday in September – 6th, 13th & 20th"),
            vec![d(2026, 9, 6), d(2026, 9, 13), d(2026, 9, 20)]
        );
        assert_eq!(
            dates("October: 3rd and 10th, 6 PM"),
            vec![d(2026, 10, 3), d(2026, 10, 10)]
        );
        // Plain numbers after a month name and a dash are no day list.
        assert!(dates("August - 2 batches, 20 seats").is_empty());
    }

    #[test]
    fn phone_numbers_prices_and_times_are_not_dates() {
        assert!(dates("Call +91-98450-21234 or 080-2345-6789").is_empty());
        assert!(dates("Fee ₹ 1,200 / 850/-").is_empty());
        assert!(dates("6:00pm–8:00pm, 18:00-20:00").is_empty());
        assert!(dates("Team size 5-12, time limit 9 minutes").is_empty());
        assert!(dates("Version 1.2.3 released").is_empty());
    }

    #[test]
    fn month_with_hour_range_is_one_day_not_a_range() {
        let m = find_dates("June 6-8 PM");
        assert_eq!(m.len(), 1);
        assert_eq!(resolve_mentions(&m, today()), vec![vec![d(2026, 6, 6)]]);
        assert_eq!(m[0].span, 0..6);
    }

    #[test]
    fn month_list_followed_by_a_time_keeps_the_days() {
        let text = "June 21 & 28, 6:30-8:30 PM";
        let m = find_dates(text);
        assert_eq!(&text[m[0].span.clone()], "June 21 & 28");
        assert_eq!(dates(text), vec![d(2026, 6, 21), d(2026, 6, 28)]);
        assert_eq!(dates("June 21, 6 PM"), vec![d(2026, 6, 21)]);
    }

    #[test]
    fn words_containing_month_names_are_not_dates() {
        assert!(dates("Marching band 21 people").is_empty());
        assert!(dates("Junior 12").is_empty());
        assert!(dates("decimal 5").is_empty());
    }

    #[test]
    fn stated_year_for_same_day_applies_to_yearless_mention() {
        // The prelims "2nd March" is the same day as the final's "2nd March, 2013".
        assert_eq!(
            dates("The final on 2nd March, 2013. The prelims on 2nd March. 10 AM"),
            vec![d(2013, 3, 2), d(2013, 3, 2)]
        );
    }

    #[test]
    fn spans_cover_the_expression() {
        let text = "Join us on Sat, 21st June 2025 for fun";
        let m = find_dates(text);
        assert_eq!(&text[m[0].span.clone()], "Sat, 21st June 2025");
    }

    #[test]
    fn several_mentions_in_text_order() {
        assert_eq!(
            dates("Batch A: 28 June. Batch B: June 21st"),
            vec![d(2026, 6, 28), d(2026, 6, 21)]
        );
    }

    #[test]
    fn month_number_reads_names_and_abbreviations() {
        assert_eq!(month_number("September"), Some(9));
        assert_eq!(month_number("sept."), Some(9));
        assert_eq!(month_number("DEC"), Some(12));
        assert_eq!(month_number("xyz"), None);
    }

    #[test]
    fn a_written_weekday_pins_a_missing_year_when_it_is_nearer() {
        let today = NaiveDate::from_ymd_opt(2026, 6, 1).unwrap();
        // 21 Jan 2026 is a Wednesday, 2027's a Thursday.
        assert_eq!(
            dates_in("Wed 21 Jan", today),
            vec![NaiveDate::from_ymd_opt(2026, 1, 21).unwrap()]
        );
        // No weekday: the next occurrence.
        assert_eq!(
            dates_in("21 Jan", today),
            vec![NaiveDate::from_ymd_opt(2027, 1, 21).unwrap()]
        );
        // A weekday that fits only a year further away than the next occurrence is a slip.
        assert_eq!(
            dates_in("Sat, 21st June", today),
            vec![NaiveDate::from_ymd_opt(2026, 6, 21).unwrap()]
        );
    }
}
