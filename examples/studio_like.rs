//! Measurement: the shipped extraction, read as a new user would, on studio-like pages
//! nobody on the extractor wrote (issue 10's target, "at least 95% of fields right on
//! studio-like pages read with the shipped sources").
//!
//! Every page in `fixtures/studio-like/<studio_id>/` is extracted with that studio's
//! `sources/<studio_id>.toml` (its selectors, slug rule and zone), `fixtures/artists.json`,
//! run date 2026-06-01, and compared field by field with
//! `fixtures/studio-like/expected.toml`, which a person wrote from the pages before the
//! extractor was ever run on them (see the header of that file).
//!
//! ```text
//! cargo run --example studio_like              # one line per mismatch, then the score
//! cargo run --example studio_like -- --full    # also every draft as JSON
//! cargo run --example studio_like -- heels     # only pages whose file contains "heels"
//! cargo run --example studio_like -- --set holdout   # the held-out pages (holdout/)
//! ```
//!
//! What counts as a field: per page, the number of workshops (for a page that is not a
//! workshop the expected number is 0, and any draft there is an invented workshop); per
//! expected workshop `event_type`, `by`, `song`, `artist_id_list`, `pricing_info` and the
//! number of sessions; per expected session its `date`, `start_time` and `end_time`. A
//! workshop or session the extractor did not give counts all its fields as wrong.

use nachna_ingest::artist::{Artist, ArtistDirectory};
use nachna_ingest::extract::{extract_page, ExtractInput, PageVerdict};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The run date every expected value assumes.
const RUN_DATE: (i32, u32, u32) = (2026, 6, 1);

#[derive(Debug, Deserialize)]
struct ExpectedFile {
    page: Vec<PageSpec>,
}

#[derive(Debug, Deserialize)]
struct PageSpec {
    studio: String,
    file: String,
    url: String,
    #[serde(default)]
    none: bool,
    #[serde(default)]
    note: String,
    #[serde(default)]
    workshop: Vec<WantWorkshop>,
}

#[derive(Debug, Clone, Deserialize)]
struct WantWorkshop {
    event_type: String,
    by: String,
    /// `""` = the page names no song (stored as null).
    song: String,
    artist_id_list: Vec<String>,
    pricing_info: String,
    sessions: Vec<Session>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
struct Session {
    date: String,
    start: String,
    end: String,
}

/// What the extractor gave for one workshop, reduced to the compared fields.
#[derive(Debug, Clone)]
struct GotWorkshop {
    event_type: String,
    by: String,
    song: String,
    artist_id_list: Vec<String>,
    pricing_info: String,
    sessions: Vec<Session>,
}

impl GotWorkshop {
    /// Reads the fields from a draft as the store would write them (its JSON form), so
    /// the scorer depends on the app's field names, not on the extractor's types.
    fn from_json(doc: &Value) -> Self {
        let s = |k: &str| doc.get(k).and_then(Value::as_str).unwrap_or("").to_string();
        let mut artist_id_list: Vec<String> = doc
            .get("artist_id_list")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        artist_id_list.sort();
        let sessions = doc
            .get("time_details")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .map(|t| {
                        let n = |k: &str| t.get(k).and_then(Value::as_i64).unwrap_or(0);
                        let txt = |k: &str| t.get(k).and_then(Value::as_str).unwrap_or("");
                        Session {
                            date: format!("{:04}-{:02}-{:02}", n("year"), n("month"), n("day")),
                            start: txt("start_time").to_string(),
                            end: txt("end_time").to_string(),
                        }
                    })
                    .collect()
            })
            .unwrap_or_default();
        GotWorkshop {
            event_type: s("event_type"),
            by: s("by"),
            song: s("song"),
            artist_id_list,
            pricing_info: s("pricing_info"),
            sessions,
        }
    }
}

/// One compared field: right or wrong, with both values for the report.
#[derive(Debug, Clone, PartialEq)]
struct Check {
    field: &'static str,
    want: String,
    got: String,
}

impl Check {
    fn ok(&self) -> bool {
        self.want == self.got
    }
}

/// The fields in the order they are reported.
const FIELDS: [&str; 10] = [
    "workshops",
    "event_type",
    "by",
    "song",
    "artist_id_list",
    "pricing_info",
    "sessions",
    "date",
    "start_time",
    "end_time",
];

/// How alike an expected and an extracted workshop are, to pair them when a page gives
/// several: the song first (one workshop per song), then the artists, then the first date.
fn affinity(want: &WantWorkshop, got: &GotWorkshop) -> u32 {
    let mut a = 0;
    if !want.song.is_empty() && want.song.eq_ignore_ascii_case(&got.song) {
        a += 8;
    }
    if want.artist_id_list == got.artist_id_list {
        a += 4;
    }
    if want.sessions.first().map(|s| &s.date) == got.sessions.first().map(|s| &s.date) {
        a += 2;
    }
    if want.event_type == got.event_type {
        a += 1;
    }
    a
}

/// One pairing rule for `pair_sessions`: expected session, extracted session.
type SessionMatch = dyn Fn(&Session, &Session) -> bool;

/// Pairs expected sessions with extracted ones: same date and start first, then same
/// date, then what is left in order. Returns, per expected session, the index of its
/// partner if any.
fn pair_sessions(want: &[Session], got: &[Session]) -> Vec<Option<usize>> {
    let mut taken = vec![false; got.len()];
    let mut pairs = vec![None; want.len()];
    let passes: [&SessionMatch; 3] = [
        &|w, g| w.date == g.date && w.start == g.start,
        &|w, g| w.date == g.date,
        &|_, _| true,
    ];
    for pass in passes {
        for (i, w) in want.iter().enumerate() {
            if pairs[i].is_some() {
                continue;
            }
            if let Some(j) = (0..got.len()).find(|&j| !taken[j] && pass(w, &got[j])) {
                taken[j] = true;
                pairs[i] = Some(j);
            }
        }
    }
    pairs
}

/// Every field check of one page.
fn score_page(want: &[WantWorkshop], got: &[GotWorkshop]) -> Vec<Check> {
    let mut checks = vec![Check {
        field: "workshops",
        want: want.len().to_string(),
        got: got.len().to_string(),
    }];
    let mut taken = vec![false; got.len()];
    for w in want {
        let best = (0..got.len())
            .filter(|&j| !taken[j])
            .max_by_key(|&j| (affinity(w, &got[j]), std::cmp::Reverse(j)));
        let g = best.map(|j| {
            taken[j] = true;
            &got[j]
        });
        let missing = "(no workshop)".to_string();
        let text = |f: fn(&GotWorkshop) -> String| g.map(f).unwrap_or_else(|| missing.clone());
        let song = |s: &str| {
            if s.is_empty() {
                "null".to_string()
            } else {
                s.to_string()
            }
        };
        checks.push(Check {
            field: "event_type",
            want: w.event_type.clone(),
            got: text(|g| g.event_type.clone()),
        });
        checks.push(Check {
            field: "by",
            want: w.by.clone(),
            got: text(|g| g.by.clone()),
        });
        checks.push(Check {
            field: "song",
            want: song(&w.song),
            got: g.map(|g| song(&g.song)).unwrap_or_else(|| missing.clone()),
        });
        checks.push(Check {
            field: "artist_id_list",
            want: format!("{:?}", w.artist_id_list),
            got: text(|g| format!("{:?}", g.artist_id_list)),
        });
        checks.push(Check {
            field: "pricing_info",
            want: format!("{:?}", w.pricing_info),
            got: text(|g| format!("{:?}", g.pricing_info)),
        });
        checks.push(Check {
            field: "sessions",
            want: w.sessions.len().to_string(),
            got: text(|g| g.sessions.len().to_string()),
        });
        let got_sessions: &[Session] = g.map(|g| g.sessions.as_slice()).unwrap_or(&[]);
        let pairs = pair_sessions(&w.sessions, got_sessions);
        for (s, pair) in w.sessions.iter().zip(pairs) {
            let partner = pair.map(|j| &got_sessions[j]);
            let none = || "(no session)".to_string();
            checks.push(Check {
                field: "date",
                want: s.date.clone(),
                got: partner.map(|p| p.date.clone()).unwrap_or_else(none),
            });
            checks.push(Check {
                field: "start_time",
                want: format!("{} {}", s.date, s.start),
                got: partner
                    .map(|p| format!("{} {}", p.date, p.start))
                    .unwrap_or_else(none),
            });
            checks.push(Check {
                field: "end_time",
                want: format!("{} {:?}", s.date, s.end),
                got: partner
                    .map(|p| format!("{} {:?}", p.date, p.end))
                    .unwrap_or_else(none),
            });
        }
    }
    checks
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `fixtures/studio-like/`, or one of its held-out sets (`--set holdout`): each has its
/// own `expected.toml` and `<studio_id>/` folders.
fn set_dir(set: Option<&str>) -> PathBuf {
    let base = root().join("fixtures/studio-like");
    match set {
        Some(name) => base.join(name),
        None => base,
    }
}

fn load_expected(path: &Path) -> Vec<PageSpec> {
    let text =
        std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
    toml::from_str::<ExpectedFile>(&text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .page
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--full");
    let set = args
        .iter()
        .position(|a| a == "--set")
        .and_then(|i| args.get(i + 1))
        .cloned();
    let filter = args
        .iter()
        .enumerate()
        .find(|(i, a)| !a.starts_with("--") && (*i == 0 || args[i - 1] != "--set"))
        .map(|(_, a)| a.clone())
        .unwrap_or_default();
    let dir = set_dir(set.as_deref());
    let pages = load_expected(&dir.join("expected.toml"));
    let sources = nachna_ingest::source::load_dir(&root().join("sources"))
        .unwrap_or_else(|e| panic!("sources/: {e}"));
    let artists_path = root().join("fixtures/artists.json");
    let artists: Vec<Artist> = serde_json::from_str(
        &std::fs::read_to_string(&artists_path)
            .unwrap_or_else(|e| panic!("{}: {e}", artists_path.display())),
    )
    .unwrap_or_else(|e| panic!("{}: {e}", artists_path.display()));
    let artists = ArtistDirectory::new(artists);
    let today =
        chrono::NaiveDate::from_ymd_opt(RUN_DATE.0, RUN_DATE.1, RUN_DATE.2).expect("run date");

    let mut per_field: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    let mut per_studio: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut none_pages, mut invented) = (0, Vec::new());
    let mut pages_all_right = (0, 0);
    for spec in &pages {
        if !filter.is_empty() && !spec.file.contains(&filter) {
            continue;
        }
        let source = sources
            .iter()
            .find(|s| s.studio.id == spec.studio)
            .unwrap_or_else(|| panic!("{}: no sources/{}.toml", spec.file, spec.studio));
        let path = dir.join(&spec.file);
        let html = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("reading {}: {e}", path.display()));
        let url = url::Url::parse(&spec.url)
            .unwrap_or_else(|e| panic!("{}: url {}: {e}", spec.file, spec.url));
        let verdict = extract_page(&ExtractInput {
            page_url: &url,
            html: &html,
            source,
            artists: &artists,
            today,
        });
        let (drafts, reason) = match &verdict {
            PageVerdict::NotAWorkshop { reason } => (Vec::new(), Some(reason.to_string())),
            PageVerdict::Workshops(ws) => (
                ws.iter()
                    .map(|w| serde_json::to_value(&w.draft).expect("draft as JSON"))
                    .collect(),
                None,
            ),
        };
        let got: Vec<GotWorkshop> = drafts.iter().map(GotWorkshop::from_json).collect();
        if spec.none {
            none_pages += 1;
            if !got.is_empty() {
                invented.push(format!("{} ({} drafts)", spec.file, got.len()));
            }
        }
        let checks = score_page(&spec.workshop, &got);
        let mut page_ok = true;
        for c in &checks {
            let e = per_field.entry(c.field).or_default();
            let s = per_studio.entry(spec.studio.clone()).or_default();
            e.1 += 1;
            s.1 += 1;
            if c.ok() {
                e.0 += 1;
                s.0 += 1;
            } else {
                page_ok = false;
                println!(
                    "MISS {:<48} {:<14} want {}  got {}",
                    spec.file, c.field, c.want, c.got
                );
            }
        }
        pages_all_right.1 += 1;
        if page_ok {
            pages_all_right.0 += 1;
        }
        if full {
            println!("---- {} ({})", spec.file, spec.url);
            if !spec.note.is_empty() {
                println!("     note: {}", spec.note);
            }
            if let Some(r) = reason {
                println!("     not a workshop: {r}");
            }
            for d in &drafts {
                println!("{}", serde_json::to_string_pretty(d).expect("json"));
            }
        }
    }

    println!();
    println!("field            right / total");
    let (mut right, mut total) = (0, 0);
    for f in FIELDS {
        if let Some((r, t)) = per_field.get(f) {
            println!("{f:<16} {r:>5} / {t:<5} {:>5.1}%", pct(*r, *t));
            right += r;
            total += t;
        }
    }
    for (studio, (r, t)) in &per_studio {
        println!("studio {studio:<22} {r:>5} / {t:<5} {:>5.1}%", pct(*r, *t));
    }
    println!(
        "pages with every field right: {} of {}",
        pages_all_right.0, pages_all_right.1
    );
    println!(
        "invented workshops on pages that are not workshops: {} of {} pages{}",
        invented.len(),
        none_pages,
        if invented.is_empty() {
            String::new()
        } else {
            format!(" ({})", invented.join(", "))
        }
    );
    println!(
        "overall: {right} of {total} fields right ({:.1}%)",
        pct(right, total)
    );
}

fn pct(r: usize, t: usize) -> f64 {
    if t == 0 {
        100.0
    } else {
        100.0 * r as f64 / t as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(date: &str, start: &str, end: &str) -> Session {
        Session {
            date: date.into(),
            start: start.into(),
            end: end.into(),
        }
    }

    fn want() -> WantWorkshop {
        WantWorkshop {
            event_type: "workshop".into(),
            by: "Sneha Rao".into(),
            song: "".into(),
            artist_id_list: vec!["sneha.moves".into()],
            pricing_info: "Fee: ₹1000/-".into(),
            sessions: vec![
                session("2026-06-27", "05:30 PM", "07:30 PM"),
                session("2026-06-28", "05:30 PM", "07:30 PM"),
            ],
        }
    }

    fn got_from(w: &WantWorkshop) -> GotWorkshop {
        GotWorkshop {
            event_type: w.event_type.clone(),
            by: w.by.clone(),
            song: w.song.clone(),
            artist_id_list: w.artist_id_list.clone(),
            pricing_info: w.pricing_info.clone(),
            sessions: w.sessions.clone(),
        }
    }

    fn wrong(checks: &[Check]) -> Vec<&'static str> {
        checks.iter().filter(|c| !c.ok()).map(|c| c.field).collect()
    }

    #[test]
    fn an_identical_workshop_has_every_field_right() {
        let w = want();
        let checks = score_page(std::slice::from_ref(&w), &[got_from(&w)]);
        // 1 page count + 6 workshop fields + 3 per session.
        assert_eq!(checks.len(), 1 + 6 + 2 * 3);
        assert_eq!(wrong(&checks), Vec::<&str>::new());
    }

    #[test]
    fn a_wrong_start_time_and_price_are_each_one_miss() {
        let w = want();
        let mut g = got_from(&w);
        g.sessions[1].start = "12:00 AM".into();
        g.pricing_info = "₹1000".into();
        let checks = score_page(std::slice::from_ref(&w), &[g]);
        assert_eq!(wrong(&checks), vec!["pricing_info", "start_time"]);
    }

    #[test]
    fn a_missing_session_counts_its_three_fields_and_the_count() {
        let w = want();
        let mut g = got_from(&w);
        g.sessions.remove(0);
        let checks = score_page(std::slice::from_ref(&w), &[g]);
        // The remaining session pairs with its own date, not with the missing one's.
        assert_eq!(
            wrong(&checks),
            vec!["sessions", "date", "start_time", "end_time"]
        );
    }

    #[test]
    fn a_draft_on_a_page_that_is_not_a_workshop_is_a_miss() {
        let checks = score_page(&[], &[got_from(&want())]);
        assert_eq!(wrong(&checks), vec!["workshops"]);
        let checks = score_page(&[], &[]);
        assert_eq!(wrong(&checks), Vec::<&str>::new());
    }

    #[test]
    fn a_missing_workshop_counts_every_field_wrong() {
        let checks = score_page(&[want()], &[]);
        assert_eq!(checks.iter().filter(|c| !c.ok()).count(), checks.len());
    }

    #[test]
    fn two_songs_pair_by_song_whatever_the_order() {
        let mut a = want();
        a.song = "Kesariya".into();
        let mut b = want();
        b.song = "Ghoomar".into();
        b.sessions[0].start = "08:00 PM".into();
        let checks = score_page(&[a.clone(), b.clone()], &[got_from(&b), got_from(&a)]);
        assert_eq!(wrong(&checks), Vec::<&str>::new());
    }

    #[test]
    fn the_expected_files_parse_and_name_existing_pages() {
        let sources = nachna_ingest::source::load_dir(&root().join("sources")).expect("sources");
        let mut sets = vec![(set_dir(None), 24)];
        if set_dir(Some("holdout")).is_dir() {
            sets.push((set_dir(Some("holdout")), 12));
        }
        if set_dir(Some("blind2")).is_dir() {
            sets.push((set_dir(Some("blind2")), 12));
        }
        for (dir, count) in sets {
            let pages = load_expected(&dir.join("expected.toml"));
            assert_eq!(pages.len(), count, "{}", dir.display());
            check_pages(&dir, &pages, &sources);
        }
    }

    fn check_pages(dir: &Path, pages: &[PageSpec], sources: &[nachna_ingest::source::Source]) {
        for p in pages {
            assert!(dir.join(&p.file).is_file(), "{} is missing", p.file);
            assert_eq!(p.none, p.workshop.is_empty(), "{}", p.file);
            let source = sources.iter().find(|s| s.studio.id == p.studio);
            // The shipped crawl must reach the page for the measurement to mean anything.
            assert!(
                source.is_some_and(|s| s.crawl.follow.is_match(&p.url)),
                "{}: {} is not followed by sources/{}.toml",
                p.file,
                p.url,
                p.studio
            );
        }
    }
}
