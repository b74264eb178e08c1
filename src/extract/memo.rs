//! Per-page memory of what the text rules found on a line.
//!
//! One page's lines are searched for dates and times many times over: by the text layer,
//! again line by line and in windows for the event-structure test, per listing card, per
//! candidate card title, per song's part, and once more for a page read without its
//! past-events strip. [`find_dates`](super::date::find_dates) and
//! [`find_times`](super::time::find_times) are pure functions of the line, so each
//! remembers its answers here and a repeated line costs a hash lookup instead of the
//! regex passes. [`clear`] runs at the start of every page, so nothing is carried from
//! one page to the next (and memory stays bounded by one page's lines, capped anyway).

use super::date::DateMention;
use super::time::TimeFound;
use rustc_hash::FxHashMap as HashMap;
use std::cell::RefCell;

/// Lines remembered at most per kind; past it the memory starts over (a hostile page of
/// a million distinct lines must not keep them all).
const MAX_LINES: usize = 4096;

thread_local! {
    static DATES: RefCell<HashMap<Box<str>, Vec<DateMention>>> = RefCell::new(HashMap::default());
    static TIMES: RefCell<HashMap<Box<str>, Vec<TimeFound>>> = RefCell::new(HashMap::default());
}

/// Forgets every remembered line (a new page starts).
pub fn clear() {
    DATES.with(|m| m.borrow_mut().clear());
    TIMES.with(|m| m.borrow_mut().clear());
}

fn cached<T: Clone>(
    key: &'static std::thread::LocalKey<RefCell<HashMap<Box<str>, T>>>,
    line: &str,
    find: impl FnOnce() -> T,
) -> T {
    if let Some(hit) = key.with(|m| m.borrow().get(line).cloned()) {
        return hit;
    }
    let found = find();
    key.with(|m| {
        let mut m = m.borrow_mut();
        if m.len() >= MAX_LINES {
            m.clear();
        }
        m.insert(line.into(), found.clone());
    });
    found
}

/// `find()`'s date mentions of `line`, remembered for the rest of the page.
pub fn dates(line: &str, find: impl FnOnce() -> Vec<DateMention>) -> Vec<DateMention> {
    cached(&DATES, line, find)
}

/// `find()`'s times of `line`, remembered for the rest of the page.
pub fn times(line: &str, find: impl FnOnce() -> Vec<TimeFound>) -> Vec<TimeFound> {
    cached(&TIMES, line, find)
}
