//! Replay: answering fetches from saved files listed in `<dir>/manifest.toml`, so the
//! pipeline and its tests run offline (format in `docs/normalisation.md`):
//!
//! ```toml
//! [[page]]
//! url = "https://www.yoactiv.com/dance_n_addiction"
//! file = "dance_n_addiction/listing.html"           # relative to the manifest
//! content_type = "text/html; charset=utf-8"         # optional, this is the default
//! status = 200                                      # optional, this is the default
//! ```
//!
//! A URL not listed is an HTTP 404. A robots.txt not listed counts as missing (all
//! allowed); a listed one is obeyed like a live one. The allowed-host check and the size
//! cap apply as in live mode; politeness delays do not, and nothing is retried.

use super::client::robots_verdict;
use super::error::BodySize;
use super::robots::{RobotsAnswer, RobotsRules};
use super::{FetchError, FetchOutcome, Inner, PageRequest, RawResponse};
use reqwest::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use serde::Deserialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use tokio::time::Instant;
use url::Url;

const DEFAULT_CONTENT_TYPE: &str = "text/html; charset=utf-8";

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    #[serde(default)]
    page: Vec<ManifestPage>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestPage {
    url: String,
    file: PathBuf,
    content_type: Option<String>,
    status: Option<u16>,
}

#[derive(Debug, Clone)]
struct ReplayPage {
    path: PathBuf,
    content_type: String,
    status: u16,
}

/// The loaded manifest: URL (without fragment) → saved page.
#[derive(Debug)]
pub(super) struct Replay {
    pages: HashMap<String, ReplayPage>,
}

impl Replay {
    /// Reads and checks the manifest: every URL parses, none repeats, every file exists.
    pub(super) fn load(dir: &Path) -> Result<Replay, FetchError> {
        let path = dir.join("manifest.toml");
        let problem = |reason: String| FetchError::ReplayManifest {
            path: path.clone(),
            reason,
        };
        let text =
            std::fs::read_to_string(&path).map_err(|e| problem(format!("cannot read: {e}")))?;
        let manifest: Manifest =
            toml::from_str(&text).map_err(|e| problem(e.message().trim().to_string()))?;
        let mut pages = HashMap::new();
        for (i, page) in manifest.page.into_iter().enumerate() {
            let n = i + 1;
            let url = Url::parse(&page.url)
                .map_err(|e| problem(format!("page {n}: url `{}`: {e}", page.url)))?;
            let file = dir.join(&page.file);
            if !file.is_file() {
                return Err(problem(format!(
                    "page {n} ({url}): file {} does not exist",
                    file.display()
                )));
            }
            let entry = ReplayPage {
                path: file,
                content_type: page
                    .content_type
                    .unwrap_or_else(|| DEFAULT_CONTENT_TYPE.to_string()),
                status: page.status.unwrap_or(200),
            };
            if pages.insert(key(&url), entry).is_some() {
                return Err(problem(format!("page {n}: url {url} is listed twice")));
            }
        }
        Ok(Replay { pages })
    }

    fn get(&self, url: &Url) -> Option<&ReplayPage> {
        self.pages.get(&key(url))
    }

    /// robots.txt rules from the manifest; unlisted means missing, so all allowed.
    async fn robots(&self, robots_url: &Url, agent: &str, limit: usize) -> RobotsRules {
        let Some(page) = self.get(robots_url) else {
            return RobotsRules::AllowAll;
        };
        match tokio::fs::read(&page.path).await {
            Ok(body) => {
                let body = &body[..body.len().min(limit)];
                RobotsRules::from_answer(agent, RobotsAnswer::Status(page.status, body))
            }
            Err(e) => RobotsRules::from_answer(
                agent,
                RobotsAnswer::Unreachable(format!("{}: {e}", page.path.display())),
            ),
        }
    }
}

fn key(url: &Url) -> String {
    let mut url = url.clone();
    url.set_fragment(None);
    url.to_string()
}

impl Inner {
    pub(super) async fn fetch_replay(
        &self,
        replay: &Replay,
        req: &PageRequest<'_>,
        started: Instant,
    ) -> Result<FetchOutcome, FetchError> {
        let url = req.url;
        if req.obey_robots {
            let agent = &self.robots_agent;
            let rules = self
                .robots
                .rules(url, |robots_url| async move {
                    replay
                        .robots(&robots_url, agent, super::robots::MAX_ROBOTS_BYTES)
                        .await
                })
                .await;
            robots_verdict(url, &rules)?;
        }
        let Some(page) = replay.get(url) else {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: 404,
                retry_after: None,
            });
        };
        let file_error = |source| FetchError::ReplayFile {
            url: url.to_string(),
            path: page.path.clone(),
            source,
        };
        let limit = self.settings.max_body_bytes;
        let len = tokio::fs::metadata(&page.path)
            .await
            .map_err(file_error)?
            .len();
        if len > limit as u64 {
            return Err(FetchError::TooLarge {
                url: url.to_string(),
                limit,
                size: BodySize::File(len),
            });
        }
        if page.status == 304 {
            return Ok(FetchOutcome::NotModified { url: url.clone() });
        }
        if !(200..300).contains(&page.status) {
            return Err(FetchError::Status {
                url: url.to_string(),
                status: page.status,
                retry_after: None,
            });
        }
        let body = tokio::fs::read(&page.path).await.map_err(file_error)?;
        let mut headers = HeaderMap::new();
        if let Ok(ct) = HeaderValue::from_str(&page.content_type) {
            headers.insert(CONTENT_TYPE, ct);
        }
        let raw = RawResponse {
            final_url: url.clone(),
            status: page.status,
            headers,
            body,
        };
        Ok(FetchOutcome::Fetched(raw.into_page(
            url,
            1,
            started.elapsed(),
        )?))
    }
}
