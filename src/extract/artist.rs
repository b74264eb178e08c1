//! Matching page text against the known artists (`artists_v2`).
//!
//! An artist matches by Instagram handle (`@handle`, `instagram.com/handle`, compared
//! with `artist_id` and the handle in the artist's `instagram_link`, case-insensitively)
//! or by full name (case- and accent-insensitive, whole words). Handles that match no
//! artist are reported as unknown.

pub use crate::artist::handle_from_link;
use crate::artist::{Artist, ArtistDirectory, INSTA_LINK, RESERVED_PATHS};
use regex::Regex;
use rustc_hash::FxHashSet;
use std::sync::LazyLock;

/// What matching found, in the shape the document needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ArtistMatches {
    /// Matched `artist_id`s, sorted ascending, de-duplicated.
    pub ids: Vec<String>,
    /// Matched `artist_name`s in order of first appearance.
    pub names: Vec<String>,
    /// Handles seen that match no known artist, in order, de-duplicated.
    pub unknown_handles: Vec<String>,
    /// The matched ids that a handle or Instagram link named (not only a name), sorted.
    pub by_handle: Vec<String>,
}

static HANDLE: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:^|[^a-z0-9_.@/])@([a-z0-9_.]{2,30})").expect("static regex"));

/// Lower-case ASCII form used for all matching.
fn normalise(text: &str) -> String {
    // Equal to lower-casing `deunicode` of the text with control characters made spaces
    // (see `normalise_whole`, which the tests compare it with), without sending the
    // ASCII runs through `deunicode`'s per-character table: ASCII below DEL is its own
    // transliteration. A run of other characters is transliterated together with the
    // character after it, which decides whether the run's last transliteration keeps
    // a trailing space, and that one ASCII character is dropped again.
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while !rest.is_empty() {
        let ascii = rest.bytes().take_while(|b| *b < 0x7f).count();
        // Copied a piece at a time between control characters (a corpus's line breaks),
        // each lower-cased in place: a push per character was the matcher's main cost.
        for (i, piece) in rest[..ascii]
            .split(|c: char| c.is_ascii_control())
            .enumerate()
        {
            if i > 0 {
                out.push(' ');
            }
            let from = out.len();
            out.push_str(piece);
            out[from..].make_ascii_lowercase();
        }
        rest = &rest[ascii..];
        if rest.is_empty() {
            break;
        }
        let run = rest
            .char_indices()
            .find(|(_, c)| u32::from(*c) < 0x7f)
            .map_or(rest.len(), |(i, _)| i);
        let next = rest[run..].chars().next().map_or(0, char::len_utf8);
        let spaced: String = rest[..run + next]
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        let ascii_text = deunicode::deunicode(&spaced);
        let kept = ascii_text.len() - next;
        out.extend(ascii_text[..kept].chars().map(|c| c.to_ascii_lowercase()));
        rest = &rest[run..];
    }
    out
}

/// Every handle (`@x` and `instagram.com/x`) in normalised text, with its position.
fn handles_in(norm: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    // Every `@handle` holds an `@`: most pages have none, and the pattern's leading
    // alternation gives the regex no literal to skip ahead with.
    let at_handles = norm
        .contains('@')
        .then(|| HANDLE.captures_iter(norm))
        .into_iter()
        .flatten();
    for c in at_handles {
        let m = c.get(1).expect("group");
        let h = m.as_str().trim_end_matches('.');
        if h.chars().any(|ch| ch.is_ascii_alphabetic()) {
            out.push((m.start(), h.to_string()));
        }
    }
    for c in INSTA_LINK.captures_iter(norm) {
        let m = c.get(1).expect("group");
        let h = m.as_str().trim_end_matches('.');
        if !RESERVED_PATHS.contains(&h) {
            out.push((m.start(), h.to_string()));
        }
    }
    out.sort();
    out
}

/// Words (ASCII alphanumeric runs) with their start positions.
fn words(norm: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    // Normalised text is ASCII: bytes are its characters.
    for (i, c) in norm.bytes().enumerate() {
        if c.is_ascii_alphanumeric() {
            start.get_or_insert(i);
        } else if let Some(s) = start.take() {
            out.push((s, &norm[s..i]));
        }
    }
    if let Some(s) = start {
        out.push((s, &norm[s..]));
    }
    out
}

/// Matches one page's text (in page order) against the directory. `ignore_handles` are
/// handles that are not artists (the studio's own account).
pub fn match_artists(
    directory: &ArtistDirectory,
    text: &str,
    ignore_handles: &[String],
) -> ArtistMatches {
    let artists: &[Artist] = directory.artists();
    let index = directory.index();
    let norm = normalise(text);

    // (position, artist) for every hit.
    let mut hits: Vec<(usize, usize)> = Vec::new();
    let mut handle_hits: Vec<usize> = Vec::new();
    let mut unknown: Vec<String> = Vec::new();
    let mut unknown_seen: FxHashSet<String> = FxHashSet::default();
    // The studio's own handles: one or two, compared in place.
    let ignored = |handle: &str| ignore_handles.iter().any(|h| h.to_lowercase() == handle);
    for (pos, handle) in handles_in(&norm) {
        match index.by_handle.get(&handle) {
            Some(a) => {
                hits.push((pos, *a));
                handle_hits.push(*a);
            }
            None => {
                if !ignored(&handle) && unknown_seen.insert(handle.clone()) {
                    unknown.push(handle);
                }
            }
        }
    }
    let ws = words(&norm);
    for (i, (pos, w)) in ws.iter().enumerate() {
        let Some(cands) = index.by_first_word.get(*w) else {
            continue;
        };
        for (name_words, artist) in cands {
            let fits = name_words.len() <= ws.len() - i
                && name_words.iter().zip(&ws[i..]).all(|(n, (_, w))| n == w);
            if fits {
                hits.push((*pos, *artist));
            }
        }
    }
    hits.sort_by_key(|(pos, _)| *pos);

    let mut names: Vec<String> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    let mut seen: FxHashSet<&str> = FxHashSet::default();
    for (_, a) in hits {
        let a = &artists[a];
        if seen.insert(a.artist_id.as_str()) {
            ids.push(a.artist_id.clone());
            names.push(a.artist_name.clone());
        }
    }
    ids.sort();
    let mut by_handle: Vec<String> = handle_hits
        .into_iter()
        .map(|a| artists[a].artist_id.clone())
        .collect();
    by_handle.sort();
    by_handle.dedup();
    ArtistMatches {
        ids,
        names,
        unknown_handles: unknown,
        by_handle,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir() -> ArtistDirectory {
        let a = |id: &str, name: &str, link: Option<&str>| Artist {
            artist_id: id.into(),
            artist_name: name.into(),
            instagram_link: link.map(str::to_string),
        };
        ArtistDirectory::new(vec![
            a(
                "vipuldevrani",
                "Vipul Devrani",
                Some("https://www.instagram.com/vipuldevrani/"),
            ),
            a("rajesh_dance", "Rajesh Kumar", None),
            a(
                "aadil.khan",
                "Aadil Khan",
                Some("https://instagram.com/aadilkhan_official"),
            ),
            a("zoe", "Zoë Saldaña", None),
        ])
    }

    /// The normalisation over the whole text at once, as it was first written.
    fn normalise_whole(text: &str) -> String {
        let spaced: String = text
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        deunicode::deunicode(&spaced).to_lowercase()
    }

    #[test]
    fn run_by_run_normalisation_equals_the_whole_text_form() {
        let texts = [
            "",
            "Plain ASCII, Mixed Case 123",
            "Zoë Saldaña\nwith RAJESH",
            "₹ 850/- per class – Sat 21st June",
            "北京x 北京 x北京",
            "北京",
            "x北",
            "Æsir ÆSIR ǅ ß Straße",
            "tab\there\r\nline\u{7f}del\u{85}nel",
            "emoji 💃🏽 dance 🕺",
            "unknown \u{e000} private \u{10ffff}",
            "Ελληνικά Кирилица עברית العربية हिन्दी ಕನ್ನಡ",
            "日本語のテキスト and ASCII",
            "é",
            "a\u{0301}b",
        ];
        for t in texts {
            assert_eq!(normalise(t), normalise_whole(t), "{t:?}");
        }
        // Every character up to U+2FFF and some CJK, Hangul and emoji, alone, between ASCII letters and next to spaces.
        let ranges = [
            0u32..0x3000,
            0x4e00..0x4f00,
            0xac00..0xac80,
            0x1f300..0x1f400,
        ];
        for c in ranges.into_iter().flatten().filter_map(char::from_u32) {
            for t in [
                format!("{c}"),
                format!("a{c}b"),
                format!(" {c} "),
                format!("{c}{c}x"),
            ] {
                assert_eq!(normalise(&t), normalise_whole(&t), "{t:?}");
            }
        }
    }

    #[test]
    fn handle_matches_artist_id_case_insensitively() {
        let m = match_artists(&dir(), "Workshop by @VipulDevrani this Sunday", &[]);
        assert_eq!(m.ids, vec!["vipuldevrani"]);
        assert_eq!(m.names, vec!["Vipul Devrani"]);
    }

    #[test]
    fn ids_named_by_handle_are_told_apart_from_name_matches() {
        let m = match_artists(
            &dir(),
            "with Rajesh Kumar and instagram.com/aadilkhan_official",
            &[],
        );
        assert_eq!(m.ids, vec!["aadil.khan", "rajesh_dance"]);
        assert_eq!(m.by_handle, vec!["aadil.khan"]);
    }

    #[test]
    fn handle_with_trailing_full_stop() {
        let m = match_artists(&dir(), "Learn from @rajesh_dance.", &[]);
        assert_eq!(m.ids, vec!["rajesh_dance"]);
    }

    #[test]
    fn instagram_link_matches() {
        let m = match_artists(
            &dir(),
            "see https://www.instagram.com/vipuldevrani/ for more",
            &[],
        );
        assert_eq!(m.ids, vec!["vipuldevrani"]);
    }

    #[test]
    fn handle_from_artist_instagram_link_is_an_alias() {
        let m = match_artists(&dir(), "@aadilkhan_official", &[]);
        assert_eq!(m.ids, vec!["aadil.khan"]);
    }

    #[test]
    fn full_name_matches_case_and_accent_insensitively() {
        let m = match_artists(&dir(), "with ZOE SALDANA and rajesh kumar", &[]);
        assert_eq!(m.names, vec!["Zoë Saldaña", "Rajesh Kumar"]);
        assert_eq!(m.ids, vec!["rajesh_dance", "zoe"]);
    }

    #[test]
    fn names_on_separate_lines_stay_separate_words() {
        let m = match_artists(&dir(), "A Workshop\nRajesh Kumar\nteaches", &[]);
        assert_eq!(m.ids, vec!["rajesh_dance"]);
        let m = match_artists(&dir(), "Vipul\nDevrani", &[]);
        assert_eq!(m.ids, vec!["vipuldevrani"]);
    }

    #[test]
    fn names_must_be_whole_words() {
        let m = match_artists(&dir(), "Rajesh Kumars fan club; Vipul Devranis", &[]);
        assert!(m.ids.is_empty());
    }

    #[test]
    fn partial_name_does_not_match() {
        let m = match_artists(&dir(), "Rajesh teaches", &[]);
        assert!(m.ids.is_empty());
    }

    #[test]
    fn names_in_order_of_first_appearance_ids_sorted() {
        let m = match_artists(
            &dir(),
            "Vipul Devrani x Rajesh Kumar, again @vipuldevrani",
            &[],
        );
        assert_eq!(m.names, vec!["Vipul Devrani", "Rajesh Kumar"]);
        assert_eq!(m.ids, vec!["rajesh_dance", "vipuldevrani"]);
    }

    #[test]
    fn email_addresses_are_not_handles() {
        let m = match_artists(&dir(), "mail vipuldevrani@example.com", &[]);
        assert!(m.ids.is_empty());
        assert!(m.unknown_handles.is_empty());
    }

    #[test]
    fn unknown_handles_are_reported_once_ignoring_the_studio() {
        let m = match_artists(
            &dir(),
            "@someone_new and @someone_new at @dance_n_addiction",
            &["dance_n_addiction".to_string()],
        );
        assert_eq!(m.unknown_handles, vec!["someone_new"]);
    }

    #[test]
    fn reserved_instagram_paths_are_not_handles() {
        let m = match_artists(&dir(), "https://www.instagram.com/reel/Cx1/", &[]);
        assert!(m.unknown_handles.is_empty());
    }

    #[test]
    fn handle_from_link_extracts_profile() {
        assert_eq!(
            handle_from_link("https://www.instagram.com/Dance_N_Addiction/"),
            Some("dance_n_addiction".into())
        );
        assert_eq!(handle_from_link("https://www.instagram.com/p/abc"), None);
        assert_eq!(handle_from_link("https://example.com"), None);
    }
}
