//! The real binary, as an operator runs it.

use crate::support::mongo;
use std::process::{Command, Output};

fn nachna(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_nachna-ingest"))
        .args(args)
        .env_remove("NACHNA_MONGODB_URI")
        .env("RUST_LOG", "warn")
        .output()
        .expect("binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_accepts_the_shipped_sources() {
    let out = nachna(&["check", "--sources", "sources"]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("4 source file(s) valid"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_reports_every_problem_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dna.toml"),
        "[studio]\nid = \"dna\"\nname = \"DNA\"\n\n[crawl]\nstart_urls = [\"https://x.test/\"]\nfollow = '(unclosed'\n\n[schedule]\ncron = \"nope\"\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        "[studio]\nid = \"b\"\nname = \"B\"\nmystery = 1\n",
    )
    .unwrap();
    let out = nachna(&["check", "--sources", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let dna = dir.path().join("dna.toml");
    let b = dir.path().join("b.toml");
    assert!(
        stdout.contains(&format!(
            "{}:7: crawl.follow: invalid regex: unclosed group",
            dna.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{}:10: schedule.cron: invalid cron expression `nope`",
            dna.display()
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "{}:4: studio.mystery: unknown field `mystery`",
            b.display()
        )),
        "{stdout}"
    );
}

#[test]
fn ingest_with_unreachable_mongodb_exits_nonzero_with_a_clear_error() {
    let out = nachna(&[
        "ingest",
        "--all",
        "--sources",
        "sources",
        "--mongodb-uri",
        "mongodb://127.0.0.1:9/?directConnection=true&serverSelectionTimeoutMS=500",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("127.0.0.1:9") && stderr.contains("unreachable"),
        "{stderr}"
    );
}

#[test]
fn ingest_of_unknown_studio_names_the_known_ones() {
    let out = nachna(&[
        "ingest",
        "--studio",
        "nope",
        "--sources",
        "sources",
        "--mongodb-uri",
        "mongodb://127.0.0.1:9/",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("no source file for studio `nope`") && stderr.contains("dance_n_addiction"),
        "{stderr}"
    );
}

#[test]
fn replayed_ingest_prints_a_json_summary_per_studio() {
    let names = mongo::unique_names("cli_ingest");
    let uri = mongo::server_uri();
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
        "--no-dispatch",
    ])
    .args(["--mongodb-uri", &uri])
    .env("NACHNA_DISCOVERY_DB", &names.discovery)
    .env("NACHNA_APP_DB", &names.app)
    .env("RUST_LOG", "warn");
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let reports: Vec<serde_json::Value> =
        serde_json::from_slice(&out.stdout).expect("stdout is JSON");
    assert_eq!(reports.len(), 4);
    for r in &reports {
        assert_eq!(r["outcome"], "success", "{r:#}");
        assert!(r["workshops"]["new"].as_u64().unwrap() > 0, "{r:#}");
    }
    let again = cmd.output().unwrap();
    let reports: Vec<serde_json::Value> = serde_json::from_slice(&again.stdout).unwrap();
    assert!(reports
        .iter()
        .all(|r| r["workshops"]["new"] == 0 && r["workshops"]["updated"] == 0));
}

#[test]
fn extract_json_prints_exactly_the_golden_array() {
    let manifest: toml::Value =
        toml::from_str(&std::fs::read_to_string("fixtures/manifest.toml").unwrap()).unwrap();
    let mut checked = 0;
    for page in manifest["page"].as_array().unwrap() {
        let file = page["file"].as_str().unwrap();
        let (studio, stem) = file.trim_end_matches(".html").split_once('/').unwrap();
        let golden = format!("fixtures/{studio}/expected/{stem}.json");
        if !std::path::Path::new(&golden).exists() {
            continue;
        }
        let out = nachna(&[
            "extract",
            "--studio",
            studio,
            "--sources",
            "sources",
            "--page-url",
            page["url"].as_str().unwrap(),
            "--today",
            "2026-06-01",
            "--artists",
            "fixtures/artists.json",
            "--json",
            &format!("fixtures/{file}"),
        ]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let got: serde_json::Value =
            serde_json::from_slice(&out.stdout).expect("stdout is one JSON array");
        let want: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&golden).unwrap()).unwrap();
        assert_eq!(got, want, "{file}");
        if want.as_array().unwrap().is_empty() {
            assert!(
                text(&out.stderr).contains("not a workshop"),
                "{file}: reason on stderr"
            );
        }
        checked += 1;
    }
    assert!(
        checked >= 16,
        "every studio has at least four event pages with goldens"
    );
}

#[test]
fn check_of_an_empty_or_mistyped_sources_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let out = nachna(&["check", "--sources", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
    assert_eq!(
        text(&out.stdout),
        format!(
            "{}: no source files: a studio is described by one `<studio_id>.toml` file in this directory\n",
            dir.path().display()
        )
    );
    std::fs::write(dir.path().join("dna.tml"), "").unwrap();
    let out = nachna(&["check", "--sources", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).ends_with("(found dna.tml, not ending in .toml)\n"),
        "{}",
        text(&out.stdout)
    );
    let missing = dir.path().join("no-such-dir");
    let out = nachna(&["check", "--sources", missing.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains("cannot read the sources directory"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn check_lists_every_unknown_key_and_a_non_utf8_file_with_lines() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("dna.toml"),
        "[studio]\nid = \"dna\"\nname = \"DNA\"\ncolour = \"red\"\ninstagram_link = \"https://www.instagram.com/dna/\"\n\n[crawl]\nstart_urls = [\"https://x.test/\"]\nfollow = 'x'\nretries = 3\n",
    )
    .unwrap();
    std::fs::write(
        dir.path().join("latin.toml"),
        b"[studio]\nid = \"latin\"\nname = \"Caf\xe9\"\n",
    )
    .unwrap();
    let out = nachna(&["check", "--sources", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    let dna = dir.path().join("dna.toml").display().to_string();
    let latin = dir.path().join("latin.toml").display().to_string();
    for expected in [
        format!("{dna}:4: studio.colour: unknown field `colour`; the keys in [studio] are: id, name, instagram_link, image_url, timezone, city"),
        format!("{dna}:10: crawl.retries: unknown field `retries`; the keys in [crawl] are:"),
        format!("{latin}:3: not valid UTF-8 (byte 0xe9 at column 12); save the file as UTF-8"),
    ] {
        assert!(stdout.contains(&expected), "missing `{expected}` in:\n{stdout}");
    }
    assert_eq!(text(&out.stderr).trim(), "3 problem(s) found");
}

fn extract_file(extra: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_nachna-ingest"));
    cmd.args([
        "extract",
        "--studio",
        "dance_n_addiction",
        "--sources",
        "sources",
    ])
    .args(["--today", "2026-06-01"])
    .args(extra)
    .arg("fixtures/dance_n_addiction/rajesh-workshop-21st-june.html")
    .env("RUST_LOG", "warn");
    cmd
}

#[test]
fn extract_says_when_uuids_are_placeholders_and_artists_unread() {
    let out = extract_file(&[]).output().unwrap();
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(
            "note: no --page-url, so the uuid and payment_link below are placeholders made from the file's path"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "note: no --artists FILE, so no artist is matched (extract never reads artists_v2)"
        ),
        "{stderr}"
    );
    let out = extract_file(&[
        "--artists",
        "fixtures/artists.json",
        "--page-url",
        "https://www.yoactiv.com/event/rajesh-workshop_-21st-june/1071/0",
    ])
    .output()
    .unwrap();
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), "", "no notes when both are given");
    let help = nachna(&["extract", "--help"]);
    let help = text(&help.stdout);
    assert!(help.contains("extract` never reads the database"), "{help}");
    assert!(!help.contains("instead of reading artists_v2"), "{help}");
}

#[test]
fn extract_into_a_closed_pipe_exits_quietly() {
    let mut child = extract_file(&["--artists", "fixtures/artists.json"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // `| head -0`: the reader goes away before anything is written.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
}

#[test]
fn logs_to_a_file_carry_no_colour_codes() {
    // stderr is a pipe here, as with a log file: the warning must be plain text.
    let out = Command::new(env!("CARGO_BIN_EXE_nachna-ingest"))
        .args([
            "ingest",
            "--all",
            "--sources",
            "sources",
            "--mongodb-uri",
            "mongodb://127.0.0.1:9/",
        ])
        .args(["--log-format", "text"])
        .env("RUST_LOG", "info")
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    let stderr = text(&out.stderr);
    assert!(!stderr.is_empty());
    assert!(!stderr.contains('\u{1b}'), "ANSI escape in {stderr:?}");
}

#[test]
fn a_run_whose_every_event_link_is_off_the_allowed_hosts_is_not_a_success() {
    let dir = tempfile::tempdir().unwrap();
    let replay = dir.path().join("replay");
    let sources = dir.path().join("sources");
    std::fs::create_dir_all(&replay).unwrap();
    std::fs::create_dir_all(&sources).unwrap();
    std::fs::write(
        replay.join("manifest.toml"),
        "[[page]]\nurl = \"https://studio.test/workshops\"\nfile = \"listing.html\"\n",
    )
    .unwrap();
    std::fs::write(
        replay.join("listing.html"),
        r#"<html><body><a href="https://tickets.test/e/1">One</a> <a href="https://tickets.test/e/2">Two</a></body></html>"#,
    )
    .unwrap();
    std::fs::write(
        sources.join("offhost.toml"),
        "[studio]\nid = \"offhost\"\nname = \"Off\"\ninstagram_link = \"https://www.instagram.com/offhost/\"\n\n[crawl]\nstart_urls = [\"https://studio.test/workshops\"]\nfollow = '^https://tickets\\.test/e/'\nallowed_hosts = [\"studio.test\"]\n",
    )
    .unwrap();
    let names = mongo::unique_names("cli_offhost");
    let out = Command::new(env!("CARGO_BIN_EXE_nachna-ingest"))
        .args(["ingest", "--studio", "offhost", "--json", "--no-dispatch"])
        .args(["--replay", replay.to_str().unwrap()])
        .args(["--sources", sources.to_str().unwrap()])
        .args(["--mongodb-uri", &mongo::server_uri()])
        .env("NACHNA_DISCOVERY_DB", &names.discovery)
        .env("NACHNA_APP_DB", &names.app)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let reports: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let r = &reports[0];
    assert_eq!(r["outcome"], "partial", "{r:#}");
    assert_eq!(
        r["warnings"][0],
        "2 event link(s) on host `tickets.test`, which is not in crawl.allowed_hosts, skipped (e.g. https://tickets.test/e/1)"
    );
    assert_eq!(
        r["errors"][0],
        "every event link the listing gave was on a host not in crawl.allowed_hosts (tickets.test), so no event page was read; add the host(s) to crawl.allowed_hosts"
    );
}

/// `--today` decides what is past and future (the fixture workshops of June 2026 are
/// announced) but the outbox keeps real time: a push stored with the pretend date
/// would carry an expiry already past and be deleted (with its cooldown) at once.
#[test]
fn today_fixes_the_calendar_not_the_outbox_clock() {
    let names = mongo::unique_names("cli_today");
    let uri = mongo::server_uri();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = rt.block_on(mongo::client());
    let app = client.database(&names.app);
    rt.block_on(async {
        app.collection::<mongodb::bson::Document>("reactions")
            .insert_one(mongodb::bson::doc! {
                "user_id": "u1", "entity_id": "rajeshkumar.dance", "entity_type": "ARTIST",
                "reaction": "NOTIFY", "is_deleted": false,
            })
            .await
            .unwrap();
        app.collection::<mongodb::bson::Document>("device_tokens")
            .insert_one(mongodb::bson::doc! {
                "user_id": "u1", "device_token": "tok1", "platform": "ios", "is_active": true,
            })
            .await
            .unwrap();
    });
    let before = chrono::Utc::now();
    let out = Command::new(env!("CARGO_BIN_EXE_nachna-ingest"))
        .args([
            "ingest",
            "--studio",
            "dance_n_addiction",
            "--replay",
            "fixtures",
        ])
        .args([
            "--seed-artists",
            "fixtures/artists.json",
            "--today",
            "2026-06-01",
        ])
        .args([
            "--no-dispatch",
            "--sources",
            "sources",
            "--mongodb-uri",
            &uri,
        ])
        .env("NACHNA_DISCOVERY_DB", &names.discovery)
        .env("NACHNA_APP_DB", &names.app)
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let docs: Vec<mongodb::bson::Document> = rt.block_on(async {
        use futures::TryStreamExt;
        app.collection::<mongodb::bson::Document>("notification_outbox")
            .find(mongodb::bson::doc! { "user_id": "u1" })
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    });
    assert_eq!(
        docs.len(),
        1,
        "one new_workshop push for the follower: {docs:?}"
    );
    let d = &docs[0];
    assert_eq!(d.get_str("kind").unwrap(), "new_workshop");
    let at = |k: &str| d.get_datetime(k).unwrap().to_chrono();
    // Real time, not 2026-06-01.
    assert!(
        at("created_at") >= before - chrono::Duration::seconds(5),
        "{d}"
    );
    assert!(at("push_expiration") > chrono::Utc::now(), "{d}");
    // The copy speaks of the session on the pretend calendar.
    assert!(
        d.get_str("body").unwrap().ends_with(" PM")
            && !d.get_str("body").unwrap().contains(":00 PM"),
        "{d}"
    );
}

#[test]
fn status_without_a_daemon_promises_no_run_and_speaks_in_the_studio_zone() {
    let names = mongo::unique_names("cli_status");
    let uri = mongo::server_uri();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_nachna-ingest"))
            .args(args)
            .args(["--sources", "sources", "--mongodb-uri", &uri])
            .env("NACHNA_DISCOVERY_DB", &names.discovery)
            .env("NACHNA_APP_DB", &names.app)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let out = run(&[
        "ingest",
        "--studio",
        "dance_n_addiction",
        "--replay",
        "fixtures",
        "--no-dispatch",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["status"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("  none reported in the last"), "{stdout}");
    assert!(
        stdout.contains("  dance_n_addiction\n    last run:  success (manual) started 20"),
        "{stdout}"
    );
    assert!(
        stdout.contains(" IST ("),
        "times in the studio's zone: {stdout}"
    );
    assert!(!stdout.contains("Z ("), "no UTC times: {stdout}");
    assert!(
        stdout.contains("    next run:  none [no daemon running]"),
        "{stdout}"
    );
    assert!(!stdout.contains("next run:  20"), "{stdout}");
}

#[test]
fn status_shows_a_today_runs_pretend_date_beside_its_real_start_and_folds_zero_counts() {
    let names = mongo::unique_names("cli_status_today");
    let uri = mongo::server_uri();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_nachna-ingest"))
            .args(args)
            .args(["--sources", "sources", "--mongodb-uri", &uri])
            .env("NACHNA_DISCOVERY_DB", &names.discovery)
            .env("NACHNA_APP_DB", &names.app)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap()
    };
    let ingest = [
        "ingest",
        "--studio",
        "dance_n_addiction",
        "--replay",
        "fixtures",
        "--no-dispatch",
        "--today",
        "2026-06-01",
    ];
    let out = run(&ingest);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["status"]);
    let stdout = text(&out.stdout);
    let studio_lines = |stdout: &str| {
        stdout
            .lines()
            .skip_while(|l| *l != "  dance_n_addiction")
            .skip(1)
            .take(2)
            .collect::<Vec<_>>()
            .join("\n")
    };
    let last = studio_lines(&stdout);
    // The pretend date is named; the start is the real one (not the pretend noon).
    assert!(
        last.starts_with("    last run:  success (manual, as of --today 2026-06-01) started "),
        "{stdout}"
    );
    assert!(!last.contains("started 2026-06-01 12:00:00"), "{stdout}");
    // Zero counts are left out.
    let counts = last.lines().nth(1).unwrap_or_default();
    assert!(counts.contains("workshops new "), "{stdout}");
    assert!(!counts.contains(" 0"), "zero counts folded: {stdout}");

    // The same run again changes nothing, and says so.
    let out = run(&ingest);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&run(&["status"]).stdout);
    assert!(
        studio_lines(&stdout).ends_with("; nothing changed"),
        "{stdout}"
    );
}

#[test]
fn status_and_trigger_without_a_uri_look_for_the_services_built_in_database() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    for args in [
        &["status"][..],
        &["trigger", "--studio", "dance_n_addiction"][..],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_nachna-ingest"))
            .args(args)
            .args(["--sources", "sources"])
            .env_remove("NACHNA_MONGODB_URI")
            .env_remove("NACHNA_CONFIG")
            .env("NACHNA_LOCAL_DB_PORT", port.to_string())
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "no MongoDB URI is configured and no built-in database listens on 127.0.0.1:{port} (mongodb.local_port): is the service (`nachna-ingest run`) running on this machine?"
            )),
            "{args:?}: {stderr}"
        );
    }
}
