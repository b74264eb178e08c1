//! `nachna-ingest review [approve UUID | reject UUID]`: the workshops held for a person
//! because their date or artist rests on weak evidence (see `extract::confidence` and
//! `reconcile::review_hold`), and that person's decision.

use crate::app::{self, App};
use crate::cli::{GlobalArgs, ReviewAction, ReviewArgs};
use crate::clock::SystemClock;
use crate::notify::fanout::FanoutCounts;
use crate::store::review::{Decision, HeldWorkshop};
use anyhow::bail;
use std::process::ExitCode;
use std::sync::Arc;
use tracing::debug;

pub async fn run(global: &GlobalArgs, args: ReviewArgs) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    let app = App::build(settings).await?;
    let now = chrono::Utc::now();
    match args.action {
        None => list(&app, args.json).await,
        Some(ReviewAction::Approve { uuid }) => {
            match app.store().approve_review(&uuid, now).await? {
                Decision::Recorded => {
                    println!("{uuid}: approved; announcing it now");
                    announce(&app).await
                }
                Decision::Already => {
                    println!("{uuid}: already approved; nothing to do");
                    Ok(ExitCode::SUCCESS)
                }
                Decision::NotHeld => {
                    println!(
                        "{uuid}: not held for review (it is announced as usual); nothing to do"
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Decision::WasRejected => bail!(
                    "{uuid}: was rejected (archived); a rejection is final and cannot be approved"
                ),
                Decision::Unknown => bail!("{uuid}: no workshop with this uuid"),
            }
        }
        Some(ReviewAction::Reject { uuid }) => match app.store().reject_review(&uuid, now).await? {
            Decision::Recorded => {
                println!("{uuid}: rejected; archived and never announced");
                Ok(ExitCode::SUCCESS)
            }
            Decision::Unknown => bail!("{uuid}: no workshop with this uuid"),
            _ => {
                println!("{uuid}: already rejected; nothing to do");
                Ok(ExitCode::SUCCESS)
            }
        },
    }
}

async fn list(app: &App, json: bool) -> anyhow::Result<ExitCode> {
    let held = app.store().held_workshops().await?;
    if json {
        println!("{}", serde_json::to_string_pretty(&held)?);
        return Ok(ExitCode::SUCCESS);
    }
    if held.is_empty() {
        println!("no workshop is held for review");
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} workshop(s) held for review (stored and listed, not announced until approved):",
        held.len()
    );
    for w in &held {
        println!("{}", describe(w));
    }
    println!(
        "approve: nachna-ingest review approve UUID; reject: nachna-ingest review reject UUID"
    );
    Ok(ExitCode::SUCCESS)
}

/// One held workshop, a few lines a person can act on.
pub fn describe(w: &HeldWorkshop) -> String {
    let what = match (&w.title, &w.song) {
        (Some(t), Some(s)) => format!("{t} — song {s}"),
        (Some(t), None) => t.clone(),
        (None, Some(s)) => format!("{} — song {s}", w.by),
        (None, None) => w.by.clone(),
    };
    let mut out = format!("  {}  [{}]  {what}\n", w.uuid, w.studio_id);
    for r in &w.reasons {
        out.push_str(&format!("    weak: {r}\n"));
    }
    out.push_str(&format!("    page: {}", w.page_url));
    if let Some(kind) = &w.pending {
        out.push_str(&format!("\n    waiting: {kind}"));
    }
    out
}

/// Fans out the released marker (and any other waiting one) now; the pushes go out
/// with the next dispatch (the daemon's, or `notify dispatch`).
async fn announce(app: &App) -> anyhow::Result<ExitCode> {
    let sources = app::load_sources(&app.settings().sources_dir).unwrap_or_else(|err| {
        debug!(error = %err, "no source files: every studio uses notify.default_timezone");
        Vec::new()
    });
    let notifier = app.notifier(Arc::new(SystemClock), &sources);
    let all: Vec<FanoutCounts> = match notifier.fan_out_pending().await {
        Ok(all) => all,
        Err(err) => {
            println!(
                "fan-out failed ({err}); the approval stands and the next ingest or daemon tick announces it"
            );
            return Ok(ExitCode::from(1));
        }
    };
    let notifications: u64 = all.iter().map(|c| c.notifications).sum();
    let pushes: u64 = all.iter().map(|c| c.pushes).sum();
    println!(
        "{notifications} notification(s) ({pushes} push(es)) enqueued; the daemon or `nachna-ingest notify dispatch` sends them"
    );
    Ok(ExitCode::SUCCESS)
}
