//! Extraction throughput over the saved fixture event pages.
//!
//! * `extraction/bytes` and `extraction/pages`: `extract_page` (every layer plus
//!   normalisation into `WorkshopDraft`s) over all event pages, as MB/s and pages/s;
//! * `parse_only/bytes`: `scraper::Html::parse_document` alone on the same pages, the
//!   floor extraction cannot go below.
//!
//! Event pages are the manifest's pages (or, without a manifest, every
//! `fixtures/<studio>/*.html`) except listings.
//!
//! ```text
//! cargo bench --bench extraction -- --quick
//! ```

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use nachna_ingest::artist::{Artist, ArtistDirectory};
use nachna_ingest::extract::{extract_page, ExtractInput, PageVerdict};
use nachna_ingest::source::{load_dir, Source};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use url::Url;

#[derive(Deserialize)]
struct Manifest {
    #[serde(default)]
    page: Vec<ManifestPage>,
}

#[derive(Deserialize)]
struct ManifestPage {
    url: String,
    file: String,
}

struct Page {
    studio: String,
    url: Url,
    html: String,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn is_listing(file: &str) -> bool {
    Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| s.starts_with("listing"))
}

fn pages() -> Vec<Page> {
    let fixtures = root().join("fixtures");
    let mut entries: Vec<(String, String)> = Vec::new();
    if let Ok(text) = std::fs::read_to_string(fixtures.join("manifest.toml")) {
        let m: Manifest = toml::from_str(&text).expect("manifest.toml parses");
        entries.extend(m.page.into_iter().map(|p| (p.file, p.url)));
    } else if let Ok(dirs) = std::fs::read_dir(&fixtures) {
        for d in dirs.flatten().filter(|d| d.path().is_dir()) {
            let studio = d.file_name().to_string_lossy().to_string();
            for f in std::fs::read_dir(d.path()).into_iter().flatten().flatten() {
                let name = f.file_name().to_string_lossy().to_string();
                if name.ends_with(".html") {
                    entries.push((
                        format!("{studio}/{name}"),
                        format!("https://fixture.invalid/{studio}/{name}"),
                    ));
                }
            }
        }
    }
    entries.sort();
    entries
        .into_iter()
        .filter(|(file, _)| file.ends_with(".html") && !is_listing(file))
        .filter_map(|(file, url)| {
            let html = std::fs::read(fixtures.join(&file)).ok()?;
            Some(Page {
                studio: file.split('/').next()?.to_string(),
                url: Url::parse(&url).ok()?,
                html: String::from_utf8_lossy(&html).into_owned(),
            })
        })
        .collect()
}

fn extract_all(pages: &[Page], sources: &[Source], artists: &ArtistDirectory) -> usize {
    let today = chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("date");
    let generic = Source::generic("unknown", chrono_tz::Asia::Kolkata);
    let mut workshops = 0;
    for p in pages {
        let source = sources
            .iter()
            .find(|s| s.studio.id == p.studio)
            .unwrap_or(&generic);
        let verdict = extract_page(&ExtractInput {
            page_url: &p.url,
            html: &p.html,
            source,
            artists,
            today,
        });
        if let PageVerdict::Workshops(w) = black_box(verdict) {
            workshops += w.len();
        }
    }
    workshops
}

fn bench(c: &mut Criterion) {
    let pages = pages();
    if pages.is_empty() {
        eprintln!("no fixture pages found; nothing to measure");
        return;
    }
    let sources = load_dir(&root().join("sources")).unwrap_or_default();
    let artists: Vec<Artist> = std::fs::read_to_string(root().join("fixtures/artists.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    let artists = ArtistDirectory::new(artists);
    let bytes: u64 = pages.iter().map(|p| p.html.len() as u64).sum();
    eprintln!(
        "{} event pages, {} bytes, {} workshops per pass",
        pages.len(),
        bytes,
        extract_all(&pages, &sources, &artists)
    );

    let mut g = c.benchmark_group("extraction");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("bytes", |b| {
        b.iter(|| extract_all(&pages, &sources, &artists))
    });
    g.throughput(Throughput::Elements(pages.len() as u64));
    g.bench_function("pages", |b| {
        b.iter(|| extract_all(&pages, &sources, &artists))
    });
    g.finish();

    let mut g = c.benchmark_group("parse_only");
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("bytes", |b| {
        b.iter(|| {
            for p in &pages {
                black_box(scraper::Html::parse_document(black_box(&p.html)));
            }
        })
    });
    g.throughput(Throughput::Elements(pages.len() as u64));
    g.bench_function("pages", |b| {
        b.iter(|| {
            for p in &pages {
                black_box(scraper::Html::parse_document(black_box(&p.html)));
            }
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
