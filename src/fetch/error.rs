//! Why a fetch failed. Every variant names the URL it was about (or, for replay setup,
//! the manifest path), and [`FetchError::kind`] gives a low-cardinality label for logs
//! and metrics.

use std::path::PathBuf;
use std::time::Duration;

/// How much of an over-size body we know about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySize {
    /// The server declared it in `Content-Length`; nothing was read.
    Declared(u64),
    /// No (or a lying) `Content-Length`; reading stopped once this many bytes had come.
    ReadAtLeast(usize),
    /// A replay file of this size.
    File(u64),
}

impl std::fmt::Display for BodySize {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodySize::Declared(n) => write!(f, "Content-Length says {n} bytes"),
            BodySize::ReadAtLeast(n) => write!(f, "stopped reading after {n} bytes"),
            BodySize::File(n) => write!(f, "the replay file is {n} bytes"),
        }
    }
}

/// Why a page could not be fetched.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("{url}: only http and https URLs can be fetched (got `{scheme}`)")]
    UnsupportedScheme { url: String, scheme: String },

    #[error("{url}: host `{host}` is not in this source's allowed hosts [{allowed}]; add it to `crawl.allowed_hosts` if it should be crawled")]
    HostNotAllowed {
        url: String,
        host: String,
        allowed: String,
    },

    #[error("{url}: disallowed by {robots_url} for our user agent")]
    RobotsDisallowed { url: String, robots_url: String },

    #[error("{url}: the host could not be reached: {cause} (while fetching {robots_url}; nothing on this host is fetched this run)")]
    RobotsUnreachable {
        url: String,
        robots_url: String,
        cause: String,
    },

    #[error("{url}: body is over the {limit}-byte limit ({size}); raise `max_body_bytes` if the page is genuine")]
    TooLarge {
        url: String,
        limit: usize,
        size: BodySize,
    },

    #[error("{url}: HTTP {status}")]
    Status {
        url: String,
        status: u16,
        /// The server's `Retry-After`, already parsed and capped; not part of the message.
        retry_after: Option<Duration>,
    },

    #[error("{url}: timed out (connect limit {connect:?}, whole-request limit {request:?})")]
    Timeout {
        url: String,
        connect: Duration,
        request: Duration,
    },

    #[error("{url}: could not connect: {source}")]
    Connect {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("{url}: connection failed mid-request: {source}")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("{url}: the request could not be built: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("{url}: more than {limit} redirects")]
    TooManyRedirects { url: String, limit: usize },

    #[error("{url}: redirect loop back to {location}")]
    RedirectLoop { url: String, location: String },

    #[error("{url}: redirected to {location}, whose host `{host}` is not in the allowed hosts [{allowed}]")]
    RedirectNotAllowed {
        url: String,
        location: String,
        host: String,
        allowed: String,
    },

    #[error("{url}: unusable redirect to `{location}`: {reason}")]
    BadRedirect {
        url: String,
        location: String,
        reason: String,
    },

    #[error("{url}: body cannot be decoded as text: {reason}")]
    Decode { url: String, reason: String },

    #[error("{url}: gave up after {attempts} attempts; last error: {last}")]
    RetriesExhausted {
        url: String,
        attempts: u32,
        #[source]
        last: Box<FetchError>,
    },

    #[error("replay manifest {path}: {reason}")]
    ReplayManifest { path: PathBuf, reason: String },

    #[error("{url}: replay file {path} cannot be read: {source}")]
    ReplayFile {
        url: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the HTTP client cannot be built: {source}")]
    Client {
        #[source]
        source: reqwest::Error,
    },
}

impl FetchError {
    /// A low-cardinality label for metrics and logs. [`FetchError::RetriesExhausted`]
    /// reports the kind of its last cause (a page that timed out four times is a
    /// `"timeout"`); use [`FetchError::attempts`] to see that it was retried.
    pub fn kind(&self) -> &'static str {
        match self {
            FetchError::UnsupportedScheme { .. } => "scheme",
            FetchError::HostNotAllowed { .. } | FetchError::RedirectNotAllowed { .. } => {
                "not_allowed"
            }
            FetchError::RobotsDisallowed { .. } | FetchError::RobotsUnreachable { .. } => "robots",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::Status { status, .. } if *status >= 500 => "http_5xx",
            FetchError::Status { .. } => "http_4xx",
            FetchError::Timeout { .. } => "timeout",
            FetchError::Connect { .. } => "connect",
            FetchError::Transport { .. } | FetchError::Request { .. } => "transport",
            FetchError::TooManyRedirects { .. }
            | FetchError::RedirectLoop { .. }
            | FetchError::BadRedirect { .. } => "redirects",
            FetchError::Decode { .. } => "decode",
            FetchError::RetriesExhausted { last, .. } => last.kind(),
            FetchError::ReplayManifest { .. } | FetchError::ReplayFile { .. } => "replay",
            FetchError::Client { .. } => "client",
        }
    }

    /// The URL the failure is about, when there is one.
    pub fn url(&self) -> Option<&str> {
        match self {
            FetchError::UnsupportedScheme { url, .. }
            | FetchError::HostNotAllowed { url, .. }
            | FetchError::RobotsDisallowed { url, .. }
            | FetchError::RobotsUnreachable { url, .. }
            | FetchError::TooLarge { url, .. }
            | FetchError::Status { url, .. }
            | FetchError::Timeout { url, .. }
            | FetchError::Connect { url, .. }
            | FetchError::Transport { url, .. }
            | FetchError::Request { url, .. }
            | FetchError::TooManyRedirects { url, .. }
            | FetchError::RedirectLoop { url, .. }
            | FetchError::RedirectNotAllowed { url, .. }
            | FetchError::BadRedirect { url, .. }
            | FetchError::Decode { url, .. }
            | FetchError::RetriesExhausted { url, .. }
            | FetchError::ReplayFile { url, .. } => Some(url),
            FetchError::ReplayManifest { .. } | FetchError::Client { .. } => None,
        }
    }

    /// The HTTP status, when the failure was one (also through retries).
    pub fn status(&self) -> Option<u16> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            FetchError::RetriesExhausted { last, .. } => last.status(),
            _ => None,
        }
    }

    /// How many attempts were made before giving up (1 unless retries were exhausted).
    pub fn attempts(&self) -> u32 {
        match self {
            FetchError::RetriesExhausted { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    /// The underlying cause when retries were exhausted, else `self`.
    pub fn last_cause(&self) -> &FetchError {
        match self {
            FetchError::RetriesExhausted { last, .. } => last.last_cause(),
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16) -> FetchError {
        FetchError::Status {
            url: "https://a.example/x".into(),
            status: code,
            retry_after: None,
        }
    }

    #[test]
    fn status_kinds_are_grouped_by_class() {
        assert_eq!(status(404).kind(), "http_4xx");
        assert_eq!(status(429).kind(), "http_4xx");
        assert_eq!(status(500).kind(), "http_5xx");
        assert_eq!(status(503).kind(), "http_5xx");
    }

    #[test]
    fn retries_exhausted_reports_the_last_cause() {
        let err = FetchError::RetriesExhausted {
            url: "https://a.example/x".into(),
            attempts: 4,
            last: Box::new(status(503)),
        };
        assert_eq!(err.kind(), "http_5xx");
        assert_eq!(err.attempts(), 4);
        assert_eq!(err.status(), Some(503));
        assert_eq!(err.url(), Some("https://a.example/x"));
        assert_eq!(
            err.to_string(),
            "https://a.example/x: gave up after 4 attempts; last error: https://a.example/x: HTTP 503"
        );
    }

    #[test]
    fn host_not_allowed_names_host_and_list() {
        let err = FetchError::HostNotAllowed {
            url: "https://evil.example/".into(),
            host: "evil.example".into(),
            allowed: "a.example, b.example".into(),
        };
        let msg = err.to_string();
        assert!(msg.contains("`evil.example`"), "{msg}");
        assert!(msg.contains("[a.example, b.example]"), "{msg}");
        assert_eq!(err.kind(), "not_allowed");
    }

    #[test]
    fn too_large_names_limit_and_size() {
        let err = FetchError::TooLarge {
            url: "https://a.example/big".into(),
            limit: 1024,
            size: BodySize::Declared(4096),
        };
        assert_eq!(
            err.to_string(),
            "https://a.example/big: body is over the 1024-byte limit (Content-Length says 4096 bytes); raise `max_body_bytes` if the page is genuine"
        );
    }
}
