//! Polite HTTP fetching. PLACEHOLDER with the agreed API; replaced by the fetch branch.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;
use url::Url;

#[derive(Debug, Clone)]
pub struct FetchSettings {
    pub user_agent: String,
    pub connect_timeout: Duration,
    pub request_timeout: Duration,
    pub max_redirects: usize,
    pub max_body_bytes: usize,
    pub max_attempts: u32,
    pub backoff_base: Duration,
    pub backoff_max: Duration,
}
impl Default for FetchSettings {
    fn default() -> Self {
        FetchSettings {
            user_agent: String::new(),
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_redirects: 5,
            max_body_bytes: 5 << 20,
            max_attempts: 4,
            backoff_base: Duration::from_millis(500),
            backoff_max: Duration::from_secs(30),
        }
    }
}
impl FetchSettings {
    pub fn user_agent_with_contact(contact: &str) -> String {
        format!("nachna-ingest (+{contact})")
    }
}
#[derive(Debug, Clone, Copy)]
pub struct HostPolicy {
    pub min_delay: Duration,
    pub concurrency: usize,
}
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}
pub struct PageRequest<'a> {
    pub url: &'a Url,
    pub validators: Option<&'a Validators>,
    pub policy: HostPolicy,
    pub obey_robots: bool,
    pub allowed_hosts: &'a BTreeSet<String>,
}
#[allow(clippy::large_enum_variant)]
pub enum FetchOutcome {
    NotModified { url: Url },
    Fetched(FetchedPage),
}
pub struct FetchedPage {
    pub requested_url: Url,
    pub final_url: Url,
    pub status: u16,
    pub text: String,
    pub body_sha256: String,
    pub validators: Validators,
    pub content_type: Option<String>,
    pub bytes: usize,
    pub attempts: u32,
    pub elapsed: Duration,
}
#[derive(Debug, thiserror::Error)]
#[error("fetch not implemented")]
pub struct FetchError;
#[derive(Clone)]
pub struct Fetcher;
impl Fetcher {
    pub fn new(_settings: FetchSettings) -> Result<Fetcher, FetchError> {
        Err(FetchError)
    }
    pub fn replay(_dir: &Path) -> Result<Fetcher, FetchError> {
        Err(FetchError)
    }
    pub async fn fetch(&self, _req: &PageRequest<'_>) -> Result<FetchOutcome, FetchError> {
        Err(FetchError)
    }
}
