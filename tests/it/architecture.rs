//! The layering of `docs/architecture.md`, checked on the source text: only `store/`
//! names MongoDB or BSON, and no module imports one of a higher layer (which also
//! rules out cycles between modules).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Layer of each module. Two files count apart from their folder: `notify/config.rs`
/// (the settings' `[push]`/`[notify]` structs, below `settings`) and
/// `extract/artist.rs` (the artist matching index that `artist::ArtistDirectory`
/// caches: part of the `artist` domain, below `extract`). A module may import only
/// lower layers.
const LAYERS: &[(&str, u8)] = &[
    ("clock", 0),
    ("contract", 0),
    ("process", 0),
    ("backoff", 0),
    ("workshop", 0),
    ("artist", 1),
    ("cli", 0),
    ("localdb", 0),
    ("notify::config", 1),
    ("source", 1),
    ("reconcile", 1),
    ("edits", 0),
    ("settings", 2),
    ("report", 2),
    ("extract", 2),
    ("fetch", 2),
    ("metrics", 3),
    ("store", 3),
    ("pipeline", 4),
    ("runs", 5),
    ("notify", 5),
    ("daemon", 6),
    ("app", 7),
    ("commands", 8),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file belongs to, as named in [`LAYERS`].
fn module_of(rel: &str) -> String {
    if rel == "notify/config.rs" {
        return "notify::config".into();
    }
    if rel == "extract/artist.rs" {
        return "artist".into();
    }
    rel.split('/')
        .next()
        .unwrap()
        .trim_end_matches(".rs")
        .to_string()
}

fn sources() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(&src)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn only_the_store_names_mongodb_or_bson() {
    let offenders: Vec<String> = sources()
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with("store/"))
        .flat_map(|(rel, text)| {
            text.lines()
                .enumerate()
                .filter(|(_, l)| {
                    l.contains("mongodb::") || l.contains("bson::") || l.contains("doc!")
                })
                .map(|(i, l)| format!("src/{rel}:{}: {}", i + 1, l.trim()))
                .collect::<Vec<_>>()
        })
        .collect();
    assert!(
        offenders.is_empty(),
        "MongoDB outside store/:\n{}",
        offenders.join("\n")
    );
}

#[test]
fn no_module_imports_a_higher_or_equal_layer() {
    let layer: BTreeMap<&str, u8> = LAYERS.iter().copied().collect();
    let mut violations = Vec::new();
    for (rel, text) in sources() {
        if rel == "lib.rs" || rel == "main.rs" {
            continue;
        }
        let from = module_of(&rel);
        let Some(&from_layer) = layer.get(from.as_str()) else {
            violations.push(format!("src/{rel}: module `{from}` has no layer in LAYERS"));
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            for part in line.split("crate::").skip(1) {
                let name: String = part
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                let to = if name == "notify" && part.starts_with("notify::config") {
                    "notify::config".to_string()
                } else if name == "extract" && part.starts_with("extract::artist") {
                    "artist".to_string()
                } else {
                    name
                };
                if to == from || (from == "notify::config" && to == "notify") {
                    continue;
                }
                match layer.get(to.as_str()) {
                    Some(&to_layer) if to_layer < from_layer => {}
                    Some(&to_layer) => violations.push(format!(
                        "src/{rel}:{}: `{from}` (layer {from_layer}) imports `{to}` (layer {to_layer})",
                        i + 1
                    )),
                    None => violations.push(format!(
                        "src/{rel}:{}: `{to}` has no layer in LAYERS",
                        i + 1
                    )),
                }
            }
        }
    }
    assert!(violations.is_empty(), "{}", violations.join("\n"));
}

/// Metric family names in Prometheus text (`# TYPE <name> <type>` lines).
pub fn served_metric_names(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// The names `docs/metrics.md` documents (first column of its tables).
pub fn documented_metric_names() -> Vec<String> {
    let doc =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/metrics.md"))
            .expect("docs/metrics.md");
    doc.lines()
        .filter_map(|l| l.strip_prefix("| `nachna_"))
        .filter_map(|l| l.split('`').next())
        .map(|rest| format!("nachna_{rest}"))
        .collect()
}

#[test]
fn every_declared_metric_is_documented_and_every_documented_one_declared() {
    let src = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/metrics.rs"))
        .unwrap();
    let declared: Vec<String> = src
        .lines()
        .filter(|l| l.starts_with("pub const ") && l.contains("\"nachna_"))
        .filter_map(|l| l.split('"').nth(1))
        .map(str::to_string)
        .collect();
    let documented = documented_metric_names();
    assert!(!declared.is_empty() && !documented.is_empty());
    let undocumented: Vec<&String> = declared
        .iter()
        .filter(|n| !documented.contains(n))
        .collect();
    let undeclared: Vec<&String> = documented
        .iter()
        .filter(|n| !declared.contains(n))
        .collect();
    assert!(
        undocumented.is_empty() && undeclared.is_empty(),
        "declared in src/metrics.rs but not in docs/metrics.md: {undocumented:?}; \
         documented but not declared: {undeclared:?}"
    );
}
