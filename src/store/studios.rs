//! `studios` (written: the source file's metadata) and `artists_v2` (read).

use super::{Store, StoreError};
use crate::artist::{Artist, ArtistDirectory};
use crate::source::Studio;
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};

impl Store {
    /// Upserts a studio by `studio_id`, setting only the fields the source file owns.
    pub async fn upsert_studio(&self, studio: &Studio) -> Result<(), StoreError> {
        let mut set = doc! { "studio_id": &studio.id, "studio_name": &studio.name };
        if let Some(link) = &studio.instagram_link {
            set.insert("instagram_link", link);
        }
        if let Some(image) = &studio.image_url {
            set.insert("image_url", image);
        }
        self.discovery
            .collection::<Document>("studios")
            .update_one(doc! { "studio_id": &studio.id }, doc! { "$set": set })
            .upsert(true)
            .await
            .map_err(StoreError::op("upsert", "studios"))?;
        Ok(())
    }

    pub async fn load_artists(&self) -> Result<ArtistDirectory, StoreError> {
        let mut cursor = self
            .discovery
            .collection::<Document>("artists_v2")
            .find(doc! {})
            .projection(doc! { "artist_id": 1, "artist_name": 1, "instagram_link": 1 })
            .await
            .map_err(StoreError::op("find", "artists_v2"))?;
        let mut artists = Vec::new();
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("find", "artists_v2"))?
        {
            if let (Ok(id), Ok(name)) = (d.get_str("artist_id"), d.get_str("artist_name")) {
                artists.push(Artist {
                    artist_id: id.to_string(),
                    artist_name: name.to_string(),
                    instagram_link: d.get_str("instagram_link").ok().map(str::to_string),
                });
            }
        }
        artists.sort_by(|a, b| a.artist_id.cmp(&b.artist_id));
        Ok(ArtistDirectory::new(artists))
    }

    /// Seeds `artists_v2` (upsert by `artist_id`), for local and demo databases.
    pub async fn seed_artists(&self, artists: &[Artist]) -> Result<(), StoreError> {
        for a in artists {
            self.discovery
                .collection::<Document>("artists_v2")
                .update_one(
                    doc! { "artist_id": &a.artist_id },
                    doc! { "$set": { "artist_name": &a.artist_name, "instagram_link": a.instagram_link.as_deref() } },
                )
                .upsert(true)
                .await
                .map_err(StoreError::op("upsert", "artists_v2"))?;
        }
        Ok(())
    }
}
