//! Senders behind one trait, [`Pusher`]:
//!
//! * [`ApnsPusher`]: Apple Push Notification service through ONE `a2::Client`, built
//!   once with token (`.p8`) authentication and reused for the life of the process (a2
//!   caches the signed provider token and renews it every 55 minutes; nothing signs a
//!   token per push);
//! * [`FilePusher`]: appends each would-be APNs request (token, headers, JSON payload)
//!   as one JSON line to a file — for staging without Apple credentials;
//! * [`super::testing::ScriptedPusher`]: reproduces APNs per token, for tests and benches.
//!
//! [`build_pusher`] picks one from `[push]`. Without credentials it returns
//! [`PusherChoice::Disabled`] with the one warning line to print; nothing fails.

use super::config::{ApnsEnvironment, PushConfig, SenderKind, HOW_TO_CONFIGURE};
use super::payload::PushRequest;
use super::NotifyError;
use a2::request::notification::{CollapseId, NotificationOptions, Priority, PushType};
use a2::request::payload::PayloadLike;
use async_trait::async_trait;
use secrecy::ExposeSecret;
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

/// APNs' answer to one request (any HTTP status).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushResponse {
    /// HTTP status: 200 accepted; 400, 403, 410, 413, 429, 500, 503…
    pub status: u16,
    /// The `apns-id` header.
    pub apns_id: Option<String>,
    /// APNs' `reason` (e.g. `Unregistered`, `BadDeviceToken`), absent on 200.
    pub reason: Option<String>,
}

/// A request that got no APNs answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("the request timed out")]
    Timeout,
    #[error("connection error: {0}")]
    Connection(String),
    /// Our credentials could not be used (unreadable key, signing failed).
    #[error("credentials: {0}")]
    Credentials(String),
    /// The request could not be built (payload, headers).
    #[error("request: {0}")]
    Request(String),
}

/// Delivers one request to one device.
#[async_trait]
pub trait Pusher: Send + Sync {
    /// For logs: `apns (production)`, `file (push.jsonl)`, …
    fn describe(&self) -> String;
    async fn push(&self, request: &PushRequest) -> Result<PushResponse, PushError>;
}

/// The outcome of [`build_pusher`].
pub enum PusherChoice {
    Ready(Box<dyn Pusher>),
    /// Pushes are not being sent; the text says why and how to configure them.
    Disabled(String),
}

/// Builds the configured sender. Missing APNs credentials or `sender = "none"` give
/// [`PusherChoice::Disabled`]; an unusable key (unreadable, not a PKCS#8 EC key) is an
/// error that names the setting, never the key.
pub fn build_pusher(config: &PushConfig) -> Result<PusherChoice, NotifyError> {
    match config.sender {
        SenderKind::None => Ok(PusherChoice::Disabled(
            "push notifications are not being sent: push.sender is \"none\"; notifications stay \
             pending in the outbox (set push.sender = \"apns\" with credentials, or \"file\")"
                .into(),
        )),
        SenderKind::File => Ok(PusherChoice::Ready(Box::new(FilePusher::open(
            &config.file_path,
            config.topic.clone(),
        )?))),
        SenderKind::Apns => {
            let missing = config.missing_apns_credentials();
            if !missing.is_empty() {
                return Ok(PusherChoice::Disabled(format!(
                    "push notifications are not being sent: APNs credentials missing ({}); \
                     notifications stay pending in the outbox. To send them, {HOW_TO_CONFIGURE}",
                    missing.join(", ")
                )));
            }
            Ok(PusherChoice::Ready(Box::new(ApnsPusher::new(config)?)))
        }
    }
}

/// APNs through one reused `a2::Client`.
pub struct ApnsPusher {
    client: a2::Client,
    topic: String,
    environment: ApnsEnvironment,
}

impl ApnsPusher {
    /// Reads the key (contents from `push.key`, else the file at `push.key_path`) and
    /// builds the client. Makes no network request.
    pub fn new(config: &PushConfig) -> Result<ApnsPusher, NotifyError> {
        let pem: Vec<u8> = match (&config.key, &config.key_path) {
            (Some(key), _) if !key.expose_secret().trim().is_empty() => {
                key.expose_secret().as_bytes().to_vec()
            }
            (_, Some(path)) => std::fs::read(path).map_err(|e| {
                NotifyError::Config(format!(
                    "cannot read the APNs key file {} (push.key_path / NACHNA_APNS_KEY_PATH): {e}",
                    path.display()
                ))
            })?,
            _ => {
                return Err(NotifyError::Config(format!(
                    "no APNs key: {HOW_TO_CONFIGURE}"
                )))
            }
        };
        let key_id = config.key_id.clone().unwrap_or_default();
        let team_id = config.team_id.clone().unwrap_or_default();
        let client_config = a2::ClientConfig {
            endpoint: match config.environment {
                ApnsEnvironment::Production => a2::Endpoint::Production,
                ApnsEnvironment::Sandbox => a2::Endpoint::Sandbox,
            },
            request_timeout_secs: Some(config.request_timeout().as_secs()),
            pool_idle_timeout_secs: Some(600),
        };
        let client = a2::Client::token(pem.as_slice(), key_id, team_id, client_config).map_err(
            |e| {
                // a2's errors describe the key's form, never its bytes.
                NotifyError::Config(format!(
                    "the APNs key (push.key / push.key_path) is not a usable .p8 (PKCS#8 EC) key: {e}"
                ))
            },
        )?;
        Ok(ApnsPusher {
            client,
            topic: config.topic.clone().unwrap_or_default(),
            environment: config.environment,
        })
    }
}

/// A payload already rendered as JSON, with its options, for `a2::Client::send`.
#[derive(Debug)]
struct RenderedPayload<'a> {
    json: &'a serde_json::Value,
    token: &'a str,
    options: NotificationOptions<'a>,
}

impl Serialize for RenderedPayload<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.json.serialize(s)
    }
}

impl PayloadLike for RenderedPayload<'_> {
    fn get_device_token(&self) -> &str {
        self.token
    }
    fn get_options(&self) -> &NotificationOptions<'_> {
        &self.options
    }
}

#[async_trait]
impl Pusher for ApnsPusher {
    fn describe(&self) -> String {
        format!(
            "apns ({}, topic {})",
            match self.environment {
                ApnsEnvironment::Production => "production",
                ApnsEnvironment::Sandbox => "sandbox",
            },
            self.topic
        )
    }

    async fn push(&self, request: &PushRequest) -> Result<PushResponse, PushError> {
        let h = &request.headers;
        let collapse_id =
            CollapseId::new(&h.collapse_id).map_err(|e| PushError::Request(e.to_string()))?;
        let topic = h.topic.as_deref().unwrap_or(self.topic.as_str());
        let payload = RenderedPayload {
            json: &request.payload,
            token: &request.token,
            options: NotificationOptions {
                apns_id: h.apns_id.as_deref(),
                apns_push_type: Some(PushType::Alert),
                apns_expiration: Some(h.expiration),
                apns_priority: Some(if h.priority >= 10 {
                    Priority::High
                } else {
                    Priority::Normal
                }),
                apns_topic: Some(topic),
                apns_collapse_id: Some(collapse_id),
            },
        };
        match self.client.send(payload).await {
            Ok(r) => Ok(PushResponse {
                status: r.code,
                apns_id: r.apns_id,
                reason: None,
            }),
            Err(err) => match map_a2_error(err) {
                Mapped::Response(r) => Ok(r),
                Mapped::Failure(f) => Err(f),
            },
        }
    }
}

enum Mapped {
    Response(PushResponse),
    Failure(PushError),
}

fn map_a2_error(err: a2::Error) -> Mapped {
    match err {
        a2::Error::ResponseError(r) => Mapped::Response(PushResponse {
            status: r.code,
            apns_id: r.apns_id,
            reason: r.error.map(|e| format!("{:?}", e.reason)),
        }),
        a2::Error::RequestTimeout(_) => Mapped::Failure(PushError::Timeout),
        a2::Error::ConnectionError(e) => Mapped::Failure(PushError::Connection(e.to_string())),
        a2::Error::ClientError(e) => Mapped::Failure(PushError::Connection(e.to_string())),
        a2::Error::SignerError(e) => Mapped::Failure(PushError::Credentials(e.to_string())),
        a2::Error::UnexpectedKey(e) => Mapped::Failure(PushError::Credentials(e.to_string())),
        a2::Error::ReadError(e) => Mapped::Failure(PushError::Credentials(e.to_string())),
        a2::Error::Tls(e) => Mapped::Failure(PushError::Connection(e.to_string())),
        a2::Error::InvalidCertificate => {
            Mapped::Failure(PushError::Credentials("invalid certificate".into()))
        }
        other => Mapped::Failure(PushError::Request(other.to_string())),
    }
}

/// Appends one JSON line per would-be APNs request: `{"at", "token", "headers",
/// "payload"}`. Every request is "accepted" (200).
pub struct FilePusher {
    path: PathBuf,
    file: Mutex<std::fs::File>,
    topic: Option<String>,
    count: AtomicU64,
}

impl FilePusher {
    pub fn open(path: &Path, topic: Option<String>) -> Result<FilePusher, NotifyError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|e| {
                NotifyError::Config(format!(
                    "push.file_path {}: cannot create its directory: {e}",
                    path.display()
                ))
            })?;
        }
        let file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| {
                NotifyError::Config(format!(
                    "push.file_path {}: cannot open for appending: {e}",
                    path.display()
                ))
            })?;
        Ok(FilePusher {
            path: path.to_path_buf(),
            file: Mutex::new(file),
            topic,
            count: AtomicU64::new(0),
        })
    }
}

#[async_trait]
impl Pusher for FilePusher {
    fn describe(&self) -> String {
        format!("file ({})", self.path.display())
    }

    async fn push(&self, request: &PushRequest) -> Result<PushResponse, PushError> {
        let mut headers = request.headers.clone();
        if headers.topic.is_none() {
            headers.topic = self.topic.clone();
        }
        let line = serde_json::json!({
            "at": chrono::Utc::now().to_rfc3339(),
            "token": request.token,
            "headers": headers,
            "payload": request.payload,
        });
        let mut text =
            serde_json::to_string(&line).map_err(|e| PushError::Request(e.to_string()))?;
        text.push('\n');
        {
            let mut file = self.file.lock().expect("push file lock");
            file.write_all(text.as_bytes())
                .and_then(|_| file.flush())
                .map_err(|e| PushError::Connection(format!("{}: {e}", self.path.display())))?;
        }
        let n = self.count.fetch_add(1, Ordering::Relaxed) + 1;
        Ok(PushResponse {
            status: 200,
            // As APNs: the request's `apns-id` when it set one.
            apns_id: Some(
                request
                    .headers
                    .apns_id
                    .clone()
                    .unwrap_or_else(|| format!("file-{n}")),
            ),
            reason: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::outbox::Kind;
    use crate::notify::payload::{payload_json, PushHeaders};
    use secrecy::SecretString;

    // A throwaway P-256 key in PKCS#8 (the one a2's own tests use), never used with Apple.
    const TEST_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg8g/n6j9roKvnUkwu
lCEIvbDqlUhA5FOzcakkG90E8L+hRANCAATKS2ZExEybUvchRDuKBftotMwVEus3
jDwmlD1Gg0yJt1e38djFwsxsfr5q2hv0Rj9fTEqAPr8H7mGm0wKxZ7iQ
-----END PRIVATE KEY-----";

    fn creds(key: &str) -> PushConfig {
        PushConfig {
            key: Some(SecretString::from(key.to_string())),
            key_id: Some("ABC123DEFG".into()),
            team_id: Some("TEAM123456".into()),
            topic: Some("com.nachna.app".into()),
            ..PushConfig::default()
        }
    }

    #[test]
    fn no_credentials_means_disabled_with_how_to() {
        let choice = build_pusher(&PushConfig::default()).unwrap();
        let PusherChoice::Disabled(text) = choice else {
            panic!("expected disabled")
        };
        assert!(
            text.contains("NACHNA_APNS_KEY_PATH") && text.contains("pending"),
            "{text}"
        );
    }

    #[test]
    fn apns_client_builds_from_a_p8_key_without_network() {
        let choice = build_pusher(&creds(TEST_KEY)).unwrap();
        let PusherChoice::Ready(p) = choice else {
            panic!("expected a sender")
        };
        assert_eq!(p.describe(), "apns (production, topic com.nachna.app)");
    }

    #[test]
    fn garbage_key_is_a_config_error_that_does_not_echo_the_key() {
        let err = match build_pusher(&creds("not-a-key-hunter2")) {
            Err(e) => e.to_string(),
            Ok(_) => panic!("expected an error"),
        };
        assert!(err.contains("push.key"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
    }

    #[tokio::test]
    async fn file_sender_appends_one_json_line_per_request() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out/push.jsonl");
        let pusher = FilePusher::open(&path, Some("com.nachna.app".into())).unwrap();
        let request = PushRequest {
            token: "ab".repeat(32),
            headers: PushHeaders {
                push_type: "alert".into(),
                priority: 5,
                collapse_id: "rm-1".into(),
                expiration: 1_780_000_000,
                topic: None,
                apns_id: None,
            },
            payload: payload_json(Kind::Reminder, "t", "b", "a", "w/1"),
        };
        for _ in 0..2 {
            assert_eq!(pusher.push(&request).await.unwrap().status, 200);
        }
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[0]["token"], "ab".repeat(32));
        assert_eq!(lines[0]["headers"]["apns-priority"], 5);
        assert_eq!(lines[0]["headers"]["apns-topic"], "com.nachna.app");
        assert_eq!(lines[0]["headers"]["apns-collapse-id"], "rm-1");
        assert_eq!(lines[0]["payload"]["workshop_id"], "w/1");
    }
}
