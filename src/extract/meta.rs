//! Layer 3: Open Graph, `<meta>` and microdata.
//!
//! Title: `og:title`, else `twitter:title`, without a trailing ` | {og:site_name}`.
//! Description: `og:description`, `description`, `twitter:description`. Sessions:
//! `event:start_time`/`event:end_time` (also with an `og:` prefix) and microdata
//! `itemprop=startDate`/`endDate` (`content` or `datetime`) outside page furniture.
//! Prices: `product:price:amount`, `og:price:amount`, microdata `itemprop=price`.
//!
//! [`prose_layer`]: when no layer finds a date in the page, the visible-text rules read
//! the page's descriptions and `<noscript>` prose (share pages keep their details there).

use super::dom::PageIndex;
use super::fields::{non_blank, non_empty, DatedSlot, LayerFields};
use super::html::{is_skipped, Line, PageText};
use super::jsonld::{clean_text, parse_stamp, slots_from_stamps};
use super::price::{parse_amount, PriceLine};
use chrono::NaiveDate;
use chrono_tz::Tz;
use regex::Regex;
use scraper::{ElementRef, Html};
use std::sync::LazyLock;

/// `content` of the first `<meta>` whose `property` or `name` is `key` (case-insensitive).
pub fn meta_content(doc: &Html, key: &str) -> Option<String> {
    meta_content_in(&PageIndex::new(doc), key)
}

/// [`meta_content`] over a page's [`PageIndex`] (no walk of the document).
pub fn meta_content_in(page: &PageIndex<'_>, key: &str) -> Option<String> {
    page.metas.iter().find_map(|(k, content)| {
        if (*k)?.trim().eq_ignore_ascii_case(key) {
            content.map(clean_text).filter(|c| !c.is_empty())
        } else {
            None
        }
    })
}

fn first_meta(page: &PageIndex<'_>, keys: &[&str]) -> Option<(String, String)> {
    keys.iter()
        .find_map(|k| meta_content_in(page, k).map(|v| (k.to_string(), v)))
}

/// Removes a trailing ` | Site`, ` - Site`, ` – Site` when `Site` is the site's name.
pub fn strip_site_name(title: &str, site: Option<&str>) -> String {
    let title = title.trim();
    if let Some(site) = site.map(str::trim).filter(|s| !s.is_empty()) {
        for sep in [" | ", " - ", " – ", " — ", " · ", " :: "] {
            if let Some(rest) = title.strip_suffix(&format!("{sep}{site}")) {
                return rest.trim().to_string();
            }
        }
    }
    title.to_string()
}

fn in_furniture(el: &ElementRef<'_>) -> bool {
    is_skipped(el)
        || el
            .ancestors()
            .filter_map(ElementRef::wrap)
            .any(|a| a.value().name() != "head" && is_skipped(&a))
}

fn itemprop_values(page: &PageIndex<'_>, prop: &str) -> Vec<String> {
    page.itemprops
        .iter()
        // Each candidate walks its ancestors and text: stop when the page is over budget.
        .take_while(|_| !super::budget::tick())
        .filter(|e| {
            e.value()
                .attr("itemprop")
                .is_some_and(|p| p.split_whitespace().any(|x| x.eq_ignore_ascii_case(prop)))
        })
        .filter(|e| e.value().name() == "meta" || !in_furniture(e))
        .filter_map(|e| {
            let v = e.value();
            v.attr("content")
                .or_else(|| v.attr("datetime"))
                .map(str::to_string)
                .or_else(|| Some(e.text().collect::<String>()))
        })
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Where a sentence ends in prose: `. `, `! `, `? ` (not `Rs. 950`, not `5.30`).
static SENTENCE_END: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?:[!?]|[^\s.]{3,}\.)\s+").expect("static regex"));

/// Prose as lines for the text rules: one sentence a line, so a date and the time in
/// its own sentence stay together.
fn prose_lines(prose: &str) -> PageText {
    let mut lines = Vec::new();
    let mut from = 0;
    for m in SENTENCE_END.find_iter(prose) {
        lines.push(prose[from..m.end()].trim().to_string());
        from = m.end();
    }
    lines.push(prose[from..].trim().to_string());
    PageText {
        lines: lines
            .into_iter()
            .filter(|l| !l.is_empty())
            .map(|text| Line { text, heading: 0 })
            .collect(),
        ..PageText::default()
    }
}

/// The page's prose outside its body text: `description`, `og:description`,
/// `twitter:description` and every `<noscript>` (whose markup html5ever keeps as raw
/// text), decoded.
pub fn prose(doc: &Html) -> Vec<(String, String)> {
    prose_in(&PageIndex::new(doc))
}

fn prose_in(page: &PageIndex<'_>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = ["description", "og:description", "twitter:description"]
        .iter()
        .filter_map(|k| meta_content_in(page, k).map(|v| (k.to_string(), v)))
        .collect();
    for n in &page.noscripts {
        let t = clean_text(&n.text().collect::<String>());
        if !t.is_empty() {
            out.push(("<noscript>".to_string(), t));
        }
    }
    out
}

/// Share pages (what a studio posts as a link) often state date, time and prices only in
/// their descriptions or `<noscript>`: the text rules over the first of those that
/// states a date. Read only when no other layer found a date.
pub fn prose_layer(doc: &Html, today: NaiveDate) -> Option<LayerFields> {
    prose_layer_in(&PageIndex::new(doc), today)
}

/// [`prose_layer`] over a page's [`PageIndex`].
pub fn prose_layer_in(page: &PageIndex<'_>, today: NaiveDate) -> Option<LayerFields> {
    prose_in(page).into_iter().find_map(|(key, text)| {
        let f = super::text::layer(&prose_lines(&text), today, None, &format!("{key} prose"));
        f.slots.is_some().then_some(LayerFields {
            title: None,
            description: None,
            ..f
        })
    })
}

/// Runs the meta layer.
pub fn layer(doc: &Html, tz: Tz) -> LayerFields {
    layer_in(&PageIndex::new(doc), tz)
}

/// [`layer`] over a page's [`PageIndex`].
pub fn layer_in(doc: &PageIndex<'_>, tz: Tz) -> LayerFields {
    let site = meta_content_in(doc, "og:site_name");
    let title = first_meta(doc, &["og:title", "twitter:title"])
        .and_then(|(k, v)| non_blank(&strip_site_name(&v, site.as_deref()), k));
    let description = first_meta(
        doc,
        &["og:description", "description", "twitter:description"],
    )
    .and_then(|(k, v)| non_blank(&v, k));

    let mut slots: Vec<DatedSlot> = Vec::new();
    let mut slot_detail = String::new();
    if let Some((k, start)) = first_meta(
        doc,
        &[
            "event:start_time",
            "og:event:start_time",
            "og:start_time",
            "startDate",
        ],
    ) {
        if let Some(s) = parse_stamp(&start, tz) {
            let end = first_meta(
                doc,
                &[
                    "event:end_time",
                    "og:event:end_time",
                    "og:end_time",
                    "endDate",
                ],
            )
            .and_then(|(_, e)| parse_stamp(&e, tz));
            slots = slots_from_stamps(s, end);
            slot_detail = k;
        }
    }
    if slots.is_empty() {
        let starts = itemprop_values(doc, "startDate");
        let ends = itemprop_values(doc, "endDate");
        for (i, s) in starts.iter().enumerate() {
            if let Some(st) = parse_stamp(s, tz) {
                let end = ends.get(i).and_then(|e| parse_stamp(e, tz));
                slots.extend(slots_from_stamps(st, end));
            }
        }
        slot_detail = "itemprop=startDate/endDate".into();
    }
    slots.sort();
    slots.dedup();

    let mut prices = Vec::new();
    let mut price_detail = String::new();
    if let Some((k, v)) = first_meta(doc, &["product:price:amount", "og:price:amount"]) {
        if let Some(a) = parse_amount(&v).filter(|a| *a > 0) {
            prices.push(PriceLine {
                label: None,
                amount: a,
            });
            price_detail = k;
        }
    }
    if prices.is_empty() {
        for v in itemprop_values(doc, "price") {
            if let Some(a) = parse_amount(&v).filter(|a| *a > 0) {
                prices.push(PriceLine {
                    label: None,
                    amount: a,
                });
            }
        }
        price_detail = "itemprop=price".into();
    }

    LayerFields {
        title,
        description,
        slots: non_empty(slots, slot_detail),
        prices: non_empty(prices, price_detail),
        ..LayerFields::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, NaiveTime};
    use chrono_tz::Asia::Kolkata;

    fn run(html: &str) -> LayerFields {
        layer(&Html::parse_document(html), Kolkata)
    }

    #[test]
    fn og_title_without_site_suffix() {
        let f = run(
            r#"<head><meta property="og:site_name" content="DNA"><meta property="og:title" content="Rajesh Workshop | DNA"></head>"#,
        );
        assert_eq!(f.title.unwrap().value, "Rajesh Workshop");
    }

    #[test]
    fn twitter_title_when_no_og_title() {
        let f =
            run(r#"<head><meta name="twitter:title" content="Hauli Slowly &amp; more"></head>"#);
        let t = f.title.unwrap();
        assert_eq!(t.value, "Hauli Slowly & more");
        assert_eq!(t.detail, "twitter:title");
    }

    #[test]
    fn description_prefers_og() {
        let f = run(
            r#"<head><meta name="description" content="plain"><meta property="og:description" content="og one"></head>"#,
        );
        assert_eq!(f.description.unwrap().value, "og one");
    }

    #[test]
    fn event_start_and_end_meta() {
        let f = run(
            r#"<head><meta property="event:start_time" content="2026-06-21T18:00:00+05:30"><meta property="event:end_time" content="2026-06-21T20:00:00+05:30"></head>"#,
        );
        let s = f.slots.unwrap();
        assert_eq!(s.detail, "event:start_time");
        assert_eq!(
            s.value,
            vec![DatedSlot {
                date: NaiveDate::from_ymd_opt(2026, 6, 21).unwrap(),
                start: NaiveTime::from_hms_opt(18, 0, 0),
                end: NaiveTime::from_hms_opt(20, 0, 0),
            }]
        );
    }

    #[test]
    fn microdata_start_date_outside_sidebars() {
        let f = run(
            r#"<body><div itemscope><time itemprop="startDate" datetime="2026-06-21T18:00">Sat</time></div>
            <div class="sidebar"><time itemprop="startDate" datetime="2026-07-05T18:00">Other</time></div></body>"#,
        );
        let s = f.slots.unwrap().value;
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].date, NaiveDate::from_ymd_opt(2026, 6, 21).unwrap());
    }

    #[test]
    fn price_meta() {
        let f = run(r#"<head><meta property="product:price:amount" content="850.00"></head>"#);
        assert_eq!(f.prices.unwrap().value[0].render(), "850/-");
    }

    #[test]
    fn share_page_details_are_read_from_the_description() {
        let doc = Html::parse_document(
            r#"<head><meta name="description" content="A one-night choreography. Thursday 27 August, 8–9:30 PM at the studio. Rs. 599 for non-members."></head><body><p>Taking you there…</p></body>"#,
        );
        let f = prose_layer(&doc, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()).unwrap();
        let s = f.slots.unwrap();
        assert_eq!(s.detail, "dates in description prose");
        assert_eq!(
            s.value,
            vec![DatedSlot {
                date: NaiveDate::from_ymd_opt(2026, 8, 27).unwrap(),
                start: NaiveTime::from_hms_opt(20, 0, 0),
                end: NaiveTime::from_hms_opt(21, 30, 0),
            }]
        );
    }

    #[test]
    fn noscript_prose_is_read_when_nothing_else_has_a_date() {
        let doc = Html::parse_document(
            r#"<head><meta name="description" content="Contemporary batch."></head><body><noscript><p>Free demo class Sunday 13 September 2026 at 1:00 PM, then Sundays 1:00-3:00 PM.</p></noscript></body>"#,
        );
        let f = prose_layer(&doc, NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()).unwrap();
        let s = f.slots.unwrap().value;
        assert_eq!(s[0].date, NaiveDate::from_ymd_opt(2026, 9, 13).unwrap());
        assert_eq!(s[0].start, NaiveTime::from_hms_opt(13, 0, 0));
        assert!(prose_layer(
            &Html::parse_document(
                r#"<meta name="description" content="Saturday, 12:30 – 1:30 PM. ₹1,500/month.">"#
            ),
            NaiveDate::from_ymd_opt(2026, 6, 1).unwrap()
        )
        .is_none());
    }

    #[test]
    fn nothing_gives_empty_layer() {
        let f = run("<p>hello</p>");
        assert!(f.title.is_none() && f.slots.is_none() && f.prices.is_none());
    }
}
