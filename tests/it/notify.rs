//! Notifications against a real MongoDB wire-protocol server: followers, cooldowns,
//! settings, reminders, the outbox's idempotence and leases, and every APNs outcome
//! through the scripted APNs double. No test waits on wall-clock time: clocks are
//! injected and back-offs are a millisecond.

use crate::store::open_test_store;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use nachna_ingest::artist::Artist;
use nachna_ingest::clock::FixedClock;
use nachna_ingest::notify::audience::FollowerStream;
use nachna_ingest::notify::config::{NotifyConfig, PushConfig};
use nachna_ingest::notify::dispatch::{DispatchReport, Dispatcher};
use nachna_ingest::notify::fanout::Mode;
use nachna_ingest::notify::outbox::{DeviceStatus, Kind, OutboxDoc, Status};
use nachna_ingest::notify::sender::{build_pusher, PusherChoice};
use nachna_ingest::notify::settings::AppNotificationSettings;
use nachna_ingest::notify::testing::{Scripted, ScriptedPusher};
use nachna_ingest::notify::Notifier;
use nachna_ingest::reconcile::{Action, Announcement};
use nachna_ingest::store::workshops::FanoutMarker;
use nachna_ingest::store::Store;
use nachna_ingest::workshop::{sessions_to_time_details, EventType, Session, WorkshopDraft};
use pretty_assertions::assert_eq;
use std::sync::Arc;

// ---------------------------------------------------------------- fixtures

/// 2026-06-01 12:00 IST.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 6, 30, 0).unwrap()
}

fn token(n: u32) -> String {
    format!("{n:064x}")
}

fn push_config() -> PushConfig {
    PushConfig {
        concurrency: 4,
        retry_attempts: 3,
        retry_backoff_ms: 1,
        max_dispatch_attempts: 3,
        lease_secs: 60,
        topic: Some("com.nachna.app".into()),
        ..PushConfig::default()
    }
}

async fn setup(test: &str) -> Notifier {
    let store = open_test_store(test).await;
    store
        .seed_artists(&[
            Artist {
                artist_id: "vipul".into(),
                artist_name: "Vipul Devrani".into(),
                instagram_link: Some("https://www.instagram.com/vipuldevrani/".into()),
            },
            Artist {
                artist_id: "rajesh".into(),
                artist_name: "Rajesh".into(),
                instagram_link: Some("https://www.instagram.com/rajesh/".into()),
            },
        ])
        .await
        .unwrap();
    store
        .raw_discovery()
        .collection::<Document>("studios")
        .insert_one(doc! {
            "studio_id": "dna", "studio_name": "DNA",
            "instagram_link": "https://www.instagram.com/dance_n_addiction/",
        })
        .await
        .unwrap();
    Notifier::new(
        store,
        NotifyConfig::default(),
        push_config(),
        Arc::new(FixedClock(t0())),
    )
}

/// The same notifier at another instant.
fn at(n: &Notifier, now: DateTime<Utc>) -> Notifier {
    let mut n = n.clone();
    n.clock = Arc::new(FixedClock(now));
    n
}

fn draft(uuid: &str, artists: &[&str], day: u32, hour: u32) -> WorkshopDraft {
    let mut sessions = vec![Session {
        date: NaiveDate::from_ymd_opt(2026, 6, day).unwrap(),
        start: NaiveTime::from_hms_opt(hour, 0, 0).unwrap(),
        end: Some(NaiveTime::from_hms_opt(hour + 2, 0, 0).unwrap()),
    }];
    WorkshopDraft {
        uuid: uuid.into(),
        studio_id: "dna".into(),
        payment_link: format!("https://www.yoactiv.com/event/{uuid}/1/0"),
        payment_link_type: "url".into(),
        event_type: EventType::Workshop,
        time_details: sessions_to_time_details(&mut sessions),
        by: artists.join(" x "),
        song: Some(format!("Song of {uuid}")),
        pricing_info: "₹850".into(),
        artist_id_list: artists.iter().map(|a| a.to_string()).collect(),
        choreo_insta_link: None,
        sessions,
    }
}

/// Stores a new workshop as the pipeline does (with its `pending_fanout` marker).
async fn ingest_new(store: &Store, d: &WorkshopDraft, now: DateTime<Utc>) {
    let artists: Vec<&str> = d.artist_id_list.iter().map(String::as_str).collect();
    crate::store::seed_references(store, &d.studio_id, &artists).await;
    let applied = store
        .apply_action(
            &Action::Insert {
                draft: d.clone().into(),
                announce: Some(Announcement::NewWorkshop),
            },
            now,
            "2026-06-01",
        )
        .await
        .unwrap();
    assert_eq!(applied, nachna_ingest::store::workshops::Applied::Done);
}

async fn react(store: &Store, user: &str, artist: &str, reaction: &str, deleted: Option<bool>) {
    let mut d = doc! {
        "user_id": user, "entity_id": artist, "entity_type": "ARTIST", "reaction": reaction,
        "created_at": t0(), "updated_at": t0(),
    };
    if let Some(deleted) = deleted {
        d.insert("is_deleted", deleted);
    }
    store
        .raw_app()
        .collection::<Document>("reactions")
        .insert_one(d)
        .await
        .unwrap();
}

async fn follow(store: &Store, user: &str, artist: &str) {
    react(store, user, artist, "NOTIFY", Some(false)).await;
}

async fn device(store: &Store, user: &str, token: &str, platform: &str, active: bool) {
    store
        .raw_app()
        .collection::<Document>("device_tokens")
        .insert_one(doc! {
            "user_id": user, "device_token": token, "platform": platform,
            "is_active": active, "created_at": t0(), "updated_at": t0(),
        })
        .await
        .unwrap();
}

/// `users` followers of `vipul` (`u0…`, numbered with `width` digits), each with one
/// How many of the logged `commands` are `name` on `collection`.
fn commands_named(commands: &[(String, String)], name: &str, collection: &str) -> usize {
    commands
        .iter()
        .filter(|(c, k)| c == name && k == collection)
        .count()
}

/// active iOS device whose token is `token(i)`.
async fn vipul_followers(store: &Store, users: u32, width: usize) {
    for i in 0..users {
        let u = format!("u{i:0width$}");
        follow(store, &u, "vipul").await;
        device(store, &u, &token(i), "ios", true).await;
    }
}

async fn set_settings(store: &Store, settings: Document) {
    let mut d = doc! { "_id": "global", "updated_at": t0() };
    d.extend(settings);
    store
        .raw_app()
        .collection::<Document>("notification_settings")
        .insert_one(d)
        .await
        .unwrap();
}

async fn outbox(store: &Store) -> Vec<OutboxDoc> {
    let docs: Vec<Document> = store
        .raw_outbox()
        .find(doc! {})
        .sort(doc! { "user_id": 1, "created_at": 1 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap();
    docs.into_iter()
        .map(|d| mongodb::bson::from_document(d).unwrap())
        .collect()
}

async fn outbox_of(store: &Store, workshop: &str) -> Vec<OutboxDoc> {
    outbox(store)
        .await
        .into_iter()
        .filter(|d| d.workshop_uuid == workshop)
        .collect()
}

async fn token_doc(store: &Store, token: &str) -> Document {
    store
        .raw_app()
        .collection::<Document>("device_tokens")
        .find_one(doc! { "device_token": token })
        .await
        .unwrap()
        .unwrap()
}

async fn dispatch(n: &Notifier, pusher: &ScriptedPusher) -> DispatchReport {
    Dispatcher::new(n, pusher).drain().await.unwrap()
}

/// One new workshop by `vipul`, followed by `u1` with one iOS device; fanned out.
async fn one_enqueued(test: &str, tok: &str) -> Notifier {
    let n = setup(test).await;
    follow(&n.store, "u1", "vipul").await;
    device(&n.store, "u1", tok, "ios", true).await;
    ingest_new(&n.store, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    n
}

// ---------------------------------------------------------------- who gets what

#[tokio::test]
async fn followers_are_exactly_the_non_deleted_notify_reactions_of_the_workshops_artists() {
    let n = setup("followers").await;
    let s = &n.store;
    follow(s, "u_follow", "vipul").await;
    react(s, "u_no_deleted_field", "vipul", "NOTIFY", None).await;
    react(s, "u_deleted", "vipul", "NOTIFY", Some(true)).await;
    react(s, "u_like", "vipul", "LIKE", Some(false)).await;
    follow(s, "u_other_artist", "someone_else").await;
    s.raw_app()
        .collection::<Document>("reactions")
        .insert_one(doc! { "user_id": "u_studio", "entity_id": "vipul", "entity_type": "STUDIO", "reaction": "NOTIFY" })
        .await
        .unwrap();

    let mut stream = FollowerStream::open(s, &["vipul".to_string()])
        .await
        .unwrap();
    let mut users = Vec::new();
    while let Some(f) = stream.next().await.unwrap() {
        users.push(f.user_id);
    }
    assert_eq!(users, vec!["u_follow", "u_no_deleted_field"]);

    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let enqueued: Vec<String> = outbox(s).await.into_iter().map(|d| d.user_id).collect();
    assert_eq!(enqueued, vec!["u_follow", "u_no_deleted_field"]);
}

#[tokio::test]
async fn user_following_two_artists_of_a_workshop_gets_one_push() {
    let n = setup("twoartists").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    follow(s, "u1", "rajesh").await;
    follow(s, "u2", "rajesh").await;
    device(s, "u1", &token(1), "ios", true).await;
    device(s, "u2", &token(2), "ios", true).await;
    ingest_new(s, &draft("dna/duo", &["vipul", "rajesh"], 21, 18), t0()).await;

    let counts = n.fan_out_pending().await.unwrap();
    assert_eq!(counts[0].followers, 2);
    assert_eq!(counts[0].pushes, 2);
    let docs = outbox(s).await;
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[0].user_id, "u1");
    assert_eq!(docs[0].artist_ids, vec!["vipul", "rajesh"]);
    assert_eq!(docs[0].title, "Vipul Devrani x Rajesh has a new workshop");
    assert_eq!(docs[1].artist_ids, vec!["rajesh"]);

    let pusher = ScriptedPusher::new();
    dispatch(&n, &pusher).await;
    assert_eq!(pusher.requests_to(&token(1)).len(), 1);
    assert_eq!(pusher.requests_to(&token(2)).len(), 1);
}

#[tokio::test]
async fn like_reactions_do_not_notify() {
    let n = setup("likes").await;
    react(&n.store, "u1", "vipul", "LIKE", Some(false)).await;
    device(&n.store, "u1", &token(1), "ios", true).await;
    ingest_new(&n.store, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    let counts = n.fan_out_pending().await.unwrap();
    assert_eq!(counts[0].followers, 0);
    assert!(outbox(&n.store).await.is_empty());
}

#[tokio::test]
async fn regulars_get_no_new_workshop_push() {
    let n = setup("regulars").await;
    follow(&n.store, "u1", "vipul").await;
    device(&n.store, "u1", &token(1), "ios", true).await;
    let mut d = draft("dna/w1", &["vipul"], 21, 18);
    d.event_type = EventType::Regulars;
    ingest_new(&n.store, &d, t0()).await;
    let counts = n.fan_out_pending().await.unwrap();
    assert_eq!(
        counts[0].skipped.as_deref(),
        Some("regulars are not listed in the app: no new_workshop push")
    );
    assert!(outbox(&n.store).await.is_empty());
}

#[tokio::test]
async fn every_active_device_of_a_user_gets_it_and_inactive_ones_do_not() {
    let n = setup("devices").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;
    device(s, "u1", &token(2), "ios", true).await;
    device(s, "u1", &token(3), "ios", false).await;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let pusher = ScriptedPusher::new();
    let report = dispatch(&n, &pusher).await;
    assert_eq!(report.delivered, 2);
    let mut tokens: Vec<String> = pusher.requests().into_iter().map(|r| r.token).collect();
    tokens.sort();
    assert_eq!(tokens, vec![token(1), token(2)]);
}

#[tokio::test]
async fn follower_without_device_is_recorded_no_device() {
    let n = setup("nodevice").await;
    follow(&n.store, "u1", "vipul").await;
    ingest_new(&n.store, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let docs = outbox(&n.store).await;
    assert_eq!(docs[0].status, Status::NoDevice);
    assert_eq!(docs[0].expire_at, None);
}

#[tokio::test]
async fn android_tokens_are_recorded_as_no_sender_for_platform() {
    let n = setup("android").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    follow(s, "u2", "vipul").await;
    device(s, "u1", "android-token-1", "android", true).await;
    device(s, "u2", "android-token-2", "android", true).await;
    device(s, "u2", &token(2), "ios", true).await;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let pusher = ScriptedPusher::new();
    let report = dispatch(&n, &pusher).await;
    assert_eq!(report.no_sender_devices, 2);
    assert_eq!(pusher.requests().len(), 1);
    let docs = outbox(s).await;
    assert_eq!(docs[0].status, Status::NoDevice);
    assert_eq!(
        docs[0].devices[0].reason.as_deref(),
        Some("no sender for platform android")
    );
    assert_eq!(docs[0].devices[0].status, DeviceStatus::NoSender);
    assert!(docs[0].reason.as_deref().unwrap().contains("android"));
    assert_eq!(docs[1].status, Status::Sent);
    let android = docs[1]
        .devices
        .iter()
        .find(|d| d.platform == "android")
        .unwrap();
    assert_eq!(android.status, DeviceStatus::NoSender);
}

#[tokio::test]
async fn past_or_archived_workshops_announce_nothing() {
    let n = setup("pastarchived").await;
    follow(&n.store, "u1", "vipul").await;
    // Ingested on 2026-06-25: the 21 June session is past.
    ingest_new(&n.store, &draft("dna/past", &["vipul"], 21, 18), t0()).await;
    let later = at(&n, Utc.with_ymd_and_hms(2026, 6, 25, 0, 0, 0).unwrap());
    let counts = later.fan_out_pending().await.unwrap();
    assert_eq!(
        counts[0].skipped.as_deref(),
        Some("no session in the future")
    );
    assert!(outbox(&n.store).await.is_empty());
}

// ---------------------------------------------------------------- cooldown and settings

#[tokio::test]
async fn cooldown_suppresses_a_second_workshop_of_the_same_artist_then_allows_after_the_window() {
    let n = setup("cooldown").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;

    ingest_new(s, &draft("dna/w1", &["vipul"], 28, 18), t0()).await;
    n.fan_out_pending().await.unwrap();

    let day_later = t0() + Duration::hours(24);
    ingest_new(s, &draft("dna/w2", &["vipul"], 28, 20), day_later).await;
    let counts = at(&n, day_later).fan_out_pending().await.unwrap();
    assert_eq!((counts[0].suppressed, counts[0].notifications), (1, 0));
    let w2 = &outbox_of(s, "dna/w2").await[0];
    assert_eq!(w2.status, Status::Suppressed);
    let reason = w2.reason.as_deref().unwrap();
    assert!(
        reason.contains("cooldown") && reason.contains("vipul") && reason.contains("168 h"),
        "{reason}"
    );
    assert!(
        w2.expire_at.is_some(),
        "suppressed documents are kept with a TTL"
    );

    // 168 h after the first push the artist may be announced again.
    let after_window = t0() + Duration::hours(168) + Duration::minutes(1);
    ingest_new(s, &draft("dna/w3", &["vipul"], 29, 18), after_window).await;
    let counts = at(&n, after_window).fan_out_pending().await.unwrap();
    assert_eq!((counts[0].suppressed, counts[0].notifications), (0, 1));
    assert_eq!(outbox_of(s, "dna/w3").await[0].status, Status::Pending);
}

#[tokio::test]
async fn cooldown_is_per_artist_and_window_comes_from_settings() {
    let n = setup("cooldownwin").await;
    let s = &n.store;
    set_settings(s, doc! { "new_workshop_enabled": true, "new_workshop_cooldown_hours": 24_i64, "reminder_enabled": true, "reminder_hours_before": 24 }).await;
    follow(s, "u1", "vipul").await;
    follow(s, "u1", "rajesh").await;
    device(s, "u1", &token(1), "ios", true).await;
    ingest_new(s, &draft("dna/v1", &["vipul"], 28, 18), t0()).await;
    n.fan_out_pending().await.unwrap();

    // Another artist within the window: not cooling.
    let hour_later = t0() + Duration::hours(1);
    ingest_new(s, &draft("dna/r1", &["rajesh"], 28, 20), hour_later).await;
    at(&n, hour_later).fan_out_pending().await.unwrap();
    assert_eq!(outbox_of(s, "dna/r1").await[0].status, Status::Pending);

    // A duo of both within the window: both artists are cooling for u1, so suppressed.
    let two_hours = t0() + Duration::hours(2);
    ingest_new(
        s,
        &draft("dna/duo", &["vipul", "rajesh"], 29, 18),
        two_hours,
    )
    .await;
    at(&n, two_hours).fan_out_pending().await.unwrap();
    assert_eq!(outbox_of(s, "dna/duo").await[0].status, Status::Suppressed);

    // 25 h later (window 24 h from settings): Vipul is announced again.
    let next_day = t0() + Duration::hours(25);
    ingest_new(s, &draft("dna/v2", &["vipul"], 29, 20), next_day).await;
    at(&n, next_day).fan_out_pending().await.unwrap();
    assert_eq!(outbox_of(s, "dna/v2").await[0].status, Status::Pending);
}

#[tokio::test]
async fn missing_settings_document_means_the_defaults() {
    let n = setup("defaults").await;
    let loaded = AppNotificationSettings::load(&n.store).await.unwrap();
    assert_eq!(
        loaded,
        AppNotificationSettings {
            new_workshop_enabled: true,
            new_workshop_cooldown_hours: 168,
            reminder_enabled: true,
            reminder_hours_before: 24,
        }
    );
}

#[tokio::test]
async fn settings_are_read_whatever_numeric_type_the_app_stored() {
    let n = setup("settingtypes").await;
    set_settings(&n.store, doc! { "new_workshop_enabled": false, "new_workshop_cooldown_hours": 48.0, "reminder_enabled": false, "reminder_hours_before": 3_i64 }).await;
    let loaded = AppNotificationSettings::load(&n.store).await.unwrap();
    assert_eq!(
        loaded,
        AppNotificationSettings {
            new_workshop_enabled: false,
            new_workshop_cooldown_hours: 48,
            reminder_enabled: false,
            reminder_hours_before: 3,
        }
    );
}

#[tokio::test]
async fn disabled_new_workshop_setting_sends_nothing_and_consumes_the_marker() {
    let n = setup("nwdisabled").await;
    let s = &n.store;
    set_settings(s, doc! { "new_workshop_enabled": false, "new_workshop_cooldown_hours": 168, "reminder_enabled": true, "reminder_hours_before": 24 }).await;
    follow(s, "u1", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    let counts = n.fan_out_pending().await.unwrap();
    assert!(counts[0]
        .skipped
        .as_deref()
        .unwrap()
        .contains("new_workshop_enabled"));
    assert!(outbox(s).await.is_empty());
    let w = s
        .raw_workshops()
        .find_one(doc! { "uuid": "dna/w1" })
        .await
        .unwrap()
        .unwrap();
    assert!(!w.contains_key("pending_fanout"));
}

#[tokio::test]
async fn disabled_reminder_setting_enqueues_no_reminder() {
    let n = setup("rmdisabled").await;
    set_settings(&n.store, doc! { "new_workshop_enabled": true, "new_workshop_cooldown_hours": 168, "reminder_enabled": false, "reminder_hours_before": 24 }).await;
    follow(&n.store, "u1", "vipul").await;
    insert_workshop(
        &n.store,
        "dna/w1",
        "workshop",
        false,
        (2026, 6, 21),
        "06:00 PM",
    )
    .await;
    let report = at(&n, ist(2026, 6, 21, 12, 0))
        .enqueue_due_reminders(Mode::Write)
        .await
        .unwrap();
    assert!(report.skipped.unwrap().contains("reminder_enabled"));
    assert!(outbox(&n.store).await.is_empty());
}

#[tokio::test]
async fn schedule_change_is_announced_once_per_new_schedule() {
    let n = setup("schedchange").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();

    let moved = draft("dna/w1", &["vipul"], 22, 18);
    let update = |version: i64| Action::Update {
        draft: moved.clone().into(),
        expected_version: version,
        announce: Some(Announcement::ScheduleChange),
        newly_matched: vec![],
    };
    s.apply_action(&update(1), t0(), "d").await.unwrap();
    n.fan_out_pending().await.unwrap();
    // The same change replayed (a second marker with the same schedule): nothing new.
    s.apply_action(&update(2), t0() + Duration::minutes(5), "d")
        .await
        .unwrap();
    let counts = n.fan_out_pending().await.unwrap();
    assert_eq!(counts[0].already_enqueued, 1);

    let docs = outbox_of(s, "dna/w1").await;
    let kinds: Vec<Kind> = docs.iter().map(|d| d.kind).collect();
    assert_eq!(kinds, vec![Kind::NewWorkshop, Kind::ScheduleChange]);
    assert_eq!(
        docs[1].body,
        "Song of dna/w1 at DNA moved from Sun 21 Jun at 6 PM to Mon 22 Jun at 6 PM"
    );
}

#[tokio::test]
async fn a_second_reschedule_before_fan_out_says_from_what_followers_last_heard() {
    let n = setup("schedtwice").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    // Moved to the 22nd, then to the 23rd at 4 PM, before any fan-out ran.
    for (version, d) in [
        (1, draft("dna/w1", &["vipul"], 22, 18)),
        (2, draft("dna/w1", &["vipul"], 23, 16)),
    ] {
        let update = Action::Update {
            draft: d.into(),
            expected_version: version,
            announce: Some(Announcement::ScheduleChange),
            newly_matched: vec![],
        };
        s.apply_action(&update, t0(), "d").await.unwrap();
    }
    n.fan_out_pending().await.unwrap();
    let docs = outbox_of(s, "dna/w1").await;
    assert_eq!(docs.len(), 2);
    assert_eq!(
        docs[1].body,
        "Song of dna/w1 at DNA moved from Sun 21 Jun at 6 PM to Tue 23 Jun at 4 PM"
    );
}

// ---------------------------------------------------------------- reminders

fn ist(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    chrono_tz::Asia::Kolkata
        .with_ymd_and_hms(y, m, d, h, min, 0)
        .unwrap()
        .with_timezone(&Utc)
}

async fn insert_workshop(
    store: &Store,
    uuid: &str,
    event_type: &str,
    archived: bool,
    (y, m, d): (i32, i32, i32),
    start: &str,
) {
    store
        .raw_workshops()
        .insert_one(doc! {
            "uuid": uuid, "studio_id": "dna", "event_type": event_type, "is_archived": archived,
            "by": "Vipul Devrani", "song": "Hauli Slowly", "artist_id_list": ["vipul"],
            "time_details": [ { "day": d, "month": m, "year": y, "start_time": start, "end_time": "" } ],
            "version": 1, "updated_at": 0.0,
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn reminder_is_enqueued_at_the_right_minute_in_ist() {
    let n = setup("remminute").await;
    follow(&n.store, "u1", "vipul").await;
    device(&n.store, "u1", &token(1), "ios", true).await;
    // Session 21 June 18:00 IST = 12:30 UTC; default 24 h before = 20 June 18:00 IST.
    insert_workshop(
        &n.store,
        "dna/w1",
        "workshop",
        false,
        (2026, 6, 21),
        "06:00 PM",
    )
    .await;

    let minute_early = at(&n, ist(2026, 6, 20, 17, 59));
    let report = minute_early
        .enqueue_due_reminders(Mode::Write)
        .await
        .unwrap();
    assert!(report.sessions.is_empty());
    assert!(outbox(&n.store).await.is_empty());

    let on_time = at(&n, ist(2026, 6, 20, 18, 0));
    let report = on_time.enqueue_due_reminders(Mode::Write).await.unwrap();
    assert_eq!(report.sessions.len(), 1);
    assert_eq!(report.sessions[0].session, "dna/w1|2026-06-21T18:00");
    let docs = outbox(&n.store).await;
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].kind, Kind::Reminder);
    let start = Utc.with_ymd_and_hms(2026, 6, 21, 12, 30, 0).unwrap();
    assert_eq!(docs[0].session_start.unwrap(), start);
    assert_eq!(docs[0].push_expiration, start);
    assert_eq!(docs[0].title, "Reminder: Vipul Devrani at DNA");
    // Enqueued on the 20th for the 21st: as a person would write it.
    assert_eq!(docs[0].body, "Hauli Slowly starts tomorrow at 6 PM");

    // Later scans enqueue nothing more.
    let later = at(&n, ist(2026, 6, 20, 18, 1));
    assert!(later
        .enqueue_due_reminders(Mode::Write)
        .await
        .unwrap()
        .sessions
        .is_empty());
    assert_eq!(outbox(&n.store).await.len(), 1);
}

#[tokio::test]
async fn reminder_lead_time_comes_from_settings() {
    let n = setup("remlead").await;
    set_settings(&n.store, doc! { "new_workshop_enabled": true, "new_workshop_cooldown_hours": 168, "reminder_enabled": true, "reminder_hours_before": 3 }).await;
    follow(&n.store, "u1", "vipul").await;
    insert_workshop(
        &n.store,
        "dna/w1",
        "workshop",
        false,
        (2026, 6, 21),
        "06:00 PM",
    )
    .await;
    let early = at(&n, ist(2026, 6, 21, 14, 59));
    assert!(early
        .enqueue_due_reminders(Mode::Write)
        .await
        .unwrap()
        .sessions
        .is_empty());
    let due = at(&n, ist(2026, 6, 21, 15, 0));
    assert_eq!(
        due.enqueue_due_reminders(Mode::Write)
            .await
            .unwrap()
            .sessions
            .len(),
        1
    );
}

#[tokio::test]
async fn a_daemon_that_was_down_catches_up_but_never_reminds_after_the_start() {
    let n = setup("remcatchup").await;
    follow(&n.store, "u1", "vipul").await;
    device(&n.store, "u1", &token(1), "ios", true).await;
    insert_workshop(
        &n.store,
        "dna/soon",
        "workshop",
        false,
        (2026, 6, 21),
        "06:00 PM",
    )
    .await;
    insert_workshop(
        &n.store,
        "dna/started",
        "workshop",
        false,
        (2026, 6, 21),
        "05:00 PM",
    )
    .await;

    // Back up at 17:30 IST: the 18:00 session is caught up, the 17:00 one has started.
    let back = at(&n, ist(2026, 6, 21, 17, 30));
    let report = back.enqueue_due_reminders(Mode::Write).await.unwrap();
    let sessions: Vec<&str> = report.sessions.iter().map(|s| s.session.as_str()).collect();
    assert_eq!(sessions, vec!["dna/soon|2026-06-21T18:00"]);

    // Dispatch only after the start: the reminder is not sent.
    let too_late = at(&n, ist(2026, 6, 21, 18, 0));
    let pusher = ScriptedPusher::new();
    let r = dispatch(&too_late, &pusher).await;
    assert_eq!((r.expired, pusher.calls()), (1, 0));
    let doc = &outbox(&n.store).await[0];
    assert_eq!(doc.status, Status::Suppressed);
    assert!(doc.reason.as_deref().unwrap().contains("session started"));
}

#[tokio::test]
async fn regulars_and_archived_workshops_get_no_reminder() {
    let n = setup("remregulars").await;
    follow(&n.store, "u1", "vipul").await;
    insert_workshop(
        &n.store,
        "dna/reg",
        "regulars",
        false,
        (2026, 6, 21),
        "06:00 PM",
    )
    .await;
    insert_workshop(
        &n.store,
        "dna/arch",
        "workshop",
        true,
        (2026, 6, 21),
        "06:00 PM",
    )
    .await;
    let report = at(&n, ist(2026, 6, 21, 9, 0))
        .enqueue_due_reminders(Mode::Write)
        .await
        .unwrap();
    assert!(report.sessions.is_empty());
    assert!(outbox(&n.store).await.is_empty());
}

// ---------------------------------------------------------------- outbox idempotence

#[tokio::test]
async fn a_reingest_enqueues_nothing_new() {
    let n = setup("reingest").await;
    let s = &n.store;
    for u in ["u1", "u2", "u3"] {
        follow(s, u, "vipul").await;
    }
    let d = draft("dna/w1", &["vipul"], 21, 18);
    ingest_new(s, &d, t0()).await;
    let first = n.fan_out_pending().await.unwrap();
    assert_eq!(first[0].followers, 3);
    let before = outbox(s).await;

    // The same page ingested again (replayed insert): no marker, nothing to fan out.
    ingest_new(s, &d, t0() + Duration::hours(6)).await;
    assert!(n.fan_out_pending().await.unwrap().is_empty());

    // A crash after enqueueing but before the marker was cleared: the marker comes back
    // and the fan-out runs again; every key exists, nothing is added.
    s.raw_workshops()
        .update_one(
            doc! { "uuid": "dna/w1" },
            doc! { "$set": { "pending_fanout": { "kind": "new_workshop", "since": t0() } } },
        )
        .await
        .unwrap();
    let again = n.fan_out_pending().await.unwrap();
    assert_eq!(again[0].already_enqueued, 3);
    assert_eq!(
        again[0].notifications + again[0].no_device + again[0].suppressed,
        0
    );
    assert_eq!(outbox(s).await, before);
}

#[tokio::test]
async fn a_newer_marker_set_during_fan_out_is_not_cleared() {
    let n = setup("markerrace").await;
    let s = &n.store;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    // The pipeline rescheduled the workshop while the first marker was being fanned out.
    let newer = t0() + Duration::minutes(1);
    s.raw_workshops()
        .update_one(
            doc! { "uuid": "dna/w1" },
            doc! { "$set": { "pending_fanout": { "kind": "schedule_change", "since": newer } } },
        )
        .await
        .unwrap();
    let first = FanoutMarker {
        kind: "new_workshop".into(),
        since: Some(t0()),
    };
    assert!(!s.clear_fanout_marker("dna/w1", &first).await.unwrap());
    let w = s
        .raw_workshops()
        .find_one(doc! { "uuid": "dna/w1" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        w.get_document("pending_fanout")
            .unwrap()
            .get_str("kind")
            .unwrap(),
        "schedule_change"
    );
    // Fanning out the current marker clears it.
    n.fan_out_pending().await.unwrap();
    let w = s
        .raw_workshops()
        .find_one(doc! { "uuid": "dna/w1" })
        .await
        .unwrap()
        .unwrap();
    assert!(!w.contains_key("pending_fanout"));
}

#[tokio::test]
async fn fan_out_streams_in_batches_and_reaches_everyone() {
    let mut n = setup("batches").await;
    n.notify.fanout_batch_size = 2;
    for i in 0..7 {
        let u = format!("u{i}");
        follow(&n.store, &u, "vipul").await;
        device(&n.store, &u, &token(i), "ios", true).await;
    }
    ingest_new(&n.store, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    let counts = n.fan_out_pending().await.unwrap();
    assert_eq!((counts[0].followers, counts[0].pushes), (7, 7));
    assert_eq!(outbox(&n.store).await.len(), 7);
}

#[tokio::test]
async fn dry_run_estimate_writes_nothing() {
    let n = setup("dryrun").await;
    follow(&n.store, "u1", "vipul").await;
    device(&n.store, "u1", &token(1), "ios", true).await;
    device(&n.store, "u1", &token(2), "ios", true).await;
    let settings = AppNotificationSettings::default();
    let c = n
        .estimate_draft(
            &draft("dna/w1", &["vipul"], 21, 18).into(),
            Kind::NewWorkshop,
            &settings,
        )
        .await
        .unwrap();
    assert_eq!((c.followers, c.notifications, c.pushes), (1, 1, 2));
    assert!(outbox(&n.store).await.is_empty());
}

// ---------------------------------------------------------------- leases

#[tokio::test]
async fn crash_between_claim_and_completion_leads_to_exactly_one_more_send_with_the_same_collapse_id(
) {
    let tok = token(7);
    let n = one_enqueued("crash", &tok).await;
    let key = outbox(&n.store).await[0].key.clone();

    // Dispatcher A claims, sends, and dies before recording anything.
    let pusher = ScriptedPusher::new();
    let crashed = Dispatcher::with_owner(&n, &pusher, "dead-dispatcher".into());
    let claimed = crashed
        .claim_batch()
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("a document to claim");
    let request =
        nachna_ingest::notify::payload::request_for(&claimed, &tok, Some("com.nachna.app"));
    nachna_ingest::notify::sender::Pusher::push(&pusher, &request)
        .await
        .unwrap();
    drop(crashed);

    // While the lease holds, nobody else sends it.
    let during = at(&n, t0() + Duration::seconds(59));
    assert_eq!(dispatch(&during, &pusher).await.claimed, 0);

    // Once it expired, it is sent exactly once more, with the same collapse id.
    let after = at(&n, t0() + Duration::seconds(61));
    let report = dispatch(&after, &pusher).await;
    assert_eq!((report.claimed, report.sent), (1, 1));
    let later = at(&n, t0() + Duration::hours(1));
    assert_eq!(dispatch(&later, &pusher).await.claimed, 0);

    let sent = pusher.requests_to(&tok);
    assert_eq!(sent.len(), 2);
    assert!(sent.iter().all(|r| r.headers.collapse_id == key));
    let doc = n.store.outbox_doc(&key).await.unwrap().unwrap();
    assert_eq!(doc.status, Status::Sent);
    assert_eq!(doc.claims, 2);
    assert_eq!(doc.owner, None);
}

#[tokio::test]
async fn a_dispatcher_killed_mid_batch_leaves_every_device_one_push_or_a_same_collapse_id_repeat() {
    let mut n = setup("midbatch").await;
    n.push.batch_size = 10;
    n.push.concurrency = 4;
    let users = 60u32;
    vipul_followers(&n.store, users, 2).await;
    ingest_new(&n.store, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let pusher = ScriptedPusher::new().with_latency(std::time::Duration::from_millis(5));

    // Killed (its future dropped, as a process dies) after 25 pushes: some batches are
    // recorded, others are in flight.
    let doomed = Dispatcher::with_owner(&n, &pusher, "doomed".into());
    tokio::select! {
        r = doomed.drain() => panic!("drain ended before the kill: {r:?}"),
        _ = async {
            while pusher.calls() < 25 {
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
        } => {}
    }
    drop(doomed);
    let before = pusher.calls();
    let pending_after_kill = outbox(&n.store)
        .await
        .iter()
        .filter(|d| d.status == Status::Pending)
        .count();
    assert!(pending_after_kill > 0, "the kill left work in flight");

    // While its shard leases hold, the unrecorded work of the dead one is not re-sent.
    let during = at(&n, t0() + Duration::seconds(59));
    dispatch(&during, &pusher).await;
    // Then another dispatcher takes its shards over and finishes.
    let after = at(&n, t0() + Duration::seconds(61));
    dispatch(&after, &pusher).await;
    assert_eq!(
        dispatch(&at(&n, t0() + Duration::hours(1)), &pusher)
            .await
            .claimed,
        0
    );

    let docs = outbox(&n.store).await;
    assert_eq!(docs.len(), users as usize);
    let mut repeats = 0;
    for d in &docs {
        assert_eq!(d.status, Status::Sent, "{}", d.key);
        assert_eq!(d.devices.len(), 1);
        let sent = pusher.requests_to(&d.devices[0].token);
        assert!(
            sent.len() == 1 || sent.len() == 2,
            "{}: {} pushes",
            d.key,
            sent.len()
        );
        assert!(sent.iter().all(|r| r.headers.collapse_id == d.key));
        if sent.len() == 2 {
            repeats += 1;
            // Counted as claimed twice: by the dead dispatcher and by its successor.
            assert_eq!(d.claims, 2, "{}", d.key);
        } else {
            // Twice when the dead one had it in flight but had not pushed it yet.
            assert!(d.claims == 1 || d.claims == 2, "{}: {}", d.key, d.claims);
        }
    }
    // Only what the dead one had in flight is repeated: at most its batches of the
    // shards it held when killed (and it sent no more than `before` pushes in all).
    assert!(
        repeats as u64 <= before,
        "{repeats} repeats, {before} pushes before the kill"
    );
    assert_eq!(pusher.calls(), users as u64 + repeats as u64);
}

#[tokio::test]
async fn a_late_completion_by_a_dispatcher_that_lost_its_lease_is_ignored() {
    let tok = token(8);
    let n = one_enqueued("leaselost", &tok).await;
    let pusher = ScriptedPusher::new();
    let slow = Dispatcher::with_owner(&n, &pusher, "slow".into());
    let claimed = slow
        .claim_batch()
        .await
        .unwrap()
        .into_iter()
        .next()
        .unwrap();
    // Another dispatcher takes it over after the lease and completes it.
    let after = at(&n, t0() + Duration::seconds(61));
    assert_eq!(dispatch(&after, &pusher).await.sent, 1);
    // The slow one finishes now: its outcome is not recorded over the other's.
    let report = std::sync::Mutex::new(DispatchReport::default());
    slow.process(claimed, &report).await.unwrap();
    assert_eq!(report.into_inner().unwrap().lease_lost, 1);
    let doc = &outbox(&n.store).await[0];
    assert_eq!((doc.status, doc.attempts), (Status::Sent, 1));
}

#[tokio::test]
async fn pushes_in_flight_are_bounded_by_the_configured_concurrency() {
    let mut n = setup("concurrency").await;
    n.push.concurrency = 3;
    vipul_followers(&n.store, 12, 2).await;
    ingest_new(&n.store, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let pusher = ScriptedPusher::new().with_latency(std::time::Duration::from_millis(20));
    assert_eq!(dispatch(&n, &pusher).await.sent, 12);
    assert!(pusher.max_in_flight() <= 3, "{}", pusher.max_in_flight());
    assert!(pusher.max_in_flight() > 1, "workers overlap");
}

// ---------------------------------------------------------------- APNs outcomes

#[tokio::test]
async fn unregistered_token_is_deactivated_and_the_users_other_devices_still_get_it() {
    let n = setup("unregistered").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;
    device(s, "u1", &token(2), "ios", true).await;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let pusher = ScriptedPusher::new().script(&token(1), vec![Scripted::unregistered()]);
    let report = dispatch(&n, &pusher).await;
    assert_eq!((report.sent, report.deactivated_tokens), (1, 1));
    assert_eq!(pusher.requests_to(&token(1)).len(), 1, "not retried");
    let dead = token_doc(s, &token(1)).await;
    assert!(!dead.get_bool("is_active").unwrap());
    assert_eq!(dead.get_str("deactivated_reason").unwrap(), "Unregistered");
    assert_eq!(
        dead.get_datetime("deactivated_at").unwrap().to_chrono(),
        t0()
    );
    assert!(token_doc(s, &token(2)).await.get_bool("is_active").unwrap());
    let doc = &outbox(s).await[0];
    assert_eq!(doc.status, Status::Sent);
    assert_eq!(doc.devices[0].status, DeviceStatus::Deactivated);
    assert_eq!(doc.devices[0].code, Some(410));
}

#[tokio::test]
async fn bad_device_token_and_token_for_another_topic_are_deactivated() {
    let n = setup("badtoken").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;
    device(s, "u1", &token(2), "ios", true).await;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let pusher = ScriptedPusher::new()
        .script(&token(1), vec![Scripted::bad_device_token()])
        .script(&token(2), vec![Scripted::device_token_not_for_topic()]);
    let report = dispatch(&n, &pusher).await;
    assert_eq!((report.deactivated_tokens, report.no_device), (2, 1));
    assert_eq!(
        token_doc(s, &token(1))
            .await
            .get_str("deactivated_reason")
            .unwrap(),
        "BadDeviceToken"
    );
    assert_eq!(
        token_doc(s, &token(2))
            .await
            .get_str("deactivated_reason")
            .unwrap(),
        "DeviceTokenNotForTopic"
    );
    let doc = &outbox(s).await[0];
    assert_eq!(doc.status, Status::NoDevice);
    assert!(doc.reason.as_deref().unwrap().contains("deactivated"));
}

#[tokio::test]
async fn too_many_requests_and_server_errors_are_retried_and_the_token_stays_active() {
    let tok = token(3);
    let n = one_enqueued("retry", &tok).await;
    let pusher = ScriptedPusher::new().script(
        &tok,
        vec![
            Scripted::too_many_requests(),
            Scripted::internal_server_error(),
            Scripted::Accept,
        ],
    );
    let report = dispatch(&n, &pusher).await;
    assert_eq!((report.sent, report.requests), (1, 3));
    assert!(token_doc(&n.store, &tok)
        .await
        .get_bool("is_active")
        .unwrap());
    let doc = &outbox(&n.store).await[0];
    assert_eq!(doc.devices[0].attempts, 3);
    assert_eq!(doc.devices[0].status, DeviceStatus::Sent);
}

#[tokio::test]
async fn persistent_timeouts_go_back_to_pending_with_backoff_then_fail_bounded() {
    let tok = token(4);
    let n = one_enqueued("timeouts", &tok).await;
    let pusher = ScriptedPusher::new().script(&tok, vec![Scripted::Timeout]);
    let first = dispatch(&n, &pusher).await;
    assert_eq!((first.retry_later, first.requests), (1, 3));
    let doc = &outbox(&n.store).await[0];
    assert_eq!((doc.status, doc.attempts), (Status::Pending, 1));
    assert!(doc.next_attempt_at.unwrap() > t0());
    assert!(token_doc(&n.store, &tok)
        .await
        .get_bool("is_active")
        .unwrap());
    // Not due again at the same instant.
    assert_eq!(dispatch(&n, &pusher).await.claimed, 0);
    // Connection errors and 503s count the same way; after max_dispatch_attempts (3) it fails.
    let later = at(&n, t0() + Duration::hours(1));
    assert_eq!(dispatch(&later, &pusher).await.retry_later, 1);
    let last = at(&n, t0() + Duration::hours(2));
    assert_eq!(dispatch(&last, &pusher).await.failed, 1);
    let doc = &outbox(&n.store).await[0];
    assert_eq!(doc.status, Status::Failed);
    assert!(
        doc.reason.as_deref().unwrap().contains("timed out"),
        "{:?}",
        doc.reason
    );
    assert_eq!(pusher.calls(), 9);
    assert!(token_doc(&n.store, &tok)
        .await
        .get_bool("is_active")
        .unwrap());
}

#[tokio::test]
async fn a_device_left_for_retry_is_not_retried_after_expiry_and_the_delivered_one_counts() {
    let n = setup("partialexpiry").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;
    device(s, "u1", &token(2), "ios", true).await;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let pusher = ScriptedPusher::new().script(&token(2), vec![Scripted::service_unavailable()]);
    assert_eq!(dispatch(&n, &pusher).await.retry_later, 1);
    // After the 72 h horizon the second device is given up without another request.
    let expired = at(&n, t0() + Duration::hours(73));
    let report = dispatch(&expired, &pusher).await;
    assert_eq!((report.sent, report.requests), (1, 0));
    let doc = &outbox(s).await[0];
    assert_eq!(doc.status, Status::Sent);
    assert!(doc.reason.as_deref().unwrap().contains("expired"));
    assert_eq!(
        pusher.requests_to(&token(1)).len(),
        1,
        "the delivered device is not sent twice"
    );
}

#[tokio::test]
async fn service_unavailable_and_connection_errors_are_retried() {
    let tok = token(5);
    let n = one_enqueued("conn", &tok).await;
    let pusher = ScriptedPusher::new().script(
        &tok,
        vec![
            Scripted::service_unavailable(),
            Scripted::ConnectionError,
            Scripted::Accept,
        ],
    );
    let report = dispatch(&n, &pusher).await;
    assert_eq!((report.sent, report.requests), (1, 3));
}

#[tokio::test]
async fn provider_errors_stop_dispatch_keep_the_outbox_pending_and_touch_no_token() {
    for (i, answer) in [
        Scripted::invalid_provider_token(),
        Scripted::expired_provider_token(),
        Scripted::bad_topic(),
        Scripted::Reject {
            status: 403,
            reason: "BadCertificateEnvironment",
        },
        Scripted::Reject {
            status: 400,
            reason: "TopicDisallowed",
        },
    ]
    .into_iter()
    .enumerate()
    {
        let mut n = setup(&format!("provider{i}")).await;
        n.push.concurrency = 1;
        for u in 0..3 {
            let user = format!("u{u}");
            follow(&n.store, &user, "vipul").await;
            device(&n.store, &user, &token(u), "ios", true).await;
        }
        ingest_new(&n.store, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
        n.fan_out_pending().await.unwrap();
        let mut pusher = ScriptedPusher::new();
        for u in 0..3 {
            pusher = pusher.script(&token(u), vec![answer.clone()]);
        }
        let report = dispatch(&n, &pusher).await;
        let stopped = report.stopped.clone().expect("dispatch stopped");
        assert!(!stopped.hint.is_empty());
        assert_eq!(
            pusher.calls(),
            1,
            "{answer:?}: no further pushes after a provider error"
        );
        assert_eq!(report.sent + report.failed + report.no_device, 0);
        for d in outbox(&n.store).await {
            assert_eq!(d.status, Status::Pending, "{answer:?}");
            assert_eq!(d.attempts, 0);
        }
        for u in 0..3 {
            assert!(token_doc(&n.store, &token(u))
                .await
                .get_bool("is_active")
                .unwrap());
        }
        // Once fixed, the same notifications go out.
        let fixed = ScriptedPusher::new();
        assert_eq!(dispatch(&n, &fixed).await.sent, 3);
    }
}

#[tokio::test]
async fn payload_too_large_fails_the_notification_with_the_reason() {
    let tok = token(6);
    let n = one_enqueued("payload", &tok).await;
    let pusher = ScriptedPusher::new().script(&tok, vec![Scripted::payload_too_large()]);
    let report = dispatch(&n, &pusher).await;
    assert_eq!((report.failed, report.requests), (1, 1));
    let doc = &outbox(&n.store).await[0];
    assert_eq!(doc.status, Status::Failed);
    assert!(doc.reason.as_deref().unwrap().contains("PayloadTooLarge"));
    assert_eq!(doc.expire_at, None);
    assert!(token_doc(&n.store, &tok)
        .await
        .get_bool("is_active")
        .unwrap());
}

#[tokio::test]
async fn payload_and_headers_are_what_the_app_expects() {
    let tok = token(9);
    let n = one_enqueued("payloadjson", &tok).await;
    let pusher = ScriptedPusher::new();
    dispatch(&n, &pusher).await;
    let doc = &outbox(&n.store).await[0];
    let r = &pusher.requests()[0];
    assert_eq!(
        r.payload,
        serde_json::json!({
            "aps": {
                "alert": { "title": "Vipul Devrani has a new workshop",
                           "body": "Song of dna/w1 at DNA, Sun 21 Jun at 6 PM" },
                "sound": "default",
            },
            "type": "new_workshop",
            "artist_id": "vipul",
            "workshop_id": "dna/w1",
        })
    );
    assert_eq!(r.headers.push_type, "alert");
    assert_eq!(r.headers.priority, 10);
    assert_eq!(r.headers.collapse_id, doc.key);
    assert!(r.headers.collapse_id.len() <= 64);
    assert_eq!(r.headers.topic.as_deref(), Some("com.nachna.app"));
    assert_eq!(
        r.headers.expiration as i64,
        (t0() + Duration::hours(72)).timestamp()
    );
    assert_eq!(doc.status, Status::Sent);
    assert!(doc.devices[0].apns_id.is_some());
    assert_eq!(doc.devices[0].code, Some(200));
}

#[tokio::test]
async fn reminder_push_has_priority_5_and_expires_at_the_session_start() {
    let n = setup("rempayload").await;
    follow(&n.store, "u1", "vipul").await;
    device(&n.store, "u1", &token(1), "ios", true).await;
    insert_workshop(
        &n.store,
        "dna/w1",
        "workshop",
        false,
        (2026, 6, 21),
        "06:00 PM",
    )
    .await;
    let due = at(&n, ist(2026, 6, 20, 18, 0));
    due.enqueue_due_reminders(Mode::Write).await.unwrap();
    let pusher = ScriptedPusher::new();
    dispatch(&due, &pusher).await;
    let r = &pusher.requests()[0];
    assert_eq!(r.headers.priority, 5);
    assert_eq!(
        r.headers.expiration as i64,
        ist(2026, 6, 21, 18, 0).timestamp()
    );
    assert_eq!(r.payload["type"], "reminder");
    assert_eq!(r.payload["workshop_id"], "dna/w1");
}

// ---------------------------------------------------------------- no credentials, audit

#[tokio::test]
async fn without_push_credentials_fan_out_still_enqueues_and_everything_stays_pending() {
    let n = one_enqueued("nocreds", &token(1)).await;
    match build_pusher(&PushConfig::default()).unwrap() {
        PusherChoice::Disabled(why) => assert!(why.contains("NACHNA_APNS_KEY_ID"), "{why}"),
        PusherChoice::Ready(_) => panic!("no credentials must not give a sender"),
    }
    let docs = outbox(&n.store).await;
    assert_eq!(docs[0].status, Status::Pending);
    let status = n.outbox_status().await.unwrap();
    assert_eq!(status.counts["new_workshop"]["pending"], 1);
    assert_eq!(status.oldest_pending_age_secs, Some(0));
}

#[tokio::test]
async fn status_counts_by_kind_and_status_and_deactivated_tokens() {
    let n = setup("status").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    follow(s, "u2", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;
    device(s, "u2", &token(2), "ios", true).await;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let pusher = ScriptedPusher::new().script(&token(2), vec![Scripted::unregistered()]);
    dispatch(&n, &pusher).await;
    let status = at(&n, t0() + Duration::hours(2))
        .outbox_status()
        .await
        .unwrap();
    assert_eq!(status.counts["new_workshop"]["sent"], 1);
    assert_eq!(status.counts["new_workshop"]["no_device"], 1);
    assert_eq!(status.oldest_pending_age_secs, None);
    assert_eq!(status.tokens_deactivated_last_day, 1);
}

#[tokio::test]
async fn status_shows_when_each_next_reminder_is_due_in_the_studio_zone() {
    let n = setup("statusrem").await;
    let s = &n.store;
    // Sessions on the 21st at 6 PM and the 3rd at 10 AM IST; reminders 24 h before.
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    ingest_new(s, &draft("dna/w2", &["rajesh"], 3, 10), t0()).await;
    let status = n.outbox_status().await.unwrap();
    assert_eq!(status.reminder_hours_before, Some(24));
    let due: Vec<(&str, &str, &str)> = status
        .upcoming_reminders
        .iter()
        .map(|r| {
            (
                r.workshop_uuid.as_str(),
                r.due_local.as_str(),
                r.session_local.as_str(),
            )
        })
        .collect();
    assert_eq!(
        due,
        vec![
            ("dna/w2", "2026-06-02 10:00 IST", "2026-06-03 10:00 IST"),
            ("dna/w1", "2026-06-20 18:00 IST", "2026-06-21 18:00 IST"),
        ]
    );
    assert_eq!(status.upcoming_reminders[0].due_at, ist(2026, 6, 2, 10, 0));

    // Once the scan enqueued the due one, it is no longer upcoming.
    let later = at(&n, ist(2026, 6, 2, 10, 30));
    later.enqueue_due_reminders(Mode::Write).await.unwrap();
    let status = later.outbox_status().await.unwrap();
    let left: Vec<&str> = status
        .upcoming_reminders
        .iter()
        .map(|r| r.workshop_uuid.as_str())
        .collect();
    assert_eq!(left, vec!["dna/w1"]);
}

#[tokio::test]
async fn sent_documents_get_a_ttl_and_the_ttl_index_exists() {
    let n = one_enqueued("ttl", &token(1)).await;
    dispatch(&n, &ScriptedPusher::new()).await;
    let doc = &outbox(&n.store).await[0];
    assert_eq!(doc.expire_at.unwrap(), t0() + Duration::days(90));
    let indexes = crate::store::app_index_models(&n.store, "notification_outbox").await;
    let ttl = indexes
        .iter()
        .find(|i| {
            i.options.as_ref().and_then(|o| o.name.as_deref()) == Some("expire_at_sparse_ttl")
        })
        .expect("TTL index");
    assert_eq!(
        ttl.options.as_ref().unwrap().expire_after,
        Some(std::time::Duration::ZERO)
    );
    // Sparse: pending documents (no `expire_at`) cost the index nothing (issue 12).
    assert_eq!(ttl.options.as_ref().unwrap().sparse, Some(true));
    let names: Vec<&str> = indexes
        .iter()
        .filter_map(|i| i.options.as_ref().and_then(|o| o.name.as_deref()))
        .collect();
    assert!(
        !names.contains(&"expire_at_ttl") && !names.contains(&"workshop"),
        "retired outbox indexes are gone: {names:?}"
    );
}

// ---------------------------------------------------------------- the commands

fn cli(store: &Store, push_file: &std::path::Path, args: &[&str]) -> (i32, String) {
    let empty_sources = std::env::temp_dir().join("nachna-no-sources");
    std::fs::create_dir_all(&empty_sources).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_nachna-ingest"))
        .args(args)
        .arg("--log-format=text")
        .env_remove("NACHNA_CONFIG")
        .env("NACHNA_MONGODB_URI", crate::support::mongo::server_uri())
        .env("NACHNA_DISCOVERY_DB", store.database_names().0)
        .env("NACHNA_APP_DB", store.database_names().1)
        .env("NACHNA_SOURCES_DIR", &empty_sources)
        .env("NACHNA_PUSH_SENDER", "file")
        .env("NACHNA_PUSH_FILE", push_file)
        .env("NACHNA_APNS_TOPIC", "com.nachna.app")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

#[tokio::test]
async fn notify_commands_enqueue_report_dispatch_and_test_through_the_file_sender() {
    let n = setup("cli").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;
    device(s, "u1", "android-1", "android", true).await;
    // A session twelve hours from now: its reminder (24 h before) is due now. The
    // commands use the real clock to dispatch, so the dates are relative to it.
    let start = (Utc::now() + Duration::hours(12)).with_timezone(&chrono_tz::Asia::Kolkata);
    use chrono::Datelike;
    let date = start.date_naive();
    let start_time = start.format("%I:%M %p").to_string();
    insert_workshop(
        s,
        "dna/w1",
        "workshop",
        false,
        (date.year(), date.month() as i32, date.day() as i32),
        &start_time,
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("push.jsonl");

    let now = Utc::now().to_rfc3339();
    let (code, out) = cli(s, &file, &["notify", "reminders", "--now", &now]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("1 session(s) due"), "{out}");

    let (code, out) = cli(s, &file, &["notify", "status"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("reminder: pending 1"), "{out}");

    let (code, out) = cli(s, &file, &["notify", "dispatch"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("sent 1"), "{out}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&file)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["token"], token(1));
    assert_eq!(lines[0]["headers"]["apns-priority"], 5);
    assert_eq!(lines[0]["headers"]["apns-topic"], "com.nachna.app");
    assert_eq!(lines[0]["payload"]["type"], "reminder");

    let (code, out) = cli(s, &file, &["notify", "test", "--user", "u1"]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("(ios): 200"), "{out}");
    assert!(out.contains("no sender for platform android"), "{out}");
    assert_eq!(std::fs::read_to_string(&file).unwrap().lines().count(), 2);
}

#[tokio::test]
async fn ingest_step_without_credentials_enqueues_and_leaves_everything_pending() {
    let n = setup("ingeststep").await;
    follow(&n.store, "u1", "vipul").await;
    device(&n.store, "u1", &token(1), "ios", true).await;
    ingest_new(&n.store, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    let settings = nachna_ingest::settings::Settings::default();
    let args = nachna_ingest::cli::IngestArgs {
        select: nachna_ingest::cli::StudioSelection {
            studios: vec!["dna".into()],
            all: false,
        },
        dry_run: false,
        force: false,
        replay: None,
        seed_artists: None,
        allow_mass_archive: false,
        json: true,
        today: None,
        no_dispatch: false,
    };
    let ok = nachna_ingest::commands::notify::after_ingest(
        &settings,
        &n.store,
        n.clock.clone(),
        &[],
        &[],
        &args,
    )
    .await;
    assert!(ok, "missing push credentials never fail an ingest");
    let docs = outbox(&n.store).await;
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].status, Status::Pending);
}

/// Round trips of dispatch, as numbers (issue 12): per shard visited, a lease take, one
/// read of its due documents, one write marking them in flight, one `insert` of the
/// delivered pushes into notification_history, one multi-statement update of every
/// outcome and a release; plus one aggregation listing the shards with work per round
/// (two rounds: the second finds nothing due). And the statements the server works through: the
/// outcomes of a batch of first-try successes are one statement, not one per
/// notification.
#[tokio::test]
async fn dispatch_round_trips_per_batch_are_counted() {
    use nachna_ingest::store::WRITE_COMMANDS;
    let n = setup("dispatchrt").await;
    let users = 200u32;
    vipul_followers(&n.store, users, 3).await;
    ingest_new(&n.store, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();

    let (logged, log) = crate::support::mongo::logged_twin(&n.store).await;
    let mut counted = n.clone();
    counted.store = logged;
    log.clear();
    let pusher = ScriptedPusher::new();
    let report = dispatch(&counted, &pusher).await;
    assert_eq!(report.sent, u64::from(users));
    let commands = log.commands();
    let count = |name: &str, coll: &str| commands_named(&commands, name, coll);
    let shards = count("findAndModify", "notification_dispatch_leases");
    assert!(shards > 0 && shards <= 16, "{shards}");
    // Outcomes: one `update` command per shard batch, never one per notification.
    assert_eq!(count("update", "notification_outbox"), shards);
    assert_eq!(count("update", "notification_dispatch_leases"), shards);
    assert_eq!(count("delete", "notification_dispatch_leases"), shards);
    // Per shard one query for its due documents (its cursor serves every batch of the
    // pass), and per round one aggregation listing the shards with due work.
    assert_eq!(count("find", "notification_outbox"), shards);
    assert_eq!(count("aggregate", "notification_outbox"), 2);
    // Issue 7: one write per batch records its delivered pushes in the app's
    // notification_history: an unordered `insert` (issue 12: an upsert per
    // notification cost the server three times as much).
    assert_eq!(count("insert", "notification_history"), shards);
    assert_eq!(count("update", "notification_history"), 0);
    let writes = commands
        .iter()
        .filter(|(c, _)| WRITE_COMMANDS.contains(&c.as_str()))
        .count();
    assert_eq!(writes, 5 * shards, "{commands:?}");
    assert_eq!(commands.len(), 6 * shards + 2, "{commands:?}");

    // Statements: every notification went out at the first try, so each batch's
    // outcomes are one multi-document statement; the history is one document per
    // notification (an insert, the server's cheapest write).
    let statements = log.statements();
    let sum = |name: &str, coll: &str| -> usize {
        statements
            .iter()
            .filter(|(c, k, _)| c == name && k == coll)
            .map(|(_, _, n)| n)
            .sum()
    };
    assert_eq!(sum("update", "notification_outbox"), shards);
    assert_eq!(sum("insert", "notification_history"), users as usize);
    // Per notification, the server now works through one document write (the history
    // entry) plus a share of its batch's few statements.
    let per_document_writes: usize = statements
        .iter()
        .filter(|(c, _, _)| WRITE_COMMANDS.contains(&c.as_str()))
        .map(|(_, _, n)| n)
        .sum();
    assert_eq!(per_document_writes, users as usize + 4 * shards);

    // And the outcomes are what one statement per document used to write.
    let docs = outbox(&n.store).await;
    assert_eq!(docs.len(), users as usize);
    for d in &docs {
        assert_eq!(d.status, Status::Sent, "{}", d.key);
        assert_eq!((d.attempts, d.claims), (1, 1), "{}", d.key);
        assert_eq!(d.sent_at, Some(t0()));
        assert!(d.expire_at.is_some() && d.owner.is_none() && d.reason.is_none());
        let dev = &d.devices[0];
        assert_eq!(dev.status, DeviceStatus::Sent);
        assert_eq!((dev.code, dev.attempts, dev.at), (Some(200), 1, Some(t0())));
        assert_eq!(
            dev.apns_id,
            nachna_ingest::store::outbox::apns_id_of(&d.key),
            "{}",
            d.key
        );
        assert_eq!(
            pusher.requests_to(&dev.token)[0].headers.apns_id,
            dev.apns_id
        );
    }
    let raw = n
        .store
        .raw_outbox()
        .find_one(doc! {})
        .await
        .unwrap()
        .unwrap();
    for gone in ["queue", "next_attempt_at", "owner", "lease_until", "reason"] {
        assert!(!raw.contains_key(gone), "{gone} left on {raw:?}");
    }
}

/// A shard of several batches (issue 12): one query per shard, whose cursor serves
/// every batch of the pass (`getMore`), each batch still marked in flight on the lease
/// before it is sent and its outcomes recorded in one `update`; one drain round takes
/// every shard (the shard listing is not cut short by a large first shard). Every
/// notification goes out once.
#[tokio::test]
async fn a_shard_of_several_batches_is_read_by_one_query_and_each_notification_sent_once() {
    use nachna_ingest::store::outbox::shard_of;
    let mut n = setup("dispatchpass").await;
    n.push.batch_size = 3;
    let users = 120u32;
    vipul_followers(&n.store, users, 3).await;
    ingest_new(&n.store, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let keys: Vec<String> = outbox(&n.store).await.into_iter().map(|d| d.key).collect();
    let mut per_shard: std::collections::BTreeMap<i32, usize> = Default::default();
    for k in &keys {
        *per_shard.entry(shard_of(k)).or_default() += 1;
    }
    assert_eq!(
        n.store.outbox_due_shards(t0()).await.unwrap(),
        per_shard.keys().copied().collect::<Vec<_>>()
    );
    // Batches of 3: a shard of s documents takes ceil(s / 3) batches (and a last,
    // empty read when s is a multiple of 3).
    let batches: usize = per_shard.values().map(|s| s.div_ceil(3)).sum();
    assert!(batches > 2 * per_shard.len(), "several batches per shard");

    let (logged, log) = crate::support::mongo::logged_twin(&n.store).await;
    let mut counted = n.clone();
    counted.store = logged;
    let pusher = ScriptedPusher::new();
    let report = dispatch(&counted, &pusher).await;
    assert_eq!((report.claimed, report.sent), (users as u64, users as u64));
    let commands = log.commands();
    let count = |name: &str, coll: &str| commands_named(&commands, name, coll);
    assert_eq!(
        count("findAndModify", "notification_dispatch_leases"),
        per_shard.len()
    );
    assert_eq!(count("find", "notification_outbox"), per_shard.len());
    assert_eq!(count("aggregate", "notification_outbox"), 2);
    let full_shards = per_shard.values().filter(|s| *s % 3 == 0).count();
    assert!(count("getMore", "") <= batches - per_shard.len() + full_shards);
    assert_eq!(count("update", "notification_dispatch_leases"), batches);
    assert_eq!(count("update", "notification_outbox"), batches);
    assert_eq!(count("insert", "notification_history"), batches);

    let docs = outbox(&n.store).await;
    assert_eq!(docs.len(), users as usize);
    for d in &docs {
        assert_eq!(d.status, Status::Sent, "{}", d.key);
        assert_eq!((d.attempts, d.claims), (1, 1), "{}", d.key);
        assert_eq!(
            pusher.requests_to(&d.devices[0].token).len(),
            1,
            "{}",
            d.key
        );
    }
    assert_eq!(pusher.calls(), users as u64);
    assert!(n.store.outbox_due_shards(t0()).await.unwrap().is_empty());
}

/// Commands of a fan-out that do not depend on its audience: the marked workshops,
/// the app's settings, the workshop's studio and artists, the followers' cursor and the
/// marker's removal.
const FANOUT_FIXED: usize = 6;

/// Round trips of fan-out, as numbers (issue 12): per batch of followers, one query
/// for the batch's devices, one for its cooldowns in the outbox, one for the old
/// server's `notification_history`, and one unordered `insert`; the followers come
/// through one cursor. Nothing is read or written per follower.
#[tokio::test]
async fn fan_out_round_trips_per_batch_are_counted() {
    use nachna_ingest::store::WRITE_COMMANDS;
    let mut n = setup("fanoutrt").await;
    let users = 250u32;
    vipul_followers(&n.store, users, 3).await;
    ingest_new(&n.store, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    let (logged, log) = crate::support::mongo::logged_twin(&n.store).await;
    n.store = logged;
    n.notify.fanout_batch_size = 100;
    log.clear();
    let counts = n.fan_out_pending().await.unwrap();
    assert_eq!((counts[0].followers, counts[0].pushes), (250, 250));
    let commands = log.commands();
    let count = |name: &str, coll: &str| commands_named(&commands, name, coll);
    let batches = 3; // 100 + 100 + 50
    assert_eq!(
        count("insert", "notification_outbox"),
        batches,
        "{commands:?}"
    );
    assert_eq!(count("find", "device_tokens"), batches, "{commands:?}");
    assert_eq!(
        count("find", "notification_outbox"),
        batches,
        "{commands:?}"
    );
    assert_eq!(
        count("find", "notification_history"),
        batches,
        "{commands:?}"
    );
    assert_eq!(count("find", "reactions"), 1, "{commands:?}");
    assert_eq!(count("getMore", ""), 0, "{commands:?}");
    let writes: Vec<&(String, String)> = commands
        .iter()
        .filter(|(c, _)| WRITE_COMMANDS.contains(&c.as_str()))
        .collect();
    // The inserts, and the marker cleared once at the end.
    assert_eq!(writes.len(), batches + 1, "{writes:?}");
    assert_eq!(count("update", "workshops_v2"), 1, "{commands:?}");
    assert_eq!(commands.len(), 4 * batches + FANOUT_FIXED, "{commands:?}");
    assert_eq!(outbox(&n.store).await.len(), 250);
}

// ---------------------------------------------------------------- notification_history

async fn history(store: &Store) -> Vec<Document> {
    store
        .raw_app()
        .collection::<Document>("notification_history")
        .find(doc! {})
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

#[tokio::test]
async fn a_delivered_push_writes_one_history_document_in_the_contract_shape() {
    let n = setup("history").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    // Two devices, both accept: still one entry per notification and user.
    device(s, "u1", &token(1), "ios", true).await;
    device(s, "u1", &token(2), "ios", true).await;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let ob = outbox(s).await[0].clone();
    let report = dispatch(&n, &ScriptedPusher::new()).await;
    assert_eq!((report.sent, report.delivered), (1, 2));

    let h = history(s).await;
    assert_eq!(h.len(), 1, "{h:?}");
    let d = &h[0];
    assert_eq!(d.get_str("_id").unwrap(), ob.key);
    assert_eq!(d.get_str("user_id").unwrap(), "u1");
    assert_eq!(d.get_str("workshop_uuid").unwrap(), ob.workshop_uuid);
    assert_eq!(d.get_str("artist_id").unwrap(), "vipul");
    assert_eq!(d.get_str("notification_type").unwrap(), "new_workshop");
    assert_eq!(d.get_str("title").unwrap(), ob.title);
    assert_eq!(d.get_str("body").unwrap(), ob.body);
    assert!(!ob.title.is_empty());
    assert!(d.get_bool("is_sent").unwrap());
    assert_eq!(d.get_datetime("sent_at").unwrap().to_chrono(), t0());
    assert_eq!(d.get_datetime("created_at").unwrap().to_chrono(), t0());
    let view = match mongodb::bson::Bson::Document(d.clone()).into_relaxed_extjson() {
        serde_json::Value::Object(m) => m,
        other => panic!("{other}"),
    };
    assert_eq!(nachna_ingest::contract::check_notification(&view), vec![]);
}

#[tokio::test]
async fn a_second_dispatch_of_the_same_claimed_notification_leaves_one_history_document() {
    let tok = token(3);
    let n = one_enqueued("historytwice", &tok).await;
    let pusher = ScriptedPusher::new();
    let d = Dispatcher::with_owner(&n, &pusher, "twice".into());
    let claimed = d.claim_batch().await.unwrap();
    assert_eq!(claimed.len(), 1);
    let report = std::sync::Mutex::new(DispatchReport::default());
    // As a dispatcher that resends what it had in flight: same document, sent twice.
    d.process(claimed[0].clone(), &report).await.unwrap();
    let later = at(&n, t0() + Duration::minutes(5));
    let again = Dispatcher::with_owner(&later, &pusher, "twice".into());
    again.process(claimed[0].clone(), &report).await.unwrap();
    assert_eq!(pusher.requests_to(&tok).len(), 2);
    let h = history(&n.store).await;
    assert_eq!(h.len(), 1, "{h:?}");
    // The first write stands: the resend changed nothing.
    assert_eq!(h[0].get_datetime("sent_at").unwrap().to_chrono(), t0());
}

#[tokio::test]
async fn a_crashed_dispatch_resent_after_the_lease_leaves_one_history_document() {
    let tok = token(4);
    let n = one_enqueued("historycrash", &tok).await;
    let pusher = ScriptedPusher::new();
    // Dispatcher A sends and records the history, then dies before the outcome write.
    let crashed = Dispatcher::with_owner(&n, &pusher, "dead".into());
    let claimed = crashed.claim_batch().await.unwrap();
    let request =
        nachna_ingest::notify::payload::request_for(&claimed[0], &tok, Some("com.nachna.app"));
    nachna_ingest::notify::sender::Pusher::push(&pusher, &request)
        .await
        .unwrap();
    n.store
        .record_history(&[(&claimed[0], t0())], t0())
        .await
        .unwrap();
    drop(crashed);
    let after = at(&n, t0() + Duration::seconds(61));
    let report = dispatch(&after, &pusher).await;
    assert_eq!((report.claimed, report.sent), (1, 1));
    assert_eq!(pusher.requests_to(&tok).len(), 2);
    let h = history(&n.store).await;
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0].get_datetime("sent_at").unwrap().to_chrono(), t0());
}

#[tokio::test]
async fn failed_pushes_write_no_history() {
    let n = setup("historyfail").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    follow(s, "u2", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;
    device(s, "u2", &token(2), "ios", true).await;
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    n.fan_out_pending().await.unwrap();
    let pusher = ScriptedPusher::new()
        .script(&token(1), vec![Scripted::unregistered()])
        .script(&token(2), vec![Scripted::payload_too_large()]);
    let report = dispatch(&n, &pusher).await;
    assert_eq!((report.requests, report.delivered), (2, 0));
    assert_eq!(history(s).await, Vec::<Document>::new());
}

#[tokio::test]
async fn a_new_workshop_push_by_the_old_server_within_the_cooldown_suppresses_one() {
    let n = setup("historycool").await;
    let s = &n.store;
    follow(s, "u1", "vipul").await;
    follow(s, "u2", "vipul").await;
    device(s, "u1", &token(1), "ios", true).await;
    device(s, "u2", &token(2), "ios", true).await;
    let history_entry = |user: &str, artist: &str, kind: &str, sent: DateTime<Utc>| {
        doc! {
            "user_id": user, "workshop_uuid": "old/1", "artist_id": artist,
            "notification_type": kind, "title": "t", "body": "b", "is_sent": true,
            "sent_at": sent, "created_at": sent,
        }
    };
    s.raw_app()
        .collection::<Document>("notification_history")
        .insert_many(vec![
            // u1: announced by the old server a day ago: cooling.
            history_entry("u1", "vipul", "new_workshop", t0() - Duration::hours(24)),
            // u2: only a reminder, and a new_workshop push outside the window.
            history_entry("u2", "vipul", "reminder_24h", t0() - Duration::hours(1)),
            history_entry("u2", "vipul", "new_workshop", t0() - Duration::hours(169)),
        ])
        .await
        .unwrap();
    ingest_new(s, &draft("dna/w1", &["vipul"], 21, 18), t0()).await;
    let counts = n.fan_out_pending().await.unwrap();
    assert_eq!((counts[0].suppressed, counts[0].notifications), (1, 1));
    let docs = outbox(s).await;
    assert_eq!(docs[0].user_id, "u1");
    assert_eq!(docs[0].status, Status::Suppressed);
    assert!(docs[0].reason.as_deref().unwrap().contains("cooldown"));
    assert_eq!(docs[1].user_id, "u2");
    assert_eq!(docs[1].status, Status::Pending);
}
