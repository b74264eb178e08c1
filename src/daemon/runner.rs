//! The daemon's runs. Every run goes through [`crate::runs::run_with_lease`]; the
//! [`Runner`] adds the overlap guard (one run per studio in this process; a tick that
//! finds its studio busy is skipped and logged, never queued), the schedule's jitter,
//! and the bookkeeping shutdown needs to wait for runs.

use super::sources::SourceSet;
use super::systemd::ServiceManager;
use crate::metrics;
use crate::pipeline::{NoProgress, RunContext, RunOptions, RunTrigger};
use crate::report::RunReport;
use crate::runs::lease::{Acquire, Lease, Leases};
use crate::runs::run_with_lease;
use crate::source::Source;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

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
    pub trigger: RunTrigger,
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
    service: Arc<ServiceManager>,
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
    pub service: Arc<ServiceManager>,
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
                service: parts.service,
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
    pub fn reserve(&self, studio: &str, trigger: RunTrigger) -> Result<Reservation, Busy> {
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
        self.inner.service.status(&line);
    }

    /// A cron tick for `studio`: skipped (and logged) when its previous run is still
    /// going here or another process holds its lease; otherwise run after a jitter.
    pub fn on_tick(&self, studio: &str) {
        let reservation = match self.reserve(studio, RunTrigger::Schedule) {
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
            match runner
                .inner
                .leases
                .try_acquire(&studio, RunTrigger::Schedule.as_str())
                .await
            {
                Ok(Acquire::Acquired(lease)) => {
                    let options = RunOptions {
                        trigger: RunTrigger::Schedule,
                        ..RunOptions::default()
                    };
                    runner.run_reserved(lease, &source, &options).await;
                    drop(reservation);
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

    /// Runs a studio already reserved (by the caller, who drops the reservation when
    /// its own bookkeeping is done) and leased.
    pub async fn run_reserved(
        &self,
        lease: Lease,
        source: &Source,
        options: &RunOptions,
    ) -> RunReport {
        self.status_line();
        run_with_lease(
            &self.inner.ctx,
            lease,
            source,
            options,
            &NoProgress,
            &self.inner.hard_stop,
        )
        .await
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
