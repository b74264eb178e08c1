//! The test double for APNs: [`ScriptedPusher`] answers like APNs would, per device
//! token, from a script — 200, 410 `Unregistered`, 400 `BadDeviceToken`, 429, 500,
//! 503, a timeout, a connection error, or any status and reason. It records every
//! request (token, headers, payload) so tests can assert on what would have reached
//! Apple.
//!
//! This is the only way APNs delivery is exercised in this repository: nothing here
//! talks to Apple. Integration tests and the `fanout` bench use it; production never
//! does.

use super::payload::PushRequest;
use super::sender::{PushError, PushResponse, Pusher};
use async_trait::async_trait;
use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// One scripted APNs answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scripted {
    /// 200 with an `apns-id`.
    Accept,
    /// Any non-200 answer with APNs' `reason`.
    Reject { status: u16, reason: &'static str },
    /// No answer in time.
    Timeout,
    /// The connection failed.
    ConnectionError,
}

impl Scripted {
    pub const fn unregistered() -> Scripted {
        Scripted::Reject {
            status: 410,
            reason: "Unregistered",
        }
    }
    pub const fn bad_device_token() -> Scripted {
        Scripted::Reject {
            status: 400,
            reason: "BadDeviceToken",
        }
    }
    pub const fn device_token_not_for_topic() -> Scripted {
        Scripted::Reject {
            status: 400,
            reason: "DeviceTokenNotForTopic",
        }
    }
    pub const fn too_many_requests() -> Scripted {
        Scripted::Reject {
            status: 429,
            reason: "TooManyRequests",
        }
    }
    pub const fn internal_server_error() -> Scripted {
        Scripted::Reject {
            status: 500,
            reason: "InternalServerError",
        }
    }
    pub const fn service_unavailable() -> Scripted {
        Scripted::Reject {
            status: 503,
            reason: "ServiceUnavailable",
        }
    }
    pub const fn payload_too_large() -> Scripted {
        Scripted::Reject {
            status: 413,
            reason: "PayloadTooLarge",
        }
    }
    pub const fn expired_provider_token() -> Scripted {
        Scripted::Reject {
            status: 403,
            reason: "ExpiredProviderToken",
        }
    }
    pub const fn invalid_provider_token() -> Scripted {
        Scripted::Reject {
            status: 403,
            reason: "InvalidProviderToken",
        }
    }
    pub const fn bad_topic() -> Scripted {
        Scripted::Reject {
            status: 400,
            reason: "BadTopic",
        }
    }
}

/// A [`Pusher`] that answers from per-token scripts. A token's answers are used in
/// order and the last one repeats; tokens without a script get the default (200).
pub struct ScriptedPusher {
    scripts: Mutex<HashMap<String, VecDeque<Scripted>>>,
    default: Scripted,
    record: bool,
    log: Mutex<Vec<PushRequest>>,
    calls: AtomicU64,
    latency: Option<std::time::Duration>,
    in_flight: AtomicU64,
    max_in_flight: AtomicU64,
}

impl Default for ScriptedPusher {
    fn default() -> Self {
        ScriptedPusher::new()
    }
}

impl ScriptedPusher {
    /// Accepts every token and records every request.
    pub fn new() -> ScriptedPusher {
        ScriptedPusher {
            scripts: Mutex::new(HashMap::new()),
            default: Scripted::Accept,
            record: true,
            log: Mutex::new(Vec::new()),
            calls: AtomicU64::new(0),
            latency: None,
            in_flight: AtomicU64::new(0),
            max_in_flight: AtomicU64::new(0),
        }
    }

    /// Each answer takes this long (to observe how many requests are in flight at once).
    pub fn with_latency(mut self, latency: std::time::Duration) -> ScriptedPusher {
        self.latency = Some(latency);
        self
    }

    /// The most requests that were in flight at the same time.
    pub fn max_in_flight(&self) -> u64 {
        self.max_in_flight.load(Ordering::SeqCst)
    }

    /// Does not keep requests (benches: only [`Self::calls`] counts).
    pub fn without_log(mut self) -> ScriptedPusher {
        self.record = false;
        self
    }

    /// Answers for `token`, in order; the last repeats.
    pub fn script(self, token: &str, answers: Vec<Scripted>) -> ScriptedPusher {
        self.scripts
            .lock()
            .expect("script lock")
            .insert(token.to_string(), answers.into());
        self
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<PushRequest> {
        self.log.lock().expect("log lock").clone()
    }

    /// The requests to one token.
    pub fn requests_to(&self, token: &str) -> Vec<PushRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.token == token)
            .collect()
    }

    /// Requests answered so far (recorded or not).
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::Relaxed)
    }

    fn answer_for(&self, token: &str) -> Scripted {
        let mut scripts = self.scripts.lock().expect("script lock");
        match scripts.get_mut(token) {
            Some(queue) if queue.len() > 1 => queue.pop_front().expect("non-empty"),
            Some(queue) => queue.front().cloned().unwrap_or(Scripted::Accept),
            None => self.default.clone(),
        }
    }
}

#[async_trait]
impl Pusher for ScriptedPusher {
    fn describe(&self) -> String {
        "scripted (test double)".into()
    }

    async fn push(&self, request: &PushRequest) -> Result<PushResponse, PushError> {
        let n = self.calls.fetch_add(1, Ordering::Relaxed) + 1;
        if self.record {
            self.log.lock().expect("log lock").push(request.clone());
        }
        if let Some(latency) = self.latency {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.max_in_flight.fetch_max(now, Ordering::SeqCst);
            tokio::time::sleep(latency).await;
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        // APNs answers with the request's `apns-id`, or one of its own when none was set.
        let apns_id = request
            .headers
            .apns_id
            .clone()
            .unwrap_or_else(|| format!("00000000-0000-0000-0000-{n:012}"));
        match self.answer_for(&request.token) {
            Scripted::Accept => Ok(PushResponse {
                status: 200,
                apns_id: Some(apns_id),
                reason: None,
            }),
            Scripted::Reject { status, reason } => Ok(PushResponse {
                status,
                apns_id: Some(apns_id),
                reason: Some(reason.to_string()),
            }),
            Scripted::Timeout => Err(PushError::Timeout),
            Scripted::ConnectionError => Err(PushError::Connection(
                "connection reset by peer (scripted)".into(),
            )),
        }
    }
}
