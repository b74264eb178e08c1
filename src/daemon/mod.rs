//! The long-running service, `nachna-ingest run`.
//!
//! ```text
//!             ┌ scheduler: one cron job per enabled source (studio zone, jitter) ┐
//!  signals ──►│ trigger watcher: polls ingest_requests every ~2 s               ├─► Runner ─► lease ─► run_source
//!  SIGHUP ───►│ reload: re-read sources/, add/remove/replace jobs               │     (overlap guard, metrics)
//!             └ background tasks: outbox dispatcher, reminder scan (notify)     ┘
//!  liveness loop: scheduler heartbeat ─► WATCHDOG=1, ingest_daemons presence
//!  health server: /healthz /readyz /metrics
//! ```
//!
//! | file | what |
//! |---|---|
//! | `runner.rs` | the daemon's runs: overlap guard, jitter, shutdown bookkeeping (each run is `runs::run_with_lease`) |
//! | `scheduler.rs` | tokio-cron-scheduler jobs and the heartbeat job |
//! | `trigger.rs` | `ingest_requests`: insert, claim, outcome; the watcher loop |
//! | `reload.rs` | SIGHUP |
//! | `shutdown.rs` | SIGTERM/SIGINT and what stopping means |
//! | `systemd.rs` | the service manager: `READY`, `WATCHDOG`, `STATUS`, `STOPPING` |
//! | `http.rs` | health and metrics server |
//! | `presence.rs` | `ingest_daemons`: who is up, what it schedules |
//! | `sources.rs` | the live, swappable set of sources |
//!
//! Layer: the daemon is built by `commands::run` from the application's parts
//! (`app::App`); it uses `runs`, `notify`, `pipeline` and `store`, never `commands`
//! or `app`.

pub mod http;
pub mod presence;
pub mod reload;
pub mod runner;
pub mod scheduler;
pub mod shutdown;
pub mod sources;
pub mod systemd;
pub mod trigger;

use crate::clock::SystemClock;
use crate::fetch::Fetcher;
use crate::metrics;
use crate::notify::sender::Pusher;
use crate::notify::Notifier;
use crate::pipeline::RunContext;
use crate::process::OwnerId;
use crate::runs::lease::{LeaseTiming, Leases};
use crate::settings::Settings;
use crate::source::Source;
use crate::store::Store;
use anyhow::Context;
use futures::future::BoxFuture;
use presence::Presence;
use runner::{Runner, RunnerParts};
use scheduler::Scheduler;
use shutdown::Signals;
use sources::SourceSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use systemd::ServiceManager;
use tokio::signal::unix::{signal, SignalKind};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};
use trigger::Requests;

/// The scheduler counts as alive while its heartbeat job ran within this.
const HEARTBEAT_FRESH: Duration = Duration::from_secs(10);

/// What a background task gets: the store, the settings, who we are, and the token
/// that fires when the daemon starts stopping (finish what you hold, take nothing new;
/// you are aborted when the grace period ends).
#[derive(Clone)]
pub struct BackgroundContext {
    pub store: Store,
    pub settings: Settings,
    pub owner: OwnerId,
    pub stopping: CancellationToken,
}

type BackgroundFn = Box<dyn FnOnce(BackgroundContext) -> BoxFuture<'static, ()> + Send>;

/// A loop the daemon runs alongside the schedule (the outbox dispatcher, the reminder
/// scan), started once the daemon is ready and stopped at shutdown.
pub struct BackgroundTask {
    pub name: &'static str,
    run: BackgroundFn,
}

impl BackgroundTask {
    /// A task that runs until `ctx.stopping` fires (e.g. a dispatcher with its own loop).
    pub fn new<F, Fut>(name: &'static str, f: F) -> BackgroundTask
    where
        F: FnOnce(BackgroundContext) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        BackgroundTask {
            name,
            run: Box::new(move |ctx| Box::pin(f(ctx))),
        }
    }

    /// A task that calls `f` every `interval` (first call at once) until stopping.
    pub fn every<F, Fut>(name: &'static str, interval: Duration, f: F) -> BackgroundTask
    where
        F: Fn(BackgroundContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        BackgroundTask::new(name, move |ctx: BackgroundContext| async move {
            loop {
                f(ctx.clone()).await;
                tokio::select! {
                    _ = tokio::time::sleep(interval) => {}
                    _ = ctx.stopping.cancelled() => break,
                }
            }
        })
    }
}

/// How often the dispatcher looks for new work when the outbox was empty.
const DISPATCH_POLL: Duration = Duration::from_secs(5);

/// The notification loops the daemon runs:
/// * the outbox dispatcher: fans out the `pending_fanout` markers that any replica's
///   runs left, then drains the outbox with lease-based claims (safe with several
///   replicas), feeding the outbox and push metrics;
/// * the reminder scan, every `notify.reminder_scan_interval_secs`.
///
/// The sender is built once (by the application), so the process reuses one APNs client
/// (and its cached provider token) for its whole life. With no credentials, one warning says so and the
/// outbox keeps its notifications pending.
pub fn notification_tasks(
    notifier: &Notifier,
    pusher: Option<Arc<dyn Pusher>>,
    reminder_scan_interval: Duration,
) -> Vec<BackgroundTask> {
    let dispatcher = notifier.clone();
    let reminders = notifier.clone();
    vec![
        BackgroundTask::every("outbox_dispatcher", DISPATCH_POLL, move |_| {
            let notifier = dispatcher.clone();
            let pusher = pusher.clone();
            async move {
                if let Err(err) = notifier.fan_out_pending().await {
                    warn!(error = %err, "fan-out of new and changed workshops failed; retrying next round");
                }
                if let Some(pusher) = pusher {
                    match notifier.dispatch(pusher.as_ref()).await {
                        Ok(report) => {
                            if let Some(fault) = &report.stopped {
                                error!(fault = ?fault, "APNs refused our credentials: dispatch stopped, notifications stay pending");
                            }
                        }
                        Err(err) => {
                            warn!(error = %err, "outbox dispatch failed; retrying next round")
                        }
                    }
                }
                if let Ok(status) = notifier.outbox_status().await {
                    for (status, count) in status.totals() {
                        metrics::set_outbox_depth(&status, count);
                    }
                }
            }
        }),
        BackgroundTask::every("reminder_scan", reminder_scan_interval, move |_| {
            let notifier = reminders.clone();
            async move {
                if let Err(err) = notifier
                    .enqueue_due_reminders(crate::notify::fanout::Mode::Write)
                    .await
                {
                    warn!(error = %err, "reminder scan failed; retrying next round");
                }
            }
        }),
    ]
}

/// What the daemon is built from (the application's parts; see `app::App`).
pub struct DaemonParts {
    pub settings: Settings,
    pub store: Store,
    pub fetcher: Fetcher,
    /// Fan-out, reminders and dispatch, with the studios' zones.
    pub notifier: Notifier,
    /// The push sender; `None` keeps notifications pending (no credentials).
    pub pusher: Option<Arc<dyn Pusher>>,
    /// Validated sources.
    pub sources: Vec<Source>,
}

/// A daemon connected to MongoDB with its sources loaded, ready to run.
pub struct Daemon {
    settings: Settings,
    store: Store,
    owner: OwnerId,
    sources: SourceSet,
    runner: Runner,
    requests: Requests,
    presence: Presence,
    service: Arc<ServiceManager>,
    stopping: CancellationToken,
    health_address: Option<SocketAddr>,
    background: Vec<BackgroundTask>,
    signals: Signals,
}

impl Daemon {
    /// Prepares every part. `signals` are installed by the caller before it connects
    /// to MongoDB, so a signal during start-up is not lost.
    pub fn build(
        parts: DaemonParts,
        signals: Signals,
        service: Arc<ServiceManager>,
    ) -> anyhow::Result<Daemon> {
        let DaemonParts {
            settings,
            store,
            fetcher,
            notifier,
            pusher,
            sources,
        } = parts;
        let health_address =
            http::parse_address(&settings.daemon.health_address).map_err(anyhow::Error::msg)?;
        let ctx = RunContext {
            store: store.clone(),
            fetcher,
            clock: Arc::new(SystemClock),
            config: settings.ingest.clone(),
        };
        let owner = OwnerId::new();
        let leases = Leases::new(
            store.clone(),
            owner.clone(),
            LeaseTiming::from_settings(&settings.daemon),
        );
        let requests = Requests::new(store.clone(), owner.clone());
        let sources = SourceSet::new(sources);
        let stopping = CancellationToken::new();
        let runner = Runner::new(RunnerParts {
            ctx,
            leases,
            sources: sources.clone(),
            service: service.clone(),
            jitter_max: Duration::from_millis(settings.daemon.jitter_max_ms),
            stopping: stopping.clone(),
        });
        let background =
            notification_tasks(&notifier, pusher, settings.notify.reminder_scan_interval());
        Ok(Daemon {
            presence: Presence::new(store.clone(), owner.clone()),
            settings,
            store,
            owner,
            sources,
            runner,
            requests,
            service,
            stopping,
            health_address,
            background,
            signals,
        })
    }

    /// Adds a loop to run alongside the schedule (see [`notification_tasks`]).
    pub fn add_background_task(&mut self, task: BackgroundTask) {
        self.background.push(task);
    }

    /// Runs until SIGTERM or SIGINT, then stops cleanly (see [`shutdown`]).
    pub async fn run_until_stopped(mut self) -> anyhow::Result<()> {
        metrics::install();
        let mut hangup = signal(SignalKind::hangup()).context("installing the SIGHUP handler")?;
        let scheduler = self.start_scheduler().await?;
        let health = self.start_health_server(&scheduler).await?;
        self.announce_ready(&scheduler).await;
        let tasks = self.start_tasks(&scheduler);
        let signal_name = self.wait_for_stop(&mut hangup, &scheduler).await;
        self.shut_down(signal_name, &scheduler, tasks, health).await;
        Ok(())
    }

    /// One cron job per enabled source, plus the heartbeat job.
    async fn start_scheduler(&self) -> anyhow::Result<Arc<Scheduler>> {
        let scheduler = Arc::new(Scheduler::new(self.runner.clone()).await?);
        for source in self.sources.all() {
            scheduler.add(&source).await?;
        }
        scheduler.start().await?;
        Ok(scheduler)
    }

    /// `/healthz`, `/readyz`, `/metrics` on `daemon.health_address` (unless `off`).
    async fn start_health_server(&self, scheduler: &Arc<Scheduler>) -> anyhow::Result<Health> {
        let stop = CancellationToken::new();
        let Some(addr) = self.health_address else {
            return Ok(Health { stop, task: None });
        };
        let state = Arc::new(http::HealthState {
            store: self.store.clone(),
            readiness: Arc::new(DaemonReadiness {
                scheduler: scheduler.clone(),
                stopping: self.stopping.clone(),
            }),
        });
        let (_, task) = http::serve(addr, state, stop.clone())
            .await
            .with_context(|| {
                format!("starting the health server on {addr} (daemon.health_address)")
            })?;
        Ok(Health {
            stop,
            task: Some(task),
        })
    }

    /// Records this daemon in `ingest_daemons`, logs and tells systemd `READY=1`.
    async fn announce_ready(&self, scheduler: &Scheduler) {
        let scheduled = scheduler.scheduled().await;
        if let Err(err) = self.presence.beat("running", &scheduled, &[]).await {
            warn!(error = %err, "could not record this daemon in ingest_daemons");
        }
        let ready = format!(
            "ready: {} source(s), {} scheduled",
            self.sources.len(),
            scheduled.len()
        );
        info!(owner = %self.owner, "{ready}");
        self.service.ready(&ready);
    }

    /// The trigger watcher, the background tasks and the liveness loop.
    fn start_tasks(&mut self, scheduler: &Arc<Scheduler>) -> Tasks {
        let watcher = tokio::spawn(trigger::watch(
            self.runner.clone(),
            self.requests.clone(),
            Duration::from_millis(self.settings.daemon.trigger_poll_ms.max(100)),
            Duration::from_secs(self.settings.daemon.trigger_expiry_secs),
            self.stopping.clone(),
        ));
        let background_ctx = BackgroundContext {
            store: self.store.clone(),
            settings: self.settings.clone(),
            owner: self.owner.clone(),
            stopping: self.stopping.clone(),
        };
        let background = std::mem::take(&mut self.background)
            .into_iter()
            .map(|t| {
                info!(task = t.name, "background task started");
                (t.name, tokio::spawn((t.run)(background_ctx.clone())))
            })
            .collect();
        let liveness = tokio::spawn(liveness_loop(
            scheduler.clone(),
            self.service.clone(),
            self.presence.clone(),
            self.runner.clone(),
            self.stopping.clone(),
        ));
        Tasks {
            watcher,
            background,
            liveness,
        }
    }

    /// Serves SIGHUP reloads until SIGTERM or SIGINT; returns that signal's name.
    async fn wait_for_stop(
        &mut self,
        hangup: &mut tokio::signal::unix::Signal,
        scheduler: &Scheduler,
    ) -> &'static str {
        loop {
            tokio::select! {
                name = self.signals.recv() => return name,
                _ = hangup.recv() => self.reload(scheduler).await,
            }
        }
    }

    async fn reload(&self, scheduler: &Scheduler) {
        info!(
            "SIGHUP: reloading sources from {}",
            self.settings.sources_dir.display()
        );
        let _ = reload::reload(&self.settings.sources_dir, &self.sources, scheduler).await;
        let running: Vec<String> = self.runner.active().keys().cloned().collect();
        if let Err(err) = self
            .presence
            .beat("running", &scheduler.scheduled().await, &running)
            .await
        {
            warn!(error = %err, "could not update ingest_daemons");
        }
    }

    /// Stopping (see [`shutdown`]): no new runs, the runs in progress get the grace
    /// period, background tasks finish what they hold, then everything else stops.
    async fn shut_down(
        self,
        signal_name: &'static str,
        scheduler: &Scheduler,
        tasks: Tasks,
        health: Health,
    ) {
        let grace = Duration::from_secs(self.settings.daemon.grace_period_secs);
        let active = self.runner.active().len();
        info!(
            signal = signal_name,
            runs_in_progress = active,
            grace_secs = grace.as_secs(),
            "stopping: no new runs; waiting for the runs in progress"
        );
        self.stopping.cancel();
        self.service.stopping(&format!(
            "stopping ({signal_name}): waiting up to {}s for {active} run(s)",
            grace.as_secs()
        ));
        let _ = self.presence.beat("stopping", &[], &[]).await;
        scheduler.shutdown().await;
        let mut signals = self.signals;
        let second = tokio::spawn({
            let runner = self.runner.clone();
            async move {
                let name = signals.recv().await;
                warn!(
                    signal = name,
                    "second signal: cutting the runs in progress now"
                );
                runner.stop_now();
            }
        });
        let grace_deadline = Instant::now() + grace;
        let cut = self.runner.drain(grace, Duration::from_secs(10)).await;
        stop_background(tasks.background, grace_deadline).await;
        let _ = tokio::time::timeout(Duration::from_secs(5), tasks.watcher).await;
        tasks.liveness.abort();
        second.abort();
        if let Err(err) = self.presence.remove().await {
            warn!(error = %err, "could not remove this daemon from ingest_daemons");
        }
        health.stop.cancel();
        if let Some(task) = health.task {
            let _ = tokio::time::timeout(Duration::from_secs(2), task).await;
        }
        info!(runs_cut_short = cut, "stopped");
    }
}

/// The health server's task and what stops it.
struct Health {
    stop: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// The daemon's loops besides the scheduler.
struct Tasks {
    watcher: tokio::task::JoinHandle<()>,
    background: Vec<(&'static str, tokio::task::JoinHandle<()>)>,
    liveness: tokio::task::JoinHandle<()>,
}

/// Waits for the background tasks until the grace period ends; aborts the rest.
async fn stop_background(
    background: Vec<(&'static str, tokio::task::JoinHandle<()>)>,
    grace_deadline: Instant,
) {
    for (name, handle) in background {
        let abort = handle.abort_handle();
        if tokio::time::timeout_at(grace_deadline, handle)
            .await
            .is_err()
        {
            warn!(
                task = name,
                "background task still busy after the grace period: stopped"
            );
            abort.abort();
        }
    }
}

struct DaemonReadiness {
    scheduler: Arc<Scheduler>,
    stopping: CancellationToken,
}

impl http::Readiness for DaemonReadiness {
    fn scheduler_problem(&self) -> Option<String> {
        let age = self.scheduler.heartbeat_age();
        (age > HEARTBEAT_FRESH)
            .then(|| format!("scheduler heartbeat is {}s old (stalled?)", age.as_secs()))
    }

    fn stopping(&self) -> bool {
        self.stopping.is_cancelled()
    }
}

/// Proves the scheduler alive to systemd (`WATCHDOG=1` only while its heartbeat job
/// keeps running) and refreshes this daemon's presence document.
async fn liveness_loop(
    scheduler: Arc<Scheduler>,
    service: Arc<ServiceManager>,
    presence: Presence,
    runner: Runner,
    stopping: CancellationToken,
) {
    let watchdog = service.watchdog_interval();
    let step = watchdog
        .map(|w| w.min(Duration::from_secs(1)))
        .unwrap_or(Duration::from_secs(1));
    let mut last_watchdog: Option<Instant> = None;
    let mut last_beat = Instant::now();
    let mut stalled = false;
    loop {
        tokio::select! {
            _ = tokio::time::sleep(step) => {}
            _ = stopping.cancelled() => return,
        }
        let fresh = scheduler.heartbeat_age() <= HEARTBEAT_FRESH;
        if !fresh && !stalled {
            error!(
                heartbeat_age_secs = scheduler.heartbeat_age().as_secs(),
                "the scheduler stopped ticking: withholding WATCHDOG=1 so systemd restarts us"
            );
        }
        stalled = !fresh;
        if let Some(every) = watchdog {
            if fresh && last_watchdog.is_none_or(|t| t.elapsed() >= every) {
                service.watchdog();
                last_watchdog = Some(Instant::now());
            }
        }
        if last_beat.elapsed() >= presence::BEAT_EVERY {
            last_beat = Instant::now();
            let running: Vec<String> = runner.active().keys().cloned().collect();
            if let Err(err) = presence
                .beat("running", &scheduler.scheduled().await, &running)
                .await
            {
                warn!(error = %err, "could not update ingest_daemons");
            }
        }
    }
}
