//! Reminders: `reminder_hours_before` hours before each session starts (in the studio's
//! zone, minute precision), to the followers of the workshop's artists.
//!
//! A scan at `now` enqueues every session whose send time (start − hours) is at or
//! before `now` and whose start is still after `now`; so a daemon that was down catches
//! up on reminders it missed, but never reminds of a session that has started. Not for
//! `regulars`, not for archived workshops. Each (user, workshop, session) is enqueued at
//! most once (the outbox key); a session done is recorded in
//! `notification_reminder_sessions` so later scans skip it without touching followers.

use super::fanout::{log_counts, Enqueue, FanoutCounts, Mode};
use super::outbox::Kind;
use super::settings::AppNotificationSettings;
use super::target::{sessions_of, target_of};
use super::{Notifier, NotifyError};
use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use tracing::info;

/// What one reminder scan did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReminderReport {
    /// Why nothing was scanned (reminders disabled).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Workshops looked at.
    pub workshops: u64,
    /// One entry per session due.
    pub sessions: Vec<SessionReminder>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SessionReminder {
    pub session: String,
    pub counts: FanoutCounts,
}

impl Notifier {
    /// Enqueues the reminders due at the clock's now.
    pub async fn enqueue_due_reminders(&self, mode: Mode) -> Result<ReminderReport, NotifyError> {
        let now = self.clock.now();
        let settings = AppNotificationSettings::load(&self.store).await?;
        let mut report = ReminderReport::default();
        if !settings.reminder_enabled {
            let why = "reminder_enabled is false in notification_settings".to_string();
            info!(reason = %why, "reminders: nothing to enqueue");
            report.skipped = Some(why);
            return Ok(report);
        }
        let hours = settings.reminder_hours_before;
        let lead = chrono::Duration::hours(hours);
        // Sessions from yesterday (zone differences) up to `hours` ahead can be due.
        let first_year = (now - chrono::Duration::days(1)).year();
        let scanned = self.store.reminder_candidates(first_year).await?;
        report.workshops = scanned.len() as u64;
        let candidates = scanned.into_iter().filter(|w| {
            sessions_of(&w.sessions, self.zones.of(&w.studio_id))
                .iter()
                .any(|s| is_due(s.at, lead, now))
        });
        for w in candidates {
            let target = target_of(&self.store, &w, &self.zones).await?;
            if target.is_archived || target.event_type == "regulars" {
                continue;
            }
            for session in target.sessions.iter().copied() {
                if !is_due(session.at, lead, now) {
                    continue;
                }
                let marker = format!("{}|{}", target.uuid, session.key());
                if self.store.reminder_session_done(&marker).await? {
                    continue;
                }
                let plan = Enqueue {
                    kind: Kind::Reminder,
                    key_identity: target.uuid.clone(),
                    key_session: session.key(),
                    session: Some(session),
                    cooldown: None,
                    template: &self.notify.reminder,
                    hours,
                    push_expiration: session.at,
                    only_untold: false,
                };
                let counts = self.enqueue_audience(&target, &plan, mode).await?;
                if mode == Mode::Write {
                    self.store
                        .mark_reminder_session_done(&marker, session.at, now)
                        .await?;
                }
                log_counts(&counts, mode);
                report.sessions.push(SessionReminder {
                    session: marker,
                    counts,
                });
            }
        }
        Ok(report)
    }
}

/// Due at `now`: the send time (start − lead) has come, and the session has not started.
pub fn is_due(start: DateTime<Utc>, lead: chrono::Duration, now: DateTime<Utc>) -> bool {
    start - lead <= now && now < start
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn due_from_send_minute_until_start() {
        let start = Utc.with_ymd_and_hms(2026, 6, 21, 12, 30, 0).unwrap();
        let lead = chrono::Duration::hours(24);
        let send = start - lead;
        assert!(!is_due(start, lead, send - chrono::Duration::seconds(1)));
        assert!(is_due(start, lead, send));
        assert!(is_due(start, lead, start - chrono::Duration::minutes(1)));
        assert!(!is_due(start, lead, start));
    }
}
