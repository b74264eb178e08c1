//! Layer 1: the source's own `[extract.fields]` rules.
//!
//! A rule's `selector` picks elements (their text, or `attribute`), in document order;
//! its `pattern` then keeps every match (named group `value`, else group 1, else the
//! whole match). A rule with only a `pattern` runs over the visible text of the content
//! scope. Each field turns its values into the same shapes the other layers produce.

use super::event_type;
use super::fields::{non_blank, non_empty, DatedSlot, Found, LayerFields};
use super::html::element_text;
use super::jsonld::{parse_stamp, slots_from_stamps};
use super::price::{parse_amount, prices_in_line, PriceLine};
use super::text::{clean_song, schedule};
use super::time;
use crate::source::{CompiledFieldRule, CssSelector, ExtractRules};
use chrono::NaiveDate;
use chrono_tz::Tz;
use regex::Regex;
use scraper::{ElementRef, Html};
use std::sync::LazyLock;

/// Every value a rule yields, in order, given what its selector matched on the page
/// (`None`: it has no selector, and the rule reads `visible`).
fn values_from(
    rule: &CompiledFieldRule,
    matched: Option<&[ElementRef<'_>]>,
    visible: &str,
) -> Vec<String> {
    let texts: Vec<String> = match matched {
        Some(elements) => elements
            .iter()
            .filter_map(|el| match &rule.attribute {
                Some(attr) => el.value().attr(attr).map(str::to_string),
                None => Some(element_text(el)),
            })
            .collect(),
        None => vec![visible.to_string()],
    };
    let mut out = Vec::new();
    for t in texts {
        match &rule.pattern {
            Some(re) => {
                for c in re.captures_iter(&t) {
                    let m = c
                        .name("value")
                        .or_else(|| c.get(1))
                        .or_else(|| c.get(0))
                        .map(|m| m.as_str().trim().to_string());
                    out.extend(m.filter(|s| !s.is_empty()));
                }
            }
            None => {
                let t = t.trim();
                if !t.is_empty() {
                    out.push(t.to_string());
                }
            }
        }
    }
    out
}

/// What a source's selectors match on one page, found in one pass over the document
/// (the warnings, the content scope and every field rule read these lists instead of
/// walking the page once per selector). Each list is what `dom::select` gives.
pub struct Selected<'a> {
    /// `content_selector`'s matches, nested ones included (`None`: no content selector).
    pub content: Option<Vec<ElementRef<'a>>>,
    /// Per field rule, in [`ExtractRules::FIELD_NAMES`] order (`None`: no rule, or no selector).
    pub fields: [Option<Vec<ElementRef<'a>>>; 7],
}

impl<'a> Selected<'a> {
    pub fn find(doc: &'a Html, rules: &ExtractRules) -> Self {
        let mut selectors: Vec<Option<&CssSelector>> = vec![rules.content_selector.as_ref()];
        selectors.extend(
            rules
                .fields()
                .iter()
                .map(|r| r.and_then(|r| r.selector.as_ref())),
        );
        let mut found = super::dom::select_all(doc, &selectors).into_iter();
        let content = found.next().flatten();
        let fields = std::array::from_fn(|_| found.next().flatten());
        Selected { content, fields }
    }
}

static ISO_START: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^\s*\d{4}-\d{1,2}-\d{1,2}").expect("static regex"));

/// Sessions from date values: ISO stamps (offsets into `tz`) or written dates, each
/// value read as one line of text.
pub fn slots_from_values(values: &[String], today: NaiveDate, tz: Tz) -> Vec<DatedSlot> {
    let mut slots = Vec::new();
    let mut lines: Vec<&str> = Vec::new();
    for v in values {
        if ISO_START.is_match(v) {
            if let Some(st) = parse_stamp(v.trim(), tz) {
                slots.extend(slots_from_stamps(st, None));
                continue;
            }
        }
        lines.push(v);
    }
    slots.extend(schedule(&lines, today).slots);
    slots
}

/// Prices from price values; a bare number is an unlabelled amount.
pub fn prices_from_values(values: &[String]) -> Vec<PriceLine> {
    let mut out = Vec::new();
    for v in values {
        let found = prices_in_line(v);
        if !found.is_empty() {
            out.extend(found);
        } else if v
            .trim()
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.' || c.is_whitespace() || c == '₹')
        {
            if let Some(a) = parse_amount(v).filter(|a| *a > 0) {
                out.push(PriceLine {
                    label: None,
                    amount: a,
                });
            }
        }
    }
    out
}

fn describe(field: &str, rule: &CompiledFieldRule) -> String {
    format!("[extract.fields.{field}] {}", rule.describe)
}

/// Runs the source-rules layer. `visible` is the content scope's visible text;
/// `selected` is what the rules' selectors match on the page.
pub fn layer(
    selected: &Selected<'_>,
    rules: &ExtractRules,
    visible: &str,
    today: NaiveDate,
    tz: Tz,
) -> LayerFields {
    let [title, artist, song, dates, times, prices, event_type] = rules.fields();
    let values =
        |i: usize, r: &CompiledFieldRule| values_from(r, selected.fields[i].as_deref(), visible);
    let mut f = LayerFields::default();
    if let Some(r) = title {
        f.title = values(0, r)
            .first()
            .and_then(|t| non_blank(t, describe("title", r)));
    }
    if let Some(r) = artist {
        f.artists = non_empty(values(1, r), describe("artist", r));
    }
    if let Some(r) = song {
        let mut songs: Vec<String> = Vec::new();
        for v in values(2, r) {
            let s = clean_song(&v);
            if !s.is_empty() && !songs.iter().any(|o| o.eq_ignore_ascii_case(&s)) {
                songs.push(s);
            }
        }
        f.songs = non_empty(songs, describe("song", r));
    }
    if let Some(r) = dates {
        let values = values(3, r);
        f.slots = non_empty(slots_from_values(&values, today, tz), describe("dates", r));
    }
    if let Some(r) = times {
        let times: Vec<_> = values(4, r)
            .iter()
            .flat_map(|v| time::find_times(v).into_iter().map(|t| t.time))
            .collect();
        f.times = non_empty(times, describe("times", r));
    }
    if let Some(r) = prices {
        f.prices = non_empty(prices_from_values(&values(5, r)), describe("prices", r));
    }
    if let Some(r) = event_type {
        f.event_type = values(6, r)
            .iter()
            .find_map(|v| event_type::from_rule_value(v))
            .map(|t| Found::new(t, describe("event_type", r)));
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workshop::EventType;
    use chrono::NaiveTime;
    use chrono_tz::Asia::Kolkata;
    use scraper::Selector;

    /// Every value `rule` yields on `doc`.
    fn rule_values(doc: &Html, rule: &CompiledFieldRule, visible: &str) -> Vec<String> {
        let matched: Option<Vec<ElementRef<'_>>> = rule
            .selector
            .as_ref()
            .map(|sel| crate::extract::dom::select(doc, sel).collect());
        values_from(rule, matched.as_deref(), visible)
    }

    fn rule(
        selector: Option<&str>,
        attribute: Option<&str>,
        pattern: Option<&str>,
    ) -> CompiledFieldRule {
        CompiledFieldRule {
            selector: selector.map(|s| Selector::parse(s).unwrap().into()),
            attribute: attribute.map(str::to_string),
            pattern: pattern.map(|p| Regex::new(p).unwrap()),
            describe: "test".into(),
        }
    }
    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn today() -> NaiveDate {
        d(2026, 6, 1)
    }

    const PAGE: &str = r#"<html><body>
        <h1 class="t">Rajesh Workshop</h1>
        <div class="when" data-start="2026-06-21T18:00:00+05:30">Sat 21 June</div>
        <p class="time">6 PM - 8 PM</p>
        <ul class="songs"><li>Song: Hauli Slowly</li><li>Song: Ninnindale</li></ul>
        <span class="fee" data-amount="850">Early bird ₹850</span>
        <p class="kind">Intensive</p>
        </body></html>"#;

    #[test]
    fn selector_text_and_pattern_groups() {
        let doc = Html::parse_document(PAGE);
        let r = rule(Some(".songs li"), None, Some(r"Song:\s*(?P<value>.+)"));
        assert_eq!(
            rule_values(&doc, &r, ""),
            vec!["Hauli Slowly", "Ninnindale"]
        );
        let r1 = rule(Some(".songs li"), None, Some(r"Song:\s*(.+)"));
        assert_eq!(
            rule_values(&doc, &r1, ""),
            vec!["Hauli Slowly", "Ninnindale"]
        );
    }

    #[test]
    fn attribute_values() {
        let doc = Html::parse_document(PAGE);
        let r = rule(Some(".fee"), Some("data-amount"), None);
        assert_eq!(rule_values(&doc, &r, ""), vec!["850"]);
    }

    #[test]
    fn pattern_only_runs_over_visible_text() {
        let doc = Html::parse_document(PAGE);
        let r = rule(None, None, Some(r"Workshop by (\w+)"));
        assert_eq!(
            rule_values(&doc, &r, "A Workshop by Meera today"),
            vec!["Meera"]
        );
    }

    #[test]
    fn layer_maps_every_field() {
        let doc = Html::parse_document(PAGE);
        let rules = ExtractRules {
            title: Some(rule(Some("h1.t"), None, None)),
            song: Some(rule(Some(".songs li"), None, Some(r"Song:\s*(.+)"))),
            dates: Some(rule(Some(".when"), Some("data-start"), None)),
            times: Some(rule(Some(".time"), None, None)),
            prices: Some(rule(Some(".fee"), Some("data-amount"), None)),
            event_type: Some(rule(Some(".kind"), None, None)),
            ..ExtractRules::default()
        };
        let f = layer(&Selected::find(&doc, &rules), &rules, "", today(), Kolkata);
        assert_eq!(f.title.unwrap().value, "Rajesh Workshop");
        assert_eq!(f.songs.unwrap().value, vec!["Hauli Slowly", "Ninnindale"]);
        let slots = f.slots.unwrap().value;
        assert_eq!(slots[0].date, d(2026, 6, 21));
        assert_eq!(slots[0].start, NaiveTime::from_hms_opt(18, 0, 0));
        assert_eq!(
            f.times.unwrap().value[0].end,
            NaiveTime::from_hms_opt(20, 0, 0)
        );
        assert_eq!(f.prices.unwrap().value[0].render(), "850/-");
        assert_eq!(f.event_type.unwrap().value, EventType::Intensive);
    }

    #[test]
    fn written_dates_in_rule_values() {
        let v = vec!["Sat 21 June".to_string(), "28th June, 5-7 PM".to_string()];
        let slots = slots_from_values(&v, today(), Kolkata);
        assert_eq!(slots.len(), 2);
        assert_eq!(slots[0], DatedSlot::date_only(d(2026, 6, 21)));
        assert_eq!(slots[1].start, NaiveTime::from_hms_opt(17, 0, 0));
    }

    #[test]
    fn price_values_with_labels_or_bare() {
        let v = vec![
            "First 15: 850/-".to_string(),
            "1,100".to_string(),
            "sold out".to_string(),
        ];
        let rendered: Vec<String> = prices_from_values(&v)
            .iter()
            .map(PriceLine::render)
            .collect();
        assert_eq!(rendered, vec!["First 15: 850/-", "1100/-"]);
    }

    #[test]
    fn no_rules_no_fields() {
        let doc = Html::parse_document(PAGE);
        let rules = ExtractRules::default();
        let f = layer(&Selected::find(&doc, &rules), &rules, "", today(), Kolkata);
        assert!(f.title.is_none() && f.slots.is_none() && f.songs.is_none());
    }
}
