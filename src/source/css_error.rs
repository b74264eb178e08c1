//! CSS selector errors in plain words, for `check` and reload.
//!
//! `scraper`'s own text for the rarer errors is "Unexpected error occurred. Please
//! report this to the developer" followed by a debug dump of the parser's error: nothing
//! an operator can act on. Each case here names what is wrong in the selector instead.

use cssparser::{ToCss, Token};
use scraper::error::SelectorErrorKind;
use selectors::parser::SelectorParseErrorKind as Kind;

/// One line saying what is wrong with a selector.
pub fn describe(err: &SelectorErrorKind<'_>) -> String {
    match err {
        SelectorErrorKind::UnexpectedToken(t) => format!("unexpected {}", token(t)),
        SelectorErrorKind::EndOfLine => {
            "the selector ends too early (an unclosed `[`, `(` or a trailing combinator?)".into()
        }
        SelectorErrorKind::InvalidAtRule(rule) => {
            format!("`@{rule}` rules are not selectors")
        }
        SelectorErrorKind::InvalidAtRuleBody | SelectorErrorKind::QualRuleInvalid => {
            "not a selector (a style rule or @-rule?)".into()
        }
        SelectorErrorKind::ExpectedColonOnPseudoElement(t) => {
            format!(
                "a pseudo-element needs `::` before its name, found {}",
                token(t)
            )
        }
        SelectorErrorKind::ExpectedIdentityOnPseudoElement(t) => {
            format!("a pseudo-element name must follow `::`, found {}", token(t))
        }
        SelectorErrorKind::UnexpectedSelectorParseError(kind) => parse_kind(kind),
    }
}

fn parse_kind(kind: &Kind<'_>) -> String {
    match kind {
        Kind::EmptySelector => "the selector is empty (or a `,` list has an empty entry)".into(),
        Kind::DanglingCombinator => "a combinator (`>`, `+`, `~`) has no element after it".into(),
        Kind::NonCompoundSelector => {
            "only a simple selector is allowed here (no spaces or combinators)".into()
        }
        Kind::NonPseudoElementAfterSlotted
        | Kind::InvalidPseudoElementAfterSlotted
        | Kind::InvalidPseudoElementInsideWhere
        | Kind::InvalidState => "a pseudo-element is not allowed here".into(),
        Kind::NoQualifiedNameInAttributeSelector(t) => {
            format!(
                "an attribute selector needs an attribute name after `[`, found {}",
                token(t)
            )
        }
        Kind::UnexpectedTokenInAttributeSelector(t) => format!(
            "unexpected {} inside `[...]` (expected `=`, `~=`, `|=`, `^=`, `$=`, `*=` or `]`)",
            token(t)
        ),
        Kind::PseudoElementExpectedColon(t) => {
            format!(
                "a pseudo-element needs `::` before its name, found {}",
                token(t)
            )
        }
        Kind::PseudoElementExpectedIdent(t) | Kind::NoIdentForPseudo(t) => {
            format!("a name must follow `:`, found {}", token(t))
        }
        Kind::UnsupportedPseudoClassOrElement(name) => format!(
            "`:{name}` is not a supported pseudo-class or pseudo-element \
             (supported include :first-child, :nth-child(), :not(), :has(), :is())"
        ),
        Kind::UnexpectedIdent(name) => format!("unexpected name `{name}`"),
        Kind::ExpectedNamespace(name) => {
            format!("unknown namespace prefix `{name}|` (namespaces are not supported)")
        }
        Kind::ExpectedBarInAttr(t) => {
            format!("unexpected {} inside `[...]` after the namespace", token(t))
        }
        Kind::BadValueInAttr(t) => format!(
            "the value in `[name=value]` must be a name or a quoted string, found {}",
            token(t)
        ),
        Kind::InvalidQualNameInAttr(t) => {
            format!("invalid attribute name {} inside `[...]`", token(t))
        }
        Kind::ExplicitNamespaceUnexpectedToken(t) => {
            format!("unexpected {} after a namespace prefix", token(t))
        }
        Kind::ClassNeedsIdent(t) => format!("a class name must follow `.`, found {}", token(t)),
    }
}

fn token(t: &Token<'_>) -> String {
    match t {
        Token::WhiteSpace(_) => "a space".into(),
        Token::Comma => "`,`".into(),
        other => format!("`{}`", other.to_css_string()),
    }
}

#[cfg(test)]
mod tests {
    use scraper::Selector;

    fn message(selector: &str) -> String {
        super::describe(&Selector::parse(selector).expect_err(selector))
    }

    #[test]
    fn selector_errors_are_plain_words_without_debug_dumps() {
        for (selector, expected) in [
            (
                "div >",
                "a combinator (`>`, `+`, `~`) has no element after it",
            ),
            ("div,", "a `,` list has an empty entry"),
            ("a:nth-child(", "ends too early"),
            (
                "a:frobnicate",
                "`:frobnicate` is not a supported pseudo-class",
            ),
            ("div,,p", "empty"),
            ("[=x]", "needs an attribute name"),
            ("a[href=1px]", "must be a name or a quoted string"),
        ] {
            let text = message(selector);
            assert!(text.contains(expected), "{selector}: {text}");
            assert!(!text.contains("report this"), "{selector}: {text}");
            assert!(!text.contains('\n'), "{selector}: {text}");
            assert!(!text.contains("Token"), "{selector}: {text}");
        }
    }
}
