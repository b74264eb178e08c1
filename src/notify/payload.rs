//! The APNs request for one device: headers and the JSON payload the shipped app reads.
//!
//! ```json
//! {"aps":{"alert":{"title":"…","body":"…"},"sound":"default"},
//!  "type":"new_workshop","artist_id":"vipuldevrani","workshop_id":"dance_n_addiction/…"}
//! ```
//!
//! Headers: `apns-push-type: alert`; `apns-priority` 10 for `new_workshop` and
//! `schedule_change`, 5 for reminders; `apns-collapse-id` = the outbox key (so a re-send
//! after a crash shows once); `apns-expiration` = the session start for reminders, the
//! configured horizon otherwise; `apns-topic` = the bundle id; `apns-id` = the outbox key
//! written as a UUID ([`crate::store::outbox::apns_id_of`]), which APNs echoes in its
//! answer: the dispatcher can then record a whole batch of accepted pushes in one
//! statement, the id being the document's own (see `dispatch.rs`).

use super::outbox::{Kind, OutboxDoc};
use serde::Serialize;
use serde_json::{json, Value};

/// The APNs headers this crate sets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PushHeaders {
    #[serde(rename = "apns-push-type")]
    pub push_type: String,
    #[serde(rename = "apns-priority")]
    pub priority: u8,
    #[serde(rename = "apns-collapse-id")]
    pub collapse_id: String,
    /// Unix seconds.
    #[serde(rename = "apns-expiration")]
    pub expiration: u64,
    #[serde(rename = "apns-topic", skip_serializing_if = "Option::is_none")]
    pub topic: Option<String>,
    /// The notification's UUID; absent when its key is not of the 128-bit form.
    #[serde(rename = "apns-id", skip_serializing_if = "Option::is_none")]
    pub apns_id: Option<String>,
}

/// One would-be APNs request.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PushRequest {
    /// The device token (hex).
    pub token: String,
    pub headers: PushHeaders,
    pub payload: Value,
}

/// The JSON body the app expects.
pub fn payload_json(
    kind: Kind,
    title: &str,
    body: &str,
    artist_id: &str,
    workshop_id: &str,
) -> Value {
    let mut payload = json!({
        "aps": {
            "alert": { "title": title, "body": body },
            "sound": "default",
        },
        "type": kind.as_str(),
        "workshop_id": workshop_id,
    });
    // The app opens the artist's page for `artist_id`; an empty one opens an empty page,
    // so the key is left out when there is no artist.
    if !artist_id.trim().is_empty() {
        payload["artist_id"] = json!(artist_id);
    }
    payload
}

/// The request for one device of an outbox document.
pub fn request_for(doc: &OutboxDoc, token: &str, topic: Option<&str>) -> PushRequest {
    PushRequest {
        token: token.to_string(),
        headers: PushHeaders {
            push_type: "alert".into(),
            priority: doc.kind.apns_priority(),
            collapse_id: doc.collapse_id().to_string(),
            expiration: u64::try_from(doc.push_expiration.timestamp_millis() / 1000).unwrap_or(0),
            topic: topic.map(str::to_string),
            apns_id: crate::store::outbox::apns_id_of(&doc.key),
        },
        payload: payload_json(
            doc.kind,
            &doc.title,
            &doc.body,
            &doc.artist_id,
            &doc.workshop_uuid,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_artist_id_is_left_out() {
        let p = payload_json(Kind::NewWorkshop, "t", "b", "", "dna/w1");
        assert!(p.get("artist_id").is_none(), "{p}");
        let p = payload_json(Kind::NewWorkshop, "t", "b", "vipul", "dna/w1");
        assert_eq!(p["artist_id"], "vipul");
    }
}
