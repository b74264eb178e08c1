//! Event-type keywords (docs/normalisation.md, `event_type`).
//!
//! Within one text the keywords are checked in this order: `intensive` → intensive;
//! `regulars`, `regular class(es)`, `weekly batch`, `monthly batch` → regulars;
//! `workshop` → workshop. The caller tries the title first, then the description, then
//! falls back to the source's default.

use super::fastre::WordRegex;
use crate::workshop::EventType;
use std::sync::LazyLock;

static INTENSIVE: LazyLock<WordRegex> = LazyLock::new(|| WordRegex::new(r"(?i)\bintensives?\b"));
static REGULARS: LazyLock<WordRegex> = LazyLock::new(|| {
    WordRegex::new(
        r"(?i)\bregulars\b|\bregular\s+class(?:es)?\b|\bweekly\s+batch(?:es)?\b|\bmonthly\s+batch(?:es)?\b",
    )
});
static WORKSHOP: LazyLock<WordRegex> = LazyLock::new(|| WordRegex::new(r"(?i)\bworkshops?\b"));

/// The event type a text's keywords name, if any.
pub fn classify(text: &str) -> Option<EventType> {
    if INTENSIVE.is_match(text) {
        Some(EventType::Intensive)
    } else if REGULARS.is_match(text) {
        Some(EventType::Regulars)
    } else if WORKSHOP.is_match(text) {
        Some(EventType::Workshop)
    } else {
        None
    }
}

/// Parses a value a source rule selected: an event-type name or a text with keywords.
pub fn from_rule_value(value: &str) -> Option<EventType> {
    value.parse::<EventType>().ok().or_else(|| classify(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intensive_wins_over_workshop_in_one_text() {
        assert_eq!(
            classify("Two-day Intensive Workshop"),
            Some(EventType::Intensive)
        );
    }

    #[test]
    fn regulars_keywords() {
        assert_eq!(classify("Bollywood Regulars"), Some(EventType::Regulars));
        assert_eq!(
            classify("Join our regular classes"),
            Some(EventType::Regulars)
        );
        assert_eq!(
            classify("Regular class on Mondays"),
            Some(EventType::Regulars)
        );
        assert_eq!(
            classify("New weekly batch starts"),
            Some(EventType::Regulars)
        );
        assert_eq!(
            classify("Monthly Batch - Hip Hop"),
            Some(EventType::Regulars)
        );
    }

    #[test]
    fn regulars_wins_over_workshop() {
        assert_eq!(
            classify("Weekly batch, not a workshop"),
            Some(EventType::Regulars)
        );
    }

    #[test]
    fn workshop_keyword_case_insensitive_and_plural() {
        assert_eq!(classify("RAJESH WORKSHOP"), Some(EventType::Workshop));
        assert_eq!(classify("Salsa Workshops"), Some(EventType::Workshop));
    }

    #[test]
    fn no_keyword_gives_none() {
        assert_eq!(classify("Hauli Slowly with Rajesh"), None);
        assert_eq!(classify("regularly updated"), None);
        assert_eq!(classify("workshopping ideas"), None);
    }

    #[test]
    fn rule_value_accepts_type_names() {
        assert_eq!(from_rule_value("Regulars"), Some(EventType::Regulars));
        assert_eq!(from_rule_value(" intensive "), Some(EventType::Intensive));
        assert_eq!(from_rule_value("A weekly batch"), Some(EventType::Regulars));
        assert_eq!(from_rule_value("other"), None);
    }
}
