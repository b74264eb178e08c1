//! Visible text of a page as block-aware lines.
//!
//! Dropped before anything reads the text: `script`, `style`, `noscript`, `template`,
//! `svg`, `iframe`, comments (and processing instructions, which parsers keep as
//! comments), `nav`, `aside`, `footer`, a site `header` (one not inside `article` or
//! `main`), elements marked `hidden` or `display:none`, landmark roles for navigation,
//! banners, footers and complementary content, and elements whose class or id suggests
//! a sidebar, related or recommended items, a footer, navigation, cookies or a
//! newsletter box. Block elements (`p`, `div`, `li`, headings, `br`, table rows, …)
//! start new lines; table cells on one row are joined with ` | `.

use scraper::node::Node;
use scraper::{ElementRef, Html, Selector};

/// One line of visible text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub text: String,
    /// 1–6 inside a heading element, else 0.
    pub heading: u8,
}

/// The visible text of a page or of part of it.
#[derive(Debug, Clone, Default)]
pub struct PageText {
    pub lines: Vec<Line>,
    /// `href`s of links in the text, with the index of the line they sit on.
    pub links: Vec<(usize, String)>,
    /// `datetime` attributes of `<time>` elements, with their line index.
    pub time_attrs: Vec<(usize, String)>,
}

impl PageText {
    /// All lines joined with `\n`.
    pub fn joined(&self) -> String {
        let mut s = String::new();
        for (i, l) in self.lines.iter().enumerate() {
            if i > 0 {
                s.push('\n');
            }
            s.push_str(&l.text);
        }
        s
    }
}

const SKIP_TAGS: &[&str] = &[
    "script", "style", "noscript", "template", "svg", "iframe", "object", "canvas", "head", "nav",
    "aside", "footer", "select", "dialog", "math",
];

const BLOCK_TAGS: &[&str] = &[
    "address",
    "article",
    "blockquote",
    "body",
    "caption",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hgroup",
    "hr",
    "html",
    "li",
    "main",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "tr",
    "ul",
    "button",
    "center",
    "legend",
    "option",
];

const BOILERPLATE_SUBSTRINGS: &[&str] = &[
    "sidebar",
    "related",
    "recommend",
    "similar",
    "cookie",
    "consent",
    "gdpr",
    "newsletter",
    "breadcrumb",
    "footer",
    "navbar",
    "navigation",
    "masthead",
    "moreevents",
    "otherevents",
    "upcomingevents",
    "youmayalso",
    "alsolike",
    "comments",
];

const BOILERPLATE_PARTS: &[&str] = &["nav", "menu", "aside", "share", "sharing", "topbar"];

/// Class tokens of components that merely contain the word (a card's footer).
const COMPONENT_PREFIXES: &[&str] = &[
    "card", "modal", "panel", "ticket", "booking", "checkout", "price", "event",
];

/// True when a class token or id names page furniture rather than content.
pub fn is_boilerplate_token(token: &str) -> bool {
    let lower = token.to_ascii_lowercase();
    let parts: Vec<&str> = lower
        .split(['-', '_', ' '])
        .filter(|p| !p.is_empty())
        .collect();
    if parts
        .first()
        .is_some_and(|p| COMPONENT_PREFIXES.contains(p))
    {
        return false;
    }
    let squashed: String = parts.concat();
    BOILERPLATE_SUBSTRINGS.iter().any(|s| squashed.contains(s))
        || parts.iter().any(|p| BOILERPLATE_PARTS.contains(p))
}

fn has_ancestor(el: &ElementRef<'_>, names: &[&str]) -> bool {
    el.ancestors()
        .filter_map(ElementRef::wrap)
        .any(|a| names.contains(&a.value().name()))
}

/// True when an element and everything in it is left out of the visible text.
pub fn is_skipped(el: &ElementRef<'_>) -> bool {
    let v = el.value();
    let name = v.name();
    if SKIP_TAGS.contains(&name) {
        return true;
    }
    if name == "header" && !has_ancestor(el, &["article", "main"]) {
        return true;
    }
    if v.attr("hidden").is_some() {
        return true;
    }
    if let Some(style) = v.attr("style") {
        let s: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if s.contains("display:none") || s.contains("visibility:hidden") {
            return true;
        }
    }
    if let Some(role) = v.attr("role") {
        if matches!(
            role.to_ascii_lowercase().as_str(),
            "navigation" | "banner" | "contentinfo" | "complementary" | "dialog" | "alertdialog"
        ) {
            return true;
        }
    }
    if matches!(name, "body" | "html" | "main" | "article") {
        return false;
    }
    if v.classes().any(is_boilerplate_token) {
        return true;
    }
    if let Some(id) = v.id() {
        if is_boilerplate_token(id) {
            return true;
        }
    }
    false
}

struct Walker {
    out: PageText,
    buf: String,
    heading: u8,
    buf_heading: u8,
}

impl Walker {
    fn flush(&mut self) {
        let text = self.buf.trim();
        if !text.is_empty() {
            let text = text.to_string();
            self.out.lines.push(Line {
                text,
                heading: self.buf_heading,
            });
        }
        self.buf.clear();
        self.buf_heading = 0;
    }

    fn push_text(&mut self, t: &str) {
        let mut pending_space = self.buf.ends_with(' ');
        for c in t.chars() {
            if c.is_whitespace() || c == '\u{a0}' || c == '\u{200b}' || c == '\u{feff}' {
                pending_space = true;
            } else {
                if pending_space && !self.buf.is_empty() && !self.buf.ends_with(' ') {
                    self.buf.push(' ');
                }
                pending_space = false;
                if self.buf.is_empty() {
                    self.buf_heading = self.heading;
                }
                self.buf.push(c);
            }
        }
        if pending_space && !self.buf.is_empty() && !self.buf.ends_with(' ') {
            self.buf.push(' ');
        }
    }

    /// Index the next flushed line will get.
    fn current_line(&self) -> usize {
        self.out.lines.len()
    }

    fn walk_children(&mut self, el: ElementRef<'_>) {
        for child in el.children() {
            match child.value() {
                Node::Text(t) => self.push_text(t),
                Node::Element(_) => {
                    if let Some(c) = ElementRef::wrap(child) {
                        self.walk(c);
                    }
                }
                // Comments, doctypes and processing instructions are never visible.
                _ => {}
            }
        }
    }

    fn walk(&mut self, el: ElementRef<'_>) {
        if is_skipped(&el) {
            return;
        }
        let name = el.value().name();
        match name {
            "br" => {
                self.flush();
                return;
            }
            "td" | "th" => {
                // Cells after the first are separated by ` | `, empty ones included, so
                // a row and its header row line up cell by cell.
                let after_cell = el
                    .prev_siblings()
                    .filter_map(ElementRef::wrap)
                    .any(|s| matches!(s.value().name(), "td" | "th"));
                if after_cell {
                    let trimmed = self.buf.trim_end().to_string();
                    self.buf = trimmed;
                    self.buf.push_str(" | ");
                }
            }
            "img" => return,
            _ => {}
        }
        let block = BLOCK_TAGS.contains(&name);
        if block {
            self.flush();
        }
        if name == "a" {
            if let Some(href) = el.value().attr("href") {
                let line = self.current_line();
                self.out.links.push((line, href.trim().to_string()));
            }
        }
        if name == "time" {
            if let Some(dt) = el.value().attr("datetime") {
                let line = self.current_line();
                self.out.time_attrs.push((line, dt.trim().to_string()));
            }
        }
        let saved_heading = self.heading;
        if let Some(level) = name
            .strip_prefix('h')
            .and_then(|d| d.parse::<u8>().ok())
            .filter(|l| (1..=6).contains(l))
        {
            self.heading = level;
        }
        if name == "pre" {
            for line in el.text().collect::<String>().lines() {
                self.push_text(line);
                self.flush();
            }
        } else {
            self.walk_children(el);
        }
        self.heading = saved_heading;
        if block {
            self.flush();
        }
    }
}

/// Visible lines under `roots` (in document order), or under the whole document.
pub fn visible_text(doc: &Html, roots: Option<&[ElementRef<'_>]>) -> PageText {
    let mut w = Walker {
        out: PageText::default(),
        buf: String::new(),
        heading: 0,
        buf_heading: 0,
    };
    match roots {
        Some(roots) => {
            for r in roots {
                // A root is read even when its own class looks like furniture: the
                // caller chose it.
                w.walk_children(*r);
                w.flush();
            }
        }
        None => {
            w.walk(doc.root_element());
            w.flush();
        }
    }
    w.out
}

/// Elements matching `selector`, without those nested in an earlier match.
pub fn select_roots<'a>(doc: &'a Html, selector: &Selector) -> Vec<ElementRef<'a>> {
    let all: Vec<ElementRef<'a>> = doc.select(selector).collect();
    let ids: Vec<_> = all.iter().map(|e| e.id()).collect();
    all.iter()
        .filter(|e| !e.ancestors().any(|a| ids.contains(&a.id())))
        .copied()
        .collect()
}

/// The text of an element as one line (white space collapsed).
pub fn element_text(el: &ElementRef<'_>) -> String {
    let mut w = Walker {
        out: PageText::default(),
        buf: String::new(),
        heading: 0,
        buf_heading: 0,
    };
    w.walk_children(*el);
    w.flush();
    w.out
        .lines
        .iter()
        .map(|l| l.text.as_str())
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(html: &str) -> Vec<String> {
        let doc = Html::parse_document(html);
        visible_text(&doc, None)
            .lines
            .into_iter()
            .map(|l| l.text)
            .collect()
    }

    #[test]
    fn blocks_make_lines_and_inline_text_joins() {
        assert_eq!(
            lines("<div><p>Hello <b>big</b>   world</p><p>Two</p>Three<br>Four</div>"),
            vec!["Hello big world", "Two", "Three", "Four"]
        );
    }

    #[test]
    fn scripts_styles_comments_and_templates_are_dropped() {
        assert_eq!(
            lines("<body><script>var d='21 June'</script><style>.a{}</style><!-- 22 June --><template><p>23 June</p></template><noscript>24 June</noscript><p>Kept</p></body>"),
            vec!["Kept"]
        );
    }

    #[test]
    fn navigation_asides_footers_and_site_header_are_dropped() {
        assert_eq!(
            lines("<header>Site</header><nav>Menu</nav><main><article><header><h1>Title</h1></header><p>Body</p></article></main><aside>Other</aside><footer>Foot</footer>"),
            vec!["Title", "Body"]
        );
    }

    #[test]
    fn furniture_classes_and_ids_are_dropped() {
        assert_eq!(
            lines(
                r#"<div class="content">A</div><div class="col sidebar-right">B</div><div id="related-events">C</div><div class="cookie-banner">D</div><section class="site-footer">E</section><div class="card-footer">F</div><ul class="menu">G</ul>"#
            ),
            vec!["A", "F"]
        );
    }

    #[test]
    fn hidden_elements_are_dropped() {
        assert_eq!(
            lines(
                r#"<p hidden>A</p><p style="display: none">B</p><p>C</p><div role="navigation">D</div>"#
            ),
            vec!["C"]
        );
    }

    #[test]
    fn table_cells_share_a_row_line() {
        assert_eq!(
            lines("<table><tr><td>Early bird</td><td>850/-</td></tr><tr><th>OTS</th><td>1100/-</td></tr></table>"),
            vec!["Early bird | 850/-", "OTS | 1100/-"]
        );
    }

    #[test]
    fn empty_cells_keep_their_place() {
        assert_eq!(
            lines("<table><thead><th></th><th>Registration End Date</th><th>Fee</th></thead><tr><td>Early</td><td>May 2</td><td>850/-</td></tr></table>"),
            vec!["| Registration End Date | Fee", "Early | May 2 | 850/-"]
        );
    }

    #[test]
    fn headings_are_marked() {
        let doc = Html::parse_document("<h1>Big <i>title</i></h1><p>x</p><h3>small</h3>");
        let t = visible_text(&doc, None);
        let levels: Vec<u8> = t.lines.iter().map(|l| l.heading).collect();
        assert_eq!(levels, vec![1, 0, 3]);
        assert_eq!(t.lines[0].text, "Big title");
    }

    #[test]
    fn links_and_time_attributes_are_recorded_with_their_line() {
        let doc = Html::parse_document(
            r#"<p>one</p><p>by <a href="https://instagram.com/x">X</a> on <time datetime="2026-06-21T18:00">Sat</time></p>"#,
        );
        let t = visible_text(&doc, None);
        assert_eq!(t.links, vec![(1, "https://instagram.com/x".to_string())]);
        assert_eq!(t.time_attrs, vec![(1, "2026-06-21T18:00".to_string())]);
    }

    #[test]
    fn non_breaking_spaces_collapse() {
        assert_eq!(lines("<p>Rs.&nbsp;&nbsp;850</p>"), vec!["Rs. 850"]);
    }

    #[test]
    fn roots_limit_the_text() {
        let doc = Html::parse_document(
            r#"<div class="x"><p>In</p><div class="x"><p>Nested</p></div></div><p>Out</p>"#,
        );
        let sel = Selector::parse(".x").unwrap();
        let roots = select_roots(&doc, &sel);
        assert_eq!(roots.len(), 1);
        let t = visible_text(&doc, Some(&roots));
        let texts: Vec<&str> = t.lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, vec!["In", "Nested"]);
    }

    #[test]
    fn boilerplate_tokens() {
        assert!(is_boilerplate_token("sidebar"));
        assert!(is_boilerplate_token("relatedEvents"));
        assert!(is_boilerplate_token("more-events"));
        assert!(is_boilerplate_token("site_footer"));
        assert!(is_boilerplate_token("main-nav"));
        assert!(!is_boilerplate_token("card-footer"));
        assert!(!is_boilerplate_token("event-details"));
        assert!(!is_boilerplate_token("navigator-free"));
    }
}
