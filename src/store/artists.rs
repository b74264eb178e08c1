//! `artists_v2`: read once per run for artist matching; seeded (upsert by `artist_id`)
//! only for local and demo databases.

use super::schema::ARTISTS;
use super::{Store, StoreError};
use crate::artist::{Artist, ArtistDirectory};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};

impl Store {
    pub async fn load_artists(&self) -> Result<ArtistDirectory, StoreError> {
        let mut cursor = self
            .discovery
            .collection::<Document>(ARTISTS)
            .find(doc! {})
            .projection(
                doc! { "artist_id": 1, "artist_name": 1, "instagram_link": 1, "artist_aliases": 1 },
            )
            .await
            .map_err(StoreError::op("find", ARTISTS))?;
        let mut artists = Vec::new();
        let mut aliases = Vec::new();
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("find", ARTISTS))?
        {
            if let (Ok(id), Ok(name)) = (d.get_str("artist_id"), d.get_str("artist_name")) {
                for alias in super::read_strings(&d, "artist_aliases") {
                    if !alias.trim().is_empty() {
                        aliases.push((id.to_string(), alias));
                    }
                }
                artists.push(Artist {
                    artist_id: id.to_string(),
                    artist_name: name.to_string(),
                    instagram_link: d.get_str("instagram_link").ok().map(str::to_string),
                });
            }
        }
        artists.sort_by(|a, b| a.artist_id.cmp(&b.artist_id));
        aliases.sort();
        Ok(ArtistDirectory::with_aliases(artists, aliases))
    }

    /// The `artists_v2` documents whose `artist_id` is in `ids`, with only the
    /// `projection` fields (one query; nothing asked for, nothing sent).
    pub(crate) async fn artists_with_ids(
        &self,
        ids: &[String],
        projection: Document,
    ) -> Result<Vec<Document>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        self.discovery
            .collection::<Document>(ARTISTS)
            .find(doc! { "artist_id": { "$in": ids } })
            .projection(projection)
            .await
            .map_err(StoreError::op("find", ARTISTS))?
            .try_collect()
            .await
            .map_err(StoreError::op("find", ARTISTS))
    }

    /// Seeds `artists_v2` (upsert by `artist_id`), for local and demo databases.
    pub async fn seed_artists(&self, artists: &[Artist]) -> Result<(), StoreError> {
        for a in artists {
            self.discovery
                .collection::<Document>(ARTISTS)
                .update_one(
                    doc! { "artist_id": &a.artist_id },
                    doc! { "$set": { "artist_name": &a.artist_name, "instagram_link": a.instagram_link.as_deref() } },
                )
                .upsert(true)
                .await
                .map_err(StoreError::op("upsert", ARTISTS))?;
        }
        Ok(())
    }
}
