//! robots.txt: what the answer for `/robots.txt` means, and a per-origin cache.
//!
//! The rules follow RFC 9309 and what Google documents:
//! - 2xx: the file is parsed (texting_robots) for our product token, falling back to the
//!   `*` group; a file that cannot be parsed allows everything.
//! - 4xx other than 429 ("unavailable"): no rules, everything is allowed.
//! - 429, 5xx, timeouts and unreachable hosts ("unreachable", after the normal retries):
//!   everything is disallowed, and pages on that origin fail with
//!   [`FetchError::RobotsUnreachable`](super::FetchError::RobotsUnreachable).
//! - a robots.txt redirect that cannot be followed (too many hops, a loop, a host not in
//!   the source's allowed hosts): treated as unavailable, everything allowed, as Google
//!   does after five hops.
//!
//! Only the first 500 KiB are read (Google's limit); the rest is ignored. A decision is
//! cached per origin (`scheme://host:port`) for the life of the `Fetcher`, at most
//! [`CACHE_TTL`], so one run asks each host once. `Crawl-delay` for our agent raises the
//! host's minimum delay (capped at [`MAX_CRAWL_DELAY`]).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use texting_robots::Robot;
use tokio::sync::OnceCell;
use tokio::time::Instant;
use url::Url;

/// How much of a robots.txt is read.
pub const MAX_ROBOTS_BYTES: usize = 500 * 1024;
/// How long a robots.txt decision is reused (RFC 9309 asks for at most 24 hours).
pub const CACHE_TTL: Duration = Duration::from_secs(24 * 60 * 60);
/// The largest `Crawl-delay` honoured.
pub const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

/// What robots.txt says for one origin.
#[derive(Debug)]
pub enum RobotsRules {
    /// No usable robots.txt: everything may be fetched.
    AllowAll,
    /// robots.txt was unreachable: nothing may be fetched. `cause` says why.
    DisallowAll { cause: String },
    /// The parsed file, for our agent.
    Parsed(Box<Robot>),
}

/// How the robots.txt request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RobotsAnswer<'a> {
    /// A status with its body (only read for 2xx).
    Status(u16, &'a [u8]),
    /// A redirect that was not followed.
    BadRedirect,
    /// No answer (timeout, connect error, connection dropped), after retries.
    Unreachable(String),
}

impl RobotsRules {
    /// Interprets a robots.txt answer for `agent` (our product token).
    pub fn from_answer(agent: &str, answer: RobotsAnswer<'_>) -> RobotsRules {
        match answer {
            RobotsAnswer::Status(status, body) if (200..300).contains(&status) => {
                match Robot::new(agent, body) {
                    Ok(robot) => RobotsRules::Parsed(Box::new(robot)),
                    Err(_) => RobotsRules::AllowAll,
                }
            }
            RobotsAnswer::Status(429, _) => RobotsRules::DisallowAll {
                cause: "HTTP 429".into(),
            },
            RobotsAnswer::Status(status, _) if status >= 500 => RobotsRules::DisallowAll {
                cause: format!("HTTP {status}"),
            },
            RobotsAnswer::Status(_, _) | RobotsAnswer::BadRedirect => RobotsRules::AllowAll,
            RobotsAnswer::Unreachable(cause) => RobotsRules::DisallowAll { cause },
        }
    }

    pub fn allowed(&self, url: &Url) -> bool {
        match self {
            RobotsRules::AllowAll => true,
            RobotsRules::DisallowAll { .. } => false,
            RobotsRules::Parsed(robot) => robot.allowed(url.as_str()),
        }
    }

    /// `Crawl-delay` for our agent, capped.
    pub fn crawl_delay(&self) -> Option<Duration> {
        match self {
            RobotsRules::Parsed(robot) => robot
                .delay
                .filter(|d| d.is_finite() && *d > 0.0)
                .map(|d| Duration::from_secs_f32(d.min(MAX_CRAWL_DELAY.as_secs_f32()))),
            _ => None,
        }
    }
}

/// The product token robots.txt groups are matched against: the user agent up to its
/// first `/` or space (`nachna-ingest/0.1.0 (+…)` → `nachna-ingest`).
pub fn product_token(user_agent: &str) -> &str {
    user_agent
        .split(['/', ' '])
        .next()
        .filter(|t| !t.is_empty())
        .unwrap_or(user_agent)
}

/// The robots.txt URL for the origin of `url`.
pub fn robots_url(url: &Url) -> Url {
    let mut robots = url.clone();
    robots.set_path("/robots.txt");
    robots.set_query(None);
    robots.set_fragment(None);
    let _ = robots.set_username("");
    let _ = robots.set_password(None);
    robots
}

type Cell = Arc<OnceCell<(Instant, Arc<RobotsRules>)>>;

/// robots.txt decisions per origin; concurrent lookups of one origin share one fetch.
#[derive(Debug, Default)]
pub struct RobotsCache {
    cells: Mutex<HashMap<String, Cell>>,
}

impl RobotsCache {
    /// The rules for `url`'s origin, calling `fetch` (with the robots.txt URL) at most
    /// once per origin per [`CACHE_TTL`].
    pub async fn rules<F, Fut>(&self, url: &Url, fetch: F) -> Arc<RobotsRules>
    where
        F: FnOnce(Url) -> Fut,
        Fut: std::future::Future<Output = RobotsRules>,
    {
        let key = url.origin().ascii_serialization();
        let cell = {
            let mut cells = self.cells.lock().expect("robots cache lock");
            let cell = cells.entry(key).or_default();
            if cell.get().is_some_and(|(at, _)| at.elapsed() > CACHE_TTL) {
                *cell = Cell::default();
            }
            cell.clone()
        };
        let (_, rules) = cell
            .get_or_init(|| async { (Instant::now(), Arc::new(fetch(robots_url(url)).await)) })
            .await;
        rules.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AGENT: &str = "nachna-ingest";

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn product_token_is_the_ua_name() {
        assert_eq!(
            product_token("nachna-ingest/0.1.0 (+https://x)"),
            "nachna-ingest"
        );
        assert_eq!(product_token("plainbot"), "plainbot");
    }

    #[test]
    fn robots_url_is_at_the_origin_root() {
        assert_eq!(
            robots_url(&url("https://u:p@a.example:8443/x/y?q=1#f")).as_str(),
            "https://a.example:8443/robots.txt"
        );
    }

    #[test]
    fn parsed_rules_match_our_group_before_the_star_group() {
        let body = b"User-agent: *\nDisallow: /\n\nUser-agent: nachna-ingest\nDisallow: /private\nCrawl-delay: 2\n";
        let rules = RobotsRules::from_answer(AGENT, RobotsAnswer::Status(200, body));
        assert!(rules.allowed(&url("https://a.example/events")));
        assert!(!rules.allowed(&url("https://a.example/private/x")));
        assert_eq!(rules.crawl_delay(), Some(Duration::from_secs(2)));
    }

    #[test]
    fn crawl_delay_is_capped() {
        let body = b"User-agent: *\nCrawl-delay: 86400\n";
        let rules = RobotsRules::from_answer(AGENT, RobotsAnswer::Status(200, body));
        assert_eq!(rules.crawl_delay(), Some(MAX_CRAWL_DELAY));
    }

    #[test]
    fn client_errors_allow_everything() {
        for status in [400, 401, 403, 404, 410] {
            let rules = RobotsRules::from_answer(AGENT, RobotsAnswer::Status(status, b""));
            assert!(rules.allowed(&url("https://a.example/x")), "{status}");
        }
        let rules = RobotsRules::from_answer(AGENT, RobotsAnswer::BadRedirect);
        assert!(rules.allowed(&url("https://a.example/x")));
    }

    #[test]
    fn server_errors_429_and_unreachable_disallow_everything() {
        for status in [429, 500, 503] {
            let rules = RobotsRules::from_answer(AGENT, RobotsAnswer::Status(status, b""));
            assert!(!rules.allowed(&url("https://a.example/x")), "{status}");
        }
        let rules = RobotsRules::from_answer(AGENT, RobotsAnswer::Unreachable("timeout".into()));
        assert!(!rules.allowed(&url("https://a.example/x")));
    }

    #[tokio::test]
    async fn cache_fetches_each_origin_once() {
        let cache = RobotsCache::default();
        let calls = std::sync::atomic::AtomicUsize::new(0);
        for page in [
            "https://a.example/1",
            "https://a.example/2",
            "https://b.example/1",
        ] {
            let rules = cache
                .rules(&url(page), |robots| {
                    calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    assert!(robots.as_str().ends_with("/robots.txt"));
                    async { RobotsRules::AllowAll }
                })
                .await;
            assert!(rules.allowed(&url(page)));
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }
}
