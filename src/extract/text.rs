//! Layer 4: rules over the visible text lines (see [`super::html`]).
//!
//! * **Sessions.** Every date expression is found line by line; those introduced by a
//!   registration deadline, an early-bird cut-off, a refund or publication note are
//!   dropped. Missing years are filled page-wide ([`date::resolve_mentions`]). A date
//!   takes the time stated on its own line (pairwise when a line pairs several dates
//!   with several times), else the time on the nearest time-only line after it (up to
//!   three lines on, across further date-only lines), else the one just before it.
//!   Times on time-only lines are also reported on their own, so the merger can give
//!   them to dates that found none.
//! * **Title:** the first `h1`, else the first `h2`, else `<title>`.
//! * **Artists:** `by …` / `with …` phrases naming capitalised people or `@handles`, and
//!   labelled lines (`Artist: …`, `Choreographer: …`, `Instructor: …`).
//! * **Songs:** labelled lines (`Song: …`, `Song 2 - …`, `Songs: A & B`).
//! * **Prices:** [`price::prices_in_line`] over every line.
//! * **Per-song parts:** with two or more songs on separate lines, the lines from one
//!   song's line to the next are that song's part.

use super::budget;
use super::date::{self, DateMention};
use super::fastre::WordRegex;
use super::fields::{non_blank, non_empty, DatedSlot, LayerFields, SongPart};
use super::html::PageText;
use super::price;
use super::time::{self, TimeMention};
use chrono::NaiveDate;
use regex::Regex;
use std::collections::HashMap;
use std::sync::LazyLock;

/// Cues that make a date a deadline or a note rather than a session.
static DATE_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?-u:\b)(?:register|registration|registrations|enrol|enroll|enrolment|enrollment|booking|bookings|book|sign\s*up|entries|entry|apply|applications?|submissions?|submit)(?-u:\b)
            [^.!?]{0,30}?(?-u:\b)(?:by|before|till|until|closes?|closing|ends?|deadline|opens?\s+(?:on|from)|due|on\s+or\s+before)(?-u:\b)
        | (?-u:\b)last\s+(?:date|day)(?-u:\b) | (?-u:\b)deadlines?(?-u:\b) | (?-u:\b)due\s+(?:date|by|on)(?-u:\b) | (?-u:\b)cut[\s-]?off(?-u:\b)
        | (?-u:\b)closes?\s+(?:on|by)(?-u:\b) | (?-u:\b)end\s+date(?-u:\b)
        | (?-u:\b)early[\s-]*bird(?-u:\b)
        | (?-u:\b)(?:valid|available|applicable)\s+(?:till|until|up\s*to|through|thru)(?-u:\b)
        | (?-u:\b)offer\s+(?:ends|valid|expires)(?-u:\b) | (?-u:\b)expir(?:es|y|ing)(?-u:\b)
        | (?-u:\b)posted(?-u:\b) | (?-u:\b)published(?-u:\b) | (?-u:\b)updated(?-u:\b) | (?-u:\b)copyright(?-u:\b) | ©
        | (?-u:\b)prior\s+to(?-u:\b) | (?-u:\b)refunds?(?-u:\b) | (?-u:\b)withdrawals?(?-u:\b) | (?-u:\b)cancell?ations?(?-u:\b)
        | (?-u:\b)on\s+view(?-u:\b) | (?-u:\b)exhibitions?(?-u:\b)
        | (?-u:\b)(?:founded|established|estd|incorporated|registered\s+in|in\s+business\s+since)(?-u:\b)
        ",
    )
    .expect("static regex")
});

/// Cues that make a date the studio's closure, not an event: `closed from 8th June to
/// 14th June`, `classes resume on 15th June`, `no classes on 2nd October`, `the studio
/// is on a break till …`. Kept apart from [`DATE_CUE`] because such a notice still
/// states which year its month is in (`Through February 2026, the entrance is closed`).
static CLOSURE_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?ix)
        (?-u:\b)(?:closed|closure|shut|reopens?|reopening|resumes?|resuming)(?-u:\b)
        | (?-u:\b)no\s+(?:regular\s+)?(?:class|classes|sessions|batches)(?-u:\b)
        | (?-u:\b)(?:studio|we\s+are|we\x27re|classes\s+are)\s+(?:is\s+)?on\s+(?:a\s+)?(?:holiday|break|leave|vacation)(?-u:\b)
        ",
    )
    .expect("static regex")
});

/// Cues that make a time something other than the session's start.
static TIME_CUE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(?-u:\b)(?:deadlines?|closes?|closing|last\s+entry|report(?:ing)?|registrations?|register|check[\s-]?in|doors|gates)(?-u:\b)",
    )
    .expect("static regex")
});

static BY_PHRASE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?:^|[\s(\[|–—-])(?i:by|with|ft\.?|feat\.?|featuring)\s*:?\s+(?P<who>[@\p{Lu}].*)$",
    )
    .expect("static regex")
});

static ARTIST_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\W*(?:artists?|choreographers?|instructors?|faculty|trainers?|teachers?|mentors?|coach(?:es)?|taught\s+by|conducted\s+by|choreographed\s+by)\s*[:\-–—]\s*(?P<who>.+)$")
        .expect("static regex")
});

static SONG_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\W*(?P<label>songs?|tracks?)\s*(?:#?\d{1,2})?\s*(?:name\s*)?(?:[:\-–—]|(?-u:\b)is(?-u:\b))\s*(?P<song>.+)$")
        .expect("static regex")
});

/// Where a `by …` phrase's names end.
static WHO_END: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s+(?:on|at|in|for|from|this|this|to|is|are|will|who|where|when|starting|live)\s|\s[|–—-]\s|[,!?:;()\[\]|]|\.(?:\s|$)")
        .expect("static regex")
});

/// A word [`ARTIST_LABEL`] or [`BY_PHRASE`] needs (same case folding; `taught by`
/// and `conducted by` hold `by`): one search rules out most lines before the two
/// capture searches.
static ARTIST_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)by|with|ft|feat|artist|choreograph|instructor|faculty|trainer|teacher|mentor|coach",
    )
    .expect("static regex")
});

static NAME_SPLIT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s+(?:x|&|and|\+|n)\s+|\s*/\s*|\s*&\s*").expect("static regex")
});

/// Words [`SONG_LABEL`] can open with (after non-word characters).
const SONG_LABEL_OPENERS: &[&str] = &["song", "track"];

/// Words [`CHOREO_LABEL`] can open with (after non-word characters).
const CHOREO_LABEL_OPENERS: &[&str] = &["choreo", "routine", "piece"];

/// True when ASCII `line`, past its leading non-word characters (what `^\W*` skips on
/// ASCII text), starts with one of `words` in any ASCII case: a necessary condition for
/// the anchored labels, whose `(?i)` matches only ASCII letters on ASCII text.
fn opens_with_any(line: &str, words: &[&str]) -> bool {
    let rest = line.trim_start_matches(|c: char| !(c.is_ascii_alphanumeric() || c == '_'));
    words.iter().any(|w| {
        rest.get(..w.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(w))
    })
}

const NOT_NAMES: &[&str] = &[
    "us", "our", "your", "the", "a", "an", "love", "friends", "music", "fun", "passion", "energy",
    "style", "all", "everyone", "me", "him", "her", "them", "live", "free",
];

fn line_texts(text: &PageText) -> Vec<&str> {
    text.lines.iter().map(|l| l.text.as_str()).collect()
}

/// True when a date mention is a deadline or note: a cue shortly before it in its
/// sentence, or a cue on the previous line when the date stands alone on its line.
fn date_is_excluded(
    lines: &[&str],
    pipes: &[usize],
    found: &[Vec<DateMention>],
    i: usize,
    m: &DateMention,
    prev_end: usize,
) -> bool {
    let line = lines[i];
    let mut from = prev_end.max(m.span.start.saturating_sub(80));
    while !line.is_char_boundary(from) {
        from += 1;
    }
    let mut window = &line[from..m.span.start];
    if let Some(cut) = window.rfind(['.', '!', '?', ';']) {
        // A full stop right after a number or month abbreviation is not a sentence end
        // worth cutting at only when followed by a space; keep it simple and cut.
        window = &window[cut + 1..];
    }
    if DATE_CUE.is_match(window) || CLOSURE_CUE.is_match(window) {
        return true;
    }
    if header_cell_is_cue(lines, pipes, found, i, m.span.start) {
        return true;
    }
    // A date alone on its line (no label of its own before it) under a label line
    // such as `Last date to register:`.
    let rest_len = line.len() - (m.span.end - m.span.start);
    let own_label = line[..m.span.start].chars().any(char::is_alphabetic);
    if rest_len <= 20 && !own_label && i > 0 {
        let prev = lines[i - 1].trim();
        if (DATE_CUE.is_match(prev) || CLOSURE_CUE.is_match(prev))
            && (prev.ends_with(':') || prev.len() <= 60)
            && found[i - 1].is_empty()
        {
            return true;
        }
    }
    false
}

/// For a table row (cells joined by ` | `): true when the header cell above the date's
/// cell names a deadline (`Registration End Date`). `pipes` holds each line's count of
/// `|`, counted once per page rather than once per date on a wide row.
fn header_cell_is_cue(
    lines: &[&str],
    pipes: &[usize],
    found: &[Vec<DateMention>],
    i: usize,
    pos: usize,
) -> bool {
    let line = lines[i];
    let cells = pipes[i];
    if cells == 0 {
        return false;
    }
    let idx = line[..pos].matches('|').count();
    let header = (0..i)
        .rev()
        .take(40)
        .find(|&k| pipes[k] == cells && found[k].is_empty())
        .map(|k| lines[k]);
    header
        .and_then(|h| h.split('|').nth(idx))
        .is_some_and(|cell| DATE_CUE.is_match(cell))
}

fn time_is_excluded(line: &str, start: usize) -> bool {
    let mut from = start.saturating_sub(40);
    while !line.is_char_boundary(from) {
        from += 1;
    }
    let window = &line[from..start];
    let window = match window.rfind(['.', '!', '?', ';', ',']) {
        Some(cut) => &window[cut + 1..],
        None => window,
    };
    TIME_CUE.is_match(window) || super::structure::is_opening_hours(window)
}

/// Dates and times of a run of lines.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Schedule {
    pub slots: Vec<DatedSlot>,
    /// Times on lines without dates, in order.
    pub free_times: Vec<TimeMention>,
}

struct LineInfo {
    /// (resolved dates, ISO time, span start) per kept mention.
    dates: Vec<(Vec<NaiveDate>, Option<TimeMention>, usize)>,
    times: Vec<(usize, TimeMention)>,
    /// The line states nothing but its times, bare or labelled as batches or slots
    /// (`04:00 PM - 06:00 PM`, `Batch 1: 5-7 PM, Batch 2: 7:30-9:30 PM`).
    bare_times: bool,
}

/// What may stand beside the times of a line that only lists batches: labels and
/// separators, no other words.
static BATCH_REST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^[\s\W\d]*(?:(?:batch(?:es)?|slots?|shifts?|sessions?|timings?|times?|dates?|morning|afternoon|evening|night|or|and|on|at|from)(?-u:\b)[\s\W\d]*)*$")
        .expect("static regex")
});

/// Two or more ranges, each with its end, one after the other without overlapping
/// (`11 AM - 1 PM` and `4 - 6 PM`): alternative batches of one day, not a start and a
/// note.
pub fn batch_ranges(times: &[TimeMention]) -> bool {
    times.len() >= 2
        && times.iter().all(|t| t.end.is_some_and(|e| e > t.start))
        && times
            .windows(2)
            .all(|w| w[0].end.is_some_and(|e| w[1].start >= e))
}

/// The batches of a single date stated on the time-only lines right after it: the
/// nearest time-only line within three lines, and the time-only lines that directly
/// follow it, when every one of them states only times (see [`batch_ranges`]).
fn following_batches(info: &[LineInfo], i: usize) -> Option<Vec<TimeMention>> {
    let first = (i + 1..(i + 4).min(info.len()))
        .find(|&k| !info[k].times.is_empty() || !info[k].dates.is_empty())?;
    let mut times = Vec::new();
    for li in &info[first..] {
        if !li.dates.is_empty() || li.times.is_empty() {
            break;
        }
        if !li.bare_times {
            return None;
        }
        times.extend(li.times.iter().map(|(_, t)| *t));
    }
    batch_ranges(&times).then_some(times)
}

/// A line that is only a month and a year (`January 2025`): a calendar's or an event
/// list's heading.
static MONTH_YEAR_HEADING: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\W*(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?,?\s+(?P<year>(?:19|20)\d{2})\W*$")
        .expect("static regex")
});

/// True for a line that is only a month and a year (`January 2025`).
pub fn is_month_year_heading(line: &str) -> bool {
    MONTH_YEAR_HEADING.is_match(line.trim())
}

/// A yearless date under a `Month YYYY` heading of its own month (the nearest such
/// heading above it, up to 200 lines) takes that heading's year: calendars and event
/// lists state the year once per month.
fn with_heading_year(
    lines: &[&str],
    i: usize,
    m: &DateMention,
    page_months: &HashMap<u32, i32>,
) -> DateMention {
    let mut m = m.clone();
    if m.has_explicit_year() {
        return m;
    }
    let heading = (0..i).rev().take(200).find_map(|k| {
        let c = MONTH_YEAR_HEADING.captures(lines[k].trim())?;
        Some((
            date::month_number(&c["mon"])?,
            c["year"].parse::<i32>().ok()?,
        ))
    });
    for item in &mut m.items {
        if let date::DateItem::Single(p) = item {
            if p.year.is_some() {
                continue;
            }
            p.year = match heading {
                Some((month, year)) if month == p.month => Some(year),
                _ => page_months.get(&p.month).copied(),
            };
        }
    }
    m
}

/// `Month YYYY` written anywhere in running text (`Through February 2026`), not as part
/// of a full date.
static MONTH_YEAR_IN_TEXT: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(
        r"(?i)(?:^|[^\d\s]\s*|^\s*)\b(?P<mon>jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?,?\s+(?P<year>(?:19|20)\d{2})\b",
    )
});

/// The year a page states for a month (`February 2026` in a notice), when it states
/// exactly one for it, outside deadline, copyright, founding and similar notes: a
/// yearless `February 14` on the same page is that February's.
fn page_month_years(lines: &[&str]) -> HashMap<u32, i32> {
    let mut seen: HashMap<u32, Option<i32>> = HashMap::new();
    for line in lines.iter().take(5_000) {
        if !line.bytes().any(|b| b.is_ascii_digit()) || DATE_CUE.is_match(line) {
            continue;
        }
        for c in MONTH_YEAR_IN_TEXT.captures_iter(line) {
            let (Some(mon), Ok(year)) = (date::month_number(&c["mon"]), c["year"].parse::<i32>())
            else {
                continue;
            };
            let e = seen.entry(mon).or_insert(Some(year));
            if *e != Some(year) {
                *e = None;
            }
        }
    }
    seen.into_iter()
        .filter_map(|(m, y)| y.map(|y| (m, y)))
        .collect()
}

/// The sessions the visible text states (in page order), and how often each start time
/// is stated, for checking a structured stamp's time against the page
/// ([`super::jsonld::layer`]). The counts are read only when asked for.
pub struct VisibleTimes<'a> {
    pub slots: Vec<DatedSlot>,
    text: Option<&'a PageText>,
    starts: std::sync::OnceLock<HashMap<chrono::NaiveTime, (usize, Option<chrono::NaiveTime>)>>,
}

impl<'a> VisibleTimes<'a> {
    /// The text layer's `slots` of `text`.
    pub fn new(text: &'a PageText, slots: Vec<DatedSlot>) -> Self {
        VisibleTimes {
            slots,
            text: Some(text),
            starts: std::sync::OnceLock::new(),
        }
    }

    /// Sessions without the lines they came from (every start time counts once each).
    pub fn slots_only(slots: Vec<DatedSlot>) -> Self {
        VisibleTimes {
            slots,
            text: None,
            starts: std::sync::OnceLock::new(),
        }
    }

    /// The distinct start times the text states for `date`, in page order.
    pub fn starts_on(&self, date: NaiveDate) -> Vec<chrono::NaiveTime> {
        let mut out = Vec::new();
        for s in self.slots.iter().filter(|s| s.date == date) {
            if let Some(t) = s.start.filter(|t| !out.contains(t)) {
                out.push(t);
            }
        }
        out
    }

    fn counts(&self) -> &HashMap<chrono::NaiveTime, (usize, Option<chrono::NaiveTime>)> {
        self.starts.get_or_init(|| match self.text {
            Some(text) => start_time_counts(&line_texts(text)),
            None => {
                let mut m = HashMap::new();
                for s in &self.slots {
                    if let Some(t) = s.start {
                        let e = m.entry(t).or_insert((0, s.end));
                        e.0 += 1;
                        e.1 = e.1.or(s.end);
                    }
                }
                m
            }
        })
    }

    /// How many lines state `t` as a start time (a date line, a ticket line, a schedule).
    pub fn support(&self, t: chrono::NaiveTime) -> usize {
        self.counts().get(&t).map_or(0, |c| c.0)
    }

    /// The end the text first states with start `t`, if any.
    pub fn end_with(&self, t: chrono::NaiveTime) -> Option<chrono::NaiveTime> {
        self.counts().get(&t).and_then(|c| c.1)
    }
}

/// Per start time: the number of lines stating it (dates masked so their numbers are not
/// read as times; times the text rules leave out are left out), and the first end
/// stated with it.
fn start_time_counts(
    lines: &[&str],
) -> HashMap<chrono::NaiveTime, (usize, Option<chrono::NaiveTime>)> {
    let mut out: HashMap<chrono::NaiveTime, (usize, Option<chrono::NaiveTime>)> = HashMap::new();
    for line in lines {
        if budget::expired() {
            break;
        }
        let mut masked = line.to_string();
        for m in date::find_dates(line) {
            let blank = " ".repeat(m.span.end - m.span.start);
            masked.replace_range(m.span.clone(), &blank);
        }
        let mut seen = Vec::new();
        for f in time::find_times(&masked) {
            if time_is_excluded(&masked, f.span.start) || seen.contains(&f.time.start) {
                continue;
            }
            seen.push(f.time.start);
            let e = out.entry(f.time.start).or_insert((0, f.time.end));
            e.0 += 1;
            e.1 = e.1.or(f.time.end);
        }
    }
    out
}

/// Finds the sessions stated in `lines`.
pub fn schedule(lines: &[&str], today: NaiveDate) -> Schedule {
    // Date mentions per line, deadlines dropped.
    // Over budget, the remaining lines count as dateless: the page is discarded anyway.
    let found: Vec<Vec<DateMention>> = lines
        .iter()
        .map(|l| {
            if budget::expired() {
                Vec::new()
            } else {
                date::find_dates(l)
            }
        })
        .collect();
    let pipes: Vec<usize> = lines.iter().map(|l| l.matches('|').count()).collect();
    let mut kept: Vec<(usize, DateMention)> = Vec::new();
    for (i, mentions) in found.iter().enumerate() {
        let mut prev_end = 0;
        for m in mentions {
            if !date_is_excluded(lines, &pipes, &found, i, m, prev_end) {
                kept.push((i, m.clone()));
            }
            prev_end = m.span.end;
        }
    }
    let page_months = if kept.iter().any(|(_, m)| !m.has_explicit_year()) {
        page_month_years(lines)
    } else {
        HashMap::new()
    };
    let mentions: Vec<DateMention> = kept
        .iter()
        .map(|(i, m)| with_heading_year(lines, *i, m, &page_months))
        .collect();
    let resolved = date::resolve_mentions(&mentions, today);

    let mut info: Vec<LineInfo> = lines
        .iter()
        .map(|_| LineInfo {
            dates: Vec::new(),
            times: Vec::new(),
            bare_times: false,
        })
        .collect();
    for ((i, m), dates) in kept.iter().zip(resolved) {
        if dates.is_empty() {
            continue;
        }
        let iso = m.time.map(|t| TimeMention {
            start: t,
            end: None,
        });
        info[*i].dates.push((dates, iso, m.span.start));
    }
    for (i, line) in lines.iter().enumerate() {
        if budget::expired() {
            break;
        }
        // Mask every date expression (kept or not) so its numbers are not read as times.
        let masked: std::borrow::Cow<'_, str> = if found[i].is_empty() {
            std::borrow::Cow::Borrowed(line)
        } else {
            let mut masked = line.to_string();
            for m in &found[i] {
                let blank = " ".repeat(m.span.end - m.span.start);
                masked.replace_range(m.span.clone(), &blank);
            }
            std::borrow::Cow::Owned(masked)
        };
        let finds = time::find_times(&masked);
        if finds.is_empty() {
            continue;
        }
        let mut rest = masked.to_string();
        for f in &finds {
            if !time_is_excluded(&masked, f.span.start) {
                info[i].times.push((f.span.start, f.time));
            }
            rest.replace_range(f.span.clone(), &" ".repeat(f.span.end - f.span.start));
        }
        info[i].bare_times = BATCH_REST.is_match(&rest);
    }

    let mut slots = Vec::new();
    let mut free_times = Vec::new();
    for (i, li) in info.iter().enumerate() {
        if li.dates.is_empty() {
            free_times.extend(li.times.iter().map(|(_, t)| *t));
            continue;
        }
        // One date with several batches (its own line's, or the time-only lines right
        // after it): each batch is a session of that date.
        if let [(dates, None, _)] = li.dates.as_slice() {
            let own: Vec<TimeMention> = li.times.iter().map(|(_, t)| *t).collect();
            let batches = if own.is_empty() {
                following_batches(&info, i)
            } else {
                (li.bare_times && batch_ranges(&own)).then_some(own)
            };
            if let (Some(batches), [d]) = (batches, dates.as_slice()) {
                slots.extend(batches.iter().map(|t| DatedSlot::with_time(*d, Some(*t))));
                continue;
            }
        }
        let own: Vec<Option<TimeMention>> = if li.times.is_empty() {
            li.dates
                .iter()
                .map(|(_, iso, _)| iso.or_else(|| nearby_time(&info, i)))
                .collect()
        } else if li.times.len() == li.dates.len() {
            li.times.iter().map(|(_, t)| Some(*t)).collect()
        } else {
            // The first time after the date, else the line's first time.
            li.dates
                .iter()
                .map(|(_, iso, pos)| {
                    iso.or_else(|| {
                        li.times
                            .iter()
                            .find(|(p, _)| p > pos)
                            .or(li.times.first())
                            .map(|(_, t)| *t)
                    })
                })
                .collect()
        };
        for ((dates, _, _), t) in li.dates.iter().zip(own) {
            for d in dates {
                slots.push(DatedSlot::with_time(*d, t));
            }
        }
    }
    Schedule { slots, free_times }
}

/// The time on the nearest time-only line after line `i` (up to three lines on, passing
/// other date-only lines), else just before it (up to two lines back).
fn nearby_time(info: &[LineInfo], i: usize) -> Option<TimeMention> {
    for li in info.iter().skip(i + 1).take(3) {
        match (li.dates.is_empty(), li.times.first()) {
            (true, Some((_, t))) => return Some(*t),
            (false, Some(_)) => break,
            _ => {}
        }
    }
    for li in info[..i].iter().rev().take(2) {
        match (li.dates.is_empty(), li.times.first()) {
            (true, Some((_, t))) => return Some(*t),
            (false, Some(_)) => break,
            _ => {}
        }
    }
    None
}

/// Artist texts from `by …` / `with …` phrases and labelled lines, in order, unique.
pub fn artist_texts(text: &PageText) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for l in &text.lines {
        let line = l.text.trim();
        if !ARTIST_WORDS.is_match(line) {
            continue;
        }
        let who = if let Some(c) = ARTIST_LABEL.captures(line) {
            c.name("who").map(|m| m.as_str().to_string())
        } else if line.chars().count() <= 100 || l.heading > 0 {
            BY_PHRASE
                .captures(line)
                .and_then(|c| c.name("who").map(|m| m.as_str().to_string()))
        } else {
            None
        };
        let Some(who) = who else { continue };
        let who = match WHO_END.find(&who) {
            Some(m) => &who[..m.start()],
            None => who.as_str(),
        };
        for name in NAME_SPLIT.split(who) {
            let name = name
                .trim()
                .trim_matches(|c: char| !c.is_alphanumeric() && c != '@' && c != '_' && c != '.');
            let name = name.trim_end_matches('.');
            let words: Vec<&str> = name.split_whitespace().collect();
            let Some(first) = words.first() else { continue };
            let looks_like_name = words.len() <= 4
                && (first.starts_with('@')
                    || words
                        .iter()
                        .all(|w| w.chars().next().is_some_and(|c| c.is_uppercase())))
                && !NOT_NAMES.contains(&first.to_lowercase().as_str());
            if looks_like_name && !out.iter().any(|o| o == name) {
                out.push(name.to_string());
            }
        }
    }
    out
}

/// Songs from labelled lines, with the line each came from.
pub fn songs(text: &PageText) -> Vec<(usize, String)> {
    let mut out: Vec<(usize, String)> = Vec::new();
    for (i, l) in text.lines.iter().enumerate() {
        let Some((raw, plural)) = song_in_line(&l.text) else {
            continue;
        };
        let parts: Vec<&str> = if plural {
            raw.split([',', '|', '/', '&']).collect()
        } else {
            vec![raw]
        };
        for p in parts {
            let s = clean_song(p);
            if !s.is_empty()
                && !UNDECIDED.is_match(&s)
                && !out.iter().any(|(_, o)| o.eq_ignore_ascii_case(&s))
            {
                out.push((i, s));
            }
        }
    }
    out
}

/// `Choreo 1 — “Kesariya”`, `Routine 2: Pal Pal`, `Choreography: “Kesariya”`: a
/// numbered choreography, or one whose title is quoted.
static CHOREO_LABEL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)^\W*(?:choreo(?:graphy)?|routine|piece)\s*(?:#?\d{1,2}\s*(?:[:\-–—|·]\s*)?(?P<song>.+)|[:\-–—|·]\s*(?P<quoted>["“”«].+))$"#)
        .expect("static regex")
});

/// A quoted title after a choreography cue: `choreography on “Kesariya”`, `dance to
/// "Pal Pal Dil Ke Paas"`.
static QUOTED_AFTER_CUE: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(
        r#"(?i)\b(?:choreo(?:graphy)?|routine|dance|song|track)\s+(?:on|to|for|of|set\s+to)\s+(?P<song>["“«][^"“”«»]{2,60}["”»])"#,
    )
});

/// A word every one of [`SONG_LABEL`], [`CHOREO_LABEL`] and [`QUOTED_AFTER_CUE`]
/// needs (same case folding): one search rules out most lines instead of three capture
/// searches.
static SONG_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)song|track|choreo|routine|piece|dance").expect("static regex")
});

/// The song a line names, and whether the label was plural (`Songs: A & B`).
fn song_in_line(line: &str) -> Option<(&str, bool)> {
    // On ASCII lines each pattern is asked only where its own pre-test allows (most
    // lines: none); other lines take the shared word search first.
    let (may_song, may_choreo, may_quoted) = if line.is_ascii() {
        (
            opens_with_any(line, SONG_LABEL_OPENERS),
            opens_with_any(line, CHOREO_LABEL_OPENERS),
            line.contains('"'),
        )
    } else if SONG_WORDS.is_match(line) {
        (true, true, true)
    } else {
        return None;
    };
    labelled_song(line, may_song, may_choreo, may_quoted)
}

/// The three song patterns in order, each asked only when its flag allows it.
fn labelled_song(
    line: &str,
    may_song: bool,
    may_choreo: bool,
    may_quoted: bool,
) -> Option<(&str, bool)> {
    if let Some(c) = may_song.then(|| SONG_LABEL.captures(line)).flatten() {
        let plural = c["label"].to_lowercase().ends_with('s');
        let value = c.name("song")?.as_str().trim();
        if !reads_as_prose(value) {
            return Some((quoted_head(value), plural));
        }
    }
    if let Some(c) = may_choreo.then(|| CHOREO_LABEL.captures(line)).flatten() {
        let m = c.name("song").or_else(|| c.name("quoted"))?;
        return Some((quoted_head(m.as_str().trim()), false));
    }
    if !may_quoted {
        return None;
    }
    QUOTED_AFTER_CUE
        .captures(line)
        .and_then(|c| c.name("song"))
        .map(|m| (m.as_str(), false))
}

/// Words a sentence about the songs opens with, never a title written after a label.
const PROSE_OPENERS: &[&str] = &[
    "a",
    "an",
    "the",
    "some",
    "any",
    "our",
    "your",
    "their",
    "mix",
    "mixed",
    "various",
    "different",
    "multiple",
    "several",
    "popular",
    "current",
    "latest",
    "trending",
    "surprise",
    "chosen",
    "picked",
    "selected",
    "decided",
    "will",
    "to",
    "based",
    "from",
    "depends",
    "one",
    "two",
    "three",
];

/// True when what follows a `Song(s):` label is a sentence about the songs, not their
/// titles (`Songs: a mix of current favourites, picked with the kids on day 1`): it is
/// not quoted, opens with a lower-case word, and that word opens sentences
/// ([`PROSE_OPENERS`]) or the value runs past eight words. A title written in lower
/// case (`Song: kesariya`) is still a title.
fn reads_as_prose(value: &str) -> bool {
    let Some(first) = value.split_whitespace().next() else {
        return false;
    };
    if !first.starts_with(|c: char| c.is_lowercase()) {
        return false;
    }
    let word = first
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    PROSE_OPENERS.contains(&word.as_str()) || value.split_whitespace().count() > 8
}

/// A title opening with a quote is only what the quotes hold (`“Kesariya” · 4–6 PM`).
fn quoted_head(s: &str) -> &str {
    let Some(open) = s
        .chars()
        .next()
        .filter(|c| matches!(c, '"' | '“' | '”' | '«'))
    else {
        return s;
    };
    let rest = &s[open.len_utf8()..];
    match rest.find(['"', '“', '”', '»']) {
        Some(end) if end > 0 => &rest[..end],
        _ => s,
    }
}

/// A song as written, without surrounding quotes or trailing separators.
pub fn clean_song(s: &str) -> String {
    let quotes: &[char] = &['"', '\'', '“', '”', '‘', '’', '«', '»', '`'];
    s.trim()
        .trim_matches(quotes)
        .trim()
        .trim_end_matches([',', ';', '|', '-', '–'])
        .trim()
        .trim_matches(quotes)
        .trim()
        .to_string()
}

/// A presenter line (`TMN PRESENTS`, `Twin Steps presents`): who puts the event on,
/// neither its title nor its artist.
static PRESENTER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\W*(?:[\p{L}\p{N}.&'’ -]{0,60}\s)?(?:presents?|proudly\s+presents|in\s+association\s+with)\W*$")
        .expect("static regex")
});

/// Words every [`PRESENTER`] match holds, with its case folding: its bounded run of
/// Unicode letters makes the lazy DFA build many states per line, so the cheap search
/// for the words goes first and most headings never reach it.
static PRESENTER_WORDS: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)present|association").expect("static regex"));

/// True for a presenter line (see [`PRESENTER`]).
pub fn is_presenter_line(line: &str) -> bool {
    let line = line.trim();
    PRESENTER_WORDS.is_match(line) && PRESENTER.is_match(line)
}

/// The first heading of level 1 (else 2) that is not a presenter line.
pub fn heading_title(text: &PageText) -> Option<String> {
    [1u8, 2]
        .iter()
        .find_map(|lvl| {
            text.lines
                .iter()
                .find(|l| l.heading == *lvl && !is_presenter_line(&l.text))
        })
        .map(|l| l.text.trim().to_string())
}

/// Runs the text layer over one scope's lines. `title_tag` is the page's `<title>`.
pub fn layer(
    text: &PageText,
    today: NaiveDate,
    title_tag: Option<&str>,
    scope: &str,
) -> LayerFields {
    let lines = line_texts(text);
    let dated = lines_with_time_attributes(text);
    let dated_refs: Vec<&str> = dated.iter().map(|l| &**l).collect();
    let sched = schedule(&dated_refs, today);
    let prices = price::prices_in_lines(lines.iter().copied());
    let found_songs = songs(text);
    let song_parts = song_parts(&lines, &found_songs, today);
    let title = heading_title(text)
        .and_then(|t| non_blank(&t, format!("first heading in {scope}")))
        .or_else(|| title_tag.and_then(|t| non_blank(t, "<title>")));
    LayerFields {
        title,
        description: non_blank(&text.joined(), format!("visible text of {scope}")),
        artists: non_empty(artist_texts(text), format!("by/with phrases in {scope}")),
        songs: non_empty(
            found_songs.into_iter().map(|(_, s)| s).collect(),
            format!("`Song:` lines in {scope}"),
        ),
        slots: non_empty(sched.slots, format!("dates in {scope}")),
        times: non_empty(sched.free_times, format!("times in {scope}")),
        prices: non_empty(prices, format!("prices in {scope}")),
        event_type: None,
        song_parts,
    }
}

static WEEKDAY_WORD: LazyLock<WordRegex> = LazyLock::new(|| {
    // Not `\b` at the end: glued text (`SAT5-6:30PM`) still names a weekday.
    WordRegex::new(
        r"(?i)\b(mon|tue|wed|thu|fri|sat|sun)(?:day|s|nesday|rsday|urday|sday|\.)?(?:[^a-z]|$)",
    )
});

/// Visible words saying that the date is not decided yet.
static UNDECIDED: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(
        r"(?i)\b(?:tbd|tba|tbc|to\s+be\s+(?:announced|decided|confirmed)|coming\s+soon|date\s+soon)\b",
    )
});

/// True when the visible text names a weekday and none is `date`'s.
fn weekday_contradicts(line: &str, date: NaiveDate) -> bool {
    let named: Vec<String> = WEEKDAY_WORD
        .captures_iter(line)
        .map(|c| c[1].to_ascii_lowercase())
        .collect();
    let own = date.format("%a").to_string().to_ascii_lowercase();
    !named.is_empty() && !named.contains(&own)
}

/// The lines, with what a `<time datetime>` element adds when its visible text agrees
/// with it. Markup is a placeholder as often as a fact (`<time datetime="2016-01-25">`
/// around "JAN 28", or around "SAT 5-6:30PM" on a Monday), so the visible text wins:
/// * the line names no date and no other weekday: the `datetime` is appended (a
///   `<time datetime="2026-06-21T18:00">Sat</time>` gives its date);
/// * the line names its own date without a year or weekday, next to the `datetime`'s
///   month: only the `datetime`'s year is added to it;
/// * otherwise (another weekday, another date, "TBD") the `datetime` adds nothing.
pub fn lines_with_time_attributes(text: &PageText) -> Vec<std::borrow::Cow<'_, str>> {
    // Most lines carry no `<time>`: they are lent, not copied.
    let mut out: Vec<std::borrow::Cow<'_, str>> = text
        .lines
        .iter()
        .map(|l| std::borrow::Cow::Borrowed(l.text.as_str()))
        .collect();
    for (i, dt) in &text.time_attrs {
        let Some(line) = out.get_mut(*i) else {
            continue;
        };
        let iso = date::find_dates(dt);
        let [mention] = iso.as_slice() else {
            continue;
        };
        if mention.span.start != 0 {
            continue;
        }
        let Some(attr_date) = date::resolve_mention(mention, &Default::default(), NaiveDate::MIN)
            .first()
            .copied()
        else {
            continue;
        };
        let own = date::find_dates(line);
        if own.is_empty() {
            if !weekday_contradicts(line, attr_date) && !UNDECIDED.is_match(line) {
                let line = line.to_mut();
                line.push(' ');
                line.push_str(&dt[mention.span.clone()]);
            }
            continue;
        }
        // A lone yearless date ending the line, in the datetime's month or next to it,
        // with no weekday (a weekday pins the year by itself).
        use chrono::Datelike;
        if WEEKDAY_WORD.is_match(line) {
            continue;
        }
        if let [m] = own.as_slice() {
            let near = m.items.iter().all(|it| match it {
                date::DateItem::Single(p) | date::DateItem::Range(p, _) => {
                    p.year.is_none() && (p.month as i32 - attr_date.month() as i32).abs() <= 1
                }
            });
            if near && m.span.end == line.trim_end().len() {
                let line = line.to_mut();
                line.truncate(m.span.end);
                line.push_str(&format!(" {}", attr_date.year()));
            }
        }
    }
    out
}

/// Per-song parts when songs sit on different lines.
fn song_parts(lines: &[&str], songs: &[(usize, String)], today: NaiveDate) -> Vec<SongPart> {
    if songs.len() < 2 {
        return Vec::new();
    }
    let mut starts: Vec<usize> = songs.iter().map(|(i, _)| *i).collect();
    starts.dedup();
    if starts.len() != songs.len() {
        return Vec::new();
    }
    songs
        .iter()
        .enumerate()
        .map(|(k, (start, song))| {
            let end = songs.get(k + 1).map_or(lines.len(), |(i, _)| *i);
            let part = &lines[*start..end];
            let sched = schedule(part, today);
            SongPart {
                song: song.clone(),
                slots: sched.slots,
                times: sched.free_times,
                prices: price::prices_in_lines(part.iter().copied()),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::html::Line;
    use chrono::NaiveTime;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }
    fn today() -> NaiveDate {
        d(2026, 6, 1)
    }
    fn sched(text: &str) -> Schedule {
        let lines: Vec<&str> = text.lines().collect();
        schedule(&lines, today())
    }
    fn slot(date: NaiveDate, s: (u32, u32), e: Option<(u32, u32)>) -> DatedSlot {
        DatedSlot {
            date,
            start: Some(t(s.0, s.1)),
            end: e.map(|(h, m)| t(h, m)),
        }
    }
    fn page(lines: &[(&str, u8)]) -> PageText {
        PageText {
            lines: lines
                .iter()
                .map(|(t, h)| Line {
                    text: t.to_string(),
                    heading: *h,
                })
                .collect(),
            ..PageText::default()
        }
    }

    #[test]
    fn date_and_time_on_one_line() {
        assert_eq!(
            sched("Sat, 21st June | 6 PM - 8 PM").slots,
            vec![slot(d(2026, 6, 21), (18, 0), Some((20, 0)))]
        );
    }

    #[test]
    fn time_on_the_next_line() {
        assert_eq!(
            sched("Date: 21st June 2026\nTime: 6:00pm–8:00pm").slots,
            vec![slot(d(2026, 6, 21), (18, 0), Some((20, 0)))]
        );
    }

    #[test]
    fn several_date_lines_share_a_following_time() {
        assert_eq!(
            sched("Sat 21 June\nSun 22 June\n6-8 PM").slots,
            vec![
                slot(d(2026, 6, 21), (18, 0), Some((20, 0))),
                slot(d(2026, 6, 22), (18, 0), Some((20, 0)))
            ]
        );
    }

    #[test]
    fn each_date_keeps_its_own_time() {
        assert_eq!(
            sched("21 June 6-8 PM, 28 June 5-7 PM").slots,
            vec![
                slot(d(2026, 6, 21), (18, 0), Some((20, 0))),
                slot(d(2026, 6, 28), (17, 0), Some((19, 0)))
            ]
        );
    }

    #[test]
    fn one_range_for_a_list_of_dates() {
        assert_eq!(
            sched("June 21 & 28, 6:30-8:30 PM").slots,
            vec![
                slot(d(2026, 6, 21), (18, 30), Some((20, 30))),
                slot(d(2026, 6, 28), (18, 30), Some((20, 30)))
            ]
        );
    }

    #[test]
    fn time_before_the_dates() {
        let s = sched("Beginners at 7 pm on:\nApril 10th\nApril 17th");
        assert_eq!(s.slots[0], slot(d(2027, 4, 10), (19, 0), None));
        assert_eq!(s.slots[1], slot(d(2027, 4, 17), (19, 0), None));
    }

    #[test]
    fn registration_deadlines_are_not_sessions() {
        let s = sched("Workshop on 21st June, 6-8 PM. Register by 15th June!\nLast date to register: 18 June\nEarly bird till 10th June");
        assert_eq!(s.slots, vec![slot(d(2026, 6, 21), (18, 0), Some((20, 0)))]);
    }

    #[test]
    fn open_registrations_do_not_hide_the_date() {
        let s = sched("Registrations are open for our workshop on 21 June, 6 PM\nRegistration opens on 10 June");
        assert_eq!(s.slots, vec![slot(d(2026, 6, 21), (18, 0), None)]);
    }

    #[test]
    fn publication_and_refund_dates_are_not_sessions() {
        let s =
            sched("Posted on June 2, 2026\nNo refunds after 15 June\nClass: 21 June 2026 at 7 PM");
        assert_eq!(s.slots, vec![slot(d(2026, 6, 21), (19, 0), None)]);
    }

    #[test]
    fn deadline_label_on_previous_line() {
        let s = sched("Registration deadline:\n19 June 2026\nWorkshop: 21 June 2026, 6 PM");
        assert_eq!(s.slots, vec![slot(d(2026, 6, 21), (18, 0), None)]);
    }

    #[test]
    fn early_bird_table_rows_are_not_sessions() {
        let s = sched("Early Bird | December 21st | 850/-");
        assert!(s.slots.is_empty());
    }

    #[test]
    fn dates_under_a_deadline_column_are_not_sessions() {
        let s = sched("| Registration End Date | Juniors\nEarly Bird | December 21st | $25\nRegular | January 22nd | $30");
        assert!(s.slots.is_empty());
    }

    #[test]
    fn dates_under_other_columns_are_sessions() {
        let s = sched("Batch | Date | Fee\nA | 21 June 2026 | 850/-");
        assert_eq!(s.slots, vec![DatedSlot::date_only(d(2026, 6, 21))]);
    }

    #[test]
    fn month_year_headings_give_their_year_to_the_dates_below() {
        let s = sched("January 2025\nPies & Quiche\nDate Sat, Jan 11\nTime 10:00 am to 1:00 pm\nFebruary 2025\nBreads\nDate Sat, Feb 1\nTime 9:00 am\nMarch 3");
        let dates: Vec<NaiveDate> = s.slots.iter().map(|x| x.date).collect();
        // 3 March sits under the February heading: not its month, so the usual rule.
        assert_eq!(dates, vec![d(2025, 1, 11), d(2025, 2, 1), d(2027, 3, 3)]);
        assert_eq!(s.slots[0].start, Some(t(10, 0)));
    }

    #[test]
    fn a_month_and_year_stated_elsewhere_give_a_yearless_date_its_year() {
        let s = sched("Through February 2026, the north entrance is closed.\nFebruary 14, 7:00 p.m. - 10:00 p.m.");
        assert_eq!(s.slots, vec![slot(d(2026, 2, 14), (19, 0), Some((22, 0)))]);
        // Two years stated for the month: no guess, the next occurrence.
        let s = sched("February 2025 and February 2026 recaps\nFebruary 14, 7 PM");
        assert_eq!(s.slots[0].date, d(2027, 2, 14));
        // A copyright line lends nothing.
        let s = sched("Salsa social on March 3, 7 PM\n\n\n© March 2019 Studio");
        assert_eq!(s.slots[0].date, d(2027, 3, 3));
    }

    #[test]
    fn closure_notices_are_not_sessions() {
        assert!(sched(
            "We stay closed from Friday, 2nd October to Sunday, 4th October.\nClasses resume on Monday, 5th October."
        )
        .slots
        .is_empty());
        assert!(sched("No classes on 15th August, 6 PM batch included")
            .slots
            .is_empty());
        // A closed registration does not hide the event's own date.
        let s = sched("Registrations closed. Workshop on 21st June, 6 PM");
        assert_eq!(s.slots, vec![slot(d(2026, 6, 21), (18, 0), None)]);
    }

    #[test]
    fn one_date_with_batches_gives_a_session_per_batch() {
        let s = sched("Sun 12 July\nBatch 1: 5-7 PM, Batch 2: 7:30-9:30 PM");
        assert_eq!(
            s.slots,
            vec![
                slot(d(2026, 7, 12), (17, 0), Some((19, 0))),
                slot(d(2026, 7, 12), (19, 30), Some((21, 30)))
            ]
        );
        let s = sched("Sun 12 July | 11 AM - 1 PM | 4 - 6 PM");
        assert_eq!(s.slots.len(), 2);
        // A start and a later note are not batches; nor are words other than labels.
        let s = sched("Sun 12 July\n6 PM - 8 PM, dinner 8:30 - 10 PM");
        assert_eq!(s.slots, vec![slot(d(2026, 7, 12), (18, 0), Some((20, 0)))]);
        // Overlapping ranges are not batches.
        let s = sched("Sun 12 July\n5 - 8 PM\n6 - 7 PM");
        assert_eq!(s.slots.len(), 1);
    }

    #[test]
    fn a_songs_label_followed_by_a_sentence_names_no_song() {
        let p = page(&[
            ("Songs: a few current hits, chosen with the class", 0),
            ("Song: kala chashma", 0),
        ]);
        assert_eq!(songs(&p), vec![(1, "kala chashma".to_string())]);
    }

    #[test]
    fn founding_dates_are_not_sessions() {
        assert!(sched(
            "The studio was founded on 14 Feb 2016 by two friends.\nEstablished 3rd March 2012"
        )
        .slots
        .is_empty());
    }

    #[test]
    fn exhibition_runs_are_not_sessions() {
        assert!(sched("On view March 28 - September 6, 2026")
            .slots
            .is_empty());
    }

    #[test]
    fn reporting_time_is_not_the_start() {
        let s = sched("2nd March 2013, report at 9:30 am, 10 AM onwards");
        assert_eq!(s.slots, vec![slot(d(2013, 3, 2), (10, 0), None)]);
    }

    #[test]
    fn free_times_are_collected() {
        let s = sched("Venue: Club House\n1pm to 3 pm on all the 3 days\n1st to 3rd March 2013");
        assert_eq!(
            s.free_times,
            vec![TimeMention {
                start: t(13, 0),
                end: Some(t(15, 0))
            }]
        );
        assert_eq!(s.slots.len(), 3);
        assert_eq!(s.slots[0].start, Some(t(13, 0)));
    }

    #[test]
    fn date_without_any_time() {
        let s = sched("Mark the date 25th September 2011 in your calendar");
        assert_eq!(s.slots, vec![DatedSlot::date_only(d(2011, 9, 25))]);
    }

    #[test]
    fn date_numbers_are_not_read_as_times() {
        let s = sched("June 21-22");
        assert!(s.free_times.is_empty());
        assert!(s.slots.iter().all(|x| x.start.is_none()));
    }

    #[test]
    fn artists_from_by_phrases_and_labels() {
        let p = page(&[
            ("Bollywood Workshop by Rajesh Kumar", 1),
            ("Come dance with us this weekend", 0),
            ("Choreographer: Vipul Devrani & @aadil.khan", 0),
            ("Learn with Asha X Meera on Saturday", 0),
        ]);
        assert_eq!(
            artist_texts(&p),
            vec![
                "Rajesh Kumar",
                "Vipul Devrani",
                "@aadil.khan",
                "Asha",
                "Meera"
            ]
        );
    }

    #[test]
    fn lowercase_words_after_with_are_not_artists() {
        let p = page(&[
            ("Dance with your friends", 0),
            ("with passion and energy", 0),
        ]);
        assert!(artist_texts(&p).is_empty());
    }

    #[test]
    fn songs_from_labelled_lines() {
        let p = page(&[
            ("Song 1: Hauli Slowly", 0),
            ("Song 2 - “Ninnindale”", 0),
            ("Songs: Tum Hi Ho & Kesariya", 0),
            ("song: hauli slowly", 0),
        ]);
        let s: Vec<String> = songs(&p).into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            s,
            vec!["Hauli Slowly", "Ninnindale", "Tum Hi Ho", "Kesariya"]
        );
    }

    #[test]
    fn songs_in_the_forms_studios_use() {
        let p = page(&[
            ("Choreo 1 — “Kesariya” · 4–6 PM", 3),
            ("Choreo 2 - \"Pal Pal Dil Ke Paas\"", 3),
            ("Routine #3: Tum Hi Ho", 0),
            ("Track: Dil Se Re", 0),
            ("Learn the choreography on “Ghoomar” this weekend", 0),
            ("Song TBA", 0),
            ("Choreography: Vipul Devrani", 0),
        ]);
        let s: Vec<String> = songs(&p).into_iter().map(|(_, s)| s).collect();
        assert_eq!(
            s,
            vec![
                "Kesariya",
                "Pal Pal Dil Ke Paas",
                "Tum Hi Ho",
                "Dil Se Re",
                "Ghoomar"
            ]
        );
    }

    /// `song_in_line` as it was before its ASCII pre-tests: one shared word search, then
    /// every pattern asked.
    fn song_in_line_without_pretests(line: &str) -> Option<(&str, bool)> {
        if !SONG_WORDS.is_match(line) {
            return None;
        }
        labelled_song(line, true, true, true)
    }

    #[test]
    fn the_song_pretests_refuse_no_line_the_patterns_read() {
        let mut lines: Vec<String> = [
            "Song: Kesariya",
            "  -- SONGS #2 name: A, B & C",
            "** track is Dil Se Re",
            "Tracks - A, B",
            "Tracks – Pal Pal",
            "Choreo 1 — “Kesariya” · 4–6 PM",
            "(choreography): \"Ghoomar\"",
            "Routine #3: Tum Hi Ho",
            "piece 2 - Tum Hi Ho",
            "Learn the choreography on \"Ghoomar\" this weekend",
            "dance to \"Pal Pal Dil Ke Paas\" with us",
            "A DANCE SET TO \"Kun Faya Kun\"",
            "We dance to “Kun Faya Kun”",
            "The song is a surprise",
            "song",
            "1. Song - Naatu Naatu",
            "Our songs: a mix of current favourites",
            "Choreographer: Vipul Devrani",
            "Workshop by Rajesh · ₹ 850",
            "ſong: long s", // `(?i)s` matches the long s: not an ASCII line
            "TRAC\u{212a}: Kelvin",
            "",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        // Every visible line of every fixture page, too.
        let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
        for studio in std::fs::read_dir(&fixtures).unwrap().flatten() {
            if !studio.path().is_dir() {
                continue;
            }
            for f in std::fs::read_dir(studio.path()).unwrap().flatten() {
                if f.path().extension().is_some_and(|e| e == "html") {
                    let html = std::fs::read_to_string(f.path()).unwrap_or_default();
                    let doc = scraper::Html::parse_document(&html);
                    let text = crate::extract::html::visible_text(&doc, None);
                    lines.extend(text.lines.into_iter().map(|l| l.text));
                }
            }
        }
        assert!(lines.len() > 500, "fixture lines read: {}", lines.len());
        let mut found = 0;
        for line in &lines {
            let want = song_in_line_without_pretests(line);
            found += usize::from(want.is_some());
            assert_eq!(song_in_line(line), want, "{line:?}");
        }
        assert!(found >= 10, "lines naming a song: {found}");
    }

    #[test]
    fn song_parts_split_sessions_and_prices() {
        let lines = [
            "Workshop by Rajesh",
            "Song: Hauli Slowly",
            "21 June, 6-8 PM",
            "₹ 850",
            "Song: Ninnindale",
            "22 June, 5-7 PM",
            "₹ 950",
        ];
        let p = page(&lines.iter().map(|l| (*l, 0u8)).collect::<Vec<_>>());
        let found = songs(&p);
        let parts = song_parts(&lines, &found, today());
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].song, "Hauli Slowly");
        assert_eq!(
            parts[0].slots,
            vec![slot(d(2026, 6, 21), (18, 0), Some((20, 0)))]
        );
        assert_eq!(parts[1].prices[0].amount, 950);
    }

    #[test]
    fn time_element_attribute_supplies_a_missing_date() {
        let mut p = page(&[("When: Saturday", 0), ("6-8 PM", 0), ("Sun 22 June", 0)]);
        p.time_attrs = vec![
            (0, "2026-06-27T18:00:00+05:30".into()),
            (2, "2026-06-23".into()),
        ];
        let lines = lines_with_time_attributes(&p);
        assert_eq!(lines[0], "When: Saturday 2026-06-27T18:00:00+05:30");
        assert_eq!(lines[2], "Sun 22 June", "a line with its own date keeps it");
        let f = layer(&p, today(), None, "page");
        let slots = f.slots.unwrap().value;
        assert_eq!(slots[0], slot(d(2026, 6, 27), (18, 0), None));
    }

    #[test]
    fn a_time_element_contradicting_its_text_adds_no_session() {
        // A template's placeholder datetime (a Monday) around "SAT 5-6:30PM", and around
        // a visible "JAN 28": the visible text wins; the placeholder only lends its year.
        let mut p = page(&[
            ("For Beginners", 2),
            ("JAN 28", 0),
            ("SAT 5-6:30PM", 0),
            ("SAT5-6:30PM", 0),
        ]);
        p.time_attrs = vec![
            (1, "2016-01-25".into()),
            (2, "2016-01-25".into()),
            (3, "2016-01-25".into()),
        ];
        let lines = lines_with_time_attributes(&p);
        assert_eq!(lines[1], "JAN 28 2016");
        assert_eq!(lines[2], "SAT 5-6:30PM");
        assert_eq!(lines[3], "SAT5-6:30PM", "glued text still names a weekday");
        let mut q = page(&[("TBD", 0)]);
        q.time_attrs = vec![(0, "2016-01-25".into())];
        assert_eq!(lines_with_time_attributes(&q)[0], "TBD");
        p.lines.pop();
        p.time_attrs.pop();
        let f = layer(&p, today(), None, "page");
        let slots = f.slots.unwrap().value;
        assert_eq!(slots, vec![slot(d(2016, 1, 28), (17, 0), Some((18, 30)))]);
    }

    #[test]
    fn any_prefix_of_unicode_text_is_handled_without_panic() {
        let text = "🔥 Sáb, 21st Júne — ₹ 1,200/- • 6:00P.M.–8.00P.M. @vïpul • 21/06/2026 · Rs.950 ⎮ 2026-06-21T18:00:00+05:30 ✨";
        for (i, _) in text.char_indices() {
            for piece in [&text[..i], &text[i..]] {
                let _ = schedule(&[piece, piece], today());
                let _ = price::prices_in_line(piece);
                let _ = artist_texts(&page(&[(piece, 1)]));
            }
        }
    }

    #[test]
    fn a_presenter_line_is_not_the_title() {
        let p = page(&[("TMN PRESENTS", 1), ("Kesariya Workshop", 2)]);
        assert_eq!(heading_title(&p).as_deref(), Some("Kesariya Workshop"));
        assert!(is_presenter_line("Twin Steps proudly presents"));
        assert!(!is_presenter_line("Presenting partner: Acme"));
        assert!(!is_presenter_line("Kesariya Workshop"));
    }

    #[test]
    fn title_is_first_h1() {
        let p = page(&[("intro", 0), ("Second", 2), ("Main Title", 1)]);
        assert_eq!(heading_title(&p).as_deref(), Some("Main Title"));
        let q = page(&[("intro", 0), ("Second", 2)]);
        assert_eq!(heading_title(&q).as_deref(), Some("Second"));
    }

    #[test]
    fn layer_reports_fields_and_provenance() {
        let p = page(&[
            ("Rajesh Workshop", 1),
            ("Sat, 21st June | 6 PM - 8 PM", 0),
            ("First 15: 850/-", 0),
        ]);
        let f = layer(&p, today(), Some("Tab title"), "page");
        assert_eq!(f.title.unwrap().value, "Rajesh Workshop");
        assert_eq!(f.slots.unwrap().detail, "dates in page");
        assert_eq!(f.prices.unwrap().value[0].render(), "First 15: 850/-");
    }
}
