//! The whole pipeline on the fixture studios, offline (replayed pages), against a real
//! MongoDB wire-protocol server.

use crate::support::mongo;
use crate::support::replay::ReplayDir;
use chrono::{NaiveDate, TimeZone, Utc};
use mongodb::bson::{doc, Document};
use nachna_ingest::artist::ArtistDirectory;
use nachna_ingest::clock::FixedClock;
use nachna_ingest::fetch::Fetcher;
use nachna_ingest::localdb::{LocalDb, LocalDbOptions};
use nachna_ingest::pipeline::{run_source, NoProgress, Progress, RunContext, RunOptions};
use nachna_ingest::report::{Outcome, RunReport};
use nachna_ingest::settings::IngestConfig;
use nachna_ingest::source::{self, Source};
use nachna_ingest::store::Store;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const RUN_DATE: (i32, u32, u32) = (2026, 6, 1);
const GOLDEN_KEYS: [&str; 11] = [
    "uuid",
    "studio_id",
    "payment_link",
    "payment_link_type",
    "event_type",
    "time_details",
    "by",
    "song",
    "pricing_info",
    "artist_id_list",
    "choreo_insta_link",
];

fn run_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(RUN_DATE.0, RUN_DATE.1, RUN_DATE.2).unwrap()
}

pub fn fixture_sources() -> Vec<Source> {
    source::load_dir(Path::new("sources")).expect("shipped sources are valid")
}

pub fn fixture_artists() -> ArtistDirectory {
    let text = std::fs::read_to_string("fixtures/artists.json").expect("fixtures/artists.json");
    ArtistDirectory::new(serde_json::from_str(&text).expect("artists.json parses"))
}

use crate::store::open_test_store as store_for;

fn context(store: &Store, replay: &Path) -> RunContext {
    RunContext {
        store: store.clone(),
        fetcher: Fetcher::replay(replay).expect("replay dir loads"),
        clock: Arc::new(FixedClock(
            Utc.with_ymd_and_hms(RUN_DATE.0, RUN_DATE.1, RUN_DATE.2, 6, 30, 0)
                .unwrap(),
        )),
        config: IngestConfig::default(),
    }
}

async fn ingest(ctx: &RunContext, source: &Source, options: &RunOptions) -> RunReport {
    // As `ingest --seed-artists` does (not on a dry run): the app contract wants every
    // linked artist stored.
    if !options.dry_run {
        ctx.store
            .seed_artists(fixture_artists().artists())
            .await
            .expect("artists seeded");
    }
    run_source(ctx, source, &fixture_artists(), options, &NoProgress).await
}

async fn ingest_all(ctx: &RunContext) -> Vec<RunReport> {
    let mut reports = Vec::new();
    for s in fixture_sources() {
        reports.push(ingest(ctx, &s, &RunOptions::default()).await);
    }
    reports
}

/// The golden documents of a studio that a run on the fixture date stores (past ones
/// are skipped), by uuid.
fn expected_stored(studio_id: &str) -> BTreeMap<String, Value> {
    let dir = Path::new("fixtures").join(studio_id).join("expected");
    let mut out = BTreeMap::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        let docs: Vec<Value> =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        for d in docs {
            let past = d["time_details"].as_array().unwrap().iter().all(|t| {
                let date = NaiveDate::from_ymd_opt(
                    t["year"].as_i64().unwrap() as i32,
                    t["month"].as_u64().unwrap() as u32,
                    t["day"].as_u64().unwrap() as u32,
                )
                .unwrap();
                date < run_date()
            });
            if !past {
                out.insert(d["uuid"].as_str().unwrap().to_string(), d);
            }
        }
    }
    out
}

async fn stored_docs(store: &Store, studio_id: &str) -> BTreeMap<String, Document> {
    use futures::TryStreamExt;
    let docs: Vec<Document> = store
        .raw_workshops()
        .find(doc! { "studio_id": studio_id })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    docs.into_iter()
        .map(|d| (d.get_str("uuid").unwrap().to_string(), d))
        .collect()
}

async fn all_collections(store: &Store) -> BTreeMap<String, Vec<Document>> {
    use futures::TryStreamExt;
    let mut out = BTreeMap::new();
    for name in [
        "workshops_v2",
        "workshop_signatures",
        "ingest_pages",
        "studios",
    ] {
        let docs: Vec<Document> = store
            .raw_discovery()
            .collection::<Document>(name)
            .find(doc! {})
            .sort(doc! { "_id": 1 })
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap();
        out.insert(name.to_string(), docs);
    }
    out
}

fn app_fields(d: &Document) -> Value {
    let json: Value = mongodb::bson::Bson::Document(d.clone()).into_relaxed_extjson();
    let mut out = serde_json::Map::new();
    for k in GOLDEN_KEYS {
        out.insert(k.to_string(), json.get(k).cloned().unwrap_or(Value::Null));
    }
    Value::Object(out)
}

/// A studio with at least four stored workshops, for the archive and brake tests.
fn studio_with_many_workshops() -> Source {
    fixture_sources()
        .into_iter()
        .max_by_key(|s| expected_stored(&s.studio.id).len())
        .unwrap()
}

#[tokio::test]
async fn ingest_of_fixture_studios_stores_the_golden_documents() {
    let store = store_for("golden").await;
    let ctx = context(&store, Path::new("fixtures"));
    for report in ingest_all(&ctx).await {
        assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
        let expected = expected_stored(&report.studio_id);
        let stored = stored_docs(&store, &report.studio_id).await;
        assert_eq!(
            stored.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{}: stored uuids",
            report.studio_id
        );
        for (uuid, doc) in &stored {
            pretty_assertions::assert_eq!(&app_fields(doc), &expected[uuid], "{uuid}");
            assert_eq!(doc.get_i32("version").unwrap(), 1);
            assert!(!doc.get_bool("is_archived").unwrap());
        }
        assert_eq!(report.workshops.new as usize, expected.len());
        assert_eq!(report.new_uuids.len(), expected.len());
    }
    let studios = store
        .raw_discovery()
        .collection::<Document>("studios")
        .count_documents(doc! {})
        .await
        .unwrap();
    assert_eq!(studios as usize, fixture_sources().len());
}

#[tokio::test]
async fn second_identical_ingest_writes_nothing() {
    let store = store_for("second").await;
    let ctx = context(&store, Path::new("fixtures"));
    ingest_all(&ctx).await;
    let before = all_collections(&store).await;
    for report in ingest_all(&ctx).await {
        assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
        assert_eq!(report.workshops.new, 0);
        assert_eq!(report.workshops.updated, 0);
        assert_eq!(report.workshops.archived, 0);
        assert_eq!(
            report.pages.fetched, 0,
            "every page is unchanged the second time"
        );
    }
    pretty_assertions::assert_eq!(before, all_collections(&store).await);
}

#[tokio::test]
async fn forced_reingest_of_unchanged_pages_writes_nothing() {
    let store = store_for("forced").await;
    let ctx = context(&store, Path::new("fixtures"));
    ingest_all(&ctx).await;
    let before = all_collections(&store).await;
    let force = RunOptions {
        force: true,
        ..RunOptions::default()
    };
    for s in fixture_sources() {
        let report = ingest(&ctx, &s, &force).await;
        assert!(report.pages.fetched > 0);
        assert_eq!(
            report.workshops.new + report.workshops.updated,
            0,
            "{report:#?}"
        );
    }
    assert_eq!(
        before["workshops_v2"],
        all_collections(&store).await["workshops_v2"]
    );
}

#[tokio::test]
async fn dry_run_writes_nothing_but_reports_what_would_change() {
    let store = store_for("dryrun").await;
    let ctx = context(&store, Path::new("fixtures"));
    let dry = RunOptions {
        dry_run: true,
        ..RunOptions::default()
    };
    for s in fixture_sources() {
        let report = ingest(&ctx, &s, &dry).await;
        assert_eq!(
            report.workshops.new as usize,
            expected_stored(&s.studio.id).len()
        );
    }
    for (name, docs) in all_collections(&store).await {
        assert!(docs.is_empty(), "{name} was written by a dry run");
    }
}

/// Workshops a run planned (every future draft, whatever the plan did with it).
fn planned(r: &RunReport) -> u64 {
    let w = &r.workshops;
    u64::from(w.new + w.updated + w.unchanged + w.duplicate)
}

#[tokio::test]
async fn signature_and_content_hash_are_computed_once_per_workshop_per_run() {
    use nachna_ingest::workshop::identity_computations;
    let store = store_for("identityonce").await;
    let source = studio_with_many_workshops();
    let ctx = context(&store, Path::new("fixtures"));
    let force = RunOptions {
        force: true,
        ..RunOptions::default()
    };
    // First run (all inserts), then a forced rerun (all re-extracted, all unchanged).
    for (options, label) in [(RunOptions::default(), "first"), (force, "forced rerun")] {
        let (sig_before, hash_before) = identity_computations();
        let report = ingest(&ctx, &source, &options).await;
        let (sig_after, hash_after) = identity_computations();
        assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
        let workshops = planned(&report);
        assert_eq!(
            workshops,
            expected_stored(&source.studio.id).len() as u64,
            "{label}"
        );
        assert_eq!(sig_after - sig_before, workshops, "{label}: signatures");
        assert_eq!(
            hash_after - hash_before,
            workshops,
            "{label}: content hashes"
        );
    }
}

#[tokio::test]
async fn changed_page_bumps_version_once() {
    let store = store_for("bump").await;
    let source = studio_with_many_workshops();
    let replay = ReplayDir::copy_of_fixtures();
    let ctx = context(&store, replay.path());
    ingest(&ctx, &source, &RunOptions::default()).await;
    let (uuid, page_url) = replay.first_event_with_price(&source.studio.id);
    replay.change_prices(&page_url);
    let ctx = context(&store, replay.path());
    let report = ingest(&ctx, &source, &RunOptions::default()).await;
    assert_eq!(report.workshops.updated, 1, "{report:#?}");
    assert_eq!(report.updated_uuids, vec![uuid.clone()]);
    let first = stored_docs(&store, &source.studio.id).await[&uuid].clone();
    assert_eq!(first.get_i32("version").unwrap(), 2);
    let again = ingest(
        &ctx,
        &source,
        &RunOptions {
            force: true,
            ..RunOptions::default()
        },
    )
    .await;
    assert_eq!(again.workshops.updated, 0);
    let second = stored_docs(&store, &source.studio.id).await[&uuid].clone();
    assert_eq!(second.get_i32("version").unwrap(), 2);
    assert_eq!(
        second.get_object_id("_id").unwrap(),
        first.get_object_id("_id").unwrap()
    );
}

#[tokio::test]
async fn same_workshop_under_two_links_is_stored_once() {
    let store = store_for("twolinks").await;
    let source = studio_with_many_workshops();
    let replay = ReplayDir::copy_of_fixtures();
    let (uuid, page_url) = replay.first_event_with_price(&source.studio.id);
    let second_url = replay.duplicate_page_under_new_link(&source, &page_url);
    let ctx = context(&store, replay.path());
    let report = ingest(&ctx, &source, &RunOptions::default()).await;
    assert_eq!(report.workshops.duplicate, 1, "{report:#?}");
    let dup = &report.duplicates[0];
    assert_eq!(dup.url, second_url);
    assert!(
        dup.of < dup.uuid,
        "the first uuid in order owns the signature: {dup:?}"
    );
    let stored = stored_docs(&store, &source.studio.id).await;
    assert_eq!(stored.len(), expected_stored(&source.studio.id).len());
    assert!(stored.contains_key(&uuid) ^ stored.contains_key(&dup.uuid));
}

#[tokio::test]
async fn vanished_workshop_is_archived_not_deleted() {
    let store = store_for("vanish").await;
    let source = studio_with_many_workshops();
    let replay = ReplayDir::copy_of_fixtures();
    let ctx = context(&store, replay.path());
    ingest(&ctx, &source, &RunOptions::default()).await;
    let (uuid, page_url) = replay.first_event_with_price(&source.studio.id);
    replay.remove_link_from_listings(&source, &page_url);
    let report = ingest(
        &context(&store, replay.path()),
        &source,
        &RunOptions::default(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
    assert_eq!(report.archived_uuids, vec![uuid.clone()]);
    let stored = stored_docs(&store, &source.studio.id).await;
    assert_eq!(
        stored.len(),
        expected_stored(&source.studio.id).len(),
        "nothing deleted"
    );
    assert!(stored[&uuid].get_bool("is_archived").unwrap());
    assert_eq!(
        stored
            .values()
            .filter(|d| d.get_bool("is_archived").unwrap())
            .count(),
        1
    );
}

#[tokio::test]
async fn safety_brake_archives_nothing_when_most_workshops_vanish() {
    let store = store_for("brake").await;
    let source = studio_with_many_workshops();
    let replay = ReplayDir::copy_of_fixtures();
    let ctx = context(&store, replay.path());
    ingest(&ctx, &source, &RunOptions::default()).await;
    let stored = stored_docs(&store, &source.studio.id).await;
    let urls: Vec<String> = stored
        .values()
        .map(|d| d.get_str("payment_link").unwrap().to_string())
        .collect();
    for url in &urls[1..] {
        replay.remove_link_from_listings(&source, url);
    }
    let report = ingest(
        &context(&store, replay.path()),
        &source,
        &RunOptions::default(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed);
    assert!(
        report.errors.iter().any(|e| e.contains("safety brake")),
        "{report:#?}"
    );
    let after = stored_docs(&store, &source.studio.id).await;
    assert!(after.values().all(|d| !d.get_bool("is_archived").unwrap()));
}

#[tokio::test]
async fn listing_with_zero_event_links_archives_nothing() {
    let store = store_for("zerolinks").await;
    let source = studio_with_many_workshops();
    let replay = ReplayDir::copy_of_fixtures();
    ingest(
        &context(&store, replay.path()),
        &source,
        &RunOptions::default(),
    )
    .await;
    replay.empty_listings(&source);
    let report = ingest(
        &context(&store, replay.path()),
        &source,
        &RunOptions::default(),
    )
    .await;
    assert_eq!(report.workshops.archived, 0);
    assert!(
        report.warnings.iter().any(|w| w.contains("no event links")),
        "{report:#?}"
    );
    let after = stored_docs(&store, &source.studio.id).await;
    assert!(after.values().all(|d| !d.get_bool("is_archived").unwrap()));
}

#[tokio::test]
async fn failed_event_page_makes_a_partial_run_that_archives_nothing() {
    let store = store_for("partial").await;
    let source = studio_with_many_workshops();
    let replay = ReplayDir::copy_of_fixtures();
    ingest(
        &context(&store, replay.path()),
        &source,
        &RunOptions::default(),
    )
    .await;
    let (_, page_url) = replay.first_event_with_price(&source.studio.id);
    replay.remove_link_from_listings(&source, &page_url);
    let (_, other_url) = replay.last_event_with_price(&source.studio.id);
    replay.set_status(&other_url, 404);
    let report = ingest(
        &context(&store, replay.path()),
        &source,
        &RunOptions::default(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Partial, "{report:#?}");
    assert_eq!(report.pages.failed, 1);
    assert!(
        report.errors.iter().any(|e| e.contains(&other_url)),
        "{report:#?}"
    );
    assert_eq!(report.workshops.archived, 0);
}

/// Kills the database from inside the run, after the first event page is read.
struct KillDbAfterFirstPage(Mutex<Option<LocalDb>>);

impl Progress for KillDbAfterFirstPage {
    fn page_done(&self, _studio: &str, _url: &str) {
        if let Some(mut db) = self.0.lock().unwrap().take() {
            db.kill();
        }
    }
}

#[tokio::test]
async fn mongodb_going_away_mid_run_fails_cleanly_and_rerun_completes() {
    let data = tempfile::tempdir().unwrap();
    let options = LocalDbOptions::small(data.path().join("db"));
    let db = LocalDb::start(&options).expect("private SecantusDB starts");
    let names = mongo::unique_names("dbgone");
    let store = Store::open(
        &db.uri(),
        &names.discovery,
        &names.app,
        Duration::from_secs(2),
    )
    .await
    .unwrap();
    let source = studio_with_many_workshops();
    let ctx = context(&store, Path::new("fixtures"));
    store
        .seed_artists(fixture_artists().artists())
        .await
        .unwrap();
    let killer = KillDbAfterFirstPage(Mutex::new(Some(db)));
    let report = run_source(
        &ctx,
        &source,
        &fixture_artists(),
        &RunOptions::default(),
        &killer,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Failed, "{report:#?}");
    assert!(!report.errors.is_empty());

    let db = LocalDb::start(&options).expect("SecantusDB restarts on the same data");
    let store = Store::open(
        &db.uri(),
        &names.discovery,
        &names.app,
        Duration::from_secs(10),
    )
    .await
    .unwrap();
    let report = ingest(
        &context(&store, Path::new("fixtures")),
        &source,
        &RunOptions::default(),
    )
    .await;
    assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
    let expected = expected_stored(&source.studio.id);
    let stored = stored_docs(&store, &source.studio.id).await;
    assert_eq!(
        stored.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    for (uuid, doc) in &stored {
        assert_eq!(doc.get_i32("version").unwrap(), 1, "{uuid}");
    }
}

/// Leases as `ingest` takes them, long enough that no renewal falls inside a test run.
fn long_leases(store: &Store) -> nachna_ingest::runs::lease::Leases {
    use nachna_ingest::runs::lease::{LeaseTiming, Leases};
    Leases::new(
        store.clone(),
        nachna_ingest::process::OwnerId::new(),
        LeaseTiming {
            ttl: Duration::from_secs(600),
            renew_every: Duration::from_secs(300),
        },
    )
}

/// Round trips of an unchanged re-ingest, as numbers (issue 12): a start-up with every
/// index present lists them and creates none; the re-ingest writes only the run record
/// (start and end) and reads each collection once.
#[tokio::test]
async fn unchanged_reingest_round_trips_are_the_run_record_and_one_read_per_collection() {
    use nachna_ingest::store::WRITE_COMMANDS;
    let store = store_for("roundtrips").await;
    ingest_all(&context(&store, Path::new("fixtures"))).await;

    let (logged, log) = mongo::logged_twin(&store).await;
    log.clear();
    logged.ensure_schema().await.unwrap();
    let startup = log.commands();
    assert!(
        startup.iter().all(|(c, _)| c == "listIndexes"),
        "{startup:?}"
    );

    let sources = fixture_sources();
    let ctx = context(&logged, Path::new("fixtures"));
    for s in &sources {
        log.clear();
        // The run alone (the `ingest` helper also seeds artists, as the CLI flag does).
        let report = run_source(
            &ctx,
            s,
            &fixture_artists(),
            &RunOptions::default(),
            &NoProgress,
        )
        .await;
        assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
        let commands = log.commands();
        let writes: Vec<&(String, String)> = commands
            .iter()
            .filter(|(c, _)| WRITE_COMMANDS.contains(&c.as_str()))
            .collect();
        assert_eq!(
            writes,
            vec![
                &("insert".to_string(), "ingest_runs".to_string()),
                &("update".to_string(), "ingest_runs".to_string())
            ],
            "{}: {commands:?}",
            s.studio.id
        );
        // Reads: the studio, its page records, its workshops (no draft: no signature
        // lookup).
        let reads: Vec<&str> = commands
            .iter()
            .filter(|(c, _)| !WRITE_COMMANDS.contains(&c.as_str()))
            .map(|(_, coll)| coll.as_str())
            .collect();
        assert_eq!(
            reads,
            vec!["studios", "ingest_pages", "workshops_v2"],
            "{}: {commands:?}",
            s.studio.id
        );
    }
}

// The app contract (shared/app-contract.md) on what the pipeline writes.

fn source_named(studio_id: &str) -> Source {
    fixture_sources()
        .into_iter()
        .find(|s| s.studio.id == studio_id)
        .unwrap()
}

#[tokio::test]
async fn a_fresh_database_with_the_apps_workshop_uuid_index_stores_every_fixture_workshop() {
    let store = store_for("appindex").await;
    // What the app's server does when it starts first.
    store
        .raw_discovery()
        .collection::<Document>("workshops_v2")
        .create_index(
            mongodb::IndexModel::builder()
                .keys(doc! { "workshop_uuid": 1 })
                .options(
                    mongodb::options::IndexOptions::builder()
                        .unique(true)
                        .build(),
                )
                .build(),
        )
        .await
        .unwrap();
    let ctx = context(&store, Path::new("fixtures"));
    let mut stored = 0;
    for report in ingest_all(&ctx).await {
        assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
        let docs = stored_docs(&store, &report.studio_id).await;
        assert_eq!(docs.len(), expected_stored(&report.studio_id).len());
        for (uuid, d) in &docs {
            assert_eq!(d.get_str("workshop_uuid").unwrap(), uuid);
        }
        stored += docs.len();
    }
    assert!(stored >= 15, "{stored} workshops stored");
}

#[tokio::test]
async fn a_workshop_breaking_the_contract_is_not_written_and_the_run_names_rule_and_page() {
    let store = store_for("rejected").await;
    let ctx = context(&store, Path::new("fixtures"));
    let source = source_named("dance.inn.bangalore");
    store
        .seed_artists(fixture_artists().artists())
        .await
        .unwrap();
    // An admin left an artist without an Instagram link: the app cannot show her page.
    store
        .raw_discovery()
        .collection::<Document>("artists_v2")
        .update_one(
            doc! { "artist_id": "zoya.khan.dance" },
            doc! { "$set": { "instagram_link": "" } },
        )
        .await
        .unwrap();
    let report = run_source(
        &ctx,
        &source,
        &fixture_artists(),
        &RunOptions::default(),
        &NoProgress,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Partial, "{report:#?}");
    assert_eq!(
        report.errors,
        vec![
            "workshops_v2 document for page https://rzp.io/rzp/mV3sZk9 (uuid \
             dance.inn.bangalore/mV3sZk9) breaks the app contract: workshops_v2.artist_id_list: \
             artist `zoya.khan.dance` has no http(s) instagram_link (\"\")"
                .to_string()
        ]
    );
    let docs = stored_docs(&store, "dance.inn.bangalore").await;
    assert!(!docs.contains_key("dance.inn.bangalore/mV3sZk9"));
    assert_eq!(
        docs.len(),
        expected_stored("dance.inn.bangalore").len() - 1,
        "the other workshops are stored"
    );

    // Fixed in the database: the next run stores it (its page was not remembered).
    store
        .raw_discovery()
        .collection::<Document>("artists_v2")
        .update_one(
            doc! { "artist_id": "zoya.khan.dance" },
            doc! { "$set": { "instagram_link": "https://www.instagram.com/zoya.khan.dance/" } },
        )
        .await
        .unwrap();
    let again = run_source(
        &ctx,
        &source,
        &fixture_artists(),
        &RunOptions::default(),
        &NoProgress,
    )
    .await;
    assert_eq!(again.outcome, Outcome::Success, "{again:#?}");
    assert_eq!(again.new_uuids, vec!["dance.inn.bangalore/mV3sZk9"]);
}

#[tokio::test]
async fn a_persons_studio_edit_survives_and_the_source_fills_what_is_missing() {
    let store = store_for("studioedit").await;
    let ctx = context(&store, Path::new("fixtures"));
    let source = source_named("dance.inn.bangalore");
    ingest(&ctx, &source, &RunOptions::default()).await;
    let studios = store.raw_discovery().collection::<Document>("studios");
    studios
        .update_one(
            doc! { "studio_id": "dance.inn.bangalore" },
            doc! { "$set": { "studio_name": "Dance Inn HSR" }, "$unset": { "instagram_link": "" } },
        )
        .await
        .unwrap();
    let report = ingest(&ctx, &source, &RunOptions::default()).await;
    let d = studios
        .find_one(doc! { "studio_id": "dance.inn.bangalore" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.get_str("studio_name").unwrap(), "Dance Inn HSR");
    assert_eq!(
        d.get_str("instagram_link").unwrap(),
        "https://www.instagram.com/dance.inn.bangalore/"
    );
    assert!(
        report
            .warnings
            .iter()
            .any(|w| w.contains("`studio_name` kept as \"Dance Inn HSR\", changed by a person")),
        "{report:#?}"
    );
    // Nothing more to write the next time.
    let before = all_collections(&store).await;
    ingest(&ctx, &source, &RunOptions::default()).await;
    assert_eq!(before["studios"], all_collections(&store).await["studios"]);
}

/// Round trips of a first ingest of a big studio, as a number (issue 12): 1,500 event
/// pages served from 127.0.0.1, every one a new workshop. Page records, workshops and
/// signatures are read and written in batches: 17 commands for the 1,500 pages (the
/// issue's bound: at most 2 per page).
#[tokio::test]
async fn first_ingest_of_a_1500_page_studio_takes_at_most_two_round_trips_per_page() {
    use crate::safety::Studio;
    const PAGES: usize = 1500;
    let store = store_for("bigfirst").await;
    let mut studio = Studio::start_named("bigfirst").await;
    studio.source.crawl.max_pages = PAGES + 10;
    let pages: Vec<usize> = (1..=PAGES).collect();
    studio.list(&pages);
    let first = NaiveDate::from_ymd_opt(2030, 3, 2).unwrap();
    for &n in &pages {
        // One date each: no two pages are one workshop.
        let day = first + chrono::Duration::days(n as i64);
        studio.serve(
            n,
            format!(
                r#"<html><head><title>Workshop {n}</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Event",
"name":"Hip hop workshop {n}","startDate":"{day}T18:00:00+05:30",
"endDate":"{day}T20:00:00+05:30","performer":{{"@type":"Person","name":"Rajesh Kumar"}},
"offers":{{"@type":"Offer","price":"800","priceCurrency":"INR"}}}}</script></head>
<body><h1>Hip hop workshop {n} with Rajesh Kumar</h1><p>{day}, 6 PM to 8 PM. Rs. 800</p></body></html>"#
            ),
        );
    }
    let artists = crate::safety::artists(&[("rajesh_dance", "Rajesh Kumar")]);
    store.seed_artists(artists.artists()).await.unwrap();
    store.ensure_schema().await.unwrap();
    let (logged, log) = mongo::logged_twin(&store).await;
    log.clear();
    let report = run_source(
        &crate::safety::context(&logged),
        &studio.source,
        &artists,
        &RunOptions::default(),
        &NoProgress,
    )
    .await;
    assert_eq!(report.outcome, Outcome::Success, "{:#?}", report.errors);
    assert_eq!(report.workshops.new as usize, PAGES, "{report:#?}");
    let commands = log.commands();
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for (c, coll) in &commands {
        *by_kind.entry(format!("{c} {coll}")).or_default() += 1;
    }
    eprintln!(
        "first ingest of {PAGES} pages: {} commands ({:.2} per page): {by_kind:?}",
        commands.len(),
        commands.len() as f64 / PAGES as f64
    );
    assert!(
        commands.len() <= 2 * PAGES,
        "{} commands for {PAGES} pages: {by_kind:?}",
        commands.len()
    );
    // New workshops go in batches of 500: each batch claims its signatures in one
    // command, then writes its documents in one, in that order (crash safety).
    let writes: Vec<&str> = commands
        .iter()
        .filter(|(c, coll)| {
            c == "update" && (coll == "workshops_v2" || coll == "workshop_signatures")
        })
        .map(|(_, coll)| coll.as_str())
        .collect();
    assert_eq!(
        writes,
        ["workshop_signatures", "workshops_v2"].repeat(PAGES.div_ceil(500)),
        "{by_kind:?}"
    );
    // The contract's references: the studio and the artists once for the run.
    assert_eq!(by_kind.get("find artists_v2"), Some(&1), "{by_kind:?}");
    assert!(commands.len() <= 20, "{by_kind:?}");
    let stored = logged
        .raw_workshops()
        .count_documents(doc! { "studio_id": "bigfirst" })
        .await
        .unwrap();
    assert_eq!(stored as usize, PAGES);
}

/// The same unchanged re-ingest as an operator's `ingest` makes it, lease included:
/// the writes are the lease (taken, released) and the run record, nothing else.
#[tokio::test]
async fn unchanged_reingest_under_its_lease_writes_only_the_lease_and_the_run_record() {
    use nachna_ingest::runs::{self, ManualLeases};
    use nachna_ingest::store::WRITE_COMMANDS;
    use tokio_util::sync::CancellationToken;
    let store = store_for("leaseroundtrips").await;
    ingest_all(&context(&store, Path::new("fixtures"))).await;

    let (logged, log) = mongo::logged_twin(&store).await;
    let ctx = context(&logged, Path::new("fixtures"));
    let leases = long_leases(&logged);
    let stop = CancellationToken::new();
    let manual = ManualLeases {
        leases: &leases,
        busy_wait: Duration::from_secs(0),
        stop: &stop,
    };
    for s in &fixture_sources() {
        log.clear();
        let report = runs::run_manual(
            &ctx,
            &manual,
            s,
            &RunOptions::default(),
            &NoProgress,
            |_| {},
        )
        .await;
        assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
        assert_eq!(report.workshops.new, 0, "{report:#?}");
        let commands = log.commands();
        let writes: Vec<(String, String)> = commands
            .iter()
            .filter(|(c, _)| WRITE_COMMANDS.contains(&c.as_str()))
            .cloned()
            .collect();
        let pair = |c: &str, coll: &str| (c.to_string(), coll.to_string());
        assert_eq!(
            writes,
            vec![
                pair("findAndModify", "ingest_leases"),
                pair("insert", "ingest_runs"),
                pair("update", "ingest_runs"),
                pair("delete", "ingest_leases"),
            ],
            "{}: {commands:?}",
            s.studio.id
        );
    }
}

/// A run left `running` by a process that stopped (another host's, so start-up recovery
/// cannot judge it) is marked interrupted when its studio's lease is next taken.
#[tokio::test]
async fn taking_a_studios_lease_marks_its_run_left_running_interrupted() {
    use nachna_ingest::runs::{self, ManualLeases};
    use tokio_util::sync::CancellationToken;
    let store = store_for("staleruns").await;
    let source = fixture_sources().remove(0);
    let studio = source.studio.id.clone();
    let runs_coll = store.raw_discovery().collection::<Document>("ingest_runs");
    runs_coll
        .insert_one(doc! {
            "_id": "left-behind", "studio_id": &studio, "outcome": "running",
            "host": "elsewhere", "pid": 7_i64, "started_at": Utc::now(),
        })
        .await
        .unwrap();
    let leases = long_leases(&store);
    let stop = CancellationToken::new();
    let manual = ManualLeases {
        leases: &leases,
        busy_wait: Duration::from_secs(0),
        stop: &stop,
    };
    store
        .seed_artists(fixture_artists().artists())
        .await
        .unwrap();
    let ctx = context(&store, Path::new("fixtures"));
    let report = runs::run_manual(
        &ctx,
        &manual,
        &source,
        &RunOptions::default(),
        &NoProgress,
        |_| {},
    )
    .await;
    assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
    let left = runs_coll
        .find_one(doc! { "_id": "left-behind" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(left.get_str("outcome").unwrap(), "interrupted");
    let errors = left.get_array("errors").unwrap();
    assert!(
        errors[0]
            .as_str()
            .unwrap()
            .contains("stopped without finishing"),
        "{left:?}"
    );
    // This run's own record is not touched by that.
    let mine = runs_coll
        .find_one(doc! { "_id": &report.run_id })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(mine.get_str("outcome").unwrap(), "success");
}

/// An identity rule changed between two versions of the pipeline (say a listing card's
/// uuid lost its date): the page now names a stored event another way. The workshop
/// continues under its stored uuid: not archived, not stored twice, not announced again,
/// and the next ordinary run finds it unchanged.
#[tokio::test]
async fn a_stored_workshop_the_page_now_names_another_way_continues_under_its_uuid() {
    let store = store_for("continued").await;
    let ctx = context(&store, Path::new("fixtures"));
    let source = source_named("dance_n_addiction");
    let first = ingest(&ctx, &source, &RunOptions::default()).await;
    assert_eq!(first.outcome, Outcome::Success, "{first:#?}");
    let before = stored_docs(&store, "dance_n_addiction").await;
    let live_before = before
        .values()
        .filter(|d| !d.get_bool("is_archived").unwrap())
        .count();
    let (uuid, _) = before
        .iter()
        .find(|(_, d)| !d.get_bool("is_archived").unwrap())
        .expect("a live workshop");
    let old = format!("{uuid}-as-named-before");
    // What an earlier identity rule would have stored.
    store
        .raw_workshops()
        .update_one(
            doc! { "uuid": uuid },
            doc! { "$set": { "uuid": &old, "workshop_uuid": &old } },
        )
        .await
        .unwrap();
    store
        .raw_discovery()
        .collection::<Document>("workshop_signatures")
        .update_many(doc! { "uuid": uuid }, doc! { "$set": { "uuid": &old } })
        .await
        .unwrap();

    let forced = RunOptions {
        force: true,
        ..RunOptions::default()
    };
    let second = ingest(&ctx, &source, &forced).await;
    assert_eq!(second.outcome, Outcome::Success, "{second:#?}");
    assert_eq!(second.workshops.new, 0, "{second:#?}");
    assert_eq!(second.workshops.archived, 0, "{second:#?}");
    assert_eq!(second.workshops.duplicate, 0, "{second:#?}");
    let after = stored_docs(&store, "dance_n_addiction").await;
    assert!(
        !after.contains_key(uuid.as_str()),
        "stored twice: {after:#?}"
    );
    assert!(!after[&old].get_bool("is_archived").unwrap());
    assert_eq!(after[&old].get_str("workshop_uuid").unwrap(), old);
    let live = |docs: &BTreeMap<String, Document>| {
        docs.values()
            .filter(|d| !d.get_bool("is_archived").unwrap())
            .count()
    };
    assert_eq!(live(&after), live_before);

    // The page records now account for the stored uuid: an ordinary run changes nothing.
    let third = ingest(&ctx, &source, &RunOptions::default()).await;
    assert_eq!(third.outcome, Outcome::Success, "{third:#?}");
    assert_eq!(
        (
            third.workshops.new,
            third.workshops.updated,
            third.workshops.archived
        ),
        (0, 0, 0),
        "{third:#?}"
    );
    let settled = stored_docs(&store, "dance_n_addiction").await;
    assert!(!settled[&old].get_bool("is_archived").unwrap());
    assert_eq!(live(&settled), live_before);
}
