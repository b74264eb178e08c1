//! A private copy of `fixtures/` that a test can change: drop links from a listing,
//! serve a page under a second URL, change a page's prices, make a page fail.
//! Every change is generic (driven by the manifest, the goldens and the source file),
//! so the tests do not depend on one page's wording.

use nachna_ingest::source::Source;
use regex::Regex;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use url::Url;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Manifest {
    page: Vec<ManifestPage>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ManifestPage {
    url: String,
    file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    content_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
}

pub struct ReplayDir {
    dir: tempfile::TempDir,
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

impl ReplayDir {
    pub fn copy_of_fixtures() -> ReplayDir {
        let dir = tempfile::tempdir().unwrap();
        copy_tree(Path::new("fixtures"), dir.path());
        ReplayDir { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    fn manifest(&self) -> Manifest {
        toml::from_str(&std::fs::read_to_string(self.path().join("manifest.toml")).unwrap())
            .unwrap()
    }

    fn save_manifest(&self, m: &Manifest) {
        std::fs::write(
            self.path().join("manifest.toml"),
            toml::to_string(m).unwrap(),
        )
        .unwrap();
    }

    fn file_of(&self, url: &str) -> PathBuf {
        let m = self.manifest();
        let page = m
            .page
            .iter()
            .find(|p| p.url == url)
            .unwrap_or_else(|| panic!("{url} not in manifest"));
        self.path().join(&page.file)
    }

    /// (uuid, url) of every page whose golden holds exactly one future workshop with a
    /// price, in uuid order.
    fn single_priced_events(&self, studio_id: &str) -> Vec<(String, String)> {
        let dir = self.path().join(studio_id).join("expected");
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let docs: Vec<serde_json::Value> =
                serde_json::from_str(&std::fs::read_to_string(entry.unwrap().path()).unwrap())
                    .unwrap();
            let future: Vec<_> = docs
                .iter()
                .filter(|d| {
                    d["time_details"].as_array().unwrap().iter().any(|t| {
                        (
                            t["year"].as_i64().unwrap(),
                            t["month"].as_i64().unwrap(),
                            t["day"].as_i64().unwrap(),
                        ) >= (2026, 6, 1)
                    })
                })
                .collect();
            if future.len() == 1 && !future[0]["pricing_info"].as_str().unwrap().is_empty() {
                out.push((
                    future[0]["uuid"].as_str().unwrap().to_string(),
                    future[0]["payment_link"].as_str().unwrap().to_string(),
                ));
            }
        }
        out.sort();
        assert!(
            out.len() >= 2,
            "{studio_id}: fixtures need two single-workshop pages with prices"
        );
        out
    }

    pub fn first_event_with_price(&self, studio_id: &str) -> (String, String) {
        self.single_priced_events(studio_id)
            .into_iter()
            .next()
            .unwrap()
    }

    pub fn last_event_with_price(&self, studio_id: &str) -> (String, String) {
        self.single_priced_events(studio_id)
            .into_iter()
            .last()
            .unwrap()
    }

    /// Raises every price on the page by 7 rupees (in all the forms rupees are written).
    pub fn change_prices(&self, url: &str) {
        let path = self.file_of(url);
        let html = std::fs::read_to_string(&path).unwrap();
        let amount = Regex::new(r"(?:₹|Rs\.?|INR)\s*([0-9][0-9,]*)|([0-9][0-9,]*)\s*/-|\x22price\x22\s*:\s*\x22?([0-9][0-9,.]*)").unwrap();
        let changed = amount.replace_all(&html, |c: &regex::Captures| {
            let whole = c.get(0).unwrap().as_str();
            let digits = c.get(1).or(c.get(2)).or(c.get(3)).unwrap().as_str();
            let value: f64 = digits.replace(',', "").parse().unwrap();
            whole.replacen(digits, &format!("{}", value as i64 + 7), 1)
        });
        assert_ne!(changed, html, "{url}: no price found to change");
        std::fs::write(&path, changed.as_ref()).unwrap();
    }

    /// Serves `url`'s page also under a second URL (another slug) and links it from the
    /// studio's listings. Returns the new URL.
    pub fn duplicate_page_under_new_link(&self, source: &Source, url: &str) -> String {
        let parsed = Url::parse(url).unwrap();
        let slug = source.slug_for(&parsed).expect("event URL has a slug");
        let new_url = url.replacen(&slug, &format!("{slug}-again"), 1);
        assert!(
            source.crawl.follow.is_match(&new_url),
            "{new_url} must still be an event link"
        );
        let mut m = self.manifest();
        let file = m.page.iter().find(|p| p.url == url).unwrap().file.clone();
        m.page.push(ManifestPage {
            url: new_url.clone(),
            file,
            content_type: None,
            status: None,
        });
        self.save_manifest(&m);
        for listing in &source.crawl.start_urls {
            let path = self.file_of(listing.as_str());
            let html = std::fs::read_to_string(&path).unwrap();
            let link = format!("<a href=\"{new_url}\">Book now</a></body>");
            std::fs::write(&path, html.replacen("</body>", &link, 1)).unwrap();
        }
        new_url
    }

    fn rewrite_listing_links(&self, source: &Source, drop: impl Fn(&Url) -> bool) {
        let href = Regex::new(r#"href\s*=\s*("([^"]*)"|'([^']*)')"#).unwrap();
        for listing in &source.crawl.start_urls {
            let path = self.file_of(listing.as_str());
            let html = std::fs::read_to_string(&path).unwrap();
            let out = href.replace_all(&html, |c: &regex::Captures| {
                let value = c.get(2).or(c.get(3)).unwrap().as_str();
                match listing.join(value) {
                    Ok(target) if drop(&target) => "href=\"#removed\"".to_string(),
                    _ => c.get(0).unwrap().as_str().to_string(),
                }
            });
            std::fs::write(&path, out.as_ref()).unwrap();
        }
    }

    /// Removes every link to `url` from the studio's listing pages.
    pub fn remove_link_from_listings(&self, source: &Source, url: &str) {
        let target = Url::parse(url).unwrap();
        self.rewrite_listing_links(source, |u| *u == target);
    }

    /// Removes every link from the studio's listing pages.
    pub fn empty_listings(&self, source: &Source) {
        self.rewrite_listing_links(source, |_| true);
    }

    /// Makes the replayed server answer `status` for `url`.
    pub fn set_status(&self, url: &str, status: u16) {
        let mut m = self.manifest();
        m.page.iter_mut().find(|p| p.url == url).unwrap().status = Some(status);
        self.save_manifest(&m);
    }
}
