//! Every unknown key of a source file, with its position.
//!
//! serde's `deny_unknown_fields` stops at the first unknown key, so a file with three
//! typos took three rounds of `check`. This walks the parsed TOML against the keys the
//! structs in `config.rs` accept (a test keeps the two lists equal) and reports them all.

use toml_edit::{ImDocument, Item, TableLike};

/// The keys each table accepts; `*` stands for any one field name under
/// `extract.fields`.
const SCHEMA: &[(&str, &[&str])] = &[
    ("", &["studio", "crawl", "slug", "extract", "schedule"]),
    (
        "studio",
        &[
            "id",
            "name",
            "instagram_link",
            "image_url",
            "timezone",
            "city",
        ],
    ),
    (
        "crawl",
        &[
            "start_urls",
            "follow",
            "depth",
            "allowed_hosts",
            "max_pages",
            "host_delay_ms",
            "host_concurrency",
            "obey_robots",
        ],
    ),
    ("slug", &["pattern"]),
    (
        "extract",
        &["default_event_type", "content_selector", "fields"],
    ),
    ("extract.fields", &super::ExtractRules::FIELD_NAMES),
    ("extract.fields.*", &["selector", "attribute", "pattern"]),
    ("schedule", &["cron", "enabled"]),
];

/// An unknown key: its dotted name, byte offset in the text, and the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    pub key: String,
    pub offset: usize,
    /// End of the key's value (or table), when the parser knows it.
    pub end: Option<usize>,
    pub message: String,
}

/// The unknown keys of `text`, in file order. Empty when there are none, and when the
/// text is not valid TOML (the TOML parser then reports the syntax error itself).
pub fn unknown_keys(text: &str) -> Vec<UnknownKey> {
    let Ok(doc) = ImDocument::parse(text) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    walk("", doc.as_table(), &mut out);
    out.sort_by_key(|u| u.offset);
    out
}

/// `text` with the lines of these unknown keys blanked (same length and line breaks,
/// so every later position stays right), to validate the rest of the file in the same
/// pass. `None` when a key does not sit on lines of its own (e.g. inside an inline
/// table): the rest is then validated after the keys are fixed.
pub fn without(text: &str, unknown: &[UnknownKey]) -> Option<String> {
    let mut bytes = text.as_bytes().to_vec();
    for u in unknown {
        let end = u.end?;
        let start = text[..u.offset].rfind('\n').map_or(0, |p| p + 1);
        if !text[start..u.offset].trim().is_empty() {
            return None;
        }
        let line_end = text[end..].find('\n').map_or(text.len(), |p| end + p);
        let rest = text[end..line_end].trim();
        if !(rest.is_empty() || rest.starts_with('#')) {
            return None;
        }
        for b in &mut bytes[start..line_end] {
            if *b != b'\n' {
                *b = b' ';
            }
        }
    }
    let blanked = String::from_utf8(bytes).ok()?;
    unknown_keys(&blanked).is_empty().then_some(blanked)
}

fn allowed(path: &str) -> Option<&'static [&'static str]> {
    let generic = match path.strip_prefix("extract.fields.") {
        Some(_) => "extract.fields.*",
        None => path,
    };
    SCHEMA
        .iter()
        .find(|(p, _)| *p == generic)
        .map(|(_, keys)| *keys)
}

fn walk(path: &str, table: &dyn TableLike, out: &mut Vec<UnknownKey>) {
    let Some(known) = allowed(path) else { return };
    for (name, item) in table.iter() {
        let dotted = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        if !known.contains(&name) {
            let offset = table
                .key(name)
                .and_then(|k| k.span())
                .or_else(|| item.span())
                .map_or(0, |s| s.start);
            let section = if path.is_empty() {
                "at the top level".to_string()
            } else {
                format!("in [{path}]")
            };
            out.push(UnknownKey {
                key: dotted,
                offset,
                end: item.span().map(|s| s.end),
                message: format!(
                    "unknown field `{name}`; the keys {section} are: {}",
                    known.join(", ")
                ),
            });
            continue;
        }
        if let Some(child) = as_table_like(item) {
            walk(&dotted, child, out);
        }
    }
}

fn as_table_like(item: &Item) -> Option<&dyn TableLike> {
    item.as_table_like()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unknown_key_is_reported_with_its_place() {
        let text = "[studio]\nid = \"x\"\ncolour = \"red\"\n\n[crawl]\nstart_urls = []\nfollow = \"x\"\nretries = 3\n\n[extract.fields]\nsong = { selector = \"h1\", group = 1 }\nvenue = { selector = \"p\" }\n[typo]\n";
        let found = unknown_keys(text);
        let keys: Vec<&str> = found.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(
            keys,
            vec![
                "studio.colour",
                "crawl.retries",
                "extract.fields.song.group",
                "extract.fields.venue",
                "typo"
            ]
        );
        let line = |u: &UnknownKey| text[..u.offset].matches('\n').count() + 1;
        assert_eq!(
            found.iter().map(line).collect::<Vec<_>>(),
            vec![3, 8, 11, 12, 13]
        );
        assert!(found[0]
            .message
            .starts_with("unknown field `colour`; the keys in [studio] are: id, name,"));
    }

    /// The schema here and the serde structs accept the same keys: a file using every
    /// key of the schema parses.
    #[test]
    fn schema_matches_the_config_structs() {
        let every_key = r#"
[studio]
id = "a"
name = "A"
instagram_link = "https://www.instagram.com/a/"
image_url = "u"
timezone = "Asia/Kolkata"
city = "Bangalore"
[crawl]
start_urls = ["https://a.test/"]
follow = "x"
depth = 1
allowed_hosts = ["a.test"]
max_pages = 5
host_delay_ms = 1
host_concurrency = 1
obey_robots = true
[slug]
pattern = "x"
[extract]
default_event_type = "workshop"
content_selector = "main"
[extract.fields]
title = { selector = "h1", attribute = "title", pattern = "x" }
artist = { selector = "h1" }
song = { selector = "h1" }
dates = { selector = "h1" }
times = { selector = "h1" }
prices = { selector = "h1" }
event_type = { selector = "h1" }
[schedule]
cron = "0 0 * * * *"
enabled = true
"#;
        assert_eq!(unknown_keys(every_key), vec![]);
        toml::from_str::<super::super::SourceFile>(every_key)
            .expect("serde accepts every key the schema lists");
        let used: usize = SCHEMA.iter().map(|(_, keys)| keys.len()).sum();
        // 5 sections + 6 + 8 + 1 + 3 + 7 field names + 3 rule keys + 2.
        assert_eq!(
            used, 35,
            "a key was added to SCHEMA: add it to the file above"
        );
    }
}
