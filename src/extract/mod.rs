//! Pure extraction: one page (HTML + URL) and its source configuration in, normalised
//! workshop drafts out, each field with its provenance. No I/O, no clock reads.
//!
//! Layers, highest priority first; a lower layer only fills what higher ones left empty:
//! 1. the source's own selectors / patterns (`[extract.fields]`, [`rules`]),
//! 2. schema.org `Event` JSON-LD (arrays, `@graph`, `subEvent`, `offers`, [`jsonld`]),
//! 3. Open Graph / `<meta>` / microdata ([`meta`]),
//! 4. rules over the visible text (scripts, styles, comments and asides removed,
//!    [`html`], [`text`]).
//!
//! Merging ([`extract_page`]): each field comes from the highest layer that has it.
//! Session dates and their times are separate fields: dates that arrive without a time
//! take the times of the highest layer that states times (one per date when the counts
//! agree, else the first for all), and a source `times` rule overrides times found by a
//! lower layer. A page with no date is not a workshop. A page with two or more songs
//! gives one workshop per song; when the text splits by song, each song keeps the dates
//! and prices of its own part.
//!
//! A listing page (several dated event cards, and no source rule or JSON-LD dating the
//! page) gives one workshop per card, each read from its own card ([`listing`]).

use crate::artist::ArtistDirectory;
use crate::source::{ExtractRules, Source};
use crate::workshop::{
    normalise_key_text, sessions_to_time_details, EventType, Session, TimeDetail, WorkshopDraft,
};
use chrono::{NaiveDate, NaiveTime};
use fields::{DatedSlot, Found, LayerFields, SongPart};
use price::PriceLine;
use scraper::Html;
use serde::Serialize;
use time::TimeMention;
use url::Url;

pub mod appdata;
pub mod artist;
pub mod bounded;
pub mod budget;
pub mod confidence;
pub mod date;
pub mod dom;
pub mod event_type;
pub mod fastre;
pub mod fields;
pub mod html;
pub mod jsonld;
pub mod links;
pub mod listing;
pub mod memo;
pub mod meta;
pub mod price;
pub mod rules;
pub mod structure;
pub mod text;
pub mod time;
pub mod title_song;

pub use bounded::{
    extract_page_bounded, extract_page_off_runtime, ExtractFailure, OwnedPage, DEFAULT_BUDGET,
};

/// Everything extraction may look at.
pub struct ExtractInput<'a> {
    /// The event page's URL (becomes `payment_link`, case preserved, and the uuid slug).
    pub page_url: &'a Url,
    pub html: &'a str,
    pub source: &'a Source,
    pub artists: &'a ArtistDirectory,
    /// The run date in the studio's zone: year inference and nothing else.
    pub today: NaiveDate,
}

/// Which layer a field came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Layer {
    Source,
    JsonLd,
    Meta,
    Text,
    /// Embedded app data (`<script type="application/json">`), read only when nothing
    /// else dates the page ([`appdata`]).
    AppData,
    Default,
}

/// Where one field's value came from: layer plus the selector, rule or key used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProvenance {
    pub field: &'static str,
    pub layer: Layer,
    pub detail: String,
}

/// One workshop found on a page.
#[derive(Debug, Clone)]
pub struct Extracted {
    pub draft: WorkshopDraft,
    /// The event's title as the page states it (for logs and notification text).
    pub title: Option<String>,
    pub provenance: Vec<FieldProvenance>,
    /// Artist names or handles seen on the page that match no `artists_v2` entry.
    pub unknown_artists: Vec<String>,
    /// Source rules that found nothing on the page (a selector that matches nothing),
    /// each naming the rule. A page that is not a workshop carries them in its reason.
    pub warnings: Vec<String>,
}

/// What a page turned out to be.
#[derive(Debug, Clone)]
pub enum PageVerdict {
    Workshops(Vec<Extracted>),
    NotAWorkshop { reason: String },
}

/// The layers' findings for one page, highest priority first.
struct Layers {
    list: Vec<(Layer, LayerFields)>,
}

impl Layers {
    fn pick<'a, T>(
        &'a self,
        get: impl Fn(&'a LayerFields) -> Option<&'a Found<T>>,
    ) -> Option<(Layer, &'a Found<T>)> {
        self.list
            .iter()
            .find_map(|(layer, f)| get(f).map(|found| (*layer, found)))
    }

    fn get(&self, layer: Layer) -> Option<&LayerFields> {
        self.list.iter().find(|(l, _)| *l == layer).map(|(_, f)| f)
    }
}

/// The visible text extraction reads, and how it was chosen.
struct Scope {
    text: html::PageText,
    name: String,
}

/// The text the visible-text rules read: inside `content_selector` when the source has
/// one. A content selector that matches nothing gives no text at all (and a warning,
/// [`selector_warnings`]): widening to the whole page would let a sidebar's artist or
/// dates decide the workshop.
/// `roots` are [`scope_roots`] (selected once per page).
fn content_scope(doc: &Html, source: &Source, roots: &[scraper::ElementRef<'_>]) -> Scope {
    if source.extract.content_selector.is_some() {
        if roots.is_empty() {
            return Scope {
                text: html::PageText::default(),
                name: "content_selector (matched nothing)".into(),
            };
        }
        return Scope {
            text: html::visible_text(doc, Some(roots)),
            name: "content_selector".into(),
        };
    }
    Scope {
        text: html::visible_text(doc, None),
        name: "page".into(),
    }
}

/// One warning per source selector that matches nothing on this page, naming it.
pub fn selector_warnings(doc: &Html, source: &Source) -> Vec<String> {
    warnings_given(source, &rules::Selected::find(doc, &source.extract))
}

/// [`selector_warnings`] from what the page's selectors matched (found once per page).
fn warnings_given(source: &Source, selected: &rules::Selected<'_>) -> Vec<String> {
    use scraper::selector::ToCss;
    let rules = &source.extract;
    let mut out = Vec::new();
    if let (Some(sel), Some(found)) = (&rules.content_selector, &selected.content) {
        if found.is_empty() {
            out.push(format!(
                "extract.content_selector `{}` matched nothing on this page: the visible-text rules read nothing (they do not fall back to the whole page)",
                sel.to_css_string()
            ));
        }
    }
    let fields = rules.fields();
    for ((name, rule), found) in ExtractRules::FIELD_NAMES
        .iter()
        .zip(fields)
        .zip(&selected.fields)
    {
        if let (Some(sel), Some(found)) = (rule.and_then(|r| r.selector.as_ref()), found) {
            if found.is_empty() {
                out.push(format!(
                    "extract.fields.{name} selector `{}` matched nothing on this page: the field comes from the generic layers",
                    sel.to_css_string()
                ));
            }
        }
    }
    out
}

fn title_tag(page: &dom::PageIndex<'_>) -> Option<String> {
    page.title
        .map(|t| {
            t.text()
                .collect::<String>()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|t| !t.is_empty())
}

/// What a page's uuid is built from, and how (for provenance).
pub struct Identity {
    pub base_uuid: String,
    pub detail: String,
}

/// The uuid base of a page: the source's `[slug]` pattern, else the URL's last path
/// segment. When neither gives a slug that can tell pages apart (the pattern does not
/// match, or the last segment is a bare number such as the `0` of
/// `/event/<slug>/1071/0`), a stable hash of the normalised URL: never the host or a
/// segment many pages share, so two workshops can never take one uuid.
pub fn page_identity(source: &Source, page_url: &Url) -> Identity {
    let studio = &source.studio.id;
    if let Some(u) = source.uuid_for(page_url) {
        let slug = u.strip_prefix(&format!("{studio}/")).unwrap_or(&u);
        let usable = source.slug_pattern.is_some()
            || !slug
                .chars()
                .all(|c| c.is_ascii_digit() || c == '-' || c == '_');
        if usable && !slug.is_empty() {
            return Identity {
                base_uuid: u.clone(),
                detail: if source.slug_pattern.is_some() {
                    "[slug] pattern".to_string()
                } else {
                    "last path segment of the URL".to_string()
                },
            };
        }
    }
    Identity {
        base_uuid: format!("{studio}/{}", url_hash_slug(page_url)),
        detail: format!(
            "hash of the normalised URL `{}` ({})",
            normalised_url(page_url),
            if source.slug_pattern.is_some() {
                "the [slug] pattern does not match it"
            } else {
                "its last path segment is not a slug"
            }
        ),
    }
}

/// For `check`: every URL of `urls` that `crawl.follow` accepts as an event page but
/// whose uuid could not come from its slug (the `[slug]` pattern does not match it, or
/// its last segment is a bare number), so it would fall back to a URL hash.
pub fn slug_warnings(source: &Source, urls: &[Url]) -> Vec<String> {
    urls.iter()
        .filter(|u| source.crawl.follow.is_match(u.as_str()))
        .filter_map(|u| {
            let id = page_identity(source, u);
            id.base_uuid
                .starts_with(&format!("{}/u-", source.studio.id))
                .then(|| {
                    format!(
                        "{u} is accepted by crawl.follow but gives no slug ({}): its uuid would be a hash of the URL; a [slug] pattern matching it keeps uuids readable",
                        if source.slug_pattern.is_some() {
                            "the [slug] pattern does not match it"
                        } else {
                            "its last path segment is a bare number"
                        }
                    )
                })
        })
        .collect()
}

/// The URL as identity: lower-case scheme and host, no fragment, no `utm_*` tracking
/// parameters, no trailing `/` on the path. Path and query keep their case (codes such
/// as `mV3sZk9` are case-sensitive).
pub fn normalised_url(url: &Url) -> String {
    let mut u = url.clone();
    u.set_fragment(None);
    let kept: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| !k.to_ascii_lowercase().starts_with("utm_"))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    if kept.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(kept);
    }
    let path = u.path().trim_end_matches('/').to_string();
    let query = u.query().map(|q| format!("?{q}")).unwrap_or_default();
    format!(
        "{}://{}{}{}{}",
        u.scheme(),
        u.host_str().unwrap_or("").to_ascii_lowercase(),
        u.port().map(|p| format!(":{p}")).unwrap_or_default(),
        path,
        query
    )
}

/// `u-` and the first 16 hex digits of the SHA-256 of [`normalised_url`].
pub fn url_hash_slug(url: &Url) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(normalised_url(url).as_bytes());
    format!("u-{}", &hex::encode(digest)[..16])
}

/// What the app shows for a session whose start the page does not state.
pub const TBA: &str = "TBA";

/// Runs the layers of one page, highest priority first. Meta prose (descriptions,
/// `<noscript>`) is read with the text rules only when no other layer found a date.
fn read_layers(
    doc: &Html,
    input: &ExtractInput<'_>,
    scope: &Scope,
    selected: &rules::Selected<'_>,
) -> Layers {
    let tz = input.source.timezone;
    let joined = scope.text.joined();
    let page = dom::PageIndex::new(doc);
    let tag = title_tag(&page);
    let text_layer = text::layer(&scope.text, input.today, tag.as_deref(), &scope.name);
    let visible = text::VisibleTimes::new(
        &scope.text,
        text_layer
            .slots
            .as_ref()
            .map(|s| s.value.clone())
            .unwrap_or_default(),
    );
    let mut layers = Layers {
        list: vec![
            (
                Layer::Source,
                rules::layer(selected, &input.source.extract, &joined, input.today, tz),
            ),
            (
                Layer::JsonLd,
                jsonld::layer_in(&page, input.page_url, tz, &visible),
            ),
            (Layer::Meta, meta::layer_in(&page, tz)),
            (Layer::Text, text_layer),
        ],
    };
    if layers.pick(|f| f.slots.as_ref()).is_none() {
        if let Some(prose) = meta::prose_layer_in(&page, input.today) {
            layers.list.push((Layer::Meta, prose));
        }
    }
    if layers.pick(|f| f.slots.as_ref()).is_none() {
        // Before the text layer: the event object's own title beats the `<title>` tag
        // the text layer falls back to.
        if let Some(app) = appdata::layer(doc, tz, tag.as_deref()) {
            let at = layers
                .list
                .iter()
                .position(|(l, _)| *l == Layer::Text)
                .unwrap_or(layers.list.len());
            layers.list.insert(at, (Layer::AppData, app));
        }
    }
    layers
}

/// Runs every layer on one page: one draft per event card on a listing page
/// ([`listing`]), else the page as one event (one draft per song).
pub fn extract_page(input: &ExtractInput<'_>) -> PageVerdict {
    // The line memory serves one page: nothing carried in, nothing kept after it.
    memo::clear();
    let verdict = extract_page_once(input);
    memo::clear();
    verdict
}

fn extract_page_once(input: &ExtractInput<'_>) -> PageVerdict {
    let doc = dom::parse_document(input.html);
    // Every source selector's matches, found in one pass: the warnings, the content
    // scope, the visible text, the card search and the field rules all read them.
    let selected = rules::Selected::find(&doc, &input.source.extract);
    let roots = scope_roots(&doc, &selected);
    let warnings = warnings_given(input.source, &selected);
    let scope = content_scope(&doc, input.source, &roots);
    let layers = read_layers(&doc, input, &scope, &selected);
    // Source rules and JSON-LD describe the page's own event: no card detection then.
    let structured = [Layer::Source, Layer::JsonLd]
        .iter()
        .any(|l| layers.get(*l).is_some_and(|f| f.slots.is_some()));
    let cards = if structured {
        listing::Cards::default()
    } else {
        listing::find_cards(&doc, &roots, &scope.text, input.today)
    };
    let identity = page_identity(input.source, input.page_url);
    // Events listed only in a JSON-LD `ItemList`: one draft each, like listing cards.
    // A source rule dating the page describes the page's own event instead.
    // The whole page is searched: memchr's vectorised search, not `str::contains`.
    let listed = if memchr::memmem::find(input.html.as_bytes(), b"ItemList").is_some()
        && layers.get(Layer::Source).is_none_or(|f| f.slots.is_none())
    {
        let items = jsonld::item_list_events(&doc, input.page_url);
        not_only_past(input, &scope, items)
    } else {
        Vec::new()
    };
    if listed.len() >= 2 {
        let mut out = item_list_workshops(input, &listed, &identity);
        if !out.is_empty() {
            for e in &mut out {
                e.warnings = warnings.clone();
            }
            out.sort_by(|a, b| a.draft.uuid.cmp(&b.draft.uuid));
            return PageVerdict::Workshops(out);
        }
    }
    let not_event_like = (cards.current().count() < 2)
        .then(|| without_event_structure(&layers, &scope, input.today))
        .flatten();
    let found = if not_event_like.is_some() {
        None
    } else if cards.current().count() >= 2 {
        Some(listing_workshops(input, &doc, &scope, &cards, &identity))
    } else if cards.has_past() {
        let scope = Scope {
            text: listing::without_cards(&scope.text, cards.cards.iter().filter(|c| c.past))
                .unwrap_or_else(|| scope.text.clone()),
            name: format!("{} without its past-events strip", scope.name),
        };
        let layers = read_layers(&doc, input, &scope, &selected);
        page_workshops(input, &layers, &scope, identity)
    } else {
        page_workshops(input, &layers, &scope, identity)
    };
    let Some(mut out) = found.filter(|o| !o.is_empty()) else {
        let mut reason = format!(
            "no event date found (source rules, JSON-LD, meta tags and the visible text of the {} were searched)",
            scope.name
        );
        if let Some(why) = not_event_like {
            reason = why;
        }
        for w in &warnings {
            reason.push_str("; warning: ");
            reason.push_str(w);
        }
        return PageVerdict::NotAWorkshop { reason };
    };
    for e in &mut out {
        e.warnings = warnings.clone();
    }
    out.sort_by(|a, b| a.draft.uuid.cmp(&b.draft.uuid));
    PageVerdict::Workshops(out)
}

/// Why a page dated only by its visible text is still no event ([`structure`]): `None`
/// when a higher layer dated it or its dates are stated as an event's.
fn without_event_structure(layers: &Layers, scope: &Scope, today: NaiveDate) -> Option<String> {
    let (layer, _) = layers.pick(|f| f.slots.as_ref())?;
    if layer != Layer::Text {
        return None;
    }
    let title = layers
        .pick(|f| f.title.as_ref())
        .map(|(_, t)| t.value.as_str());
    (!structure::has_event_structure(&scope.text, title, today)).then(|| {
        format!(
            "no event-like structure: the dates in the visible text of the {} have no session time beside them and no event or booking word near them",
            scope.name
        )
    })
}

/// The elements the visible-text rules read: the content selector's matches, else the
/// whole document.
fn scope_roots<'a>(doc: &'a Html, selected: &rules::Selected<'a>) -> Vec<scraper::ElementRef<'a>> {
    match &selected.content {
        Some(found) => html::outermost(doc, found.clone()),
        None => vec![doc.root_element()],
    }
}

/// A listing page: one draft per current card, read from the card's own text, plus
/// the page's text outside every card when it states a timed session of its own.
fn listing_workshops(
    input: &ExtractInput<'_>,
    doc: &Html,
    scope: &Scope,
    cards: &listing::Cards,
    identity: &Identity,
) -> Vec<Extracted> {
    let current: Vec<&listing::Card> = cards.current().collect();
    let suffixes = listing::card_suffixes(&current, input.page_url);
    let mut out = Vec::new();
    // Read once, and only when a card states a date without a time.
    let mut app_events: Option<Vec<(String, Vec<DatedSlot>)>> = None;
    for (n, (card, suffix)) in current.iter().zip(&suffixes).enumerate() {
        let card_scope = listing::card_scope(card, n + 1);
        // The `Month YYYY` heading above the card, if any, lends its year.
        let card_scope = Scope {
            text: card.dated_text(),
            name: card_scope.name,
        };
        let mut fields = text::layer(&card_scope.text, input.today, None, &card_scope.name);
        fields.title = Some(listing::title_found(card));
        if let Some(slots) = fields.slots.as_mut() {
            if slots.value.iter().any(|s| s.start.is_none()) {
                let events =
                    app_events.get_or_insert_with(|| appdata::events(doc, input.source.timezone));
                if listing::times_from_app_data(&card.title, &mut slots.value, events) {
                    slots.detail.push_str(
                        "; times from the embedded app data's event of the same title and date",
                    );
                }
            }
        }
        let layers = Layers {
            list: vec![(Layer::Text, fields)],
        };
        let card_identity = Identity {
            base_uuid: format!("{}--{suffix}", identity.base_uuid),
            detail: format!(
                "{}, then `--` and the event card's own link, else its title (its date only where two cards share one)",
                identity.detail
            ),
        };
        out.extend(page_workshops(input, &layers, &card_scope, card_identity).unwrap_or_default());
    }
    // The rest of the page is read only when every card was found in its text: what
    // could not be taken out would be read twice.
    let Some(outside) = listing::without_cards(&scope.text, cards.cards.iter()) else {
        return out;
    };
    if let Some((section, heading)) = listing::dated_section(&outside, input.today) {
        let rest = Scope {
            text: section,
            name: format!("{} outside its event cards", scope.name),
        };
        let mut fields = text::layer(&rest.text, input.today, None, &rest.name);
        // Only a timed session makes the rest an event of its own: a stray date beside
        // a list (a notice, an update) does not.
        let timed = fields
            .slots
            .as_ref()
            .is_some_and(|s| s.value.iter().any(|x| x.start.is_some()));
        if timed {
            if let Some(t) = heading {
                fields.title = Some(Found::new(
                    t,
                    "the heading above the first date outside the cards",
                ));
            }
            let layers = Layers {
                list: vec![(Layer::Text, fields)],
            };
            let own = Identity {
                base_uuid: identity.base_uuid.clone(),
                detail: identity.detail.clone(),
            };
            out.extend(page_workshops(input, &layers, &rest, own).unwrap_or_default());
        }
    }
    out
}

/// The listed events a page does not show only as past: an event whose day and month
/// the visible text states only under a past-events heading
/// ([`listing::split_past_sections`]) is dropped (an organiser page lists its upcoming
/// event and its whole archive in one `ItemList`).
fn not_only_past(
    input: &ExtractInput<'_>,
    scope: &Scope,
    items: Vec<serde_json::Value>,
) -> Vec<serde_json::Value> {
    if items.is_empty() {
        return items;
    }
    let (past_text, rest_text) = listing::split_past_sections(&scope.text);
    if past_text.lines.is_empty() {
        return items;
    }
    // Day and month only: strips often write no year (`Sat, Aug 31`), and the year the
    // text rules infer for it need not be the stamp's.
    use chrono::Datelike;
    let dates = |t: &html::PageText| -> Vec<(u32, u32)> {
        let lines: Vec<&str> = t.lines.iter().map(|l| l.text.as_str()).collect();
        text::schedule(&lines, input.today)
            .slots
            .iter()
            .map(|s| (s.date.month(), s.date.day()))
            .collect()
    };
    let past = dates(&past_text);
    let shown = dates(&rest_text);
    let tz = input.source.timezone;
    items
        .into_iter()
        .filter(|ev| {
            jsonld::written_start(ev, tz)
                .map(|d| (d.month(), d.day()))
                .is_none_or(|d| !past.contains(&d) || shown.contains(&d))
        })
        .collect()
}

/// A page whose events are listed in a JSON-LD `ItemList`: one draft per listed event,
/// read from that event's own JSON-LD (name, dates, offers, performers). Its uuid is
/// `{page}--{suffix}`, the suffix from the event's own `url` ([`listing::link_slug`]),
/// else its name, made unique on the page ([`listing::unique_suffixes`]).
fn item_list_workshops(
    input: &ExtractInput<'_>,
    items: &[serde_json::Value],
    identity: &Identity,
) -> Vec<Extracted> {
    let tz = input.source.timezone;
    let fields: Vec<LayerFields> = items.iter().map(|ev| jsonld::item_fields(ev, tz)).collect();
    let own = normalised_url(input.page_url);
    let bases: Vec<String> = items
        .iter()
        .zip(&fields)
        .map(|(ev, f)| {
            match jsonld::event_url(ev, input.page_url).filter(|u| normalised_url(u) != own) {
                Some(u) => listing::link_slug(&u),
                None => f
                    .title
                    .as_ref()
                    .map(|t| song_slug(&t.value))
                    .filter(|s| !s.is_empty())
                    .unwrap_or_else(|| "event".into()),
            }
        })
        .collect();
    let suffixes = listing::unique_suffixes(
        bases,
        |i| {
            fields[i]
                .slots
                .as_ref()
                .and_then(|s| s.value.first())
                .map(|s| s.date.format("%Y-%m-%d").to_string())
        },
        |i| items[i].to_string(),
    );
    let mut out = Vec::new();
    for (n, (f, suffix)) in fields.into_iter().zip(suffixes).enumerate() {
        let layers = Layers {
            list: vec![(Layer::JsonLd, f)],
        };
        let scope = Scope {
            text: html::PageText::default(),
            name: format!("JSON-LD ItemList item {}", n + 1),
        };
        let id = Identity {
            base_uuid: format!("{}--{suffix}", identity.base_uuid),
            detail: format!(
                "{}, then `--` and the listed event's own link (else its name)",
                identity.detail
            ),
        };
        out.extend(page_workshops(input, &layers, &scope, id).unwrap_or_default());
    }
    out
}

/// The workshops of one page (or one event card) read from `layers`: `None` when no
/// layer found a date.
fn page_workshops(
    input: &ExtractInput<'_>,
    layers: &Layers,
    scope: &Scope,
    identity: Identity,
) -> Option<Vec<Extracted>> {
    let (slot_layer, slots) = layers.pick(|f| f.slots.as_ref())?;
    let title = layers.pick(|f| f.title.as_ref());
    let explicit_songs = layers.pick(|f| f.songs.as_ref());
    let from_title = match (explicit_songs, title) {
        (None, Some((l, t))) => title_song(input, layers, scope, t).map(|s| (l, s)),
        _ => None,
    };
    let page = PageFacts {
        title,
        times: layers.pick(|f| f.times.as_ref()),
        prices: layers.pick(|f| f.prices.as_ref()),
        songs: explicit_songs.or(from_title.as_ref().map(|(l, f)| (*l, f))),
        slot_layer,
        slots,
        parts: layers
            .get(Layer::Text)
            .map(|f| f.song_parts.clone())
            .unwrap_or_default(),
        artists: resolve_artists(
            layers,
            scope,
            input.artists,
            &studio_handles(input.source),
            layers
                .pick(|f| f.title.as_ref())
                .map(|(_, t)| t.value.as_str()),
        ),
        event_type: resolve_event_type(layers, input.source.extract.default_event_type),
        identity,
    };
    let song_list: Vec<Option<String>> = match page.songs {
        Some((_, s)) if s.value.len() >= 2 => s.value.iter().cloned().map(Some).collect(),
        Some((_, s)) => vec![s.value.first().cloned()],
        None => vec![None],
    };
    Some(
        song_list
            .iter()
            .map(|song| one_workshop(input, &page, song.as_ref(), song_list.len()))
            .collect(),
    )
}

/// The song the event's title names after its kind (`Bollywood Workshop – Kesariya`),
/// when the page names none explicitly ([`title_song`]). Never from the `<title>` tag.
fn title_song(
    input: &ExtractInput<'_>,
    layers: &Layers,
    scope: &Scope,
    title: &Found<String>,
) -> Option<Found<Vec<String>>> {
    if title.detail == "<title>" {
        return None;
    }
    let artist_texts: Vec<String> = layers
        .list
        .iter()
        .filter_map(|(_, f)| f.artists.as_ref())
        .flat_map(|a| a.value.iter().cloned())
        .collect();
    let lines: Vec<&str> = scope.text.lines.iter().map(|l| l.text.as_str()).collect();
    let studio = &input.source.studio;
    let song = title_song::song_in_title(
        &title.value,
        &title_song::TitleContext {
            directory: input.artists,
            studio: [studio.id.as_str(), studio.name.as_str()],
            artist_texts: &artist_texts,
            lines: &lines,
        },
    )?;
    // Where else the page names its people: titles and descriptions of every layer, the
    // `<title>` tag, the visible lines.
    static TITLE_TAG: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"(?is)<title[^>]*>(.*?)</title>").expect("static regex")
    });
    let mut texts: Vec<&str> = lines.clone();
    for (_, f) in &layers.list {
        texts.extend(f.title.as_ref().map(|t| t.value.as_str()));
        texts.extend(f.description.as_ref().map(|d| d.value.as_str()));
    }
    texts.extend(
        TITLE_TAG
            .captures(input.html)
            .and_then(|c| c.get(1))
            .map(|m| m.as_str()),
    );
    if title_song::named_as_artist(&song, &texts) {
        return None;
    }
    Some(Found::new(
        vec![song],
        format!("the title's part after its event kind ({})", title.detail),
    ))
}

/// Studio handles are not artists.
fn studio_handles(source: &Source) -> Vec<String> {
    let mut ignore = vec![source.studio.id.to_lowercase()];
    if let Some(h) = source
        .studio
        .instagram_link
        .as_deref()
        .and_then(artist::handle_from_link)
    {
        ignore.push(h);
    }
    ignore
}

/// Page-wide findings every workshop of the page draws from.
struct PageFacts<'a> {
    title: Option<(Layer, &'a Found<String>)>,
    times: Option<(Layer, &'a Found<Vec<TimeMention>>)>,
    prices: Option<(Layer, &'a Found<Vec<PriceLine>>)>,
    songs: Option<(Layer, &'a Found<Vec<String>>)>,
    slot_layer: Layer,
    slots: &'a Found<Vec<DatedSlot>>,
    parts: Vec<SongPart>,
    artists: ResolvedArtists,
    event_type: (EventType, FieldProvenance),
    identity: Identity,
}

/// The sessions of one workshop: its song's own part when that part has dates, else
/// the page's, with times filled in; the dates whose start the page does not state.
fn workshop_sessions(
    page: &PageFacts<'_>,
    part: Option<&SongPart>,
) -> (Vec<Session>, Vec<NaiveDate>, FieldProvenance) {
    let times = page.times;
    // A song's part that states its own times but no date (`Choreo 2 — …` / `6:30 –
    // 8:30 PM` under one dated heading) gives the page's dates its own times.
    if let Some(p) = part.filter(|p| p.slots.is_empty() && !p.times.is_empty()) {
        let (sessions, unstated) = build_sessions_marked(&page.slots.value, &p.times, true);
        let detail = format!(
            "{}; times in the part about `{}`",
            page.slots.detail, p.song
        );
        return (
            sessions,
            unstated,
            FieldProvenance {
                field: "time_details",
                layer: page.slot_layer,
                detail,
            },
        );
    }
    if let Some(p) = part.filter(|p| !p.slots.is_empty()) {
        let part_times = if p.times.is_empty() {
            times.map(|(_, t)| t.value.as_slice()).unwrap_or(&[])
        } else {
            p.times.as_slice()
        };
        let (sessions, unstated) = build_sessions_marked(&p.slots, part_times, false);
        let mut detail = format!("dates in the part about `{}`", p.song);
        if !unstated.is_empty() {
            detail.push_str(NO_TIME_NOTE);
        }
        return (
            sessions,
            unstated,
            FieldProvenance {
                field: "time_details",
                layer: Layer::Text,
                detail,
            },
        );
    }
    let slots = page.slots;
    let override_all =
        times.is_some_and(|(l, _)| l == Layer::Source && page.slot_layer != Layer::Source);
    let t: &[TimeMention] = times.map(|(_, t)| t.value.as_slice()).unwrap_or(&[]);
    let mut detail = slots.detail.clone();
    if let Some((tl, tf)) = times {
        if override_all || slots.value.iter().any(|s| s.start.is_none()) {
            detail = format!("{detail}; times from {} ({})", layer_name(tl), tf.detail);
        }
    }
    // One date and a structured layer's two or more successive ranges (a source
    // `times` rule picking `11 AM - 1 PM` and `4 - 6 PM`): batches of that date, each a
    // session. Loose text times are left to the text layer, which pairs a date only with
    // the time lines right after it.
    let one_needing = matches!(slots.value.as_slice(), [s] if override_all || s.start.is_none());
    if one_needing && times.is_some_and(|(l, _)| l != Layer::Text) && text::batch_ranges(t) {
        let date = slots.value[0].date;
        let sessions = t
            .iter()
            .map(|tm| Session {
                date,
                start: tm.start,
                end: tm.end,
            })
            .collect();
        detail.push_str("; each of its time ranges is a batch of that date");
        return (
            sessions,
            Vec::new(),
            FieldProvenance {
                field: "time_details",
                layer: page.slot_layer,
                detail,
            },
        );
    }
    let (sessions, unstated) = build_sessions_marked(&slots.value, t, override_all);
    if !unstated.is_empty() {
        detail.push_str(NO_TIME_NOTE);
    }
    (
        sessions,
        unstated,
        FieldProvenance {
            field: "time_details",
            layer: page.slot_layer,
            detail,
        },
    )
}

const NO_TIME_NOTE: &str =
    "; the page states no start time for some dates: their start_time is \"TBA\" and end_time \"\"";

/// The price lines of one workshop: its song's own part when that part has prices,
/// else the page's.
fn workshop_prices(
    page: &PageFacts<'_>,
    part: Option<&SongPart>,
) -> (Vec<PriceLine>, FieldProvenance) {
    if let Some(p) = part.filter(|p| !p.prices.is_empty()) {
        return (
            p.prices.clone(),
            FieldProvenance {
                field: "pricing_info",
                layer: Layer::Text,
                detail: format!("prices in the part about `{}`", p.song),
            },
        );
    }
    match page.prices {
        Some((l, f)) => (
            f.value.clone(),
            FieldProvenance {
                field: "pricing_info",
                layer: l,
                detail: f.detail.clone(),
            },
        ),
        None => (
            Vec::new(),
            FieldProvenance {
                field: "pricing_info",
                layer: Layer::Default,
                detail: "no price found".into(),
            },
        ),
    }
}

/// `time_details` from sessions; a session whose start the page does not state shows
/// `TBA` (what the app shows for any time that is not `HH:MM AM/PM`), never a midnight
/// the page did not say.
fn render_time_details(sessions: &mut Vec<Session>, unstated: &[NaiveDate]) -> Vec<TimeDetail> {
    let mut details = sessions_to_time_details(sessions);
    for (d, s) in details.iter_mut().zip(sessions.iter()) {
        if s.start == NaiveTime::MIN && s.end.is_none() && unstated.contains(&s.date) {
            d.start_time = TBA.to_string();
        }
    }
    details
}

/// One workshop of the page (one per song when the page names several).
fn one_workshop(
    input: &ExtractInput<'_>,
    page: &PageFacts<'_>,
    song: Option<&String>,
    songs: usize,
) -> Extracted {
    let identity = &page.identity;
    let mut provenance = vec![
        FieldProvenance {
            field: "uuid",
            layer: Layer::Default,
            detail: if songs >= 2 {
                format!("{}, then `--` and the song slug", identity.detail)
            } else {
                identity.detail.clone()
            },
        },
        FieldProvenance {
            field: "studio_id",
            layer: Layer::Default,
            detail: "the source's studio.id".into(),
        },
        FieldProvenance {
            field: "payment_link",
            layer: Layer::Default,
            detail: "the page URL as requested".into(),
        },
    ];
    let part = song.and_then(|s| {
        let key = normalise_key_text(s);
        page.parts
            .iter()
            .find(|p| normalise_key_text(&p.song) == key)
    });
    let uuid = match song {
        Some(s) if songs >= 2 => format!("{}--{}", identity.base_uuid, song_slug(s)),
        _ => identity.base_uuid.clone(),
    };
    let (mut sessions, unstated, time_prov) = workshop_sessions(page, part);
    let time_details = render_time_details(&mut sessions, &unstated);
    provenance.push(time_prov);
    let (price_lines, price_prov) = workshop_prices(page, part);
    provenance.push(price_prov);
    provenance.push(match page.songs {
        Some((l, f)) => FieldProvenance {
            field: "song",
            layer: l,
            detail: f.detail.clone(),
        },
        None => FieldProvenance {
            field: "song",
            layer: Layer::Default,
            detail: "no song named".into(),
        },
    });
    let artists = &page.artists;
    provenance.push(artists.by_provenance.clone());
    provenance.push(artists.ids_provenance.clone());
    provenance.push(page.event_type.1.clone());
    if let Some((l, t)) = page.title {
        provenance.push(FieldProvenance {
            field: "title",
            layer: l,
            detail: t.detail.clone(),
        });
    }
    let draft = WorkshopDraft {
        uuid,
        studio_id: input.source.studio.id.clone(),
        payment_link: input.page_url.as_str().to_string(),
        payment_link_type: "url".into(),
        event_type: page.event_type.0,
        time_details,
        by: artists.by.clone(),
        song: song.cloned(),
        pricing_info: price::render_pricing(&price_lines),
        artist_id_list: artists.ids.clone(),
        choreo_insta_link: None,
        sessions,
    };
    Extracted {
        draft,
        title: page.title.map(|(_, t)| t.value.clone()),
        provenance,
        unknown_artists: artists.unknown.clone(),
        warnings: Vec::new(),
    }
}

fn layer_name(l: Layer) -> &'static str {
    match l {
        Layer::Source => "source rules",
        Layer::JsonLd => "JSON-LD",
        Layer::Meta => "meta",
        Layer::AppData => "embedded app data",
        Layer::Text => "visible text",
        Layer::Default => "default",
    }
}

/// `Hauli Slowly!` → `hauli-slowly`.
pub fn song_slug(song: &str) -> String {
    normalise_key_text(song).replace(' ', "-")
}

/// Sessions from dated slots: a slot without a time (or every slot, with
/// `override_all`) takes a time from `times`: pairwise when the counts agree, else the
/// first. A date with no time anywhere gets a 00:00 placeholder start; use
/// [`build_sessions_marked`] to learn which dates those are.
pub fn build_sessions(
    slots: &[DatedSlot],
    times: &[TimeMention],
    override_all: bool,
) -> Vec<Session> {
    build_sessions_marked(slots, times, override_all).0
}

/// [`build_sessions`], plus the dates whose start time nothing on the page states.
pub fn build_sessions_marked(
    slots: &[DatedSlot],
    times: &[TimeMention],
    override_all: bool,
) -> (Vec<Session>, Vec<NaiveDate>) {
    let needing: Vec<usize> = slots
        .iter()
        .enumerate()
        .filter(|(_, s)| override_all || s.start.is_none())
        .map(|(i, _)| i)
        .collect();
    let pairwise = times.len() > 1 && times.len() == needing.len();
    let mut unstated = Vec::new();
    let sessions = slots
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let given = if override_all || s.start.is_none() {
                let k = needing.iter().position(|&n| n == i).unwrap_or(0);
                let t = if pairwise {
                    times.get(k)
                } else {
                    times.first()
                };
                t.map(|t| (t.start, t.end))
            } else {
                None
            };
            let (start, end) = match (given, s.start) {
                (Some(g), _) => g,
                (None, Some(st)) => (st, s.end),
                (None, None) => {
                    unstated.push(s.date);
                    (NaiveTime::MIN, None)
                }
            };
            Session {
                date: s.date,
                start,
                end,
            }
        })
        .collect();
    (sessions, unstated)
}

struct ResolvedArtists {
    by: String,
    ids: Vec<String>,
    unknown: Vec<String>,
    by_provenance: FieldProvenance,
    ids_provenance: FieldProvenance,
}

/// The text artists are matched in, in page order: the title, JSON-LD performers, then
/// the visible lines with the links that sit on them.
fn artist_corpus(layers: &Layers, scope: &Scope, title: Option<&str>) -> String {
    let mut corpus = String::new();
    if let Some(t) = title {
        corpus.push_str(t);
        corpus.push('\n');
    }
    if let Some(a) = layers.get(Layer::JsonLd).and_then(|f| f.artists.as_ref()) {
        corpus.push_str(&a.value.join("\n"));
        corpus.push('\n');
    }
    let mut links = scope.text.links.iter().peekable();
    for (i, l) in scope.text.lines.iter().enumerate() {
        corpus.push_str(&l.text);
        while let Some((li, href)) = links.peek() {
            if *li > i {
                break;
            }
            corpus.push(' ');
            corpus.push_str(href);
            links.next();
        }
        corpus.push('\n');
    }
    for (_, href) in links {
        corpus.push_str(href);
        corpus.push('\n');
    }
    corpus
}

fn resolve_artists(
    layers: &Layers,
    scope: &Scope,
    directory: &ArtistDirectory,
    ignore: &[String],
    title: Option<&str>,
) -> ResolvedArtists {
    let texts = layers.pick(|f| f.artists.as_ref());
    // A source artist rule is matched on its own first.
    let mut matched = None;
    if let Some((Layer::Source, f)) = texts {
        let m = artist::match_artists(directory, &f.value.join("\n"), ignore);
        if !m.ids.is_empty() {
            matched = Some((m, Layer::Source, f.detail.clone()));
        }
    }
    let (m, layer, detail) = matched.unwrap_or_else(|| {
        let corpus = artist_corpus(layers, scope, title);
        let m = artist::match_artists(directory, &corpus, ignore);
        let detail = generic_artist_detail(&m, layers, directory, ignore, title, &scope.name);
        (m, Layer::Text, detail)
    });

    // Artist texts that match no known artist.
    let mut unknown: Vec<String> = m.unknown_handles.iter().map(|h| format!("@{h}")).collect();
    let is_studio = |t: &str| {
        ignore
            .iter()
            .any(|h| t.trim().trim_start_matches('@').eq_ignore_ascii_case(h))
    };
    if let Some((_, f)) = texts {
        for t in &f.value {
            let single = artist::match_artists(directory, t, ignore);
            if single.ids.is_empty()
                && !is_studio(t)
                && !unknown.iter().any(|u| u.eq_ignore_ascii_case(t))
            {
                unknown.push(t.clone());
            }
        }
    }

    if !m.ids.is_empty() {
        return ResolvedArtists {
            by: m.names.join(" x "),
            ids: m.ids,
            unknown,
            by_provenance: FieldProvenance {
                field: "by",
                layer,
                detail: format!("matched artists' names; {detail}"),
            },
            ids_provenance: FieldProvenance {
                field: "artist_id_list",
                layer,
                detail,
            },
        };
    }
    let none_matched = FieldProvenance {
        field: "artist_id_list",
        layer: Layer::Default,
        detail: "no known artist on the page".into(),
    };
    if let Some((l, f)) = texts {
        let names: Vec<String> = split_artist_texts(&f.value)
            .into_iter()
            .filter(|n| !is_studio(n))
            .collect();
        if !names.is_empty() {
            return ResolvedArtists {
                by: names.join(" x "),
                ids: Vec::new(),
                unknown,
                by_provenance: FieldProvenance {
                    field: "by",
                    layer: l,
                    detail: f.detail.clone(),
                },
                ids_provenance: none_matched,
            };
        }
    }
    match layers.pick(|f| f.title.as_ref()) {
        Some((l, t)) => ResolvedArtists {
            by: t.value.clone(),
            ids: Vec::new(),
            unknown,
            by_provenance: FieldProvenance {
                field: "by",
                layer: l,
                detail: format!("event title ({})", t.detail),
            },
            ids_provenance: none_matched,
        },
        None => ResolvedArtists {
            by: String::new(),
            ids: Vec::new(),
            unknown,
            by_provenance: FieldProvenance {
                field: "by",
                layer: Layer::Default,
                detail: "no artist and no title".into(),
            },
            ids_provenance: none_matched,
        },
    }
}

/// What backs artists the generic matching found (see [`confidence`]): a handle or link,
/// a name where the event names its people (title, JSON-LD performers, "by/with"
/// phrases), a name in the text the source's `content_selector` or the event's own
/// listing card scopes, or a name found only in the loose text of a whole page, naming
/// those ids.
fn generic_artist_detail(
    m: &artist::ArtistMatches,
    layers: &Layers,
    directory: &ArtistDirectory,
    ignore: &[String],
    title: Option<&str>,
    scope: &str,
) -> String {
    let mut near = String::new();
    if let Some(t) = title {
        near.push_str(t);
        near.push('\n');
    }
    for layer in [Layer::JsonLd, Layer::Text] {
        if let Some(a) = layers.get(layer).and_then(|f| f.artists.as_ref()) {
            near.push_str(&a.value.join("\n"));
            near.push('\n');
        }
    }
    let near_ids = artist::match_artists(directory, &near, ignore).ids;
    let loose: Vec<&str> = m
        .ids
        .iter()
        .filter(|id| !m.by_handle.contains(id) && !near_ids.contains(id))
        .map(String::as_str)
        .collect();
    if !loose.is_empty() && (scope == "content_selector" || scope.starts_with("event card")) {
        // The source scoped the text to the event's own content: no sidebar or "more
        // events" strip can put a name there.
        format!(
            "{}: {} ({scope})",
            confidence::ARTIST_BY_SCOPED_NAME,
            loose.join(", ")
        )
    } else if !loose.is_empty() {
        format!(
            "{}: {} ({scope})",
            confidence::ARTIST_BY_LOOSE_NAME,
            loose.join(", ")
        )
    } else if m.ids.iter().all(|id| m.by_handle.contains(id)) {
        format!("{} ({scope})", confidence::ARTIST_BY_HANDLE)
    } else {
        format!("{} ({scope})", confidence::ARTIST_BY_NAME_NEAR)
    }
}

/// Artist texts as names: `A x B`, `A & B` split, duplicates dropped.
fn split_artist_texts(values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for v in values {
        for part in v
            .split([',', '&', '/', '+'])
            .flat_map(|p| p.split(" x "))
            .flat_map(|p| p.split(" X "))
            .flat_map(|p| p.split(" and "))
        {
            let p = part.trim();
            if !p.is_empty() && !out.iter().any(|o| o.eq_ignore_ascii_case(p)) {
                out.push(p.to_string());
            }
        }
    }
    out
}

fn resolve_event_type(layers: &Layers, default: EventType) -> (EventType, FieldProvenance) {
    if let Some((l, f)) = layers.pick(|f| f.event_type.as_ref()) {
        return (
            f.value,
            FieldProvenance {
                field: "event_type",
                layer: l,
                detail: f.detail.clone(),
            },
        );
    }
    if let Some((l, t)) = layers.pick(|f| f.title.as_ref()) {
        if let Some(ty) = event_type::classify(&t.value) {
            return (
                ty,
                FieldProvenance {
                    field: "event_type",
                    layer: l,
                    detail: format!("keyword in the title ({})", t.detail),
                },
            );
        }
    }
    for (l, f) in &layers.list {
        if let Some(d) = &f.description {
            if let Some(ty) = event_type::classify(&d.value) {
                return (
                    ty,
                    FieldProvenance {
                        field: "event_type",
                        layer: *l,
                        detail: format!("keyword in the description ({})", d.detail),
                    },
                );
            }
        }
    }
    (
        default,
        FieldProvenance {
            field: "event_type",
            layer: Layer::Default,
            detail: "the source's default_event_type".into(),
        },
    )
}

/// Absolute http(s) links of a page (`<a href>`), resolved against `base` (and
/// `<base href>`), fragments dropped, de-duplicated in document order.
pub fn page_links(html: &str, base: &Url) -> Vec<Url> {
    links::page_links(html, base)
}

#[cfg(test)]
mod tests;
