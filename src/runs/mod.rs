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
use crate::process;
use crate::report::{Outcome, RunReport};
use crate::source::Source;
use crate::store::Store;
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
        // The id is made here, before the run, so the lease holder and the run agree
        // on it from the start.
        let options = RunOptions {
            run_id: Some(
                options
                    .run_id
                    .clone()
                    .unwrap_or_else(|| pipeline::new_run_id(studio, started_at)),
            ),
            ..options.clone()
        };
        pipeline::run_source(ctx, source, &artists, &options, progress).await
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

/// Runs left `running` by a process that died (a crash, SIGKILL, power loss) are
/// recognised when the next process starts (`ingest`, `run`), not only when the studio's
/// lease is next taken: each is marked `interrupted` with the reason. A run is dead when
/// it was started on this host by a pid that no longer exists or that is ours (a
/// container restart reuses pids: call this before this process starts any run), or
/// when its process no longer holds the studio's lease (other hosts). A run whose owner
/// still holds a live lease is left alone. Returns the run ids marked.
pub async fn recover_crashed_runs(store: &Store, now: DateTime<Utc>) -> Vec<String> {
    let running = match store.running_runs().await {
        Ok(r) => r,
        Err(err) => {
            warn!(error = %err, "could not look for runs left unfinished by a crashed process");
            return Vec::new();
        }
    };
    let here = process::hostname();
    let me = i64::from(process::pid());
    let mut marked = Vec::new();
    for run in running {
        let gone = if run.host == here && (run.pid == me || !pid_alive(run.pid)) {
            Some(format!(
                "its process (pid {} on {}) is gone",
                run.pid, run.host
            ))
        } else {
            match store.lease_holder(&run.studio_id).await {
                Ok(Some(h))
                    if lease_of(&h.owner, &run.host, run.pid)
                        && h.expires_at.is_some_and(|e| e > now) =>
                {
                    None
                }
                Ok(_) => Some(format!(
                    "its process (pid {} on {}) no longer holds the studio's lease",
                    run.pid, run.host
                )),
                Err(err) => {
                    warn!(run_id = %run.run_id, error = %err, "could not check the lease of a running run");
                    None
                }
            }
        };
        let Some(gone) = gone else { continue };
        let message = format!(
            "interrupted: {gone}; the run crashed without finishing (found by pid {me} on {here} at its start); the next run completes the work"
        );
        match store.mark_run_crashed(&run.run_id, &message, now).await {
            Ok(true) => {
                warn!(studio = %run.studio_id, run_id = %run.run_id, reason = %gone,
                    "a run left running by a crashed process is marked interrupted");
                marked.push(run.run_id);
            }
            Ok(false) => {}
            Err(err) => {
                warn!(run_id = %run.run_id, error = %err, "could not mark a crashed run interrupted")
            }
        }
    }
    marked
}

/// Whether a lease owner (`host:pid:random`) is the process `host`/`pid`.
fn lease_of(owner: &str, host: &str, pid: i64) -> bool {
    owner
        .strip_prefix(host)
        .and_then(|rest| rest.strip_prefix(':'))
        .and_then(|rest| rest.split(':').next())
        .is_some_and(|p| p == pid.to_string())
}

/// Whether a process with this pid exists on this host.
fn pid_alive(pid: i64) -> bool {
    pid > 0 && std::path::Path::new(&format!("/proc/{pid}")).exists()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lease_owner_names_its_host_and_pid() {
        assert!(lease_of("box:42:a1b2c3", "box", 42));
        assert!(!lease_of("box:421:a1b2c3", "box", 42));
        assert!(!lease_of("boxer:42:a1b2c3", "box", 42));
        assert!(!lease_of("other:42:a1b2c3", "box", 42));
    }

    #[test]
    fn this_process_is_alive_and_pid_zero_is_not() {
        assert!(pid_alive(i64::from(std::process::id())));
        assert!(!pid_alive(0));
    }
}
