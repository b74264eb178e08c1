//! Polite HTTP fetching: one [`Fetcher`] shared by every studio.
//!
//! A fetch goes: scheme and allowed-host check → robots.txt (cached per origin, when the
//! source obeys it) → attempts, each through the host's politeness gate, with redirects
//! followed by hand (scheme, host and robots checked at every hop, loops detected) →
//! size cap while reading → charset decoding. Failed attempts are retried as
//! [`retry`] decides. [`Fetcher::replay`] answers from saved files instead, with the same
//! checks but no network and no delays.
//!
//! | file | what |
//! |---|---|
//! | `error.rs` | [`FetchError`] and its `kind()` labels |
//! | `client.rs` | the reqwest client, one attempt, redirects, body cap |
//! | `retry.rs` | whether and when to try again; `Retry-After` |
//! | `politeness.rs` | per-host delay and concurrency registry |
//! | `robots.rs` | robots.txt meaning and cache |
//! | `charset.rs` | bytes → text |
//! | `replay.rs` | the `fixtures/manifest.toml` replay |

mod charset;
mod client;
mod error;
mod politeness;
mod replay;
pub mod retry;
mod robots;

pub use charset::{decode, Decoded};
pub use error::{BodySize, FetchError};
pub use politeness::{HostPolicy, Politeness};
pub use robots::{RobotsAnswer, RobotsRules};

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;
use tracing::Instrument;
use url::Url;

/// Where site owners can find out who we are; part of the default user agent.
pub const CONTACT_URL: &str = "https://github.com/nachna/nachna-ingest";

/// Client-wide settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchSettings {
    pub user_agent: String,
    pub connect_timeout: Duration,
    /// Whole request, body included, per attempt (and per redirect hop).
    pub request_timeout: Duration,
    pub max_redirects: usize,
    pub max_body_bytes: usize,
    /// Attempts per page, the first included.
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}

impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            user_agent: FetchSettings::user_agent_with_contact(CONTACT_URL),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_redirects: 5,
            max_body_bytes: 5 * 1024 * 1024,
            max_attempts: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
        }
    }
}

impl FetchSettings {
    /// `nachna-ingest/<version> (+<contact>)`.
    pub fn user_agent_with_contact(contact: &str) -> String {
        format!("nachna-ingest/{} (+{contact})", env!("CARGO_PKG_VERSION"))
    }

    fn retry_policy(&self) -> retry::RetryPolicy {
        retry::RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            base: self.backoff_base,
            max: self.backoff_max,
        }
    }
}

/// Cache validators from a previous fetch, sent back as a conditional GET.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// One page to fetch, with its source's crawl rules.
#[derive(Debug, Clone)]
pub struct PageRequest<'a> {
    pub url: &'a Url,
    pub validators: Option<&'a Validators>,
    pub policy: HostPolicy,
    pub obey_robots: bool,
    /// Lower-case host names that may be requested (redirect targets included).
    pub allowed_hosts: &'a BTreeSet<String>,
}

impl<'a> PageRequest<'a> {
    /// A request using a source's `[crawl]` rules.
    pub fn for_crawl(url: &'a Url, crawl: &'a crate::source::Crawl) -> PageRequest<'a> {
        PageRequest {
            url,
            validators: None,
            policy: HostPolicy {
                min_delay: crawl.host_delay,
                concurrency: crawl.host_concurrency,
            },
            obey_robots: crawl.obey_robots,
            allowed_hosts: &crawl.allowed_hosts,
        }
    }

    pub fn with_validators(mut self, validators: Option<&'a Validators>) -> PageRequest<'a> {
        self.validators = validators;
        self
    }
}

/// The result of a successful fetch.
// One value per fetch, moved once: boxing the page would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum FetchOutcome {
    /// 304: the page is unchanged since the validators were issued.
    NotModified {
        url: Url,
    },
    Fetched(FetchedPage),
}

/// A fetched, decoded page.
#[derive(Debug, Clone)]
pub struct FetchedPage {
    pub requested_url: Url,
    /// After redirects.
    pub final_url: Url,
    pub status: u16,
    pub text: String,
    /// SHA-256 (lower-case hex) of the body bytes as received (after content-encoding
    /// such as gzip is undone, before charset decoding).
    pub body_sha256: String,
    pub validators: Validators,
    pub content_type: Option<String>,
    /// Body length in bytes.
    pub bytes: usize,
    pub attempts: u32,
    /// From the call to `fetch` to the decoded text, robots.txt and retries included.
    pub elapsed: Duration,
    /// The encoding the text was decoded from (WHATWG name).
    pub charset: &'static str,
    /// Some bytes were invalid for that encoding and became U+FFFD.
    pub decode_had_errors: bool,
}

/// The HTTP fetcher. Cheap to clone; all clones share one client, one politeness
/// registry and one robots.txt cache.
#[derive(Clone)]
pub struct Fetcher {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mode = match &self.inner.mode {
            Mode::Live(_) => "live",
            Mode::Replay(_) => "replay",
        };
        f.debug_struct("Fetcher")
            .field("mode", &mode)
            .field("settings", &self.inner.settings)
            .finish()
    }
}

struct Inner {
    settings: FetchSettings,
    mode: Mode,
    politeness: Politeness,
    robots: robots::RobotsCache,
    robots_agent: String,
}

enum Mode {
    Live(reqwest::Client),
    Replay(replay::Replay),
}

impl Fetcher {
    /// A fetcher that talks to the network.
    pub fn new(settings: FetchSettings) -> Result<Fetcher, FetchError> {
        let client = client::build(&settings)?;
        Ok(Fetcher::with_mode(settings, Mode::Live(client)))
    }

    /// A fetcher that answers from `<dir>/manifest.toml` and the files it names, with no
    /// network at all and no politeness delays. Allowed hosts, robots.txt (when listed in
    /// the manifest) and the size cap still apply; an unlisted URL is an HTTP 404.
    pub fn replay(dir: &Path) -> Result<Fetcher, FetchError> {
        Fetcher::replay_with(dir, FetchSettings::default())
    }

    /// [`Fetcher::replay`] with explicit settings (for the size cap).
    pub fn replay_with(dir: &Path, settings: FetchSettings) -> Result<Fetcher, FetchError> {
        let replay = replay::Replay::load(dir)?;
        Ok(Fetcher::with_mode(settings, Mode::Replay(replay)))
    }

    fn with_mode(settings: FetchSettings, mode: Mode) -> Fetcher {
        let robots_agent = robots::product_token(&settings.user_agent).to_string();
        Fetcher {
            inner: Arc::new(Inner {
                settings,
                mode,
                politeness: Politeness::new(),
                robots: robots::RobotsCache::default(),
                robots_agent,
            }),
        }
    }

    pub fn settings(&self) -> &FetchSettings {
        &self.inner.settings
    }

    pub fn is_replay(&self) -> bool {
        matches!(self.inner.mode, Mode::Replay(_))
    }

    /// The politeness policy in force for `host` (after merging sources' policies).
    pub fn host_policy(&self, host: &str) -> Option<HostPolicy> {
        self.inner.politeness.policy(host)
    }

    /// Fetches one page. See the module docs for the steps.
    pub async fn fetch(&self, req: &PageRequest<'_>) -> Result<FetchOutcome, FetchError> {
        let span = tracing::info_span!("fetch", url = %req.url);
        async {
            let started = tokio::time::Instant::now();
            check_target(req.url, req.allowed_hosts)?;
            let result = match &self.inner.mode {
                Mode::Live(client) => self.inner.fetch_live(client, req, started).await,
                Mode::Replay(replay) => self.inner.fetch_replay(replay, req, started).await,
            };
            match &result {
                Ok(FetchOutcome::Fetched(page)) => tracing::debug!(
                    status = page.status,
                    bytes = page.bytes,
                    attempts = page.attempts,
                    final_url = %page.final_url,
                    "fetched"
                ),
                Ok(FetchOutcome::NotModified { .. }) => tracing::debug!("not modified"),
                Err(err) => tracing::debug!(error_type = err.kind(), error = %err, "fetch failed"),
            }
            result
        }
        .instrument(span)
        .await
    }
}

/// Scheme and allowed-host check for a URL about to be requested. Returns the host.
fn check_target<'u>(url: &'u Url, allowed: &BTreeSet<String>) -> Result<&'u str, FetchError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(FetchError::UnsupportedScheme {
            url: url.to_string(),
            scheme: url.scheme().to_string(),
        });
    }
    let host = url.host_str().unwrap_or("");
    if host.is_empty() || !allowed.contains(&host.to_ascii_lowercase()) {
        return Err(FetchError::HostNotAllowed {
            url: url.to_string(),
            host: host.to_string(),
            allowed: allowed_list(allowed),
        });
    }
    Ok(host)
}

fn allowed_list(allowed: &BTreeSet<String>) -> String {
    allowed
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ")
}

/// A final (non-redirect) response, body read when it was a success.
#[derive(Debug)]
struct RawResponse {
    final_url: Url,
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl RawResponse {
    fn header(&self, name: reqwest::header::HeaderName) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    }

    /// Decodes the body into the page.
    fn into_page(
        self,
        requested_url: &Url,
        attempts: u32,
        elapsed: Duration,
    ) -> Result<FetchedPage, FetchError> {
        use reqwest::header::{CONTENT_TYPE, ETAG, LAST_MODIFIED};
        use sha2::Digest;
        let content_type = self.header(CONTENT_TYPE);
        let validators = Validators {
            etag: self.header(ETAG),
            last_modified: self.header(LAST_MODIFIED),
        };
        let decoded = charset::decode(&self.body, content_type.as_deref()).map_err(|reason| {
            FetchError::Decode {
                url: self.final_url.to_string(),
                reason,
            }
        })?;
        if decoded.had_errors {
            tracing::debug!(charset = decoded.encoding.name(), "invalid bytes replaced");
        }
        Ok(FetchedPage {
            requested_url: requested_url.clone(),
            final_url: self.final_url,
            status: self.status,
            text: decoded.text,
            body_sha256: hex::encode(sha2::Sha256::digest(&self.body)),
            validators,
            content_type,
            bytes: self.body.len(),
            attempts,
            elapsed,
            charset: decoded.encoding.name(),
            decode_had_errors: decoded.had_errors,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(list: &[&str]) -> BTreeSet<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn default_settings() {
        let s = FetchSettings::default();
        assert_eq!(
            s.user_agent,
            format!(
                "nachna-ingest/{} (+https://github.com/nachna/nachna-ingest)",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert_eq!(s.connect_timeout, Duration::from_secs(10));
        assert_eq!(s.request_timeout, Duration::from_secs(30));
        assert_eq!(s.max_redirects, 5);
        assert_eq!(s.max_body_bytes, 5 * 1024 * 1024);
        assert_eq!(s.max_attempts, 4);
        assert_eq!(s.backoff_base, Duration::from_millis(500));
        assert_eq!(s.backoff_max, Duration::from_secs(30));
    }

    #[test]
    fn check_target_refuses_other_schemes_and_hosts() {
        let allowed = hosts(&["a.example", "b.example"]);
        let ok = Url::parse("https://A.example/x").unwrap();
        assert_eq!(check_target(&ok, &allowed).unwrap(), "a.example");
        let ftp = Url::parse("ftp://a.example/x").unwrap();
        assert_eq!(check_target(&ftp, &allowed).unwrap_err().kind(), "scheme");
        let other = Url::parse("https://c.example/x").unwrap();
        let err = check_target(&other, &allowed).unwrap_err();
        assert_eq!(err.kind(), "not_allowed");
        assert!(err.to_string().contains("[a.example, b.example]"), "{err}");
    }

    #[test]
    fn fetch_future_is_send_and_fetcher_is_shareable() {
        fn assert_send<T: Send>(_: &T) {}
        fn assert_sync<T: Send + Sync + Clone>() {}
        assert_sync::<Fetcher>();
        let fetcher = Fetcher::new(FetchSettings::default()).unwrap();
        let url = Url::parse("https://a.example/").unwrap();
        let allowed = hosts(&["a.example"]);
        let req = PageRequest {
            url: &url,
            validators: None,
            policy: HostPolicy::default(),
            obey_robots: true,
            allowed_hosts: &allowed,
        };
        let fut = fetcher.fetch(&req);
        assert_send(&fut);
        drop(fut);
    }

    #[test]
    fn validators_round_trip_through_serde() {
        let v = Validators {
            etag: Some("\"abc\"".into()),
            last_modified: None,
        };
        let json = serde_json::to_string(&v).unwrap();
        assert_eq!(json, r#"{"etag":"\"abc\"","last_modified":null}"#);
        assert_eq!(serde_json::from_str::<Validators>(&json).unwrap(), v);
        assert!(Validators::default().is_empty());
    }
}
