//! Turning body bytes into text.
//!
//! The encoding is chosen, first match wins: a byte-order mark; the `charset` of the
//! `Content-Type` header; a `<meta charset>` or `<meta http-equiv="Content-Type">` in the
//! first 1 KiB; UTF-8. Labels follow the WHATWG Encoding Standard (so `iso-8859-1` means
//! windows-1252, as browsers read it). An unknown label is ignored and the next source
//! is tried; it never fails and never panics.
//!
//! Bytes that are invalid in the chosen encoding become U+FFFD and the page is flagged
//! ([`Decoded::had_errors`], surfaced as `FetchedPage::decode_had_errors`) rather than
//! refused: a studio page with one stray byte still has its workshops on it. Refused
//! as undecodable ([`FetchError::Decode`](super::FetchError::Decode)): a charset whose
//! WHATWG decoder is "replacement" (ISO-2022-KR, HZ-GB-2312, …: the whole body would be
//! one U+FFFD), and binary media types (images, audio, video, fonts, PDF, archives).

use encoding_rs::{Encoding, REPLACEMENT, UTF_8};

/// How far into the body a `<meta>` charset declaration is looked for.
pub const SNIFF_BYTES: usize = 1024;

/// Decoded body text and how it was decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub text: String,
    /// The encoding actually used (WHATWG name, e.g. `windows-1252`).
    pub encoding: &'static Encoding,
    /// Some bytes were invalid and were replaced by U+FFFD.
    pub had_errors: bool,
}

/// Decodes `body` as described in the module docs. `Err` holds the reason it cannot be.
pub fn decode(body: &[u8], content_type: Option<&str>) -> Result<Decoded, String> {
    if let Some(ct) = content_type {
        if is_binary_media_type(ct) {
            return Err(format!("`{}` is not a text media type", ct.trim()));
        }
    }
    if let Some(what) = sniff_binary(body) {
        return Err(format!(
            "the body is {what}, not text (sniffed from its first bytes, whatever `Content-Type` says)"
        ));
    }
    let declared = content_type
        .and_then(charset_param)
        .and_then(|label| Encoding::for_label(label.as_bytes()));
    let encoding = match declared {
        Some(enc) => enc,
        // A document cannot declare itself UTF-16 in ASCII-compatible <meta> bytes:
        // WHATWG maps that to UTF-8 (`output_encoding`).
        None => sniff_meta(body).map_or(UTF_8, |enc| {
            if enc == REPLACEMENT {
                enc
            } else {
                enc.output_encoding()
            }
        }),
    };
    if encoding == REPLACEMENT {
        return Err("its declared charset has no usable decoder (replacement encoding)".into());
    }
    // `decode` lets a byte-order mark override the choice, as browsers do.
    let (text, used, had_errors) = encoding.decode(body);
    Ok(Decoded {
        text: text.into_owned(),
        encoding: used,
        had_errors,
    })
}

/// The `charset` parameter of a `Content-Type` value, unquoted.
pub fn charset_param(content_type: &str) -> Option<String> {
    content_type.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        if !name.trim().eq_ignore_ascii_case("charset") {
            return None;
        }
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'').trim();
        (!value.is_empty()).then(|| value.to_string())
    })
}

/// The encoding named by a `<meta charset=…>` or `<meta http-equiv=… content="…;
/// charset=…">` within the first [`SNIFF_BYTES`] of the body.
pub fn sniff_meta(body: &[u8]) -> Option<&'static Encoding> {
    let head = &body[..body.len().min(SNIFF_BYTES)];
    let lower: Vec<u8> = head.to_ascii_lowercase();
    let mut from = 0;
    while let Some(pos) = find(&lower[from..], b"<meta") {
        let tag_start = from + pos + 5;
        let tag_end = find(&lower[tag_start..], b">").map_or(lower.len(), |e| tag_start + e);
        let tag = &lower[tag_start..tag_end];
        if let Some(enc) = charset_in_tag(tag) {
            return Some(enc);
        }
        from = tag_start;
    }
    None
}

fn charset_in_tag(tag: &[u8]) -> Option<&'static Encoding> {
    let mut from = 0;
    while let Some(pos) = find(&tag[from..], b"charset") {
        let mut i = from + pos + "charset".len();
        from = i;
        while i < tag.len() && tag[i].is_ascii_whitespace() {
            i += 1;
        }
        if tag.get(i) != Some(&b'=') {
            continue;
        }
        i += 1;
        while i < tag.len() && (tag[i].is_ascii_whitespace() || tag[i] == b'"' || tag[i] == b'\'') {
            i += 1;
        }
        let end = tag[i..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || matches!(b, b'"' | b'\'' | b';' | b'/'))
            .map_or(tag.len(), |e| i + e);
        if let Some(enc) = Encoding::for_label(&tag[i..end]) {
            return Some(enc);
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// What a body is when its first bytes show it is not text: a known binary signature,
/// or bytes that never occur in text (the WHATWG "binary data bytes": NUL and most C0
/// controls). Bodies with a byte-order mark are text in a UTF encoding (UTF-16 is full of
/// NULs) and are left to the decoder.
pub fn sniff_binary(body: &[u8]) -> Option<&'static str> {
    const SIGNATURES: &[(&[u8], &str)] = &[
        (b"\x89PNG\r\n\x1a\n", "a PNG image"),
        (b"\xff\xd8\xff", "a JPEG image"),
        (b"GIF87a", "a GIF image"),
        (b"GIF89a", "a GIF image"),
        (b"%PDF-", "a PDF document"),
        (b"PK\x03\x04", "a ZIP archive"),
        (b"\x1f\x8b", "gzip data"),
        (b"\x7fELF", "an executable"),
        (b"OggS", "Ogg media"),
        (b"ID3", "MP3 audio"),
        (b"wOFF", "a web font"),
        (b"wOF2", "a web font"),
    ];
    if body.starts_with(b"\xef\xbb\xbf")
        || body.starts_with(b"\xfe\xff")
        || body.starts_with(b"\xff\xfe")
    {
        return None;
    }
    if let Some((_, what)) = SIGNATURES.iter().find(|(sig, _)| body.starts_with(sig)) {
        return Some(what);
    }
    if body.len() >= 12 && &body[..4] == b"RIFF" && &body[8..12] == b"WEBP" {
        return Some("a WebP image");
    }
    if body.len() >= 12 && &body[4..8] == b"ftyp" {
        return Some("MP4 media");
    }
    let head = &body[..body.len().min(SNIFF_BYTES)];
    let binary = head
        .iter()
        .filter(|&&b| matches!(b, 0x00..=0x08 | 0x0b | 0x0e..=0x1a | 0x1c..=0x1f))
        .count();
    // A stray control byte happens in real pages; NULs or many controls do not.
    (head.contains(&0) || binary * 50 > head.len()).then_some("binary data")
}

/// Media types that are never pages: decoding them as text only produces garbage.
pub fn is_binary_media_type(content_type: &str) -> bool {
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    ["image/", "audio/", "video/", "font/"]
        .iter()
        .any(|p| mime.starts_with(p))
        || matches!(
            mime.as_str(),
            "application/pdf" | "application/zip" | "application/gzip" | "application/x-gzip"
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_by_default() {
        let d = decode("café ₹1,200".as_bytes(), None).unwrap();
        assert_eq!(d.text, "café ₹1,200");
        assert_eq!(d.encoding.name(), "UTF-8");
        assert!(!d.had_errors);
    }

    #[test]
    fn header_charset_wins_and_iso_8859_1_is_windows_1252() {
        let d = decode(b"caf\xe9 \x80", Some("text/html; charset=ISO-8859-1")).unwrap();
        assert_eq!(d.text, "café €");
        assert_eq!(d.encoding.name(), "windows-1252");
        assert!(!d.had_errors);
    }

    #[test]
    fn quoted_header_charset() {
        let d = decode(b"caf\xe9", Some("text/html;charset=\"windows-1252\"")).unwrap();
        assert_eq!(d.text, "café");
    }

    #[test]
    fn meta_charset_is_sniffed() {
        let body = b"<html><head><META charset='windows-1252'></head><body>\x93hi\x94</body>";
        let d = decode(body, Some("text/html")).unwrap();
        assert!(d.text.contains("\u{201c}hi\u{201d}"), "{}", d.text);
        assert_eq!(d.encoding.name(), "windows-1252");
    }

    #[test]
    fn meta_http_equiv_is_sniffed() {
        let body =
            b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-8859-1\">na\xefve";
        let d = decode(body, None).unwrap();
        assert!(d.text.ends_with("naïve"), "{}", d.text);
    }

    #[test]
    fn meta_after_the_first_kilobyte_is_ignored() {
        let mut body = vec![b' '; SNIFF_BYTES];
        body.extend_from_slice(b"<meta charset=windows-1252>caf\xe9");
        let d = decode(&body, None).unwrap();
        assert_eq!(d.encoding.name(), "UTF-8");
        assert!(d.had_errors);
    }

    #[test]
    fn header_beats_meta() {
        let body = "<meta charset=windows-1252>café".as_bytes();
        let d = decode(body, Some("text/html; charset=utf-8")).unwrap();
        assert!(d.text.ends_with("café"));
        assert!(!d.had_errors);
    }

    #[test]
    fn byte_order_mark_beats_everything() {
        let d = decode(
            b"\xef\xbb\xbfcaf\xc3\xa9",
            Some("text/html; charset=windows-1252"),
        )
        .unwrap();
        assert_eq!(d.text, "café");
        assert_eq!(d.encoding.name(), "UTF-8");
    }

    #[test]
    fn invalid_utf8_is_replaced_and_flagged() {
        let d = decode(b"ok \xff\xfe bad", None).unwrap();
        assert_eq!(d.text, "ok \u{fffd}\u{fffd} bad");
        assert!(d.had_errors);
    }

    #[test]
    fn unknown_or_wrong_labels_fall_back_without_panicking() {
        let d = decode("café".as_bytes(), Some("text/html; charset=no-such-thing")).unwrap();
        assert_eq!(d.text, "café");
        let d = decode(b"caf\xe9", Some("text/html; charset=utf-8")).unwrap();
        assert_eq!(d.text, "caf\u{fffd}");
        assert!(d.had_errors);
        let d = decode(b"<meta charset=\"\">x", Some("text/html; charset=")).unwrap();
        assert_eq!(d.text, "<meta charset=\"\">x");
        let d = decode(b"<meta charset", None).unwrap();
        assert_eq!(d.text, "<meta charset");
    }

    #[test]
    fn meta_utf16_means_utf8() {
        let d = decode("<meta charset=utf-16>café".as_bytes(), None).unwrap();
        assert_eq!(d.encoding.name(), "UTF-8");
        assert!(d.text.ends_with("café"));
    }

    #[test]
    fn replacement_encodings_and_binary_types_are_refused() {
        assert!(decode(b"x", Some("text/html; charset=iso-2022-kr")).is_err());
        assert!(decode(b"x", Some("image/png")).is_err());
        assert!(decode(b"x", Some("application/pdf")).is_err());
        assert!(decode(b"x", Some("application/json")).is_ok());
    }

    #[test]
    fn binary_bodies_are_refused_by_sniffing_whatever_the_content_type() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        let err = decode(png, Some("text/html; charset=utf-8")).unwrap_err();
        assert!(err.contains("a PNG image"), "{err}");
        let mut random = Vec::new();
        let mut x: u32 = 12345;
        for _ in 0..4096 {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
            random.push((x >> 16) as u8);
        }
        let err = decode(&random, Some("text/html")).unwrap_err();
        assert!(err.contains("binary data"), "{err}");
    }

    #[test]
    fn text_with_a_stray_control_byte_or_a_utf16_bom_is_still_text() {
        let d = decode(b"<p>Workshop \x0c on 21 June</p>", Some("text/html")).unwrap();
        assert!(d.text.contains("21 June"));
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("<p>hi</p>".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(&utf16, None).unwrap().text, "<p>hi</p>");
    }
}
