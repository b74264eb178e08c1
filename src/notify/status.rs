//! `notify status`: the outbox at a glance.

use super::reminders::is_due;
use super::settings::AppNotificationSettings;
use super::target::sessions_of;
use super::Notifier;
use crate::store::StoreError;
use chrono::{DateTime, Datelike, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// How many upcoming reminders `notify status` lists.
pub const UPCOMING_REMINDERS: usize = 5;

/// A reminder the scan will enqueue (or has due now and not yet enqueued): when, for
/// which session, in the studio's zone.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct UpcomingReminder {
    pub workshop_uuid: String,
    /// When the reminder is due (session start − `reminder_hours_before`).
    pub due_at: DateTime<Utc>,
    /// `2026-06-20 18:00 IST`: the due time in the studio's zone.
    pub due_local: String,
    /// The session's start in the studio's zone.
    pub session_local: String,
}

/// Outbox counts by kind and status, the oldest pending notification, and tokens
/// deactivated in the last day.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct OutboxStatus {
    /// kind → status → count.
    pub counts: BTreeMap<String, BTreeMap<String, u64>>,
    /// Age of the oldest `pending` notification, seconds.
    pub oldest_pending_age_secs: Option<i64>,
    /// When the oldest pending notification was enqueued, in the default zone.
    pub oldest_pending_local: Option<String>,
    pub tokens_deactivated_last_day: u64,
    /// `reminder_hours_before` from the app's settings; `None` when reminders are off.
    pub reminder_hours_before: Option<i64>,
    /// The next reminders, soonest first (at most [`UPCOMING_REMINDERS`]).
    pub upcoming_reminders: Vec<UpcomingReminder>,
}

impl Notifier {
    pub async fn outbox_status(&self) -> Result<OutboxStatus, StoreError> {
        let now = self.clock.now();
        let oldest = self.store.oldest_pending_outbox().await?;
        let settings = AppNotificationSettings::load(&self.store).await?;
        let reminder_hours_before = settings
            .reminder_enabled
            .then_some(settings.reminder_hours_before);
        let upcoming_reminders = match reminder_hours_before {
            Some(hours) => self.upcoming_reminders(hours, now).await?,
            None => Vec::new(),
        };
        Ok(OutboxStatus {
            counts: self.store.outbox_counts().await?,
            oldest_pending_age_secs: oldest.map(|t| (now - t).num_seconds().max(0)),
            oldest_pending_local: oldest.map(|t| {
                t.with_timezone(&self.notify.default_tz())
                    .format("%Y-%m-%d %H:%M %Z")
                    .to_string()
            }),
            tokens_deactivated_last_day: self
                .store
                .tokens_deactivated_since(now - chrono::Duration::days(1))
                .await?,
            reminder_hours_before,
            upcoming_reminders,
        })
    }

    /// Sessions not started yet whose reminder is not enqueued yet, by due time: what
    /// the reminder scan will do next (the same candidates and rule as the scan).
    async fn upcoming_reminders(
        &self,
        hours: i64,
        now: DateTime<Utc>,
    ) -> Result<Vec<UpcomingReminder>, StoreError> {
        let lead = chrono::Duration::hours(hours);
        let first_year = (now - chrono::Duration::days(1)).year();
        let mut out = Vec::new();
        for w in self.store.reminder_candidates(first_year).await? {
            let zone = self.zones.of(&w.studio_id);
            for s in sessions_of(&w.sessions, zone) {
                if s.at <= now {
                    continue;
                }
                // A due one may already be enqueued (the scan marks its session done).
                if is_due(s.at, lead, now)
                    && self
                        .store
                        .reminder_session_done(&format!("{}|{}", w.uuid, s.key()))
                        .await?
                {
                    continue;
                }
                let due_at = s.at - lead;
                out.push(UpcomingReminder {
                    workshop_uuid: w.uuid.clone(),
                    due_at,
                    due_local: due_at
                        .with_timezone(&zone)
                        .format("%Y-%m-%d %H:%M %Z")
                        .to_string(),
                    session_local: s
                        .at
                        .with_timezone(&zone)
                        .format("%Y-%m-%d %H:%M %Z")
                        .to_string(),
                });
            }
        }
        out.sort_by(|a, b| (a.due_at, &a.workshop_uuid).cmp(&(b.due_at, &b.workshop_uuid)));
        out.truncate(UPCOMING_REMINDERS);
        Ok(out)
    }
}

impl OutboxStatus {
    /// Outbox documents by status, over all kinds.
    pub fn totals(&self) -> Vec<(String, u64)> {
        let mut totals: BTreeMap<String, u64> = BTreeMap::new();
        for by_status in self.counts.values() {
            for (s, n) in by_status {
                *totals.entry(s.clone()).or_default() += n;
            }
        }
        totals.into_iter().collect()
    }
}
