//! A source's CSS selector, with what an element must plainly carry to match it.
//!
//! Matching a selector asks every element of the page for its classes, and scraper
//! interns each class name (a hash and a lock on the global atom table) the first time
//! an element is asked. A source selector is run over every element of every page, and
//! almost none match: reading the rightmost compound once, when the source is loaded
//! (`.ticket-label`, `#payment-details`, `article.entry`), lets the extractor skip every
//! element whose raw attributes cannot match before the real matcher runs.

use html5ever::local_name;
use scraper::node::Element;
use scraper::Selector;
use selectors::parser::{Component, ParseRelative, SelectorList};
use std::ops::Deref;

/// A compiled selector and the cheap test every element it matches passes.
#[derive(Debug, Clone)]
pub struct CssSelector {
    selector: Selector,
    /// One entry per selector of the list (`a, b`): the rightmost compound's plain
    /// requirements. An element can match only if it meets one entry in full.
    needs: Vec<Needs>,
}

/// What the rightmost compound of one selector names: the element's own tag, id,
/// classes and tested attributes (other parts, such as `:not()`, add nothing here).
#[derive(Debug, Clone, Default)]
struct Needs {
    tag: Option<String>,
    id: Option<String>,
    classes: Vec<String>,
    /// [`class_bit`] of every class in `classes`: an element lacking one of these bits in
    /// its [`Plain::class_bits`] lacks that class, found without reading its tokens.
    class_bits: u64,
    /// Attributes the compound tests (`[data-hook]`, `[data-hook='event-details']`),
    /// by name: the element must carry each.
    attributes: Vec<String>,
}

/// One bit standing for a class token, the same for every ASCII case of it (classes are
/// compared without ASCII case here). Read from the token's length and its first and
/// last bytes: every element's every token is asked, so the bit must cost no more than
/// finding the token did.
fn class_bit(token: &str) -> u64 {
    let b = token.as_bytes();
    let (Some(first), Some(last)) = (b.first(), b.last()) else {
        return 0;
    };
    let mix = u32::from(first.to_ascii_lowercase())
        .wrapping_mul(31)
        .wrapping_add(u32::from(last.to_ascii_lowercase()))
        .wrapping_mul(31)
        .wrapping_add(b.len() as u32);
    1 << (mix % 64)
}

impl CssSelector {
    /// The selector as scraper runs it.
    pub fn selector(&self) -> &Selector {
        &self.selector
    }

    /// False when `el` cannot match: a necessary condition only, read from the raw
    /// attributes as scraper's matcher reads them, compared without case (quirks-mode
    /// pages compare ids and classes so; names are compared lower-cased anyway).
    pub fn may_match(&self, el: &Element) -> bool {
        self.may_match_plain(&Plain::of(el))
    }

    /// [`CssSelector::may_match`] on attributes already read (one read serves every
    /// selector asked about the element).
    pub fn may_match_plain(&self, plain: &Plain<'_>) -> bool {
        self.needs.iter().any(|n| n.met_by(plain))
    }
}

/// An element's `class` and `id` attributes, read once for every selector's test.
pub struct Plain<'e> {
    el: &'e Element,
    /// The first `class` attribute (in the element's attribute order).
    class: Option<&'e str>,
    /// More than one `class` attribute (namespaced ones count, as in scraper).
    more_classes: bool,
    /// The first `id` attribute, as `Element::id` reads it.
    id: Option<&'e str>,
    /// [`class_bit`] of every token of every `class` attribute: the element's classes
    /// are split once, not once per selector asking (long framework class lists made
    /// that split the test's main cost).
    class_bits: u64,
}

impl<'e> Plain<'e> {
    pub fn of(el: &'e Element) -> Self {
        let mut plain = Plain {
            el,
            class: None,
            more_classes: false,
            id: None,
            class_bits: 0,
        };
        for (name, value) in &el.attrs {
            if name.local == local_name!("class") {
                if plain.class.is_none() {
                    plain.class = Some(value);
                } else {
                    plain.more_classes = true;
                }
                plain.class_bits |= value
                    .split_ascii_whitespace()
                    .fold(0, |bits, token| bits | class_bit(token));
            } else if name.local == local_name!("id") && plain.id.is_none() {
                plain.id = Some(value);
            }
        }
        plain
    }

    fn has_attribute(&self, name: &str) -> bool {
        self.el
            .attrs
            .iter()
            .any(|(k, _)| k.local.as_ref().eq_ignore_ascii_case(name))
    }

    fn has_class(&self, class: &str) -> bool {
        if self.more_classes {
            return self
                .el
                .attrs
                .iter()
                .filter(|(k, _)| k.local == local_name!("class"))
                .flat_map(|(_, v)| v.split_ascii_whitespace())
                .any(|token| token.eq_ignore_ascii_case(class));
        }
        self.class.is_some_and(|v| {
            v.split_ascii_whitespace()
                .any(|token| token.eq_ignore_ascii_case(class))
        })
    }
}

impl Needs {
    fn met_by(&self, plain: &Plain<'_>) -> bool {
        // Classes first: the usual source selector names one, and most elements have
        // none of the classes a page's widget uses (their bits say so at once).
        plain.class_bits & self.class_bits == self.class_bits
            && self.classes.iter().all(|c| plain.has_class(c))
            && self
                .tag
                .as_ref()
                .is_none_or(|tag| plain.el.name.local.as_ref().eq_ignore_ascii_case(tag))
            && self
                .id
                .as_ref()
                .is_none_or(|id| plain.id.is_some_and(|v| v.eq_ignore_ascii_case(id)))
            && self.attributes.iter().all(|a| plain.has_attribute(a))
    }
}

impl From<Selector> for CssSelector {
    fn from(selector: Selector) -> Self {
        use scraper::selector::ToCss;
        let css = selector.to_css_string();
        let mut input = cssparser::ParserInput::new(&css);
        let mut parser = cssparser::Parser::new(&mut input);
        let needs =
            match SelectorList::parse(&scraper::selector::Parser, &mut parser, ParseRelative::No) {
                Ok(list) => list
                    .slice()
                    .iter()
                    .map(|sel| {
                        let mut n = Needs::default();
                        for component in sel.iter() {
                            match component {
                                Component::LocalName(name) => n.tag = Some(name.name.0.to_string()),
                                Component::ID(id) => n.id = Some(id.0.to_string()),
                                Component::Class(class) => {
                                    n.class_bits |= class_bit(&class.0);
                                    n.classes.push(class.0.to_string());
                                }
                                // Any namespace and any case: a necessary condition only.
                                Component::AttributeInNoNamespaceExists { local_name, .. }
                                | Component::AttributeInNoNamespace { local_name, .. } => {
                                    n.attributes.push(local_name.0.to_string());
                                }
                                Component::AttributeOther(a) => {
                                    n.attributes.push(a.local_name.0.to_string());
                                }
                                _ => {}
                            }
                        }
                        n
                    })
                    .collect(),
                // Scraper parsed it once already; should the round trip fail, every
                // element goes to the real matcher.
                Err(_) => vec![Needs::default()],
            };
        CssSelector { selector, needs }
    }
}

impl Deref for CssSelector {
    type Target = Selector;

    fn deref(&self) -> &Selector {
        &self.selector
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scraper::{ElementRef, Html};

    /// Every element the real matcher selects passes the cheap test, and the cheap
    /// test turns most others away.
    #[test]
    fn the_cheap_test_never_refuses_a_match() {
        let page = Html::parse_document(
            r#"<html><body>
            <div class="Event-Details-Main x"><p class="event-info"><span class="event-date-value">21 June</span></p></div>
            <div id="Payment-Details"><p>₹ 850</p></div>
            <main id="content"><article class="entry post">text</article></main>
            <section data-hook="event-details"><b class="ticket-label">Early</b></section>
            <ul><li class="a b">1</li><li class="b">2</li><li class="B A" CLASS="c">3</li></ul>
            <div data-Role="Banner" title="x"><svg viewBox="0 0 1 1"><a xlink:href="t.svg">t</a></svg></div>
            </body></html>"#,
        );
        let cases = [
            "div.event-details-main .event-info .event-date-value",
            "#payment-details",
            "main#content article.entry",
            "[data-hook='event-details']",
            "li.a.b, li.b",
            "li.c",
            "[data-hook]",
            "[DATA-HOOK]",
            "[DATA-HOOK='event-details'] b",
            "section[data-hook^='event']",
            "[data-role='Banner' i]",
            "li[class~='a']",
            "[viewBox]",
            "[*|href]",
            "div[title]:not([hidden])",
            "ARTICLE.ENTRY",
            "li:not(.a)",
            "section > b.ticket-label",
            "p",
            "*",
        ];
        for css in cases {
            let plain = Selector::parse(css).unwrap();
            let fast = CssSelector::from(plain.clone());
            let mut refused = 0;
            for node in page.tree.nodes() {
                let Some(el) = ElementRef::wrap(node) else {
                    continue;
                };
                if plain.matches(&el) {
                    assert!(fast.may_match(el.value()), "{css} on {:?}", el.value());
                } else if !fast.may_match(el.value()) {
                    refused += 1;
                }
            }
            if (css.contains('.') || css.contains('[')) && !css.contains(':') {
                assert!(refused > 0, "{css}: the test turned nothing away");
            }
        }
    }
}
