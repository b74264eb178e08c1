//! How well a page backs a draft's date and artists: a short verdict read off the
//! provenance extraction recorded, as a pure function ([`assess`]).
//!
//! Followers get a push on the strength of two fields: the date (when to come) and the
//! artists (whose followers hear of it). Each is graded by where it came from:
//!
//! | field | strong | weak |
//! |---|---|---|
//! | date | a source rule (`[extract.fields]`), JSON-LD, a `<meta>`/microdata event stamp, the visible text inside the source's `content_selector` or the event's own listing card, the part of the text about its own song | the visible text of a whole page (no selector or card scopes it, e.g. a listing's text outside its cards), description / `<noscript>` prose only, JSON-LD whose time the visible text contradicts (another time stated on more lines) |
//! | artist | a source rule, an Instagram handle or link, a name in the title, in JSON-LD performers or in a "by/with" phrase, a name in the text inside `content_selector` or the event's card | a name found only elsewhere in the visible text of a whole page |
//!
//! No matched artist is not weak: nobody follows the workshop, so nothing is announced
//! anyway. A draft with anything weak is held for review (see `reconcile::review_hold`).

use super::{FieldProvenance, Layer};
use crate::workshop::Confidence;

/// `artist_id_list` provenance detail prefixes written by `resolve_artists` for the
/// generic (visible text) matching, one per kind of evidence.
pub const ARTIST_BY_HANDLE: &str = "Instagram handles or links";
pub const ARTIST_BY_NAME_NEAR: &str = "names in the title, JSON-LD performers or by/with phrases";
pub const ARTIST_BY_SCOPED_NAME: &str =
    "names in the visible text inside content_selector or the event's card";
pub const ARTIST_BY_LOOSE_NAME: &str = "names found only in the loose visible text";

/// `time_details` provenance note written by the JSON-LD layer when a stamp's time is
/// not the time the page's visible text states first for the same date.
pub const DATE_TIME_CONTRADICTED: &str = "the visible text states another time for the date";

/// How one field is backed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grade {
    what: String,
    weak: Option<String>,
}

fn strong(what: impl Into<String>) -> Grade {
    Grade {
        what: what.into(),
        weak: None,
    }
}

fn date_grade(p: Option<&FieldProvenance>) -> Grade {
    let Some(p) = p else {
        return Grade {
            what: "none".into(),
            weak: Some("no date provenance".into()),
        };
    };
    match p.layer {
        Layer::Source => strong("source rule"),
        // The page contradicts itself: a person decides which time is right.
        Layer::JsonLd if p.detail.contains(DATE_TIME_CONTRADICTED) => Grade {
            what: "JSON-LD against visible text".into(),
            weak: Some(format!(
                "date read from JSON-LD, but {}",
                p.detail
                    .split("; ")
                    .find(|c| c.starts_with(DATE_TIME_CONTRADICTED))
                    .unwrap_or(DATE_TIME_CONTRADICTED)
            )),
        },
        Layer::JsonLd => strong("JSON-LD"),
        Layer::Meta if p.detail.contains("prose") => Grade {
            what: "meta prose".into(),
            weak: Some(format!(
                "date read only from the page's description/noscript prose ({}), not from its body or structured data",
                first_clause(&p.detail)
            )),
        },
        Layer::Meta => strong("meta event stamp"),
        Layer::Text if p.detail.starts_with("dates in the part about") => {
            strong("text of its song's part")
        }
        Layer::Text if p.detail.starts_with("dates in content_selector") => {
            strong("text inside content_selector")
        }
        // A listing's card is one event's own block: its date sits beside its title.
        Layer::Text if p.detail.starts_with("dates in event card") => {
            strong("text of its event card")
        }
        Layer::AppData => Grade {
            what: "embedded app data".into(),
            weak: Some(format!(
                "date read only from the page's embedded app data ({}), not from anything the page shows",
                first_clause(&p.detail)
            )),
        },
        Layer::Text | Layer::Default => Grade {
            what: "loose page text".into(),
            weak: Some(format!(
                "date read from loose visible text ({}): no source rule, structured data or content_selector backs it",
                first_clause(&p.detail)
            )),
        },
    }
}

fn artist_grade(p: Option<&FieldProvenance>) -> Grade {
    let Some(p) = p else {
        return strong("none");
    };
    match p.layer {
        Layer::Source => strong("source rule"),
        Layer::Default => strong("none"),
        _ if p.detail.starts_with(ARTIST_BY_LOOSE_NAME) => Grade {
            what: "loose name".into(),
            weak: Some(format!("artist {}", first_clause(&p.detail))),
        },
        _ if p.detail.starts_with(ARTIST_BY_HANDLE) => strong("handle"),
        _ if p.detail.starts_with(ARTIST_BY_NAME_NEAR) => strong("name by the title"),
        _ if p.detail.starts_with(ARTIST_BY_SCOPED_NAME) => strong("name in its scoped text"),
        // JSON-LD performers matched on their own, or a detail this module does not know:
        // graded by its layer.
        Layer::JsonLd => strong("JSON-LD performer"),
        _ => Grade {
            what: "unknown".into(),
            weak: Some(format!("artist matched by an unknown rule ({})", p.detail)),
        },
    }
}

/// The provenance detail up to its first `;` (the rest is about times).
fn first_clause(detail: &str) -> &str {
    detail.split(';').next().unwrap_or(detail).trim()
}

/// The verdict for one draft's provenance (as `extract_page` records it).
pub fn assess(provenance: &[FieldProvenance]) -> Confidence {
    let field = |name: &str| provenance.iter().find(|p| p.field == name);
    let date = date_grade(field("time_details"));
    let artist = artist_grade(field("artist_id_list"));
    let word = |g: &Grade| if g.weak.is_some() { "weak" } else { "strong" };
    Confidence {
        verdict: format!(
            "date: {} ({}); artist: {} ({})",
            date.what,
            word(&date),
            artist.what,
            word(&artist)
        ),
        weak: [date.weak, artist.weak].into_iter().flatten().collect(),
        title: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(field: &'static str, layer: Layer, detail: &str) -> FieldProvenance {
        FieldProvenance {
            field,
            layer,
            detail: detail.into(),
        }
    }

    fn verdict(date: (Layer, &str), artist: (Layer, &str)) -> Confidence {
        assess(&[
            p("uuid", Layer::Default, "[slug] pattern"),
            p("time_details", date.0, date.1),
            p("artist_id_list", artist.0, artist.1),
        ])
    }

    const HANDLE: (Layer, &str) = (Layer::Text, "Instagram handles or links (page)");

    #[test]
    fn structured_dates_and_handles_are_strong() {
        for date in [
            (Layer::Source, "[extract.fields.dates] selector `.d`"),
            (Layer::JsonLd, "Event.startDate/endDate/subEvent"),
            (Layer::Meta, "event:start_time"),
            (Layer::Text, "dates in content_selector"),
            (Layer::Text, "dates in the part about `Kesariya`"),
            (Layer::Text, "dates in event card 2 (`Popping Basics`)"),
        ] {
            let c = verdict(date, HANDLE);
            assert!(!c.is_weak(), "{date:?}: {c:?}");
        }
        let c = verdict((Layer::JsonLd, "Event.startDate"), HANDLE);
        assert_eq!(c.verdict, "date: JSON-LD (strong); artist: handle (strong)");
    }

    #[test]
    fn a_listings_text_outside_its_cards_is_weak() {
        let c = verdict(
            (Layer::Text, "dates in page outside its event cards"),
            HANDLE,
        );
        assert_eq!(
            c.verdict,
            "date: loose page text (weak); artist: handle (strong)"
        );
    }

    #[test]
    fn dates_from_loose_page_text_or_prose_are_weak() {
        let c = verdict((Layer::Text, "dates in page"), HANDLE);
        assert!(c.is_weak());
        assert_eq!(
            c.verdict,
            "date: loose page text (weak); artist: handle (strong)"
        );
        assert!(
            c.weak[0].contains("loose visible text (dates in page)"),
            "{c:?}"
        );

        let c = verdict(
            (
                Layer::Meta,
                "dates in og:description prose; times from visible text (times in page)",
            ),
            HANDLE,
        );
        assert_eq!(c.weak.len(), 1);
        assert!(
            c.weak[0].contains("prose (dates in og:description prose)"),
            "{c:?}"
        );
    }

    #[test]
    fn an_artist_matched_only_by_a_loose_name_is_weak() {
        let c = verdict(
            (Layer::JsonLd, "Event.startDate"),
            (
                Layer::Text,
                "names found only in the loose visible text: rajesh_dance (page)",
            ),
        );
        assert!(c.is_weak());
        assert_eq!(
            c.weak,
            vec!["artist names found only in the loose visible text: rajesh_dance (page)"]
        );
        assert_eq!(
            c.verdict,
            "date: JSON-LD (strong); artist: loose name (weak)"
        );
    }

    #[test]
    fn source_rules_titles_and_no_artist_are_not_weak() {
        for artist in [
            (Layer::Source, "[extract.fields.artist] selector `.by`"),
            (
                Layer::Text,
                "names in the title, JSON-LD performers or by/with phrases (page)",
            ),
            (Layer::Default, "no known artist on the page"),
            (
                Layer::Text,
                "names in the visible text inside content_selector or the event's card: a (content_selector)",
            ),
        ] {
            assert!(
                !verdict((Layer::JsonLd, "Event.startDate"), artist).is_weak(),
                "{artist:?}"
            );
        }
    }

    #[test]
    fn both_weak_gives_both_reasons() {
        let c = verdict(
            (Layer::Text, "dates in page"),
            (
                Layer::Text,
                "names found only in the loose visible text: a (page)",
            ),
        );
        assert_eq!(c.weak.len(), 2);
    }
}
