//! Cron schedules: one tokio-cron-scheduler job per enabled source, its expression read
//! in the studio's time zone (`Job::new_async_tz`), plus a one-second heartbeat job whose
//! last beat proves the scheduler loop is alive (for `WATCHDOG=1` and `/readyz`).
//!
//! A job only hands the tick to [`Runner::on_tick`], which applies the overlap guard,
//! the jitter and the lease; the scheduler itself never waits for a run.
//!
//! Known limit of tokio-cron-scheduler 0.15: the zone's UTC offset is fixed when the
//! job is created, so in zones with daylight saving a job keeps the old offset until
//! the next reload or restart. The default zone (Asia/Kolkata) has none.

use super::runner::Runner;
use crate::metrics;
use crate::source::Source;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};
use tracing::{info, warn};
use uuid::Uuid;

pub use crate::store::daemons::Scheduled;

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("studio {studio}: cannot schedule `{cron}` in {tz}: {source:?}")]
    Job {
        studio: String,
        cron: String,
        tz: String,
        source: JobSchedulerError,
    },
    #[error("the job scheduler failed: {0:?}")]
    Scheduler(JobSchedulerError),
}

pub struct Scheduler {
    sched: JobScheduler,
    runner: Runner,
    jobs: Mutex<BTreeMap<String, (Uuid, Scheduled)>>,
    heartbeat: Arc<AtomicI64>,
}

impl Scheduler {
    /// A scheduler with its heartbeat job; sources are added with [`add`](Self::add).
    pub async fn new(runner: Runner) -> Result<Scheduler, ScheduleError> {
        let sched = JobScheduler::new()
            .await
            .map_err(ScheduleError::Scheduler)?;
        let heartbeat = Arc::new(AtomicI64::new(Utc::now().timestamp_millis()));
        let beat = heartbeat.clone();
        let job = Job::new_async("* * * * * *", move |_id, _lock| {
            beat.store(Utc::now().timestamp_millis(), Ordering::Relaxed);
            Box::pin(async {})
        })
        .map_err(ScheduleError::Scheduler)?;
        sched.add(job).await.map_err(ScheduleError::Scheduler)?;
        Ok(Scheduler {
            sched,
            runner,
            jobs: Mutex::new(BTreeMap::new()),
            heartbeat,
        })
    }

    pub async fn start(&self) -> Result<(), ScheduleError> {
        self.sched.start().await.map_err(ScheduleError::Scheduler)
    }

    /// Time since the heartbeat job last ran.
    pub fn heartbeat_age(&self) -> Duration {
        let last = self.heartbeat.load(Ordering::Relaxed);
        let age = Utc::now().timestamp_millis().saturating_sub(last);
        Duration::from_millis(age.max(0) as u64)
    }

    /// Schedules an enabled source (a disabled one is only logged).
    pub async fn add(&self, source: &Source) -> Result<(), ScheduleError> {
        let studio = source.studio.id.clone();
        if !source.schedule.enabled {
            info!(studio, "schedule disabled in the source file: not scheduled (trigger and ingest still work)");
            return Ok(());
        }
        let runner = self.runner.clone();
        let tick_studio = studio.clone();
        let job = Job::new_async_tz(
            source.schedule.cron.as_str(),
            source.timezone,
            move |_id, _lock| {
                runner.on_tick(&tick_studio);
                Box::pin(async {})
            },
        )
        .map_err(|e| self.job_error(source, e))?;
        let id = self
            .sched
            .add(job)
            .await
            .map_err(|e| self.job_error(source, e))?;
        let entry = Scheduled {
            studio_id: studio.clone(),
            cron: source.schedule.cron.clone(),
            timezone: source.timezone.name().to_string(),
            next_run: None,
        };
        info!(studio, cron = %entry.cron, timezone = %entry.timezone, "scheduled");
        let old = self.jobs.lock().await.insert(studio, (id, entry));
        if let Some((old_id, _)) = old {
            self.remove_job(old_id).await;
        }
        metrics::set_sources_scheduled(self.jobs.lock().await.len());
        Ok(())
    }

    fn job_error(&self, source: &Source, e: JobSchedulerError) -> ScheduleError {
        ScheduleError::Job {
            studio: source.studio.id.clone(),
            cron: source.schedule.cron.clone(),
            tz: source.timezone.name().to_string(),
            source: e,
        }
    }

    /// Unschedules a studio (a run in progress finishes normally).
    pub async fn remove(&self, studio: &str) {
        let old = self.jobs.lock().await.remove(studio);
        if let Some((id, _)) = old {
            self.remove_job(id).await;
            info!(studio, "unscheduled");
        }
        metrics::set_sources_scheduled(self.jobs.lock().await.len());
    }

    async fn remove_job(&self, id: Uuid) {
        if let Err(err) = self.sched.remove(&id).await {
            warn!(error = ?err, "could not remove a cron job");
        }
    }

    /// Every scheduled studio with its next tick.
    pub async fn scheduled(&self) -> Vec<Scheduled> {
        let jobs: Vec<(Uuid, Scheduled)> = self.jobs.lock().await.values().cloned().collect();
        let mut sched = self.sched.clone();
        let mut out = Vec::with_capacity(jobs.len());
        for (id, mut entry) in jobs {
            entry.next_run = sched.next_tick_for_job(id).await.ok().flatten();
            out.push(entry);
        }
        out
    }

    pub async fn shutdown(&self) {
        let mut sched = self.sched.clone();
        if let Err(err) = sched.shutdown().await {
            warn!(error = ?err, "job scheduler shutdown");
        }
    }
}

/// The next time `cron` fires in `tz` after `after` (for `status` when no daemon says).
pub fn next_after(cron: &str, tz: chrono_tz::Tz, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let parsed = croner::parser::CronParser::builder()
        .seconds(croner::parser::Seconds::Required)
        .dom_and_dow(true)
        .build()
        .parse(cron)
        .ok()?;
    parsed
        .find_next_occurrence(&after.with_timezone(&tz), false)
        .ok()
        .map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn next_run_is_read_in_the_studio_zone() {
        // 06:00 in Kolkata is 00:30 UTC.
        let after = Utc.with_ymd_and_hms(2026, 6, 1, 0, 0, 0).unwrap();
        let next = next_after("0 0 6 * * *", chrono_tz::Asia::Kolkata, after).unwrap();
        assert_eq!(next, Utc.with_ymd_and_hms(2026, 6, 1, 0, 30, 0).unwrap());
    }
}
