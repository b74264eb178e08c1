//! A workshop as the notifier sees it: read from `workshops_v2` (plus names from
//! `artists_v2` and `studios`), with its sessions as instants in the studio's zone.

use crate::store::{Store, StoreError};
use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use std::collections::HashMap;

/// Time zones of studios: from the source files, with a default for the rest.
#[derive(Debug, Clone)]
pub struct StudioZones {
    pub default: Tz,
    pub by_studio: HashMap<String, Tz>,
}

impl StudioZones {
    pub fn new(default: Tz) -> Self {
        StudioZones {
            default,
            by_studio: HashMap::new(),
        }
    }

    pub fn of(&self, studio_id: &str) -> Tz {
        self.by_studio
            .get(studio_id)
            .copied()
            .unwrap_or(self.default)
    }
}

impl Default for StudioZones {
    fn default() -> Self {
        StudioZones::new(chrono_tz::Asia::Kolkata)
    }
}

/// One session: its start in the studio's local time and as an instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct SessionStart {
    pub local: NaiveDateTime,
    pub at: DateTime<Utc>,
}

impl SessionStart {
    /// `YYYY-MM-DDTHH:MM`, the session part of a reminder's outbox key.
    pub fn key(&self) -> String {
        self.local.format("%Y-%m-%dT%H:%M").to_string()
    }
}

/// What notifications need to know about a workshop.
#[derive(Debug, Clone)]
pub struct Target {
    pub uuid: String,
    /// The event signature when the pipeline wrote one (else the uuid).
    pub identity: String,
    pub studio_id: String,
    pub studio_name: String,
    pub by: String,
    pub song: Option<String>,
    pub event_type: String,
    pub is_archived: bool,
    pub artist_ids: Vec<String>,
    /// Display names by artist id (the id itself when `artists_v2` lacks it).
    pub artist_names: HashMap<String, String>,
    /// Sorted session starts.
    pub sessions: Vec<SessionStart>,
    pub zone: Tz,
}

impl Target {
    /// The first session starting after `now`.
    pub fn next_session(&self, now: DateTime<Utc>) -> Option<SessionStart> {
        self.sessions.iter().copied().find(|s| s.at > now)
    }

    /// Names of `artist_ids` joined as the app joins them (`" x "`).
    pub fn names_of(&self, artist_ids: &[String]) -> String {
        artist_ids
            .iter()
            .map(|id| {
                self.artist_names
                    .get(id)
                    .cloned()
                    .unwrap_or_else(|| id.clone())
            })
            .collect::<Vec<_>>()
            .join(" x ")
    }
}

/// The fields of a `workshops_v2` document the notifier reads.
pub fn projection() -> Document {
    doc! {
        "uuid": 1, "signature": 1, "studio_id": 1, "by": 1, "song": 1, "event_type": 1,
        "is_archived": 1, "artist_id_list": 1, "time_details": 1, "pending_fanout": 1,
    }
}

/// Parses `time_details` into session starts in `zone`; unreadable entries are skipped.
pub fn sessions_of(d: &Document, zone: Tz) -> Vec<SessionStart> {
    let mut out: Vec<SessionStart> = d
        .get_array("time_details")
        .map(|a| a.iter().filter_map(|v| session_of(v, zone)).collect())
        .unwrap_or_default();
    out.sort();
    out.dedup();
    out
}

fn session_of(v: &Bson, zone: Tz) -> Option<SessionStart> {
    let t = v.as_document()?;
    let int = |k: &str| match t.get(k)? {
        Bson::Int32(v) => Some(i64::from(*v)),
        Bson::Int64(v) => Some(*v),
        Bson::Double(v) => Some(*v as i64),
        _ => None,
    };
    let date = NaiveDate::from_ymd_opt(
        i32::try_from(int("year")?).ok()?,
        u32::try_from(int("month")?).ok()?,
        u32::try_from(int("day")?).ok()?,
    )?;
    let time = parse_12h(t.get_str("start_time").ok()?)?;
    let local = date.and_time(time);
    let at = zone
        .from_local_datetime(&local)
        .earliest()?
        .with_timezone(&Utc);
    Some(SessionStart { local, at })
}

/// `06:00 PM` (also `6:00 pm`, and 24-hour `18:00`).
pub fn parse_12h(text: &str) -> Option<NaiveTime> {
    let t = text.trim().to_ascii_uppercase();
    NaiveTime::parse_from_str(&t, "%I:%M %p")
        .or_else(|_| NaiveTime::parse_from_str(&t, "%I:%M%p"))
        .or_else(|_| NaiveTime::parse_from_str(&t, "%H:%M"))
        .ok()
}

impl Store {
    /// Builds the notifier's view of a workshop document (names looked up).
    pub async fn notify_target(
        &self,
        d: &Document,
        zones: &StudioZones,
    ) -> Result<Target, StoreError> {
        let uuid = d.get_str("uuid").unwrap_or_default().to_string();
        let studio_id = d.get_str("studio_id").unwrap_or_default().to_string();
        let zone = zones.of(&studio_id);
        let artist_ids: Vec<String> = d
            .get_array("artist_id_list")
            .map(|a| {
                let mut ids: Vec<String> = Vec::new();
                for id in a.iter().filter_map(|v| v.as_str()) {
                    if !id.is_empty() && !ids.iter().any(|x| x == id) {
                        ids.push(id.to_string());
                    }
                }
                ids
            })
            .unwrap_or_default();
        let mut artist_names = HashMap::new();
        if !artist_ids.is_empty() {
            let mut cursor = self
                .discovery
                .collection::<Document>("artists_v2")
                .find(doc! { "artist_id": { "$in": &artist_ids } })
                .projection(doc! { "artist_id": 1, "artist_name": 1 })
                .await
                .map_err(StoreError::op("find", "artists_v2"))?;
            while let Some(a) = cursor
                .try_next()
                .await
                .map_err(StoreError::op("find", "artists_v2"))?
            {
                if let (Ok(id), Ok(name)) = (a.get_str("artist_id"), a.get_str("artist_name")) {
                    if !name.trim().is_empty() {
                        artist_names.insert(id.to_string(), name.trim().to_string());
                    }
                }
            }
        }
        let studio_name = self
            .discovery
            .collection::<Document>("studios")
            .find_one(doc! { "studio_id": &studio_id })
            .projection(doc! { "studio_name": 1 })
            .await
            .map_err(StoreError::op("find", "studios"))?
            .and_then(|s| s.get_str("studio_name").ok().map(str::to_string))
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| studio_id.clone());
        Ok(Target {
            identity: d
                .get_str("signature")
                .ok()
                .filter(|s| !s.is_empty())
                .unwrap_or(&uuid)
                .to_string(),
            uuid,
            studio_name,
            by: d.get_str("by").unwrap_or_default().to_string(),
            song: d
                .get_str("song")
                .ok()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string),
            event_type: d.get_str("event_type").unwrap_or("workshop").to_string(),
            is_archived: d.get_bool("is_archived").unwrap_or(false),
            sessions: sessions_of(d, zone),
            studio_id,
            artist_ids,
            artist_names,
            zone,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ist_session_is_five_and_a_half_hours_ahead_of_utc() {
        let d = doc! { "time_details": [
            { "day": 21, "month": 6, "year": 2026, "start_time": "06:00 PM", "end_time": "08:00 PM" },
            { "day": 20, "month": 6, "year": 2026, "start_time": "09:30 AM", "end_time": "" },
            { "day": 40, "month": 6, "year": 2026, "start_time": "09:30 AM", "end_time": "" },
        ]};
        let s = sessions_of(&d, chrono_tz::Asia::Kolkata);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].at, Utc.with_ymd_and_hms(2026, 6, 20, 4, 0, 0).unwrap());
        assert_eq!(
            s[1].at,
            Utc.with_ymd_and_hms(2026, 6, 21, 12, 30, 0).unwrap()
        );
        assert_eq!(s[1].key(), "2026-06-21T18:00");
    }

    #[test]
    fn twelve_hour_times_parse() {
        assert_eq!(parse_12h("12:00 AM"), NaiveTime::from_hms_opt(0, 0, 0));
        assert_eq!(parse_12h("12:30 PM"), NaiveTime::from_hms_opt(12, 30, 0));
        assert_eq!(parse_12h("6:05 pm"), NaiveTime::from_hms_opt(18, 5, 0));
        assert_eq!(parse_12h("TBD"), None);
    }
}
