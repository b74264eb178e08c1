//! `studios`: written from the source files' metadata, one document per studio.

use super::schema::STUDIOS;
use super::{Store, StoreError};
use crate::source::Studio;
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
        // Read first: a re-ingest of an unchanged studio writes nothing.
        let current = self
            .discovery
            .collection::<Document>(STUDIOS)
            .find_one(doc! { "studio_id": &studio.id })
            .await
            .map_err(StoreError::op("find", STUDIOS))?;
        if current.is_some_and(|c| set.iter().all(|(k, v)| c.get(k) == Some(v))) {
            return Ok(());
        }
        self.discovery
            .collection::<Document>(STUDIOS)
            .update_one(doc! { "studio_id": &studio.id }, doc! { "$set": set })
            .upsert(true)
            .await
            .map_err(StoreError::op("upsert", STUDIOS))?;
        Ok(())
    }
}
