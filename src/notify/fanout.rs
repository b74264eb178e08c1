//! Fan-out: from a workshop to one outbox document per follower.
//!
//! * [`Notifier::fan_out_pending`] consumes the `pending_fanout` markers that the store
//!   sets on `workshops_v2` in the same write as a new or rescheduled workshop: enqueue
//!   (idempotently), then `$unset` the marker filtered on the same `kind` and `since`,
//!   so a newer marker set meanwhile is kept. A crash between the two repeats the
//!   inserts, which the unique `_id` turns into no-ops.
//! * [`Notifier::fan_out`] streams the followers ([`FollowerStream`]) in batches of
//!   `notify.fanout_batch_size`: one query for the batch's devices and one each for
//!   its cooldowns in the outbox and in `notification_history` (sent together), then
//!   one unordered `insert_many`, which runs while the next batch is read. Memory stays
//!   at two batches whatever the audience size.
//!
//! Cooldown (new workshops only): a user gets at most one `new_workshop` push per artist
//! per `new_workshop_cooldown_hours`. A push enqueued (pending, sending or sent) for one
//! of the workshop's artists within the window cools that artist for that user; when
//! every artist the user follows on the workshop is cooling, the document is written as
//! `suppressed` with the reason, so an operator can see why nothing came.

use super::audience::{active_devices, Follower, FollowerStream};
use super::config::Template;
use super::outbox::{outbox_key, DeviceResult, InsertCounts, Kind, OutboxDoc, Status};
use super::render::RenderContext;
use super::settings::AppNotificationSettings;
use super::target::{target_of, unstored, SessionStart, Target};
use super::{Notifier, NotifyError};
use crate::store::schema::FanoutKind;
use crate::workshop::Identified;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use tracing::{debug, info, warn};

/// Write the documents, or only count what would be written (`--dry-run`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    DryRun,
}

/// What one workshop's fan-out did (or would do).
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct FanoutCounts {
    pub workshop_uuid: String,
    pub kind: String,
    /// Why nothing was enqueued at all (kind disabled, archived, all sessions past…).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Distinct users following at least one of the workshop's artists.
    pub followers: u64,
    /// Documents to send (`pending`).
    pub notifications: u64,
    /// Pushes those will make: their iOS devices.
    pub pushes: u64,
    /// Devices without a sender yet (android).
    pub no_sender_devices: u64,
    pub suppressed: u64,
    pub no_device: u64,
    /// Keys already in the outbox (a re-run): not enqueued again.
    pub already_enqueued: u64,
}

/// What to enqueue for one workshop (or one session of it).
pub(crate) struct Enqueue<'a> {
    pub kind: Kind,
    pub key_identity: String,
    pub key_session: String,
    pub session: Option<SessionStart>,
    pub cooldown: Option<chrono::Duration>,
    pub template: &'a Template,
    pub hours: i64,
    pub push_expiration: DateTime<Utc>,
    /// Leave out users already told of the workshop (see [`Notifier::fan_out_with`]).
    pub only_untold: bool,
}

impl Notifier {
    /// Fans out every workshop carrying a `pending_fanout` marker, then clears each
    /// marker. Returns one entry per workshop.
    pub async fn fan_out_pending(&self) -> Result<Vec<FanoutCounts>, NotifyError> {
        let marked = self.store.workshops_to_fan_out().await?;
        if marked.is_empty() {
            return Ok(Vec::new());
        }
        let settings = AppNotificationSettings::load(&self.store).await?;
        let mut out = Vec::new();
        for w in marked {
            let Some(marker) = &w.pending_fanout else {
                continue;
            };
            let kind = match &marker.kind {
                FanoutKind::NewWorkshop => Kind::NewWorkshop,
                FanoutKind::ScheduleChange => Kind::ScheduleChange,
                FanoutKind::Unknown(_) => {
                    warn!(uuid = %w.uuid, kind = %marker.kind, "unknown pending_fanout kind: left in place");
                    continue;
                }
            };
            let mut target = target_of(&self.store, &w, &self.zones).await?;
            let only_untold = !w.fanout_only_artists.is_empty();
            if only_untold {
                target
                    .artist_ids
                    .retain(|a| w.fanout_only_artists.contains(a));
            }
            let counts = self
                .fan_out_with(&target, kind, &settings, Mode::Write, only_untold)
                .await?;
            self.store.clear_fanout_marker(&w.uuid, marker).await?;
            log_counts(&counts, Mode::Write);
            out.push(counts);
        }
        Ok(out)
    }

    /// What fanning out this (not yet stored) draft would create — for `ingest --dry-run`.
    pub async fn estimate_draft(
        &self,
        draft: &Identified,
        kind: Kind,
        settings: &AppNotificationSettings,
    ) -> Result<FanoutCounts, NotifyError> {
        let target = target_of(&self.store, &unstored(draft), &self.zones).await?;
        self.fan_out(&target, kind, settings, Mode::DryRun).await
    }

    /// Fans out one workshop announcement (`new_workshop` or `schedule_change`).
    pub async fn fan_out(
        &self,
        target: &Target,
        kind: Kind,
        settings: &AppNotificationSettings,
        mode: Mode,
    ) -> Result<FanoutCounts, NotifyError> {
        self.fan_out_with(target, kind, settings, mode, false).await
    }

    /// [`Self::fan_out`]; with `only_untold`, followers already told of this workshop
    /// (a `new_workshop` for its uuid enqueued or sent, under any earlier identity) are
    /// left out: a workshop that newly matched an artist reaches that artist's
    /// followers, not again those who heard of it when it was new.
    pub async fn fan_out_with(
        &self,
        target: &Target,
        kind: Kind,
        settings: &AppNotificationSettings,
        mode: Mode,
        only_untold: bool,
    ) -> Result<FanoutCounts, NotifyError> {
        let now = self.clock.now();
        let today_now = self.calendar_now();
        let skip = |why: String| FanoutCounts {
            workshop_uuid: target.uuid.clone(),
            kind: kind.as_str().into(),
            skipped: Some(why),
            ..FanoutCounts::default()
        };
        let (template, cooldown, identity) = match kind {
            Kind::NewWorkshop => {
                if !settings.new_workshop_enabled {
                    return Ok(skip(
                        "new_workshop_enabled is false in notification_settings".into(),
                    ));
                }
                (
                    &self.notify.new_workshop,
                    Some(chrono::Duration::hours(
                        settings.new_workshop_cooldown_hours,
                    )),
                    target.identity.clone(),
                )
            }
            Kind::ScheduleChange => {
                if !self.notify.schedule_change_enabled {
                    return Ok(skip("notify.schedule_change_enabled is false".into()));
                }
                (
                    &self.notify.schedule_change,
                    None,
                    format!("{}|{}", target.uuid, target.identity),
                )
            }
            other => {
                return Err(NotifyError::Config(format!(
                    "fan_out handles workshop announcements, not {other}"
                )))
            }
        };
        if target.is_archived {
            return Ok(skip("the workshop is archived".into()));
        }
        if kind == Kind::NewWorkshop && target.event_type == "regulars" {
            // The app does not list regulars: "new workshop" would open nothing.
            return Ok(skip(
                "regulars are not listed in the app: no new_workshop push".into(),
            ));
        }
        if target.artist_ids.is_empty() {
            return Ok(skip("the workshop has no known artist".into()));
        }
        let Some(session) = target.next_session(today_now) else {
            return Ok(skip("no session in the future".into()));
        };
        let plan = Enqueue {
            kind,
            key_identity: identity,
            key_session: String::new(),
            session: Some(session),
            cooldown: cooldown.filter(|c| *c > chrono::Duration::zero()),
            template,
            hours: settings.reminder_hours_before,
            push_expiration: now + self.notify.expiration(),
            only_untold,
        };
        self.enqueue_audience(target, &plan, mode).await
    }

    /// Streams the followers of `target`'s artists into outbox documents, one batch of
    /// `notify.fanout_batch_size` at a time. The insert of a batch runs while the next
    /// batch is read and built (two connections), so the database's insert time and
    /// the audience reads overlap instead of adding up. Nothing about crash safety
    /// changes: the marker is cleared only after every insert returned, and a repeat
    /// is a no-op under the unique `_id`.
    pub(crate) async fn enqueue_audience(
        &self,
        target: &Target,
        plan: &Enqueue<'_>,
        mode: Mode,
    ) -> Result<FanoutCounts, NotifyError> {
        let mut counts = FanoutCounts {
            workshop_uuid: target.uuid.clone(),
            kind: plan.kind.as_str().into(),
            ..FanoutCounts::default()
        };
        let batch_size = self.notify.fanout_batch_size.max(1);
        let mut stream = FollowerStream::open(&self.store, &target.artist_ids).await?;
        let mut inserting: Option<Vec<OutboxDoc>> = None;
        loop {
            let insert = async {
                match &inserting {
                    Some(docs) => self.store.insert_outbox(docs).await.map(Some),
                    None => Ok(None),
                }
            };
            let next = self.next_batch(target, plan, &mut stream, batch_size, mode, &mut counts);
            let (inserted, next) = futures::join!(insert, next);
            if let (Some(docs), Some(InsertCounts { existing, .. })) = (&inserting, inserted?) {
                for i in existing {
                    if let Some(d) = docs.get(i) {
                        uncount(d, &mut counts);
                    }
                }
            }
            inserting = match next? {
                Some(docs) if mode == Mode::Write && !docs.is_empty() => Some(docs),
                Some(_) => None,
                None => break,
            };
        }
        Ok(counts)
    }

    /// Reads the next batch of followers and builds their documents (counted as they
    /// are built). `None` when the followers are exhausted.
    async fn next_batch(
        &self,
        target: &Target,
        plan: &Enqueue<'_>,
        stream: &mut FollowerStream,
        batch_size: usize,
        mode: Mode,
        counts: &mut FanoutCounts,
    ) -> Result<Option<Vec<OutboxDoc>>, NotifyError> {
        let mut batch: Vec<Follower> = Vec::with_capacity(batch_size);
        while batch.len() < batch_size {
            match stream.next().await? {
                Some(f) => batch.push(f),
                None => break,
            }
        }
        if batch.is_empty() {
            return Ok(None);
        }
        self.build_batch(target, plan, &batch, mode, counts)
            .await
            .map(Some)
    }

    /// One batch's documents: its devices, cooldowns and (for `only_untold`) who was
    /// already told, each one query for the whole batch, sent at once.
    async fn build_batch(
        &self,
        target: &Target,
        plan: &Enqueue<'_>,
        batch: &[Follower],
        mode: Mode,
        counts: &mut FanoutCounts,
    ) -> Result<Vec<OutboxDoc>, NotifyError> {
        let now = self.clock.now();
        let calendar_now = self.calendar_now();
        let users: Vec<String> = batch.iter().map(|f| f.user_id.clone()).collect();
        let devices = active_devices(&self.store, &users);
        let cooling = async {
            match plan.cooldown {
                Some(window) => {
                    self.store
                        .recent_new_workshop_artists(
                            &users,
                            &target.artist_ids,
                            &target.uuid,
                            now - window,
                        )
                        .await
                }
                None => Ok(HashMap::new()),
            }
        };
        let told = async {
            if plan.only_untold {
                self.store
                    .users_told_of_workshop(&users, &target.uuid)
                    .await
            } else {
                Ok(std::collections::HashSet::new())
            }
        };
        let (devices, cooling, told) = futures::try_join!(devices, cooling, told)?;
        let mut texts = Texts::default();
        let mut docs = Vec::with_capacity(batch.len());
        for f in batch {
            counts.followers += 1;
            if told.contains(&f.user_id) {
                counts.already_enqueued += 1;
                continue;
            }
            let cold: Vec<String> = match cooling.get(&f.user_id) {
                Some(hot) => f
                    .artist_ids
                    .iter()
                    .filter(|a| !hot.contains(*a))
                    .cloned()
                    .collect(),
                None => f.artist_ids.clone(),
            };
            let key = outbox_key(plan.kind, &plan.key_identity, &plan.key_session, &f.user_id);
            let (status, reason, artist_ids) = if cold.is_empty() {
                let hours = plan.cooldown.map(|c| c.num_hours()).unwrap_or_default();
                (
                    Status::Suppressed,
                    Some(format!(
                        "cooldown: a new_workshop push about {} was already enqueued for this user within {hours} h",
                        f.artist_ids.join(", ")
                    )),
                    f.artist_ids.clone(),
                )
            } else {
                (Status::Pending, None, cold)
            };
            let user_devices: Vec<DeviceResult> = if status == Status::Pending {
                devices
                    .get(&f.user_id)
                    .map(|ds| {
                        ds.iter()
                            .map(|d| DeviceResult::new(&d.token, &d.platform))
                            .collect()
                    })
                    .unwrap_or_default()
            } else {
                Vec::new()
            };
            let (status, reason) = if status == Status::Pending && user_devices.is_empty() {
                (
                    Status::NoDevice,
                    Some("the user has no active device token".to_string()),
                )
            } else {
                (status, reason)
            };
            match status {
                Status::Pending => {
                    counts.notifications += 1;
                    for d in &user_devices {
                        if d.platform == "ios" {
                            counts.pushes += 1;
                        } else {
                            counts.no_sender_devices += 1;
                        }
                    }
                }
                Status::Suppressed => counts.suppressed += 1,
                _ => counts.no_device += 1,
            }
            if mode == Mode::DryRun {
                continue;
            }
            let (title, body) = texts.of(&artist_ids, || {
                RenderContext::new(target, &artist_ids, plan.session, plan.hours, calendar_now)
                    .render(plan.template)
            });
            let created = now;
            docs.push(OutboxDoc {
                key,
                kind: plan.kind,
                status,
                reason,
                user_id: f.user_id.clone(),
                workshop_uuid: target.uuid.clone(),
                artist_id: artist_ids.first().cloned().unwrap_or_default(),
                artist_ids,
                session_start: plan.session.map(|s| s.at),
                title,
                body,
                push_expiration: plan.push_expiration,
                attempts: 0,
                devices: user_devices,
                created_at: created,
                updated_at: created,
                next_attempt_at: (status == Status::Pending).then_some(created),
                owner: None,
                lease_until: None,
                claims: 0,
                sent_at: None,
                expire_at: status.expires().then(|| now + self.notify.outbox_ttl()),
            });
        }
        Ok(docs)
    }
}

/// Title and body by the artists a user is told of: within one batch they depend on
/// nothing else, and almost every follower shares one set, so each is rendered once a
/// batch (not once a fan-out: a batch after midnight says "today", not "tomorrow").
#[derive(Default)]
struct Texts(HashMap<Vec<String>, (String, String)>);

impl Texts {
    fn of(
        &mut self,
        artists: &[String],
        render: impl FnOnce() -> (String, String),
    ) -> (String, String) {
        if let Some(t) = self.0.get(artists) {
            return t.clone();
        }
        let t = render();
        self.0.insert(artists.to_vec(), t.clone());
        t
    }
}

/// Documents that already existed were counted by status; take them back out, so a
/// re-run reports only `already_enqueued`.
fn uncount(d: &OutboxDoc, counts: &mut FanoutCounts) {
    counts.already_enqueued += 1;
    match d.status {
        Status::Pending => {
            counts.notifications = counts.notifications.saturating_sub(1);
            for dev in &d.devices {
                if dev.platform == "ios" {
                    counts.pushes = counts.pushes.saturating_sub(1);
                } else {
                    counts.no_sender_devices = counts.no_sender_devices.saturating_sub(1);
                }
            }
        }
        Status::Suppressed => counts.suppressed = counts.suppressed.saturating_sub(1),
        _ => counts.no_device = counts.no_device.saturating_sub(1),
    }
}

/// One log line per announcement: at info when it reached someone, at debug when
/// there was nobody to tell (most workshops, whose artists have no followers yet), so
/// a run's log is not a column of zeros. A dry run says "would enqueue".
pub(crate) fn log_counts(c: &FanoutCounts, mode: Mode) {
    let what = if mode == Mode::DryRun {
        "fan-out (dry run): would enqueue"
    } else {
        "fan-out: enqueued"
    };
    match &c.skipped {
        Some(why) => {
            debug!(uuid = %c.workshop_uuid, kind = %c.kind, reason = %why, "fan-out: nothing to enqueue")
        }
        None if c.notifications + c.suppressed + c.no_device == 0 => debug!(
            uuid = %c.workshop_uuid,
            kind = %c.kind,
            followers = c.followers,
            already_enqueued = c.already_enqueued,
            "{what}: nobody new to tell"
        ),
        None => info!(
            uuid = %c.workshop_uuid,
            kind = %c.kind,
            followers = c.followers,
            notifications = c.notifications,
            pushes = c.pushes,
            suppressed = c.suppressed,
            no_device = c.no_device,
            already_enqueued = c.already_enqueued,
            "{what}"
        ),
    }
}
