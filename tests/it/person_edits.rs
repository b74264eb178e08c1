//! A person's edit of a workshop (artists with `by`, song, reel) survives every later
//! ingest of its page, while the page's other changes still land; the admins'
//! `choreo_links` fill an empty reel.

use crate::pipeline::{fixture_artists, fixture_sources};
use crate::store::open_test_store;
use crate::support::replay::ReplayDir;
use chrono::{TimeZone, Utc};
use futures::TryStreamExt;
use mongodb::bson::{doc, Document};
use nachna_ingest::clock::FixedClock;
use nachna_ingest::edits::EditField;
use nachna_ingest::fetch::Fetcher;
use nachna_ingest::pipeline::{run_source, NoProgress, RunContext, RunOptions};
use nachna_ingest::report::RunReport;
use nachna_ingest::settings::IngestConfig;
use nachna_ingest::source::Source;
use nachna_ingest::store::Store;
use std::path::Path;
use std::sync::Arc;

fn context(store: &Store, replay: &Path) -> RunContext {
    RunContext {
        store: store.clone(),
        fetcher: Fetcher::replay(replay).expect("replay dir loads"),
        clock: Arc::new(FixedClock(
            Utc.with_ymd_and_hms(2026, 6, 1, 6, 30, 0).unwrap(),
        )),
        config: IngestConfig::default(),
    }
}

async fn ingest(ctx: &RunContext, source: &Source, options: &RunOptions) -> RunReport {
    if !options.dry_run {
        ctx.store
            .seed_artists(fixture_artists().artists())
            .await
            .unwrap();
    }
    run_source(ctx, source, &fixture_artists(), options, &NoProgress).await
}

fn strings(d: &Document, key: &str) -> Vec<String> {
    d.get_array(key)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

async fn workshops(store: &Store) -> Vec<Document> {
    store
        .raw_workshops()
        .find(doc! {})
        .sort(doc! { "uuid": 1 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

async fn workshop(store: &Store, uuid: &str) -> Document {
    store
        .raw_workshops()
        .find_one(doc! { "uuid": uuid })
        .await
        .unwrap()
        .unwrap()
}

/// The studio whose fixtures have the most single-workshop pages with a price.
fn studio_with_priced_pages(replay: &ReplayDir) -> Source {
    fixture_sources()
        .into_iter()
        .find(|s| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                replay.first_event_with_price(&s.studio.id)
            }))
            .is_ok()
        })
        .expect("a studio with priced single-workshop pages")
}

#[tokio::test]
async fn a_persons_edit_survives_a_page_change_and_the_page_change_lands() {
    let store = open_test_store("personedit").await;
    let replay = ReplayDir::copy_of_fixtures();
    let source = studio_with_priced_pages(&replay);
    let ctx = context(&store, replay.path());
    ingest(&ctx, &source, &RunOptions::default()).await;
    let (uuid, page_url) = replay.first_event_with_price(&source.studio.id);
    let before = workshop(&store, &uuid).await;

    // An admin assigns another (known) artist, a song and a reel, as the app's admin
    // endpoints do: in place, keyed by `_id`.
    let admin_artist = fixture_artists()
        .artists()
        .iter()
        .map(|a| a.artist_id.clone())
        .find(|id| !strings(&before, "artist_id_list").contains(id))
        .unwrap();
    let reel = "https://www.instagram.com/reel/admin-set/";
    store
        .raw_workshops()
        .update_one(
            doc! { "_id": before.get_object_id("_id").unwrap() },
            doc! { "$set": {
                "artist_id_list": [&admin_artist], "by": "Admin Pick",
                "song": "admin song", "choreo_insta_link": reel,
            } },
        )
        .await
        .unwrap();

    replay.change_prices(&page_url);
    let ctx = context(&store, replay.path());

    // The dry run tells what it would keep, and writes nothing.
    let snapshot = workshops(&store).await;
    let dry = ingest(
        &ctx,
        &source,
        &RunOptions {
            dry_run: true,
            ..RunOptions::default()
        },
    )
    .await;
    assert_eq!(snapshot, workshops(&store).await);
    let kept_fields: Vec<(String, EditField)> = dry
        .kept_edits
        .iter()
        .map(|k| (k.uuid.clone(), k.field))
        .collect();
    assert!(
        kept_fields.contains(&(uuid.clone(), EditField::Artists))
            && kept_fields.contains(&(uuid.clone(), EditField::Song)),
        "{dry:#?}"
    );
    assert!(
        dry.summary_line().contains("kept"),
        "{}",
        dry.summary_line()
    );

    let report = ingest(&ctx, &source, &RunOptions::default()).await;
    assert_eq!(report.updated_uuids, vec![uuid.clone()], "{report:#?}");
    assert!(report.summary_line().contains("kept"));
    let after = workshop(&store, &uuid).await;
    assert_eq!(after.get_object_id("_id"), before.get_object_id("_id"));
    assert_eq!(
        strings(&after, "artist_id_list"),
        vec![admin_artist.clone()]
    );
    assert_eq!(after.get_str("by").unwrap(), "Admin Pick");
    assert_eq!(after.get_str("song").unwrap(), "admin song");
    assert_eq!(after.get_str("choreo_insta_link").unwrap(), reel);
    assert_ne!(
        after.get_str("pricing_info").unwrap(),
        before.get_str("pricing_info").unwrap(),
        "the page's price change lands"
    );
    assert_eq!(after.get_i32("version").unwrap(), 2);
    assert_eq!(
        after.get("pending_fanout"),
        before.get("pending_fanout"),
        "a person's artist is not newly matched by the page: nothing more to announce"
    );

    // A second identical ingest writes nothing, and the edit stays.
    let snapshot = workshops(&store).await;
    let again = ingest(
        &ctx,
        &source,
        &RunOptions {
            force: true,
            ..RunOptions::default()
        },
    )
    .await;
    assert_eq!(again.workshops.updated, 0, "{again:#?}");
    assert_eq!(snapshot, workshops(&store).await);
}

#[tokio::test]
async fn choreo_links_fill_an_empty_reel() {
    let store = open_test_store("choreolinks").await;
    let replay = ReplayDir::copy_of_fixtures();
    let source = studio_with_priced_pages(&replay);
    let ctx = context(&store, replay.path());
    ingest(&ctx, &source, &RunOptions::default()).await;
    // A stored workshop with artists and a song but no reel.
    let target = workshops(&store)
        .await
        .into_iter()
        .find(|d| {
            d.get_array("artist_id_list").is_ok_and(|a| !a.is_empty())
                && d.get_str("song").is_ok_and(|s| !s.is_empty())
                && d.get_str("choreo_insta_link").is_err()
        })
        .expect("a fixture workshop with artists and a song and no reel");
    let uuid = target.get_str("uuid").unwrap().to_string();
    let mut artists = strings(&target, "artist_id_list");
    artists.reverse();
    let reel = "https://www.instagram.com/reel/from-choreo-links/";
    store
        .raw_discovery()
        .collection::<Document>("choreo_links")
        .insert_one(doc! {
            "choreo_insta_link": reel,
            "artist_id_list": artists,
            "song": target.get_str("song").unwrap().to_lowercase(),
        })
        .await
        .unwrap();
    let page_url = target.get_str("payment_link").unwrap().to_string();
    replay.change_prices(&page_url);
    let ctx = context(&store, replay.path());
    ingest(&ctx, &source, &RunOptions::default()).await;
    assert_eq!(
        workshop(&store, &uuid)
            .await
            .get_str("choreo_insta_link")
            .unwrap(),
        reel
    );
}

#[tokio::test]
async fn artists_match_by_the_aliases_admins_keep_in_artists_v2() {
    let store = open_test_store("aliases").await;
    store
        .raw_discovery()
        .collection::<Document>("artists_v2")
        .insert_one(doc! {
            "artist_id": "shezan_k", "artist_name": "Shezan Khan",
            "instagram_link": "https://www.instagram.com/shezan_k/",
            "artist_aliases": ["Shez", "SK Dance"],
        })
        .await
        .unwrap();
    let directory = store.load_artists().await.unwrap();
    let found = nachna_ingest::extract::artist::match_artists(
        &directory,
        "Hip hop workshop with SK Dance this Sunday",
        &[],
    );
    assert_eq!(found.ids, vec!["shezan_k".to_string()]);
    assert_eq!(found.names, vec!["Shezan Khan".to_string()]);
    let none = nachna_ingest::extract::artist::match_artists(&directory, "a dance class", &[]);
    assert!(none.ids.is_empty());
}
