//! One studio, end to end: crawl the listing, fetch event pages, extract, reconcile
//! against the store, write, archive. The `ingest` command, the daemon's cron jobs and
//! its trigger watcher all call [`run_source`].
//!
//! Failure rules: a run that could not read everything archives nothing; page records
//! (the "unchanged" shortcut) are saved only after their workshops are written, so a run
//! cut short is simply completed by the next one.

use crate::artist::ArtistDirectory;
use crate::clock::Clock;
use crate::extract::{self, confidence, PageVerdict};
use crate::fetch::{FetchOutcome, FetchedPage, Fetcher, HostPolicy, PageRequest, Validators};
use crate::reconcile::{self, Action, Announcement, PageOutcome, Plan, ReconcileInput};
use crate::report::{DuplicateSeen, Outcome, PageNote, RunReport};
use crate::settings::IngestConfig;
use crate::source::Source;
use crate::store::pages::PageRecord;
use crate::store::workshops::Applied;
use crate::store::{Store, StoreError};
use crate::workshop::Identified;
use chrono::{DateTime, NaiveDate, Utc};
use futures::{FutureExt, StreamExt};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::Instant;
use tracing::{error, info, info_span, warn, Instrument};
use url::Url;

/// What every run shares.
#[derive(Clone)]
pub struct RunContext {
    pub store: Store,
    pub fetcher: Fetcher,
    pub clock: Arc<dyn Clock>,
    pub config: IngestConfig,
}

/// Who asked for a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunTrigger {
    /// The `ingest` command.
    #[default]
    Manual,
    /// A daemon's cron tick.
    Schedule,
    /// A `trigger` request picked up by a daemon.
    Trigger,
}

impl RunTrigger {
    /// As stored on `ingest_runs`, leases and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            RunTrigger::Manual => "manual",
            RunTrigger::Schedule => "schedule",
            RunTrigger::Trigger => "trigger",
        }
    }
}

impl std::fmt::Display for RunTrigger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How this particular run behaves.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Compute and report everything, write nothing.
    pub dry_run: bool,
    /// Ignore the "page unchanged" shortcuts (304, identical body).
    pub force: bool,
    /// Disable the safety brake for this run.
    pub allow_mass_archive: bool,
    /// Who asked.
    pub trigger: RunTrigger,
    /// The date this run takes as today (`ingest --today`) when it is not the clock's:
    /// extraction and past/future decisions use it; timestamps (the run record,
    /// `first_seen_at`, `updated_at`) keep the clock's time, and the run record says
    /// which date the run pretended (`as_of`).
    pub today: Option<NaiveDate>,
    /// The run's id, made by the caller with [`new_run_id`] (`runs::run_with_lease`
    /// does); `None`: made from the run's start.
    pub run_id: Option<String>,
}

/// A run's id: the studio, the start (UTC, to the second) and 16 random bits.
pub fn new_run_id(studio_id: &str, started_at: DateTime<Utc>) -> String {
    format!(
        "{studio_id}@{}-{:04x}",
        started_at.format("%Y%m%dT%H%M%SZ"),
        rand::random::<u16>()
    )
}

/// Hears about a run's progress (a terminal bar, plain lines, nothing).
pub trait Progress: Send + Sync {
    fn event_pages_found(&self, _studio: &str, _count: usize) {}
    fn page_done(&self, _studio: &str, _url: &str) {}
}

/// Progress that goes nowhere.
pub struct NoProgress;
impl Progress for NoProgress {}

struct ExtractedPage {
    verdict: PageVerdict,
    record: PageRecord,
    previous: Option<PageRecord>,
}

/// What one event page gave.
enum PageResult {
    Extracted(Box<ExtractedPage>),
    Unchanged { uuids: Vec<String> },
    Failed { error: String },
}

/// Runs one studio. Never returns an error: every failure is in the report's
/// `outcome` and `errors`.
pub async fn run_source(
    ctx: &RunContext,
    source: &Source,
    artists: &ArtistDirectory,
    options: &RunOptions,
    progress: &dyn Progress,
) -> RunReport {
    let started = Instant::now();
    let started_at = ctx.clock.now();
    let run_id = options
        .run_id
        .clone()
        .unwrap_or_else(|| new_run_id(&source.studio.id, started_at));
    let span = info_span!("studio_run", studio = %source.studio.id, run_id = %run_id);
    let mut report = RunReport {
        studio_id: source.studio.id.clone(),
        run_id: run_id.clone(),
        dry_run: options.dry_run,
        started_at: started_at.to_rfc3339(),
        ..RunReport::default()
    };
    async {
        if !options.dry_run {
            let trigger = options.trigger.as_str();
            if let Err(err) = ctx
                .store
                .record_run_start(
                    &run_id,
                    &source.studio.id,
                    trigger,
                    started_at,
                    options.today,
                )
                .await
            {
                report.outcome = Outcome::Failed;
                report.errors.push(err.to_string());
                return;
            }
            match ctx.store.upsert_studio(&source.studio).await {
                Ok(kept) => report.warnings.extend(kept),
                Err(err) => report.errors.push(err.to_string()),
            }
        }
        // A panic anywhere in the studio's run (a bug, a hostile page reaching code that
        // was not ready for it) fails this run only: it is caught here, reported, and the
        // run's record is ended below like any other failed run.
        let inner = run_inner(ctx, source, artists, options, progress, &mut report);
        match AssertUnwindSafe(inner).catch_unwind().await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => {
                report.outcome = Outcome::Failed;
                report.errors.push(err.to_string());
            }
            Err(panic) => {
                let message = panic_message(panic.as_ref());
                error!(panic = %message, "the studio's run panicked; other studios are not affected");
                report.outcome = Outcome::Failed;
                report.errors.push(format!(
                    "crashed: the run panicked ({message}); nothing after the panic was written, the next run retries"
                ));
            }
        }
    }
    .instrument(span.clone())
    .await;
    report.duration_ms = started.elapsed().as_millis() as u64;
    if !report.errors.is_empty() && report.outcome == Outcome::Success {
        report.outcome = Outcome::Partial;
    }
    if !options.dry_run {
        if let Err(err) = ctx.store.record_run_end(&report, ctx.clock.now()).await {
            report.errors.push(err.to_string());
            report.outcome = Outcome::Failed;
        }
    }
    // The counts as fields too, so JSON logs can be queried without parsing the text.
    span.in_scope(|| {
        info!(
            outcome = report.outcome.as_str(),
            pages_downloaded = report.pages.fetched,
            pages_unchanged = report.pages.unchanged,
            pages_failed = report.pages.failed,
            workshops_new = report.workshops.new,
            workshops_updated = report.workshops.updated,
            workshops_unchanged = report.workshops.unchanged,
            workshops_archived = report.workshops.archived,
            duration_ms = report.duration_ms,
            "{}",
            report.summary_line()
        )
    });
    report
}

/// Why a run stopped before its end. Each phase that talks to the store has its own
/// variant; the message is the store's (it names the operation and collection).
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// Loading the studio's page records.
    #[error("{0}")]
    Load(#[source] StoreError),
    #[error("{0}")]
    Plan(#[source] StoreError),
    #[error("{0}")]
    Apply(#[source] StoreError),
    #[error("{0}")]
    Remember(#[source] StoreError),
}

/// The phases of one studio run: crawl → fetch and extract → plan → apply → remember.
async fn run_inner(
    ctx: &RunContext,
    source: &Source,
    artists: &ArtistDirectory,
    options: &RunOptions,
    progress: &dyn Progress,
    report: &mut RunReport,
) -> Result<(), RunError> {
    let today = options
        .today
        .unwrap_or_else(|| ctx.clock.now().with_timezone(&source.timezone).date_naive());
    // Every page record of the studio in one query (not one per page).
    let known = ctx
        .store
        .load_studio_pages(&source.studio.id)
        .await
        .map_err(RunError::Load)?;
    let crawl = crawl_listings(ctx, source, &known, options, report).await;
    progress.event_pages_found(&source.studio.id, crawl.event_urls.len());
    let pages = fetch_event_pages(
        ctx, source, &known, artists, options, today, &crawl, progress,
    )
    .await;
    let mut taken = take_in(pages, today, report);
    let mut crawl = crawl;
    let plan = plan(
        ctx,
        source,
        options,
        &crawl,
        taken.drafts,
        &taken.seen,
        taken.page_failures,
        report,
    )
    .await
    .map_err(RunError::Plan)?;
    for (from, to) in &plan.continued {
        info!(studio = %source.studio.id, draft_uuid = %from, stored_uuid = %to,
            "the page now names a stored workshop another way: it continues under its stored uuid");
    }
    for (record, _) in taken.records.iter_mut().chain(crawl.records.iter_mut()) {
        for uuid in record.uuids.iter_mut() {
            if let Some(stored) = plan.continued.get(uuid) {
                *uuid = stored.clone();
            }
        }
    }
    let now = ctx.clock.now();
    let rejected = apply(ctx, source, options, &plan, today, now, report)
        .await
        .map_err(RunError::Apply)?;
    // Only now is it safe to remember the pages as processed. A page whose workshop
    // the app contract refused is not remembered, so the next run tries it again.
    remember(
        ctx,
        options,
        taken
            .records
            .iter()
            .filter(|(r, _)| !r.uuids.iter().any(|u| rejected.contains(u)))
            .chain(crawl.records.iter()),
        now,
    )
    .await
    .map_err(RunError::Remember)
}

/// Event pages, a few at a time (hosts keep their own limits inside the fetcher), each
/// fetched and extracted.
#[allow(clippy::too_many_arguments)]
async fn fetch_event_pages(
    ctx: &RunContext,
    source: &Source,
    known: &HashMap<String, PageRecord>,
    artists: &ArtistDirectory,
    options: &RunOptions,
    today: NaiveDate,
    crawl: &CrawlResult,
    progress: &dyn Progress,
) -> Vec<(Url, PageResult)> {
    let concurrency = ctx.config.page_concurrency.max(1);
    let fingerprint = artists_fingerprint(artists);
    let fingerprint = fingerprint.as_str();
    futures::stream::iter(crawl.event_urls.iter().cloned())
        .map(|url| async move {
            let result = process_event_page(
                ctx,
                source,
                known,
                artists,
                fingerprint,
                options,
                today,
                &url,
            )
            .await;
            progress.page_done(&source.studio.id, url.as_str());
            (url, result)
        })
        .buffered(concurrency)
        .collect()
        .await
}

/// What the run takes in from its event pages.
struct TakenIn {
    /// Future (or ongoing) workshops, identified once.
    drafts: Vec<Identified>,
    /// Every uuid accounted for: drafts, past ones, unchanged pages.
    seen: BTreeSet<String>,
    /// Page records to save once the workshops are written.
    records: Vec<(PageRecord, Option<PageRecord>)>,
    page_failures: u32,
}

/// Counts each page's result and takes its workshops in: past ones are only counted;
/// the others get their identity, once.
fn take_in(pages: Vec<(Url, PageResult)>, today: NaiveDate, report: &mut RunReport) -> TakenIn {
    let mut taken = TakenIn {
        drafts: Vec::new(),
        seen: BTreeSet::new(),
        records: Vec::new(),
        page_failures: 0,
    };
    let mut page_uuids: Vec<(String, Vec<String>)> = Vec::new();
    for (url, result) in pages {
        match result {
            PageResult::Unchanged { uuids } => {
                report.pages.unchanged += 1;
                page_uuids.push((url.to_string(), uuids.clone()));
                taken.seen.extend(uuids);
            }
            PageResult::Failed { error } => {
                taken.page_failures += 1;
                report.pages.failed += 1;
                report.errors.push(error);
            }
            PageResult::Extracted(page) => {
                let ExtractedPage {
                    verdict,
                    mut record,
                    previous,
                } = *page;
                match verdict {
                    PageVerdict::NotAWorkshop { reason } => {
                        // Absence is not evidence: a page that yielded workshops before
                        // and now has no event keeps them live and is a failed page.
                        let previous_uuids = previous.as_ref().map(|p| p.uuids.as_slice());
                        let evidence = reconcile::page_evidence(
                            url.as_str(),
                            previous_uuids.unwrap_or_default(),
                            &PageOutcome::NoEvent {
                                reason: reason.clone(),
                            },
                        );
                        taken.seen.extend(evidence.seen);
                        if let Some(failure) = evidence.failure {
                            warn!(url = %url, reason = %reason, "a listed page lost its event; its workshops stay live");
                            taken.page_failures += 1;
                            report.pages.failed += 1;
                            report.errors.push(failure);
                            continue;
                        }
                        report.pages.fetched += 1;
                        report.pages.not_workshop += 1;
                        report.not_workshops.push(PageNote {
                            url: url.to_string(),
                            reason,
                        });
                    }
                    PageVerdict::Workshops(found) => {
                        report.pages.fetched += 1;
                        for w in found
                            .first()
                            .map(|e| e.warnings.clone())
                            .unwrap_or_default()
                        {
                            report.warnings.push(format!("{url}: {w}"));
                        }
                        for extracted in found {
                            for name in extracted.unknown_artists {
                                if !report.unknown_artists.contains(&name) {
                                    report.unknown_artists.push(name);
                                }
                            }
                            record.uuids.push(extracted.draft.uuid.clone());
                            taken.seen.insert(extracted.draft.uuid.clone());
                            if extracted.draft.is_past(today) {
                                report.workshops.skipped_past += 1;
                            } else {
                                let mut confidence = confidence::assess(&extracted.provenance);
                                confidence.title = extracted.title;
                                taken.drafts.push(
                                    Identified::new(extracted.draft).with_confidence(confidence),
                                );
                            }
                        }
                    }
                }
                page_uuids.push((url.to_string(), record.uuids.clone()));
                taken.records.push((record, previous));
            }
        }
    }
    // Two pages giving one uuid would overwrite each other: an error for this run, and
    // neither page's workshop is written (nor its page record, so the next run checks
    // again). Their uuids stay seen, so nothing stored is archived for it.
    let collisions = uuid_collisions(&page_uuids);
    for (uuid, urls) in &collisions {
        report.errors.push(format!(
            "uuid {uuid} comes from more than one page ({}): none of them is written; give the source a [slug] pattern that tells these URLs apart",
            urls.join(", ")
        ));
    }
    if !collisions.is_empty() {
        taken.drafts.retain(|d| !collisions.contains_key(d.uuid()));
        taken
            .records
            .retain(|(r, _)| !r.uuids.iter().any(|u| collisions.contains_key(u)));
    }
    taken
}

/// Reads what the store holds of the studio and plans against it (pure
/// [`reconcile::reconcile`]). Archiving is allowed only after a complete, clean crawl
/// that found event links.
#[allow(clippy::too_many_arguments)]
async fn plan(
    ctx: &RunContext,
    source: &Source,
    options: &RunOptions,
    crawl: &CrawlResult,
    drafts: Vec<Identified>,
    seen: &BTreeSet<String>,
    page_failures: u32,
    report: &mut RunReport,
) -> Result<Plan, StoreError> {
    let stored = ctx.store.load_studio_workshops(&source.studio.id).await?;
    let signatures: Vec<String> = drafts.iter().map(|d| d.signature().to_string()).collect();
    let owners = ctx.store.signature_owners(&signatures).await?;
    let archive_policy = reconcile::archive_policy(
        crawl.complete,
        crawl.event_urls.len(),
        page_failures as usize,
    );
    if crawl.event_urls.is_empty() && crawl.complete {
        report.warnings.push(
            "the listing had no event links: nothing archived (check crawl.follow if the studio still has events)"
                .into(),
        );
    }
    Ok(reconcile::reconcile(ReconcileInput {
        drafts,
        seen_uuids: seen,
        stored: &stored,
        signature_owners: &owners,
        archive_policy,
        brake_fraction: if options.allow_mass_archive {
            1.0
        } else {
            ctx.config.archive_brake_fraction
        },
    }))
}

/// New workshops written per pair of commands (see [`apply`]).
const INSERT_BATCH: usize = 500;

/// Applies the plan (or only counts it, on a dry run). Returns the uuids the app
/// contract refused (named with their rule and page in the report's errors).
async fn apply(
    ctx: &RunContext,
    source: &Source,
    options: &RunOptions,
    plan: &Plan,
    today: NaiveDate,
    now: DateTime<Utc>,
    report: &mut RunReport,
) -> Result<Vec<String>, StoreError> {
    let today_text = today.format("%Y-%m-%d").to_string();
    let mut rejected = Vec::new();
    let mut lost_races: BTreeSet<&str> = BTreeSet::new();
    report.kept_edits = plan.kept_edits.clone();
    // The contract's references (studio, artists) in two reads for the whole plan rather
    // than two per written workshop.
    let writes: BTreeSet<String> = plan
        .actions
        .iter()
        .filter_map(|a| match a {
            reconcile::Action::Insert { draft, .. } | reconcile::Action::Update { draft, .. } => {
                Some(draft.draft().artist_id_list.iter().cloned())
            }
            _ => None,
        })
        .flatten()
        .collect();
    let writes_any = plan.actions.iter().any(|a| {
        matches!(
            a,
            reconcile::Action::Insert { .. } | reconcile::Action::Update { .. }
        )
    });
    let cache = if writes_any && !options.dry_run {
        Some(ctx.store.reference_cache(&source.studio.id, writes).await?)
    } else {
        None
    };
    // Inserts are written in batches (signatures, then documents: two commands for up
    // to a batch of new workshops); any other action first writes the batch so far.
    let mut inserts = Vec::new();
    for action in &plan.actions {
        if !options.dry_run && matches!(action, reconcile::Action::Insert { .. }) {
            match ctx
                .store
                .prepare_insert(action, now, &today_text, cache.as_ref())
                .await?
            {
                Ok(prepared) => {
                    if prepared.held {
                        report.workshops.held_for_review += 1;
                        report.held_uuids.push(action.uuid().to_string());
                    }
                    inserts.push(prepared)
                }
                Err(r) => {
                    report.errors.push(r.to_string());
                    rejected.push(action.uuid().to_string());
                    lost_races.insert(action.uuid());
                    continue;
                }
            }
            if inserts.len() >= INSERT_BATCH {
                ctx.store.write_inserts(&inserts).await?;
                inserts.clear();
            }
            count_action(action, report);
            continue;
        }
        if !options.dry_run && !inserts.is_empty() {
            ctx.store.write_inserts(&inserts).await?;
            inserts.clear();
        }
        if !options.dry_run {
            let keep = plan.keep.get(action.uuid()).copied().unwrap_or_default();
            match ctx
                .store
                .apply_action_cached(action, keep, now, &today_text, cache.as_ref())
                .await?
            {
                Applied::Done => {}
                Applied::Held => {
                    report.workshops.held_for_review += 1;
                    report.held_uuids.push(action.uuid().to_string());
                }
                Applied::LostRace => {
                    lost_races.insert(action.uuid());
                    report.errors.push(format!(
                        "{}: changed by another writer during this run; the next run retries it",
                        action.uuid()
                    ));
                    continue;
                }
                Applied::Rejected(r) => {
                    report.errors.push(r.to_string());
                    rejected.push(action.uuid().to_string());
                    lost_races.insert(action.uuid());
                    continue;
                }
            }
        }
        count_action(action, report);
    }
    ctx.store.write_inserts(&inserts).await?;
    if !options.dry_run {
        // Only workshops actually rewritten with their new identity give up the old one.
        let retire: Vec<(String, String)> = plan
            .retire_signatures
            .iter()
            .filter(|(_, uuid)| !lost_races.contains(uuid.as_str()))
            .cloned()
            .collect();
        ctx.store.retire_signatures(&retire, now).await?;
        ctx.store
            .record_pipeline_written(&plan.record_written)
            .await?;
    }
    if let Some(brake) = &plan.brake {
        report.outcome = Outcome::Failed;
        report.errors.push(brake.clone());
    }
    if !plan.archive.is_empty() {
        report.workshops.archived = plan.archive.len() as u32;
        report.archived_uuids = plan.archive.clone();
        if !options.dry_run {
            ctx.store
                .archive_workshops(&source.studio.id, &plan.archive, now)
                .await?;
        }
    }
    Ok(rejected)
}

/// Saves the page records (the "unchanged" shortcut of the next run).
async fn remember<'a>(
    ctx: &RunContext,
    options: &RunOptions,
    records: impl Iterator<Item = &'a (PageRecord, Option<PageRecord>)>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if options.dry_run {
        return Ok(());
    }
    let all: Vec<(&PageRecord, Option<&PageRecord>)> = records
        .map(|(record, previous)| (record, previous.as_ref()))
        .collect();
    ctx.store.save_pages(&all, now).await
}

/// The text a panic was raised with (`panic!("...")` gives a `&str` or a `String`).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".into())
}

/// The uuids that more than one page (URL) produced in one run, with those URLs.
pub fn uuid_collisions(pages: &[(String, Vec<String>)]) -> BTreeMap<String, Vec<String>> {
    let mut by_uuid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (url, uuids) in pages {
        for u in uuids {
            let urls = by_uuid.entry(u.clone()).or_default();
            if !urls.contains(url) {
                urls.push(url.clone());
            }
        }
    }
    by_uuid.retain(|_, urls| urls.len() > 1);
    by_uuid
}

fn count_action(action: &Action, report: &mut RunReport) {
    match action {
        Action::Insert { draft, announce } => {
            report.workshops.new += 1;
            if *announce == Some(Announcement::NewWorkshop) {
                report.new_uuids.push(draft.uuid().to_string());
                report
                    .announced
                    .push((Announcement::NewWorkshop, draft.clone()));
            }
        }
        Action::Update {
            draft, announce, ..
        } => {
            report.workshops.updated += 1;
            report.updated_uuids.push(draft.uuid().to_string());
            if *announce == Some(Announcement::ScheduleChange) {
                report.schedule_changed_uuids.push(draft.uuid().to_string());
                report
                    .announced
                    .push((Announcement::ScheduleChange, draft.clone()));
            }
        }
        Action::Unchanged { .. } => report.workshops.unchanged += 1,
        Action::Duplicate {
            uuid,
            of,
            payment_link,
        } => {
            report.workshops.duplicate += 1;
            warn!(uuid = %uuid, of = %of, url = %payment_link, "same workshop as an existing one; not stored");
            report.duplicates.push(DuplicateSeen {
                uuid: uuid.clone(),
                of: of.clone(),
                url: payment_link.clone(),
            });
        }
    }
}

/// Fingerprint of the artist directory: SHA-256 over every artist's id, name and
/// Instagram link (the handle is an alias), in id order. Remembered on each event page;
/// a page remembered with another fingerprint (an artist or alias added, renamed,
/// removed) is fetched and matched again although it did not change.
pub fn artists_fingerprint(artists: &ArtistDirectory) -> String {
    let mut lines: Vec<String> = artists
        .artists()
        .iter()
        .map(|a| {
            format!(
                "{}\t{}\t{}",
                a.artist_id,
                a.artist_name,
                a.instagram_link.as_deref().unwrap_or("")
            )
        })
        .chain(
            artists
                .aliases()
                .iter()
                .map(|(id, alias)| format!("{id}\talias\t{alias}")),
        )
        .collect();
    lines.sort();
    crate::workshop::sha256_hex(lines.join("\n").as_bytes())
}

/// Cache validators to send, unless `--force` asks for a fresh copy.
fn validators_for(previous: Option<&PageRecord>, options: &RunOptions) -> Option<Validators> {
    previous.filter(|_| !options.force).map(|p| Validators {
        etag: p.etag.clone(),
        last_modified: p.last_modified.clone(),
    })
}

/// What to remember of a fetched page (uuids or links are filled in by the caller).
fn page_record(source: &Source, url: &Url, page: &FetchedPage) -> PageRecord {
    PageRecord {
        url: url.to_string(),
        studio_id: source.studio.id.clone(),
        etag: page.validators.etag.clone(),
        last_modified: page.validators.last_modified.clone(),
        body_sha256: Some(page.body_sha256.clone()),
        uuids: Vec::new(),
        links: Vec::new(),
        artists_fingerprint: None,
    }
}

struct CrawlResult {
    event_urls: Vec<Url>,
    /// False when a listing page failed or the page cap cut the crawl short.
    complete: bool,
    records: Vec<(PageRecord, Option<PageRecord>)>,
}

fn request<'a>(
    source: &'a Source,
    url: &'a Url,
    validators: Option<&'a Validators>,
) -> PageRequest<'a> {
    PageRequest {
        url,
        validators,
        policy: HostPolicy {
            min_delay: source.crawl.host_delay,
            concurrency: source.crawl.host_concurrency,
        },
        obey_robots: source.crawl.obey_robots,
        allowed_hosts: &source.crawl.allowed_hosts,
    }
}

/// Fetch latency by outcome, for `/metrics` (a no-op outside the daemon).
fn observe_fetch<E>(studio: &str, fetched: &Result<FetchOutcome, E>, started: Instant) {
    let outcome = match fetched {
        Ok(FetchOutcome::Fetched(_)) => "downloaded",
        Ok(FetchOutcome::NotModified { .. }) => "unchanged",
        Err(_) => "failed",
    };
    crate::metrics::observe_fetch(studio, outcome, started.elapsed());
}

async fn crawl_listings(
    ctx: &RunContext,
    source: &Source,
    known: &HashMap<String, PageRecord>,
    options: &RunOptions,
    report: &mut RunReport,
) -> CrawlResult {
    let crawl = &source.crawl;
    let mut queue: VecDeque<(Url, u32)> = crawl.start_urls.iter().map(|u| (u.clone(), 0)).collect();
    let mut visited: BTreeSet<Url> = BTreeSet::new();
    let mut event_urls: Vec<Url> = Vec::new();
    // De-duplication by set: a listing can carry 100,000 links.
    let mut event_seen: std::collections::HashSet<Url> = std::collections::HashSet::new();
    let mut records = Vec::new();
    let mut complete = true;
    let mut listing_ok = 0;
    // Event links refused by the host rules, per host: (count, first link).
    let mut off_host: std::collections::BTreeMap<String, (usize, Url)> =
        std::collections::BTreeMap::new();
    while let Some((url, depth)) = queue.pop_front() {
        if !visited.insert(url.clone()) {
            continue;
        }
        if visited.len() + event_urls.len() > crawl.max_pages {
            complete = false;
            report.warnings.push(format!(
                "page cap of {} reached: the crawl stopped early and nothing is archived",
                crawl.max_pages
            ));
            break;
        }
        let previous = known.get(url.as_str()).cloned();
        let validators = validators_for(previous.as_ref(), options);
        let span = info_span!("page", url = %url, kind = "listing");
        let fetch_started = Instant::now();
        let fetched = ctx
            .fetcher
            .fetch(&request(source, &url, validators.as_ref()))
            .instrument(span)
            .await;
        observe_fetch(&source.studio.id, &fetched, fetch_started);
        let links: Vec<Url> = match fetched {
            Ok(FetchOutcome::NotModified { .. }) => {
                listing_ok += 1;
                report.pages.unchanged += 1;
                previous
                    .as_ref()
                    .map(|p| p.links.iter().filter_map(|l| Url::parse(l).ok()).collect())
                    .unwrap_or_default()
            }
            Ok(FetchOutcome::Fetched(page)) => {
                listing_ok += 1;
                let same_body = previous
                    .as_ref()
                    .is_some_and(|p| p.body_sha256.as_deref() == Some(page.body_sha256.as_str()));
                if same_body && !options.force {
                    report.pages.unchanged += 1;
                } else {
                    report.pages.fetched += 1;
                }
                let links = extract::page_links(&page.text, &page.final_url);
                let record = PageRecord {
                    links: links.iter().map(Url::to_string).collect(),
                    ..page_record(source, &url, &page)
                };
                records.push((record, previous));
                links
            }
            Err(err) => {
                complete = false;
                report.pages.failed += 1;
                report.errors.push(format!("listing {url}: {err}"));
                continue;
            }
        };
        for link in links {
            if crawl.follow.is_match(link.as_str()) {
                if !crawl.host_allowed(&link) {
                    let host = link.host_str().unwrap_or_default().to_string();
                    off_host.entry(host).or_insert((0, link.clone())).0 += 1;
                } else if event_urls.len() <= crawl.max_pages && event_seen.insert(link.clone()) {
                    // One past the cap is enough to know the cap was reached.
                    event_urls.push(link);
                }
            } else if depth + 1 < crawl.depth && crawl.host_allowed(&link) {
                queue.push_back((link, depth + 1));
            }
        }
    }
    for (host, (n, example)) in &off_host {
        report.warnings.push(format!(
            "{n} event link(s) on host `{host}`, which is not in crawl.allowed_hosts, skipped (e.g. {example})"
        ));
    }
    if event_urls.is_empty() && !off_host.is_empty() {
        // Nothing was read because of the host rules: that is a configuration problem
        // to fix, not a successful run of a studio without workshops.
        let hosts: Vec<&str> = off_host.keys().map(String::as_str).collect();
        report.errors.push(format!(
            "every event link the listing gave was on a host not in crawl.allowed_hosts ({}), so no event page was read; add the host(s) to crawl.allowed_hosts",
            hosts.join(", ")
        ));
        complete = false;
    }
    if listing_ok == 0 {
        complete = false;
    }
    if event_urls.len() > crawl.max_pages {
        event_urls.truncate(crawl.max_pages);
        complete = false;
    }
    CrawlResult {
        event_urls,
        complete,
        records,
    }
}

#[allow(clippy::too_many_arguments)]
async fn process_event_page(
    ctx: &RunContext,
    source: &Source,
    known: &HashMap<String, PageRecord>,
    artists: &ArtistDirectory,
    fingerprint: &str,
    options: &RunOptions,
    today: chrono::NaiveDate,
    url: &Url,
) -> PageResult {
    let span = info_span!("page", url = %url, kind = "event");
    async {
        let previous = known.get(url.as_str()).cloned();
        // Matched against another artist directory: read the page again in full, as
        // `--force` would (a 304 would leave nothing to match).
        let rematch = previous
            .as_ref()
            .is_some_and(|p| p.artists_fingerprint.as_deref() != Some(fingerprint));
        let validators = validators_for(previous.as_ref().filter(|_| !rematch), options);
        let fetch_started = Instant::now();
        let fetched = ctx
            .fetcher
            .fetch(&request(source, url, validators.as_ref()))
            .await;
        observe_fetch(&source.studio.id, &fetched, fetch_started);
        let page = match fetched {
            Ok(FetchOutcome::NotModified { .. }) => {
                if let Some(prev) = previous {
                    return PageResult::Unchanged { uuids: prev.uuids };
                }
                return PageResult::Failed {
                    error: format!(
                        "{url}: server answered 304 to a request we never made conditional"
                    ),
                };
            }
            Ok(FetchOutcome::Fetched(page)) => page,
            Err(err) => {
                return PageResult::Failed {
                    error: format!("event page {url}: {err}"),
                }
            }
        };
        if let Some(prev) = previous.as_ref().filter(|_| !options.force && !rematch) {
            if prev.body_sha256.as_deref() == Some(page.body_sha256.as_str()) {
                return PageResult::Unchanged {
                    uuids: prev.uuids.clone(),
                };
            }
        }
        let owned = extract::OwnedPage {
            page_url: url.clone(),
            html: page.text.clone(),
            source: source.clone(),
            artists: artists.clone(),
            today,
        };
        let verdict =
            match extract::extract_page_off_runtime(owned, ctx.config.extract_budget()).await {
                Ok(verdict) => verdict,
                Err(err) => {
                    return PageResult::Failed {
                        error: format!("event page {url}: {err}"),
                    }
                }
            };
        if let PageVerdict::NotAWorkshop { reason } = &verdict {
            info!(reason = %reason, "not a workshop");
        }
        PageResult::Extracted(Box::new(ExtractedPage {
            verdict,
            record: PageRecord {
                artists_fingerprint: Some(fingerprint.to_string()),
                ..page_record(source, url, &page)
            },
            previous,
        }))
    }
    .instrument(span)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uuid_from_two_pages_is_a_collision_naming_both() {
        let pages = vec![
            (
                "https://s.test/e/a".to_string(),
                vec!["st/x".to_string(), "st/a".to_string()],
            ),
            ("https://s.test/e/b".to_string(), vec!["st/x".to_string()]),
            // One page giving a uuid twice (two songs, say) is not a collision.
            (
                "https://s.test/e/c".to_string(),
                vec!["st/c".to_string(), "st/c".to_string()],
            ),
        ];
        let c = uuid_collisions(&pages);
        assert_eq!(c.len(), 1);
        assert_eq!(
            c["st/x"],
            vec![
                "https://s.test/e/a".to_string(),
                "https://s.test/e/b".to_string()
            ]
        );
    }
}
