//! The store against a real MongoDB wire-protocol server.

use crate::support::mongo;
use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
use mongodb::bson::{doc, Document};
use nachna_ingest::artist::Artist;
use nachna_ingest::reconcile::{Action, Announcement};
use nachna_ingest::source::Studio;
use nachna_ingest::store::workshops::Applied;
use nachna_ingest::store::{Store, StoreError};
use nachna_ingest::workshop::{sessions_to_time_details, EventType, Session, WorkshopDraft};
use std::time::Duration;

pub async fn open_test_store(test: &str) -> Store {
    open_on(&mongo::unique_names(test)).await
}

async fn open_on(names: &mongo::TestDbNames) -> Store {
    Store::open(
        &mongo::server_uri(),
        &names.discovery,
        &names.app,
        Duration::from_secs(10),
    )
    .await
    .expect("test store opens")
}

/// A test store where the workshops of these tests can be stored: the app contract
/// wants their studio and artists to exist.
async fn store_with_refs(test: &str) -> Store {
    let store = open_test_store(test).await;
    seed_references(&store, "dna", &["rajesh"]).await;
    store
}

/// A studio and artists (with Instagram links) for workshops to point at; artists
/// already stored are left as they are.
pub async fn seed_references(store: &Store, studio_id: &str, artist_ids: &[&str]) {
    let known = store.load_artists().await.expect("artists load");
    store
        .upsert_studio(&Studio {
            id: studio_id.into(),
            name: studio_id.to_uppercase(),
            instagram_link: Some(format!("https://www.instagram.com/{studio_id}/")),
            image_url: None,
            city: "Bangalore".into(),
        })
        .await
        .expect("studio seeded");
    let artists: Vec<Artist> = artist_ids
        .iter()
        .filter(|id| known.get(id).is_none())
        .map(|id| Artist {
            artist_id: id.to_string(),
            artist_name: id.to_string(),
            instagram_link: Some(format!("https://www.instagram.com/{id}/")),
        })
        .collect();
    store.seed_artists(&artists).await.expect("artists seeded");
}

fn draft(uuid: &str, price: &str) -> WorkshopDraft {
    let mut sessions = vec![Session {
        date: NaiveDate::from_ymd_opt(2026, 6, 21).unwrap(),
        start: NaiveTime::from_hms_opt(18, 0, 0).unwrap(),
        end: Some(NaiveTime::from_hms_opt(20, 0, 0).unwrap()),
    }];
    WorkshopDraft {
        uuid: uuid.into(),
        studio_id: "dna".into(),
        payment_link: format!("https://www.yoactiv.com/event/{uuid}/1/0"),
        payment_link_type: "url".into(),
        event_type: EventType::Workshop,
        time_details: sessions_to_time_details(&mut sessions),
        by: "Rajesh".into(),
        song: Some("Ninnindale".into()),
        pricing_info: price.into(),
        artist_id_list: vec!["rajesh".into()],
        choreo_insta_link: None,
        sessions,
    }
}

async fn doc_of(store: &Store, uuid: &str) -> Document {
    store
        .raw_workshops()
        .find_one(doc! { "uuid": uuid })
        .await
        .unwrap()
        .expect("document exists")
}

#[tokio::test]
async fn inserted_workshop_has_the_app_field_types() {
    let store = store_with_refs("apptypes").await;
    let now = Utc.with_ymd_and_hms(2026, 6, 1, 6, 30, 0).unwrap();
    let d = draft("dna/a", "First 15: 850/-");
    let action = Action::Insert {
        draft: d.into(),
        announce: Some(Announcement::NewWorkshop),
    };
    store
        .apply_action(&action, now, "2026-06-01")
        .await
        .unwrap();
    let doc = doc_of(&store, "dna/a").await;
    assert!(doc.get_object_id("_id").is_ok());
    assert_eq!(doc.get_i32("version").unwrap(), 1);
    assert_eq!(doc.get_f64("updated_at").unwrap(), 1780295400.0);
    assert!(!doc.get_bool("is_archived").unwrap());
    assert_eq!(doc.get_str("payment_link_type").unwrap(), "url");
    assert_eq!(doc.get_str("event_type").unwrap(), "workshop");
    let td = doc.get_array("time_details").unwrap()[0]
        .as_document()
        .unwrap()
        .clone();
    assert_eq!(td.get_i32("day").unwrap(), 21);
    assert_eq!(td.get_i32("month").unwrap(), 6);
    assert_eq!(td.get_i32("year").unwrap(), 2026);
    assert_eq!(td.get_str("start_time").unwrap(), "06:00 PM");
    assert_eq!(td.get_str("end_time").unwrap(), "08:00 PM");
    assert_eq!(doc.get_str("pricing_info").unwrap(), "First 15: 850/-");
    assert_eq!(
        doc.get_array("artist_id_list").unwrap()[0].as_str(),
        Some("rajesh")
    );
    assert_eq!(
        doc.get("choreo_insta_link"),
        Some(&mongodb::bson::Bson::Null)
    );
    assert_eq!(
        doc.get_document("pending_fanout")
            .unwrap()
            .get_str("kind")
            .unwrap(),
        "new_workshop"
    );
    let sig = store
        .raw_discovery()
        .collection::<Document>("workshop_signatures")
        .find_one(doc! { "uuid": "dna/a" })
        .await
        .unwrap()
        .unwrap();
    assert_eq!(sig.get_str("_id").unwrap(), draft("dna/a", "x").signature());
}

#[tokio::test]
async fn replaying_an_insert_keeps_one_document_with_its_id() {
    let store = store_with_refs("replayinsert").await;
    let now = Utc::now();
    let action = Action::Insert {
        draft: draft("dna/a", "₹850").into(),
        announce: None,
    };
    store
        .apply_action(&action, now, "2026-06-01")
        .await
        .unwrap();
    let first = doc_of(&store, "dna/a").await;
    store
        .apply_action(&action, now + chrono::Duration::hours(1), "2026-06-01")
        .await
        .unwrap();
    assert_eq!(
        store
            .raw_workshops()
            .count_documents(doc! {})
            .await
            .unwrap(),
        1
    );
    assert_eq!(doc_of(&store, "dna/a").await, first);
}

#[tokio::test]
async fn update_bumps_version_keeps_id_and_choreo_link() {
    let store = store_with_refs("update").await;
    let now = Utc::now();
    store
        .apply_action(
            &Action::Insert {
                draft: draft("dna/a", "₹850").into(),
                announce: None,
            },
            now,
            "d",
        )
        .await
        .unwrap();
    store
        .raw_workshops()
        .update_one(
            doc! { "uuid": "dna/a" },
            doc! { "$set": { "choreo_insta_link": "https://www.instagram.com/reel/abc/" } },
        )
        .await
        .unwrap();
    let before = doc_of(&store, "dna/a").await;
    let update = Action::Update {
        draft: draft("dna/a", "₹950").into(),
        expected_version: 1,
        announce: None,
        newly_matched: vec![],
    };
    assert_eq!(
        store.apply_action(&update, now, "d").await.unwrap(),
        Applied::Done
    );
    let after = doc_of(&store, "dna/a").await;
    assert_eq!(
        after.get_object_id("_id").unwrap(),
        before.get_object_id("_id").unwrap()
    );
    assert_eq!(after.get_i32("version").unwrap(), 2);
    assert_eq!(after.get_str("pricing_info").unwrap(), "₹950");
    assert_eq!(
        after.get_str("choreo_insta_link").unwrap(),
        "https://www.instagram.com/reel/abc/"
    );
    // The same update again is stale (version moved on) and changes nothing.
    assert_eq!(
        store.apply_action(&update, now, "d").await.unwrap(),
        Applied::LostRace
    );
    assert_eq!(doc_of(&store, "dna/a").await.get_i32("version").unwrap(), 2);
}

#[tokio::test]
async fn new_workshop_borrows_choreo_link_of_same_artists_and_song() {
    let store = store_with_refs("borrow").await;
    let now = Utc::now();
    store
        .raw_workshops()
        .insert_one(doc! {
            "uuid": "other/old", "studio_id": "other", "artist_id_list": ["rajesh"],
            "song": "Ninnindale", "choreo_insta_link": "https://www.instagram.com/reel/xyz/",
        })
        .await
        .unwrap();
    store
        .apply_action(
            &Action::Insert {
                draft: draft("dna/a", "₹850").into(),
                announce: None,
            },
            now,
            "d",
        )
        .await
        .unwrap();
    assert_eq!(
        doc_of(&store, "dna/a")
            .await
            .get_str("choreo_insta_link")
            .unwrap(),
        "https://www.instagram.com/reel/xyz/"
    );
}

#[tokio::test]
async fn archiving_flags_and_never_deletes() {
    let store = store_with_refs("archive").await;
    let now = Utc::now();
    store
        .apply_action(
            &Action::Insert {
                draft: draft("dna/a", "₹850").into(),
                announce: None,
            },
            now,
            "d",
        )
        .await
        .unwrap();
    assert_eq!(
        store
            .archive_workshops("dna", &["dna/a".into()], now)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        store
            .archive_workshops("dna", &["dna/a".into()], now)
            .await
            .unwrap(),
        0
    );
    let doc = doc_of(&store, "dna/a").await;
    assert!(doc.get_bool("is_archived").unwrap());
    assert!(doc.get_datetime("archived_at").is_ok());
    assert_eq!(doc.get_i32("version").unwrap(), 2);
}

#[tokio::test]
async fn uuid_index_is_unique() {
    let store = store_with_refs("uniq").await;
    store
        .raw_workshops()
        .insert_one(doc! { "uuid": "x/1" })
        .await
        .unwrap();
    assert!(store
        .raw_workshops()
        .insert_one(doc! { "uuid": "x/1" })
        .await
        .is_err());
}

#[tokio::test]
async fn unreachable_mongodb_is_a_clear_error() {
    let err = Store::open(
        "mongodb://127.0.0.1:9/?directConnection=true",
        "d",
        "a",
        Duration::from_millis(500),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Unreachable { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("127.0.0.1:9") && text.contains("unreachable"),
        "{text}"
    );
}

#[tokio::test]
async fn schedule_change_keeps_a_pending_new_workshop_marker() {
    let store = store_with_refs("keepmarker").await;
    let now = Utc::now();
    let first = draft("dna/a", "₹850");
    store
        .apply_action(
            &Action::Insert {
                draft: first.into(),
                announce: Some(Announcement::NewWorkshop),
            },
            now,
            "d",
        )
        .await
        .unwrap();
    let mut moved = draft("dna/a", "₹850");
    moved.sessions[0].start = NaiveTime::from_hms_opt(17, 0, 0).unwrap();
    moved.time_details = sessions_to_time_details(&mut moved.sessions);
    let update = Action::Update {
        draft: moved.into(),
        expected_version: 1,
        announce: Some(Announcement::ScheduleChange),
        newly_matched: vec![],
    };
    assert_eq!(
        store.apply_action(&update, now, "d").await.unwrap(),
        Applied::Done
    );
    let doc = doc_of(&store, "dna/a").await;
    assert_eq!(doc.get_i32("version").unwrap(), 2);
    assert_eq!(
        doc.get_document("pending_fanout")
            .unwrap()
            .get_str("kind")
            .unwrap(),
        "new_workshop"
    );
    assert_eq!(
        doc.get_array("time_details").unwrap()[0]
            .as_document()
            .unwrap()
            .get_str("start_time")
            .unwrap(),
        "05:00 PM"
    );

    // Once the marker is consumed, a later change is announced as a schedule change.
    store
        .raw_workshops()
        .update_one(
            doc! { "uuid": "dna/a" },
            doc! { "$unset": { "pending_fanout": "" } },
        )
        .await
        .unwrap();
    let mut again = draft("dna/a", "₹850");
    again.sessions[0].start = NaiveTime::from_hms_opt(16, 0, 0).unwrap();
    again.time_details = sessions_to_time_details(&mut again.sessions);
    let update = Action::Update {
        draft: again.into(),
        expected_version: 2,
        announce: Some(Announcement::ScheduleChange),
        newly_matched: vec![],
    };
    assert_eq!(
        store.apply_action(&update, now, "d").await.unwrap(),
        Applied::Done
    );
    let doc = doc_of(&store, "dna/a").await;
    assert_eq!(
        doc.get_document("pending_fanout")
            .unwrap()
            .get_str("kind")
            .unwrap(),
        "schedule_change"
    );
}

/// The indexes of `collection` in the store's app database, as the server lists them.
pub async fn app_index_models(store: &Store, collection: &str) -> Vec<mongodb::IndexModel> {
    use futures::TryStreamExt;
    mongo::client()
        .await
        .database(&store.database_names().1)
        .collection::<Document>(collection)
        .list_indexes()
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

async fn app_index_names(store: &Store, collection: &str) -> Vec<String> {
    app_index_models(store, collection)
        .await
        .into_iter()
        .filter_map(|m| m.options.and_then(|o| o.name))
        .collect()
}

/// A store opened on app databases where `index` (a `createIndexes` entry) was made
/// on `collection` beforehand, as another writer or an older version left it.
async fn store_opened_over(test: &str, collection: &str, index: Document) -> Store {
    let names = mongo::unique_names(test);
    mongo::client()
        .await
        .database(&names.app)
        .run_command(doc! { "createIndexes": collection, "indexes": [index] })
        .await
        .unwrap();
    open_on(&names).await
}

#[tokio::test]
async fn the_push_history_gets_an_index_for_the_cooldown_read() {
    let store = open_test_store("historyindex").await;
    let names = app_index_names(&store, "notification_history").await;
    assert!(names.contains(&"nachna_user_sent".to_string()), "{names:?}");
}

/// The app's server may index its own collections: an index on the same keys under its
/// name is used, not duplicated (MongoDB refuses a second one), and later start-ups
/// write nothing.
#[tokio::test]
async fn an_equivalent_index_the_app_made_is_kept_and_none_is_added() {
    // As a shell writes it: directions as doubles, the app's own name.
    let store = store_opened_over(
        "appindex",
        "notification_history",
        doc! { "key": { "user_id": 1.0, "sent_at": -1.0 }, "name": "user_sent_desc" },
    )
    .await;
    let history = app_index_names(&store, "notification_history").await;
    assert!(
        history.contains(&"user_sent_desc".to_string()),
        "{history:?}"
    );
    assert!(
        !history.contains(&"nachna_user_sent".to_string()),
        "{history:?}"
    );

    let (logged, log) = mongo::logged_twin(&store).await;
    log.clear();
    logged.ensure_schema().await.unwrap();
    let commands = log.commands();
    assert!(
        commands.iter().all(|(c, _)| c == "listIndexes"),
        "{commands:?}"
    );
}

/// An outbox from before the TTL index became sparse: the old index (same key, other
/// options) is dropped before the new one is made, which MongoDB requires.
#[tokio::test]
async fn a_retired_index_on_the_same_keys_is_replaced() {
    let store = store_opened_over(
        "retiredttl",
        "notification_outbox",
        doc! { "key": { "expire_at": 1 }, "name": "expire_at_ttl", "expireAfterSeconds": 0 },
    )
    .await;
    let names = app_index_names(&store, "notification_outbox").await;
    assert!(!names.contains(&"expire_at_ttl".to_string()), "{names:?}");
    assert!(
        names.contains(&"expire_at_sparse_ttl".to_string()),
        "{names:?}"
    );
}
