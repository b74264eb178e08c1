//! Going live on a database the previous pipeline wrote (issue 7): the real binary
//! against the real database server, pages served on 127.0.0.1.
//!
//! The legacy database is built in the previous pipeline's shape: one page with two
//! songs stored as two documents sharing a uuid, `version` 1, no hashes or signatures,
//! `end_time: null`, an admin's artist, song and reel, a hand-entered workshop, a
//! workshop no longer listed, followers with devices and NOTIFY reactions. Its
//! documents are what this tool extracts from the same pages (read into a scratch
//! database first), reshaped as the old pipeline stored them.

use crate::safety::{context, Studio};
use crate::store::open_test_store;
use crate::support::mongo;
use futures::TryStreamExt;
use mongodb::bson::{doc, oid::ObjectId, Bson, Document};
use nachna_ingest::artist::{Artist, ArtistDirectory};
use nachna_ingest::pipeline::{run_source, NoProgress, RunOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

const TODAY: &str = "2030-03-01";

fn single_page(day: u32, performer: &str, with_end: bool) -> String {
    let end = if with_end {
        format!(r#""endDate":"2030-03-{day:02}T20:00:00+05:30","#)
    } else {
        String::new()
    };
    let when = if with_end {
        "6 PM to 8 PM"
    } else {
        "from 6 PM"
    };
    format!(
        r#"<html><head><title>Workshop with {performer}</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Event",
"name":"Hip hop workshop","startDate":"2030-03-{day:02}T18:00:00+05:30",{end}
"performer":{{"@type":"Person","name":"{performer}"}},
"offers":{{"@type":"Offer","price":"800","priceCurrency":"INR"}}}}</script></head>
<body><h1>Hip hop workshop with {performer}</h1><p>{day} March 2030, {when}. Rs. 800</p></body></html>"#
    )
}

fn double_page() -> String {
    r#"<html><body><main><h1>Double Workshop by @vipul_adopt</h1>
<p>Song 1: Hauli Slowly!</p><p>Sat 16 March 2030, 4-6 PM</p><p>₹ 900</p>
<p>Song 2: Ninnindale</p><p>Sun 17 March 2030, 5-7 PM</p><p>₹ 1,000</p></main></body></html>"#
        .to_string()
}

fn directory() -> ArtistDirectory {
    ArtistDirectory::new(
        [
            ("vipul_adopt", "Vipul Adopt"),
            ("asha_adopt", "Asha Adopt"),
            ("ravi_adopt", "Ravi Adopt"),
            ("admin_pick", "Admin Pick"),
        ]
        .iter()
        .map(|(id, name)| Artist {
            artist_id: id.to_string(),
            artist_name: name.to_string(),
            instagram_link: Some(format!("https://www.instagram.com/{id}/")),
        })
        .collect(),
    )
}

fn nachna(dir: &Path, names: &mongo::TestDbNames, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nachna-ingest"))
        .args(args)
        .args(["--sources", dir.to_str().unwrap()])
        .args(["--mongodb-uri", &mongo::server_uri()])
        .env("NACHNA_DISCOVERY_DB", &names.discovery)
        .env("NACHNA_APP_DB", &names.app)
        .env_remove("NACHNA_MONGODB_URI")
        .env("RUST_LOG", "warn")
        .output()
        .expect("binary runs")
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ingest_args() -> Vec<&'static str> {
    vec!["ingest", "--all", "--today", TODAY, "--no-dispatch"]
}

async fn all(db: &mongodb::Database, collection: &str) -> Vec<Document> {
    db.collection::<Document>(collection)
        .find(doc! {})
        .sort(doc! { "_id": 1 })
        .await
        .unwrap()
        .try_collect()
        .await
        .unwrap()
}

async fn snapshot(db: &mongodb::Database) -> BTreeMap<&'static str, Vec<Document>> {
    let mut out = BTreeMap::new();
    for c in [
        "workshops_v2",
        "workshops_v2_copy",
        "workshop_signatures",
        "ingest_pages",
        "studios",
        "ingest_meta",
    ] {
        out.insert(c, all(db, c).await);
    }
    out
}

/// The previous pipeline's copy of a document this tool wrote.
fn legacy_shape(mut d: Document, uuid: &str) -> Document {
    for k in [
        "_id",
        "content_hash",
        "signature",
        "written_by",
        "pipeline_written",
        "workshop_uuid",
        "first_seen_at",
        "pending_fanout",
    ] {
        d.remove(k);
    }
    d.insert("_id", ObjectId::new());
    d.insert("uuid", uuid);
    d.insert("version", 1_i32);
    d.insert("updated_at", 1_749_162_394.073_892_f64);
    if let Ok(times) = d.get_array_mut("time_details") {
        for t in times.iter_mut() {
            if let Bson::Document(t) = t {
                if t.get_str("end_time") == Ok("") {
                    t.insert("end_time", Bson::Null);
                }
            }
        }
    }
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_legacy_database_is_adopted_then_ingested_with_nothing_lost_undone_or_announced() {
    let studio = Studio::start_named("adoptme").await;
    studio.list(&[1, 2, 3, 4]);
    studio.serve(1, double_page());
    studio.serve(2, single_page(10, "Asha Adopt", true));
    studio.serve(3, single_page(11, "Ravi Adopt", false));
    studio.serve(4, single_page(12, "Asha Adopt", true));
    let dir = tempfile::tempdir().unwrap();
    // The test studio's source file, as `ingest` reads it.
    std::fs::write(
        dir.path().join("adoptme.toml"),
        format!(
            r#"[studio]
id = "adoptme"
name = "Studio adoptme"
instagram_link = "https://www.instagram.com/adoptme/"

[crawl]
start_urls = ["{listing}"]
follow = '^http://127\.0\.0\.1:{port}/adoptme/events/'
host_delay_ms = 0
obey_robots = false
"#,
            listing = studio.server.url("/adoptme/listing"),
            port = studio.server.port(),
        ),
    )
    .unwrap();

    // What this tool extracts from the pages, in a scratch database.
    let scratch = open_test_store("adoptscratch").await;
    scratch.seed_artists(directory().artists()).await.unwrap();
    let first = run_source(
        &context(&scratch),
        &studio.source,
        &directory(),
        &RunOptions::default(),
        &NoProgress,
    )
    .await;
    assert_eq!(first.workshops.new, 5, "{first:#?}");
    let extracted: BTreeMap<String, Document> = scratch
        .raw_workshops()
        .find(doc! {})
        .await
        .unwrap()
        .try_collect::<Vec<_>>()
        .await
        .unwrap()
        .into_iter()
        .map(|d| (d.get_str("uuid").unwrap().to_string(), d))
        .collect();
    let double_base = studio.uuid(1);
    let hauli = format!("{double_base}--hauli-slowly");
    let ninnindale = format!("{double_base}--ninnindale");
    assert!(
        extracted.contains_key(&hauli) && extracted.contains_key(&ninnindale),
        "{:?}",
        extracted.keys()
    );
    let (p2, p3, p4) = (studio.uuid(2), studio.uuid(3), studio.uuid(4));

    // The legacy database.
    let names = mongo::unique_names("adoptlegacy");
    let client = mongo::client().await;
    let disc = client.database(&names.discovery);
    let app = client.database(&names.app);
    let mut legacy = vec![
        legacy_shape(extracted[&hauli].clone(), &double_base),
        legacy_shape(extracted[&ninnindale].clone(), &double_base),
        legacy_shape(extracted[&p2].clone(), &p2),
        legacy_shape(extracted[&p3].clone(), &p3),
        legacy_shape(extracted[&p4].clone(), &p4),
    ];
    // An admin's edits: artists (with `by`) on page 2, a song on page 3, a reel on 4.
    legacy[2].insert("artist_id_list", vec!["admin_pick"]);
    legacy[2].insert("by", "Admin Pick");
    legacy[3].insert("song", "admin song");
    legacy[4].insert(
        "choreo_insta_link",
        "https://www.instagram.com/reel/admin-reel/",
    );
    // A workshop whose page is no longer listed.
    let mut gone = legacy_shape(extracted[&p4].clone(), "adoptme/gone");
    gone.insert("payment_link", studio.url(9));
    gone.insert("time_details", vec![doc! { "day": 20, "month": 3, "year": 2030, "start_time": "06:00 PM", "end_time": Bson::Null }]);
    legacy.push(gone);
    // A hand-entered workshop.
    legacy.push(doc! {
        "_id": ObjectId::new(), "uuid": "adoptme/by-hand", "studio_id": "adoptme",
        "payment_link": "https://wa.me/919999999999", "payment_link_type": "whatsapp",
        "event_type": "workshop", "by": "Someone", "song": Bson::Null,
        "pricing_info": "₹500", "artist_id_list": Vec::<String>::new(),
        "choreo_insta_link": Bson::Null, "updated_at": 1_749_162_394.0_f64, "version": 1_i32,
        "time_details": [doc! { "day": 21, "month": 3, "year": 2030, "start_time": "06:00 PM", "end_time": Bson::Null }],
    });
    // An admin recorded a reel for the first song's artists and song (lower-case).
    disc.collection::<Document>("choreo_links")
        .insert_one(doc! {
            "choreo_insta_link": "https://www.instagram.com/reel/mapped-hauli/",
            "artist_id_list": legacy[0].get_array("artist_id_list").unwrap().clone(),
            "song": "hauli slowly!",
        })
        .await
        .unwrap();
    let workshops = disc.collection::<Document>("workshops_v2");
    workshops.insert_many(legacy.clone()).await.unwrap();
    disc.collection::<Document>("workshops_v2_copy")
        .insert_many(legacy.clone())
        .await
        .unwrap();
    disc.collection::<Document>("studios")
        .insert_one(doc! {
            "studio_id": "adoptme", "studio_name": "Studio adoptme",
            "instagram_link": "https://www.instagram.com/adoptme/", "image_url": "https://x.test/i.png",
        })
        .await
        .unwrap();
    for a in directory().artists() {
        disc.collection::<Document>("artists_v2")
            .insert_one(doc! {
                "artist_id": &a.artist_id, "artist_name": &a.artist_name,
                "instagram_link": a.instagram_link.as_deref(), "image_url": Bson::Null,
            })
            .await
            .unwrap();
    }
    for (user, artist, token) in [
        ("u1", "vipul_adopt", "aa11"),
        ("u2", "asha_adopt", "bb22"),
        ("u3", "admin_pick", "cc33"),
        ("u4", "ravi_adopt", "dd44"),
    ] {
        app.collection::<Document>("reactions")
            .insert_one(doc! {
                "user_id": user, "entity_id": artist, "entity_type": "ARTIST",
                "reaction": "NOTIFY", "is_deleted": false,
            })
            .await
            .unwrap();
        app.collection::<Document>("device_tokens")
            .insert_one(doc! {
                "user_id": user, "device_token": token, "platform": "ios", "is_active": true,
            })
            .await
            .unwrap();
    }
    let original = snapshot(&disc).await;

    // `ingest` before `adopt` refuses, naming `adopt`, and writes nothing.
    let refused = nachna(dir.path(), &names, &ingest_args());
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("nachna-ingest adopt"), "{}", text(&refused));
    assert!(!stderr.contains("E11000"), "{}", text(&refused));
    assert_eq!(original, snapshot(&disc).await);
    // So does the service, before it binds or schedules anything.
    let mut service = Command::new(env!("CARGO_BIN_EXE_nachna-ingest"))
        .args(["run", "--sources", dir.path().to_str().unwrap()])
        .args(["--mongodb-uri", &mongo::server_uri()])
        .env("NACHNA_DISCOVERY_DB", &names.discovery)
        .env("NACHNA_APP_DB", &names.app)
        .env_remove("NACHNA_MONGODB_URI")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while service.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = service.kill();
            panic!("`run` on an unadopted legacy database did not refuse to start");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let refused = service.wait_with_output().unwrap();
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains("nachna-ingest adopt"),
        "{}",
        text(&refused)
    );
    assert_eq!(original, snapshot(&disc).await);

    // The dry run tells and writes nothing.
    let dry = nachna(dir.path(), &names, &["adopt", "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        out.contains(&format!("uuid {double_base} -> {hauli}"))
            && out.contains(&format!("uuid {double_base} -> {ninnindale}"))
            && out.contains("would adopt 6 workshop(s)")
            && out.contains("nothing written"),
        "{}",
        text(&dry)
    );
    assert_eq!(original, snapshot(&disc).await);

    let adopted = nachna(dir.path(), &names, &["adopt"]);
    assert!(adopted.status.success(), "{}", text(&adopted));
    let after_adopt = snapshot(&disc).await;
    assert_eq!(after_adopt["ingest_meta"].len(), 1, "the marker");
    // Adopting twice changes nothing the second time.
    let again = nachna(dir.path(), &names, &["adopt"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(
        String::from_utf8_lossy(&again.stdout).contains("already adopted"),
        "{}",
        text(&again)
    );
    assert_eq!(after_adopt, snapshot(&disc).await);

    // The first ingest as a dry run: nothing written, the admin's values it keeps named.
    let mut dry_args = ingest_args();
    dry_args.push("--dry-run");
    let dry = nachna(dir.path(), &names, &dry_args);
    assert!(dry.status.success(), "{}", text(&dry));
    let out = String::from_utf8_lossy(&dry.stdout);
    assert!(
        out.contains(&format!(
            "kept edit  {p2}: `artist_id_list/by` kept as [admin_pick]"
        )) && out.contains(&format!("kept edit  {p3}: `song` kept as \"admin song\""))
            && out.contains("kept 2 person's edits"),
        "{}",
        text(&dry)
    );
    assert_eq!(after_adopt, snapshot(&disc).await);

    let first = nachna(dir.path(), &names, &ingest_args());
    assert!(first.status.success(), "{}", text(&first));
    let after_first = snapshot(&disc).await;
    let by_id: BTreeMap<ObjectId, Document> = after_first["workshops_v2"]
        .iter()
        .map(|d| (d.get_object_id("_id").unwrap(), d.clone()))
        .collect();
    // Every `_id` kept, nothing deleted, nothing added.
    let ids: Vec<ObjectId> = legacy
        .iter()
        .map(|d| d.get_object_id("_id").unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort();
    assert_eq!(sorted, by_id.keys().copied().collect::<Vec<_>>());
    let doc_of = |i: usize| &by_id[&ids[i]];
    assert_eq!(doc_of(0).get_str("uuid").unwrap(), hauli);
    assert_eq!(doc_of(1).get_str("uuid").unwrap(), ninnindale);
    // The admin's edits stand.
    assert_eq!(
        doc_of(2).get_array("artist_id_list").unwrap(),
        &vec![Bson::from("admin_pick")]
    );
    assert_eq!(doc_of(2).get_str("by").unwrap(), "Admin Pick");
    assert_eq!(doc_of(3).get_str("song").unwrap(), "admin song");
    assert_eq!(
        doc_of(4).get_str("choreo_insta_link").unwrap(),
        "https://www.instagram.com/reel/admin-reel/"
    );
    // The empty reel was filled from the admins' map.
    assert_eq!(
        doc_of(0).get_str("choreo_insta_link").unwrap(),
        "https://www.instagram.com/reel/mapped-hauli/"
    );
    assert!(doc_of(1).get_str("choreo_insta_link").is_err());
    // Unchanged pages wrote nothing to their documents (version 1 still), the unlisted
    // one is archived, the hand-entered one untouched.
    for i in 0..5 {
        assert_eq!(doc_of(i).get_i32("version").unwrap(), 1, "{}", doc_of(i));
        assert!(!doc_of(i).get_bool("is_archived").unwrap_or(false));
    }
    assert!(doc_of(5).get_bool("is_archived").unwrap());
    assert_eq!(doc_of(6), &legacy[6], "hand-entered workshop untouched");
    assert_eq!(
        original["workshops_v2_copy"],
        after_first["workshops_v2_copy"]
    );
    // Nothing announced.
    assert!(
        all(&app, "notification_outbox").await.is_empty(),
        "{}",
        text(&first)
    );
    assert!(all(&app, "notification_history").await.is_empty());
    assert!(after_first["workshops_v2"]
        .iter()
        .all(|d| d.get("pending_fanout").is_none()));

    // The second run writes nothing.
    let second = nachna(dir.path(), &names, &ingest_args());
    assert!(second.status.success(), "{}", text(&second));
    assert_eq!(after_first, snapshot(&disc).await, "{}", text(&second));
    assert!(all(&app, "notification_outbox").await.is_empty());
}
