//! `ingest_pages`: what we last saw of each page (cache validators, body hash, and what
//! the page yielded), so an unchanged page is neither re-extracted nor archived.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use mongodb::Collection;
use std::collections::HashMap;

use super::schema::PAGES;

/// The remembered state of one URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PageRecord {
    pub url: String,
    pub studio_id: String,
    pub etag: Option<String>,
    pub last_modified: Option<String>,
    pub body_sha256: Option<String>,
    /// Workshop uuids the page yielded (event pages).
    pub uuids: Vec<String>,
    /// Event links the page listed (listing pages).
    pub links: Vec<String>,
    /// Fingerprint of the artist directory the page was extracted with (event pages):
    /// when `artists_v2` changes, the page is read and matched again even if unchanged.
    pub artists_fingerprint: Option<String>,
}

impl Store {
    fn pages(&self) -> Collection<Document> {
        self.discovery.collection(PAGES)
    }

    pub async fn load_page(&self, url: &str) -> Result<Option<PageRecord>, StoreError> {
        let found = self
            .pages()
            .find_one(doc! { "_id": url })
            .await
            .map_err(StoreError::op("find", PAGES))?;
        Ok(found.map(|d| record_from(url, &d)))
    }

    /// Every page record of a studio, by URL: one query per run instead of one per page.
    pub async fn load_studio_pages(
        &self,
        studio_id: &str,
    ) -> Result<HashMap<String, PageRecord>, StoreError> {
        let mut cursor = self
            .pages()
            .find(doc! { "studio_id": studio_id })
            .batch_size(100_000)
            .await
            .map_err(StoreError::op("find", PAGES))?;
        let mut out = HashMap::new();
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("find", PAGES))?
        {
            let Ok(url) = d.get_str("_id") else {
                continue;
            };
            out.insert(url.to_string(), record_from(url, &d));
        }
        Ok(out)
    }

    /// Saves the records that differ from the stored ones, in one unordered
    /// multi-statement `update` (upserts); writes nothing when none changed.
    pub async fn save_pages(
        &self,
        records: &[(&PageRecord, Option<&PageRecord>)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let updates: Vec<Document> = records
            .iter()
            .filter(|(record, previous)| *previous != Some(*record))
            .map(|(record, _)| {
                doc! {
                    "q": { "_id": &record.url },
                    "u": record_update(record, now),
                    "upsert": true,
                }
            })
            .collect();
        // The server caps one command at 100,000 statements and 48 MB; stay well below.
        for chunk in updates.chunks(1000) {
            let reply = self
                .discovery
                .run_command(doc! { "update": PAGES, "updates": chunk, "ordered": false })
                .await
                .map_err(StoreError::op("upsert", PAGES))?;
            if let Ok(errors) = reply.get_array("writeErrors") {
                if let Some(first) = errors.first() {
                    return Err(StoreError::Malformed {
                        collection: PAGES,
                        message: format!(
                            "{} page record write(s) refused, first: {first}",
                            errors.len()
                        ),
                    });
                }
            }
        }
        Ok(())
    }

    /// Saves a page record; writes nothing when it equals the stored one.
    pub async fn save_page(
        &self,
        record: &PageRecord,
        previous: Option<&PageRecord>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if previous == Some(record) {
            return Ok(());
        }
        self.pages()
            .update_one(doc! { "_id": &record.url }, record_update(record, now))
            .upsert(true)
            .await
            .map_err(StoreError::op("upsert", PAGES))?;
        Ok(())
    }
}

fn record_from(url: &str, d: &Document) -> PageRecord {
    let strings = |key: &str| -> Vec<String> {
        d.get_array(key)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    };
    PageRecord {
        url: url.to_string(),
        studio_id: d.get_str("studio_id").unwrap_or_default().to_string(),
        etag: d.get_str("etag").ok().map(str::to_string),
        last_modified: d.get_str("last_modified").ok().map(str::to_string),
        body_sha256: d.get_str("body_sha256").ok().map(str::to_string),
        uuids: strings("uuids"),
        links: strings("links"),
        artists_fingerprint: d.get_str("artists_fingerprint").ok().map(str::to_string),
    }
}

fn record_update(record: &PageRecord, now: DateTime<Utc>) -> Document {
    doc! { "$set": {
        "studio_id": &record.studio_id,
        "etag": record.etag.as_deref(),
        "last_modified": record.last_modified.as_deref(),
        "body_sha256": record.body_sha256.as_deref(),
        "uuids": &record.uuids,
        "links": &record.links,
        "artists_fingerprint": record.artists_fingerprint.as_deref(),
        "changed_at": now,
    } }
}
