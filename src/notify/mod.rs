//! Notifications: who hears about a workshop, the crash-safe outbox, and delivery.
//!
//! ```text
//! ingest writes workshops_v2 + pending_fanout ──► fanout ──┐
//! reminder scan (every minute, or `notify reminders`) ─────┤  followers (NOTIFY reactions)
//!                                                          ▼  × active devices
//!                               dance_app.notification_outbox (deterministic _id, unique)
//!                                                          ▼
//!          dispatch: claim with a lease → Pusher (a2 / file / scripted) → outcome per device
//! ```
//!
//! * [`fanout`] consumes the `pending_fanout` markers the store sets in the same write
//!   as a new or rescheduled workshop: it enqueues one outbox document per follower
//!   (idempotently), then clears the marker; a crash in between only repeats inserts
//!   that the unique key turns into no-ops.
//! * [`reminders`] enqueues reminders `reminder_hours_before` each session's start.
//! * [`dispatch`] drains the outbox with leases, bounded concurrency and the APNs
//!   outcome rules; [`sender`] holds the [`sender::Pusher`] trait and its senders;
//!   [`testing`] the scripted APNs double used by tests and benches.
//!
//! The app's switches and cooldown live in `notification_settings` ([`settings`]); the
//! daemon's own in `[push]` and `[notify]` ([`config`]).

pub mod audience;
pub mod config;
pub mod dispatch;
pub mod fanout;
pub mod outbox;
pub mod outcome;
pub mod payload;
pub mod reminders;
pub mod render;
pub mod sender;
pub mod settings;
pub mod status;
pub mod target;
pub mod testing;

use crate::clock::Clock;
use crate::store::{Store, StoreError};
use config::{NotifyConfig, PushConfig};
use std::sync::Arc;
use target::StudioZones;

#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("push configuration: {0}")]
    Config(String),
}

/// What fan-out, reminders and dispatch share.
#[derive(Clone)]
pub struct Notifier {
    pub store: Store,
    pub notify: NotifyConfig,
    pub push: PushConfig,
    /// The real clock: timestamps, TTLs (`expire_at`, `push_expiration`), claims'
    /// leases and retry times.
    pub clock: Arc<dyn Clock>,
    /// What "now" means for past/future decisions (is a session still ahead? is it
    /// tomorrow?). `None`: the real clock. Set under `ingest --today`, whose pretend date
    /// must not leak into TTLs: a push stored with an expiry already past is deleted
    /// within a minute and its cooldown history with it.
    pub calendar: Option<Arc<dyn Clock>>,
    pub zones: StudioZones,
}

impl Notifier {
    pub fn new(
        store: Store,
        notify: NotifyConfig,
        push: PushConfig,
        clock: Arc<dyn Clock>,
    ) -> Notifier {
        let zones = StudioZones::new(notify.default_tz());
        Notifier {
            store,
            notify,
            push,
            calendar: None,
            clock,
            zones,
        }
    }

    /// Past/future decisions by `calendar` (see [`Notifier::calendar`]); everything
    /// else keeps the clock given to [`Notifier::new`].
    pub fn with_calendar(mut self, calendar: Arc<dyn Clock>) -> Notifier {
        self.calendar = Some(calendar);
        self
    }

    /// "Now" for past/future decisions: the calendar clock when one is set.
    pub fn calendar_now(&self) -> chrono::DateTime<chrono::Utc> {
        self.calendar.as_ref().unwrap_or(&self.clock).now()
    }

    /// Uses these studio zones (from the source files) instead of the default alone.
    pub fn with_zones(mut self, zones: StudioZones) -> Notifier {
        self.zones = zones;
        self
    }
}
