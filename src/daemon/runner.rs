//! Running studios. Every run, whoever asks (a schedule tick, a trigger request, the
//! manual `ingest`), goes through [`run_with_lease`]: the studio's lease is held, runs
//! an earlier owner left `running` are marked `interrupted`, artists are loaded fresh,
//! [`pipeline::run_source`] runs, metrics are recorded, the lease is released.
//!
//! In the daemon, [`Runner`] adds the overlap guard (one run per studio in this
//! process; a tick that finds its studio busy is skipped and logged, never queued),
//! the schedule's jitter, and the bookkeeping shutdown needs to wait for runs.

use super::lease::{Acquire, Lease, Leases, OwnerId};
use super::metrics;
use super::sources::SourceSet;
use super::systemd::Notifier;
use super::trigger::Requests;
use crate::pipeline::{self, NoProgress, Progress, RunContext, RunOptions};
use crate::report::{Outcome, RunReport};
use crate::source::Source;
use crate::store::runs::RUNS;
use crate::store::Store;
use chrono::{DateTime, Utc};
use mongodb::bson::{doc, oid::ObjectId, Document};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

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
    if let Err(err) = mark_stale_runs(&ctx.store, studio, lease.owner()).await {
        warn!(studio, error = %err, "could not check for runs left unfinished by another process");
    }
    let started_at = Utc::now();
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
    metrics::record_run(&report, &options.trigger);
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
    on_busy: impl FnMut(&super::lease::LeaseHolder),
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
        started_at: Utc::now().to_rfc3339(),
        errors: vec![message],
        ..RunReport::default()
    };
    let acquired = tokio::select! {
        a = leases.acquire_waiting(studio, "manual", busy_wait, on_busy) => a,
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
    let run_id = ctx
        .store
        .discovery
        .collection::<Document>(RUNS)
        .find_one_and_update(
            doc! {
                "studio_id": studio,
                "outcome": "running",
                "pid": std::process::id() as i64,
                "host": crate::store::runs::hostname(),
            },
            doc! { "$set": {
                "outcome": Outcome::Interrupted.as_str(),
                "finished_at": Utc::now(),
                "duration_ms": started.elapsed().as_millis() as i64,
            }, "$push": { "errors": &message } },
        )
        .sort(doc! { "started_at": -1 })
        .await
        .map_err(|err| warn!(studio = %studio, error = %err, "could not mark the run interrupted"))
        .ok()
        .flatten()
        .and_then(|d| d.get_str("_id").ok().map(str::to_string))
        .unwrap_or_default();
    RunReport {
        studio_id: studio.clone(),
        run_id,
        outcome: Outcome::Interrupted,
        started_at: started_at.to_rfc3339(),
        duration_ms: started.elapsed().as_millis() as u64,
        errors: vec![message],
        ..RunReport::default()
    }
}

/// Runs of `studio` still marked `running`: nobody can be running them, since we hold
/// the lease now, so their process died or lost its lease. Marked `interrupted`.
async fn mark_stale_runs(
    store: &Store,
    studio: &str,
    owner: &OwnerId,
) -> Result<(), mongodb::error::Error> {
    let r = store
        .discovery
        .collection::<Document>(RUNS)
        .update_many(
            doc! { "studio_id": studio, "outcome": "running" },
            doc! { "$set": { "outcome": Outcome::Interrupted.as_str(), "finished_at": Utc::now() },
                   "$push": { "errors": format!(
                       "interrupted: the process running it stopped without finishing (found by {owner} on taking the studio's lease)") } },
        )
        .await?;
    if r.modified_count > 0 {
        warn!(
            studio,
            runs = r.modified_count,
            "marked runs left unfinished by a stopped process as interrupted"
        );
    }
    Ok(())
}

/// Why a run was not started.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Busy {
    /// This process is running (or about to run) the studio.
    RunningHere,
    /// The daemon is shutting down.
    ShuttingDown,
}

/// What is going on for one studio in this process.
#[derive(Debug, Clone)]
pub struct ActiveRun {
    pub trigger: &'static str,
    pub since: DateTime<Utc>,
}

/// The daemon's runs: overlap guard, jitter, and what shutdown waits for.
#[derive(Clone)]
pub struct Runner {
    inner: Arc<Inner>,
}

struct Inner {
    ctx: RunContext,
    leases: Leases,
    sources: SourceSet,
    requests: Requests,
    notifier: Arc<Notifier>,
    jitter_max: Duration,
    active: Mutex<BTreeMap<String, ActiveRun>>,
    /// No new runs (shutdown began).
    stopping: CancellationToken,
    /// Cut the runs still going (the grace period ran out).
    hard_stop: CancellationToken,
}

/// A studio marked busy in this process; dropping it frees the studio.
pub struct Reservation {
    runner: Runner,
    studio: String,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        let n = {
            let mut active = self.runner.inner.active.lock().expect("active lock");
            active.remove(&self.studio);
            active.len()
        };
        metrics::set_runs_in_progress(n);
        self.runner.status_line();
    }
}

pub struct RunnerParts {
    pub ctx: RunContext,
    pub leases: Leases,
    pub sources: SourceSet,
    pub requests: Requests,
    pub notifier: Arc<Notifier>,
    pub jitter_max: Duration,
    pub stopping: CancellationToken,
}

impl Runner {
    pub fn new(parts: RunnerParts) -> Runner {
        Runner {
            inner: Arc::new(Inner {
                ctx: parts.ctx,
                leases: parts.leases,
                sources: parts.sources,
                requests: parts.requests,
                notifier: parts.notifier,
                jitter_max: parts.jitter_max,
                active: Mutex::new(BTreeMap::new()),
                stopping: parts.stopping,
                hard_stop: CancellationToken::new(),
            }),
        }
    }

    pub fn leases(&self) -> &Leases {
        &self.inner.leases
    }

    pub fn sources(&self) -> &SourceSet {
        &self.inner.sources
    }

    /// Marks `studio` busy in this process, unless it already is or we are stopping.
    pub fn reserve(&self, studio: &str, trigger: &'static str) -> Result<Reservation, Busy> {
        if self.inner.stopping.is_cancelled() {
            return Err(Busy::ShuttingDown);
        }
        let n = {
            let mut active = self.inner.active.lock().expect("active lock");
            if active.contains_key(studio) {
                return Err(Busy::RunningHere);
            }
            active.insert(
                studio.to_string(),
                ActiveRun {
                    trigger,
                    since: Utc::now(),
                },
            );
            active.len()
        };
        metrics::set_runs_in_progress(n);
        Ok(Reservation {
            runner: self.clone(),
            studio: studio.to_string(),
        })
    }

    /// Studios busy in this process.
    pub fn active(&self) -> BTreeMap<String, ActiveRun> {
        self.inner.active.lock().expect("active lock").clone()
    }

    fn status_line(&self) {
        let active = self.active();
        let line = if self.inner.stopping.is_cancelled() {
            format!("stopping: waiting for {} run(s)", active.len())
        } else if active.is_empty() {
            format!("idle; {} source(s) loaded", self.inner.sources.len())
        } else {
            let list: Vec<String> = active
                .iter()
                .map(|(s, a)| format!("{s} ({})", a.trigger))
                .collect();
            format!("running {}", list.join(", "))
        };
        self.inner.notifier.status(&line);
    }

    /// A cron tick for `studio`: skipped (and logged) when its previous run is still
    /// going here or another process holds its lease; otherwise run after a jitter.
    pub fn on_tick(&self, studio: &str) {
        let reservation = match self.reserve(studio, "schedule") {
            Ok(r) => r,
            Err(Busy::RunningHere) => {
                warn!(
                    studio,
                    "schedule tick skipped: the previous run of this studio is still going"
                );
                metrics::record_tick_skipped(studio, "running_here");
                return;
            }
            Err(Busy::ShuttingDown) => {
                metrics::record_tick_skipped(studio, "shutting_down");
                return;
            }
        };
        let runner = self.clone();
        let studio = studio.to_string();
        tokio::spawn(async move {
            let jitter_ms = runner.inner.jitter_max.as_millis() as u64;
            let jitter = Duration::from_millis(if jitter_ms == 0 {
                0
            } else {
                rand::random::<u64>() % (jitter_ms + 1)
            });
            tokio::select! {
                _ = tokio::time::sleep(jitter) => {}
                _ = runner.inner.stopping.cancelled() => return,
            }
            let Some(source) = runner.inner.sources.get(&studio) else {
                info!(studio, "schedule tick dropped: the source was removed");
                return;
            };
            match runner.inner.leases.try_acquire(&studio, "schedule").await {
                Ok(Acquire::Acquired(lease)) => {
                    let options = RunOptions {
                        trigger: "schedule".into(),
                        ..RunOptions::default()
                    };
                    runner
                        .run_reserved(reservation, lease, source, options, Vec::new())
                        .await;
                }
                Ok(Acquire::Busy(holder)) => {
                    info!(studio, holder = %holder, "schedule tick skipped: another process is running this studio");
                    metrics::record_tick_skipped(&studio, "leased_elsewhere");
                }
                Err(err) => {
                    error!(studio, error = %err, "schedule tick skipped: cannot take the studio's lease");
                    metrics::record_tick_skipped(&studio, "error");
                }
            }
        });
    }

    /// Starts a run for a studio already reserved and leased (the trigger watcher).
    pub fn spawn_run(
        &self,
        reservation: Reservation,
        lease: Lease,
        source: Arc<Source>,
        options: RunOptions,
        requests: Vec<ObjectId>,
    ) {
        let runner = self.clone();
        tokio::spawn(async move {
            runner
                .run_reserved(reservation, lease, source, options, requests)
                .await
        });
    }

    async fn run_reserved(
        &self,
        reservation: Reservation,
        lease: Lease,
        source: Arc<Source>,
        options: RunOptions,
        requests: Vec<ObjectId>,
    ) {
        self.status_line();
        let report = run_with_lease(
            &self.inner.ctx,
            lease,
            &source,
            &options,
            &NoProgress,
            &self.inner.hard_stop,
        )
        .await;
        if !requests.is_empty() {
            if let Err(err) = self.inner.requests.finish(&requests, &report).await {
                error!(studio = %source.studio.id, error = %err, "could not record the outcome on the trigger request(s)");
            }
        }
        drop(reservation);
    }

    /// Shutdown: waits up to `grace` for the runs in progress; then cuts them short
    /// (they record themselves as interrupted and release their leases) and waits for
    /// that bookkeeping, up to `cleanup` more. Returns how many runs were cut.
    pub async fn drain(&self, grace: Duration, cleanup: Duration) -> usize {
        self.inner.stopping.cancel();
        self.status_line();
        let deadline = tokio::time::Instant::now() + grace;
        while !self.active().is_empty() && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let cut = self.active().len();
        if cut > 0 {
            warn!(
                runs = cut,
                studios = ?self.active().keys().collect::<Vec<_>>(),
                "grace period over: stopping the runs still going"
            );
            self.inner.hard_stop.cancel();
            let deadline = tokio::time::Instant::now() + cleanup;
            while !self.active().is_empty() && tokio::time::Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        cut
    }

    /// Cuts every run now (a second SIGTERM/SIGINT during the grace period).
    pub fn stop_now(&self) {
        self.inner.stopping.cancel();
        self.inner.hard_stop.cancel();
    }
}
