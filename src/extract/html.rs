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

use super::budget;
use super::dom::attr;
use ego_tree::iter::Edge;
use ego_tree::{NodeId, NodeRef};
use html5ever::local_name;
use rustc_hash::{FxHashMap, FxHashSet};
use scraper::node::Node;
use scraper::{ElementRef, Html};
use std::sync::LazyLock;

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
    // Asked for every class token of every element, twice a walk: the usual short token
    // is lower-cased and squashed on the stack instead of in three allocations.
    let mut buf = [0u8; 64];
    if token.len() > buf.len() {
        return is_boilerplate_token_long(token);
    }
    let mut n = 0;
    let mut part_start = 0;
    let mut first = true;
    let mut part_hit = false;
    for b in token.bytes().chain([b' ']) {
        if matches!(b, b'-' | b'_' | b' ') {
            if n > part_start {
                let part = &buf[part_start..n];
                if first && COMPONENT_PREFIXES.iter().any(|p| p.as_bytes() == part) {
                    return false;
                }
                first = false;
                part_hit |= BOILERPLATE_PARTS.iter().any(|p| p.as_bytes() == part);
            }
            part_start = n;
        } else {
            buf[n] = b.to_ascii_lowercase();
            n += 1;
        }
    }
    part_hit || holds_boilerplate_substring(&buf[..n])
}

/// Bytes a [`BOILERPLATE_SUBSTRINGS`] entry starts with.
const BOILERPLATE_FIRST_BYTES: [bool; 256] = {
    let mut first = [false; 256];
    let mut i = 0;
    while i < BOILERPLATE_SUBSTRINGS.len() {
        first[BOILERPLATE_SUBSTRINGS[i].as_bytes()[0] as usize] = true;
        i += 1;
    }
    first
};

/// True when `squashed` contains one of [`BOILERPLATE_SUBSTRINGS`]. Asked for every
/// class token of every element: only the positions holding a possible first byte are
/// compared, instead of every window against every entry.
fn holds_boilerplate_substring(squashed: &[u8]) -> bool {
    squashed.iter().enumerate().any(|(i, b)| {
        BOILERPLATE_FIRST_BYTES[*b as usize]
            && BOILERPLATE_SUBSTRINGS
                .iter()
                .any(|s| squashed[i..].starts_with(s.as_bytes()))
    })
}

fn is_boilerplate_token_long(token: &str) -> bool {
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

/// Longest line the text rules are given. A page can put everything on one line (a
/// minified page, a 512 KB table row, a `₹ 1,1,1,…` run); the rules look at a line and
/// its neighbours, so bounding lines bounds their work. Real lines are far shorter.
pub const MAX_LINE_BYTES: usize = 2_000;

/// Inline elements that style part of a word (`21<sup>st</sup>`, `<b>Rs</b>.`): their
/// boundaries join text. Every other inline element (`span`, `time`, `label`, custom
/// elements) separates words, so `<span>27 Aug</span><span>8:00 PM</span>` stays two
/// words, as it is laid out.
const GLUE_TAGS: &[&str] = &[
    "a", "abbr", "b", "bdi", "bdo", "big", "cite", "code", "del", "dfn", "em", "font", "i", "ins",
    "kbd", "mark", "q", "rp", "rt", "ruby", "s", "samp", "small", "strike", "strong", "sub", "sup",
    "tt", "u", "var", "wbr",
];

/// Which of [`SKIP_TAGS`], [`BLOCK_TAGS`] and [`GLUE_TAGS`] a tag is in (the lists are
/// disjoint). Asked for every element of every page: one hash lookup instead of three
/// scans of the lists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TagKind {
    Skip,
    Block,
    Glue,
    Other,
}

fn tag_kind(name: &str) -> TagKind {
    static KINDS: LazyLock<FxHashMap<&'static str, TagKind>> = LazyLock::new(|| {
        let mut kinds = FxHashMap::default();
        for (list, kind) in [
            (SKIP_TAGS, TagKind::Skip),
            (BLOCK_TAGS, TagKind::Block),
            (GLUE_TAGS, TagKind::Glue),
        ] {
            for tag in list {
                let earlier = kinds.insert(*tag, kind);
                assert!(earlier.is_none(), "`{tag}` is in two tag lists");
            }
        }
        kinds
    });
    KINDS.get(name).copied().unwrap_or(TagKind::Other)
}

/// A furniture-named element holding more than this share of the page's text is a layout
/// wrapper (`<div class="container right-sidebar">` around the whole body), not a side
/// column.
const WRAPPER_TEXT_SHARE: f64 = 0.5;

fn has_ancestor(el: &ElementRef<'_>, names: &[&str]) -> bool {
    el.ancestors()
        .filter_map(ElementRef::wrap)
        .any(|a| names.contains(&a.value().name()))
}

/// Left out whatever it holds: invisible, scripted, or a landmark for furniture.
fn hidden_or_furniture_tag(el: &ElementRef<'_>) -> bool {
    let v = el.value();
    if tag_kind(v.name()) == TagKind::Skip {
        return true;
    }
    if attr(v, &local_name!("hidden")).is_some() {
        return true;
    }
    if let Some(style) = attr(v, &local_name!("style")) {
        let s: String = style
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase();
        if s.contains("display:none") || s.contains("visibility:hidden") {
            return true;
        }
    }
    if let Some(role) = attr(v, &local_name!("role")) {
        if matches!(
            role.to_ascii_lowercase().as_str(),
            "navigation" | "banner" | "contentinfo" | "complementary" | "dialog" | "alertdialog"
        ) {
            return true;
        }
    }
    false
}

/// A class or id that names furniture (never on `body`, `html`, `main`, `article`).
fn furniture_name(el: &ElementRef<'_>) -> bool {
    let v = el.value();
    if matches!(v.name(), "body" | "html" | "main" | "article") {
        return false;
    }
    class_tokens(v).any(is_boilerplate_token) || v.id().is_some_and(is_boilerplate_token)
}

/// The tokens of every `class` attribute, as `Element::classes` splits them but without
/// interning each one (that is for selector matching; the walk asks once per element).
/// Repeated tokens are not removed: callers only ask whether any token qualifies.
fn class_tokens(v: &scraper::node::Element) -> impl Iterator<Item = &str> {
    v.attrs
        .iter()
        .filter(|(k, _)| k.local == local_name!("class"))
        .flat_map(|(_, value)| value.split_ascii_whitespace())
}

/// True when an element and everything in it is left out of the visible text (by its
/// own markup; the text walk also keeps furniture-named wrappers that hold most of the
/// page).
pub fn is_skipped(el: &ElementRef<'_>) -> bool {
    if el.value().name() == "header" && !has_ancestor(el, &["article", "main"]) {
        return true;
    }
    hidden_or_furniture_tag(el) || furniture_name(el)
}

/// Text length of the whole page and of each furniture-named element, measured in one
/// pass so that deciding "wrapper or side column" stays linear however they nest.
struct TextSizes {
    total: usize,
    of: FxHashMap<NodeId, usize>,
}

fn text_sizes(root: NodeRef<'_, Node>) -> TextSizes {
    let mut of = FxHashMap::default();
    // (node, text so far, furniture-named) for every open element.
    let mut open: Vec<(NodeId, usize, bool)> = vec![(root.id(), 0, false)];
    let mut hidden_depth = 0usize;
    for edge in root.traverse() {
        if budget::tick() {
            break;
        }
        match edge {
            Edge::Open(n) => match n.value() {
                Node::Element(e) if n.id() != root.id() => {
                    if hidden_depth > 0 || tag_kind(e.name()) == TagKind::Skip {
                        hidden_depth += 1;
                    }
                    let named = ElementRef::wrap(n).is_some_and(|el| furniture_name(&el));
                    open.push((n.id(), 0, named));
                }
                Node::Text(t) if hidden_depth == 0 => {
                    if let Some(top) = open.last_mut() {
                        top.1 += t.trim().len();
                    }
                }
                _ => {}
            },
            Edge::Close(n) => {
                if n.id() == root.id() || !n.value().is_element() {
                    continue;
                }
                hidden_depth = hidden_depth.saturating_sub(1);
                if let Some((id, len, named)) = open.pop() {
                    if named {
                        of.insert(id, len);
                    }
                    if let Some(parent) = open.last_mut() {
                        parent.1 += len;
                    }
                }
            }
        }
    }
    let total = open.first().map_or(0, |r| r.1);
    TextSizes { total, of }
}

/// White space between words, and the invisible characters that separate them.
fn is_gap(c: char) -> bool {
    c.is_whitespace() || c == '\u{a0}' || c == '\u{200b}' || c == '\u{feff}'
}

/// Work left for the walk: a node to open, or an element to close.
enum Step<'a> {
    Open(NodeRef<'a, Node>),
    Close(Close),
}

/// What closing an element undoes.
struct Close {
    block: bool,
    separate: bool,
    landmark: bool,
    saved_heading: u8,
}

struct Walker<'a> {
    out: PageText,
    buf: String,
    heading: u8,
    buf_heading: u8,
    /// `article` / `main` elements around the current node (a `header` inside one is
    /// the event's own header, not the site's).
    landmarks: usize,
    /// Table rows that already had a cell, so later cells get their ` | `.
    rows_with_cell: FxHashSet<NodeId>,
    sizes: Option<TextSizes>,
    page_root: NodeRef<'a, Node>,
}

impl<'a> Walker<'a> {
    fn new(page_root: NodeRef<'a, Node>) -> Self {
        Walker {
            out: PageText::default(),
            buf: String::new(),
            heading: 0,
            buf_heading: 0,
            landmarks: 0,
            rows_with_cell: FxHashSet::default(),
            sizes: None,
            page_root,
        }
    }

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

    /// A word boundary that is not a line boundary.
    fn separate(&mut self) {
        if !self.buf.is_empty() && !self.buf.ends_with(' ') {
            self.buf.push(' ');
        }
    }

    fn push_text(&mut self, t: &str) {
        let mut pending_space = self.buf.ends_with(' ');
        let mut rest = t;
        while !rest.is_empty() {
            let start = rest.find(|c: char| !is_gap(c)).unwrap_or(rest.len());
            if start > 0 {
                pending_space = true;
                rest = &rest[start..];
            }
            if rest.is_empty() {
                break;
            }
            let end = rest.find(is_gap).unwrap_or(rest.len());
            self.push_word(&rest[..end], pending_space);
            pending_space = false;
            rest = &rest[end..];
        }
        if pending_space && !self.buf.is_empty() && !self.buf.ends_with(' ') {
            self.buf.push(' ');
        }
    }

    /// Appends one word (no gap inside), `pending_space` when a gap came before it.
    fn push_word(&mut self, word: &str, pending_space: bool) {
        let Some(first) = word.chars().next() else {
            return;
        };
        self.push_char(first, pending_space);
        let tail = &word[first.len_utf8()..];
        // While the line stays under the cut, no character of the tail can trigger one:
        // the tail goes in at once instead of a character at a time.
        if self.buf.len() + tail.len() <= 2 * MAX_LINE_BYTES {
            self.buf.push_str(tail);
        } else {
            for c in tail.chars() {
                self.push_char(c, false);
            }
        }
    }

    fn push_char(&mut self, c: char, pending_space: bool) {
        if pending_space && !self.buf.is_empty() && !self.buf.ends_with(' ') {
            if self.buf.len() >= MAX_LINE_BYTES {
                self.flush();
            } else {
                self.buf.push(' ');
            }
        } else if self.buf.len() >= 2 * MAX_LINE_BYTES {
            // One endless word: cut it anyway.
            self.flush();
        }
        if self.buf.is_empty() {
            self.buf_heading = self.heading;
        }
        self.buf.push(c);
    }

    /// Index the next flushed line will get.
    fn current_line(&self) -> usize {
        self.out.lines.len()
    }

    fn holds_most_text(&mut self, el: &ElementRef<'_>) -> bool {
        let root = self.page_root;
        let sizes = self.sizes.get_or_insert_with(|| text_sizes(root));
        let own = sizes.of.get(&el.id()).copied().unwrap_or(0);
        sizes.total > 0 && own as f64 > WRAPPER_TEXT_SHARE * sizes.total as f64
    }

    /// Opens an element: `None` when nothing in it is read.
    fn open(&mut self, el: ElementRef<'a>) -> Option<Close> {
        let v = el.value();
        let name = v.name();
        let mut after_cell = false;
        if matches!(name, "td" | "th") {
            // Cells after the first are separated by ` | `, empty and hidden ones
            // included, so a row and its header row line up cell by cell.
            if let Some(row) = el.parent() {
                after_cell = !self.rows_with_cell.insert(row.id());
            }
        }
        if hidden_or_furniture_tag(&el) {
            return None;
        }
        if name == "header" && self.landmarks == 0 {
            return None;
        }
        if furniture_name(&el) && !self.holds_most_text(&el) {
            return None;
        }
        match name {
            "br" => {
                self.flush();
                return None;
            }
            "img" => return None,
            _ => {}
        }
        if after_cell {
            let kept = self.buf.trim_end().len();
            self.buf.truncate(kept);
            self.buf.push_str(" | ");
        }
        let kind = tag_kind(name);
        let block = kind == TagKind::Block;
        let separate = !block && kind != TagKind::Glue;
        if block {
            self.flush();
        } else if separate {
            self.separate();
        }
        if name == "a" {
            if let Some(href) = attr(v, &local_name!("href")) {
                let line = self.current_line();
                self.out.links.push((line, href.trim().to_string()));
            }
        }
        if name == "time" {
            if let Some(dt) = attr(v, &local_name!("datetime")) {
                let line = self.current_line();
                self.out.time_attrs.push((line, dt.trim().to_string()));
            }
        }
        let landmark = matches!(name, "article" | "main");
        if landmark {
            self.landmarks += 1;
        }
        let close = Close {
            block,
            separate,
            landmark,
            saved_heading: self.heading,
        };
        if let Some(level) = name
            .strip_prefix('h')
            .and_then(|d| d.parse::<u8>().ok())
            .filter(|l| (1..=6).contains(l))
        {
            self.heading = level;
        }
        Some(close)
    }

    fn close(&mut self, c: Close) {
        self.heading = c.saved_heading;
        if c.landmark {
            self.landmarks -= 1;
        }
        if c.block {
            self.flush();
        } else if c.separate {
            self.separate();
        }
    }

    /// Walks `start` (itself, or only its children) in document order with an explicit
    /// stack: the page decides how deep the tree is, not the thread's stack size.
    fn walk(&mut self, start: ElementRef<'a>, include_self: bool) {
        let mut stack: Vec<Step<'a>> = Vec::new();
        if include_self {
            stack.push(Step::Open(*start));
        } else {
            stack.extend(start.children().rev().map(Step::Open));
        }
        while let Some(step) = stack.pop() {
            if budget::tick() {
                return;
            }
            let node = match step {
                Step::Close(c) => {
                    self.close(c);
                    continue;
                }
                Step::Open(node) => node,
            };
            match node.value() {
                Node::Text(t) => self.push_text(t),
                Node::Element(_) => {
                    let Some(el) = ElementRef::wrap(node) else {
                        continue;
                    };
                    let Some(close) = self.open(el) else {
                        continue;
                    };
                    if el.value().name() == "pre" {
                        for line in el.text().collect::<String>().lines() {
                            self.push_text(line);
                            self.flush();
                        }
                        self.close(close);
                        continue;
                    }
                    stack.push(Step::Close(close));
                    stack.extend(node.children().rev().map(Step::Open));
                }
                // Comments, doctypes and processing instructions are never visible.
                _ => {}
            }
        }
    }
}

/// Visible lines under `roots` (in document order), or under the whole document.
pub fn visible_text(doc: &Html, roots: Option<&[ElementRef<'_>]>) -> PageText {
    let mut w = Walker::new(doc.tree.root());
    match roots {
        Some(roots) => {
            for r in roots {
                // A root is read even when its own class looks like furniture: the
                // caller chose it.
                w.landmarks = usize::from(
                    matches!(r.value().name(), "article" | "main")
                        || has_ancestor(r, &["article", "main"]),
                );
                w.walk(*r, false);
                w.flush();
            }
        }
        None => {
            w.walk(doc.root_element(), true);
            w.flush();
        }
    }
    w.out
}

/// `found` (in document order) without the elements nested in another of them.
pub fn outermost<'a>(doc: &'a Html, found: Vec<ElementRef<'a>>) -> Vec<ElementRef<'a>> {
    // One match (the usual content selector) cannot nest in another: no walk needed.
    if found.len() <= 1 {
        return found;
    }
    let matched: FxHashSet<NodeId> = found.iter().map(|e| e.id()).collect();
    let mut out = Vec::new();
    let mut inside = 0usize;
    for edge in doc.tree.root().traverse() {
        if budget::tick() {
            break;
        }
        match edge {
            Edge::Open(n) if matched.contains(&n.id()) => {
                if inside == 0 {
                    out.extend(ElementRef::wrap(n));
                }
                inside += 1;
            }
            Edge::Close(n) if matched.contains(&n.id()) => inside -= 1,
            _ => {}
        }
    }
    out
}

/// The text of an element as one line (white space collapsed).
pub fn element_text(el: &ElementRef<'_>) -> String {
    let mut w = Walker::new(el.tree().root());
    w.landmarks = usize::from(
        matches!(el.value().name(), "article" | "main") || has_ancestor(el, &["article", "main"]),
    );
    w.walk(*el, false);
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

    #[test]
    fn boilerplate_substrings_are_found_wherever_they_sit() {
        let windows = |t: &[u8]| {
            BOILERPLATE_SUBSTRINGS
                .iter()
                .any(|s| t.windows(s.len()).any(|w| w == s.as_bytes()))
        };
        for s in BOILERPLATE_SUBSTRINGS {
            for t in [
                s.to_string(),
                format!("x{s}"),
                format!("{s}y"),
                format!("ss{s}ss"),
                s[1..].to_string(),
                s[..s.len() - 1].to_string(),
            ] {
                assert_eq!(
                    holds_boilerplate_substring(t.as_bytes()),
                    windows(t.as_bytes()),
                    "{t}"
                );
            }
        }
        assert!(!holds_boilerplate_substring(b"eventdetails"));
        assert!(holds_boilerplate_substring(b"widgetrelatedposts"));
    }

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
        let sel = crate::source::CssSelector::from(scraper::Selector::parse(".x").unwrap());
        let roots = outermost(&doc, crate::extract::dom::select(&doc, &sel).collect());
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

    #[test]
    fn short_and_long_tokens_get_the_same_answer() {
        for t in [
            "sidebar",
            "card-footer",
            "Event__Footer",
            "x--nav",
            "-menu-",
            "price",
            "pricing-menu",
            "topbar_é",
            "related",
            "a b nav",
            "",
            "__",
        ] {
            let long = format!("{t}{}", "-zz".repeat(30));
            assert_eq!(is_boilerplate_token(t), is_boilerplate_token_long(t), "{t}");
            assert_eq!(
                is_boilerplate_token(&long),
                is_boilerplate_token_long(&long),
                "{long}"
            );
        }
    }
}
