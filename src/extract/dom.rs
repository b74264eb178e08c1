//! Parsing a page under the time budget.
//!
//! html5ever cannot be interrupted inside a call, and some markup makes its tree builder
//! slow (every start tag scans the stack of open elements, so 100,000 unclosed `<div>`s
//! cost quadratic time). Feeding the parser in chunks and checking the budget between
//! them bounds the time one page can take to a chunk past its budget.

use super::budget;
use html5ever::driver::{self, ParseOpts};
use scraper::{Html, HtmlTreeSink};
use tendril::{StrTendril, TendrilSink};

/// Bytes handed to the parser between two budget checks.
const CHUNK_BYTES: usize = 16 * 1024;

/// Parses a whole document, like [`Html::parse_document`]; when the budget runs out the
/// rest of the input is dropped (the caller sees [`budget::expired`] and discards the
/// page).
pub fn parse_document(html: &str) -> Html {
    let mut parser = driver::parse_document(
        HtmlTreeSink::new(Html::new_document()),
        ParseOpts::default(),
    );
    let mut rest = html;
    while !rest.is_empty() {
        if budget::expired() {
            break;
        }
        let mut cut = rest.len().min(CHUNK_BYTES);
        while !rest.is_char_boundary(cut) {
            cut += 1;
        }
        parser.process(StrTendril::from_slice(&rest[..cut]));
        rest = &rest[cut..];
    }
    parser.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_parse_gives_the_same_tree_as_one_call() {
        let mut page = String::from("<!doctype html><html><head><title>T</title></head><body>");
        for i in 0..3000 {
            page.push_str(&format!(
                "<div class=\"c{i}\"><p>Line {i} – ₹ 850/- é\r\n<b>bold</b></p><!-- c --></div>"
            ));
        }
        page.push_str("</body></html>");
        assert!(page.len() > 4 * CHUNK_BYTES);
        let one = Html::parse_document(&page);
        let chunked = parse_document(&page);
        assert_eq!(chunked.html(), one.html());
    }
}
