//! Issue 10's review rule, end to end: a studio served on 127.0.0.1, the pipeline run
//! in-process against the real database server, then the notifier's fan-out. A
//! workshop whose date rests only on loose page text is stored but held; approving it
//! announces it once; rejecting it archives it for good.

use crate::safety::{artists, context, Studio};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use nachna_ingest::artist::ArtistDirectory;
use nachna_ingest::clock::FixedClock;
use nachna_ingest::notify::config::{NotifyConfig, PushConfig};
use nachna_ingest::notify::Notifier;
use nachna_ingest::pipeline::{run_source, NoProgress, RunContext, RunOptions};
use nachna_ingest::report::RunReport;
use nachna_ingest::store::review::Decision;
use nachna_ingest::store::Store;
use pretty_assertions::assert_eq;
use std::sync::Arc;

/// A page whose only date is in its loose text (no source rule, no structured data, no
/// content selector): weak. Its artist is named by handle (strong).
fn weak_page(day: u32) -> String {
    format!(
        r#"<html><head><title>Studio news</title></head><body>
<h1>Hip hop workshop</h1>
<p>Come dance with @vipul. Saturday {day} March 2030, 6 PM to 8 PM. Fee: Rs. 800</p>
</body></html>"#
    )
}

/// The same workshop stated in JSON-LD: strong.
fn strong_page(day: u32) -> String {
    crate::safety::event_page(&crate::safety::Event {
        day,
        performer: "Vipul Devrani",
    })
}

fn directory() -> ArtistDirectory {
    artists(&[("vipul", "Vipul Devrani")])
}

async fn ingest(ctx: &RunContext, studio: &Studio) -> RunReport {
    let dir = directory();
    ctx.store.seed_artists(dir.artists()).await.unwrap();
    let report = run_source(
        ctx,
        &studio.source,
        &dir,
        &RunOptions::default(),
        &NoProgress,
    )
    .await;
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    report
}

/// Two followers of `vipul`, one iOS device each.
async fn followers(store: &Store) {
    let now = chrono::Utc::now();
    for (user, token) in [("u1", "a1"), ("u2", "b2")] {
        store
            .raw_app()
            .collection::<Document>("reactions")
            .insert_one(doc! {
                "user_id": user, "entity_id": "vipul", "entity_type": "ARTIST",
                "reaction": "NOTIFY", "is_deleted": false, "created_at": now, "updated_at": now,
            })
            .await
            .unwrap();
        store
            .raw_app()
            .collection::<Document>("device_tokens")
            .insert_one(doc! {
                "user_id": user, "device_token": format!("{token:0>64}"), "platform": "ios",
                "is_active": true, "created_at": now, "updated_at": now,
            })
            .await
            .unwrap();
    }
}

fn notifier(ctx: &RunContext) -> Notifier {
    Notifier::new(
        ctx.store.clone(),
        NotifyConfig::default(),
        PushConfig::default(),
        Arc::new(FixedClock(ctx.clock.now())),
    )
}

/// `(kind, user)` of every outbox document about `uuid`, sorted.
async fn outbox_of(store: &Store, uuid: &str) -> Vec<(String, String)> {
    let docs: Vec<Document> = store
        .raw_outbox()
        .find(doc! { "workshop_uuid": uuid })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    let mut out: Vec<(String, String)> = docs
        .iter()
        .map(|d| {
            (
                d.get_str("kind").unwrap().to_string(),
                d.get_str("user_id").unwrap().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

async fn workshop(store: &Store, uuid: &str) -> Document {
    store
        .raw_workshops()
        .find_one(doc! { "uuid": uuid })
        .await
        .unwrap()
        .expect("stored")
}

fn review_status(d: &Document) -> Option<String> {
    d.get_document("review")
        .ok()
        .and_then(|r| r.get_str("status").ok())
        .map(str::to_string)
}

#[tokio::test]
async fn a_weak_workshop_is_stored_and_listed_but_not_announced_until_approved_then_once() {
    let store = crate::store::open_test_store("review_approve").await;
    followers(&store).await;
    let ctx = context(&store);
    let studio = Studio::start().await;
    studio.list(&[1, 2]);
    studio.serve(1, weak_page(9));
    studio.serve(2, strong_page(10));
    let report = ingest(&ctx, &studio).await;
    let (weak, strong) = (studio.uuid(1), studio.uuid(2));
    // The run says what it held.
    assert_eq!(report.workshops.held_for_review, 1);
    assert_eq!(report.held_uuids, vec![weak.clone()]);
    assert!(
        report
            .summary_line()
            .ends_with(" | 1 held for review (nachna-ingest review)"),
        "{}",
        report.summary_line()
    );

    // Stored and live, held with the reason; the strong one is not held.
    let w = workshop(&store, &weak).await;
    assert_eq!(w.get_bool("is_archived").unwrap(), false);
    assert_eq!(review_status(&w).as_deref(), Some("held"));
    assert_eq!(
        w.get_str("confidence").unwrap(),
        "date: loose page text (weak); artist: handle (strong)"
    );
    assert_eq!(review_status(&workshop(&store, &strong).await), None);

    // Fan-out announces the strong one only.
    let n = notifier(&ctx);
    let fanned: Vec<String> = n
        .fan_out_pending()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.workshop_uuid)
        .collect();
    assert_eq!(fanned, vec![strong.clone()]);
    assert_eq!(outbox_of(&store, &weak).await, vec![]);
    // Its marker waits for the decision.
    assert!(workshop(&store, &weak)
        .await
        .get_document("pending_fanout")
        .is_ok());

    // `review` lists it: uuid, studio, title, why weak, page URL.
    let held = store.held_workshops().await.unwrap();
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].uuid, weak);
    assert_eq!(held[0].studio_id, studio.id);
    assert_eq!(held[0].title.as_deref(), Some("Hip hop workshop"));
    assert_eq!(held[0].page_url, studio.url(1));
    assert_eq!(held[0].pending.as_deref(), Some("new_workshop"));
    assert_eq!(held[0].reasons.len(), 1);
    assert!(
        held[0].reasons[0].starts_with("date read from loose visible text (dates in page)"),
        "{:?}",
        held[0].reasons
    );

    // Approve: announced now, to each follower once.
    let now = ctx.clock.now();
    assert_eq!(
        store.approve_review(&weak, now).await.unwrap(),
        Decision::Recorded
    );
    n.fan_out_pending().await.unwrap();
    let once = vec![
        ("new_workshop".to_string(), "u1".to_string()),
        ("new_workshop".to_string(), "u2".to_string()),
    ];
    assert_eq!(outbox_of(&store, &weak).await, once);
    assert!(store.held_workshops().await.unwrap().is_empty());

    // Approving again changes nothing, and nothing more is announced.
    assert_eq!(
        store.approve_review(&weak, now).await.unwrap(),
        Decision::Already
    );
    assert!(n.fan_out_pending().await.unwrap().is_empty());
    assert_eq!(outbox_of(&store, &weak).await, once);

    // A re-ingest (same pages) holds nothing again and announces nothing.
    assert_eq!(ingest(&ctx, &studio).await.workshops.held_for_review, 0);
    assert_eq!(
        review_status(&workshop(&store, &weak).await).as_deref(),
        Some("approved")
    );
    assert!(n.fan_out_pending().await.unwrap().is_empty());
    assert_eq!(outbox_of(&store, &weak).await, once);

    // The page moves the workshop, still on weak evidence: the approved workshop is not
    // held again; its followers hear of the new schedule.
    studio.serve(1, weak_page(16));
    let moved = ingest(&ctx, &studio).await;
    assert_eq!(moved.workshops.updated, 1);
    assert_eq!(moved.workshops.held_for_review, 0);
    let w = workshop(&store, &weak).await;
    assert_eq!(review_status(&w).as_deref(), Some("approved"));
    n.fan_out_pending().await.unwrap();
    assert_eq!(
        outbox_of(&store, &weak).await,
        vec![
            ("new_workshop".to_string(), "u1".to_string()),
            ("new_workshop".to_string(), "u2".to_string()),
            ("schedule_change".to_string(), "u1".to_string()),
            ("schedule_change".to_string(), "u2".to_string()),
        ]
    );
}

#[tokio::test]
async fn a_rejected_workshop_is_archived_never_announced_and_stays_so_on_reingest() {
    let store = crate::store::open_test_store("review_reject").await;
    followers(&store).await;
    let ctx = context(&store);
    let studio = Studio::start().await;
    studio.list(&[1]);
    studio.serve(1, weak_page(9));
    ingest(&ctx, &studio).await;
    let uuid = studio.uuid(1);
    let version = workshop(&store, &uuid).await.get_i32("version").unwrap();

    let now = ctx.clock.now();
    assert_eq!(
        store.reject_review(&uuid, now).await.unwrap(),
        Decision::Recorded
    );
    let w = workshop(&store, &uuid).await;
    assert_eq!(w.get_bool("is_archived").unwrap(), true);
    assert_eq!(review_status(&w).as_deref(), Some("rejected"));
    assert_eq!(w.get_i32("version").unwrap(), version + 1);
    assert!(w.get_document("pending_fanout").is_err());

    let n = notifier(&ctx);
    assert!(n.fan_out_pending().await.unwrap().is_empty());
    assert!(store.held_workshops().await.unwrap().is_empty());

    // Repeating is a no-op; approving a rejected one is refused.
    assert_eq!(
        store.reject_review(&uuid, now).await.unwrap(),
        Decision::Already
    );
    assert_eq!(
        store.approve_review(&uuid, now).await.unwrap(),
        Decision::WasRejected
    );

    // Re-ingests, also of a changed page, leave it archived and unannounced.
    ingest(&ctx, &studio).await;
    studio.serve(1, weak_page(16));
    ingest(&ctx, &studio).await;
    let after = workshop(&store, &uuid).await;
    assert_eq!(after.get_bool("is_archived").unwrap(), true);
    assert_eq!(after.get_i32("version").unwrap(), version + 1);
    assert!(n.fan_out_pending().await.unwrap().is_empty());
    assert_eq!(outbox_of(&store, &uuid).await, vec![]);
    // Still there (never deleted).
    assert_eq!(after.get_str("uuid").unwrap(), uuid);
}

#[tokio::test]
async fn an_unknown_uuid_is_told_apart() {
    let store = crate::store::open_test_store("review_unknown").await;
    let now = chrono::Utc::now();
    assert_eq!(
        store.approve_review("nope/x", now).await.unwrap(),
        Decision::Unknown
    );
    assert_eq!(
        store.reject_review("nope/x", now).await.unwrap(),
        Decision::Unknown
    );
}

/// `nachna-ingest review` as an operator runs it, against the same database.
fn review_cli(names: &crate::support::mongo::TestDbNames, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_nachna-ingest"))
        .arg("review")
        .args(args)
        .args(["--sources", "sources"])
        .args(["--mongodb-uri", &crate::support::mongo::server_uri()])
        .env("NACHNA_DISCOVERY_DB", &names.discovery)
        .env("NACHNA_APP_DB", &names.app)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap()
}

#[tokio::test]
async fn the_review_command_lists_why_approves_once_and_names_an_unknown_uuid() {
    let names = crate::support::mongo::unique_names("review_cli");
    let store = Store::open(
        &crate::support::mongo::server_uri(),
        &names.discovery,
        &names.app,
        std::time::Duration::from_secs(10),
    )
    .await
    .unwrap();
    followers(&store).await;
    let ctx = context(&store);
    let studio = Studio::start().await;
    studio.list(&[1]);
    studio.serve(1, weak_page(9));
    ingest(&ctx, &studio).await;
    let uuid = studio.uuid(1);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();

    let out = review_cli(&names, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listing = text(&out.stdout);
    assert!(
        listing.starts_with("1 workshop(s) held for review"),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("  {uuid}  [{}]  Hip hop workshop\n", studio.id)),
        "{listing}"
    );
    assert!(
        listing.contains("    weak: date read from loose visible text (dates in page)"),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("    page: {}\n", studio.url(1))),
        "{listing}"
    );

    let out = review_cli(&names, &["--json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json[0]["uuid"], uuid.as_str());
    assert_eq!(json[0]["page_url"], studio.url(1).as_str());
    assert_eq!(json[0]["pending"], "new_workshop");

    let out = review_cli(&names, &["approve", "nope/x"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        text(&out.stderr).trim(),
        "error: nope/x: no workshop with this uuid"
    );

    let out = review_cli(&names, &["approve", &uuid]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        format!("{uuid}: approved; announcing it now\n2 notification(s) (2 push(es)) enqueued; the daemon or `nachna-ingest notify dispatch` sends them\n")
    );
    let out = review_cli(&names, &["approve", &uuid]);
    assert_eq!(
        text(&out.stdout),
        format!("{uuid}: already approved; nothing to do\n")
    );
    assert_eq!(outbox_of(&store, &uuid).await.len(), 2);
    let out = review_cli(&names, &[]);
    assert_eq!(text(&out.stdout), "no workshop is held for review\n");
}

#[tokio::test]
async fn a_reschedule_of_an_announced_workshop_on_weak_evidence_is_held_until_approved() {
    let store = crate::store::open_test_store("review_resched").await;
    followers(&store).await;
    let ctx = context(&store);
    let studio = Studio::start().await;
    studio.list(&[1]);
    studio.serve(1, strong_page(9));
    ingest(&ctx, &studio).await;
    let uuid = studio.uuid(1);
    let n = notifier(&ctx);
    n.fan_out_pending().await.unwrap();
    assert_eq!(outbox_of(&store, &uuid).await.len(), 2);

    // The page loses its structured data and moves the date: a schedule change that
    // rests on loose text only.
    studio.serve(1, weak_page(16));
    let report = ingest(&ctx, &studio).await;
    assert_eq!(report.workshops.held_for_review, 1);
    assert_eq!(
        review_status(&workshop(&store, &uuid).await).as_deref(),
        Some("held")
    );
    assert!(n.fan_out_pending().await.unwrap().is_empty());
    assert_eq!(outbox_of(&store, &uuid).await.len(), 2);
    let held = store.held_workshops().await.unwrap();
    assert_eq!(held[0].pending.as_deref(), Some("schedule_change"));

    store.approve_review(&uuid, ctx.clock.now()).await.unwrap();
    n.fan_out_pending().await.unwrap();
    let kinds: Vec<String> = outbox_of(&store, &uuid)
        .await
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert_eq!(
        kinds,
        vec![
            "new_workshop",
            "new_workshop",
            "schedule_change",
            "schedule_change"
        ]
    );
}
