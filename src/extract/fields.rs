//! What one extraction layer found, before the layers are merged.

use super::price::PriceLine;
use super::time::TimeMention;
use crate::workshop::EventType;
use chrono::{NaiveDate, NaiveTime};

/// A value and the selector, key or rule that produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found<T> {
    pub value: T,
    pub detail: String,
}

impl<T> Found<T> {
    pub fn new(value: T, detail: impl Into<String>) -> Self {
        Found {
            value,
            detail: detail.into(),
        }
    }
}

/// A session date, with its times when the same statement gives them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DatedSlot {
    pub date: NaiveDate,
    pub start: Option<NaiveTime>,
    pub end: Option<NaiveTime>,
}

impl DatedSlot {
    pub fn date_only(date: NaiveDate) -> Self {
        DatedSlot {
            date,
            start: None,
            end: None,
        }
    }

    pub fn with_time(date: NaiveDate, time: Option<TimeMention>) -> Self {
        DatedSlot {
            date,
            start: time.map(|t| t.start),
            end: time.and_then(|t| t.end),
        }
    }
}

/// The part of a page about one song (multi-song pages): what that part states itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SongPart {
    pub song: String,
    pub slots: Vec<DatedSlot>,
    pub times: Vec<TimeMention>,
    pub prices: Vec<PriceLine>,
}

/// Everything one layer found. `None` means the layer has nothing for that field; a
/// lower layer may then fill it.
#[derive(Debug, Clone, Default)]
pub struct LayerFields {
    pub title: Option<Found<String>>,
    pub description: Option<Found<String>>,
    /// Artist texts as written (names, handles).
    pub artists: Option<Found<Vec<String>>>,
    pub songs: Option<Found<Vec<String>>>,
    pub slots: Option<Found<Vec<DatedSlot>>>,
    /// Times not tied to a particular date, in page order.
    pub times: Option<Found<Vec<TimeMention>>>,
    pub prices: Option<Found<Vec<PriceLine>>>,
    pub event_type: Option<Found<EventType>>,
    /// Per-song parts, when the layer could split the page by song.
    pub song_parts: Vec<SongPart>,
}

/// `Some` only for a non-empty list.
pub fn non_empty<T>(v: Vec<T>, detail: impl Into<String>) -> Option<Found<Vec<T>>> {
    (!v.is_empty()).then(|| Found::new(v, detail))
}

/// `Some` only for a non-blank string (trimmed).
pub fn non_blank(s: &str, detail: impl Into<String>) -> Option<Found<String>> {
    let t = s.trim();
    (!t.is_empty()).then(|| Found::new(t.to_string(), detail))
}
