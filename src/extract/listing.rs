//! Listing pages: a page that lists several events (a studio home page with a workshop
//! series, an events list, a link-in-bio page) gives one draft per event card.
//!
//! **What a card is.** Sibling elements of one kind (same tag and first class) that each
//! carry their own dated session and a title line (a heading, or a line with words that
//! are not a date, a time, a price or a call to action such as "Add to cart"). At least
//! two such siblings make a card set. A set whose cards hold another card set is a
//! container (a tab per location), not a set of cards: the innermost sets count. Rows
//! that only state a date and a time ("Day 1 – Sat 19 Dec, 6 PM") have no title line, so
//! the sessions of one event are never split into events.
//!
//! **Past strips.** A card set under a heading, or inside an element whose class or id,
//! says the events are past ("Past events", "Previous workshops", `class="past-events"`)
//! gives no draft, and its text is taken out of what the rest of the page is read from:
//! a past event never supplies the artist, date or price of a current one.
//!
//! **When it applies.** Only when neither the source's own rules nor JSON-LD gave the
//! page's dates (those describe the page's event themselves). With two or more current
//! cards, each card is read on its own by the visible-text rules (its sessions, artist,
//! song, price); the page's text outside every card gives one more draft only when it
//! states a dated session with a time ("featured" workshops beside a series). With at
//! most one current card the page is read as one event, without its past strips.
//!
//! **Identity.** A card's uuid is the page's uuid, `--`, and a suffix from the card's own
//! content (its first session date and title slug; its start time, then a hash of its
//! text, only when two cards would share one), so reordering a page keeps every uuid.
//!
//! Cost: every element is visited once, and the text of candidate siblings is read at
//! most [`MAX_TEXT_FACTOR`] times the page's text in total.

use super::date;
use super::fastre::WordRegex;
use super::fields::{DatedSlot, Found};
use super::html::{self, Line, PageText};
use super::text;
use super::time;
use super::{budget, Scope};
use chrono::NaiveDate;
use ego_tree::NodeId;
use regex::Regex;
use scraper::{ElementRef, Html};
use std::collections::HashSet;
use std::sync::LazyLock;
use url::Url;

/// How much candidate text (as a multiple of the page's own text) card detection reads
/// before it gives up and treats the page as one event.
pub const MAX_TEXT_FACTOR: usize = 6;

/// Text size (bytes) under which a dated sibling counts as a card even when most of its
/// siblings carry no date.
const SMALL_CARD: usize = 300;

/// One event card: its visible text and where it sits.
#[derive(Debug, Clone)]
pub struct Card {
    pub text: PageText,
    pub title: String,
    /// First session date of the card.
    pub first: DatedSlot,
    /// True inside a past-events strip.
    pub past: bool,
    /// The `Month YYYY` heading above the card on the page (a calendar states the year
    /// once per month, outside its cards).
    pub year_heading: Option<String>,
    /// The `href`s of the card's links as written, the card's own first when the card
    /// is a link itself (its identity, [`card_suffixes`]).
    pub links: Vec<String>,
}

impl Card {
    /// The card's text as its rules read it: the page's `Month YYYY` heading above it
    /// first, when there is one, so its yearless dates take that year.
    pub fn dated_text(&self) -> PageText {
        let Some(h) = &self.year_heading else {
            return self.text.clone();
        };
        let mut t = PageText::default();
        t.lines.push(Line {
            text: h.clone(),
            heading: 0,
        });
        t.lines.extend(self.text.lines.iter().cloned());
        t.links = self
            .text
            .links
            .iter()
            .map(|(i, l)| (i + 1, l.clone()))
            .collect();
        t.time_attrs = self
            .text
            .time_attrs
            .iter()
            .map(|(i, l)| (i + 1, l.clone()))
            .collect();
        t
    }
}

/// The cards of a page, in document order.
#[derive(Debug, Clone, Default)]
pub struct Cards {
    pub cards: Vec<Card>,
}

impl Cards {
    pub fn current(&self) -> impl Iterator<Item = &Card> {
        self.cards.iter().filter(|c| !c.past)
    }

    pub fn has_past(&self) -> bool {
        self.cards.iter().any(|c| c.past)
    }
}

/// Calls to action and labels a card carries that are not its title.
static CALL_TO_ACTION: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(
        r"(?i)^\W*(?:add\s+to\s+(?:cart|bag|calendar)|book(?:\s+(?:now|tickets?|a\s+spot|your\s+spot))?|register(?:\s+now|\s+here)?|buy(?:\s+(?:now|tickets?))?|get\s+tickets?|tickets?|sold\s+out|read\s+more|learn\s+more|more\s+(?:info|details)|details|view(?:\s+details|\s+event)?|join(?:\s+now)?|rsvp|enrol(?:l)?(?:\s+now)?|sign\s+up|free|when|where|date|time|venue|price|fee|multiple\s+dates|more\s+dates|featured|new|few\s+(?:spots|seats)\s+left|selling\s+fast|limited\s+seats)\b",
    )
});

/// Counter labels (`Day 1`, `Session 2`, `Week 3`): a row of one event's schedule.
static COUNTER: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(r"(?i)\b(?:day|session|week|part|batch|slot|class|round)\s*#?\s*\d{1,2}\b")
});

static WEEKDAY_OR_MONTH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:mon|tue|tues|wed|thu|thur|thurs|fri|sat|sun|monday|tuesday|wednesday|thursday|friday|saturday|sunday|jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec|january|february|march|april|june|july|august|september|october|november|december|am|pm|st|nd|rd|th|rs|inr|onwards|to|and|at|on|from|till|until)$")
        .expect("static regex")
});

/// Words that say a strip of events is over.
static PAST_WORDS: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(
        r"(?i)\b(?:past|previous|earlier|archived?|completed|concluded|recap|what\s+we\s+did|ended)\b",
    )
});

/// True when a line could be an event's title: a heading with a word, or a line with at
/// least two words that are not a date, time, price, weekday, month, counter or call
/// to action.
pub fn is_title_line(line: &Line) -> bool {
    let t = line.text.trim();
    if t.is_empty() || t.len() > 200 || CALL_TO_ACTION.is_match(t) {
        return false;
    }
    let mut masked = t.to_string();
    let mut spans: Vec<std::ops::Range<usize>> = date::find_dates(t)
        .into_iter()
        .map(|m| m.span)
        .chain(time::find_times(t).into_iter().map(|f| f.span))
        .chain(COUNTER.find_iter(t).map(|m| m.range()))
        .collect();
    spans.sort_by_key(|s| s.start);
    for s in spans.iter().rev() {
        if masked.is_char_boundary(s.start)
            && masked.is_char_boundary(s.end)
            && s.end <= masked.len()
        {
            masked.replace_range(s.clone(), " ");
        }
    }
    let words = masked
        .split(|c: char| !c.is_alphabetic())
        .filter(|w| w.chars().count() >= 2 && !WEEKDAY_OR_MONTH.is_match(w))
        .count();
    words >= 2 || (line.heading > 0 && words >= 1)
}

/// A card's own sessions and title, when it has both.
fn read_card(text: &PageText, today: NaiveDate) -> Option<(String, DatedSlot)> {
    // `Day 1 …`, `Session 2 …`: a row of one event's schedule, even when it names what
    // that day teaches.
    if text.lines.iter().any(|l| COUNTER.is_match(&l.text)) {
        return None;
    }
    let title = text
        .lines
        .iter()
        .find(|l| l.heading > 0 && is_title_line(l));
    let title = title.or_else(|| text.lines.iter().find(|l| is_title_line(l)))?;
    let dated = text::lines_with_time_attributes(text);
    let refs: Vec<&str> = dated.iter().map(|l| &**l).collect();
    let sched = text::schedule(&refs, today);
    let first = *sched.slots.iter().min()?;
    Some((title.text.trim().to_string(), first))
}

/// The key siblings of one kind share: tag and first class (in `Element::classes`
/// order, which is sorted: the least token), read without interning every class.
fn kind<'a>(el: &ElementRef<'a>) -> (&'a str, &'a str) {
    let v = el.value();
    let first = v
        .attrs
        .iter()
        .filter(|(k, _)| k.local == html5ever::local_name!("class"))
        .flat_map(|(_, value)| value.split_ascii_whitespace())
        .min()
        .unwrap_or("");
    (v.name(), first)
}

/// What [`find_cards`] needs to know of an element's subtree before reading it.
#[derive(Debug, Clone, Copy, Default)]
struct Extent {
    /// Text length (bytes, trimmed text nodes).
    len: usize,
    /// Some text node holds an ASCII digit, or a `<time>` element sits inside. A card is
    /// dated by a date mention in its lines, and every mention needs an ASCII digit: the
    /// lines are its text nodes (joined, with ` | ` between cells) and a `<time>`'s
    /// `datetime`. Without one the card's text is not worth reading.
    may_be_dated: bool,
}

/// [`Extent`] of every element under `roots`, in one pass: asking each candidate for its
/// own would read a deep page once per level.
fn extents(roots: &[ElementRef<'_>]) -> rustc_hash::FxHashMap<NodeId, Extent> {
    use ego_tree::iter::Edge;
    let mut of = rustc_hash::FxHashMap::default();
    for r in roots {
        let mut open: Vec<(NodeId, Extent)> = Vec::new();
        for edge in r.traverse() {
            if budget::tick() {
                break;
            }
            match edge {
                Edge::Open(n) => match n.value() {
                    scraper::Node::Element(e) => open.push((
                        n.id(),
                        Extent {
                            len: 0,
                            may_be_dated: e.name() == "time",
                        },
                    )),
                    scraper::Node::Text(t) => {
                        if let Some((_, top)) = open.last_mut() {
                            top.len += t.trim().len();
                            top.may_be_dated |= t.bytes().any(|b| b.is_ascii_digit());
                        }
                    }
                    _ => {}
                },
                Edge::Close(n) if n.value().is_element() => {
                    if let Some((id, extent)) = open.pop() {
                        of.insert(id, extent);
                        if let Some((_, parent)) = open.last_mut() {
                            parent.len += extent.len;
                            parent.may_be_dated |= extent.may_be_dated;
                        }
                    }
                }
                Edge::Close(_) => {}
            }
        }
    }
    of
}

/// Elements the text walk leaves out (see [`html::is_skipped`]), except a wrapper that
/// holds most of the page's text.
fn left_out(el: &ElementRef<'_>, len: usize, page_len: usize) -> bool {
    html::is_skipped(el) && (page_len == 0 || len * 2 <= page_len)
}

/// True when the heading before `el` (its own previous siblings, then its ancestors'),
/// or the class or id of `el` or an ancestor, says the events under it are past.
fn under_past_heading(el: &ElementRef<'_>) -> bool {
    let names_past = |e: &ElementRef<'_>| {
        let v = e.value();
        v.classes()
            .any(|c| PAST_WORDS.is_match(&c.replace(['-', '_'], " ")))
            || v.id()
                .is_some_and(|i| PAST_WORDS.is_match(&i.replace(['-', '_'], " ")))
    };
    let mut node = Some(*el);
    let mut steps = 0;
    while let Some(cur) = node {
        steps += 1;
        if steps > 12 || matches!(cur.value().name(), "body" | "html" | "main") {
            break;
        }
        if names_past(&cur) {
            return true;
        }
        for prev in cur.prev_siblings().filter_map(ElementRef::wrap).take(3) {
            let heading = |e: &ElementRef<'_>| {
                matches!(e.value().name(), "h1" | "h2" | "h3" | "h4" | "h5" | "h6")
            };
            let h = if heading(&prev) {
                Some(prev)
            } else {
                prev.descendants()
                    .filter_map(ElementRef::wrap)
                    .filter(heading)
                    .last()
            };
            if let Some(h) = h {
                return PAST_WORDS.is_match(&h.text().collect::<String>());
            }
        }
        node = cur.parent().and_then(ElementRef::wrap);
    }
    false
}

/// Finds the event cards under `roots`.
pub fn find_cards(
    doc: &Html,
    roots: &[ElementRef<'_>],
    page: &PageText,
    today: NaiveDate,
) -> Cards {
    let extents = extents(roots);
    let extent = |e: &ElementRef<'_>| extents.get(&e.id()).copied().unwrap_or_default();
    let text_len = |e: &ElementRef<'_>| extent(e).len;
    let page_len: usize = roots.iter().map(text_len).sum();
    let mut allowance = page_len.saturating_mul(MAX_TEXT_FACTOR).max(4_000);
    // (parent, members) of every set whose members are event cards.
    let mut sets: Vec<Vec<(ElementRef<'_>, PageText, String, DatedSlot)>> = Vec::new();
    let mut stack: Vec<ElementRef<'_>> = roots.to_vec();
    while let Some(el) = stack.pop() {
        if budget::tick() || allowance == 0 {
            break;
        }
        let children: Vec<ElementRef<'_>> = el
            .children()
            .filter_map(ElementRef::wrap)
            .filter(|c| !left_out(c, text_len(c), page_len))
            .collect();
        let mut groups: rustc_hash::FxHashMap<(&str, &str), Vec<ElementRef<'_>>> =
            rustc_hash::FxHashMap::default();
        for c in &children {
            groups.entry(kind(c)).or_default().push(*c);
        }
        for members in groups.values().filter(|m| m.len() >= 2) {
            let mut cards = Vec::new();
            let mut with_text = 0;
            for m in members {
                let len = text_len(m);
                if len == 0 {
                    continue;
                }
                with_text += 1;
                allowance = allowance.saturating_sub(len);
                if allowance == 0 {
                    break;
                }
                if !extent(m).may_be_dated {
                    continue;
                }
                let t = html::visible_text(doc, Some(&[*m]));
                if let Some((title, first)) = read_card(&t, today) {
                    cards.push((*m, t, title, first));
                }
            }
            // Cards make most of their set, or are small (a link-in-bio page mixes
            // dated links with social ones): two dated parts among a page's long
            // sections are parts of one page, not a list.
            let small = cards.iter().all(|(_, t, ..)| {
                t.lines.iter().map(|l| l.text.len()).sum::<usize>() <= SMALL_CARD
            });
            if cards.len() >= 2 && (small || cards.len() * 3 >= with_text * 2) {
                sets.push(cards);
            }
        }
        stack.extend(children.into_iter().rev());
    }
    innermost(sets, page, today)
}

/// The sets no other set sits inside, as cards in document order, duplicates (the same
/// card shown twice, for mobile and desktop) once.
fn innermost(
    sets: Vec<Vec<(ElementRef<'_>, PageText, String, DatedSlot)>>,
    page: &PageText,
    today: NaiveDate,
) -> Cards {
    let members: rustc_hash::FxHashSet<NodeId> =
        sets.iter().flatten().map(|(e, ..)| e.id()).collect();
    let holds_set = |e: &ElementRef<'_>| e.descendants().skip(1).any(|d| members.contains(&d.id()));
    let mut kept: Vec<(ElementRef<'_>, PageText, String, DatedSlot)> = sets
        .into_iter()
        .filter(|set| !set.iter().any(|(e, ..)| holds_set(e)))
        .flatten()
        .collect();
    kept.sort_by_key(|(e, ..)| position(e));
    let mut seen: HashSet<Vec<String>> = HashSet::new();
    let mut cards = Vec::new();
    let mut from = 0;
    for (el, text, title, first) in kept {
        let lines: Vec<String> = text.lines.iter().map(|l| l.text.clone()).collect();
        if !seen.insert(lines) {
            continue;
        }
        let at = locate(page, &text, from).or_else(|| locate(page, &text, 0));
        if let Some(at) = at {
            from = at + text.lines.len();
        }
        let mut links: Vec<String> = std::iter::once(el)
            .chain(el.descendants().filter_map(ElementRef::wrap))
            .filter(|e| e.value().name() == "a")
            .filter_map(|e| e.value().attr("href"))
            .map(|h| h.trim().to_string())
            .collect();
        links.dedup();
        let mut card = Card {
            links,
            past: under_past_heading(&el),
            text,
            title,
            first,
            year_heading: at.and_then(|at| {
                page.lines[..at]
                    .iter()
                    .rev()
                    .take(200)
                    .find(|l| text::is_month_year_heading(&l.text))
                    .map(|l| l.text.trim().to_string())
            }),
        };
        if card.year_heading.is_some() {
            if let Some((_, first)) = read_card(&card.dated_text(), today) {
                card.first = first;
            }
        }
        cards.push(card);
    }
    Cards { cards }
}

/// Where the lines of `part` start in `page`, searching from line `from`.
fn locate(page: &PageText, part: &PageText, from: usize) -> Option<usize> {
    let n = part.lines.len();
    if n == 0 || n > page.lines.len() {
        return None;
    }
    (from..=page.lines.len() - n).find(|&i| {
        page.lines[i..i + n]
            .iter()
            .zip(&part.lines)
            .all(|(a, b)| a.text == b.text)
    })
}

/// Document order of an element: its path of sibling indexes from the root.
fn position(el: &ElementRef<'_>) -> Vec<usize> {
    let mut out: Vec<usize> = el.ancestors().map(|n| n.prev_siblings().count()).collect();
    out.reverse();
    out.push(el.prev_siblings().count());
    out
}

/// `text` without the lines of `cards` (each card's lines found as one run, in order);
/// `None` when a card's lines are not found as lines of `text` (inline cards laid out
/// on one line with others).
pub fn without_cards<'a>(
    text: &PageText,
    cards: impl IntoIterator<Item = &'a Card>,
) -> Option<PageText> {
    let mut drop = vec![false; text.lines.len()];
    let mut from = 0;
    for card in cards {
        let n = card.text.lines.len();
        let i = locate(text, &card.text, from).or_else(|| locate(text, &card.text, 0))?;
        drop[i..i + n].iter_mut().for_each(|d| *d = true);
        from = i + n;
    }
    let mut index = vec![None; text.lines.len()];
    let mut out = PageText::default();
    for (i, l) in text.lines.iter().enumerate() {
        if !drop[i] {
            index[i] = Some(out.lines.len());
            out.lines.push(l.clone());
        }
    }
    out.links = text
        .links
        .iter()
        .filter_map(|(i, h)| index.get(*i).copied().flatten().map(|j| (j, h.clone())))
        .collect();
    out.time_attrs = text
        .time_attrs
        .iter()
        .filter_map(|(i, h)| index.get(*i).copied().flatten().map(|j| (j, h.clone())))
        .collect();
    Some(out)
}

/// Gives the untimed dates of a card the times of the app-data event with the same
/// title (normalised; one containing the other) on the same date: an events list often
/// shows only the day, and keeps the time in its embedded data. True when one was given.
pub fn times_from_app_data(
    title: &str,
    slots: &mut [DatedSlot],
    events: &[(String, Vec<DatedSlot>)],
) -> bool {
    let norm = crate::workshop::normalise_key_text;
    let t = norm(title);
    if t.is_empty() {
        return false;
    }
    let same: Vec<&DatedSlot> = events
        .iter()
        .filter(|(e, _)| {
            let e = norm(e);
            !e.is_empty() && (e == t || e.contains(&t) || t.contains(&e))
        })
        .flat_map(|(_, s)| s.iter())
        .filter(|s| s.start.is_some())
        .collect();
    let mut given = false;
    for slot in slots.iter_mut().filter(|s| s.start.is_none()) {
        if let Some(e) = same.iter().find(|e| e.date == slot.date) {
            slot.start = e.start;
            slot.end = e.end;
            given = true;
        }
    }
    given
}

/// The text split into what sits under a past-events heading (`Past (16)`, `Previous
/// events`: from that heading to the next heading of the same or a higher level) and
/// the rest.
pub fn split_past_sections(text: &PageText) -> (PageText, PageText) {
    let mut past = PageText::default();
    let mut rest = PageText::default();
    let mut level: Option<u8> = None;
    for l in &text.lines {
        if l.heading > 0 {
            if level.is_some_and(|lv| l.heading <= lv) {
                level = None;
            }
            if level.is_none() && PAST_WORDS.is_match(&l.text) {
                level = Some(l.heading);
            }
        }
        if level.is_some() {
            past.lines.push(l.clone());
        } else {
            rest.lines.push(l.clone());
        }
    }
    (past, rest)
}

/// A slug cut to 48 bytes at a `-`.
fn short_slug(text: &str) -> String {
    let mut slug = super::song_slug(text);
    if slug.len() > 48 {
        let cut = slug[..48].rfind('-').unwrap_or(48);
        slug.truncate(cut);
    }
    slug
}

/// The identity an event's own link gives it: the link's last path segment as a slug
/// (`/events/salsa-night-2` → `salsa-night-2`, an extension dropped), or `u-` and a hash
/// of the normalised link when a query identifies the event (`?id=…`,
/// `index.html?go=…`) or the segment is no slug (a bare number, none).
pub fn link_slug(url: &Url) -> String {
    let query = url
        .query_pairs()
        .any(|(k, _)| !k.to_ascii_lowercase().starts_with("utm_"));
    let segment = url
        .path_segments()
        .and_then(|mut s| s.rfind(|x| !x.is_empty()))
        .map(|s| s.rsplit_once('.').map_or(s, |(a, _)| a))
        .unwrap_or("");
    let slug = short_slug(segment);
    if query || !slug.chars().any(|c| c.is_ascii_alphabetic()) {
        super::url_hash_slug(url)
    } else {
        slug
    }
}

/// `bases` made unique where two would be equal: the event's first date added, then a
/// hash of `material` (its text).
pub fn unique_suffixes(
    bases: Vec<String>,
    date: impl Fn(usize) -> Option<String>,
    material: impl Fn(usize) -> String,
) -> Vec<String> {
    let count = |v: &[String], s: &String| v.iter().filter(|x| *x == s).count();
    let dated: Vec<String> = bases
        .iter()
        .enumerate()
        .map(|(i, s)| match (count(&bases, s) > 1, date(i)) {
            (true, Some(d)) => format!("{s}-{d}"),
            _ => s.clone(),
        })
        .collect();
    dated
        .iter()
        .enumerate()
        .map(|(i, s)| {
            if count(&dated, s) > 1 {
                use sha2::{Digest, Sha256};
                let h = Sha256::digest(material(i).as_bytes());
                format!("{s}-{}", &hex::encode(h)[..8])
            } else {
                s.clone()
            }
        })
        .collect()
}

/// Hosts whose links are a studio's social or contact channels, never an event's page.
const NOT_EVENT_HOSTS: [&str; 16] = [
    "instagram.com",
    "facebook.com",
    "fb.com",
    "fb.me",
    "twitter.com",
    "x.com",
    "youtube.com",
    "youtu.be",
    "wa.me",
    "whatsapp.com",
    "t.me",
    "linkedin.com",
    "tiktok.com",
    "linktr.ee",
    "goo.gl",
    "maps.app.goo.gl",
];

/// The card's own event link: its first `http(s)` link that is not the page itself, a
/// social or contact channel, or a map.
fn own_link(card: &Card, page_url: &Url) -> Option<Url> {
    let page = super::normalised_url(page_url);
    card.links.iter().find_map(|h| {
        let u = page_url.join(h).ok()?;
        let host = u.host_str()?.to_ascii_lowercase();
        let social = NOT_EVENT_HOSTS
            .iter()
            .any(|n| host == *n || host.ends_with(&format!(".{n}")))
            || (host.contains("google.") && u.path().starts_with("/maps"));
        (matches!(u.scheme(), "http" | "https") && !social && super::normalised_url(&u) != page)
            .then_some(u)
    })
}

/// The uuid suffixes of `cards`: an identity that survives a change of date, so a
/// rescheduled card is the same workshop (a schedule change, not a new one). A card
/// with its own event link (one no other card of the page shares) is named by the link
/// ([`link_slug`]); any other card by its title's slug (≤ 48 bytes). Only where two
/// cards of the page would share a suffix are the first session date, then its start
/// time `HHMM`, then a hash of the card's text added: a series of one title on several
/// dates needs its dates, and two cards can never share a uuid.
pub fn card_suffixes(cards: &[&Card], page_url: &Url) -> Vec<String> {
    let links: Vec<Option<String>> = cards
        .iter()
        .map(|c| own_link(c, page_url).map(|u| super::normalised_url(&u)))
        .collect();
    let bases: Vec<String> = cards
        .iter()
        .zip(&links)
        .map(|(c, l)| match l {
            Some(l) if links.iter().filter(|x| x.as_ref() == Some(l)).count() == 1 => {
                own_link(c, page_url).map_or_else(|| short_slug(&c.title), |u| link_slug(&u))
            }
            _ => short_slug(&c.title),
        })
        .collect();
    let dated = unique_with(bases, |i| {
        Some(cards[i].first.date.format("%Y-%m-%d").to_string())
    });
    let timed = unique_with(dated, |i| {
        cards[i].first.start.map(|t| t.format("%H%M").to_string())
    });
    unique_suffixes(
        timed,
        |_| None,
        |i| {
            cards[i]
                .text
                .lines
                .iter()
                .map(|l| l.text.as_str())
                .collect::<Vec<_>>()
                .join("\n")
        },
    )
}

/// `bases` with `extra(i)` added where two are equal.
fn unique_with(bases: Vec<String>, extra: impl Fn(usize) -> Option<String>) -> Vec<String> {
    let count = |s: &String| bases.iter().filter(|x| *x == s).count();
    bases
        .iter()
        .enumerate()
        .map(|(i, s)| match (count(s) > 1, extra(i)) {
            (true, Some(e)) => format!("{s}-{e}"),
            _ => s.clone(),
        })
        .collect()
}

/// The section of `text` that holds its first session date: from the heading nearest
/// above that date to the next heading of the same or a higher level (the whole text
/// when no heading is above it), and that heading. Outside a listing's cards, a page's
/// own event is the section that dates it, not the series passes and notes around it.
pub fn dated_section(text: &PageText, today: NaiveDate) -> Option<(PageText, Option<String>)> {
    let first = text
        .lines
        .iter()
        .position(|l| !text::schedule(&[l.text.as_str()], today).slots.is_empty())?;
    let Some(h) = text.lines[..first].iter().rposition(|l| l.heading > 0) else {
        return Some((text.clone(), None));
    };
    let level = text.lines[h].heading;
    let end = text.lines[first..]
        .iter()
        .position(|l| l.heading > 0 && l.heading <= level)
        .map_or(text.lines.len(), |k| first + k);
    let keep = |i: &usize| (h..end).contains(i);
    let section = PageText {
        lines: text.lines[h..end].to_vec(),
        links: text
            .links
            .iter()
            .filter(|(i, _)| keep(i))
            .map(|(i, l)| (i - h, l.clone()))
            .collect(),
        time_attrs: text
            .time_attrs
            .iter()
            .filter(|(i, _)| keep(i))
            .map(|(i, l)| (i - h, l.clone()))
            .collect(),
    };
    Some((section, Some(text.lines[h].text.trim().to_string())))
}

/// A card's text as a scope the page's rules can read.
pub(super) fn card_scope(card: &Card, n: usize) -> Scope {
    Scope {
        text: card.text.clone(),
        name: format!("event card {n} (`{}`)", card.title),
    }
}

/// The card title as a found title, for cards whose text names no heading.
pub fn title_found(card: &Card) -> Found<String> {
    Found::new(card.title.clone(), "the event card's title line")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    fn cards(html: &str) -> Cards {
        let doc = Html::parse_document(html);
        find_cards(
            &doc,
            &[doc.root_element()],
            &html::visible_text(&doc, None),
            d(2026, 6, 1),
        )
    }

    fn line(t: &str) -> Line {
        Line {
            text: t.into(),
            heading: 0,
        }
    }

    #[test]
    fn title_lines_have_words_that_are_not_dates_times_or_buttons() {
        assert!(is_title_line(&line("Choreography Workshop · Chura Liya")));
        assert!(!is_title_line(&line("17 Aug")));
        assert!(!is_title_line(&line("Mon · 7:00 PM")));
        assert!(!is_title_line(&line("Add to cart ₹500")));
        assert!(!is_title_line(&line("Day 1 – Sat, 19th December")));
        assert!(!is_title_line(&line("Sat 4 Jul, 4 PM to 6 PM")));
    }

    #[test]
    fn repeated_dated_siblings_are_cards_and_the_innermost_set_counts() {
        let c = cards(
            r#"<main><h1>Series</h1><div class="tabs">
            <div class="group"><div class="row"><b>17 Aug</b><p>Hip Hop Workshop</p><p>7 PM</p></div>
              <div class="row"><b>18 Aug</b><p>Kids Dance Class</p><p>6 PM</p></div></div>
            <div class="group"><div class="row"><b>20 Aug</b><p>Salsa Basics Night</p><p>8 PM</p></div>
              <div class="row"><b>21 Aug</b><p>Jazz Funk Workshop</p><p>5 PM</p></div></div>
            </div></main>"#,
        );
        let titles: Vec<&str> = c.cards.iter().map(|c| c.title.as_str()).collect();
        assert_eq!(
            titles,
            vec![
                "Hip Hop Workshop",
                "Kids Dance Class",
                "Salsa Basics Night",
                "Jazz Funk Workshop"
            ]
        );
        assert_eq!(c.cards[0].first.date, d(2026, 8, 17));
    }

    #[test]
    fn cards_dated_only_by_a_time_element_are_read_and_digitless_siblings_are_not_cards() {
        // The dates are in `datetime` only: no digit in any card's text. The digitless
        // teaser rows beside them are skipped unread, and still count as members of the
        // set with text (three of five dated: a list).
        let c = cards(
            r#"<main><h1>This month</h1><div class="list">
            <div class="ev"><p>Salsa Night Social</p><time datetime="2026-08-03T19:00">Monday</time></div>
            <div class="ev"><p>Bachata Basics Class</p><time datetime="2026-08-10T19:00">Monday</time></div>
            <div class="ev"><p>Kizomba Weekend Camp</p><time datetime="2026-08-17T19:00">Monday</time></div>
            <div class="ev"><p>More dates soon, watch this space</p></div>
            <div class="ev"><p>Private lessons on request</p></div>
            </div></main>"#,
        );
        let read: Vec<(&str, NaiveDate)> = c
            .cards
            .iter()
            .map(|c| (c.title.as_str(), c.first.date))
            .collect();
        assert_eq!(
            read,
            vec![
                ("Salsa Night Social", d(2026, 8, 3)),
                ("Bachata Basics Class", d(2026, 8, 10)),
                ("Kizomba Weekend Camp", d(2026, 8, 17)),
            ]
        );
    }

    #[test]
    fn schedule_rows_of_one_event_are_not_cards() {
        let c = cards(
            r#"<main><h1>Summer Intensive</h1><ul>
            <li>Day 1 – Sat, 4 Jul, 4 PM to 6 PM</li><li>Day 2 – Sun, 5 Jul, 11 AM to 1 PM</li>
            </ul></main>"#,
        );
        assert!(c.cards.is_empty());
    }

    #[test]
    fn a_strip_under_a_past_heading_is_past() {
        let c = cards(
            r#"<main><section><h2>Upcoming</h2><div class="ev"><p>Salsa Night Social</p><p>3 Aug 2026, 7 PM</p></div>
            <div class="ev"><p>Bachata Basics Class</p><p>10 Aug 2026, 7 PM</p></div></section>
            <section><h2>Past events</h2><div class="ev"><p>Kizomba Workshop Day</p><p>3 May 2026</p></div>
            <div class="ev"><p>Zouk Weekend Camp</p><p>10 May 2026</p></div></section></main>"#,
        );
        let past: Vec<bool> = c.cards.iter().map(|c| c.past).collect();
        assert_eq!(past, vec![false, false, true, true]);
    }

    fn card(title: &str, day: u32, h: u32, links: &[&str]) -> Card {
        Card {
            text: PageText {
                lines: vec![line(title), line(&format!("{day} Aug {h}:00"))],
                ..PageText::default()
            },
            title: title.into(),
            first: DatedSlot {
                date: d(2026, 8, day),
                start: chrono::NaiveTime::from_hms_opt(h, 0, 0),
                end: None,
            },
            past: false,
            year_heading: None,
            links: links.iter().map(|l| l.to_string()).collect(),
        }
    }

    fn page_url() -> Url {
        Url::parse("https://studio.test/workshops").unwrap()
    }

    #[test]
    fn suffixes_come_from_content_and_stay_unique() {
        let a = card("Bollywood Workshop · Just Chill", 29, 17, &[]);
        let b = card("Bollywood Workshop · Just Chill", 29, 19, &[]);
        let c = card("Jazz Funk", 30, 15, &[]);
        assert_eq!(
            card_suffixes(&[&a, &b, &c], &page_url()),
            vec![
                "bollywood-workshop-just-chill-2026-08-29-1700",
                "bollywood-workshop-just-chill-2026-08-29-1900",
                "jazz-funk"
            ]
        );
        // Reordering keeps each card's suffix.
        assert_eq!(
            card_suffixes(&[&c, &b, &a], &page_url())[0],
            "jazz-funk".to_string()
        );
        // The same text twice (no time to tell them apart) still gives two suffixes.
        let e = card("Jazz Funk", 30, 15, &[]);
        let mut f = card("Jazz Funk", 30, 15, &[]);
        f.text.lines.push(line("Studio B"));
        let s = card_suffixes(&[&e, &f], &page_url());
        assert_ne!(s[0], s[1]);
        assert!(s[0].starts_with("jazz-funk-2026-08-30-1500-"), "{s:?}");
    }

    #[test]
    fn a_rescheduled_card_keeps_its_suffix() {
        // Without a link: its title.
        let before = card("Jazz Funk", 30, 15, &[]);
        let after = card("Jazz Funk", 31, 18, &[]);
        let other = card("Popping Lab", 30, 15, &[]);
        assert_eq!(
            card_suffixes(&[&before, &other], &page_url())[0],
            card_suffixes(&[&after, &other], &page_url())[0]
        );
        // With its own link: the link, whatever the title or date says.
        let before = card(
            "Jazz Funk",
            30,
            15,
            &["/e/jazz-funk-aug", "https://instagram.com/x"],
        );
        let after = card("Jazz Funk (new date!)", 31, 18, &["/e/jazz-funk-aug"]);
        assert_eq!(
            card_suffixes(&[&before, &other], &page_url())[0],
            "jazz-funk-aug"
        );
        assert_eq!(
            card_suffixes(&[&after, &other], &page_url())[0],
            "jazz-funk-aug"
        );
        // A query link is hashed; a social link or the page itself is no identity.
        let q = card("Salsa", 1, 18, &["https://pay.test/index.html?go=salsa"]);
        assert!(card_suffixes(&[&q, &other], &page_url())[0].starts_with("u-"));
        let social = card(
            "Salsa",
            1,
            18,
            &["https://www.instagram.com/p/abc", "/workshops#top"],
        );
        assert_eq!(card_suffixes(&[&social, &other], &page_url())[0], "salsa");
        // A link every card shares (one booking page) names none of them.
        let x = card("Salsa", 1, 18, &["/book"]);
        let y = card("Bachata", 2, 18, &["/book"]);
        assert_eq!(
            card_suffixes(&[&x, &y], &page_url()),
            vec!["salsa", "bachata"]
        );
    }
}
