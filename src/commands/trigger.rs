//! `nachna-ingest trigger`: asks the running daemon(s) to re-ingest studios now, by
//! recording requests in `ingest_requests` (see `daemon::trigger`). With `--wait`, polls
//! until every request has an outcome and prints the run summaries.
//!
//! Exit codes: 0 requested (or, with `--wait`, every run succeeded); 1 a run failed, was
//! partial or was interrupted for good; 2 the command could not run; 3 `--wait` gave up
//! after `--timeout` seconds (the requests stay queued until a daemon takes them or they
//! expire).

use crate::app::App;
use crate::cli::{GlobalArgs, TriggerArgs};
use crate::daemon::presence;
use crate::daemon::trigger::{Request, RequestStatus, Requests};
use crate::process::OwnerId;
use anyhow::bail;
use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

pub async fn run(global: &GlobalArgs, args: TriggerArgs) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    let local: Vec<String> = crate::source::load_dir(&settings.sources_dir)
        .map(|sources| sources.into_iter().map(|s| s.studio.id).collect())
        .unwrap_or_default();
    let app = App::build_as(settings, crate::app::BuiltIn::Join).await?;
    // The studios the running daemons schedule (what they report: their files may
    // differ from this machine's, or be missing here), and this machine's files.
    let live = presence::live_daemons(app.store()).await?;
    let mut known: std::collections::BTreeSet<String> = live
        .iter()
        .flat_map(|d| d.scheduled.iter().map(|s| s.studio_id.clone()))
        .collect();
    known.extend(local);
    let studios: Vec<String> = if args.select.all {
        known.iter().cloned().collect()
    } else {
        for id in &args.select.studios {
            if !known.contains(id) {
                let known = known.iter().cloned().collect::<Vec<_>>().join(", ");
                if live.is_empty() {
                    bail!("no source file for studio `{id}`; known studios: {known}");
                }
                bail!(
                    "no source file for studio `{id}` here and no running daemon schedules it;                      known studios: {known}"
                );
            }
        }
        args.select.studios.clone()
    };
    if studios.is_empty() {
        bail!("no studio to trigger: no running daemon reports any, and no source file is readable here");
    }
    let requests = Requests::new(app.store().clone(), OwnerId::new());
    let mut waiting: BTreeMap<String, String> = BTreeMap::new();
    for studio in &studios {
        let id = requests.insert(studio, args.force).await?;
        eprintln!("{studio}: re-ingest requested (request {id})");
        waiting.insert(id, studio.clone());
    }
    if !args.wait {
        return Ok(ExitCode::SUCCESS);
    }
    if presence::live_daemons(app.store()).await?.is_empty() {
        eprintln!(
            "warning: no daemon has reported in the last {} s; the request(s) wait for one \
             (is `nachna-ingest run` running against this database?)",
            presence::LIVE_WITHIN.as_secs()
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(args.timeout);
    let mut finished: Vec<Request> = Vec::new();
    let mut announced: BTreeMap<String, String> = BTreeMap::new();
    while !waiting.is_empty() {
        for (id, studio) in waiting.clone() {
            let Some(req) = requests.get(&id).await? else {
                bail!("request {id} ({studio}) disappeared from ingest_requests");
            };
            if req.is_final() {
                waiting.remove(&id);
                if !args.json {
                    print_request(&req);
                }
                finished.push(req);
            } else if req.status == RequestStatus::Running
                && announced.get(&id) != req.claimed_by.as_ref()
            {
                let by = req.claimed_by.clone().unwrap_or_default();
                eprintln!("{studio}: running on {by}");
                announced.insert(id, by);
            }
        }
        if waiting.is_empty() {
            break;
        }
        if tokio::time::Instant::now() >= deadline {
            if args.json {
                println!("{}", serde_json::to_string_pretty(&finished)?);
            }
            for (id, studio) in &waiting {
                eprintln!(
                    "{studio}: no outcome within {} s (request {id} stays queued until a daemon takes it or it expires)",
                    args.timeout
                );
            }
            return Ok(ExitCode::from(3));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&finished)?);
    }
    Ok(if finished.iter().all(Request::succeeded) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn print_request(req: &Request) {
    match (&req.summary, req.status.as_str()) {
        (Some(summary), _) => println!("{summary}"),
        (None, status) => println!(
            "{}: {status}{}",
            req.studio_id,
            req.outcome
                .as_deref()
                .map(|o| format!(" ({o})"))
                .unwrap_or_default()
        ),
    }
    for e in &req.errors {
        println!("  error: {e}");
    }
}
