//! Dev tool: runs the generic extraction layers (no source rules, run date 2026-06-01,
//! Asia/Kolkata) over the third-party pages in `../shared/realworld-events/` and
//! `../shared/realworld-events-2/` (never copied into the repo) and scores each page's
//! earliest session against `examples/realworld-expected.toml` (what a person read on
//! the page). Does nothing when the folders are absent.
//!
//! ```text
//! cargo run --example realworld                # per page: ok/MISS, and a score per set
//! cargo run --example realworld -- --lines 04  # visible lines of pages matching "04"
//! cargo run --example realworld -- --full 04   # every session and field of those pages
//! cargo run --example realworld -- --page STUDIO URL FILE   # one page with sources/ rules
//! ```

use nachna_ingest::artist::ArtistDirectory;
use nachna_ingest::extract::{extract_page, html, ExtractInput, Extracted, PageVerdict};
use nachna_ingest::source::Source;
use std::path::PathBuf;

/// The shared folder holding the third-party page sets (`REALWORLD_DIR` overrides).
fn shared_dir() -> Option<PathBuf> {
    let candidates = [
        std::env::var("REALWORLD_DIR").ok().map(PathBuf::from),
        Some(PathBuf::from("../shared")),
        Some(PathBuf::from("../../shared")),
        Some(PathBuf::from("/work/shared")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find(|p| p.join(SETS[0]).is_dir())
}

const SETS: [&str; 2] = ["realworld-events", "realworld-events-2"];

/// One line of `examples/realworld-expected.toml`.
#[derive(serde::Deserialize)]
struct Expected {
    set: String,
    file: String,
    first: String,
    #[serde(default)]
    note: String,
}

#[derive(serde::Deserialize)]
struct ExpectedFile {
    page: Vec<Expected>,
}

fn expectations() -> Vec<Expected> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/realworld-expected.toml");
    let text = std::fs::read_to_string(&path).expect("examples/realworld-expected.toml");
    toml::from_str::<ExpectedFile>(&text)
        .expect("realworld-expected.toml parses")
        .page
}

/// The earliest session over every draft, as `YYYY-MM-DD HH:MM AM` (or `TBA`).
fn earliest(ws: &[Extracted]) -> Option<String> {
    ws.iter()
        .flat_map(|w| w.draft.time_details.iter())
        .map(|t| {
            let date = format!("{:04}-{:02}-{:02}", t.year, t.month, t.day);
            let key = chrono::NaiveTime::parse_from_str(&t.start_time, "%I:%M %p").ok();
            (date, key.is_none(), key, t.start_time.clone())
        })
        .min()
        .map(|(date, _, _, start)| format!("{date} {start}"))
}

/// `--page STUDIO URL FILE`: one saved page through its studio's source, printed as JSON.
fn one_page(args: &[String]) {
    let [studio, url, file] = args else {
        eprintln!("usage: --page STUDIO URL FILE");
        return;
    };
    let sources =
        nachna_ingest::source::load_dir(std::path::Path::new("sources")).expect("sources");
    let source = sources
        .iter()
        .find(|s| &s.studio.id == studio)
        .expect("studio");
    let artists: Vec<nachna_ingest::artist::Artist> = serde_json::from_str(
        &std::fs::read_to_string("fixtures/artists.json").unwrap_or("[]".into()),
    )
    .expect("artists");
    let html = std::fs::read_to_string(file).expect("page");
    let url = url::Url::parse(url).expect("url");
    let verdict = extract_page(&ExtractInput {
        page_url: &url,
        html: &html,
        source,
        artists: &ArtistDirectory::new(artists),
        today: chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date"),
    });
    match verdict {
        PageVerdict::NotAWorkshop { reason } => {
            eprintln!("not a workshop: {reason}");
            println!("[]");
        }
        PageVerdict::Workshops(ws) => {
            let drafts: Vec<_> = ws.iter().map(|w| &w.draft).collect();
            println!("{}", serde_json::to_string(&drafts).unwrap());
            for w in &ws {
                for p in &w.provenance {
                    eprintln!("    {:<14} {:?} {}", p.field, p.layer, p.detail);
                }
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--page") {
        one_page(&args[1..]);
        return;
    }
    let Some(dir) = shared_dir() else {
        eprintln!("shared realworld-events folders not found; nothing to do");
        return;
    };
    let filter = args.get(1).cloned().unwrap_or_default();
    let mode = args.first().map(String::as_str).unwrap_or("");
    let expected = expectations();
    let source = Source::generic("unknown", chrono_tz::Asia::Kolkata);
    let artists = ArtistDirectory::default();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    for set in SETS {
        let mut files: Vec<PathBuf> = match std::fs::read_dir(dir.join(set)) {
            Ok(rd) => rd
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| {
                    matches!(
                        p.extension().and_then(|x| x.to_str()),
                        Some("html" | "json")
                    )
                })
                .collect(),
            Err(_) => continue,
        };
        files.sort();
        let (mut events, mut events_right, mut non_events, mut non_events_right) = (0, 0, 0, 0);
        let mut invented = Vec::new();
        println!("## {set}");
        for path in files {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if !filter.is_empty() && !name.starts_with(&filter) {
                continue;
            }
            let raw = std::fs::read_to_string(&path).expect("read page");
            // A bare JSON-LD block is wrapped the way a page carries it.
            let page = if name.ends_with(".json") {
                format!("<html><head><script type=\"application/ld+json\">{raw}</script></head><body></body></html>")
            } else {
                raw
            };
            if mode == "--lines" {
                let doc = scraper::Html::parse_document(&page);
                let t = html::visible_text(&doc, None);
                println!("=== {name}");
                for (i, l) in t.lines.iter().enumerate() {
                    println!("{i:4} h{} {}", l.heading, l.text);
                }
                continue;
            }
            let url = url::Url::parse(&format!(
                "https://realworld.invalid/{}",
                name.trim_end_matches(".html")
            ))
            .expect("url");
            let verdict = extract_page(&ExtractInput {
                page_url: &url,
                html: &page,
                source: &source,
                artists: &artists,
                today,
            });
            let ws = match &verdict {
                PageVerdict::NotAWorkshop { .. } => Vec::new(),
                PageVerdict::Workshops(ws) => ws.clone(),
            };
            let got = earliest(&ws).unwrap_or_else(|| "none".into());
            let want = expected.iter().find(|e| e.set == set && e.file == name);
            let verdict_mark = match want {
                None => "?",
                Some(e) if e.first == "none" => {
                    non_events += 1;
                    if ws.is_empty() {
                        non_events_right += 1;
                        "ok"
                    } else {
                        invented.push(name.clone());
                        "MISS"
                    }
                }
                Some(e) => {
                    events += 1;
                    if e.first == got {
                        events_right += 1;
                        "ok"
                    } else {
                        "MISS"
                    }
                }
            };
            println!(
                "{verdict_mark:<4} {name:<60} got {got:<20} want {:<20} {} draft(s){}",
                want.map_or("?", |e| e.first.as_str()),
                ws.len(),
                want.filter(|e| !e.note.is_empty() && verdict_mark != "ok")
                    .map_or(String::new(), |e| format!("  ({})", e.note))
            );
            if mode == "--full" {
                if let PageVerdict::NotAWorkshop { reason } = &verdict {
                    println!("    not a workshop: {reason}");
                }
                for w in &ws {
                    println!("{}", serde_json::to_string_pretty(&w.draft).unwrap());
                    for p in &w.provenance {
                        println!("    {:<14} {:?} {}", p.field, p.layer, p.detail);
                    }
                }
            }
        }
        if mode != "--lines" {
            println!(
                "{set}: event pages with the right first session date and start time: {events_right} of {events}; \
                 pages without an event that give nothing: {non_events_right} of {non_events}{}\n",
                if invented.is_empty() {
                    String::new()
                } else {
                    format!(" (invented: {})", invented.join(", "))
                }
            );
        }
    }
}
