//! Layer 3: Open Graph, `<meta>` and microdata.
//!
//! Title: `og:title`, else `twitter:title`, without a trailing ` | {og:site_name}`.
//! Description: `og:description`, `description`, `twitter:description`. Sessions:
//! `event:start_time`/`event:end_time` (also with an `og:` prefix) and microdata
//! `itemprop=startDate`/`endDate` (`content` or `datetime`) outside page furniture.
//! Prices: `product:price:amount`, `og:price:amount`, microdata `itemprop=price`.

use super::fields::{non_blank, non_empty, DatedSlot, LayerFields};
use super::html::is_skipped;
use super::jsonld::{clean_text, parse_stamp, slots_from_stamps};
use super::price::{parse_amount, PriceLine};
use chrono_tz::Tz;
use scraper::{ElementRef, Html, Selector};
use std::sync::LazyLock;

static META: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("meta").expect("static selector"));
static ITEMPROP: LazyLock<Selector> =
    LazyLock::new(|| Selector::parse("[itemprop]").expect("static selector"));

/// `content` of the first `<meta>` whose `property` or `name` is `key` (case-insensitive).
pub fn meta_content(doc: &Html, key: &str) -> Option<String> {
    doc.select(&META).find_map(|m| {
        let v = m.value();
        let k = v.attr("property").or_else(|| v.attr("name"))?;
        if k.trim().eq_ignore_ascii_case(key) {
            v.attr("content").map(clean_text).filter(|c| !c.is_empty())
        } else {
            None
        }
    })
}

fn first_meta(doc: &Html, keys: &[&str]) -> Option<(String, String)> {
    keys.iter()
        .find_map(|k| meta_content(doc, k).map(|v| (k.to_string(), v)))
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

fn itemprop_values(doc: &Html, prop: &str) -> Vec<String> {
    doc.select(&ITEMPROP)
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

/// Runs the meta layer.
pub fn layer(doc: &Html, tz: Tz) -> LayerFields {
    let site = meta_content(doc, "og:site_name");
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
    fn nothing_gives_empty_layer() {
        let f = run("<p>hello</p>");
        assert!(f.title.is_none() && f.slots.is_none() && f.prices.is_none());
    }
}
