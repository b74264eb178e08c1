//! Links of a page, for the crawler.

use scraper::{Html, Selector};
use std::collections::HashSet;
use std::sync::LazyLock;
use url::Url;

static BASE: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("base[href]").expect("static selector"));
static ANCHOR: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("a[href]").expect("static selector"));

/// Absolute http(s) links from `<a href>`, resolved against `<base href>` (itself
/// resolved against `base`) or `base`, fragments dropped, de-duplicated in document
/// order.
pub fn page_links(html: &str, base: &Url) -> Vec<Url> {
    let doc = Html::parse_document(html);
    let effective = doc
        .select(&BASE)
        .next()
        .and_then(|b| b.value().attr("href"))
        .and_then(|h| base.join(h.trim()).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .unwrap_or_else(|| base.clone());
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for a in doc.select(&ANCHOR) {
        let Some(href) = a.value().attr("href") else {
            continue;
        };
        let href = href.trim();
        if href.is_empty() || href.starts_with('#') {
            continue;
        }
        let Ok(mut url) = effective.join(href) else {
            continue;
        };
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            continue;
        }
        url.set_fragment(None);
        if seen.insert(url.as_str().to_string()) {
            out.push(url);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn links(html: &str, base: &str) -> Vec<String> {
        page_links(html, &Url::parse(base).unwrap())
            .into_iter()
            .map(String::from)
            .collect()
    }

    #[test]
    fn relative_links_resolve_against_the_page() {
        assert_eq!(
            links(
                r#"<a href="/event/a/1/0">A</a><a href="b">B</a>"#,
                "https://x.test/list/page"
            ),
            vec!["https://x.test/event/a/1/0", "https://x.test/list/b"]
        );
    }

    #[test]
    fn base_href_is_honoured() {
        assert_eq!(
            links(
                r#"<head><base href="https://cdn.test/root/"></head><a href="e/1">1</a>"#,
                "https://x.test/p"
            ),
            vec!["https://cdn.test/root/e/1"]
        );
    }

    #[test]
    fn relative_base_href_resolves_against_the_page() {
        assert_eq!(
            links(
                r#"<base href="/sub/"><a href="e">1</a>"#,
                "https://x.test/a/b"
            ),
            vec!["https://x.test/sub/e"]
        );
    }

    #[test]
    fn fragments_dropped_and_duplicates_removed_in_order() {
        assert_eq!(
            links(
                r##"<a href="/b#top">1</a><a href="/a">2</a><a href="/b">3</a><a href="#x">4</a>"##,
                "https://x.test/"
            ),
            vec!["https://x.test/b", "https://x.test/a"]
        );
    }

    #[test]
    fn non_http_links_are_skipped() {
        assert_eq!(
            links(
                r#"<a href="mailto:a@b.c">m</a><a href="tel:+91">t</a><a href="javascript:void(0)">j</a><a href="ftp://f.test/x">f</a><a href="HTTPS://Rzp.io/rzp/AbC">r</a>"#,
                "https://x.test/"
            ),
            vec!["https://rzp.io/rzp/AbC"]
        );
    }

    #[test]
    fn links_are_kept_case_sensitive_in_path() {
        assert_eq!(
            links(
                r#"<a href="https://www.yoactiv.com/Event/Rajesh">r</a>"#,
                "https://x.test/"
            ),
            vec!["https://www.yoactiv.com/Event/Rajesh"]
        );
    }
}
