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
        stdout.contains(&format!("{}:4: unknown field `mystery`", b.display())),
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
