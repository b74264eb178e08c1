//! The artists the app knows (`discovery.artists_v2`), as the extractor matches them.

use serde::{Deserialize, Serialize};

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

/// All known artists, loaded once per run.
#[derive(Debug, Clone, Default)]
pub struct ArtistDirectory {
    pub artists: Vec<Artist>,
}

impl ArtistDirectory {
    pub fn new(artists: Vec<Artist>) -> Self {
        ArtistDirectory { artists }
    }

    pub fn get(&self, artist_id: &str) -> Option<&Artist> {
        self.artists.iter().find(|a| a.artist_id == artist_id)
    }
}
