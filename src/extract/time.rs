//! Finding clock times in free text.
//!
//! Ranges: `6 PM - 8 PM`, `6:00pm–8:00pm`, `18:00-20:00`, `5:00P.M. - 8.00P.M.`,
//! `1pm to 3 pm`, `6-8 PM` (the end's meridiem shared by the start), `11-1 PM` (start in
//! the morning). Single starts: `7:30 PM`, `10 AM onwards`, `19:00`, `12 noon`.
//!
//! A number is a time only with a meridiem (`am`, `p.m.`, `noon`) or in `HH:MM` form, so
//! prices, phone numbers, team sizes and durations are never times.

use super::fastre::WordRegex;
use chrono::NaiveTime;
use regex::Regex;
use std::ops::Range;
use std::sync::LazyLock;

/// A time or time range found in text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeMention {
    pub start: NaiveTime,
    pub end: Option<NaiveTime>,
}

/// A mention with its byte span in the searched text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeFound {
    pub span: Range<usize>,
    pub time: TimeMention,
}

const CLOCK: &str = r"(?P<h{n}>\d{1,2})(?:(?P<sep{n}>[:.])(?P<m{n}>[0-5]\d)(?::[0-5]\d)?)?\s*(?:(?P<mer{n}>[ap]\.?\s?m\.?)|(?P<noon{n}>noon|midnight)|(?P<hrs{n}>hrs|hours|h(?-u:\b)))?";

static RANGE: LazyLock<Regex> = LazyLock::new(|| {
    let a = CLOCK.replace("{n}", "1");
    let b = CLOCK.replace("{n}", "2");
    Regex::new(&format!(
        r"(?i)(?-u:\b){a}\s*(?:-|–|—|~|(?-u:\b)to(?-u:\b)|(?-u:\b)till(?-u:\b)|(?-u:\b)until(?-u:\b))\s*{b}"
    ))
    .expect("static regex")
});

static SINGLE: LazyLock<Regex> = LazyLock::new(|| {
    let a = CLOCK.replace("{n}", "1");
    Regex::new(&format!(r"(?i)(?-u:\b){a}")).expect("static regex")
});

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Meridiem {
    Am,
    Pm,
    Noon,
    Midnight,
}

#[derive(Debug, Clone, Copy)]
struct Clock {
    hour: u32,
    minute: u32,
    has_minutes: bool,
    /// `:` separated minutes (a `.` alone is too ambiguous without a meridiem).
    colon: bool,
    meridiem: Option<Meridiem>,
    hrs: bool,
}

/// The capture group names of [`CLOCK`] for its copy `n` (`"1"` or `"2"`): hour,
/// minutes, separator, meridiem, noon/midnight, hours-suffix.
fn clock_groups(n: &str) -> [&'static str; 6] {
    match n {
        "1" => ["h1", "m1", "sep1", "mer1", "noon1", "hrs1"],
        "2" => ["h2", "m2", "sep2", "mer2", "noon2", "hrs2"],
        other => unreachable!("CLOCK is only instantiated as 1 and 2, not {other}"),
    }
}

fn clock(c: &regex::Captures<'_>, n: &str) -> Option<Clock> {
    let [h, m, sep, mer, noon, hrs] = clock_groups(n);
    let hour: u32 = c.name(h)?.as_str().parse().ok()?;
    let minutes = c.name(m);
    let minute: u32 = minutes.map_or(Some(0), |m| m.as_str().parse().ok())?;
    let meridiem = if let Some(m) = c.name(mer) {
        Some(if m.as_str().starts_with(['a', 'A']) {
            Meridiem::Am
        } else {
            Meridiem::Pm
        })
    } else {
        c.name(noon).map(|m| {
            if m.as_str().eq_ignore_ascii_case("noon") {
                Meridiem::Noon
            } else {
                Meridiem::Midnight
            }
        })
    };
    Some(Clock {
        hour,
        minute,
        has_minutes: minutes.is_some(),
        colon: c.name(sep).is_some_and(|s| s.as_str() == ":"),
        meridiem,
        hrs: c.name(hrs).is_some(),
    })
}

fn to_time(hour: u32, minute: u32, meridiem: Option<Meridiem>) -> Option<NaiveTime> {
    let h24 = match meridiem {
        Some(Meridiem::Am) if (1..=12).contains(&hour) => hour % 12,
        Some(Meridiem::Pm) if (1..=12).contains(&hour) => hour % 12 + 12,
        Some(Meridiem::Noon) if hour == 12 => 12,
        Some(Meridiem::Midnight) if hour == 12 => 0,
        Some(_) => return None,
        None if hour <= 23 => hour,
        None => return None,
    };
    NaiveTime::from_hms_opt(h24, minute, 0)
}

/// A clock reading that stands on its own: with a meridiem, or `HH:MM` (24-hour).
fn standalone(c: &Clock) -> Option<NaiveTime> {
    if c.meridiem.is_some() {
        return to_time(c.hour, c.minute, c.meridiem);
    }
    if c.has_minutes && (c.colon || c.hrs) {
        return to_time(c.hour, c.minute, None);
    }
    None
}

/// True when a meridiem-like match is really the start of a word (`5 amazing`).
fn meridiem_runs_into_word(text: &str, end: usize) -> bool {
    text[end..]
        .chars()
        .next()
        .is_some_and(|ch| ch.is_alphanumeric())
        && !text[..end].ends_with('.')
}

fn range_at(c: &regex::Captures<'_>) -> Option<TimeMention> {
    let a = clock(c, "1")?;
    let b = clock(c, "2")?;
    let end = standalone(&b)?;
    let start = match a.meridiem {
        Some(_) => to_time(a.hour, a.minute, a.meridiem)?,
        None if b.meridiem.is_some() => {
            // `6-8 PM`: the start shares the end's meridiem, unless that would put it
            // after the end (`11-1 PM` starts at 11 AM).
            // Before `12 noon` the start is in the morning, before `12 midnight` in
            // the evening.
            let mer = match b.meridiem {
                Some(Meridiem::Noon) => Some(Meridiem::Am),
                Some(Meridiem::Midnight) => Some(Meridiem::Pm),
                other => other,
            };
            let shared = to_time(a.hour, a.minute, mer)?;
            if shared > end {
                to_time(a.hour, a.minute, Some(Meridiem::Am))?
            } else {
                shared
            }
        }
        None if a.has_minutes && a.colon => to_time(a.hour, a.minute, None)?,
        None => return None,
    };
    Some(TimeMention {
        start,
        end: Some(end),
    })
}

/// `noon` / `midday` written as a word, alone or starting a range (`noon to 2 PM`).
static NOON_WORD: LazyLock<WordRegex> = LazyLock::new(|| {
    let b = CLOCK.replace("{n}", "2");
    WordRegex::new(&format!(
        r"(?i)\b(?:noon|midday)\b(?:\s*(?:-|–|—|~|\bto\b|\btill\b|\buntil\b)\s*{b})?"
    ))
});

/// The word `noon` (12:00 PM), alone or starting a range.
fn noon_words(text: &str) -> Vec<TimeFound> {
    // Asked of every visible line: the regex (Unicode word boundaries, slow on any line
    // with `₹` or `é`) only runs where one of its words is. No letter of either word has
    // a case-folding partner outside ASCII, so the ASCII test misses no match.
    let bytes = text.as_bytes();
    let has = |word: &[u8]| {
        memchr::memchr2_iter(word[0], word[0].to_ascii_uppercase(), bytes).any(|at| {
            bytes
                .get(at..at + word.len())
                .is_some_and(|w| w.eq_ignore_ascii_case(word))
        })
    };
    if !has(b"noon") && !has(b"midday") {
        return Vec::new();
    }
    let noon = NaiveTime::from_hms_opt(12, 0, 0).expect("noon");
    NOON_WORD
        .captures_iter(text)
        .filter_map(|c| {
            let m = c.get(0)?;
            let end = clock(&c, "2")
                .and_then(|b| standalone(&b))
                .filter(|e| *e > noon);
            let span = if end.is_some() {
                m.range()
            } else {
                m.start()..m.start() + m.as_str().split_whitespace().next()?.len()
            };
            Some(TimeFound {
                span,
                time: TimeMention { start: noon, end },
            })
        })
        .collect()
}

/// Every time or time range in `text`, in text order. `noon` as a word is 12:00 PM
/// where no clock reading already covers it (`12 noon`, `10 to 12 noon`); `noon to
/// 2 PM` is one range (the `2 PM` inside it is not a time of its own).
pub fn find_times(text: &str) -> Vec<TimeFound> {
    // A line without a digit can only hold `noon`, found cheaply: only the others are
    // worth remembering.
    if !text.bytes().any(|b| b.is_ascii_digit()) {
        // On ASCII text without a digit no clock reading and no glued weekday (its
        // digit) can match: only the words are left to look for.
        if text.is_ascii() {
            return noon_words(text);
        }
        return find_times_uncached(text);
    }
    super::memo::times(text, || find_times_uncached(text))
}

fn find_times_uncached(text: &str) -> Vec<TimeFound> {
    let mut out = find_clock_times(text);
    let overlaps =
        |a: &TimeFound, b: &TimeFound| a.span.start < b.span.end && b.span.start < a.span.end;
    let mut added = glued_to_weekday(text, &mut out);
    for w in noon_words(text) {
        if w.time.end.is_some() {
            out.retain(|f| !(f.span.start >= w.span.start && f.span.end <= w.span.end));
        }
        if !out.iter().any(|f| overlaps(f, &w)) {
            out.push(w);
            added = true;
        }
    }
    if added {
        out.sort_by_key(|f| f.span.start);
    }
    out
}

/// A weekday glued to the time after it (`SAT5-6:30PM`, laid out as two words by
/// markup the text lost): the time starts at the digit.
static GLUED_WEEKDAY: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun)(?:day|nesday|rsday|urday|sday)?\d")
        .expect("static regex")
});

/// Adds the times that start glued to a weekday (see [`GLUED_WEEKDAY`]); true when one
/// was added.
fn glued_to_weekday(text: &str, out: &mut Vec<TimeFound>) -> bool {
    let mut added = false;
    // A match ends in a letter (ASCII, or `ſ` folding to `s`) glued to a digit: a line
    // without a letter byte before a digit or non-ASCII byte (most lines) has none.
    let glued = text.as_bytes().windows(2).any(|w| {
        (w[0].is_ascii_alphabetic() || w[0] >= 0x80) && (w[1].is_ascii_digit() || w[1] >= 0x80)
    });
    if !glued {
        return false;
    }
    for m in GLUED_WEEKDAY.find_iter(text) {
        let at = m.end() - 1;
        if out.iter().any(|f| f.span.start <= at && at < f.span.end) {
            continue;
        }
        if let Some(f) = find_clock_times(&text[at..])
            .into_iter()
            .next()
            .filter(|f| f.span.start == 0)
        {
            let span = at..at + f.span.end;
            // The range's end, read alone before, is part of it.
            out.retain(|o| !(o.span.start >= span.start && o.span.end <= span.end));
            out.push(TimeFound { span, time: f.time });
            added = true;
        }
    }
    added
}

/// True when `text` may hold a time [`find_clock_times`] keeps: every kept reading (a
/// single time, or a range's end) is [`standalone`], so it has `:` minutes, or its
/// ASCII hour digits are followed, past any whitespace and `.MM` minutes, by a
/// meridiem, `noon`/`midnight` or `h`/`hrs`/`hours`: a letter `a`, `p`, `n`, `m` or `h`
/// after a digit. Most dated lines (`21 June 2026`, `₹ 850`) have neither, and skipping
/// them saves the capture searches of every number on the line.
fn may_hold_clock_time(text: &str) -> bool {
    if text.contains(':') {
        return true;
    }
    let mut after_digit = false;
    for ch in text.chars() {
        if ch.is_ascii_digit() {
            after_digit = true;
        } else if after_digit && (ch.is_whitespace() || ch == '.') {
            // `7 pm`, `7.30 pm`, `7. pm`: still after the hour's digits.
        } else {
            if after_digit && matches!(ch.to_ascii_lowercase(), 'a' | 'p' | 'n' | 'm' | 'h') {
                return true;
            }
            after_digit = false;
        }
    }
    false
}

fn find_clock_times(text: &str) -> Vec<TimeFound> {
    let mut out: Vec<TimeFound> = Vec::new();
    // Every time has an ASCII digit (other scripts' digits never parse as hours).
    if !text.bytes().any(|b| b.is_ascii_digit()) || !may_hold_clock_time(text) {
        return out;
    }
    let mut pos = 0;
    // The leftmost match at or after `pos` stays the leftmost match at or after any
    // later `pos` up to its start, and no match stays no match: searching again only
    // when `pos` has passed the cached match keeps a line of many numbers (`1,1,1,…`)
    // linear instead of one search to the line's end per number.
    let mut range = RANGE.captures_at(text, 0);
    let mut single = SINGLE.captures_at(text, 0);
    while pos < text.len() {
        if range
            .as_ref()
            .is_some_and(|c| c.get(0).expect("match").start() < pos)
        {
            range = RANGE.captures_at(text, pos);
        }
        if single
            .as_ref()
            .is_some_and(|c| c.get(0).expect("match").start() < pos)
        {
            single = SINGLE.captures_at(text, pos);
        }
        let mut chosen: Option<TimeFound> = None;
        let mut next_pos = text.len();
        if let Some(c) = &range {
            let m = c.get(0).expect("match");
            if !meridiem_runs_into_word(text, m.end()) {
                if let Some(t) = range_at(c) {
                    chosen = Some(TimeFound {
                        span: m.range(),
                        time: t,
                    });
                }
            }
            next_pos = next_pos.min(m.start() + 1);
        }
        if let Some(c) = &single {
            let m = c.get(0).expect("match");
            let better = chosen.as_ref().is_none_or(|r| m.start() < r.span.start);
            if better && !meridiem_runs_into_word(text, m.end()) {
                if let Some(t) = clock(c, "1").as_ref().and_then(standalone) {
                    chosen = Some(TimeFound {
                        span: m.range(),
                        time: TimeMention {
                            start: t,
                            end: None,
                        },
                    });
                }
            }
            next_pos = next_pos.min(m.start() + 1);
        }
        match chosen {
            Some(found) => {
                // A single time immediately before the range's start is part of it only
                // when they start at the same place; otherwise keep the earlier one.
                pos = found.span.end;
                // Reject numbers glued to digits or decimals on the left (`1.5 pm`,
                // `12345 pm`).
                let before = text[..found.span.start].chars().next_back();
                if !matches!(before, Some(ch) if ch.is_ascii_digit() || ch == '.' || ch == ':' || ch == '/' || ch == '₹')
                {
                    out.push(found);
                }
            }
            None => {
                if range.is_none() && single.is_none() {
                    break;
                }
                pos = next_pos;
                while pos < text.len() && !text.is_char_boundary(pos) {
                    pos += 1;
                }
            }
        }
    }
    out
}

/// The first time (or range) in `text`.
pub fn first_time(text: &str) -> Option<TimeMention> {
    find_times(text).into_iter().next().map(|f| f.time)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workshop::format_12h;

    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    fn range(text: &str) -> (String, String) {
        let m = first_time(text).unwrap_or_else(|| panic!("no time in {text:?}"));
        (
            format_12h(m.start),
            m.end.map(format_12h).unwrap_or_default(),
        )
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_string(), b.to_string())
    }

    #[test]
    fn spaced_meridiem_range() {
        assert_eq!(range("6 PM - 8 PM"), pair("06:00 PM", "08:00 PM"));
    }

    #[test]
    fn minutes_and_en_dash() {
        assert_eq!(range("6:00pm–8:00pm"), pair("06:00 PM", "08:00 PM"));
        assert_eq!(range("6:30pm — 8:15pm"), pair("06:30 PM", "08:15 PM"));
    }

    #[test]
    fn twenty_four_hour_range() {
        assert_eq!(range("18:00-20:00"), pair("06:00 PM", "08:00 PM"));
        assert_eq!(range("09:30 - 11:00 hrs"), pair("09:30 AM", "11:00 AM"));
    }

    #[test]
    fn dotted_meridiem_and_dotted_minutes() {
        assert_eq!(
            range("during 5:00P.M. - 8.00P.M."),
            pair("05:00 PM", "08:00 PM")
        );
        assert_eq!(range("7.30 p.m. to 9 p.m."), pair("07:30 PM", "09:00 PM"));
    }

    #[test]
    fn word_to_separator() {
        assert_eq!(
            range("1pm to 3 pm on all the 3 days"),
            pair("01:00 PM", "03:00 PM")
        );
    }

    #[test]
    fn shared_meridiem() {
        assert_eq!(range("6-8 PM"), pair("06:00 PM", "08:00 PM"));
        assert_eq!(range("6:30-8 pm"), pair("06:30 PM", "08:00 PM"));
    }

    #[test]
    fn shared_meridiem_crossing_noon_starts_in_the_morning() {
        assert_eq!(range("11-1 PM"), pair("11:00 AM", "01:00 PM"));
        assert_eq!(range("10 - 12 PM"), pair("10:00 AM", "12:00 PM"));
    }

    #[test]
    fn morning_to_evening() {
        assert_eq!(range("8am - 5pm"), pair("08:00 AM", "05:00 PM"));
    }

    #[test]
    fn single_start_times() {
        assert_eq!(range("at 7:30 PM sharp"), pair("07:30 PM", ""));
        assert_eq!(range("10 AM onwards"), pair("10:00 AM", ""));
        assert_eq!(range("starts 19:00"), pair("07:00 PM", ""));
        assert_eq!(range("12 noon"), pair("12:00 PM", ""));
        assert_eq!(range("12 pm"), pair("12:00 PM", ""));
        assert_eq!(range("12:15 am"), pair("12:15 AM", ""));
    }

    #[test]
    fn noon_as_a_word_is_twelve_pm() {
        assert_eq!(range("May 25, 2024, noon"), pair("12:00 PM", ""));
        assert_eq!(range("Midday to 2 PM"), pair("12:00 PM", "02:00 PM"));
        assert_eq!(range("10:00 to 12:00 noon"), pair("10:00 AM", "12:00 PM"));
        assert!(find_times("every afternoon").is_empty());
    }

    #[test]
    fn several_mentions_in_order() {
        let found = find_times("Beginners 7 pm, advanced 8 pm; 6-8 PM");
        let starts: Vec<NaiveTime> = found.iter().map(|f| f.time.start).collect();
        assert_eq!(starts, vec![t(19, 0), t(20, 0), t(18, 0)]);
        assert_eq!(found[2].time.end, Some(t(20, 0)));
    }

    #[test]
    fn spans_are_reported() {
        let text = "Time: 6 PM - 8 PM IST";
        let f = find_times(text);
        assert_eq!(&text[f[0].span.clone()], "6 PM - 8 PM");
    }

    #[test]
    fn numbers_without_meridiem_or_colon_are_not_times() {
        assert!(find_times("Team size 5-12, 9 minutes, Rs. 850, 21 June").is_empty());
        assert!(find_times("Call 98450 21234").is_empty());
        assert!(find_times("1.5 hours of fun").is_empty());
        assert!(find_times("4/7 in the series").is_empty());
    }

    #[test]
    fn am_inside_a_word_is_not_a_meridiem() {
        assert!(find_times("5 amazing routines, 3 amigos").is_empty());
        assert!(find_times("2 pmt").is_empty());
    }

    #[test]
    fn impossible_clock_values_are_rejected() {
        assert!(find_times("13 pm").is_empty());
        assert!(find_times("25:00").is_empty());
        assert!(find_times("0 am").is_empty());
    }

    #[test]
    fn seconds_are_accepted_and_dropped() {
        assert_eq!(range("ends at 12:00:00"), pair("12:00 PM", ""));
    }

    #[test]
    fn prices_with_decimals_are_not_times() {
        assert!(find_times("₹ 850.00 per head").is_empty());
    }

    #[test]
    fn a_time_glued_to_its_weekday_is_read() {
        let f = find_times("SAT5-6:30PM");
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].span, 3..11);
        assert_eq!(f[0].time.start, t(17, 0));
        assert_eq!(f[0].time.end, Some(t(18, 30)));
        assert_eq!(find_times("Sunday10 AM")[0].time.start, t(10, 0));
        assert!(
            find_times("SAT5").is_empty(),
            "no time without a meridiem or colon"
        );
    }

    #[test]
    fn the_shortcut_for_ascii_lines_without_digits_finds_what_the_full_search_finds() {
        for line in [
            "Starts at noon sharp",
            "NOON to late evening, midday break",
            "Saturday afternoon with Zoya",
            "noonday sun; twelve noon",
            "",
        ] {
            assert_eq!(find_times(line), find_times_uncached(line), "{line:?}");
        }
        assert_eq!(find_times("Starts at noon sharp").len(), 1);
    }
}
