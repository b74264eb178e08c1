//! Rupee prices and price tiers, rendered as the app's `pricing_info`.
//!
//! A price is an amount with a rupee mark before it (`₹ 1,200`, `Rs. 950`, `INR 800`,
//! `Rupees 500`) or after it (`850/-`, `800 INR`, `900 Rs`). Bare numbers are never
//! prices, so phone numbers, years and counts stay out. Lines about prize money
//! (`prize`, `cash prize`, `winner`, `to be won`) are skipped.
//!
//! Each price found is a [`PriceLine`]: the label is the text before the amount on its
//! line (after the previous price, for a second price on one line), trimmed of trailing
//! `:`, `-`, `–`, `@`, `=` and currency marks; the amount is whole rupees.
//!
//! [`render_pricing`] writes them in the formats the app's booking reads
//! (`shared/app-contract.md`): `LABEL: ₹AMOUNT/-` per line, a lone `₹950` for a single
//! unlabelled price, quantity tiers as `First 15 spots: …` / `After 15 spots: …`, and the
//! line a dancer normally pays first (the app charges the first line that parses), so
//! a combo, multi-day pass, package or concession never comes first. Labels never carry
//! HTML, entities or times, and a label that is only a date is dropped.

use super::fastre::WordRegex;
use crate::contract::{label_is_only_a_date, without_times};
use regex::Regex;
use std::sync::LazyLock;

/// One price as the page states it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PriceLine {
    pub label: Option<String>,
    pub amount: u64,
}

impl PriceLine {
    /// `First 15: 850/-` or `850/-`.
    pub fn render(&self) -> String {
        match &self.label {
            Some(l) if !l.is_empty() => format!("{l}: {}/-", self.amount),
            _ => format!("{}/-", self.amount),
        }
    }
}

const AMOUNT: &str = r"\d{1,3}(?:,\d{2,3})+(?:\.\d{1,2})?|\d+(?:\.\d{1,2})?";

static PREFIXED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?P<cur>₹|(?-u:\b)rs(?-u:\b)\.?|(?-u:\b)inr(?-u:\b)|(?-u:\b)rupees?(?-u:\b))\s*(?P<a>{AMOUNT})(?P<tail>\s*/-)?"
    ))
    .expect("static regex")
});

static SUFFIXED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(&format!(
        r"(?i)(?-u:\b)(?P<a>{AMOUNT})\s*(?:/\s?-|₹|(?-u:\b)inr(?-u:\b)|(?-u:\b)rs(?-u:\b)\.?|(?-u:\b)rupees(?-u:\b))"
    ))
    .expect("static regex")
});

static PRIZE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?-u:\b)prizes?(?-u:\b)|(?-u:\b)prize\s*money(?-u:\b)|(?-u:\b)winners?(?-u:\b)|(?-u:\b)to be won(?-u:\b)|(?-u:\b)winning(?-u:\b)|(?-u:\b)awards?(?-u:\b)|(?-u:\b)scholarships?(?-u:\b)")
        .expect("static regex")
});

static TRAILING_MARKS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)(?:\s|[:\-–—@=₹]|(?-u:\b)rs\.?|(?-u:\b)inr|(?-u:\b)rupees?)+$")
        .expect("static regex")
});

static LEADING_MARKS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?:\s|[/|,;&+•·●▪*]|(?-u:\b)and(?-u:\b)|(?-u:\b)or(?-u:\b))+")
        .expect("static regex")
});

/// Whole rupees from `1,200`, `1,00,000`, `850.00`, `₹950`, `" 1200 "`.
pub fn parse_amount(text: &str) -> Option<u64> {
    let s = text.trim();
    let start = s.find(|c: char| c.is_ascii_digit())?;
    let digits: String = s[start..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == ',')
        .filter(char::is_ascii_digit)
        .collect();
    if digits.is_empty() || digits.len() > 9 {
        return None;
    }
    digits.parse().ok()
}

/// True when a line talks about prize money rather than a fee.
pub fn is_prize_line(line: &str) -> bool {
    PRIZE.is_match(line)
}

/// Cleans a label: trailing separators and currency marks off, white space collapsed.
pub fn clean_label(raw: &str, after_previous_price: bool) -> String {
    let mut s = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    if after_previous_price {
        s = LEADING_MARKS.replace(&s, "").into_owned();
    }
    s = TRAILING_MARKS.replace(&s, "").into_owned();
    s.trim().to_string()
}

/// The prices on one line, in order. Prize lines give none.
pub fn prices_in_line(line: &str) -> Vec<PriceLine> {
    // Every amount has an ASCII digit; most lines have none.
    if !line.bytes().any(|b| b.is_ascii_digit()) || is_prize_line(line) {
        return Vec::new();
    }
    let mut hits: Vec<(usize, usize, u64)> = Vec::new();
    for c in PREFIXED.captures_iter(line) {
        let m = c.get(0).expect("match");
        let a = c.name("a").expect("group");
        if glued_to_digits(line, a.start(), a.end()) {
            continue;
        }
        if let Some(v) = parse_amount(a.as_str()) {
            hits.push((m.start(), m.end(), v));
        }
    }
    // Prefixed hits are in order and do not overlap: one binary search per suffixed
    // match finds the only one that could overlap it.
    let prefixed = hits.len();
    for c in SUFFIXED.captures_iter(line) {
        let m = c.get(0).expect("match");
        let after = hits[..prefixed].partition_point(|&(s, _, _)| s < m.end());
        if after > 0 && hits[after - 1].1 > m.start() {
            continue;
        }
        let a = c.name("a").expect("group");
        if glued_to_digits(line, a.start(), a.end()) {
            continue;
        }
        if let Some(v) = parse_amount(a.as_str()) {
            hits.push((m.start(), m.end(), v));
        }
    }
    hits.sort();
    let mut out = Vec::new();
    let mut prev_end = 0;
    for (i, (start, end, amount)) in hits.into_iter().enumerate() {
        if amount == 0 {
            prev_end = end;
            continue;
        }
        let label = clean_label(&line[prev_end..start], i > 0);
        out.push(PriceLine {
            label: (!label.is_empty()).then_some(label),
            amount,
        });
        prev_end = end;
    }
    out
}

/// A number that continues into more digits (`+91 98450-21234`) is not an amount.
fn glued_to_digits(line: &str, start: usize, end: usize) -> bool {
    let before = line[..start].chars().next_back();
    let after = line[end..].chars().next();
    matches!(before, Some(c) if c.is_ascii_digit())
        || matches!(after, Some(c) if c.is_ascii_digit())
        || (matches!(after, Some('-')) && line[end + 1..].starts_with(|c: char| c.is_ascii_digit()))
}

/// Prices over many lines, in order.
pub fn prices_in_lines<'a>(lines: impl IntoIterator<Item = &'a str>) -> Vec<PriceLine> {
    lines
        .into_iter()
        .take_while(|_| !super::budget::expired())
        .flat_map(prices_in_line)
        .collect()
}

/// The `pricing_info` text in the app's formats (see the module docs): labels cleaned
/// ([`display_label`]), quantity tiers named as the app counts them, the price a dancer
/// normally pays first, identical lines once, joined with `\n`; `""` when there are none.
pub fn render_pricing(prices: &[PriceLine]) -> String {
    let mut lines: Vec<(Option<String>, u64)> = Vec::new();
    for p in prices {
        let label = p.label.as_deref().and_then(display_label);
        if !lines.iter().any(|(l, a)| *l == label && *a == p.amount) {
            lines.push((label, p.amount));
        }
    }
    name_quantity_tiers(&mut lines);
    // Stable: page order is kept within a rank, so tiers stay in their order.
    lines.sort_by_cached_key(|(label, _)| rank(label.as_deref()));
    if let [(None, amount)] = lines.as_slice() {
        // A lone price is the one unlabelled form the app reads (`950/-` alone is ₹0).
        return format!("₹{amount}");
    }
    let mut out: Vec<String> = Vec::new();
    for (label, amount) in lines {
        // A line without `:` is ignored by the app, so every line of several has a label.
        let line = format!("{}: ₹{amount}/-", label.as_deref().unwrap_or("Price"));
        if !out.contains(&line) {
            out.push(line);
        }
    }
    out.join("\n")
}

/// Where a price line goes: the single class first, then the standard entries, then
/// early-bird offers (the app's rule knows no dates: an early-bird price first would be
/// charged long after the offer ended), then combos, multi-day passes and packages,
/// concessions (students, trial class) last. Quantity tiers (`First 15 spots`) keep their
/// order: the app prices those by counting paid orders.
fn rank(label: Option<&str>) -> u8 {
    static SINGLE: LazyLock<WordRegex> = LazyLock::new(|| {
        WordRegex::new(
            r"(?i)\bsingle\b|\bsolo\b|\bper\s+(?:class|session|day|head|person)\b|\b(?:one|1)[\s-]+(?:class|day|session)\b|\bdrop[\s-]?ins?\b|\bday\s+pass\b",
        )
    });
    static EXPLICIT_SINGLE: LazyLock<WordRegex> =
        LazyLock::new(|| WordRegex::new(r"(?i)\bsingle\b"));
    static MULTI: LazyLock<WordRegex> = LazyLock::new(|| {
        WordRegex::new(
            r"(?i)\bboth\b|\ball\s+(?:the\s+)?(?:\d+\s+|two\s+|three\s+|four\s+)?(?:days|classes|sessions|workshops|styles|forms|levels|songs)\b|\b(?:[2-9]|[1-9]\d+|two|three|four|five|six|seven|eight|nine|ten|twelve)[\s-]*(?:days?|class(?:es)?|sessions?|workshops?|weeks?|months?|songs?)\b|\bcombo\b|\bpackages?\b|\bbundles?\b|\bcouples?\b|\bduo\b|\bgroups?\b|\bfull\s+(?:pass|course|package|intensive|bootcamp|program(?:me)?|batch|month|series)\b|\bcourse\b|\bmonthly\b|\bper\s+month\b|\bmembership\b|\bseason\b|\bweekend\s+pass\b|\bterm\b|\bquarterly\b|\bfamily\b|\bteam\b",
        )
    });
    static CONCESSION: LazyLock<WordRegex> = LazyLock::new(|| {
        WordRegex::new(
            r"(?i)\bstudents?\b|\bkids?\b|\bchild(?:ren)?\b|\bseniors?\b|\btrial\b|\bconcession\b|\bdiscount(?:ed)?\b|\bmembers?\b|\balumni\b",
        )
    });
    static NON_MEMBER: LazyLock<WordRegex> =
        LazyLock::new(|| WordRegex::new(r"(?i)\bnon[\s-]?members?\b"));
    static EARLY: LazyLock<WordRegex> = LazyLock::new(|| {
        WordRegex::new(
            r"(?i)\bearly\b|\bearlybird\b|\bpre[\s-]?(?:sale|booking|registration)\b|\blaunch\s+offer\b|\bintroductory\b",
        )
    });
    let Some(l) = label else { return 1 };
    if EXPLICIT_SINGLE.is_match(l) {
        0
    } else if MULTI.is_match(l) {
        3
    } else if SINGLE.is_match(l) {
        0
    } else if EARLY.is_match(l) {
        2
    } else if CONCESSION.is_match(l) && !NON_MEMBER.is_match(l) {
        4
    } else {
        1
    }
}

/// `First 15` / `Next 20` become the app's quantity tiers `First 15 spots` /
/// `After 15 spots` (the app prices them by counting paid orders).
fn name_quantity_tiers(lines: &mut [(Option<String>, u64)]) {
    static FIRST: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^(?:the\s+)?first\s+(\d{1,4})(?:\s+(?:spots?|slots?|seats?|registrations?|entries|entry|tickets?|people|participants|dancers|students|bookings?))?$")
            .expect("static regex")
    });
    static AFTER: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)^(?:next\s+\d{1,4}(?:\s+[a-z]+)?|after\s+that|after\s+(?:the\s+)?(?:first\s+)?\d{1,4}(?:\s+[a-z]+)?|thereafter|after|rest|remaining(?:\s+[a-z]+)?|others?)$")
            .expect("static regex")
    });
    let mut after_count: Option<String> = None;
    for (label, _) in lines.iter_mut() {
        let Some(l) = label.as_deref() else {
            after_count = None;
            continue;
        };
        if let Some(c) = FIRST.captures(l) {
            let n = c[1].to_string();
            *label = Some(format!("First {n} spots"));
            after_count = Some(n);
        } else if let (Some(n), true) = (after_count.take(), AFTER.is_match(l)) {
            *label = Some(format!("After {n} spots"));
        }
    }
}

/// A label as the app shows it: entities decoded, HTML and times removed, white space
/// collapsed, stray punctuation trimmed; `None` when nothing readable is left or what is
/// left is only a date.
pub fn display_label(raw: &str) -> Option<String> {
    static TAG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"</?[A-Za-z!][^>]*>?").expect("static regex"));
    static BLOCK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)</?(?:p|br|div|li|ul|ol|h[1-6]|tr|td|th|table|section|article|header|footer|dd|dt)\b[^>]*>|\n")
            .expect("static regex")
    });
    static SENTENCE_END: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[.!?;]\s+").expect("static regex"));
    static EMPTY_PARENS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\(\s*[-–,|/]*\s*\)|\[\s*\]").expect("static regex"));
    let mut s = raw.to_string();
    // Twice: pages escape markup twice (`&amp;lt;p&amp;gt;`).
    for _ in 0..2 {
        s = decode_entities(&s);
    }
    // Markup in a label is a page's paragraph escaped into text: the label is what the
    // last block says (`<p>…</p><p><strong>Price</strong>` → `Price`).
    if let Some(last) = BLOCK
        .split(&s)
        .map(|b| TAG.replace_all(b, " ").replace(['<', '>'], " "))
        .filter(|b| b.chars().any(char::is_alphanumeric))
        .last()
    {
        s = last;
    }
    s = TAG.replace_all(&s, " ").into_owned();
    s = s.replace(['<', '>'], " ");
    s = without_times(&s);
    s = EMPTY_PARENS.replace_all(&s, " ").into_owned();
    s = s.split_whitespace().collect::<Vec<_>>().join(" ");
    // A paragraph before a price is not a label; its last sentence is.
    if let Some(last) = SENTENCE_END
        .split(&s)
        .filter(|b| b.chars().any(char::is_alphanumeric))
        .last()
    {
        s = last.to_string();
    }
    let s = s
        .trim_start_matches(|c: char| !c.is_alphanumeric() && c != '(' && c != '₹')
        .trim_end_matches(|c: char| !c.is_alphanumeric() && c != ')' && c != '+');
    let s = clean_label(s, false);
    let s = s.trim_end_matches(|c: char| !c.is_alphanumeric() && c != ')' && c != '+');
    // A button's words beside its price (`Add to cart ₹500`) are no label.
    let s = CALL_TO_ACTION.replace(s, "");
    let s = without_trailing_date(&s);
    let s = s.trim_matches(|c: char| !c.is_alphanumeric() && c != '(' && c != ')');
    if !s.chars().any(char::is_alphanumeric) || label_is_only_a_date(s) {
        return None;
    }
    Some(s.to_string())
}

/// A label ending in a date set off by a separator (`Salsa Night · Sat 4 Jul`) without
/// that date: a date is no label. A date inside the label's own words (`Early Bird
/// (Till 18th Sept)`) is the app's date-tier format and stays.
fn without_trailing_date(label: &str) -> String {
    let t = label.trim_end();
    let Some(last) = super::date::find_dates(t).pop() else {
        return t.to_string();
    };
    let before = t[..last.span.start].trim_end();
    if last.span.end == t.len() && before.ends_with(['·', '|', ',', '–', '—', '-', '•']) {
        return before
            .trim_end_matches(['·', '|', ',', '–', '—', '-', '•', ' '])
            .to_string();
    }
    t.to_string()
}

/// The words of a booking button at the start of a label.
static CALL_TO_ACTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\W*(?:add\s+to\s+(?:cart|bag)|book\s+now|buy\s+now|buy\s+tickets?|get\s+tickets?|register\s+now|pay\s+now|enrol(?:l)?\s+now)(?-u:\b)\W*")
        .expect("static regex")
});

/// The HTML entities that turn up in scraped text; unknown ones are left as they are
/// (and the contract check then refuses the document rather than show them).
fn decode_entities(s: &str) -> String {
    static ENTITY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"&(#[0-9]{1,7}|#[xX][0-9A-Fa-f]{1,6}|[A-Za-z]{2,8});").expect("static regex")
    });
    ENTITY
        .replace_all(s, |c: &regex::Captures| {
            let name = &c[1];
            let ch = if let Some(hex) = name.strip_prefix("#x").or_else(|| name.strip_prefix("#X"))
            {
                u32::from_str_radix(hex, 16).ok().and_then(char::from_u32)
            } else if let Some(dec) = name.strip_prefix('#') {
                dec.parse().ok().and_then(char::from_u32)
            } else {
                match name {
                    "amp" => Some('&'),
                    "lt" => Some('<'),
                    "gt" => Some('>'),
                    "quot" => Some('"'),
                    "apos" => Some('\''),
                    "nbsp" => Some(' '),
                    "ndash" => Some('–'),
                    "mdash" => Some('—'),
                    "hellip" => Some('…'),
                    "rsquo" | "lsquo" => Some('\''),
                    "ldquo" | "rdquo" => Some('"'),
                    "bull" | "middot" => Some('·'),
                    "rupee" => Some('₹'),
                    _ => None,
                }
            };
            ch.map(String::from).unwrap_or_else(|| c[0].to_string())
        })
        .into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::app_price;

    fn render(text: &str) -> String {
        render_pricing(&prices_in_lines(text.lines()))
    }

    /// The plain form of each price found, before the app's formatting and order.
    fn found(text: &str) -> Vec<String> {
        prices_in_lines(text.lines())
            .iter()
            .map(PriceLine::render)
            .collect()
    }

    #[test]
    fn rupee_sign_with_thousands_separator() {
        assert_eq!(found("₹ 1,200"), vec!["1200/-"]);
        assert_eq!(render("₹ 1,200"), "₹1200");
    }

    #[test]
    fn rs_dot_and_inr_prefixes() {
        assert_eq!(render("Rs. 950"), "₹950");
        assert_eq!(render("INR 800"), "₹800");
        assert_eq!(render("Rs 700 only"), "₹700");
    }

    #[test]
    fn slash_dash_suffix() {
        assert_eq!(render("850/-"), "₹850");
        assert_eq!(render("1,100 /-"), "₹1100");
    }

    #[test]
    fn a_lone_unlabelled_price_is_what_the_app_reads_as_a_lone_price() {
        // `950/-` alone is ₹0 in the app; `₹950` is 950.
        assert_eq!(render("950/-"), "₹950");
        assert_eq!(app_price(&render("950/-")), 950);
    }

    #[test]
    fn labelled_tiers_keep_page_order() {
        assert_eq!(
            render("Standard: 950/-\nOTS: 1100/-\nVIP (front row): 1500/-"),
            "Standard: ₹950/-\nOTS: ₹1100/-\nVIP (front row): ₹1500/-"
        );
    }

    #[test]
    fn early_bird_follows_the_standard_price() {
        let p = render("Early bird: 850/-\nStandard: 950/-\nOTS: 1100/-");
        assert_eq!(p, "Standard: ₹950/-\nOTS: ₹1100/-\nEarly bird: ₹850/-");
        assert_eq!(app_price(&p), 950);
    }

    #[test]
    fn quantity_tiers_are_named_as_the_app_counts_them() {
        assert_eq!(
            render("First 15: 850/-\nAfter that: 950/-\nOTS: 1100/-"),
            "First 15 spots: ₹850/-\nAfter 15 spots: ₹950/-\nOTS: ₹1100/-"
        );
        // Labels on their own lines are not seen as labels (each line is read alone).
        assert_eq!(
            render("First 15\n₹ 850\nNext 20\n₹ 950\nLast Minute\n₹ 1,100"),
            "Price: ₹850/-\nPrice: ₹950/-\nPrice: ₹1100/-"
        );
        assert_eq!(
            render("First 20 registrations: ₹700\nNext 20: ₹900\nLast Minute: ₹1,100"),
            "First 20 spots: ₹700/-\nAfter 20 spots: ₹900/-\nLast Minute: ₹1100/-"
        );
        // `After` only follows a `First N` tier.
        assert_eq!(render("Rest: 900/-"), "Rest: ₹900/-");
    }

    #[test]
    fn label_loses_trailing_separators_and_currency_marks() {
        assert_eq!(render("Early bird - ₹ 850"), "Early bird: ₹850/-");
        assert_eq!(render("Couple @ Rs. 1,500/-"), "Couple: ₹1500/-");
        assert_eq!(render("Price = INR 999"), "Price: ₹999/-");
        assert_eq!(render("Fee – 600/-"), "Fee: ₹600/-");
        assert_eq!(render("Price: ₹1,200"), "Price: ₹1200/-");
    }

    #[test]
    fn label_without_trailing_separator_is_kept_whole() {
        assert_eq!(
            render("Discounted charges for all the 3 dance forms : Rs. 400"),
            "Discounted charges for all the 3 dance forms: ₹400/-"
        );
    }

    #[test]
    fn text_after_the_amount_is_not_the_label() {
        assert_eq!(render("Rs. 150/day for a dance form."), "₹150");
    }

    #[test]
    fn two_prices_on_one_line() {
        assert_eq!(
            render("Single class: ₹850 | Both classes: ₹1,500"),
            "Single class: ₹850/-\nBoth classes: ₹1500/-"
        );
        // Several prices: every line needs a label, or the app ignores it.
        assert_eq!(render("₹850 / ₹1000"), "Price: ₹850/-\nPrice: ₹1000/-");
    }

    #[test]
    fn suffix_marks_after_amount() {
        assert_eq!(render("Fees 800 INR"), "Fees: ₹800/-");
        assert_eq!(render("900 Rs per head"), "₹900");
    }

    #[test]
    fn decimals_are_dropped() {
        assert_eq!(render("₹ 1,200.00"), "₹1200");
        assert_eq!(render("Rs. 849.50"), "₹849");
    }

    #[test]
    fn indian_grouping() {
        assert_eq!(render("INR 1,00,000"), "₹100000");
    }

    #[test]
    fn identical_lines_appear_once() {
        assert_eq!(render("OTS: 1100/-\nOTS: 1100/-"), "OTS: ₹1100/-");
    }

    #[test]
    fn prize_money_is_ignored() {
        assert_eq!(render("Prize money worth Rs. 50,000 to be won!"), "");
        assert_eq!(render("Cash prize: ₹ 10,000"), "");
        assert_eq!(render("Winner gets Rs 5000"), "");
    }

    #[test]
    fn phone_numbers_years_and_counts_are_not_prices() {
        assert_eq!(render("Call +91 98450 21234"), "");
        assert_eq!(render("June 2025, batch of 15, 2 hours"), "");
        assert_eq!(render("Reach us at 080-2345-6789"), "");
    }

    #[test]
    fn no_price_gives_empty_string() {
        assert_eq!(render("Free entry"), "");
        assert_eq!(render("₹ 0"), "");
    }

    #[test]
    fn dollar_prices_are_not_rupees() {
        assert_eq!(render("$10 for students"), "");
    }

    #[test]
    fn parse_amount_reads_offer_values() {
        assert_eq!(parse_amount("1,200.00"), Some(1200));
        assert_eq!(parse_amount("850"), Some(850));
        assert_eq!(parse_amount("₹950"), Some(950));
        assert_eq!(parse_amount("free"), None);
    }

    #[test]
    fn word_rs_inside_other_words_is_not_currency() {
        assert_eq!(render("Hours 10 to 12"), "");
        assert_eq!(render("Bars 300"), "");
    }

    // What the app charges: the line a dancer normally pays comes first.

    #[test]
    fn a_multi_day_pass_never_comes_first() {
        let p = render("Both days: ₹ 2,000\nSingle day: ₹ 1,200");
        assert_eq!(p, "Single day: ₹1200/-\nBoth days: ₹2000/-");
        assert_eq!(app_price(&p), 1200);
    }

    #[test]
    fn a_package_never_comes_before_the_class_fee() {
        let p = render(
            "with the Weekend Course Package you can attend 8 of your favourite classes for a flat ₹35,000.\nClass fee: ₹2950",
        );
        assert_eq!(app_price(&p), 2950, "{p}");
        assert!(p.starts_with("Class fee: ₹2950/-\n"), "{p}");
    }

    #[test]
    fn combos_couples_and_bundles_go_after_the_single_entry() {
        for (text, price) in [
            ("Two Classes: 2000/-\nSingle Class: 1100/-", 1100),
            ("Combo (both workshops): 1800/-\nOne workshop: 1000/-", 1000),
            ("Couple: 1500/-\nEntry: 800/-", 800),
            ("BUNDLE: 3000/-\nWorkshop: 1200/-", 1200),
            ("3 day pass: 2500/-\nDay pass: 900/-", 900),
            ("Monthly fee: 3000/-\nDrop-in: 950/-", 950),
        ] {
            let p = render(text);
            assert_eq!(app_price(&p), price, "{text} -> {p}");
        }
    }

    #[test]
    fn concessions_go_last() {
        let p = render("Students: 600/-\nGeneral: 900/-");
        assert_eq!(p, "General: ₹900/-\nStudents: ₹600/-");
        let p = render("Monthly fee: ₹ 4,000\nTrial class - Rs 600");
        assert_eq!(p, "Monthly fee: ₹4000/-\nTrial class: ₹600/-");
        let p = render("Members: 700/-\nNon-members: 900/-");
        assert_eq!(p, "Non-members: ₹900/-\nMembers: ₹700/-");
    }

    #[test]
    fn labels_never_carry_html_or_entities() {
        let p = render_pricing(&[PriceLine {
            label: Some(
                "&lt;p&gt;Workshop fee&lt;/p&gt;&lt;p&gt;&lt;strong&gt;Price&lt;/strong&gt;".into(),
            ),
            amount: 1250,
        }]);
        assert_eq!(p, "Price: ₹1250/-");
        let p = render_pricing(&[PriceLine {
            label: Some("&amp;lt;b&amp;gt;Entry&amp;lt;/b&amp;gt; &amp;amp; kit".into()),
            amount: 900,
        }]);
        assert_eq!(p, "Entry & kit: ₹900/-");
        assert_eq!(crate::contract::unreadable_pricing(&p), None);
    }

    #[test]
    fn a_paragraph_before_a_price_gives_its_last_sentence_as_label() {
        assert_eq!(
            render("Classes run every weekend. Hands-on, with theory. Regular class fee: ₹2950"),
            "Regular class fee: ₹2950/-"
        );
    }

    #[test]
    fn times_are_removed_from_labels_and_date_only_labels_dropped() {
        assert_eq!(render("Sat 6:00 PM - ₹ 950"), "₹950");
        assert_eq!(
            render("Batch (6 - 8 PM): 850/-\nOTS: 1000/-"),
            "Batch: ₹850/-\nOTS: ₹1000/-"
        );
        assert_eq!(render("21st June | ₹ 850"), "₹850");
        assert_eq!(render("5:00P.M. - 7:00P.M. Rs. 950"), "₹950");
        assert_eq!(
            render("Early Bird (Till 18th Sept): ₹799/-\nStandard (After 20th Sept): ₹999/-"),
            "Standard (After 20th Sept): ₹999/-\nEarly Bird (Till 18th Sept): ₹799/-"
        );
    }

    #[test]
    fn every_rendering_reads_well_and_yields_a_price() {
        for text in [
            "950/-",
            "Early bird - ₹ 850\nOTS: 1100/-",
            "Sat 6:00 PM - ₹ 950",
            "Saturday, 21st June: ₹ 950\nSunday, 22nd June: ₹ 950",
            "First 15\n₹ 850",
            "₹850 / ₹1000",
        ] {
            let p = render(text);
            assert!(app_price(&p) > 0, "{text} -> {p}");
            assert_eq!(
                crate::contract::unreadable_pricing(&p),
                None,
                "{text} -> {p}"
            );
        }
    }

    use crate::contract::label_has_time;

    #[test]
    fn date_only_labels() {
        assert!(label_is_only_a_date("Sat, 21st June"));
        assert!(label_is_only_a_date("21/06/2026"));
        assert!(label_is_only_a_date("June 21 and 22"));
        assert!(!label_is_only_a_date("Early Bird (Till 18th Sept)"));
        assert!(!label_is_only_a_date("First 15"));
        assert!(!label_is_only_a_date("Mayank's class"));
    }

    #[test]
    fn times_in_labels() {
        assert!(label_has_time("Sat 6:00 PM"));
        assert!(label_has_time("5:00P.M."));
        assert!(label_has_time("18:00"));
        assert!(label_has_time("6 pm batch"));
        assert!(!label_has_time("First 15"));
        assert!(!label_has_time("Pm Special"));
    }

    #[test]
    fn booking_button_words_are_no_label() {
        assert_eq!(display_label("Add to cart"), None);
        assert_eq!(
            display_label("Book now · Early bird").as_deref(),
            Some("Early bird")
        );
        assert_eq!(display_label("Booking fee").as_deref(), Some("Booking fee"));
        assert_eq!(
            display_label("Salsa Night · Sat 4 Jul").as_deref(),
            Some("Salsa Night")
        );
        assert_eq!(
            display_label("Early Bird (Till 18th Sept)").as_deref(),
            Some("Early Bird (Till 18th Sept)")
        );
        assert_eq!(render_pricing(&prices_in_line("Add to cart ₹500")), "₹500");
    }
}
