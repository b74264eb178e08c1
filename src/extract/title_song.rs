//! A song named only in the event's title: `Bollywood Workshop – Kesariya`,
//! `Workshop · Tum Hi Ho`, `Heels Class | Kala Chashma`.
//!
//! Read only when the page names no song in any explicit form (`Song:`, `Choreo 1 —`,
//! quoted titles, [`super::text::songs`]), and conservatively, since the part after a
//! separator in a title is as often a level, a style, a city, the studio or the artist:
//! * the title is the event's own (a heading, a card's title line, JSON-LD `name`), not
//!   the `<title>` tag (which ends with the site's name);
//! * it splits at the first ` · `, ` | `, ` – `, ` — ` or ` - ` into two parts, and the
//!   part before names the kind of event (`workshop`, `class`, `choreography`, …);
//! * the part after, with a trailing `with …` / `by …` / `ft. …` artist phrase cut off,
//!   is one to six words, holds no digit, date, time, price, `@handle` or quote-less
//!   label (`Level`, `Batch`, …), is not made only of generic words (levels, audiences,
//!   styles, seasons, `online`, `sold out`, …), names no known artist, is not the
//!   studio's name or id, is not a name the page gives as an artist (`by/with` phrases,
//!   JSON-LD performers), and does not stand on a visible line about the venue or
//!   address (`Venue:`, `Road`, `Floor`, …), and is not named after an artist cue anywhere
//!   on the page (`… Workshop with Rohit Choudhary` in the `<title>` tag makes
//!   `Workshop · Rohit Choudhary` a person, [`named_as_artist`]).

use super::{date, time};
use crate::artist::ArtistDirectory;
use regex::Regex;
use std::sync::LazyLock;

/// The part before the separator must name the event's kind.
static EVENT_KIND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:workshops?|class(?:es)?|master\s*class|choreo(?:graphy)?|sessions?|intensive|bootcamp)\b")
        .expect("static regex")
});

/// Separators between the event's kind and what it is about, in the order tried.
const SEPARATORS: [&str; 5] = [" · ", " | ", " – ", " — ", " - "];

/// A trailing artist phrase: `Kesariya with Zoya Khan` is about `Kesariya`.
static ARTIST_TAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\s+(?:with|by|ft\.?|feat\.?|featuring|x)\s+.*$").expect("static regex")
});

/// Lines about where the event happens: a name on them is a place, not a song.
static VENUE_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(?:venue|location|address|where|road|rd|street|st|floor|nagar|layout|sector|block|cross|main|near|opp|opposite|studio|hall|centre|center|city)\b")
        .expect("static regex")
});

/// Words that say who, how or when, never what song: levels, audiences, styles,
/// seasons, formats, sales words. A part made only of these is no song.
#[rustfmt::skip]
const GENERIC: &[&str] = &[
    // levels and audiences
    "beginner", "beginners", "beginner's", "basic", "basics", "intermediate", "advanced",
    "all", "levels", "level", "open", "kids", "kid", "children", "teens", "adults",
    "ladies", "women", "womens", "men", "mens", "girls", "boys", "couples", "only",
    "everyone", "pro", "professional", "professionals", "foundation", "foundations",
    "fundamentals", "intro", "introduction", "technique", "techniques", "grooves",
    // formats and sales words
    "special", "edition", "series", "weekend", "weekday", "morning", "evening", "night",
    "online", "offline", "live", "free", "sold", "out", "new", "batch", "part", "day",
    "days", "week", "weeks", "month", "monthly", "season", "registration", "registrations",
    "now", "book", "booking", "tickets", "ticket", "info", "details", "the", "a", "an",
    "and", "of", "for", "in", "at", "on", "to", "&", "tba", "tbd", "coming", "soon", "song",
    "songs", "track", "tracks", "music", "tbc", "announced", "revealed", "reveal",
    "surprise", "secret", "mystery", "limited", "seats", "spots", "last", "few", "final",
    "call", "mini", "mega", "grand", "launch", "style", "styles", "fusion", "choreography",
    "choreo", "workshop", "workshops", "class", "classes", "session", "sessions", "dance",
    "dancing", "masterclass", "intensive", "bootcamp", "camp", "jam", "cypher", "battle",
    "showcase", "practice", "drop", "drop-in",
    // seasons and festivals
    "summer", "winter", "monsoon", "spring", "autumn", "fall", "festive", "festival",
    "diwali", "christmas", "holi", "navratri", "new", "year", "eve",
    // styles
    "bollywood", "hip", "hop", "hiphop", "hip-hop", "contemporary", "jazz", "kathak",
    "bharatanatyam", "odissi", "salsa", "bachata", "kizomba", "kuthu", "bhangra", "heels",
    "popping", "locking", "krump", "waacking", "whacking", "house", "ballet", "freestyle",
    "semi", "semi-classical", "classical", "folk", "garba", "dandiya", "dancehall", "afro",
    "afrobeats", "kpop", "k-pop", "k", "pop", "tutting", "breaking", "breakdance",
    "bboying", "lyrical", "zumba", "tango", "swing", "lindy", "commercial", "street",
    "urban", "belly", "bellydance", "floorwork", "partnering", "tap", "latin", "ballroom",
    "vogue", "voguing", "animation", "tricking", "acro", "yoga", "fitness", "aerobics",
    "cardio", "west", "coast", "reggaeton", "twerk", "shuffle", "tollywood", "kollywood",
    "sufi", "mujra", "lavani", "thumka", "desi", "indie", "modern",
];

/// What a title song is checked against.
pub struct TitleContext<'a> {
    pub directory: &'a ArtistDirectory,
    /// The studio's id and display name.
    pub studio: [&'a str; 2],
    /// Artist texts the page gives (by/with phrases, JSON-LD performers).
    pub artist_texts: &'a [String],
    /// The visible lines of the event's text.
    pub lines: &'a [&'a str],
}

fn key(s: &str) -> String {
    crate::workshop::normalise_key_text(s)
}

/// The song `title` names after its event kind, if it names one by the rules above.
pub fn song_in_title(title: &str, cx: &TitleContext<'_>) -> Option<String> {
    let (before, after) = SEPARATORS
        .iter()
        .filter_map(|sep| title.split_once(sep))
        .min_by_key(|(b, _)| b.len())?;
    if !EVENT_KIND.is_match(before) {
        return None;
    }
    // A second separator after the song (`Workshop · Kesariya | Studio`) keeps only
    // what comes before it.
    let after = SEPARATORS
        .iter()
        .filter_map(|sep| after.split_once(sep).map(|(a, _)| a))
        .min_by_key(|a| a.len())
        .unwrap_or(after);
    let song = ARTIST_TAIL.replace(after, "");
    let song = song
        .trim()
        .trim_matches(|c: char| "\"'“”‘’«»!.,:;".contains(c))
        .trim();
    let words: Vec<&str> = song.split_whitespace().collect();
    if words.is_empty() || words.len() > 6 {
        return None;
    }
    if song
        .chars()
        .any(|c| c.is_ascii_digit() || "@₹$£€#/()".contains(c))
    {
        return None;
    }
    if words.iter().all(|w| {
        GENERIC.contains(
            &w.to_lowercase()
                .trim_matches(|c: char| !c.is_alphanumeric() && c != '-' && c != '\''),
        )
    }) {
        return None;
    }
    if !date::find_dates(song).is_empty() || !time::find_times(song).is_empty() {
        return None;
    }
    let k = key(song);
    if k.is_empty()
        || cx
            .studio
            .iter()
            .any(|s| key(s) == k || key(s).replace(' ', "") == k.replace(' ', ""))
    {
        return None;
    }
    if !super::artist::match_artists(cx.directory, song, &[])
        .ids
        .is_empty()
    {
        return None;
    }
    if cx.artist_texts.iter().any(|a| {
        let a = key(a);
        !a.is_empty() && (a.contains(&k) || k.contains(&a))
    }) {
        return None;
    }
    let on_venue_line = cx
        .lines
        .iter()
        .any(|l| VENUE_LINE.is_match(l) && key(l).contains(&k) && key(l) != key(title));
    if on_venue_line {
        return None;
    }
    Some(song.to_string())
}

/// Words after which a page names its people.
const ARTIST_CUES: [&str; 10] = [
    "with",
    "by",
    "ft",
    "feat",
    "featuring",
    "x",
    "instructor",
    "choreographer",
    "artist",
    "mentor",
];

/// True when one of `texts` (the `<title>` tag, meta titles and descriptions, visible
/// lines) names `song` right after an artist cue (`… Workshop with Rohit Choudhary`):
/// the title's part is then a person, not a song.
pub fn named_as_artist(song: &str, texts: &[&str]) -> bool {
    let k = key(song);
    if k.is_empty() {
        return false;
    }
    texts.iter().any(|t| {
        let t = format!(" {} ", key(t));
        ARTIST_CUES
            .iter()
            .any(|cue| t.contains(&format!(" {cue} {k} ")))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artist::Artist;

    fn song(title: &str) -> Option<String> {
        song_with(title, &[], &[])
    }

    fn song_with(title: &str, artist_texts: &[String], lines: &[&str]) -> Option<String> {
        let dir = ArtistDirectory::new(vec![Artist {
            artist_id: "zoya.khan.dance".into(),
            artist_name: "Zoya Khan".into(),
            instagram_link: None,
        }]);
        song_in_title(
            title,
            &TitleContext {
                directory: &dir,
                studio: ["groove_loft", "Groove Loft"],
                artist_texts,
                lines,
            },
        )
    }

    #[test]
    fn the_part_after_the_event_kind_is_the_song() {
        assert_eq!(
            song("Bollywood Workshop – Kesariya").as_deref(),
            Some("Kesariya")
        );
        assert_eq!(song("Workshop · Tum Hi Ho").as_deref(), Some("Tum Hi Ho"));
        assert_eq!(
            song("Heels Class | Kala Chashma | Groove Loft").as_deref(),
            Some("Kala Chashma")
        );
        assert_eq!(
            song("Choreography - Pal Pal Dil Ke Paas with Zoya Khan").as_deref(),
            Some("Pal Pal Dil Ke Paas")
        );
    }

    #[test]
    fn levels_styles_places_studios_artists_and_dates_are_no_song() {
        for t in [
            "Bollywood Workshop – Beginners",
            "Workshop · All Levels",
            "Workshop | Hip Hop",
            "Workshop | Semi-Classical Fusion",
            "Workshop – Sold Out",
            "Workshop – Zoya Khan",
            "Workshop – Groove Loft",
            "Workshop – 21st June",
            "Workshop – Sat 4 Jul",
            "Workshop – Part 2",
            "Workshop – 6 PM",
            "Workshop – ₹900",
            "Workshop – @someone",
            "Summer Special – Kesariya",
            "Kesariya – Bollywood Workshop",
            "Workshop: Kesariya",
            "Hip Hop Workshop · Song TBA",
            "Workshop · Surprise Track",
        ] {
            assert_eq!(song(t), None, "{t}");
        }
        // A name the page gives as the artist, or a place on a venue line.
        assert_eq!(
            song_with("Workshop – Ishaan Verma", &["Ishaan Verma".into()], &[]),
            None
        );
        assert_eq!(
            song_with(
                "Workshop – Indiranagar",
                &[],
                &["Venue: 12th Main, Indiranagar"]
            ),
            None
        );
        assert_eq!(
            song_with(
                "Workshop – Kesariya",
                &[],
                &["Venue: 12th Main, Indiranagar"]
            )
            .as_deref(),
            Some("Kesariya")
        );
    }
}
