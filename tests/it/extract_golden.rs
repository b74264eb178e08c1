//! Golden tests: every saved event page with an `expected/<stem>.json` is extracted with
//! its studio's source file, run date 2026-06-01 and `fixtures/artists.json`, and the
//! drafts (sorted by uuid) must equal the hand-written golden documents.
//!
//! The page URL is the one `fixtures/manifest.toml` gives for the file. All mismatches
//! are reported together, each with a line diff.

use nachna_ingest::artist::{Artist, ArtistDirectory};
use nachna_ingest::extract::{extract_page, ExtractInput, PageVerdict};
use nachna_ingest::source::{load_dir, Source};
use serde::Deserialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use url::Url;

#[derive(Debug, Deserialize)]
struct Manifest {
    #[serde(default)]
    page: Vec<ManifestPage>,
}

#[derive(Debug, Deserialize)]
struct ManifestPage {
    url: String,
    file: String,
    #[serde(default)]
    content_type: Option<String>,
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn today() -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 6, 1).expect("valid date")
}

/// Page text decoded with the manifest's charset (UTF-8 when none is given).
fn decode(bytes: &[u8], content_type: Option<&str>) -> String {
    let label = content_type
        .and_then(|ct| {
            ct.split(';')
                .find_map(|p| p.trim().strip_prefix("charset="))
        })
        .map(|c| c.trim_matches('"').to_string());
    let encoding = label
        .and_then(|l| encoding_rs::Encoding::for_label(l.as_bytes()))
        .unwrap_or(encoding_rs::UTF_8);
    encoding.decode(bytes).0.into_owned()
}

struct Case {
    file: String,
    url: String,
    studio: String,
    html: String,
    expected: Value,
}

fn cases() -> Vec<Case> {
    let fixtures = root().join("fixtures");
    let text = std::fs::read_to_string(fixtures.join("manifest.toml"))
        .expect("fixtures/manifest.toml must exist");
    let manifest: Manifest = toml::from_str(&text).expect("manifest.toml parses");
    let mut out = Vec::new();
    for page in manifest.page {
        let path = Path::new(&page.file);
        let (Some(studio), Some(stem)) = (
            path.components()
                .next()
                .and_then(|c| c.as_os_str().to_str()),
            path.file_stem().and_then(|s| s.to_str()),
        ) else {
            continue;
        };
        if !page.file.ends_with(".html") && !page.file.ends_with(".htm") {
            continue;
        }
        let expected_path = fixtures
            .join(studio)
            .join("expected")
            .join(format!("{stem}.json"));
        if !expected_path.exists() {
            continue;
        }
        let expected: Value = serde_json::from_str(
            &std::fs::read_to_string(&expected_path).expect("golden readable"),
        )
        .unwrap_or_else(|e| panic!("{}: invalid JSON: {e}", expected_path.display()));
        let bytes = std::fs::read(fixtures.join(&page.file))
            .unwrap_or_else(|e| panic!("{}: {e}", page.file));
        out.push(Case {
            file: page.file.clone(),
            url: page.url.clone(),
            studio: studio.to_string(),
            html: decode(&bytes, page.content_type.as_deref()),
            expected,
        });
    }
    out
}

fn extract_case(case: &Case, sources: &[Source], artists: &ArtistDirectory) -> Value {
    let source = sources
        .iter()
        .find(|s| s.studio.id == case.studio)
        .unwrap_or_else(|| panic!("{}: no source for studio `{}`", case.file, case.studio));
    let url = Url::parse(&case.url).unwrap_or_else(|e| panic!("{}: bad URL: {e}", case.file));
    let verdict = extract_page(&ExtractInput {
        page_url: &url,
        html: &case.html,
        source,
        artists,
        today: today(),
    });
    let mut drafts = match verdict {
        PageVerdict::Workshops(w) => w.into_iter().map(|e| e.draft).collect::<Vec<_>>(),
        PageVerdict::NotAWorkshop { .. } => Vec::new(),
    };
    drafts.sort_by(|a, b| a.uuid.cmp(&b.uuid));
    serde_json::to_value(&drafts).expect("drafts serialise")
}

#[test]
fn every_fixture_page_matches_its_golden_documents() {
    let sources = load_dir(&root().join("sources")).unwrap_or_else(|e| panic!("{e}"));
    let artists: Vec<Artist> = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/artists.json")).expect("artists.json"),
    )
    .expect("artists.json parses");
    let artists = ArtistDirectory::new(artists);
    let cases = cases();
    assert!(!cases.is_empty(), "no fixture page has a golden file");
    eprintln!("{} golden pages checked", cases.len());
    let mut failures = Vec::new();
    for case in &cases {
        let actual = extract_case(case, &sources, &artists);
        if actual != case.expected {
            let expected = serde_json::to_string_pretty(&case.expected).expect("json");
            let actual = serde_json::to_string_pretty(&actual).expect("json");
            failures.push(format!(
                "── {} ({}) ──\n{}",
                case.file,
                case.url,
                pretty_assertions::StrComparison::new(&expected, &actual)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden pages differ (left: golden, right: extracted):\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn charset_from_content_type_is_honoured() {
    let latin1 = [b'C', b'a', b'f', 0xE9];
    assert_eq!(
        decode(&latin1, Some("text/html; charset=ISO-8859-1")),
        "Café"
    );
    assert_eq!(decode("Café".as_bytes(), None), "Café");
}
