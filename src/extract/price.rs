//! Rupee prices and price tiers, rendered as the app's `pricing_info`.
//!
//! A price is an amount with a rupee mark before it (`₹ 1,200`, `Rs. 950`, `INR 800`,
//! `Rupees 500`) or after it (`850/-`, `800 INR`, `900 Rs`). Bare numbers are never
//! prices, so phone numbers, years and counts stay out. Lines about prize money
//! (`prize`, `cash prize`, `winner`, `to be won`) are skipped.
//!
//! Each price becomes one line `{label}: {amount}/-` (or `{amount}/-` without a label):
//! the label is the text before the amount on its line (after the previous price, for a
//! second price on one line), trimmed of trailing `:`, `-`, `–`, `@`, `=` and currency
//! marks; the amount is whole rupees without separators.

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

/// The `pricing_info` text: one rendered line per price, identical lines once, joined
/// with `\n`; `""` when there are none.
pub fn render_pricing(prices: &[PriceLine]) -> String {
    let mut seen: Vec<String> = Vec::new();
    for p in prices {
        let r = p.render();
        if !seen.contains(&r) {
            seen.push(r);
        }
    }
    seen.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(text: &str) -> String {
        render_pricing(&prices_in_lines(text.lines()))
    }

    #[test]
    fn rupee_sign_with_thousands_separator() {
        assert_eq!(render("₹ 1,200"), "1200/-");
    }

    #[test]
    fn rs_dot_and_inr_prefixes() {
        assert_eq!(render("Rs. 950"), "950/-");
        assert_eq!(render("INR 800"), "800/-");
        assert_eq!(render("Rs 700 only"), "700/-");
    }

    #[test]
    fn slash_dash_suffix() {
        assert_eq!(render("850/-"), "850/-");
        assert_eq!(render("1,100 /-"), "1100/-");
    }

    #[test]
    fn labelled_tiers_keep_page_order() {
        assert_eq!(
            render("First 15: 850/-\nAfter that: 950/-\nOTS: 1100/-"),
            "First 15: 850/-\nAfter that: 950/-\nOTS: 1100/-"
        );
    }

    #[test]
    fn label_loses_trailing_separators_and_currency_marks() {
        assert_eq!(render("Early bird - ₹ 850"), "Early bird: 850/-");
        assert_eq!(render("Couple @ Rs. 1,500/-"), "Couple: 1500/-");
        assert_eq!(render("Price = INR 999"), "Price: 999/-");
        assert_eq!(render("Fee – 600/-"), "Fee: 600/-");
        assert_eq!(render("Price: ₹1,200"), "Price: 1200/-");
    }

    #[test]
    fn label_without_trailing_separator_is_kept_whole() {
        assert_eq!(
            render("Discounted charges for all the 3 dance forms : Rs. 400"),
            "Discounted charges for all the 3 dance forms: 400/-"
        );
    }

    #[test]
    fn text_after_the_amount_is_not_the_label() {
        assert_eq!(render("Rs. 150/day for a dance form."), "150/-");
    }

    #[test]
    fn two_prices_on_one_line() {
        assert_eq!(
            render("Single class: ₹850 | Both classes: ₹1,500"),
            "Single class: 850/-\nBoth classes: 1500/-"
        );
        assert_eq!(render("₹850 / ₹1000"), "850/-\n1000/-");
    }

    #[test]
    fn suffix_marks_after_amount() {
        assert_eq!(render("Fees 800 INR"), "Fees: 800/-");
        assert_eq!(render("900 Rs per head"), "900/-");
    }

    #[test]
    fn decimals_are_dropped() {
        assert_eq!(render("₹ 1,200.00"), "1200/-");
        assert_eq!(render("Rs. 849.50"), "849/-");
    }

    #[test]
    fn indian_grouping() {
        assert_eq!(render("INR 1,00,000"), "100000/-");
    }

    #[test]
    fn identical_lines_appear_once() {
        assert_eq!(render("OTS: 1100/-\nOTS: 1100/-"), "OTS: 1100/-");
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
}
