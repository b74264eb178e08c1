//! `nachna-ingest notify …` (status, dispatch, reminders, test), and the notifier step
//! that `ingest` runs after storing: fan out new and changed workshops, then dispatch.

use crate::app::{self, notifier, pusher_or_warn, App};
use crate::cli::{
    GlobalArgs, IngestArgs, NotifyCommand, NotifyDispatchArgs, NotifyRemindersArgs,
    NotifyStatusArgs, NotifyTestArgs,
};
use crate::clock::{Clock, FixedClock, SystemClock};
use crate::notify::audience::devices_of;
use crate::notify::fanout::{FanoutCounts, Mode};
use crate::notify::outbox::{Kind, OutboxDoc, Status};
use crate::notify::outcome::{DeviceAnswer, Verdict};
use crate::notify::payload::request_for;
use crate::notify::render::RenderContext;
use crate::notify::sender::{build_pusher, PusherChoice};
use crate::notify::settings::AppNotificationSettings;
use crate::notify::Notifier;
use crate::reconcile::Announcement;
use crate::report::RunReport;
use crate::settings::Settings;
use crate::source::Source;
use crate::store::Store;
use anyhow::bail;
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use std::process::ExitCode;
use std::sync::Arc;
use tracing::debug;

pub async fn run(global: &GlobalArgs, command: NotifyCommand) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    settings
        .notify
        .validate()
        .map_err(|e| anyhow::anyhow!("settings: {e}"))?;
    let clock: Arc<dyn Clock> = match &command {
        NotifyCommand::Reminders(NotifyRemindersArgs {
            now: Some(text), ..
        }) => Arc::new(FixedClock(parse_now(text, settings.notify.default_tz())?)),
        _ => Arc::new(SystemClock),
    };
    let app = App::build(settings).await?;
    let settings = app.settings();
    let sources = match app::load_sources(&settings.sources_dir) {
        Ok(sources) => sources,
        Err(err) => {
            debug!(error = %err, "no source files: every studio uses notify.default_timezone");
            Vec::new()
        }
    };
    let notifier = app.notifier(clock, &sources);
    match command {
        NotifyCommand::Status(args) => status(&notifier, settings, args).await,
        NotifyCommand::Dispatch(args) => dispatch(&notifier, args).await,
        NotifyCommand::Reminders(args) => reminders(&notifier, args).await,
        NotifyCommand::Test(args) => test_push(&notifier, args).await,
    }
}

/// RFC 3339, or `YYYY-MM-DD HH:MM` (also with `T`) in `zone`.
pub fn parse_now(text: &str, zone: chrono_tz::Tz) -> anyhow::Result<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    for format in ["%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S"] {
        if let Ok(local) = NaiveDateTime::parse_from_str(text.trim(), format) {
            if let Some(t) = zone.from_local_datetime(&local).earliest() {
                return Ok(t.with_timezone(&Utc));
            }
        }
    }
    bail!(
        "--now {text}: expected RFC 3339 (2026-06-20T18:00:00+05:30) or YYYY-MM-DD HH:MM ({zone} time)"
    )
}

async fn status(
    notifier: &Notifier,
    settings: &Settings,
    args: NotifyStatusArgs,
) -> anyhow::Result<ExitCode> {
    let status = notifier.outbox_status().await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
        return Ok(ExitCode::SUCCESS);
    }
    let sender = match build_pusher(&settings.push) {
        Ok(PusherChoice::Ready(p)) => p.describe(),
        Ok(PusherChoice::Disabled(why)) => format!("not sending — {why}"),
        Err(err) => format!("not sending — {err}"),
    };
    println!("sender: {sender}");
    if status.counts.is_empty() {
        println!("outbox: empty");
    }
    for (kind, by_status) in &status.counts {
        let parts: Vec<String> = by_status.iter().map(|(s, n)| format!("{s} {n}")).collect();
        println!("{kind:>16}: {}", parts.join(", "));
    }
    match (status.oldest_pending_age_secs, &status.oldest_pending_local) {
        (Some(secs), Some(at)) => println!("oldest pending: {} (enqueued {at})", human_age(secs)),
        (Some(secs), None) => println!("oldest pending: {}", human_age(secs)),
        _ => println!("oldest pending: none"),
    }
    match status.reminder_hours_before {
        None => println!("reminders: off (reminder_enabled is false in notification_settings)"),
        Some(_) if status.upcoming_reminders.is_empty() => {
            println!("next reminders: none (no followed session ahead)")
        }
        Some(hours) => {
            println!("next reminders ({hours} h before each session, in the studio's zone):");
            let now = notifier.clock.now();
            for r in &status.upcoming_reminders {
                let when = if r.due_at <= now {
                    "due now".to_string()
                } else {
                    format!("in {}", human_age((r.due_at - now).num_seconds()))
                };
                println!(
                    "  due {} ({when})  {}  session {}",
                    r.due_local, r.workshop_uuid, r.session_local
                );
            }
        }
    }
    println!(
        "device tokens deactivated in the last day: {}",
        status.tokens_deactivated_last_day
    );
    Ok(ExitCode::SUCCESS)
}

fn human_age(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3600),
        s => format!("{} days", s / 86_400),
    }
}

async fn dispatch(notifier: &Notifier, args: NotifyDispatchArgs) -> anyhow::Result<ExitCode> {
    let Some(pusher) = pusher_or_warn(&notifier.push) else {
        return Ok(ExitCode::from(1));
    };
    let report = notifier.dispatch(pusher.as_ref()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!("{}", report.summary_line());
    }
    Ok(if report.stopped.is_some() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

async fn reminders(notifier: &Notifier, args: NotifyRemindersArgs) -> anyhow::Result<ExitCode> {
    let mode = if args.dry_run {
        Mode::DryRun
    } else {
        Mode::Write
    };
    let report = notifier.enqueue_due_reminders(mode).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
        return Ok(ExitCode::SUCCESS);
    }
    let now = notifier.clock.now();
    println!(
        "reminders at {}{}: {} workshop(s) scanned, {} session(s) due",
        now.with_timezone(&notifier.notify.default_tz())
            .format("%Y-%m-%d %H:%M %Z"),
        if args.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        },
        report.workshops,
        report.sessions.len()
    );
    if let Some(why) = &report.skipped {
        println!("  nothing enqueued: {why}");
    }
    for s in &report.sessions {
        println!("  {}", counts_line(&s.session, &s.counts));
    }
    Ok(ExitCode::SUCCESS)
}

async fn test_push(notifier: &Notifier, args: NotifyTestArgs) -> anyhow::Result<ExitCode> {
    let devices = devices_of(&notifier.store, &args.user).await?;
    if devices.is_empty() {
        println!("user {}: no active device token", args.user);
        return Ok(ExitCode::from(1));
    }
    let pusher = match build_pusher(&notifier.push)? {
        PusherChoice::Ready(p) => p,
        PusherChoice::Disabled(why) => bail!("{why}"),
    };
    let now = notifier.clock.now();
    let ctx = RenderContext {
        artist: "nachna".into(),
        ..RenderContext::default()
    };
    let (title, body) = ctx.render(&notifier.notify.test);
    let doc = OutboxDoc {
        key: format!("ts-{:016x}", rand::random::<u64>()),
        kind: Kind::Test,
        status: Status::Sending,
        reason: None,
        user_id: args.user.clone(),
        workshop_uuid: String::new(),
        artist_ids: Vec::new(),
        artist_id: String::new(),
        session_start: None,
        title,
        body,
        push_expiration: now + chrono::Duration::hours(1),
        attempts: 0,
        devices: Vec::new(),
        created_at: now,
        updated_at: now,
        next_attempt_at: None,
        owner: None,
        lease_until: None,
        claims: 0,
        sent_at: None,
        expire_at: None,
    };
    println!("sending a test push via {}", pusher.describe());
    // Success: every iOS device accepted it (android devices have no sender yet).
    let mut delivered = 0;
    let mut ios_failures = 0;
    for device in devices {
        let short = short_token(&device.token);
        if device.platform != "ios" {
            println!(
                "  {short} ({}): no sender for platform {}",
                device.platform, device.platform
            );
            continue;
        }
        let request = request_for(&doc, &device.token, notifier.push.topic.as_deref());
        let answer = DeviceAnswer::of(&pusher.push(&request).await);
        if answer.verdict == Verdict::DeactivateToken {
            notifier
                .store
                .deactivate_token(&args.user, &device.token, &answer.reason_text(), now)
                .await?;
        }
        if answer.verdict == Verdict::Delivered {
            delivered += 1;
        } else {
            ios_failures += 1;
        }
        println!(
            "  {short} (ios): {} → {}",
            answer.describe(),
            answer.effect()
        );
    }
    Ok(if delivered > 0 && ios_failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn short_token(token: &str) -> String {
    if token.len() > 12 {
        format!("{}…", &token[..12])
    } else {
        token.to_string()
    }
}

fn counts_line(what: &str, c: &FanoutCounts) -> String {
    match &c.skipped {
        Some(why) => format!("{what} ({}): nothing — {why}", c.kind),
        None => format!(
            "{what} ({}): {} push(es) in {} notification(s) to {} follower(s); {} suppressed by cooldown, {} without device, {} android device(s) without sender, {} already enqueued",
            c.kind,
            c.pushes,
            c.notifications,
            c.followers,
            c.suppressed,
            c.no_device,
            c.no_sender_devices,
            c.already_enqueued
        ),
    }
}

/// The notifier step of `ingest`: fan out every pending marker (or, on a dry run,
/// estimate each announced workshop and write nothing), then dispatch unless
/// `--no-dispatch`. Returns false when fan-out failed (markers stay for the next run).
/// Missing push credentials never fail it.
pub async fn after_ingest(
    settings: &Settings,
    store: &Store,
    clock: Arc<dyn Clock>,
    sources: &[Source],
    reports: &[RunReport],
    args: &IngestArgs,
) -> bool {
    let (dry_run, no_dispatch, json) = (args.dry_run, args.no_dispatch, args.json);
    let out = |line: String| {
        if json {
            eprintln!("{line}");
        } else {
            println!("{line}");
        }
    };
    if let Err(e) = settings.notify.validate() {
        out(format!("notify: not run: settings: {e}"));
        return false;
    }
    // `clock` is the run's (fixed under `--today`): it decides what is past; the
    // outbox's timestamps, expiries and claims take the real time.
    let notifier = notifier(
        settings,
        store,
        Arc::new(crate::clock::SystemClock),
        sources,
    )
    .with_calendar(clock);
    if dry_run {
        let app = match AppNotificationSettings::load(store).await {
            Ok(s) => s,
            Err(err) => {
                out(format!("notify: cannot read notification_settings: {err}"));
                return false;
            }
        };
        for report in reports {
            for (announcement, draft) in &report.announced {
                if let Some(c) = draft.confidence().filter(|c| c.is_weak()) {
                    out(format!(
                        "  would hold    {} for review (not announced until `review approve`; unless a person already decided on it): {}",
                        draft.uuid(),
                        c.weak.join("; ")
                    ));
                    continue;
                }
                let kind = match announcement {
                    Announcement::NewWorkshop => Kind::NewWorkshop,
                    Announcement::ScheduleChange => Kind::ScheduleChange,
                };
                match notifier.estimate_draft(draft, kind, &app).await {
                    Ok(c) => out(format!("  would notify  {}", counts_line(draft.uuid(), &c))),
                    Err(err) => out(format!(
                        "  would notify  {}: cannot estimate: {err}",
                        draft.uuid()
                    )),
                }
            }
        }
        return true;
    }
    let mut ok = true;
    match notifier.fan_out_pending().await {
        Ok(all) => {
            // A line per workshop that reached someone; the rest folded into one line.
            let mut quiet = 0;
            for c in &all {
                if c.skipped.is_none() && c.notifications + c.suppressed + c.no_device > 0 {
                    out(format!("  notify  {}", counts_line(&c.workshop_uuid, c)));
                } else {
                    quiet += 1;
                }
            }
            let pushes: u64 = all.iter().map(|c| c.pushes).sum();
            if !all.is_empty() {
                out(format!(
                    "notify: {} announcement(s), {pushes} push(es) enqueued{}",
                    all.len(),
                    if quiet > 0 {
                        format!("; {quiet} with nobody to tell (no follower of their artists, or no artist known)")
                    } else {
                        String::new()
                    }
                ));
            }
        }
        Err(err) => {
            out(format!(
                "notify: fan-out failed ({err}); the workshops keep their pending marker and the next run retries"
            ));
            ok = false;
        }
    }
    if no_dispatch {
        return ok;
    }
    let Some(pusher) = pusher_or_warn(&settings.push) else {
        return ok;
    };
    match notifier.dispatch(pusher.as_ref()).await {
        Ok(report) => out(format!("  {}", report.summary_line())),
        Err(err) => out(format!("notify: dispatch failed: {err}")),
    }
    ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn now_accepts_rfc3339_and_local_ist() {
        let ist = chrono_tz::Asia::Kolkata;
        let want = Utc.with_ymd_and_hms(2026, 6, 20, 12, 30, 0).unwrap();
        assert_eq!(parse_now("2026-06-20T18:00:00+05:30", ist).unwrap(), want);
        assert_eq!(parse_now("2026-06-20 18:00", ist).unwrap(), want);
        assert!(parse_now("tomorrow", ist).is_err());
    }
}
