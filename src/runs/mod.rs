//! Running one studio under its lease. Every run, whoever asks (a schedule tick, a
//! trigger request, the manual `ingest`), goes through [`run_with_lease`]: the studio's
//! lease is held, runs an earlier owner left `running` are marked `interrupted`,
//! artists are loaded fresh, [`pipeline::run_source`] runs, metrics are recorded, the
//! lease is released. [`run_manual`] is the manual `ingest`'s way in (it waits for a
//! busy studio); the daemon's way in is `daemon::runner::Runner`.
//!
//! Layer: above `pipeline` and `store`; below `daemon`, `app` and `commands`.

pub mod lease;

use crate::metrics;
use crate::pipeline::{self, Progress, RunContext, RunOptions};
use crate::report::{Outcome, RunReport};
use crate::source::Source;
use chrono::{DateTime, Utc};
use lease::{Acquire, Lease, LeaseHolder, Leases};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::warn;

/// Runs one studio while holding its lease, then releases the lease. Stops early, with
/// outcome `interrupted`, when `stop` fires or the lease is lost; what the run had
/// written stays (every write is complete per workshop) and the next run completes it.
pub async fn run_with_lease(
    ctx: &RunContext,
    lease: Lease,
    source: &Source,
    options: &RunOptions,
    progress: &dyn Progress,
    stop: &CancellationToken,
) -> RunReport {
    let studio = source.studio.id.as_str();
    mark_stale_runs(ctx, studio, &lease).await;
    let started_at = ctx.clock.now();
    let started = Instant::now();
    let lost = lease.lost();
    let run = async {
        let artists = match ctx.store.load_artists().await {
            Ok(a) => a,
            Err(err) => {
                return RunReport {
                    studio_id: studio.to_string(),
                    outcome: Outcome::Failed,
                    started_at: started_at.to_rfc3339(),
                    errors: vec![format!("loading artists: {err}")],
                    ..RunReport::default()
                }
            }
        };
        pipeline::run_source(ctx, source, &artists, options, progress).await
    };
    let report = tokio::select! {
        report = run => report,
        _ = lost.cancelled() => {
            interrupted(ctx, source, started_at, started,
                "its lease was lost (renewals failed or another process took it over)").await
        }
        _ = stop.cancelled() => {
            interrupted(ctx, source, started_at, started,
                "the process was stopped before the run finished").await
        }
    };
    metrics::record_run(&report, options.trigger.as_str());
    lease.release().await;
    report
}

/// How the manual `ingest` takes leases.
pub struct ManualLeases<'a> {
    pub leases: &'a Leases,
    /// How long to wait while another process runs the studio.
    pub busy_wait: Duration,
    /// Ctrl-C.
    pub stop: &'a CancellationToken,
}

/// The manual `ingest` of one studio: takes the lease, waiting up to `busy_wait` while
/// another process (a daemon, another `ingest`) runs the studio (`on_busy` hears who,
/// once), then runs it. Still busy after the wait: a `failed` report naming the holder.
pub async fn run_manual(
    ctx: &RunContext,
    manual: &ManualLeases<'_>,
    source: &Source,
    options: &RunOptions,
    progress: &dyn Progress,
    on_busy: impl FnMut(&LeaseHolder),
) -> RunReport {
    let ManualLeases {
        leases,
        busy_wait,
        stop,
    } = *manual;
    let studio = &source.studio.id;
    let failed = |message: String| RunReport {
        studio_id: studio.clone(),
        outcome: Outcome::Failed,
        started_at: ctx.clock.now().to_rfc3339(),
        errors: vec![message],
        ..RunReport::default()
    };
    let acquired = tokio::select! {
        a = leases.acquire_waiting(studio, options.trigger.as_str(), busy_wait, on_busy) => a,
        _ = stop.cancelled() => return RunReport {
            outcome: Outcome::Interrupted,
            ..failed("interrupted before it started".into())
        },
    };
    match acquired {
        Ok(Acquire::Acquired(lease)) => {
            run_with_lease(ctx, lease, source, options, progress, stop).await
        }
        Ok(Acquire::Busy(holder)) => failed(format!(
            "not run: the studio is busy, {holder} is running it (waited {} s; \
             daemon.busy_wait_secs sets how long)",
            busy_wait.as_secs()
        )),
        Err(err) => failed(format!("not run: cannot take the studio's lease: {err}")),
    }
}

/// The report of a run cut short, after marking its `ingest_runs` document (we hold
/// the lease, so the studio's `running` document from this process is this run's).
async fn interrupted(
    ctx: &RunContext,
    source: &Source,
    started_at: DateTime<Utc>,
    started: Instant,
    why: &str,
) -> RunReport {
    let studio = &source.studio.id;
    warn!(studio = %studio, reason = why, "run interrupted");
    let message = format!("interrupted: {why}; the next run completes the work");
    let duration_ms = started.elapsed().as_millis() as u64;
    let run_id = ctx
        .store
        .mark_run_interrupted(studio, &message, duration_ms, ctx.clock.now())
        .await
        .map_err(|err| warn!(studio = %studio, error = %err, "could not mark the run interrupted"))
        .ok()
        .flatten()
        .unwrap_or_default();
    RunReport {
        studio_id: studio.clone(),
        run_id,
        outcome: Outcome::Interrupted,
        started_at: started_at.to_rfc3339(),
        duration_ms,
        errors: vec![message],
        ..RunReport::default()
    }
}

/// Runs of `studio` still marked `running`: nobody can be running them, since we hold
/// the lease now, so their process died or lost its lease. Marked `interrupted`.
async fn mark_stale_runs(ctx: &RunContext, studio: &str, lease: &Lease) {
    let message = format!(
        "interrupted: the process running it stopped without finishing (found by {} on taking the studio's lease)",
        lease.owner()
    );
    match ctx
        .store
        .mark_stale_runs(studio, &message, ctx.clock.now())
        .await
    {
        Ok(0) => {}
        Ok(runs) => warn!(
            studio,
            runs, "marked runs left unfinished by a stopped process as interrupted"
        ),
        Err(err) => {
            warn!(studio, error = %err, "could not check for runs left unfinished by another process")
        }
    }
}
