//! Fan-out benchmark: one new workshop whose artist has 100,000 followers with one iOS
//! device each, against a SecantusDB server this bench starts on 127.0.0.1.
//!
//! Prints the time to enqueue (fan-out into the outbox), the time to dispatch into the
//! scripted APNs double, and peak resident memory of each phase (VmHWM from
//! /proc/self/status, reset between phases through /proc/self/clear_refs).
//!
//! A third phase dispatches a second workshop (another artist, followed by
//! `NACHNA_BENCH_LATENCY_FOLLOWERS`, default 20,000 of the same users) into the double
//! answering after `NACHNA_BENCH_LATENCY_MS` (default 50 ms, Apple's order) per push:
//! throughput under real round trips, as a rate and as a share of the ceiling
//! `push.concurrency ÷ latency`.
//!
//! `cargo bench --bench fanout` runs the full size; `NACHNA_BENCH_FOLLOWERS=N` changes
//! it, `NACHNA_BENCH_PUSH_BATCH=N` the dispatch batch (`push.batch_size`, default 1000),
//! `NACHNA_BENCH_HISTORY=N` seeds N past pushes in the app's history (the cooldown read
//! looks through them; `NACHNA_BENCH_HISTORY_UNINDEXED=1` drops its index). Under `cargo test --all-targets` (no `--bench` argument) it runs a 500-follower
//! smoke pass so the code path stays exercised without the wait.

use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use mongodb::bson::{doc, Document};
use nachna_ingest::clock::FixedClock;
use nachna_ingest::localdb::{LocalDb, LocalDbOptions};
use nachna_ingest::notify::config::{NotifyConfig, PushConfig};
use nachna_ingest::notify::dispatch::Dispatcher;
use nachna_ingest::notify::testing::ScriptedPusher;
use nachna_ingest::notify::Notifier;
use nachna_ingest::reconcile::{Action, Announcement};
use nachna_ingest::store::Store;
use nachna_ingest::workshop::{sessions_to_time_details, EventType, Session, WorkshopDraft};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

/// Resets VmHWM to the current RSS (Linux ≥ 4.0), so each phase's peak is its own.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// CPU seconds (user + system) a process has used so far, from `/proc/<pid>/stat`.
fn cpu_secs(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    // utime and stime are fields 14 and 15 of the line: 11 and 12 after the name.
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (ticks(11) + ticks(12)) as f64 / hz
}

/// The database server this bench started: our child process.
fn server_pid() -> Option<String> {
    let me = std::process::id().to_string();
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid = e.file_name().to_string_lossy().to_string();
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let rest = stat.rsplit_once(')')?.1;
        (rest.split_whitespace().nth(1)? == me && stat.contains("secantusd")).then_some(pid)
    })
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn main() {
    let full = std::env::args().any(|a| a == "--bench");
    let followers: u32 = std::env::var("NACHNA_BENCH_FOLLOWERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if full { 100_000 } else { 500 });
    let runtime = tokio::runtime::Runtime::new().expect("runtime");

    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fanout-bench");
    let _ = std::fs::remove_dir_all(&root);
    let db = LocalDb::start(&LocalDbOptions {
        data_dir: root.join(format!("pid-{}", std::process::id())),
        cache_size: "512M".into(),
        log_file_max: "64MB".into(),
        durable: false,
    })
    .unwrap_or_else(|e| {
        panic!("the fanout bench needs SecantusDB (scripts/install-secantus.sh or NACHNA_SECANTUS_BIN): {e}")
    });
    runtime.block_on(run(&db.uri(), followers, full));
    drop(db);
    let _ = std::fs::remove_dir_all(&root);
}

async fn run(uri: &str, followers: u32, full: bool) {
    let store = Store::open(uri, "bench_discovery", "bench_app", Duration::from_secs(30))
        .await
        .expect("store");
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 6, 30, 0).unwrap();

    // Seed: followers of `vipul` with one iOS device each, plus unrelated reactions.
    let seed_started = Instant::now();
    // The app contract wants every linked artist stored.
    store
        .seed_artists(&[
            nachna_ingest::artist::Artist {
                artist_id: "vipul".into(),
                artist_name: "Vipul Devrani".into(),
                instagram_link: Some("https://www.instagram.com/vipul/".into()),
            },
            nachna_ingest::artist::Artist {
                artist_id: "rajesh".into(),
                artist_name: "Rajesh".into(),
                instagram_link: Some("https://www.instagram.com/rajesh/".into()),
            },
        ])
        .await
        .expect("seed artists");
    store
        .raw_discovery()
        .collection::<Document>("studios")
        .insert_one(doc! {
            "studio_id": "dance_n_addiction",
            "studio_name": "DNA",
            "instagram_link": "https://www.instagram.com/dance_n_addiction/",
        })
        .await
        .expect("seed studio");
    let reactions = store.raw_app().collection::<Document>("reactions");
    let devices = store.raw_app().collection::<Document>("device_tokens");
    let env_u32 = |name: &str, default: u32| -> u32 {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let latency_followers = env_u32(
        "NACHNA_BENCH_LATENCY_FOLLOWERS",
        if full { 20_000 } else { 200 },
    )
    .min(followers);
    let latency_ms = env_u32("NACHNA_BENCH_LATENCY_MS", 50);
    let chunk = 10_000u32;
    let mut from = 0;
    while from < followers {
        let to = (from + chunk).min(followers);
        let mut rs = Vec::with_capacity((to - from) as usize * 2);
        let mut ds = Vec::with_capacity((to - from) as usize);
        for i in from..to {
            let user = format!("user{i:07}");
            rs.push(doc! { "user_id": &user, "entity_id": "vipul", "entity_type": "ARTIST", "reaction": "NOTIFY", "is_deleted": false, "created_at": now, "updated_at": now });
            if i < latency_followers {
                rs.push(doc! { "user_id": &user, "entity_id": "rajesh", "entity_type": "ARTIST", "reaction": "NOTIFY", "is_deleted": false, "created_at": now, "updated_at": now });
            }
            rs.push(doc! { "user_id": &user, "entity_id": format!("other{}", i % 50), "entity_type": "ARTIST", "reaction": if i % 2 == 0 { "LIKE" } else { "NOTIFY" }, "is_deleted": false, "created_at": now, "updated_at": now });
            ds.push(doc! { "user_id": &user, "device_token": format!("{i:064x}"), "platform": "ios", "is_active": true, "created_at": now, "updated_at": now });
        }
        reactions.insert_many(rs).await.expect("seed reactions");
        devices.insert_many(ds).await.expect("seed devices");
        from = to;
    }
    // The app's push history: `NACHNA_BENCH_HISTORY` past pushes (default none) to these
    // users about other artists, which the cooldown read must look through.
    // `NACHNA_BENCH_HISTORY_UNINDEXED=1` drops this crate's history index first, to show
    // what the read costs without it.
    let history_docs = env_u32("NACHNA_BENCH_HISTORY", 0);
    let history = store
        .raw_app()
        .collection::<Document>("notification_history");
    let mut from = 0;
    while from < history_docs {
        let to = (from + chunk).min(history_docs);
        let docs: Vec<Document> = (from..to)
            .map(|i| {
                let sent = now - chrono::Duration::hours(i64::from(i % (90 * 24)) + 1);
                doc! {
                    "user_id": format!("user{:07}", i % followers.max(1)),
                    "workshop_uuid": format!("past/{}", i / 1000),
                    "artist_id": format!("other{}", i % 50),
                    "notification_type": "new_workshop",
                    "title": "past", "body": "past", "is_sent": true,
                    "sent_at": sent, "created_at": sent,
                }
            })
            .collect();
        history.insert_many(docs).await.expect("seed history");
        from = to;
    }
    if std::env::var_os("NACHNA_BENCH_HISTORY_UNINDEXED").is_some() {
        history
            .drop_index("nachna_user_sent")
            .await
            .expect("drop the history index");
    }
    let mut sessions = vec![Session {
        date: NaiveDate::from_ymd_opt(2026, 6, 21).unwrap(),
        start: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
        end: Some(NaiveTime::from_hms_opt(20, 0, 0).unwrap()),
    }];
    let draft = WorkshopDraft {
        uuid: "dance_n_addiction/bench".into(),
        studio_id: "dance_n_addiction".into(),
        payment_link: "https://www.yoactiv.com/event/bench/1/0".into(),
        payment_link_type: "url".into(),
        event_type: EventType::Workshop,
        time_details: sessions_to_time_details(&mut sessions),
        by: "Vipul Devrani".into(),
        song: Some("Hauli Slowly".into()),
        pricing_info: "₹850".into(),
        artist_id_list: vec!["vipul".into()],
        choreo_insta_link: None,
        sessions,
    };
    let applied = store
        .apply_action(
            &Action::Insert {
                draft: draft.into(),
                announce: Some(Announcement::NewWorkshop),
            },
            now,
            "2026-06-01",
        )
        .await
        .expect("workshop");
    assert!(
        matches!(applied, nachna_ingest::store::workshops::Applied::Done),
        "the bench workshop was not stored: {applied:?}"
    );
    let seed_secs = seed_started.elapsed().as_secs_f64();

    let mut push = PushConfig {
        retry_backoff_ms: 1,
        ..PushConfig::default()
    };
    if let Some(n) = std::env::var("NACHNA_BENCH_PUSH_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        push.batch_size = n;
    }
    if let Some(n) = std::env::var("NACHNA_BENCH_CONCURRENCY")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        push.concurrency = n;
    }
    let mut notify = NotifyConfig::default();
    if let Some(n) = std::env::var("NACHNA_BENCH_FANOUT_BATCH")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        notify.fanout_batch_size = n;
    }
    let notifier = Notifier::new(store.clone(), notify, push, Arc::new(FixedClock(now)));

    // Hand seeding's freed heap back to the system, so the figures below are the
    // notifier's own.
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only releases free memory at the top of glibc's heaps.
    unsafe {
        libc::malloc_trim(0);
    }
    println!(
        "fanout bench ({}): {followers} followers × 1 iOS device, SecantusDB on 127.0.0.1, batch {} (fan-out) / {} (dispatch), concurrency {}",
        if full { "full" } else { "smoke" },
        notifier.notify.fanout_batch_size,
        notifier.push.batch_size,
        notifier.push.concurrency
    );
    println!("  seed (not measured):      {seed_secs:.1} s");
    if history_docs > 0 {
        println!(
            "  push history:             {history_docs} past pushes ({})",
            if std::env::var_os("NACHNA_BENCH_HISTORY_UNINDEXED").is_some() {
                "history index dropped"
            } else {
                "indexed on user_id, sent_at"
            }
        );
    }
    let server = server_pid();
    let rss_before = status_kib("VmRSS:");
    let resettable = reset_peak();
    let (cpu_self, cpu_server) = (cpu_secs("self"), server.as_deref().map_or(0.0, cpu_secs));
    let started = Instant::now();
    let counts = notifier.fan_out_pending().await.expect("fan-out");
    let enqueue = started.elapsed();
    let cpu_self = cpu_secs("self") - cpu_self;
    let cpu_server = server.as_deref().map_or(0.0, cpu_secs) - cpu_server;
    let enqueue_peak = status_kib("VmHWM:");
    let c = &counts[0];
    assert_eq!(c.followers, u64::from(followers));
    assert_eq!(c.pushes, u64::from(followers));
    println!(
        "  enqueue (fan-out):        {:.2} s  ({:.0} notifications/s; CPU meanwhile: this process {cpu_self:.2} s, database {})",
        enqueue.as_secs_f64(),
        f64::from(followers) / enqueue.as_secs_f64().max(1e-9),
        if server.is_some() { format!("{cpu_server:.2} s") } else { "unknown".into() }
    );
    if std::env::var_os("NACHNA_BENCH_ENQUEUE_ONLY").is_some() {
        return;
    }

    reset_peak();
    let rss_mid = status_kib("VmRSS:");
    let pusher = ScriptedPusher::new().without_log();
    let (d_cpu_self, d_cpu_server) = (cpu_secs("self"), server.as_deref().map_or(0.0, cpu_secs));
    let started = Instant::now();
    let report = Dispatcher::new(&notifier, &pusher)
        .drain()
        .await
        .expect("dispatch");
    let dispatch = started.elapsed();
    let d_cpu_self = cpu_secs("self") - d_cpu_self;
    let d_cpu_server = server.as_deref().map_or(0.0, cpu_secs) - d_cpu_server;
    let dispatch_peak = status_kib("VmHWM:");
    assert_eq!(report.sent, u64::from(followers));
    assert_eq!(pusher.calls(), u64::from(followers));

    // Phase 3: another workshop, dispatched into a double with APNs-like latency.
    let mut sessions = vec![Session {
        date: NaiveDate::from_ymd_opt(2026, 6, 22).unwrap(),
        start: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
        end: Some(NaiveTime::from_hms_opt(20, 0, 0).unwrap()),
    }];
    let second = WorkshopDraft {
        uuid: "dance_n_addiction/bench-latency".into(),
        studio_id: "dance_n_addiction".into(),
        payment_link: "https://www.yoactiv.com/event/bench/2/0".into(),
        payment_link_type: "url".into(),
        event_type: EventType::Workshop,
        time_details: sessions_to_time_details(&mut sessions),
        by: "Rajesh".into(),
        song: Some("Latency".into()),
        pricing_info: "₹850".into(),
        artist_id_list: vec!["rajesh".into()],
        choreo_insta_link: None,
        sessions,
    };
    store
        .apply_action(
            &Action::Insert {
                draft: second.into(),
                announce: Some(Announcement::NewWorkshop),
            },
            now,
            "2026-06-01",
        )
        .await
        .expect("second workshop");
    let counts = notifier.fan_out_pending().await.expect("fan-out 2");
    assert_eq!(counts[0].pushes, u64::from(latency_followers));
    let slow = ScriptedPusher::new()
        .without_log()
        .with_latency(Duration::from_millis(u64::from(latency_ms)));
    let started = Instant::now();
    let report = Dispatcher::new(&notifier, &slow)
        .drain()
        .await
        .expect("dispatch with latency");
    let latency_dispatch = started.elapsed();
    assert_eq!(report.sent, u64::from(latency_followers));
    let ceiling = notifier.push.concurrency as f64 * 1000.0 / f64::from(latency_ms.max(1));

    let per_sec = |n: u32, d: Duration| f64::from(n) / d.as_secs_f64().max(1e-9);
    println!(
        "  dispatch (scripted APNs): {:.2} s  ({:.0} pushes/s; CPU meanwhile: this process {d_cpu_self:.2} s, database {})",
        dispatch.as_secs_f64(),
        per_sec(followers, dispatch),
        if server.is_some() { format!("{d_cpu_server:.2} s") } else { "unknown".into() }
    );
    let rate = per_sec(latency_followers, latency_dispatch);
    println!(
        "  dispatch, double answering after {latency_ms} ms: {latency_followers} pushes in {:.2} s  ({rate:.0} pushes/s; {:.2} of the ceiling concurrency/latency = {ceiling:.0}/s; max in flight {})",
        latency_dispatch.as_secs_f64(),
        rate / ceiling,
        slow.max_in_flight()
    );
    println!(
        "  resident memory: before fan-out {:.1} MiB; peak during fan-out {:.1} MiB; before dispatch {:.1} MiB; peak during dispatch {:.1} MiB{}",
        mib(rss_before),
        mib(enqueue_peak),
        mib(rss_mid),
        mib(dispatch_peak),
        if resettable { "" } else { " (VmHWM could not be reset: peaks include seeding)" }
    );
}
