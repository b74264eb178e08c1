//! A workshop as the notifier sees it: read from `workshops_v2` (plus names from
//! `artists_v2` and `studios`), with its sessions as instants in the studio's zone.

use crate::store::workshops::NotifyWorkshop;
use crate::store::{Store, StoreError};
use crate::workshop::{Identified, Session};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
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
    /// A schedule change's previous session starts, sorted (empty when unknown).
    pub previous_sessions: Vec<SessionStart>,
    pub zone: Tz,
}

impl Target {
    /// The first session starting after `now`.
    pub fn next_session(&self, now: DateTime<Utc>) -> Option<SessionStart> {
        self.sessions.iter().copied().find(|s| s.at > now)
    }

    /// The previous session a schedule change moved away from: the first one after
    /// `now` that the new schedule no longer has, else the first one it no longer has.
    pub fn moved_from(&self, now: DateTime<Utc>) -> Option<SessionStart> {
        let gone: Vec<SessionStart> = self
            .previous_sessions
            .iter()
            .copied()
            .filter(|p| !self.sessions.contains(p))
            .collect();
        gone.iter()
            .copied()
            .find(|s| s.at > now)
            .or_else(|| gone.first().copied())
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

/// Session starts in `zone` (a start that does not exist there, in a DST gap, is
/// skipped), sorted.
pub fn sessions_of(sessions: &[Session], zone: Tz) -> Vec<SessionStart> {
    let mut out: Vec<SessionStart> = sessions
        .iter()
        .filter_map(|s| {
            let local = s.date.and_time(s.start);
            let at = zone
                .from_local_datetime(&local)
                .earliest()?
                .with_timezone(&Utc);
            Some(SessionStart { local, at })
        })
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The notifier's view of a draft not stored yet (`ingest --dry-run`).
pub fn unstored(identified: &Identified) -> NotifyWorkshop {
    let draft = identified.draft();
    let mut artist_ids: Vec<String> = Vec::new();
    for id in &draft.artist_id_list {
        if !id.is_empty() && !artist_ids.contains(id) {
            artist_ids.push(id.clone());
        }
    }
    NotifyWorkshop {
        uuid: draft.uuid.clone(),
        signature: Some(identified.signature().to_string()),
        studio_id: draft.studio_id.clone(),
        by: draft.by.clone(),
        song: draft
            .song
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
        event_type: draft.event_type.as_str().to_string(),
        is_archived: false,
        artist_ids,
        sessions: draft.sessions.clone(),
        pending_fanout: None,
        fanout_only_artists: Vec::new(),
        previous_sessions: Vec::new(),
    }
}

/// Builds the notifier's view of a workshop (artist and studio names looked up).
pub async fn target_of(
    store: &Store,
    w: &NotifyWorkshop,
    zones: &StudioZones,
) -> Result<Target, StoreError> {
    let zone = zones.of(&w.studio_id);
    let artist_names = store.artist_names(&w.artist_ids).await?;
    let studio_name = store
        .studio_name(&w.studio_id)
        .await?
        .unwrap_or_else(|| w.studio_id.clone());
    Ok(Target {
        identity: w.signature.clone().unwrap_or_else(|| w.uuid.clone()),
        uuid: w.uuid.clone(),
        studio_name,
        by: w.by.clone(),
        song: w.song.clone(),
        event_type: w.event_type.clone(),
        is_archived: w.is_archived,
        sessions: sessions_of(&w.sessions, zone),
        previous_sessions: sessions_of(&w.previous_sessions, zone),
        studio_id: w.studio_id.clone(),
        artist_ids: w.artist_ids.clone(),
        artist_names,
        zone,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workshop::TimeDetail;

    fn detail(day: i32, start: &str, end: &str) -> TimeDetail {
        TimeDetail {
            day,
            month: 6,
            year: 2026,
            start_time: start.into(),
            end_time: end.into(),
        }
    }

    #[test]
    fn ist_session_is_five_and_a_half_hours_ahead_of_utc() {
        // As the store reads them back: unreadable entries (day 40) are skipped.
        let d: Vec<Session> = [
            detail(21, "06:00 PM", "08:00 PM"),
            detail(20, "09:30 AM", ""),
            detail(40, "09:30 AM", ""),
        ]
        .iter()
        .filter_map(Session::from_time_detail)
        .collect();
        let s = sessions_of(&d, chrono_tz::Asia::Kolkata);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].at, Utc.with_ymd_and_hms(2026, 6, 20, 4, 0, 0).unwrap());
        assert_eq!(
            s[1].at,
            Utc.with_ymd_and_hms(2026, 6, 21, 12, 30, 0).unwrap()
        );
        assert_eq!(s[1].key(), "2026-06-21T18:00");
    }
}
