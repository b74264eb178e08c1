//! Extraction that no page can use to stall or crash a run: off the async runtime,
//! under a per-page time budget, with a panic contained to its page.

use super::{budget, extract_page, ExtractInput, PageVerdict};
use crate::artist::ArtistDirectory;
use crate::source::Source;
use chrono::NaiveDate;
use std::time::{Duration, Instant};
use url::Url;

/// The per-page budget when the configuration names none (`ingest.extract_budget_ms`).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(2);

/// Why a page could not be extracted (a failed page; the run goes on).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractFailure {
    #[error("page over its time budget: extraction stopped after {spent_ms} ms (budget {budget_ms} ms, `ingest.extract_budget_ms`)")]
    OverBudget { budget_ms: u128, spent_ms: u128 },
    #[error("extraction crashed on this page: {0}")]
    Crashed(String),
}

/// [`extract_page`] under a time budget. Extraction checks the deadline in its loops
/// (parse, DOM walk, text rules, date scanning) and stops; a page over budget is an
/// error, never a partial result.
pub fn extract_page_bounded(
    input: &ExtractInput<'_>,
    budget: Duration,
) -> Result<PageVerdict, ExtractFailure> {
    let started = Instant::now();
    let (verdict, over) = budget::with_deadline(budget, || extract_page(input));
    if over {
        return Err(ExtractFailure::OverBudget {
            budget_ms: budget.as_millis(),
            spent_ms: started.elapsed().as_millis(),
        });
    }
    Ok(verdict)
}

/// One page and what extracting it needs, owned so it can move to a blocking thread.
/// `Source` and `ArtistDirectory` clone cheaply enough (the directory shares its index).
pub struct OwnedPage {
    pub page_url: Url,
    pub html: String,
    pub source: Source,
    pub artists: ArtistDirectory,
    pub today: NaiveDate,
}

/// [`extract_page_bounded`] on tokio's blocking pool, so a slow page never holds an
/// async worker (health checks, leases and other studios keep running). A panic is
/// that page's failure.
pub async fn extract_page_off_runtime(
    page: OwnedPage,
    budget: Duration,
) -> Result<PageVerdict, ExtractFailure> {
    let task = tokio::task::spawn_blocking(move || {
        extract_page_bounded(
            &ExtractInput {
                page_url: &page.page_url,
                html: &page.html,
                source: &page.source,
                artists: &page.artists,
                today: page.today,
            },
            budget,
        )
    });
    match task.await {
        Ok(result) => result,
        Err(err) => Err(ExtractFailure::Crashed(match err.try_into_panic() {
            Ok(panic) => panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "panic".into()),
            Err(err) => err.to_string(),
        })),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::artist::Artist;
    use proptest::prelude::*;

    /// The stack of a daemon studio task's thread is small; extraction must not need
    /// more, whatever the page.
    const SMALL_STACK: usize = 256 * 1024;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
    }

    fn directory() -> ArtistDirectory {
        ArtistDirectory::new(vec![Artist {
            artist_id: "vipuldevrani".into(),
            artist_name: "Vipul Devrani".into(),
            instagram_link: None,
        }])
    }

    /// Extracts `html` on a thread with a small stack, and drops the parsed page there
    /// too (a recursive drop would overflow as surely as a recursive walk).
    fn extract_small_stack(html: String, budget: Duration) -> Result<PageVerdict, ExtractFailure> {
        std::thread::Builder::new()
            .stack_size(SMALL_STACK)
            .spawn(move || {
                let url = Url::parse("https://x.test/event/e1").unwrap();
                let source = Source::generic("x", chrono_tz::Asia::Kolkata);
                let artists = directory();
                extract_page_bounded(
                    &ExtractInput {
                        page_url: &url,
                        html: &html,
                        source: &source,
                        artists: &artists,
                        today: today(),
                    },
                    budget,
                )
            })
            .unwrap()
            .join()
            .expect("extraction must not panic")
    }

    fn session_dates(v: &PageVerdict) -> Vec<String> {
        match v {
            PageVerdict::Workshops(w) => w
                .iter()
                .flat_map(|e| e.draft.sessions.iter().map(|s| s.date.to_string()))
                .collect(),
            PageVerdict::NotAWorkshop { .. } => Vec::new(),
        }
    }

    const GENEROUS: Duration = Duration::from_secs(120);

    #[test]
    fn table_nesting_8000_deep_is_read_on_a_small_stack() {
        let html = "<table><tr><td>".repeat(8000)
            + "<h1>Deep workshop</h1><p>21 June 2026, 7 PM by @vipuldevrani</p>";
        let v = extract_small_stack(html, GENEROUS).unwrap();
        assert_eq!(session_dates(&v), vec!["2026-06-21"]);
    }

    #[test]
    fn a_hundred_thousand_nested_inline_and_block_elements_do_not_abort() {
        for tag in ["b", "span", "div"] {
            let html = format!("<{tag}>").repeat(100_000) + "<p>21 June 2026, 7 PM</p>";
            match extract_small_stack(html, Duration::from_secs(2)) {
                // Read in time: the date deep inside is found.
                Ok(v) => assert_eq!(session_dates(&v), vec!["2026-06-21"], "<{tag}>"),
                // html5ever's tree builder is slow on some deep trees; over budget is a
                // failed page with its reason, not a crash.
                Err(e) => assert!(
                    matches!(
                        e,
                        ExtractFailure::OverBudget {
                            budget_ms: 2000,
                            ..
                        }
                    ),
                    "<{tag}>: {e}"
                ),
            }
        }
    }

    #[test]
    fn deep_nesting_inside_json_ld_does_not_abort() {
        let deep = "[".repeat(50_000) + &"]".repeat(50_000);
        let html = format!(
            r#"<script type="application/ld+json">{deep}</script><script type="application/ld+json">{{"@type":"Event","name":"N","startDate":"2026-06-21T19:00","x":{}}}</script>"#,
            "{\"a\":".repeat(5000) + "1" + &"}".repeat(5000)
        );
        let v = extract_small_stack(html, GENEROUS).unwrap();
        assert!(session_dates(&v).is_empty() || session_dates(&v) == vec!["2026-06-21"]);
    }

    #[test]
    fn a_page_over_its_budget_is_a_failure_with_the_reason() {
        let html = "<p>21 June 2026</p>".repeat(2000);
        let err = extract_small_stack(html, Duration::ZERO).unwrap_err();
        assert!(
            err.to_string().starts_with("page over its time budget"),
            "{err}"
        );
    }

    #[test]
    fn adjacent_inline_elements_do_not_glue_words() {
        let html = "<h1>Night class</h1><div><span>Thu 27 Aug 2026</span><span>8:00 – 9:30 PM</span></div>".to_string();
        let v = extract_small_stack(html, GENEROUS).unwrap();
        let PageVerdict::Workshops(w) = v else {
            panic!("a workshop")
        };
        let s = &w[0].draft.sessions[0];
        assert_eq!(s.date.to_string(), "2026-08-27");
        assert_eq!(s.start.to_string(), "20:00:00");
    }

    #[test]
    fn a_sidebar_named_wrapper_holding_the_page_is_read() {
        let html = r#"<body><div class="container right-sidebar"><h1>Heels workshop</h1><p>Sunday 21 June 2026, 4 PM</p><p>Fee ₹ 900</p></div><div class="sidebar">Other event 28 June 2026</div></body>"#.to_string();
        let v = extract_small_stack(html, GENEROUS).unwrap();
        assert_eq!(session_dates(&v), vec!["2026-06-21"]);
    }

    #[tokio::test]
    async fn off_runtime_extraction_returns_the_verdict() {
        let page = OwnedPage {
            page_url: Url::parse("https://x.test/event/e1").unwrap(),
            html: "<h1>W</h1><p>21 June 2026 7 PM</p>".into(),
            source: Source::generic("x", chrono_tz::Asia::Kolkata),
            artists: directory(),
            today: today(),
        };
        let v = extract_page_off_runtime(page, DEFAULT_BUDGET)
            .await
            .unwrap();
        assert_eq!(session_dates(&v), vec!["2026-06-21"]);
    }

    /// Pieces hostile pages are made of.
    fn hostile_page() -> impl Strategy<Value = String> {
        let nesting = (
            prop::sample::select(vec![
                "<table><tr><td>",
                "<b>",
                "<span>",
                "<div>",
                "<ul><li>",
                "<header>",
                "<div class=\"sidebar\">",
                "<p>",
                "<a href=\"x\">",
            ]),
            0usize..6000,
        )
            .prop_map(|(open, depth)| open.repeat(depth) + "21 June 2026 7 PM");
        let price_line = (
            1usize..40_000,
            prop::sample::select(vec!["₹ 1,", "1,", "Rs. 1 ", "1/- "]),
        )
            .prop_map(|(n, unit)| format!("<p>{}</p>", unit.repeat(n)));
        let digits = (1usize..60_000).prop_map(|n| {
            let s: String = (0..n).map(|i| char::from(b'0' + (i % 10) as u8)).collect();
            format!("<p>{s} June {s}:{s} PM – {s}</p>")
        });
        let binary = prop::collection::vec(any::<u8>(), 0..60_000)
            .prop_map(|b| String::from_utf8_lossy(&b).into_owned());
        let wide_table = (1usize..6_000).prop_map(|cells| {
            let mut t = String::from("<table><tr>");
            for i in 0..cells {
                t.push_str(&format!("<th>Reg end {i}</th>"));
            }
            t.push_str("</tr><tr>");
            for i in 0..cells {
                t.push_str(&format!("<td>{} June 2026 | ₹ {i}</td>", i % 28 + 1));
            }
            t + "</tr></table>"
        });
        let text = "\\PC{0,2000}";
        prop::collection::vec(
            prop_oneof![nesting, price_line, digits, binary, wide_table, text],
            1..4,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        // A fixed case budget: the suite runs in CI and must stay well under a minute.
        #![proptest_config(ProptestConfig {
            cases: 24,
            max_shrink_iters: 50,
            failure_persistence: None,
            ..ProptestConfig::default()
        })]

        #[test]
        fn no_page_panics_or_overflows_the_stack(html in hostile_page()) {
            // Ok or over budget, both fine; a panic or an abort fails the test.
            let _ = extract_small_stack(html, Duration::from_secs(2));
        }
    }
}
