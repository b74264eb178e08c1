//! The artists the app knows (`discovery.artists_v2`), as the extractor matches them.

use regex::Regex;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, LazyLock, OnceLock};

/// One `artists_v2` document, reduced to what matching needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artist {
    /// The Instagram handle, e.g. `vipuldevrani`.
    pub artist_id: String,
    /// Display name, e.g. `Vipul Devrani`.
    pub artist_name: String,
    #[serde(default)]
    pub instagram_link: Option<String>,
}

/// All known artists, loaded once per run. Cloning is cheap and clones share one
/// matching index, built on first use: every page of a run (and every blocking
/// extraction thread) matches against the same index instead of rebuilding it per call.
#[derive(Debug, Clone, Default)]
pub struct ArtistDirectory {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    artists: Vec<Artist>,
    index: OnceLock<ArtistIndex>,
}

impl ArtistDirectory {
    pub fn new(artists: Vec<Artist>) -> Self {
        ArtistDirectory {
            inner: Arc::new(Inner {
                artists,
                index: OnceLock::new(),
            }),
        }
    }

    /// Every artist, in the order loaded.
    pub fn artists(&self) -> &[Artist] {
        &self.inner.artists
    }

    pub fn get(&self, artist_id: &str) -> Option<&Artist> {
        self.inner.artists.iter().find(|a| a.artist_id == artist_id)
    }

    /// The handle and name index over this directory (built once, then shared).
    pub fn index(&self) -> &ArtistIndex {
        self.inner
            .index
            .get_or_init(|| ArtistIndex::build(&self.inner.artists))
    }
}

pub(crate) static INSTA_LINK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:instagram\.com|instagr\.am)/([a-z0-9_.]{2,30})").expect("static regex")
});

pub(crate) const RESERVED_PATHS: &[&str] = &[
    "p",
    "reel",
    "reels",
    "stories",
    "explore",
    "tv",
    "accounts",
    "direct",
    "about",
    "legal",
    "developer",
    "web",
];

/// The handle in an Instagram profile URL.
pub fn handle_from_link(link: &str) -> Option<String> {
    let lower = link.to_lowercase();
    let c = INSTA_LINK.captures(&lower)?;
    let h = c[1].trim_end_matches('.').to_string();
    (!RESERVED_PATHS.contains(&h.as_str())).then_some(h)
}

/// Handles and names of a directory, ready for matching; built once per directory
/// ([`ArtistDirectory::index`]) so the cost of matching a page does not grow with the
/// number of known artists.
#[derive(Debug, Default)]
pub struct ArtistIndex {
    /// Lower-case handle (`artist_id`, and the handle of `instagram_link`) → artist.
    pub(crate) by_handle: HashMap<String, usize>,
    /// First word of a normalised name → (all the name's words, artist).
    pub(crate) by_first_word: HashMap<String, Vec<(Vec<String>, usize)>>,
}

impl ArtistIndex {
    pub fn build(artists: &[Artist]) -> Self {
        let mut by_handle: HashMap<String, usize> = HashMap::new();
        for (i, a) in artists.iter().enumerate() {
            by_handle.insert(a.artist_id.to_lowercase(), i);
        }
        // Handles from links are aliases: an artist_id of another artist wins.
        for (i, a) in artists.iter().enumerate() {
            if let Some(h) = a.instagram_link.as_deref().and_then(handle_from_link) {
                by_handle.entry(h).or_insert(i);
            }
        }
        let mut by_first_word: HashMap<String, Vec<(Vec<String>, usize)>> = HashMap::new();
        for (i, a) in artists.iter().enumerate() {
            // The words of `workshop::normalise_key_text`: ASCII-folded, lower-case,
            // alphanumeric runs.
            let name_words: Vec<String> = deunicode::deunicode(&a.artist_name)
                .to_lowercase()
                .split(|c: char| !c.is_ascii_alphanumeric())
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect();
            if let Some(first) = name_words.first().cloned() {
                by_first_word
                    .entry(first)
                    .or_default()
                    .push((name_words, i));
            }
        }
        ArtistIndex {
            by_handle,
            by_first_word,
        }
    }
}
