//! The artists the app knows (`discovery.artists_v2`), as the extractor matches them.

use crate::extract::artist::ArtistIndex;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};

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
