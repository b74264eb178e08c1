//! Pure extraction: one page (HTML + URL) and its source configuration in, normalised
//! workshop drafts out, each field with its provenance. No I/O, no clock reads.
//!
//! Layers, highest priority first; a lower layer only fills what higher ones left empty:
//! 1. the source's own selectors / patterns (`[extract.fields]`),
//! 2. schema.org `Event` JSON-LD (arrays, `@graph`, `subEvent`, `offers`),
//! 3. Open Graph / `<meta>`,
//! 4. rules over the visible text (scripts, styles, comments and asides removed).

use crate::artist::ArtistDirectory;
use crate::source::Source;
use crate::workshop::WorkshopDraft;
use chrono::NaiveDate;
use serde::Serialize;
use url::Url;

pub mod artist;
pub mod date;
pub mod event_type;
pub mod price;
pub mod time;

/// Everything extraction may look at.
pub struct ExtractInput<'a> {
    /// The event page's URL (becomes `payment_link`, case preserved, and the uuid slug).
    pub page_url: &'a Url,
    pub html: &'a str,
    pub source: &'a Source,
    pub artists: &'a ArtistDirectory,
    /// The run date in the studio's zone: year inference and nothing else.
    pub today: NaiveDate,
}

/// Which layer a field came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Source,
    JsonLd,
    Meta,
    Text,
    Default,
}

/// Where one field's value came from: layer plus the selector, rule or key used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProvenance {
    pub field: &'static str,
    pub layer: Layer,
    pub detail: String,
}

/// One workshop found on a page.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub draft: WorkshopDraft,
    /// The event's title as the page states it (for logs and notification text).
    pub title: Option<String>,
    pub provenance: Vec<FieldProvenance>,
    /// Artist names or handles seen on the page that match no `artists_v2` entry.
    pub unknown_artists: Vec<String>,
}

/// What a page turned out to be.
#[derive(Debug, Clone)]
pub enum PageVerdict {
    Workshops(Vec<Extracted>),
    NotAWorkshop { reason: String },
}

/// Runs every layer on one page.
pub fn extract_page(_input: &ExtractInput<'_>) -> PageVerdict {
    PageVerdict::NotAWorkshop {
        reason: "extraction not implemented yet".into(),
    }
}

/// Absolute http(s) links of a page (`<a href>`), resolved against `base` (and
/// `<base href>`), fragments dropped, de-duplicated in document order.
pub fn page_links(_html: &str, _base: &Url) -> Vec<Url> {
    Vec::new()
}
