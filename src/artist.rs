//! The artists the app knows (`discovery.artists_v2`), as the extractor matches them.

use regex::Regex;
use rustc_hash::FxHashMap;
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
    /// `(artist_id, alias)`: other names an artist goes by (`artists_v2.artist_aliases`,
    /// kept by the app's admins), matched like the artist's name.
    aliases: Vec<(String, String)>,
    index: OnceLock<ArtistIndex>,
}

impl ArtistDirectory {
    pub fn new(artists: Vec<Artist>) -> Self {
        Self::with_aliases(artists, Vec::new())
    }

    /// A directory whose artists also match by these `(artist_id, alias)` names.
    pub fn with_aliases(artists: Vec<Artist>, aliases: Vec<(String, String)>) -> Self {
        ArtistDirectory {
            inner: Arc::new(Inner {
                artists,
                aliases,
                index: OnceLock::new(),
            }),
        }
    }

    /// Every `(artist_id, alias)` pair, in the order loaded.
    pub fn aliases(&self) -> &[(String, String)] {
        &self.inner.aliases
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
        self.inner.index.get_or_init(|| {
            ArtistIndex::build_with_aliases(&self.inner.artists, &self.inner.aliases)
        })
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
    pub(crate) by_handle: FxHashMap<String, usize>,
    /// First word of a normalised name → (all the name's words, artist). Looked up once
    /// per word of every page: the Fx hash is several times cheaper than SipHash on such
    /// short keys, and the keys are the directory's own names, not a page's choice.
    pub(crate) by_first_word: FxHashMap<String, Vec<(Vec<String>, usize)>>,
}

impl ArtistIndex {
    pub fn build(artists: &[Artist]) -> Self {
        Self::build_with_aliases(artists, &[])
    }

    /// As [`ArtistIndex::build`], with `(artist_id, alias)` names matched like names
    /// (an alias of an unknown artist id is ignored).
    pub fn build_with_aliases(artists: &[Artist], aliases: &[(String, String)]) -> Self {
        let mut by_handle: FxHashMap<String, usize> = FxHashMap::default();
        for (i, a) in artists.iter().enumerate() {
            by_handle.insert(a.artist_id.to_lowercase(), i);
        }
        // Handles from links are aliases: an artist_id of another artist wins.
        for (i, a) in artists.iter().enumerate() {
            if let Some(h) = a.instagram_link.as_deref().and_then(handle_from_link) {
                by_handle.entry(h).or_insert(i);
            }
        }
        let mut by_first_word: FxHashMap<String, Vec<(Vec<String>, usize)>> = FxHashMap::default();
        let position: HashMap<&str, usize> = artists
            .iter()
            .enumerate()
            .map(|(i, a)| (a.artist_id.as_str(), i))
            .collect();
        let names =
            artists
                .iter()
                .enumerate()
                .map(|(i, a)| (i, a.artist_name.as_str()))
                .chain(aliases.iter().filter_map(|(id, alias)| {
                    position.get(id.as_str()).map(|i| (*i, alias.as_str()))
                }));
        for (i, name) in names {
            // The words of `workshop::normalise_key_text`: ASCII-folded, lower-case,
            // alphanumeric runs.
            let name_words: Vec<String> = deunicode::deunicode(name)
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
