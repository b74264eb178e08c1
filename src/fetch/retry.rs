//! The one place that decides whether a failed attempt is tried again, and after how long.
//!
//! Retried: timeouts, connect errors, connections dropped mid-request, HTTP 408, 429 and
//! every 5xx. Not retried: any other status, size and decode failures, redirect problems,
//! policy refusals (host, scheme, robots). The wait is exponential backoff with "equal
//! jitter" (half fixed, half random, so it never collapses to zero), or the server's
//! `Retry-After` when it sent one; both are capped at `backoff_max`.

use super::error::FetchError;
use std::time::{Duration, SystemTime};

/// What to do after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Wait this long, then try again.
    Retry(Duration),
    /// Return the error.
    GiveUp,
}

/// Attempts and backoff bounds, taken from [`super::FetchSettings`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub max_attempts: u32,
    pub base: Duration,
    pub max: Duration,
}

impl RetryPolicy {
    /// `attempt` is the 1-based number of the attempt that just failed; `jitter` is a
    /// random fraction in `[0, 1]` (a parameter so tests are deterministic).
    pub fn decide(&self, err: &FetchError, attempt: u32, jitter: f64) -> Decision {
        if !is_retryable(err) || attempt >= self.max_attempts {
            return Decision::GiveUp;
        }
        match err {
            FetchError::Status {
                retry_after: Some(after),
                ..
            } => Decision::Retry((*after).min(self.max)),
            _ => Decision::Retry(self.backoff(attempt, jitter)),
        }
    }

    /// The wait after failed attempt number `attempt` (1-based): `base * 2^(attempt-1)`,
    /// capped at `max`, of which the upper half is scaled by `jitter`.
    pub fn backoff(&self, attempt: u32, jitter: f64) -> Duration {
        let full = crate::backoff::exponential(self.base, attempt, self.max);
        let half = full / 2;
        half + half.mul_f64(jitter.clamp(0.0, 1.0))
    }
}

/// Whether this failure may succeed if tried again.
pub fn is_retryable(err: &FetchError) -> bool {
    match err {
        FetchError::Timeout { .. } | FetchError::Connect { .. } | FetchError::Transport { .. } => {
            true
        }
        FetchError::Status { status, .. } => is_retryable_status(*status),
        _ => false,
    }
}

/// 408 Request Timeout, 429 Too Many Requests and every 5xx.
pub fn is_retryable_status(status: u16) -> bool {
    status == 408 || status == 429 || (500..600).contains(&status)
}

/// Parses a `Retry-After` value: delta-seconds (`120`) or an HTTP date in any of the
/// three formats RFC 9110 allows. A date in the past means "now" (zero). Unparseable
/// values give `None`, so the normal backoff applies.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = parse_http_date(value)?;
    let now: chrono::DateTime<chrono::Utc> = now.into();
    Some((when - now).to_std().unwrap_or(Duration::ZERO))
}

fn parse_http_date(value: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    use chrono::{NaiveDateTime, TimeZone, Utc};
    // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
    if let Ok(dt) = chrono::DateTime::parse_from_rfc2822(value) {
        return Some(dt.with_timezone(&Utc));
    }
    // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT; asctime: Sun Nov  6 08:49:37 1994
    ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
        .iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(value, fmt).ok())
        .map(|naive| Utc.from_utc_datetime(&naive))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fetch::error::BodySize;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 4,
        base: Duration::from_millis(500),
        max: Duration::from_secs(30),
    };

    fn status(code: u16, retry_after: Option<Duration>) -> FetchError {
        FetchError::Status {
            url: "https://a.example/".into(),
            status: code,
            retry_after,
        }
    }

    fn timeout() -> FetchError {
        FetchError::Timeout {
            url: "https://a.example/".into(),
            connect: Duration::from_secs(1),
            request: Duration::from_secs(1),
        }
    }

    #[test]
    fn retries_server_errors_408_429_and_timeouts() {
        for code in [408, 429, 500, 502, 503, 504, 599] {
            assert!(
                matches!(
                    POLICY.decide(&status(code, None), 1, 0.0),
                    Decision::Retry(_)
                ),
                "{code}"
            );
        }
        assert!(matches!(
            POLICY.decide(&timeout(), 1, 0.0),
            Decision::Retry(_)
        ));
    }

    #[test]
    fn never_retries_other_client_errors() {
        for code in [400, 401, 403, 404, 410, 451] {
            assert_eq!(
                POLICY.decide(&status(code, None), 1, 0.0),
                Decision::GiveUp,
                "{code}"
            );
        }
    }

    #[test]
    fn never_retries_policy_size_or_redirect_failures() {
        let errs = [
            FetchError::TooLarge {
                url: "u".into(),
                limit: 1,
                size: BodySize::Declared(2),
            },
            FetchError::RobotsDisallowed {
                url: "u".into(),
                robots_url: "r".into(),
            },
            FetchError::TooManyRedirects {
                url: "u".into(),
                limit: 5,
            },
            FetchError::Decode {
                url: "u".into(),
                reason: "r".into(),
            },
        ];
        for err in &errs {
            assert_eq!(POLICY.decide(err, 1, 0.5), Decision::GiveUp, "{err}");
        }
    }

    #[test]
    fn gives_up_when_attempts_are_spent() {
        assert!(matches!(
            POLICY.decide(&timeout(), 3, 0.0),
            Decision::Retry(_)
        ));
        assert_eq!(POLICY.decide(&timeout(), 4, 0.0), Decision::GiveUp);
        assert_eq!(POLICY.decide(&timeout(), 9, 0.0), Decision::GiveUp);
    }

    #[test]
    fn backoff_doubles_with_jitter_in_the_upper_half() {
        assert_eq!(POLICY.backoff(1, 0.0), Duration::from_millis(250));
        assert_eq!(POLICY.backoff(1, 1.0), Duration::from_millis(500));
        assert_eq!(POLICY.backoff(2, 0.0), Duration::from_millis(500));
        assert_eq!(POLICY.backoff(3, 1.0), Duration::from_millis(2000));
        assert_eq!(POLICY.backoff(3, 0.5), Duration::from_millis(1500));
    }

    #[test]
    fn backoff_is_capped_at_max_even_for_huge_attempt_numbers() {
        assert_eq!(POLICY.backoff(10, 1.0), Duration::from_secs(30));
        assert_eq!(POLICY.backoff(u32::MAX, 1.0), Duration::from_secs(30));
        assert_eq!(POLICY.backoff(u32::MAX, 0.0), Duration::from_secs(15));
    }

    #[test]
    fn retry_after_overrides_backoff_and_is_capped() {
        let err = status(429, Some(Duration::from_secs(3)));
        assert_eq!(
            POLICY.decide(&err, 1, 0.7),
            Decision::Retry(Duration::from_secs(3))
        );
        let err = status(503, Some(Duration::from_secs(3600)));
        assert_eq!(
            POLICY.decide(&err, 1, 0.7),
            Decision::Retry(Duration::from_secs(30))
        );
    }

    #[test]
    fn retry_after_parses_seconds_and_http_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_717); // 1994-11-06 08:48:37
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(parse_retry_after(" 0 ", now), Some(Duration::ZERO));
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Sun Nov  6 08:49:37 1994", now),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn retry_after_in_the_past_is_zero_and_garbage_is_ignored() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(784_111_717);
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-5", now), None);
        assert_eq!(parse_retry_after("", now), None);
    }
}
