//! `studios`: written from the source files' metadata, one document per studio.
//!
//! A value a person changed in the database is theirs: the source file fills fields that
//! are missing or empty, and replaces a value only while it is still the one the pipeline
//! last wrote (kept in `pipeline_written`). A value that differs from what we last wrote
//! (or that was there before we wrote anything) is a person's edit and is kept.

use super::schema::STUDIOS;
use super::{contract_view, Store, StoreError};
use crate::contract;
use crate::source::Studio;
use mongodb::bson::{doc, Document};

/// The fields a source file owns and a person may edit.
const FIELDS: [&str; 3] = ["studio_name", "instagram_link", "image_url"];

impl Store {
    /// Upserts a studio by `studio_id` from its source file, keeping every value a person
    /// changed; returns one note per kept edit (for the run summary). Writes nothing when
    /// nothing changes; refuses (writes nothing) when the result would break the app
    /// contract.
    pub async fn upsert_studio(&self, studio: &Studio) -> Result<Vec<String>, StoreError> {
        let collection = self.discovery.collection::<Document>(STUDIOS);
        let existing = collection
            .find_one(doc! { "studio_id": &studio.id })
            .await
            .map_err(StoreError::op("find", STUDIOS))?;
        let stored = existing.clone().unwrap_or_default();
        let written = stored
            .get_document("pipeline_written")
            .cloned()
            .unwrap_or_default();
        let source = [
            Some(studio.name.as_str()),
            studio.instagram_link.as_deref(),
            studio.image_url.as_deref(),
        ];
        let mut set = Document::new();
        let mut kept = Vec::new();
        for (key, value) in FIELDS.into_iter().zip(source) {
            let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
                continue;
            };
            let mark = format!("pipeline_written.{key}");
            match stored.get_str(key).ok().filter(|s| !s.trim().is_empty()) {
                None => {
                    set.insert(key, value);
                    set.insert(mark, value);
                }
                Some(current) if current == value => {
                    if written.get_str(key).ok() != Some(value) {
                        set.insert(mark, value);
                    }
                }
                Some(current) if written.get_str(key).ok() == Some(current) => {
                    set.insert(key, value);
                    set.insert(mark, value);
                }
                Some(current) => kept.push(format!(
                    "studio {}: `{key}` kept as {current:?}, changed by a person (the source file says {value:?})",
                    studio.id
                )),
            }
        }
        if set.is_empty() {
            return Ok(kept);
        }
        let mut after = stored;
        after.insert("studio_id", &studio.id);
        for (k, v) in &set {
            if !k.starts_with("pipeline_written.") {
                after.insert(k.clone(), v.clone());
            }
        }
        contract::validate_studio(&contract_view(&after))?;
        // Conditional on what was read, so a person's edit made meanwhile is not lost.
        let filter = match &existing {
            Some(d) => {
                let mut f = doc! { "_id": d.get("_id").cloned().unwrap_or_default() };
                for key in FIELDS {
                    f.insert(
                        key,
                        d.get(key).cloned().unwrap_or(mongodb::bson::Bson::Null),
                    );
                }
                f
            }
            None => doc! { "studio_id": &studio.id },
        };
        collection
            .update_one(filter, doc! { "$set": set })
            .upsert(existing.is_none())
            .await
            .map_err(StoreError::op("upsert", STUDIOS))?;
        Ok(kept)
    }
}
