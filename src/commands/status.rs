//! `nachna-ingest status`: per studio the last run (outcome, counts, when), the next
//! scheduled run and who holds the lease; the outbox depth; pending triggers; the live
//! daemons. Reads only.

use crate::app::App;
use crate::cli::{GlobalArgs, StatusArgs};
use crate::daemon::presence::{self, DaemonInfo};
use crate::store::leases::LeaseHolder;
use crate::store::requests::Request;
use crate::store::runs::RunRecord;
use crate::store::{Store, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeSet;
use std::process::ExitCode;

#[derive(Debug, Serialize)]
struct StudioStatus {
    studio_id: String,
    last_run: Option<RunRecord>,
    /// From a live daemon's scheduler when one schedules the studio, else computed
    /// from the source's cron.
    next_run: Option<DateTime<Utc>>,
    next_run_source: &'static str,
    lease: Option<LeaseHolder>,
    /// The studio's zone: times are shown in it.
    timezone: String,
}

fn zone_name<S: serde::Serializer>(z: &chrono_tz::Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(z.name())
}

#[derive(Debug, Serialize)]
struct StatusReport {
    /// The default studio zone (`notify.default_timezone`): daemon times are shown in it.
    #[serde(serialize_with = "zone_name")]
    timezone: chrono_tz::Tz,
    daemons: Vec<DaemonInfo>,
    studios: Vec<StudioStatus>,
    /// Outbox documents by status, over all kinds.
    outbox_depth: Option<Vec<(String, u64)>>,
    open_triggers: Vec<Request>,
}

/// Outbox depth by status for `status`.
pub async fn outbox_depth(store: &Store) -> Result<Option<Vec<(String, u64)>>, StoreError> {
    let settings = crate::settings::Settings::default();
    let notifier = crate::notify::Notifier::new(
        store.clone(),
        settings.notify,
        settings.push,
        std::sync::Arc::new(crate::clock::SystemClock),
    );
    let status = notifier.outbox_status().await?;
    Ok(Some(status.totals()))
}

pub async fn run(global: &GlobalArgs, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    let default_tz = settings.notify.default_tz();
    // The studios come from what the daemons report; the local files only add zones,
    // and studios when no daemon is up. An invalid file is said, not fatal: the daemon
    // keeps running its previous version of that studio, which is shown.
    let settings_sources_exist = settings.sources_dir.is_dir();
    let (sources, invalid) = match crate::source::load_dir(&settings.sources_dir) {
        Ok(s) => (s, None),
        Err(errs) => (Vec::new(), Some(errs)),
    };
    let app = App::build_as(settings, crate::app::BuiltIn::Join).await?;
    let store = app.store();
    let now = Utc::now();
    let daemons = presence::live_daemons(store).await?;
    let leases = store.all_leases().await?;
    let mut ids: BTreeSet<String> = daemons
        .iter()
        .flat_map(|d| d.scheduled.iter().map(|s| s.studio_id.clone()))
        .collect();
    ids.extend(sources.iter().map(|s| s.studio.id.clone()));
    ids.extend(leases.iter().map(|l| l.studio_id.clone()));
    // No sources directory here at all (status run from anywhere): nothing to warn
    // about, the daemons' view is the answer.
    if let Some(errs) = invalid.as_ref().filter(|_| settings_sources_exist) {
        eprintln!(
            "warning: {errs}\n(a running daemon keeps its previous version of these studios until the files are fixed and reloaded)"
        );
    }
    let mut studios = Vec::new();
    for id in ids {
        let scheduled = daemons
            .iter()
            .flat_map(|d| d.scheduled.iter())
            .filter(|s| s.studio_id == id)
            .filter_map(|s| s.next_run)
            .filter(|t| *t >= now)
            .min();
        // A next run exists only where a daemon will run it: computing one from the
        // cron with no daemon up would promise a run that never comes.
        let (next_run, next_run_source) = match scheduled {
            Some(t) => (Some(t), "daemon"),
            None if daemons.is_empty() => (None, "no daemon running"),
            None => match sources.iter().find(|s| s.studio.id == id) {
                Some(s) if !s.schedule.enabled => (None, "disabled"),
                _ => (None, "not scheduled by any live daemon"),
            },
        };
        let timezone = daemons
            .iter()
            .flat_map(|d| d.scheduled.iter())
            .find(|s| s.studio_id == id)
            .and_then(|s| s.timezone.parse::<chrono_tz::Tz>().ok())
            .or_else(|| {
                sources
                    .iter()
                    .find(|s| s.studio.id == id)
                    .map(|s| s.timezone)
            })
            .unwrap_or(default_tz);
        studios.push(StudioStatus {
            last_run: store.last_run(&id).await?,
            lease: leases
                .iter()
                .find(|l| l.studio_id == id && l.is_live(now))
                .cloned(),
            studio_id: id,
            next_run,
            next_run_source,
            timezone: timezone.name().to_string(),
        });
    }
    let status = StatusReport {
        timezone: default_tz,
        daemons,
        studios,
        outbox_depth: outbox_depth(store).await?,
        open_triggers: store.open_requests().await?,
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print_text(&status, now);
    }
    Ok(ExitCode::SUCCESS)
}

/// `2026-06-01 18:00:00 IST (3m ago)`: the time as the studio's pages and crons speak.
fn ago_in(t: DateTime<Utc>, now: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    let secs = (now - t).num_seconds();
    let rel = match secs {
        s if s < 0 => format!("in {}", human(-s)),
        s => format!("{} ago", human(s)),
    };
    format!(
        "{} ({rel})",
        t.with_timezone(&zone).format("%Y-%m-%d %H:%M:%S %Z")
    )
}

fn human(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 7200 => format!("{}m", s / 60),
        s if s < 172_800 => format!("{}h", s / 3600),
        s => format!("{}d", s / 86_400),
    }
}

/// The last run's counts, zeros left out: `pages fetched 5, unchanged 2; workshops
/// new 1, unchanged 4`; `nothing changed` when no workshop was written or archived.
pub fn counts_line(c: &serde_json::Value) -> String {
    if c.is_null() {
        return String::new();
    }
    let n = |a: &str, b: &str| c[a][b].as_i64().unwrap_or(0);
    let group = |name: &str, keys: &[&str]| -> Option<String> {
        let parts: Vec<String> = keys
            .iter()
            .filter(|k| n(name, k) != 0)
            .map(|k| format!("{k} {}", n(name, k)))
            .collect();
        (!parts.is_empty()).then(|| format!("{name} {}", parts.join(", ")))
    };
    let pages = group("pages", &["fetched", "unchanged", "failed"]);
    let workshops = group(
        "workshops",
        &["new", "updated", "unchanged", "duplicate", "archived"],
    );
    let changed = ["new", "updated", "archived"]
        .iter()
        .any(|k| n("workshops", k) != 0);
    let mut parts: Vec<String> = pages.into_iter().chain(workshops).collect();
    if !changed {
        parts.push("nothing changed".into());
    }
    parts.join("; ")
}

/// `2026-06-01 18:00:00 IST (2026-06-01 12:30:00 UTC, 3m ago)`.
fn with_utc(t: DateTime<Utc>, now: DateTime<Utc>, zone: chrono_tz::Tz) -> String {
    let local = ago_in(t, now, zone);
    match local.split_once(" (") {
        Some((at, rel)) if zone != chrono_tz::UTC => {
            format!("{at} ({}, {rel}", t.format("%Y-%m-%d %H:%M:%S UTC"))
        }
        _ => local,
    }
}

fn print_text(s: &StatusReport, now: DateTime<Utc>) {
    println!("DAEMONS");
    if s.daemons.is_empty() {
        println!(
            "  none reported in the last {} s",
            presence::LIVE_WITHIN.as_secs()
        );
    }
    for d in &s.daemons {
        println!(
            "  {} v{} {}{}{}",
            d.owner,
            d.version,
            d.state,
            d.started_at
                .map(|t| format!(", up since {}", with_utc(t, now, s.timezone)))
                .unwrap_or_default(),
            if d.running.is_empty() {
                String::new()
            } else {
                format!(", running {}", d.running.join(", "))
            }
        );
    }
    println!("STUDIOS");
    for st in &s.studios {
        let zone: chrono_tz::Tz = st.timezone.parse().unwrap_or(chrono_tz::UTC);
        let ago = |t, now| ago_in(t, now, zone);
        println!("  {}", st.studio_id);
        match &st.last_run {
            Some(r) => {
                println!(
                    "    last run:  {} ({}{}) started {}{}",
                    r.outcome,
                    r.trigger,
                    r.as_of
                        .as_deref()
                        .map(|d| format!(", as of --today {d}"))
                        .unwrap_or_default(),
                    r.started_at.map(|t| ago(t, now)).unwrap_or_default(),
                    r.finished_at
                        .map(|t| format!(", finished {}", ago(t, now)))
                        .unwrap_or_default()
                );
                let counts = counts_line(&r.counts);
                if !counts.is_empty() {
                    println!("               {counts}");
                }
            }
            None => println!("    last run:  never"),
        }
        match st.next_run {
            Some(t) => println!("    next run:  {} [{}]", ago(t, now), st.next_run_source),
            None => println!("    next run:  none [{}]", st.next_run_source),
        }
        match &st.lease {
            Some(l) => println!("    lease:     {l}"),
            None => println!("    lease:     free"),
        }
    }
    match &s.outbox_depth {
        Some(depths) => {
            let parts: Vec<String> = depths.iter().map(|(k, v)| format!("{k} {v}")).collect();
            if parts.is_empty() {
                println!("OUTBOX  empty");
            } else {
                println!("OUTBOX  {}", parts.join(", "));
            }
        }
        None => println!("OUTBOX  unavailable"),
    }
    println!("TRIGGERS");
    if s.open_triggers.is_empty() {
        println!("  none pending");
    }
    for r in &s.open_triggers {
        println!(
            "  {} {} {}{}{}",
            r.id,
            r.studio_id,
            r.status,
            r.requested_at
                .map(|t| format!(", requested {}", with_utc(t, now, s.timezone)))
                .unwrap_or_default(),
            r.claimed_by
                .as_deref()
                .map(|c| format!(", on {c}"))
                .unwrap_or_default()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_fold_zeros_and_say_when_nothing_changed() {
        let c = serde_json::json!({
            "pages": {"fetched": 0, "unchanged": 5, "failed": 0},
            "workshops": {"new": 0, "updated": 0, "unchanged": 7, "archived": 0},
        });
        assert_eq!(
            counts_line(&c),
            "pages unchanged 5; workshops unchanged 7; nothing changed"
        );
        let c = serde_json::json!({
            "pages": {"fetched": 3, "unchanged": 0, "failed": 1},
            "workshops": {"new": 2, "updated": 0, "unchanged": 0, "archived": 1},
        });
        assert_eq!(
            counts_line(&c),
            "pages fetched 3, failed 1; workshops new 2, archived 1"
        );
    }

    #[test]
    fn daemon_times_are_local_with_utc_beside() {
        use chrono::TimeZone;
        let t = Utc.with_ymd_and_hms(2026, 6, 1, 12, 30, 0).unwrap();
        assert_eq!(
            with_utc(
                t,
                t + chrono::Duration::minutes(3),
                chrono_tz::Asia::Kolkata
            ),
            "2026-06-01 18:00:00 IST (2026-06-01 12:30:00 UTC, 3m ago)"
        );
    }
}
