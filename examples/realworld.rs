//! Dev tool: runs the generic extraction layers over the third-party pages in
//! `shared/realworld-events` (never copied into the repo) and prints each page's first
//! session. Does nothing when the folder is absent.
//!
//! ```text
//! cargo run --example realworld                # table of first sessions
//! cargo run --example realworld -- --lines 04  # visible lines of pages matching "04"
//! cargo run --example realworld -- --full 04   # every session and field of those pages
//! cargo run --example realworld -- --page STUDIO URL FILE   # one page with sources/ rules
//! ```

use nachna_ingest::artist::ArtistDirectory;
use nachna_ingest::extract::{extract_page, html, ExtractInput, PageVerdict};
use nachna_ingest::source::Source;
use std::path::PathBuf;

fn folder() -> Option<PathBuf> {
    let candidates = [
        std::env::var("REALWORLD_EVENTS").ok().map(PathBuf::from),
        Some(PathBuf::from("../shared/realworld-events")),
        Some(PathBuf::from("../../shared/realworld-events")),
        Some(PathBuf::from("/work/shared/realworld-events")),
    ];
    candidates.into_iter().flatten().find(|p| p.is_dir())
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
    let Some(dir) = folder() else {
        eprintln!("realworld-events folder not found; nothing to do");
        return;
    };
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read dir")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("html" | "json")
            )
        })
        .collect();
    files.sort();
    let filter = args.get(1).cloned().unwrap_or_default();
    let mode = args.first().map(String::as_str).unwrap_or("");
    let source = Source::generic("unknown", chrono_tz::Asia::Kolkata);
    let artists = ArtistDirectory::default();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
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
        match verdict {
            PageVerdict::NotAWorkshop { reason } => {
                println!("{name:<62} | not a workshop: {reason}")
            }
            PageVerdict::Workshops(ws) => {
                for w in &ws {
                    let first = w.draft.time_details.first();
                    let when = first
                        .map(|t| {
                            format!("{:04}-{:02}-{:02} {}", t.year, t.month, t.day, t.start_time)
                        })
                        .unwrap_or_default();
                    println!(
                        "{name:<62} | {when} | {} sessions | {}",
                        w.draft.time_details.len(),
                        w.title.as_deref().unwrap_or("-")
                    );
                    if mode == "--full" {
                        println!("{}", serde_json::to_string_pretty(&w.draft).unwrap());
                        for p in &w.provenance {
                            println!("    {:<14} {:?} {}", p.field, p.layer, p.detail);
                        }
                    }
                }
            }
        }
    }
}
