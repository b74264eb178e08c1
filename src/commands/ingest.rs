//! `nachna-ingest ingest`: the manual re-ingest. Runs the whole pipeline for the chosen
//! studios now and prints a per-studio summary.

use crate::app::{self, App};
use crate::artist::{Artist, ArtistDirectory};
use crate::cli::{GlobalArgs, IngestArgs};
use crate::clock::{Clock, FixedClock, SystemClock};
use crate::pipeline::{self, Progress, RunContext, RunOptions, RunTrigger};
use crate::process::OwnerId;
use crate::report::{Outcome, RunReport};
use crate::runs::lease::{LeaseHolder, LeaseTiming, Leases};
use crate::runs::{self, ManualLeases};
use crate::store::Store;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;

pub async fn run(global: &GlobalArgs, args: IngestArgs) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    let all_sources = app::load_sources(&settings.sources_dir)?;
    let sources = app::select_studios(&all_sources, &args.select.studios, args.select.all)?;
    let app = App::build(settings).await?;
    let settings = app.settings();
    if !args.dry_run {
        // Before any run of ours: a `running` run with our pid is a dead process's.
        runs::recover_crashed_runs(app.store(), chrono::Utc::now()).await;
    }
    let artists = artists_for_run(app.store(), &args).await?;
    let fetcher = app.fetcher(args.replay.as_deref())?;
    // `--today` is a calendar for past/future decisions (here and in the notifier's
    // copy), not a clock: the run's records and timestamps keep the real time.
    let calendar: Arc<dyn Clock> = match args.today {
        // Noon in India: the date is the same in every zone a studio is likely in.
        Some(day) => Arc::new(FixedClock(
            day.and_hms_opt(6, 30, 0).expect("valid time").and_utc(),
        )),
        None => Arc::new(SystemClock),
    };
    let ctx = RunContext {
        store: app.store().clone(),
        fetcher,
        clock: Arc::new(SystemClock),
        config: settings.ingest.clone(),
    };
    let options = RunOptions {
        dry_run: args.dry_run,
        force: args.force,
        allow_mass_archive: args.allow_mass_archive,
        trigger: RunTrigger::Manual,
        today: args.today,
        run_id: None,
    };
    let progress: Box<dyn Progress> = if std::io::stderr().is_terminal() && !args.json {
        Box::new(BarProgress::default())
    } else {
        Box::new(LineProgress)
    };
    // Each studio runs under its lease, like the daemon's runs, so a manual ingest never
    // runs a studio alongside a daemon (or another ingest): it waits up to
    // `daemon.busy_wait_secs` for the other run to end, then reports the studio busy.
    // A dry run writes nothing and takes no lease. Ctrl-C stops the current run cleanly
    // (recorded as interrupted, lease released); a second Ctrl-C exits at once.
    let leases = Leases::new(
        app.store().clone(),
        OwnerId::new(),
        LeaseTiming::from_settings(&settings.daemon),
    );
    let busy_wait = std::time::Duration::from_secs(settings.daemon.busy_wait_secs);
    let stop = interrupt_token();
    let mut reports: Vec<RunReport> = Vec::new();
    for source in sources {
        if stop.is_cancelled() {
            break;
        }
        let report = if args.dry_run {
            pipeline::run_source(&ctx, source, &artists, &options, progress.as_ref()).await
        } else {
            let on_busy = |holder: &LeaseHolder| {
                eprintln!(
                    "{}: busy, {holder} is running it; waiting up to {} s",
                    source.studio.id,
                    busy_wait.as_secs()
                )
            };
            let manual = ManualLeases {
                leases: &leases,
                busy_wait,
                stop: &stop,
            };
            runs::run_manual(&ctx, &manual, source, &options, progress.as_ref(), on_busy).await
        };
        reports.push(report);
    }
    drop(progress);
    print_reports(&reports, args.json)?;
    let notified = super::notify::after_ingest(
        settings,
        app.store(),
        calendar,
        &all_sources,
        &reports,
        &args,
    )
    .await;
    let failed = !notified || reports.iter().any(|r| r.outcome != Outcome::Success);
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Fires on the first Ctrl-C; the second exits at once.
fn interrupt_token() -> CancellationToken {
    let token = CancellationToken::new();
    let fire = token.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("interrupted: stopping the current run (Ctrl-C again to quit at once)");
            fire.cancel();
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    token
}

/// The artists a run matches against. `--seed-artists FILE` upserts the file's
/// artists into `artists_v2` first; on a dry run nothing is written: the file's
/// artists are matched alongside the stored ones and the seeding is only reported.
async fn artists_for_run(store: &Store, args: &IngestArgs) -> anyhow::Result<ArtistDirectory> {
    let Some(path) = &args.seed_artists else {
        return Ok(store.load_artists().await?);
    };
    let seed = app::read_artists_file(path)?;
    if !args.dry_run {
        store.seed_artists(&seed).await?;
        return Ok(store.load_artists().await?);
    }
    eprintln!(
        "dry run: would seed {} artist(s) from {} into artists_v2 (not written)",
        seed.len(),
        path.display()
    );
    Ok(merge_artists(store.load_artists().await?, seed))
}

/// Stored artists with `seed` upserted by `artist_id`, sorted by id as loaded.
/// The stored aliases are kept.
fn merge_artists(stored: ArtistDirectory, seed: Vec<Artist>) -> ArtistDirectory {
    let mut by_id: std::collections::BTreeMap<String, Artist> = stored
        .artists()
        .iter()
        .cloned()
        .map(|a| (a.artist_id.clone(), a))
        .collect();
    for a in seed {
        by_id.insert(a.artist_id.clone(), a);
    }
    ArtistDirectory::with_aliases(by_id.into_values().collect(), stored.aliases().to_vec())
}

fn print_reports(reports: &[RunReport], json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(reports)?);
        return Ok(());
    }
    for r in reports {
        println!("{}", r.summary_line());
        for uuid in &r.new_uuids {
            println!("  new        {uuid}");
        }
        for uuid in &r.updated_uuids {
            println!("  updated    {uuid}");
        }
        for d in &r.duplicates {
            println!(
                "  duplicate  {} (same workshop as {}) {}",
                d.uuid, d.of, d.url
            );
        }
        for uuid in &r.archived_uuids {
            println!("  archived   {uuid}");
        }
        for k in &r.kept_edits {
            println!("  kept edit  {k}");
        }
        for n in &r.not_workshops {
            println!("  not a workshop  {}: {}", n.url, n.reason);
        }
        if !r.unknown_artists.is_empty() {
            println!("  unknown artists: {}", r.unknown_artists.join(", "));
        }
        for w in &r.warnings {
            println!("  warning: {w}");
        }
        for e in &r.errors {
            println!("  error: {e}");
        }
    }
    if reports.len() > 1 {
        println!("{}", crate::report::total_line(reports));
    }
    Ok(())
}

/// Plain progress lines on stderr (not a terminal, or `--json`).
struct LineProgress;

impl Progress for LineProgress {
    fn event_pages_found(&self, studio: &str, count: usize) {
        eprintln!("{studio}: {count} event page(s) to read");
    }
}

/// One progress bar per studio on a terminal.
#[derive(Default)]
struct BarProgress {
    bars: MultiProgress,
    by_studio: Mutex<HashMap<String, ProgressBar>>,
}

impl Progress for BarProgress {
    fn event_pages_found(&self, studio: &str, count: usize) {
        let bar = self.bars.add(ProgressBar::new(count as u64));
        bar.set_style(
            ProgressStyle::with_template("{prefix:>20} [{bar:30}] {pos}/{len} pages {wide_msg}")
                .expect("static template")
                .progress_chars("=> "),
        );
        bar.set_prefix(studio.to_string());
        self.by_studio
            .lock()
            .expect("progress lock")
            .insert(studio.to_string(), bar);
    }

    fn page_done(&self, studio: &str, url: &str) {
        if let Some(bar) = self.by_studio.lock().expect("progress lock").get(studio) {
            bar.inc(1);
            bar.set_message(url.to_string());
            if bar.position() >= bar.length().unwrap_or(0) {
                bar.finish_with_message("done");
            }
        }
    }
}
