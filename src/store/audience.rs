//! The app's audience (`dance_app.reactions`, `dance_app.device_tokens`): the followers
//! of a set of artists, and their devices.
//!
//! A follower is a `dance_app.reactions` document with `entity_type: "ARTIST"`,
//! `reaction: "NOTIFY"`, `entity_id` one of the artists, and `is_deleted` not true (a
//! missing field counts as not deleted). [`FollowerStream`] reads them through one
//! cursor sorted by `user_id`, so the union over several artists yields each user once
//! (with the artists they follow) while holding one user at a time in memory.

use super::schema::{DEVICE_TOKENS, REACTIONS};
use super::{bson_time, Store, StoreError};
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use mongodb::Cursor;
use std::collections::HashMap;

/// One user to notify, and which of the workshop's artists they follow (in the
/// workshop's order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follower {
    pub user_id: String,
    pub artist_ids: Vec<String>,
}

/// The filter of followers of `artist_ids`.
fn followers_filter(artist_ids: &[String]) -> Document {
    doc! {
        "entity_type": "ARTIST",
        "reaction": "NOTIFY",
        "entity_id": { "$in": artist_ids },
        "is_deleted": { "$ne": true },
    }
}

/// Followers of a set of artists, each user once, streamed from the server.
pub struct FollowerStream {
    cursor: Option<Cursor<Document>>,
    order: Vec<String>,
    /// The first reaction of the next user, read ahead.
    ahead: Option<(String, String)>,
}

impl FollowerStream {
    /// Opens the cursor. An empty artist list yields nobody.
    pub async fn open(store: &Store, artist_ids: &[String]) -> Result<Self, StoreError> {
        let cursor = if artist_ids.is_empty() {
            None
        } else {
            Some(
                store
                    .app
                    .collection::<Document>(REACTIONS)
                    .find(followers_filter(artist_ids))
                    .projection(doc! { "_id": 0, "user_id": 1, "entity_id": 1 })
                    .sort(doc! { "user_id": 1 })
                    .allow_disk_use(true)
                    .batch_size(2000)
                    .await
                    .map_err(StoreError::op("find", REACTIONS))?,
            )
        };
        Ok(FollowerStream {
            cursor,
            order: artist_ids.to_vec(),
            ahead: None,
        })
    }

    async fn next_reaction(&mut self) -> Result<Option<(String, String)>, StoreError> {
        if let Some(r) = self.ahead.take() {
            return Ok(Some(r));
        }
        let Some(cursor) = self.cursor.as_mut() else {
            return Ok(None);
        };
        while let Some(d) = cursor
            .try_next()
            .await
            .map_err(StoreError::op("find", REACTIONS))?
        {
            let (Some(user), Ok(artist)) = (id_string(d.get("user_id")), d.get_str("entity_id"))
            else {
                continue;
            };
            return Ok(Some((user, artist.to_string())));
        }
        Ok(None)
    }

    /// The next user, with every artist of the set they follow.
    pub async fn next(&mut self) -> Result<Option<Follower>, StoreError> {
        let Some((user_id, artist)) = self.next_reaction().await? else {
            return Ok(None);
        };
        let mut artists = vec![artist];
        loop {
            match self.next_reaction().await? {
                Some((u, a)) if u == user_id => artists.push(a),
                Some(other) => {
                    self.ahead = Some(other);
                    break;
                }
                None => break,
            }
        }
        let artist_ids = self
            .order
            .iter()
            .filter(|id| artists.contains(id))
            .cloned()
            .collect();
        Ok(Some(Follower {
            user_id,
            artist_ids,
        }))
    }
}

/// A user id as a string: the app stores strings; an ObjectId is read as its hex.
fn id_string(v: Option<&Bson>) -> Option<String> {
    match v? {
        Bson::String(s) if !s.is_empty() => Some(s.clone()),
        Bson::ObjectId(id) => Some(id.to_hex()),
        _ => None,
    }
}

/// An active device of a user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub token: String,
    /// `ios`, `android` (lower-cased), or `unknown` when the document has none.
    pub platform: String,
}

/// Active devices (`is_active: true`) of a batch of users; a token registered twice
/// counts once.
pub async fn active_devices(
    store: &Store,
    user_ids: &[String],
) -> Result<HashMap<String, Vec<Device>>, StoreError> {
    let mut out: HashMap<String, Vec<Device>> = HashMap::new();
    if user_ids.is_empty() {
        return Ok(out);
    }
    let mut cursor = store
        .app
        .collection::<Document>(DEVICE_TOKENS)
        .find(doc! { "user_id": { "$in": user_ids }, "is_active": true })
        .projection(doc! { "_id": 0, "user_id": 1, "device_token": 1, "platform": 1 })
        .batch_size(2000)
        .await
        .map_err(StoreError::op("find", DEVICE_TOKENS))?;
    while let Some(d) = cursor
        .try_next()
        .await
        .map_err(StoreError::op("find", DEVICE_TOKENS))?
    {
        let (Some(user), Ok(token)) = (id_string(d.get("user_id")), d.get_str("device_token"))
        else {
            continue;
        };
        if token.trim().is_empty() {
            continue;
        }
        let platform = d
            .get_str("platform")
            .map(|p| p.trim().to_ascii_lowercase())
            .ok()
            .filter(|p| !p.is_empty())
            .unwrap_or_else(|| "unknown".into());
        let devices = out.entry(user).or_default();
        if !devices.iter().any(|x| x.token == token) {
            devices.push(Device {
                token: token.to_string(),
                platform,
            });
        }
    }
    Ok(out)
}

impl Store {
    /// Marks a token inactive with the APNs reason and time. True when it was active.
    pub async fn deactivate_token(
        &self,
        user_id: &str,
        token: &str,
        reason: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let result = self
            .app
            .collection::<Document>(DEVICE_TOKENS)
            .update_many(
                doc! { "user_id": user_id, "device_token": token, "is_active": true },
                doc! { "$set": {
                    "is_active": false,
                    "deactivated_reason": reason,
                    "deactivated_at": bson_time(at),
                    "updated_at": bson_time(at),
                } },
            )
            .await
            .map_err(StoreError::op("update", DEVICE_TOKENS))?;
        Ok(result.modified_count > 0)
    }
}

/// Active devices of one user.
pub async fn devices_of(store: &Store, user_id: &str) -> Result<Vec<Device>, StoreError> {
    let mut all = active_devices(store, &[user_id.to_string()]).await?;
    Ok(all.remove(user_id).unwrap_or_default())
}
