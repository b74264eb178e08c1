//! Issue 8's run-safety rules, end to end: a studio served by the scripted HTTP server
//! on 127.0.0.1, the pipeline run in-process against the real database server.
//!
//! * absence is not evidence: a listed page that answers without an event keeps its
//!   workshop live, archiving needs the page gone from the listing;
//! * signatures retire when a workshop's identity changes.

use crate::store::open_test_store;
use crate::support::http_server::{Reply, TestServer};
use chrono::{TimeZone, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use nachna_ingest::artist::{Artist, ArtistDirectory};
use nachna_ingest::clock::FixedClock;
use nachna_ingest::fetch::{FetchSettings, Fetcher};
use nachna_ingest::notify::config::{NotifyConfig, PushConfig};
use nachna_ingest::notify::Notifier;
use nachna_ingest::pipeline::{run_source, NoProgress, Progress, RunContext, RunOptions};
use nachna_ingest::process::OwnerId;
use nachna_ingest::report::{Outcome, RunReport};
use nachna_ingest::runs::lease::{LeaseTiming, Leases};
use nachna_ingest::runs::{self, ManualLeases};
use nachna_ingest::settings::IngestConfig;
use nachna_ingest::source::{parse_source, Source};
use nachna_ingest::store::Store;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub const STUDIO: &str = "safe";

/// One event on one day of March 2030, by `performer`.
#[derive(Debug, Clone)]
pub struct Event {
    pub day: u32,
    pub performer: &'static str,
}

pub fn event_page(e: &Event) -> String {
    format!(
        r#"<html><head><title>Workshop with {p}</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Event",
"name":"Hip hop workshop","startDate":"2030-03-{d:02}T18:00:00+05:30",
"endDate":"2030-03-{d:02}T20:00:00+05:30","performer":{{"@type":"Person","name":"{p}"}},
"offers":{{"@type":"Offer","price":"800","priceCurrency":"INR"}}}}</script></head>
<body><h1>Hip hop workshop with {p}</h1><p>{d} March 2030, 6 PM to 8 PM. Rs. 800</p></body></html>"#,
        p = e.performer,
        d = e.day
    )
}

/// A studio on the test server: a listing and its event pages, both changeable.
pub struct Studio {
    pub id: String,
    pub server: TestServer,
    pub source: Source,
}

impl Studio {
    pub async fn start() -> Studio {
        Studio::start_named(STUDIO).await
    }

    pub async fn start_named(id: &str) -> Studio {
        let server = TestServer::start().await;
        let text = format!(
            r#"[studio]
id = "{id}"
name = "Studio {id}"
instagram_link = "https://www.instagram.com/{id}/"

[crawl]
start_urls = ["{listing}"]
follow = '^http://127\.0\.0\.1:{port}/{id}/events/'
host_delay_ms = 0
obey_robots = false
"#,
            listing = server.url(&format!("/{id}/listing")),
            port = server.port(),
        );
        let source =
            parse_source(&Path::new(id).with_extension("toml"), &text).expect("test source parses");
        Studio {
            id: id.to_string(),
            server,
            source,
        }
    }

    pub fn path(&self, n: usize) -> String {
        format!("/{}/events/e{n}", self.id)
    }

    pub fn url(&self, n: usize) -> String {
        self.server.url(&self.path(n)).to_string()
    }

    /// Lists exactly these event pages.
    pub fn list(&self, pages: &[usize]) {
        let links: String = pages
            .iter()
            .map(|n| format!("<a href=\"{}\">Workshop {n}</a>\n", self.path(*n)))
            .collect();
        self.server.route(
            &format!("/{}/listing", self.id),
            Reply::ok(format!("<html><body>{links}</body></html>"))
                .content_type("text/html; charset=utf-8"),
        );
    }

    pub fn serve(&self, n: usize, body: impl Into<Vec<u8>>) {
        self.server.route(
            &self.path(n),
            Reply::ok(body).content_type("text/html; charset=utf-8"),
        );
    }

    pub fn serve_event(&self, n: usize, e: &Event) {
        self.serve(n, event_page(e));
    }

    /// The uuid the pipeline gives page `n`.
    pub fn uuid(&self, n: usize) -> String {
        self.source
            .uuid_for(&url::Url::parse(&self.url(n)).unwrap())
            .expect("event URL has a uuid")
    }
}

pub fn context(store: &Store) -> RunContext {
    RunContext {
        store: store.clone(),
        fetcher: Fetcher::new(FetchSettings {
            max_attempts: 1,
            request_timeout: Duration::from_secs(20),
            ..FetchSettings::default()
        })
        .unwrap(),
        clock: Arc::new(FixedClock(
            Utc.with_ymd_and_hms(2030, 3, 1, 6, 30, 0).unwrap(),
        )),
        config: IngestConfig::default(),
    }
}

pub fn artists(names: &[(&str, &str)]) -> ArtistDirectory {
    ArtistDirectory::new(
        names
            .iter()
            .map(|(id, name)| Artist {
                artist_id: id.to_string(),
                artist_name: name.to_string(),
                instagram_link: Some(format!("https://www.instagram.com/{id}/")),
            })
            .collect(),
    )
}

async fn run(ctx: &RunContext, studio: &Studio, artists: &ArtistDirectory) -> RunReport {
    // The app contract wants every matched artist in artists_v2.
    ctx.store.seed_artists(artists.artists()).await.unwrap();
    run_source(
        ctx,
        &studio.source,
        artists,
        &RunOptions::default(),
        &NoProgress,
    )
    .await
}

pub async fn workshops(store: &Store) -> BTreeMap<String, Document> {
    let docs: Vec<Document> = store
        .raw_workshops()
        .find(doc! { "studio_id": STUDIO })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    docs.into_iter()
        .map(|d| (d.get_str("uuid").unwrap().to_string(), d))
        .collect()
}

async fn signatures(store: &Store) -> Vec<Document> {
    store
        .raw_discovery()
        .collection::<Document>("workshop_signatures")
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

fn archived(d: &Document) -> bool {
    d.get_bool("is_archived").unwrap()
}

#[tokio::test]
async fn a_listed_page_without_its_event_keeps_the_workshop_live_until_it_leaves_the_listing() {
    let store = open_test_store("absence").await;
    let studio = Studio::start().await;
    let ctx = context(&store);
    let artists = artists(&[("artist1", "Artist One"), ("artist2", "Artist Two")]);
    let e1 = Event {
        day: 10,
        performer: "Artist One",
    };
    let e2 = Event {
        day: 12,
        performer: "Artist Two",
    };
    studio.list(&[1, 2]);
    studio.serve_event(1, &e1);
    studio.serve_event(2, &e2);
    let first = run(&ctx, &studio, &artists).await;
    assert_eq!(first.outcome, Outcome::Success, "{first:#?}");
    assert_eq!(first.workshops.new, 2);

    // Page 1 turns into a maintenance page, page 2's body is cut short: both still
    // answer 200 and both are still listed.
    studio.serve(
        1,
        "<html><body><h1>Down for maintenance</h1><p>Back soon.</p></body></html>",
    );
    let full = event_page(&e2);
    studio.serve(2, full[..full.find("<script").unwrap()].to_string());
    let broken = run(&ctx, &studio, &artists).await;
    assert_eq!(broken.outcome, Outcome::Partial, "{broken:#?}");
    assert_eq!(broken.pages.failed, 2, "{broken:#?}");
    assert_eq!(broken.workshops.archived, 0);
    for n in [1, 2] {
        assert!(
            broken
                .errors
                .iter()
                .any(|e| e.contains(&studio.url(n)) && e.contains("no event")),
            "page {n} is reported with its reason: {:#?}",
            broken.errors
        );
    }
    let stored = workshops(&store).await;
    assert_eq!(stored.len(), 2);
    for d in stored.values() {
        assert!(!archived(d), "{d}");
        assert_eq!(d.get_i32("version").unwrap(), 1, "{d}");
    }

    // The pages come back: the next run reads them again (their broken copies were not
    // remembered), finds what is stored, and changes nothing.
    studio.serve_event(1, &e1);
    studio.serve_event(2, &e2);
    let back = run(&ctx, &studio, &artists).await;
    assert_eq!(back.outcome, Outcome::Success, "{back:#?}");
    assert_eq!(back.pages.failed, 0);
    assert_eq!(
        (
            back.workshops.new,
            back.workshops.updated,
            back.workshops.archived
        ),
        (0, 0, 0),
        "{back:#?}"
    );
    let stored = workshops(&store).await;
    assert!(stored
        .values()
        .all(|d| !archived(d) && d.get_i32("version").unwrap() == 1));

    // Gone from the listing on a complete run: now it is archived.
    studio.list(&[2]);
    let gone = run(&ctx, &studio, &artists).await;
    assert_eq!(gone.outcome, Outcome::Success, "{gone:#?}");
    assert_eq!(gone.archived_uuids, vec![studio.uuid(1)]);
    let stored = workshops(&store).await;
    assert!(archived(&stored[&studio.uuid(1)]));
    assert!(!archived(&stored[&studio.uuid(2)]));
}

#[tokio::test]
async fn a_rescheduled_workshop_keeps_one_live_signature_and_its_old_schedule_marks_no_duplicate() {
    let store = open_test_store("sigretire").await;
    let studio = Studio::start().await;
    let ctx = context(&store);
    let artists = artists(&[("artist1", "Artist One"), ("artist2", "Artist Two")]);
    studio.list(&[1, 2]);
    let original = Event {
        day: 10,
        performer: "Artist One",
    };
    studio.serve_event(1, &original);
    studio.serve_event(
        2,
        &Event {
            day: 12,
            performer: "Artist Two",
        },
    );
    let first = run(&ctx, &studio, &artists).await;
    assert_eq!(first.workshops.new, 2, "{first:#?}");

    // Two schedule changes of workshop 1.
    for day in [11, 14] {
        studio.serve_event(
            1,
            &Event {
                day,
                performer: "Artist One",
            },
        );
        let report = run(&ctx, &studio, &artists).await;
        assert_eq!(report.outcome, Outcome::Success, "{report:#?}");
        assert_eq!(report.schedule_changed_uuids, vec![studio.uuid(1)]);
    }
    let sigs = signatures(&store).await;
    let stored = workshops(&store).await;
    for n in [1, 2] {
        let uuid = studio.uuid(n);
        let live: Vec<&Document> = sigs
            .iter()
            .filter(|s| s.get_str("uuid").unwrap() == uuid && !s.contains_key("retired_at"))
            .collect();
        assert_eq!(live.len(), 1, "{uuid}: one live signature: {sigs:#?}");
        assert_eq!(
            live[0].get_str("_id").unwrap(),
            stored[&uuid].get_str("signature").unwrap(),
            "{uuid}: the live signature is the document's current one"
        );
    }
    let retired = sigs.iter().filter(|s| s.contains_key("retired_at")).count();
    assert_eq!(
        retired, 2,
        "the two old schedules are kept, retired: {sigs:#?}"
    );

    // A new event on workshop 1's first schedule is a new event, not a duplicate.
    studio.list(&[1, 2, 3]);
    studio.serve_event(3, &original);
    let later = run(&ctx, &studio, &artists).await;
    assert_eq!(later.outcome, Outcome::Success, "{later:#?}");
    assert_eq!(later.workshops.duplicate, 0, "{later:#?}");
    assert_eq!(later.new_uuids, vec![studio.uuid(3)]);
    assert!(workshops(&store).await.contains_key(&studio.uuid(3)));
    // And the old signature belongs to its new event now.
    let sigs = signatures(&store).await;
    let live_for_3 = sigs
        .iter()
        .filter(|s| s.get_str("uuid").unwrap() == studio.uuid(3) && !s.contains_key("retired_at"))
        .count();
    assert_eq!(live_for_3, 1, "{sigs:#?}");
}

/// Panics inside the run of one studio, after its first event page.
struct PanicIn(&'static str);

impl Progress for PanicIn {
    fn page_done(&self, studio: &str, _url: &str) {
        if studio == self.0 {
            panic!("injected bug in studio {studio}");
        }
    }
}

#[tokio::test]
async fn a_panicking_studio_fails_alone_and_the_studio_beside_it_completes() {
    let store = open_test_store("panicky").await;
    let ctx = context(&store);
    let leases = Leases::new(
        store.clone(),
        OwnerId::new(),
        LeaseTiming {
            ttl: Duration::from_secs(60),
            renew_every: Duration::from_secs(20),
        },
    );
    let stop = CancellationToken::new();
    let manual = ManualLeases {
        leases: &leases,
        busy_wait: Duration::from_secs(0),
        stop: &stop,
    };
    let mut studios = Vec::new();
    for (id, performer) in [("boom", "Artist One"), ("calm", "Artist Two")] {
        let s = Studio::start_named(id).await;
        s.list(&[1, 2]);
        s.serve_event(1, &Event { day: 10, performer });
        s.serve_event(2, &Event { day: 12, performer });
        studios.push(s);
    }
    store
        .seed_artists(artists(&[("artist1", "Artist One"), ("artist2", "Artist Two")]).artists())
        .await
        .unwrap();
    let options = RunOptions::default();
    let progress = PanicIn("boom");
    // Both studios in one task, as `ingest --all` and a daemon's runtime share threads.
    let (boom, calm) = futures::join!(
        runs::run_manual(
            &ctx,
            &manual,
            &studios[0].source,
            &options,
            &progress,
            |_| {}
        ),
        runs::run_manual(
            &ctx,
            &manual,
            &studios[1].source,
            &options,
            &progress,
            |_| {}
        ),
    );
    assert_eq!(calm.outcome, Outcome::Success, "{calm:#?}");
    assert_eq!(calm.workshops.new, 2);
    assert_eq!(boom.outcome, Outcome::Failed, "{boom:#?}");
    assert!(
        boom.errors
            .iter()
            .any(|e| e.contains("panicked") && e.contains("injected bug in studio boom")),
        "{boom:#?}"
    );
    // Its run is recorded as failed (not left `running`) and its lease is released.
    let runs: Vec<Document> = store
        .raw_discovery()
        .collection::<Document>("ingest_runs")
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let outcome_of = |studio: &str| -> Vec<String> {
        runs.iter()
            .filter(|r| r.get_str("studio_id").unwrap() == studio)
            .map(|r| r.get_str("outcome").unwrap().to_string())
            .collect()
    };
    assert_eq!(outcome_of("boom"), vec!["failed".to_string()]);
    assert_eq!(outcome_of("calm"), vec!["success".to_string()]);
    assert!(store.lease_holder("boom").await.unwrap().is_none());
    // The next run of the studio (without the bug) completes it.
    let again = runs::run_manual(
        &ctx,
        &manual,
        &studios[0].source,
        &options,
        &NoProgress,
        |_| {},
    )
    .await;
    assert_eq!(again.outcome, Outcome::Success, "{again:#?}");
}

#[tokio::test]
async fn runs_left_running_by_dead_processes_are_marked_at_the_next_start() {
    let store = open_test_store("crashedruns").await;
    let now = Utc::now();
    let dead_pid = {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        i64::from(pid)
    };
    let host = nachna_ingest::process::hostname();
    let insert = |id: &str, studio: &str, host: &str, pid: i64| {
        doc! { "_id": id, "studio_id": studio, "trigger": "schedule", "started_at": now,
        "outcome": "running", "host": host, "pid": pid }
    };
    let runs = store.raw_discovery().collection::<Document>("ingest_runs");
    runs.insert_many([
        insert("dead-here", "a", &host, dead_pid),
        insert("alive-elsewhere", "b", "elsewhere", 7),
        insert("gone-elsewhere", "c", "elsewhere", 8),
    ])
    .await
    .unwrap();
    // Process 7 on `elsewhere` still holds its studio's lease; process 8 holds none.
    store
        .take_lease(
            "b",
            "elsewhere:7:abcdef",
            "schedule",
            now,
            now + chrono::Duration::minutes(10),
        )
        .await
        .unwrap();
    let mut marked = runs::recover_crashed_runs(&store, now).await;
    marked.sort();
    assert_eq!(
        marked,
        vec!["dead-here".to_string(), "gone-elsewhere".to_string()]
    );
    let doc_of = |id: &'static str| {
        let runs = runs.clone();
        async move { runs.find_one(doc! { "_id": id }).await.unwrap().unwrap() }
    };
    let dead = doc_of("dead-here").await;
    assert_eq!(dead.get_str("outcome").unwrap(), "interrupted");
    let why = dead.get_array("errors").unwrap()[0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        why.contains(&format!("pid {dead_pid}")) && why.contains("is gone"),
        "{why}"
    );
    assert!(dead.get_datetime("finished_at").is_ok());
    let gone = doc_of("gone-elsewhere").await;
    assert_eq!(gone.get_str("outcome").unwrap(), "interrupted");
    assert!(gone.get_array("errors").unwrap()[0]
        .as_str()
        .unwrap()
        .contains("no longer holds the studio's lease"));
    assert_eq!(
        doc_of("alive-elsewhere").await.get_str("outcome").unwrap(),
        "running"
    );
    // A second start finds nothing more to do.
    assert!(runs::recover_crashed_runs(&store, now).await.is_empty());
}

/// An event page naming two performers.
fn duo_page(day: u32, a: &str, b: &str) -> String {
    format!(
        r#"<html><head><title>Workshop with {a} and {b}</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Event",
"name":"Hip hop workshop","startDate":"2030-03-{day:02}T18:00:00+05:30",
"endDate":"2030-03-{day:02}T20:00:00+05:30",
"performer":[{{"@type":"Person","name":"{a}"}},{{"@type":"Person","name":"{b}"}}],
"offers":{{"@type":"Offer","price":"800","priceCurrency":"INR"}}}}</script></head>
<body><h1>Hip hop workshop with {a} and {b}</h1><p>{day} March 2030, 6 PM to 8 PM. Rs. 800</p></body></html>"#
    )
}

async fn follow_with_device(store: &Store, user: &str, artists: &[&str], token: &str) {
    let now = Utc::now();
    for artist in artists {
        store
            .raw_app()
            .collection::<Document>("reactions")
            .insert_one(doc! {
                "user_id": user, "entity_id": *artist, "entity_type": "ARTIST",
                "reaction": "NOTIFY", "is_deleted": false, "created_at": now, "updated_at": now,
            })
            .await
            .unwrap();
    }
    store
        .raw_app()
        .collection::<Document>("device_tokens")
        .insert_one(doc! {
            "user_id": user, "device_token": token, "platform": "ios",
            "is_active": true, "created_at": now, "updated_at": now,
        })
        .await
        .unwrap();
}

/// `(user, kind)` of every outbox document, sorted.
async fn outbox(store: &Store) -> Vec<(String, String)> {
    let docs: Vec<Document> = store
        .raw_outbox()
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut out: Vec<(String, String)> = docs
        .iter()
        .map(|d| {
            (
                d.get_str("user_id").unwrap().to_string(),
                d.get_str("kind").unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn an_artist_added_later_is_matched_without_force_and_only_its_untold_followers_hear_once() {
    let store = open_test_store("lateartist").await;
    let one = Artist {
        artist_id: "artist1".into(),
        artist_name: "Artist One".into(),
        instagram_link: Some("https://www.instagram.com/artist1/".into()),
    };
    store.seed_artists(&[one]).await.unwrap();
    // u1 follows the known artist, u2 the one added later, u3 both.
    follow_with_device(&store, "u1", &["artist1"], &format!("{:064x}", 1)).await;
    follow_with_device(&store, "u2", &["latestar"], &format!("{:064x}", 2)).await;
    follow_with_device(
        &store,
        "u3",
        &["artist1", "latestar"],
        &format!("{:064x}", 3),
    )
    .await;
    let studio = Studio::start().await;
    studio.list(&[1]);
    studio.serve(1, duo_page(10, "Artist One", "Late Star"));
    let ctx = context(&store);
    let notifier = Notifier::new(
        store.clone(),
        NotifyConfig::default(),
        PushConfig::default(),
        ctx.clock.clone(),
    );
    let uuid = studio.uuid(1);
    let artist_ids = |d: &Document| -> Vec<String> {
        let mut ids: Vec<String> = d
            .get_array("artist_id_list")
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };

    let first = run(&ctx, &studio, &store.load_artists().await.unwrap()).await;
    assert_eq!(first.workshops.new, 1, "{first:#?}");
    assert_eq!(artist_ids(&workshops(&store).await[&uuid]), vec!["artist1"]);
    notifier.fan_out_pending().await.unwrap();
    let nw = |u: &str| (u.to_string(), "new_workshop".to_string());
    assert_eq!(outbox(&store).await, vec![nw("u1"), nw("u3")]);

    // The artist arrives in artists_v2; the page itself does not change.
    store
        .seed_artists(&[Artist {
            artist_id: "latestar".into(),
            artist_name: "Late Star".into(),
            instagram_link: Some("https://www.instagram.com/latestar/".into()),
        }])
        .await
        .unwrap();
    let rerun = run(&ctx, &studio, &store.load_artists().await.unwrap()).await;
    assert_eq!(rerun.outcome, Outcome::Success, "{rerun:#?}");
    assert_eq!(rerun.workshops.updated, 1, "{rerun:#?}");
    assert_eq!(
        artist_ids(&workshops(&store).await[&uuid]),
        vec!["artist1", "latestar"]
    );
    let fanned = notifier.fan_out_pending().await.unwrap();
    assert_eq!(fanned.len(), 1, "{fanned:#?}");
    // u2 never heard of it: one new_workshop. u3 was told when it was new; u1 does not
    // follow the new artist.
    assert_eq!(outbox(&store).await, vec![nw("u1"), nw("u2"), nw("u3")]);

    // Nothing changed since: nothing more.
    let again = run(&ctx, &studio, &store.load_artists().await.unwrap()).await;
    assert_eq!(
        (again.workshops.new, again.workshops.updated),
        (0, 0),
        "{again:#?}"
    );
    assert_eq!(again.pages.fetched, 0, "the page is unchanged: {again:#?}");
    assert!(notifier.fan_out_pending().await.unwrap().is_empty());
    assert_eq!(outbox(&store).await.len(), 3);
}
