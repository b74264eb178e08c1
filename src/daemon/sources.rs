//! The daemon's current set of sources, shared by the scheduler, the trigger watcher and
//! the runs, and replaced as a whole by a SIGHUP reload. A run keeps the `Source` it
//! started with; the next run sees the new one.

use crate::source::Source;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

/// A source and the hash of the file it came from (to tell changed files apart).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub source: Arc<Source>,
    pub fingerprint: String,
}

impl Loaded {
    pub fn new(source: Source) -> Loaded {
        let fingerprint = fingerprint_of(&source);
        Loaded {
            source: Arc::new(source),
            fingerprint,
        }
    }
}

/// The file's bytes hashed, plus the parts of the source the scheduler uses (so a
/// source built in memory, with no file, still has a stable fingerprint).
fn fingerprint_of(source: &Source) -> String {
    let mut h = Sha256::new();
    if let Ok(bytes) = std::fs::read(&source.path) {
        h.update(&bytes);
    }
    h.update(source.studio.id.as_bytes());
    h.update(source.schedule.cron.as_bytes());
    h.update([u8::from(source.schedule.enabled)]);
    h.update(source.timezone.name().as_bytes());
    hex::encode(h.finalize())
}

/// What a reload changes.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Diff {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

impl Diff {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

/// Studio id → source, shared and swappable.
#[derive(Clone, Default)]
pub struct SourceSet {
    inner: Arc<RwLock<BTreeMap<String, Loaded>>>,
}

impl SourceSet {
    pub fn new(sources: Vec<Source>) -> SourceSet {
        let set = SourceSet::default();
        set.replace(sources);
        set
    }

    pub fn get(&self, studio: &str) -> Option<Arc<Source>> {
        self.inner
            .read()
            .expect("sources lock")
            .get(studio)
            .map(|l| l.source.clone())
    }

    pub fn all(&self) -> Vec<Arc<Source>> {
        self.inner
            .read()
            .expect("sources lock")
            .values()
            .map(|l| l.source.clone())
            .collect()
    }

    pub fn len(&self) -> usize {
        self.inner.read().expect("sources lock").len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Swaps in a new set and says what changed.
    pub fn replace(&self, sources: Vec<Source>) -> Diff {
        let next: BTreeMap<String, Loaded> = sources
            .into_iter()
            .map(|s| (s.studio.id.clone(), Loaded::new(s)))
            .collect();
        let mut current = self.inner.write().expect("sources lock");
        let mut diff = Diff::default();
        for (id, loaded) in &next {
            match current.get(id) {
                None => diff.added.push(id.clone()),
                Some(old) if old.fingerprint != loaded.fingerprint => diff.changed.push(id.clone()),
                Some(_) => {}
            }
        }
        for id in current.keys() {
            if !next.contains_key(id) {
                diff.removed.push(id.clone());
            }
        }
        *current = next;
        diff
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn source(id: &str, cron: &str, enabled: bool) -> Source {
        let text = format!(
            "[studio]\nid = \"{id}\"\nname = \"N\"\ninstagram_link = \"https://www.instagram.com/{id}/\"\n[crawl]\nstart_urls = [\"https://{id}.test/\"]\nfollow = 'x'\n[schedule]\ncron = \"{cron}\"\nenabled = {enabled}\n"
        );
        crate::source::parse_source(Path::new(&format!("/nonexistent/{id}.toml")), &text).unwrap()
    }

    #[test]
    fn replace_reports_added_removed_and_changed_sources() {
        let set = SourceSet::new(vec![
            source("a", "0 0 * * * *", true),
            source("b", "0 0 * * * *", true),
            source("c", "0 0 * * * *", true),
        ]);
        let diff = set.replace(vec![
            source("a", "0 0 * * * *", true),
            source("b", "0 30 * * * *", true),
            source("d", "0 0 * * * *", true),
        ]);
        assert_eq!(
            diff,
            Diff {
                added: vec!["d".into()],
                removed: vec!["c".into()],
                changed: vec!["b".into()],
            }
        );
        assert_eq!(set.get("b").unwrap().schedule.cron, "0 30 * * * *");
        assert!(set.get("c").is_none());
        assert!(set
            .replace(vec![
                source("a", "0 0 * * * *", true),
                source("b", "0 30 * * * *", true),
                source("d", "0 0 * * * *", true),
            ])
            .is_empty());
    }
}
