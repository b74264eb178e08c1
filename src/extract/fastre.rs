//! Regexes with Unicode word boundaries (`\b`), run without the slow path they force.
//!
//! The regex crate's fast engines (the lazy DFA) handle a Unicode `\b` only on ASCII
//! text: on a line with `₹`, `–` or `é` they give up and the slow PikeVM/backtracker
//! scans the whole line. Changing such a pattern to an ASCII `\b` would change what it
//! matches next to non-ASCII letters (`café2`), so [`WordRegex`] keeps the exact
//! pattern and adds two companions that give the same answers faster:
//! * on ASCII text an ASCII `\b` and a Unicode `\b` are the same assertion, so the
//!   ASCII-boundary copy runs instead;
//! * on other text, the copy without any `\b` runs first: dropping assertions only
//!   widens what matches, so when it finds nothing the exact pattern cannot either
//!   (most lines), and only the rest pays for the slow path.

use regex::Regex;

/// See the module docs. Patterns must not use `\b` inside a character class (where
/// it means backspace).
pub struct WordRegex {
    exact: Regex,
    ascii: Regex,
    loose: Regex,
}

impl WordRegex {
    /// Panics on an invalid pattern, like the `LazyLock<Regex>` statics it replaces.
    pub fn new(pattern: &str) -> Self {
        // ASCII boundaries already in the pattern stay as they are in every copy.
        const KEEP: &str = "\u{0}";
        let unicode_only = pattern.replace(r"(?-u:\b)", KEEP);
        let with = |b: &str| unicode_only.replace(r"\b", b).replace(KEEP, r"(?-u:\b)");
        WordRegex {
            exact: Regex::new(pattern).expect("static regex"),
            ascii: Regex::new(&with(r"(?-u:\b)")).expect("static regex"),
            loose: Regex::new(&with("")).expect("static regex"),
        }
    }

    /// The regex to search `hay` with (its results are the exact pattern's on `hay`),
    /// or `None` when the exact pattern cannot match `hay` at all.
    pub fn for_hay(&self, hay: &str) -> Option<&Regex> {
        if hay.is_ascii() {
            Some(&self.ascii)
        } else if self.loose.is_match(hay) {
            Some(&self.exact)
        } else {
            None
        }
    }

    pub fn is_match(&self, hay: &str) -> bool {
        self.for_hay(hay).is_some_and(|re| re.is_match(hay))
    }

    pub fn captures<'h>(&self, hay: &'h str) -> Option<regex::Captures<'h>> {
        self.for_hay(hay)?.captures(hay)
    }

    pub fn find<'h>(&self, hay: &'h str) -> Option<regex::Match<'h>> {
        self.for_hay(hay)?.find(hay)
    }

    /// Every match, as [`Regex::find_iter`] gives them.
    pub fn find_iter<'r, 'h>(&'r self, hay: &'h str) -> impl Iterator<Item = regex::Match<'h>> + 'r
    where
        'h: 'r,
    {
        self.for_hay(hay)
            .into_iter()
            .flat_map(move |re| re.find_iter(hay))
    }

    /// Every match's groups, as [`Regex::captures_iter`] gives them.
    pub fn captures_iter<'r, 'h>(
        &'r self,
        hay: &'h str,
    ) -> impl Iterator<Item = regex::Captures<'h>> + 'r
    where
        'h: 'r,
    {
        self.for_hay(hay)
            .into_iter()
            .flat_map(move |re| re.captures_iter(hay))
    }

    /// The exact pattern (for callers that need a `&Regex`, e.g. `split`).
    pub fn exact(&self) -> &Regex {
        &self.exact
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_matches_as_the_exact_pattern_on_ascii_and_non_ascii_text() {
        let re = WordRegex::new(r"(?i)\b(?:day|week)\s*(?P<n>\d{1,2})\b");
        let exact = Regex::new(r"(?i)\b(?:day|week)\s*(?P<n>\d{1,2})\b").unwrap();
        for hay in [
            "Day 1 and week 12",
            "₹ 850 · Day 2",
            "caféday 3",      // no boundary before `day` after `é` (Unicode word letter)
            "–day 4 – week5", // `–` is not a word character: a boundary
            "Day 123",
            "ﬁve days",
            "",
            "nothing here é",
        ] {
            let got: Vec<_> = re.captures_iter(hay).map(|c| c[0].to_string()).collect();
            let want: Vec<_> = exact.captures_iter(hay).map(|c| c[0].to_string()).collect();
            assert_eq!(got, want, "{hay}");
            assert_eq!(re.is_match(hay), exact.is_match(hay), "{hay}");
        }
        assert!(!re.is_match("caféday 3"));
        assert!(re.is_match("–day 4"));
    }
}
