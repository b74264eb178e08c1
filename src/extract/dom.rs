//! Parsing a page under the time budget.
//!
//! html5ever cannot be interrupted inside a call, and some markup makes its tree builder
//! slow (every start tag scans the stack of open elements, so 100,000 unclosed `<div>`s
//! cost quadratic time). Feeding the parser in chunks and checking the budget between
//! them bounds the time one page can take to a chunk past its budget.

use super::budget;
use crate::source::{CssSelector, Plain};
use html5ever::driver::{self, ParseOpts};
use html5ever::{local_name, ns, LocalName};
use scraper::node::Element;
use scraper::{ElementRef, Html, HtmlTreeSink};
use tendril::{StrTendril, TendrilSink};

/// Bytes handed to the parser between two budget checks.
const CHUNK_BYTES: usize = 16 * 1024;

/// Parses a whole document, like [`Html::parse_document`]; when the budget runs out the
/// rest of the input is dropped (the caller sees [`budget::expired`] and discards the
/// page).
pub fn parse_document(html: &str) -> Html {
    let mut parser = driver::parse_document(
        HtmlTreeSink::new(Html::new_document()),
        ParseOpts::default(),
    );
    let mut rest = html;
    while !rest.is_empty() {
        if budget::expired() {
            break;
        }
        let mut cut = rest.len().min(CHUNK_BYTES);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        parser.process(StrTendril::from_slice(&rest[..cut]));
        rest = &rest[cut..];
    }
    parser.finish()
}

/// The value of `el`'s attribute `name` (no namespace), as [`Element::attr`] gives it.
/// `Element::attr` interns its `&str` argument on every call (a hash and a lookup in the
/// atom table); the readers ask several attributes of every element, so they pass the
/// static atom (`local_name!("href")`) and the lookup is integer comparisons.
pub fn attr<'a>(el: &'a Element, name: &LocalName) -> Option<&'a str> {
    el.attrs
        .iter()
        .find(|(k, _)| k.local == *name && k.ns == ns!() && k.prefix.is_none())
        .map(|(_, v)| &**v)
}

/// The elements `selector` matches, in the order [`Html::select`] gives (the tree's
/// node order, attached elements only). Elements that cannot match by their own tag, id
/// and classes are skipped without asking the matcher (see [`CssSelector`]).
pub fn select<'a, 's>(
    doc: &'a Html,
    selector: &'s CssSelector,
) -> impl Iterator<Item = ElementRef<'a>> + use<'a, 's> {
    doc.tree.nodes().filter_map(ElementRef::wrap).filter(|el| {
        el.parent().is_some() && selector.may_match(el.value()) && selector.selector().matches(el)
    })
}

/// What each of `selectors` matches (`None` for an absent selector), in one pass over
/// the document: each list is what [`select`] gives for its selector, in that order.
pub fn select_all<'a>(
    doc: &'a Html,
    selectors: &[Option<&CssSelector>],
) -> Vec<Option<Vec<ElementRef<'a>>>> {
    let mut found: Vec<Option<Vec<ElementRef<'a>>>> =
        selectors.iter().map(|s| s.map(|_| Vec::new())).collect();
    if selectors.iter().all(Option::is_none) {
        return found;
    }
    for el in doc.tree.nodes().filter_map(ElementRef::wrap) {
        if el.parent().is_none() {
            continue;
        }
        let plain = Plain::of(el.value());
        for (selector, list) in selectors.iter().zip(found.iter_mut()) {
            if let (Some(selector), Some(list)) = (selector, list) {
                if selector.may_match_plain(&plain) && selector.selector().matches(&el) {
                    list.push(el);
                }
            }
        }
    }
    found
}

/// The elements the meta, microdata, JSON-LD, `<noscript>` and `<title>` readers need,
/// gathered in one pass over the document. Each reader used to run its own selector over
/// every node (one `select("meta")` per key looked up, about twenty a page); the lists
/// keep the order `Html::select` gives (the tree's node order, attached nodes only), so
/// every reader sees the same elements in the same order as before.
pub struct PageIndex<'a> {
    pub doc: &'a Html,
    /// `<meta>` elements as (`property`, else `name`; `content`).
    pub metas: Vec<(Option<&'a str>, Option<&'a str>)>,
    /// Elements with an `itemprop` attribute.
    pub itemprops: Vec<ElementRef<'a>>,
    /// `<script>` elements (JSON-LD is among them).
    pub scripts: Vec<ElementRef<'a>>,
    pub noscripts: Vec<ElementRef<'a>>,
    /// The first `<title>`.
    pub title: Option<ElementRef<'a>>,
}

impl<'a> PageIndex<'a> {
    pub fn new(doc: &'a Html) -> Self {
        let mut idx = PageIndex {
            doc,
            metas: Vec::new(),
            itemprops: Vec::new(),
            scripts: Vec::new(),
            noscripts: Vec::new(),
            title: None,
        };
        for node in doc.tree.nodes() {
            let Some(el) = ElementRef::wrap(node) else {
                continue;
            };
            // `Html::select` skips detached nodes (the document root has no parent
            // either, but it is not an element).
            if el.parent().is_none() {
                continue;
            }
            let v = el.value();
            let local = &v.name.local;
            if *local == local_name!("meta") {
                idx.metas.push((
                    attr(v, &local_name!("property")).or_else(|| attr(v, &local_name!("name"))),
                    attr(v, &local_name!("content")),
                ));
            } else if *local == local_name!("script") {
                idx.scripts.push(el);
            } else if *local == local_name!("noscript") {
                idx.noscripts.push(el);
            } else if *local == local_name!("title") && idx.title.is_none() {
                idx.title = Some(el);
            }
            if attr(v, &local_name!("itemprop")).is_some() {
                idx.itemprops.push(el);
            }
        }
        idx
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_parse_gives_the_same_tree_as_one_call() {
        let mut page = String::from("<!doctype html><html><head><title>T</title></head><body>");
        for i in 0..3000 {
            page.push_str(&format!(
                "<div class=\"c{i}\"><p>Line {i} – ₹ 850/- é\r\n<b>bold</b></p><!-- c --></div>"
            ));
        }
        page.push_str("</body></html>");
        assert!(page.len() > 4 * CHUNK_BYTES);
        let one = Html::parse_document(&page);
        let chunked = parse_document(&page);
        assert_eq!(chunked.html(), one.html());
    }

    #[test]
    fn select_gives_what_scraper_selects_in_the_same_order() {
        let doc = Html::parse_document(
            r#"<html><body><table><div class="c">foster-parented</div><tr><td class="c">1</td></tr></table>
            <p class="C">2</p><div id="X"><p class="c d">3</p></div><template><p class="c">t</p></template></body></html>"#,
        );
        for css in ["p.c", ".c", "#x p", "td, div.c", "p"] {
            let plain = scraper::Selector::parse(css).unwrap();
            let fast = CssSelector::from(plain.clone());
            let ids = |it: Vec<ElementRef<'_>>| it.iter().map(|e| e.id()).collect::<Vec<_>>();
            assert_eq!(
                ids(select(&doc, &fast).collect()),
                ids(doc.select(&plain).collect()),
                "{css}"
            );
        }
    }

    #[test]
    fn one_pass_for_several_selectors_gives_what_each_selects() {
        let doc = Html::parse_document(
            r#"<html><body><div class="c"><p class="c d">1</p></div><p id="x">2</p><span>3</span></body></html>"#,
        );
        let sels: Vec<CssSelector> = ["p", ".c", "#x", "div p.d"]
            .iter()
            .map(|css| scraper::Selector::parse(css).unwrap().into())
            .collect();
        let mut asked: Vec<Option<&CssSelector>> = sels.iter().map(Some).collect();
        asked.insert(1, None);
        let all = select_all(&doc, &asked);
        assert_eq!(all.len(), 5);
        assert!(all[1].is_none());
        let ids = |v: &[ElementRef<'_>]| v.iter().map(|e| e.id()).collect::<Vec<_>>();
        for (sel, got) in asked.iter().zip(&all) {
            if let (Some(sel), Some(got)) = (sel, got) {
                assert_eq!(ids(got), ids(&select(&doc, sel).collect::<Vec<_>>()));
            }
        }
        assert_eq!(all[0].as_ref().unwrap().len(), 2);
    }

    #[test]
    fn the_index_lists_what_the_selectors_select_in_the_same_order() {
        use scraper::Selector;
        let doc = Html::parse_document(
            r#"<html><head><title>One</title><meta property="og:title" content="A">
            <meta name="description" content="B"><script type="application/ld+json">{}</script>
            </head><body><svg><title>Two</title></svg><p itemprop="startDate">x</p>
            <table><meta itemprop="price" content="5"><tr><td>c</td></tr></table>
            <noscript><p>n</p></noscript><script>var a</script></body></html>"#,
        );
        let idx = PageIndex::new(&doc);
        let ids = |sel: &str| -> Vec<_> {
            doc.select(&Selector::parse(sel).unwrap())
                .map(|e| e.id())
                .collect()
        };
        let own = |v: &[ElementRef<'_>]| -> Vec<_> { v.iter().map(|e| e.id()).collect() };
        assert_eq!(own(&idx.itemprops), ids("[itemprop]"));
        assert_eq!(idx.itemprops.len(), 2);
        assert_eq!(own(&idx.scripts), ids("script"));
        assert_eq!(own(&idx.noscripts), ids("noscript"));
        assert_eq!(idx.title.map(|t| t.id()), ids("title").first().copied());
        let metas: Vec<_> = doc
            .select(&Selector::parse("meta").unwrap())
            .map(|m| {
                let v = m.value();
                (
                    v.attr("property").or_else(|| v.attr("name")),
                    v.attr("content"),
                )
            })
            .collect();
        assert_eq!(idx.metas, metas);
        assert_eq!(idx.metas.len(), 3);
    }
}
