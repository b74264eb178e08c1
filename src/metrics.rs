//! Prometheus metrics: the names (the scheme is written down in `docs/metrics.md`), the
//! recorder behind `/metrics`, and one recording function per event.
//!
//! Recording goes through the `metrics` facade, so it costs nothing in a process that
//! never installed the exporter (the manual `ingest`, the tests of the pipeline). Labels
//! are low-cardinality only: studio id, outcome, trigger kind, reason. Never a URL, a
//! user id or a token.

use crate::report::RunReport;
use metrics::{counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use std::sync::OnceLock;
use std::time::Duration;

// Ingestion.
pub const RUNS: &str = "nachna_runs_total";
pub const RUN_DURATION: &str = "nachna_run_duration_seconds";
pub const LAST_SUCCESS: &str = "nachna_last_success_timestamp_seconds";
pub const LAST_RUN: &str = "nachna_last_run_timestamp_seconds";
pub const RUNS_IN_PROGRESS: &str = "nachna_runs_in_progress";
pub const PAGES: &str = "nachna_pages_fetched_total";
pub const PAGES_NOT_WORKSHOP: &str = "nachna_pages_not_workshop_total";
pub const FETCH_DURATION: &str = "nachna_fetch_duration_seconds";
pub const WORKSHOPS: &str = "nachna_workshops_total";
// Scheduling, leases, triggers, sources.
pub const TICKS_SKIPPED: &str = "nachna_schedule_ticks_skipped_total";
pub const LEASE_TAKEOVERS: &str = "nachna_lease_takeovers_total";
pub const LEASES_LOST: &str = "nachna_leases_lost_total";
pub const TRIGGER_REQUESTS: &str = "nachna_trigger_requests_total";
pub const SOURCES_SCHEDULED: &str = "nachna_sources_scheduled";
pub const SOURCE_RELOADS: &str = "nachna_source_reloads_total";
// Notifications (fed by `notify`).
pub const OUTBOX_DEPTH: &str = "nachna_outbox_depth";
pub const PUSHES: &str = "nachna_pushes_total";
pub const TOKENS_DEACTIVATED: &str = "nachna_tokens_deactivated_total";
// Process.
pub const BUILD_INFO: &str = "nachna_build_info";

/// Every metric with its `# HELP` text (the same words as `docs/metrics.md`). A test
/// checks that each name declared above is here.
const HELP: &[(&str, Kind, &str)] = &[
    (
        RUNS,
        Kind::Counter,
        "Studio runs finished, by trigger and outcome.",
    ),
    (
        RUN_DURATION,
        Kind::Histogram,
        "Wall time of a studio run, in seconds.",
    ),
    (
        LAST_SUCCESS,
        Kind::Gauge,
        "Unix time when the studio's last successful run ended.",
    ),
    (
        LAST_RUN,
        Kind::Gauge,
        "Unix time when the studio's last run of any outcome ended.",
    ),
    (
        RUNS_IN_PROGRESS,
        Kind::Gauge,
        "Studio runs under way in this process.",
    ),
    (
        PAGES,
        Kind::Counter,
        "Pages a run read: downloaded, unchanged (304 or same body) or failed.",
    ),
    (
        PAGES_NOT_WORKSHOP,
        Kind::Counter,
        "Downloaded event pages that were not workshops.",
    ),
    (
        FETCH_DURATION,
        Kind::Histogram,
        "One page request, retries and redirects included, in seconds.",
    ),
    (
        WORKSHOPS,
        Kind::Counter,
        "Workshops by what the run did with them.",
    ),
    (
        TICKS_SKIPPED,
        Kind::Counter,
        "Cron ticks that started no run, by reason.",
    ),
    (
        LEASE_TAKEOVERS,
        Kind::Counter,
        "Studio leases this process took over from an owner that was gone.",
    ),
    (
        LEASES_LOST,
        Kind::Counter,
        "Runs stopped because their lease could not be renewed in time.",
    ),
    (
        TRIGGER_REQUESTS,
        Kind::Counter,
        "Trigger requests by what this process did with them.",
    ),
    (
        SOURCES_SCHEDULED,
        Kind::Gauge,
        "Enabled sources with a cron job.",
    ),
    (
        SOURCE_RELOADS,
        Kind::Counter,
        "SIGHUP reloads of the source files, applied or rejected.",
    ),
    (
        OUTBOX_DEPTH,
        Kind::Gauge,
        "Notification outbox documents per status.",
    ),
    (
        PUSHES,
        Kind::Counter,
        "Push attempts by outcome and APNs reason.",
    ),
    (
        TOKENS_DEACTIVATED,
        Kind::Counter,
        "Device tokens switched off after APNs refused them.",
    ),
    (
        BUILD_INFO,
        Kind::Gauge,
        "Always 1; the version label says which build runs.",
    ),
];

#[derive(Clone, Copy)]
enum Kind {
    Counter,
    Gauge,
    Histogram,
}

fn describe_all() {
    for &(name, kind, help) in HELP {
        match kind {
            Kind::Counter => describe_counter!(name, help),
            Kind::Gauge => describe_gauge!(name, help),
            Kind::Histogram => describe_histogram!(name, help),
        }
    }
}

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder (once) and returns the handle `/metrics` renders.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Full(FETCH_DURATION.into()),
                    &[0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0],
                )
                .and_then(|b| {
                    b.set_buckets_for_metric(
                        Matcher::Full(RUN_DURATION.into()),
                        &[1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0],
                    )
                })
                .expect("static, non-empty buckets");
            let handle = match builder.install_recorder() {
                Ok(h) => h,
                // Another recorder is installed (only possible in tests embedding the
                // daemon): render from a private one rather than fail.
                Err(_) => PrometheusBuilder::new().build_recorder().handle(),
            };
            describe_all();
            gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
            handle
        })
        .clone()
}

/// The Prometheus text exposition of every series so far.
pub fn render() -> String {
    let handle = install();
    handle.run_upkeep();
    handle.render()
}

/// Everything one finished run says: its outcome, duration, pages and workshops.
/// Called after every run, whoever started it (schedule, trigger, manual).
pub fn record_run(report: &RunReport, trigger: &str) {
    if report.dry_run {
        return;
    }
    let studio = report.studio_id.clone();
    counter!(RUNS, "studio" => studio.clone(), "trigger" => trigger.to_string(),
        "outcome" => report.outcome.as_str())
    .increment(1);
    histogram!(RUN_DURATION, "studio" => studio.clone())
        .record(Duration::from_millis(report.duration_ms).as_secs_f64());
    let now = chrono::Utc::now().timestamp() as f64;
    gauge!(LAST_RUN, "studio" => studio.clone()).set(now);
    if report.outcome == crate::report::Outcome::Success {
        gauge!(LAST_SUCCESS, "studio" => studio.clone()).set(now);
    }
    let p = &report.pages;
    for (outcome, n) in [
        ("downloaded", p.fetched),
        ("unchanged", p.unchanged),
        ("failed", p.failed),
    ] {
        counter!(PAGES, "studio" => studio.clone(), "outcome" => outcome).increment(u64::from(n));
    }
    counter!(PAGES_NOT_WORKSHOP, "studio" => studio.clone()).increment(u64::from(p.not_workshop));
    let w = &report.workshops;
    for (outcome, n) in [
        ("new", w.new),
        ("updated", w.updated),
        ("unchanged", w.unchanged),
        ("duplicate", w.duplicate),
        ("archived", w.archived),
        ("skipped_past", w.skipped_past),
    ] {
        counter!(WORKSHOPS, "studio" => studio.clone(), "outcome" => outcome)
            .increment(u64::from(n));
    }
}

/// One page request's latency (all attempts, redirects included). `outcome` is
/// `downloaded`, `unchanged` or `failed`.
pub fn observe_fetch(studio: &str, outcome: &'static str, elapsed: Duration) {
    histogram!(FETCH_DURATION, "studio" => studio.to_string(), "outcome" => outcome)
        .record(elapsed.as_secs_f64());
}

/// Runs under way in this process (set by the daemon's runner).
pub fn set_runs_in_progress(n: usize) {
    gauge!(RUNS_IN_PROGRESS).set(n as f64);
}

/// A schedule tick that did not start a run. `reason`: `running_here` (the previous
/// run is still going in this process), `leased_elsewhere` (another process holds the
/// studio's lease), `shutting_down`, `error`.
pub fn record_tick_skipped(studio: &str, reason: &'static str) {
    counter!(TICKS_SKIPPED, "studio" => studio.to_string(), "reason" => reason).increment(1);
}

/// This process took over a lease whose owner let it expire (crashed or cut off).
pub fn record_lease_takeover(studio: &str) {
    counter!(LEASE_TAKEOVERS, "studio" => studio.to_string()).increment(1);
}

/// A run stopped because its lease could not be renewed in time.
pub fn record_lease_lost(studio: &str) {
    counter!(LEASES_LOST, "studio" => studio.to_string()).increment(1);
}

/// A trigger request reached a state: `claimed`, `done`, `failed`, `requeued`, `expired`.
pub fn record_trigger(outcome: &'static str) {
    counter!(TRIGGER_REQUESTS, "outcome" => outcome).increment(1);
}

/// How many enabled sources have a cron job.
pub fn set_sources_scheduled(n: usize) {
    gauge!(SOURCES_SCHEDULED).set(n as f64);
}

/// A SIGHUP reload: `applied` or `rejected` (an invalid file; nothing changed).
pub fn record_source_reload(outcome: &'static str) {
    counter!(SOURCE_RELOADS, "outcome" => outcome).increment(1);
}

/// Outbox documents in one status (`pending`, `claimed`, `sent`, `failed`, ...).
/// For the notify outbox dispatcher.
pub fn set_outbox_depth(status: &str, depth: u64) {
    gauge!(OUTBOX_DEPTH, "status" => status.to_string()).set(depth as f64);
}

/// One push attempt: `outcome` (`sent`, `rejected`, `error`, ...) and the APNs reason
/// (`BadDeviceToken`, `Unregistered`, ..., or `none`). For the notify sender.
pub fn record_push(outcome: &str, reason: &str) {
    counter!(PUSHES, "outcome" => outcome.to_string(), "reason" => reason.to_string()).increment(1);
}

/// A device token deactivated, by APNs reason. For the notify sender.
pub fn record_token_deactivated(reason: &str) {
    counter!(TOKENS_DEACTIVATED, "reason" => reason.to_string()).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Outcome, RunReport};

    #[test]
    fn a_recorded_run_renders_named_series_with_its_counts() {
        install();
        let mut report = RunReport {
            studio_id: "metrics_unit_studio".into(),
            outcome: Outcome::Success,
            duration_ms: 1500,
            ..RunReport::default()
        };
        report.pages.fetched = 3;
        report.workshops.new = 2;
        report.workshops.skipped_past = 1;
        record_run(&report, "schedule");
        record_push("sent", "none");
        let text = render();
        for expected in [
            r#"nachna_runs_total{studio="metrics_unit_studio",trigger="schedule",outcome="success"} 1"#,
            r#"nachna_pages_fetched_total{studio="metrics_unit_studio",outcome="downloaded"} 3"#,
            r#"nachna_workshops_total{studio="metrics_unit_studio",outcome="new"} 2"#,
            r#"nachna_workshops_total{studio="metrics_unit_studio",outcome="skipped_past"} 1"#,
            r#"nachna_run_duration_seconds_count{studio="metrics_unit_studio"} 1"#,
            r#"nachna_pushes_total{outcome="sent",reason="none"} 1"#,
        ] {
            assert!(text.contains(expected), "missing {expected} in\n{text}");
        }
        assert!(
            text.contains(r#"nachna_last_success_timestamp_seconds{studio="metrics_unit_studio"}"#)
        );
    }

    #[test]
    fn every_rendered_metric_has_help() {
        install();
        let mut report = RunReport {
            studio_id: "metrics_help_studio".into(),
            outcome: Outcome::Success,
            ..RunReport::default()
        };
        report.pages.fetched = 1;
        record_run(&report, "manual");
        let text = render();
        assert!(
            text.contains("# HELP nachna_runs_total Studio runs finished, by trigger and outcome."),
            "{text}"
        );
        let types: Vec<&str> = text
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert!(!types.is_empty());
        for name in types {
            assert!(
                text.contains(&format!("# HELP {name} ")),
                "no # HELP for {name}:\n{text}"
            );
        }
        // And every declared name has a text, whether or not it was recorded yet.
        let source = include_str!("metrics.rs");
        let declared: Vec<&str> = source
            .lines()
            .filter(|l| l.starts_with("pub const ") && l.contains(": &str = \""))
            .filter_map(|l| l.split('"').nth(1))
            .collect();
        assert_eq!(declared.len(), 19, "{declared:?}");
        for name in declared {
            assert!(
                HELP.iter().any(|(n, _, _)| *n == name),
                "{name} has no help text"
            );
        }
    }
}
