//! The built-in database (SecantusDB started by the tool) never loses a write: it is
//! stopped gracefully on every exit, fsyncs before acknowledging, and the main job run
//! again and again on one data directory stores exactly what each run reported.

use mongodb::bson::{doc, Document};
use nachna_ingest::localdb::{LocalDb, LocalDbOptions, Stopped};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

async fn client(db: &LocalDb) -> mongodb::Client {
    let mut options = mongodb::options::ClientOptions::parse(db.uri())
        .await
        .unwrap();
    options.server_selection_timeout = Some(Duration::from_secs(10));
    mongodb::Client::with_options(options).unwrap()
}

async fn insert_each(db: &LocalDb, n: i32) {
    let coll = client(db)
        .await
        .database("durability")
        .collection::<Document>("docs");
    for i in 0..n {
        coll.insert_one(doc! { "_id": i }).await.unwrap();
    }
}

async fn count(db: &LocalDb) -> u64 {
    client(db)
        .await
        .database("durability")
        .collection::<Document>("docs")
        .count_documents(doc! {})
        .await
        .unwrap()
}

/// Measured before the fix: 200 acknowledged inserts, SIGKILL, 0 documents left.
#[tokio::test]
async fn acknowledged_writes_survive_a_sigkill_of_the_durable_server() {
    let dir = tempfile::tempdir().unwrap();
    let options = LocalDbOptions {
        cache_size: "64M".into(),
        log_file_max: "16MB".into(),
        ..LocalDbOptions::durable(dir.path().join("db"))
    };
    let mut db = LocalDb::start(&options).unwrap();
    insert_each(&db, 200).await;
    db.kill(); // SIGKILL: no close, no checkpoint
    let db = LocalDb::start(&options).unwrap();
    assert_eq!(count(&db).await, 200);
}

#[tokio::test]
async fn a_graceful_stop_keeps_every_write_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let options = LocalDbOptions::small(dir.path().join("db")); // no fsync per commit
    let mut db = LocalDb::start(&options).unwrap();
    insert_each(&db, 200).await;
    assert_eq!(db.stop(), Stopped::Gracefully { code: Some(0) });
    assert_eq!(db.stop(), Stopped::Already, "stopping twice is harmless");
    drop(db);
    let db = LocalDb::start(&options).unwrap();
    assert_eq!(count(&db).await, 200);
}

fn main_job(data: &Path) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nachna-ingest"));
    cmd.args([
        "ingest",
        "--all",
        "--replay",
        "fixtures",
        "--seed-artists",
        "fixtures/artists.json",
        "--today",
        "2026-06-01",
        "--json",
    ])
    .env_remove("NACHNA_MONGODB_URI")
    .env_remove("NACHNA_CONFIG")
    .env("NACHNA_LOCAL_DB_DIR", data)
    // A private server on an ephemeral port: never a service's on the fixed one.
    .env("NACHNA_LOCAL_DB_PORT", "0")
    .env("RUST_LOG", "warn");
    cmd
}

/// What the stored catalogue and bookkeeping look like, read with a server of our own
/// on the same data directory (after the tool's server has gone).
struct Stored {
    workshops: u64,
    runs_not_finished: u64,
    leases_held: u64,
}

async fn stored(data: &Path) -> Stored {
    let db = LocalDb::start(&LocalDbOptions::small(data)).unwrap();
    let disc = client(&db).await.database("discovery");
    let now = mongodb::bson::DateTime::now();
    Stored {
        workshops: disc
            .collection::<Document>("workshops_v2")
            .count_documents(doc! {})
            .await
            .unwrap(),
        runs_not_finished: disc
            .collection::<Document>("ingest_runs")
            .count_documents(doc! { "outcome": "running" })
            .await
            .unwrap(),
        leases_held: disc
            .collection::<Document>("ingest_leases")
            .count_documents(doc! { "expires_at": { "$gt": now } })
            .await
            .unwrap(),
    }
}

fn reported_new(stdout: &[u8]) -> u64 {
    let reports: Vec<serde_json::Value> = serde_json::from_slice(stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(stdout)));
    assert_eq!(reports.len(), 4);
    reports
        .iter()
        .map(|r| {
            assert_eq!(r["outcome"], "success", "{r:#}");
            r["workshops"]["new"].as_u64().unwrap()
        })
        .sum()
}

/// The README's main job, three times on one data directory: what the first run
/// reported new is stored, and the next runs find nothing new (a lost write would be
/// announced as new again); no run is left "running", no lease held.
#[tokio::test]
async fn the_main_job_repeated_on_one_data_directory_loses_no_write() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("secantus");
    let mut total_new = 0;
    for run in 1..=3 {
        let out = main_job(&data).output().unwrap();
        assert!(
            out.status.success(),
            "run {run}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let new = reported_new(&out.stdout);
        if run > 1 {
            assert_eq!(
                new, 0,
                "run {run} found workshops new again: a write was lost"
            );
        }
        total_new += new;
        let s = stored(&data).await;
        assert_eq!(s.workshops, total_new, "run {run}: reported vs stored");
        assert_eq!(s.runs_not_finished, 0, "run {run}");
        assert_eq!(s.leases_held, 0, "run {run}");
    }
    assert!(total_new >= 16, "{total_new}");
}

/// The tool killed with SIGKILL right after it printed its summary (its runs are
/// complete, the notifier is still working): the server it started gets SIGTERM from
/// the kernel and closes cleanly, so everything the summary reported is stored.
#[tokio::test]
async fn a_sigkill_of_the_tool_after_its_runs_loses_nothing_they_reported() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("secantus");
    let mut child = main_job(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut summary = String::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    // The JSON summary is one pretty array: it ends with a line "]".
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap() == 0 {
            break;
        }
        summary.push_str(&line);
        if line == "]\n" {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let new = reported_new(summary.as_bytes());
    let s = stored(&data).await;
    assert_eq!(s.workshops, new);
    assert_eq!(s.runs_not_finished, 0);
}

/// A lease held by a process of this host that no longer exists is taken at once,
/// long before it would expire; one held by a live process is left alone.
#[tokio::test]
async fn a_lease_of_a_process_that_is_gone_is_taken_at_once() {
    use nachna_ingest::runs::lease::{Acquire, LeaseTiming, Leases, OwnerId};
    use nachna_ingest::store::Store;
    let names = crate::support::mongo::unique_names("lease_gone");
    let uri = tokio::task::spawn_blocking(crate::support::mongo::server_uri)
        .await
        .unwrap();
    let store = Store::open(&uri, &names.discovery, &names.app, Duration::from_secs(10))
        .await
        .unwrap();
    let host = nachna_ingest::process::hostname();
    let mut gone = Command::new("true").spawn().unwrap();
    let gone_pid = gone.id();
    gone.wait().unwrap();
    let mut alive = Command::new("sleep").arg("30").spawn().unwrap();
    let now = chrono::Utc::now();
    let in_an_hour = now + chrono::Duration::hours(1);
    for (studio, pid) in [("gone", gone_pid), ("alive", alive.id())] {
        store
            .take_lease(
                studio,
                &format!("{host}:{pid}:abcdef"),
                "manual",
                now,
                in_an_hour,
            )
            .await
            .unwrap();
    }
    let timing = LeaseTiming {
        ttl: Duration::from_secs(60),
        renew_every: Duration::from_secs(15),
    };
    let me = Leases::new(store.clone(), OwnerId::new(), timing);
    let Acquire::Acquired(lease) = me.try_acquire("gone", "schedule").await.unwrap() else {
        panic!("the lease of a process that is gone is taken at once");
    };
    assert_eq!(
        lease.taken_over_from().map(|h| h.owner.clone()),
        Some(format!("{host}:{gone_pid}:abcdef"))
    );
    match me.try_acquire("alive", "schedule").await.unwrap() {
        Acquire::Busy(holder) => assert_eq!(holder.owner, format!("{host}:{}:abcdef", alive.id())),
        Acquire::Acquired(_) => panic!("a live owner's lease was taken"),
    }
    // Another host's process is never judged from here.
    store
        .take_lease(
            "elsewhere",
            &format!("not-{host}:{gone_pid}:abcdef"),
            "manual",
            now,
            in_an_hour,
        )
        .await
        .unwrap();
    assert!(matches!(
        me.try_acquire("elsewhere", "schedule").await.unwrap(),
        Acquire::Busy(_)
    ));
    alive.kill().unwrap();
    alive.wait().unwrap();
    lease.release().await;
}
