//! Live fetching: the reqwest client, the retry loop, one attempt with hand-followed
//! redirects, the body cap, and robots.txt fetching.
//!
//! Redirects are not left to reqwest (`Policy::none()`): every hop is checked for scheme,
//! allowed host, loops and robots.txt before it is requested, and goes through the
//! host's politeness gate like any other request.

use super::error::BodySize;
use super::retry::{self, Decision};
use super::robots::{self, RobotsAnswer, RobotsRules};
use super::{
    allowed_list, FetchError, FetchOutcome, FetchSettings, HostPolicy, Inner, PageRequest,
    RawResponse, Validators,
};
use reqwest::header::{IF_MODIFIED_SINCE, IF_NONE_MATCH, LOCATION, RETRY_AFTER};
use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime};
use tokio::time::Instant;
use url::Url;

/// Builds the one client every fetch shares.
pub(super) fn build(settings: &FetchSettings) -> Result<reqwest::Client, FetchError> {
    reqwest::Client::builder()
        .use_rustls_tls()
        .user_agent(settings.user_agent.clone())
        .connect_timeout(settings.connect_timeout)
        .timeout(settings.request_timeout)
        .redirect(reqwest::redirect::Policy::none())
        .gzip(true)
        .build()
        .map_err(|source| FetchError::Client { source })
}

/// How one logical request (a page, or a robots.txt) is made.
struct Plan<'a> {
    validators: Option<&'a Validators>,
    policy: HostPolicy,
    allowed: &'a BTreeSet<String>,
    /// Check robots.txt for every redirect target.
    robots_on_hops: bool,
    body_limit: usize,
    /// Over the limit: keep the first `body_limit` bytes instead of failing.
    truncate: bool,
}

type RobotsCheck<'a> =
    Pin<Box<dyn Future<Output = Result<Option<Duration>, FetchError>> + Send + 'a>>;

impl Inner {
    pub(super) async fn fetch_live(
        &self,
        client: &reqwest::Client,
        req: &PageRequest<'_>,
        started: Instant,
    ) -> Result<FetchOutcome, FetchError> {
        let mut policy = req.policy;
        if req.obey_robots {
            let crawl_delay = self
                .robots_check(client, req.url, policy, req.allowed_hosts)
                .await?;
            if let Some(delay) = crawl_delay {
                policy.min_delay = policy.min_delay.max(delay);
            }
        }
        let plan = Plan {
            validators: req.validators.filter(|v| !v.is_empty()),
            policy,
            allowed: req.allowed_hosts,
            robots_on_hops: req.obey_robots,
            body_limit: self.settings.max_body_bytes,
            truncate: false,
        };
        let (raw, attempts) = self.run(client, req.url, &plan).await?;
        if raw.status == 304 {
            return Ok(FetchOutcome::NotModified {
                url: req.url.clone(),
            });
        }
        Ok(FetchOutcome::Fetched(raw.into_page(
            req.url,
            attempts,
            started.elapsed(),
        )?))
    }

    /// Attempts until success, a non-retryable error, or the attempts are spent.
    async fn run(
        &self,
        client: &reqwest::Client,
        url: &Url,
        plan: &Plan<'_>,
    ) -> Result<(RawResponse, u32), FetchError> {
        let policy = self.settings.retry_policy();
        let mut attempt = 1;
        loop {
            tracing::debug!(%url, attempt, "request");
            let err = match self.attempt(client, url, plan).await {
                Ok(raw) => return Ok((raw, attempt)),
                Err(err) => err,
            };
            match policy.decide(&err, attempt, rand::random::<f64>()) {
                Decision::Retry(wait) => {
                    tracing::debug!(
                        %url,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        error_type = err.kind(),
                        error = %err,
                        "retrying"
                    );
                    tokio::time::sleep(wait).await;
                    attempt += 1;
                }
                Decision::GiveUp if retry::is_retryable(&err) => {
                    return Err(FetchError::RetriesExhausted {
                        url: url.to_string(),
                        attempts: attempt,
                        last: Box::new(err),
                    })
                }
                Decision::GiveUp => return Err(err),
            }
        }
    }

    /// One attempt: the request and any redirects, each hop through the politeness gate.
    /// Non-2xx final statuses other than 304 are errors; the body is read only for 2xx.
    async fn attempt(
        &self,
        client: &reqwest::Client,
        url: &Url,
        plan: &Plan<'_>,
    ) -> Result<RawResponse, FetchError> {
        let mut current = url.clone();
        let mut visited = vec![without_fragment(url)];
        loop {
            let host = current.host_str().unwrap_or_default().to_ascii_lowercase();
            let permit = self.politeness.acquire(&host, plan.policy).await;
            let mut request = client.get(current.clone());
            if let Some(v) = plan.validators {
                if let Some(etag) = &v.etag {
                    request = request.header(IF_NONE_MATCH, etag);
                }
                if let Some(lm) = &v.last_modified {
                    request = request.header(IF_MODIFIED_SINCE, lm);
                }
            }
            let response = request
                .send()
                .await
                .map_err(|e| self.classify(&current, e))?;
            let status = response.status().as_u16();
            tracing::debug!(url = %current, status, "response");

            if matches!(status, 301 | 302 | 303 | 307 | 308) {
                let location = response
                    .headers()
                    .get(LOCATION)
                    .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                drop(response);
                drop(permit);
                let next = self.redirect_target(url, &current, location, &visited, plan)?;
                if plan.robots_on_hops {
                    self.robots_check_boxed(client, &next, plan.policy, plan.allowed)
                        .await?;
                }
                tracing::debug!(from = %current, to = %next, "redirect");
                visited.push(without_fragment(&next));
                current = next;
                continue;
            }

            let headers = response.headers().clone();
            if status == 304 {
                return Ok(RawResponse {
                    final_url: current,
                    status,
                    headers,
                    body: Vec::new(),
                });
            }
            if !(200..300).contains(&status) {
                let retry_after = headers
                    .get(RETRY_AFTER)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| retry::parse_retry_after(v, SystemTime::now()));
                return Err(FetchError::Status {
                    url: current.to_string(),
                    status,
                    retry_after,
                });
            }
            let body = self.read_body(&current, response, plan).await?;
            drop(permit);
            return Ok(RawResponse {
                final_url: current,
                status,
                headers,
                body,
            });
        }
    }

    /// Validates a redirect's `Location` against everything a hop must satisfy.
    fn redirect_target(
        &self,
        url: &Url,
        current: &Url,
        location: Option<String>,
        visited: &[Url],
        plan: &Plan<'_>,
    ) -> Result<Url, FetchError> {
        let bad = |location: &str, reason: &str| FetchError::BadRedirect {
            url: url.to_string(),
            location: location.to_string(),
            reason: reason.to_string(),
        };
        let location = location.ok_or_else(|| bad("", "no Location header"))?;
        let next = current
            .join(location.trim())
            .map_err(|e| bad(&location, &e.to_string()))?;
        if visited.contains(&without_fragment(&next)) {
            return Err(FetchError::RedirectLoop {
                url: url.to_string(),
                location: next.to_string(),
            });
        }
        if visited.len() > self.settings.max_redirects {
            return Err(FetchError::TooManyRedirects {
                url: url.to_string(),
                limit: self.settings.max_redirects,
            });
        }
        if !matches!(next.scheme(), "http" | "https") {
            return Err(bad(next.as_str(), "only http and https can be followed"));
        }
        let host = next.host_str().unwrap_or_default().to_ascii_lowercase();
        if !plan.allowed.contains(&host) {
            return Err(FetchError::RedirectNotAllowed {
                url: url.to_string(),
                location: next.to_string(),
                host,
                allowed: allowed_list(plan.allowed),
            });
        }
        Ok(next)
    }

    /// Reads a 2xx body, refusing (or truncating at) the size cap: first by the declared
    /// `Content-Length`, then while streaming, so an over-size body is never held whole.
    async fn read_body(
        &self,
        url: &Url,
        mut response: reqwest::Response,
        plan: &Plan<'_>,
    ) -> Result<Vec<u8>, FetchError> {
        let limit = plan.body_limit;
        let declared = response.content_length();
        if let Some(len) = declared {
            if len > limit as u64 && !plan.truncate {
                return Err(FetchError::TooLarge {
                    url: url.to_string(),
                    limit,
                    size: BodySize::Declared(len),
                });
            }
        }
        let mut body =
            Vec::with_capacity(declared.map_or(16 * 1024, |l| l.min(limit as u64) as usize));
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.classify_body(url, e))?
        {
            let room = limit - body.len();
            if chunk.len() > room {
                if plan.truncate {
                    body.extend_from_slice(&chunk[..room]);
                    break;
                }
                return Err(FetchError::TooLarge {
                    url: url.to_string(),
                    limit,
                    size: BodySize::ReadAtLeast(body.len() + chunk.len()),
                });
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// An error while streaming a body. reqwest reports any failure of the body stream
    /// as a "decode" error, a connection dropped halfway included; only a real
    /// content-encoding failure is one. A dropped connection is a transport error and
    /// is retried like any other.
    fn classify_body(&self, url: &Url, err: reqwest::Error) -> FetchError {
        if err.is_decode() && connection_dropped(&err) {
            return FetchError::Transport {
                url: url.to_string(),
                source: err,
            };
        }
        self.classify(url, err)
    }

    fn classify(&self, url: &Url, err: reqwest::Error) -> FetchError {
        let url = url.to_string();
        if err.is_timeout() {
            FetchError::Timeout {
                url,
                connect: self.settings.connect_timeout,
                request: self.settings.request_timeout,
            }
        } else if err.is_connect() {
            FetchError::Connect { url, source: err }
        } else if err.is_decode() {
            FetchError::Decode {
                url,
                reason: format!("content encoding: {err}"),
            }
        } else if err.is_builder() {
            FetchError::Request { url, source: err }
        } else {
            FetchError::Transport { url, source: err }
        }
    }

    /// [`Inner::robots_check`] behind a box: it is called from inside an attempt and
    /// itself makes attempts, and a recursive future needs a known size and a declared
    /// `Send`.
    fn robots_check_boxed<'a>(
        &'a self,
        client: &'a reqwest::Client,
        url: &'a Url,
        policy: HostPolicy,
        allowed: &'a BTreeSet<String>,
    ) -> RobotsCheck<'a> {
        Box::pin(self.robots_check(client, url, policy, allowed))
    }

    /// Whether robots.txt lets us fetch `url`; `Ok` carries its `Crawl-delay`.
    async fn robots_check(
        &self,
        client: &reqwest::Client,
        url: &Url,
        policy: HostPolicy,
        allowed: &BTreeSet<String>,
    ) -> Result<Option<Duration>, FetchError> {
        let rules = self
            .robots
            .rules(url, |robots_url| {
                self.fetch_robots(client, robots_url, policy, allowed)
            })
            .await;
        robots_verdict(url, &rules)
    }

    async fn fetch_robots(
        &self,
        client: &reqwest::Client,
        robots_url: Url,
        policy: HostPolicy,
        allowed: &BTreeSet<String>,
    ) -> RobotsRules {
        let plan = Plan {
            validators: None,
            policy,
            allowed,
            robots_on_hops: false,
            body_limit: robots::MAX_ROBOTS_BYTES,
            truncate: true,
        };
        let agent = &self.robots_agent;
        let rules = match self.run(client, &robots_url, &plan).await {
            Ok((raw, _)) => {
                RobotsRules::from_answer(agent, RobotsAnswer::Status(raw.status, &raw.body))
            }
            Err(err) => match err.last_cause() {
                FetchError::Status { status, .. } => {
                    RobotsRules::from_answer(agent, RobotsAnswer::Status(*status, b""))
                }
                FetchError::TooManyRedirects { .. }
                | FetchError::RedirectLoop { .. }
                | FetchError::RedirectNotAllowed { .. }
                | FetchError::BadRedirect { .. } => {
                    RobotsRules::from_answer(agent, RobotsAnswer::BadRedirect)
                }
                other => RobotsRules::from_answer(
                    agent,
                    RobotsAnswer::Unreachable(innermost_cause(other)),
                ),
            },
        };
        tracing::debug!(%robots_url, rules = robots_summary(&rules), "robots.txt");
        rules
    }
}

/// Turns cached rules into the answer for one URL.
pub(super) fn robots_verdict(
    url: &Url,
    rules: &RobotsRules,
) -> Result<Option<Duration>, FetchError> {
    if rules.allowed(url) {
        return Ok(rules.crawl_delay());
    }
    let robots_url = robots::robots_url(url).to_string();
    Err(match rules {
        RobotsRules::DisallowAll { cause } => FetchError::RobotsUnreachable {
            url: url.to_string(),
            robots_url,
            cause: cause.clone(),
        },
        _ => FetchError::RobotsDisallowed {
            url: url.to_string(),
            robots_url,
        },
    })
}

fn robots_summary(rules: &RobotsRules) -> &'static str {
    match rules {
        RobotsRules::AllowAll => "allow_all",
        RobotsRules::DisallowAll { .. } => "disallow_all",
        RobotsRules::Parsed(_) => "parsed",
    }
}

fn without_fragment(url: &Url) -> Url {
    let mut url = url.clone();
    url.set_fragment(None);
    url
}

/// True when an error's causes show the connection itself failed (reset, closed before
/// the declared length, aborted) rather than the bytes being undecodable.
fn connection_dropped(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cause {
        if let Some(h) = e.downcast_ref::<hyper::Error>() {
            if h.is_incomplete_message()
                || h.is_closed()
                || h.is_canceled()
                || h.is_body_write_aborted()
            {
                return true;
            }
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe
                    | std::io::ErrorKind::NotConnected
            ) {
                return true;
            }
        }
        cause = e.source();
    }
    false
}

/// The deepest reason in an error's chain ("Connection refused (os error 111)",
/// "operation timed out"), which the outer texts ("error sending request for url")
/// leave out; the whole first line when the chain has nothing below it.
fn innermost_cause(err: &FetchError) -> String {
    let mut cause: &dyn std::error::Error = err;
    while let Some(next) = cause.source() {
        cause = next;
    }
    if std::ptr::addr_eq(cause, err as &dyn std::error::Error) {
        return err.to_string();
    }
    let text = cause.to_string();
    match text.as_str() {
        "" => err.to_string(),
        _ => text,
    }
}
