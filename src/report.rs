//! What one studio run did: counts for operators, and the lists the notifier and the
//! `ingest` summary read.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Every page fetched and processed.
    #[default]
    Success,
    /// Some pages failed: what was read is stored, nothing archived.
    Partial,
    /// Nothing usable (no listing, database error, safety brake).
    Failed,
    /// Stopped by shutdown before it finished.
    Interrupted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Partial => "partial",
            Outcome::Failed => "failed",
            Outcome::Interrupted => "interrupted",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct PageCounts {
    pub fetched: u32,
    pub unchanged: u32,
    pub failed: u32,
    pub not_workshop: u32,
}

#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct WorkshopCounts {
    pub new: u32,
    pub updated: u32,
    pub unchanged: u32,
    pub duplicate: u32,
    pub archived: u32,
    pub skipped_past: u32,
    /// Written but not announced: weak evidence, waiting for `nachna-ingest review`.
    pub held_for_review: u32,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DuplicateSeen {
    pub uuid: String,
    pub of: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PageNote {
    pub url: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunReport {
    pub studio_id: String,
    pub run_id: String,
    pub dry_run: bool,
    pub outcome: Outcome,
    pub started_at: String,
    pub duration_ms: u64,
    pub pages: PageCounts,
    pub workshops: WorkshopCounts,
    /// Inserted workshops announced as new (first sighting of their signature).
    pub new_uuids: Vec<String>,
    pub updated_uuids: Vec<String>,
    /// Updated workshops whose sessions changed.
    pub schedule_changed_uuids: Vec<String>,
    pub archived_uuids: Vec<String>,
    /// Workshops whose announcement waits for a person (`nachna-ingest review`).
    pub held_uuids: Vec<String>,
    pub duplicates: Vec<DuplicateSeen>,
    pub not_workshops: Vec<PageNote>,
    pub unknown_artists: Vec<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// Values a person set (artists, song, reel) kept against what the page says.
    pub kept_edits: Vec<crate::edits::KeptEdit>,
    /// The drafts behind `new_uuids` and `schedule_changed_uuids`, so `ingest --dry-run`
    /// can tell how many pushes each would create (a dry run stores nothing to read back).
    #[serde(skip)]
    pub announced: Vec<(crate::reconcile::Announcement, crate::workshop::Identified)>,
}

impl RunReport {
    /// One line for terminals and logs.
    /// One line a person can act on: only the counts that are not zero, and "nothing
    /// changed" when no workshop was added, changed or archived.
    pub fn summary_line(&self) -> String {
        let p = &self.pages;
        let w = &self.workshops;
        let pages = nonzero(&[
            (p.fetched, "downloaded"),
            (p.unchanged, "unchanged"),
            (p.failed, "failed"),
            (p.not_workshop, "not a workshop"),
        ]);
        let changed = w.new + w.updated + w.archived + w.duplicate > 0;
        let workshops = if changed {
            nonzero(&[
                (w.new, "new"),
                (w.updated, "updated"),
                (w.archived, "archived"),
                (w.duplicate, "duplicate"),
                (w.unchanged, "unchanged"),
                (w.skipped_past, "skipped as past"),
            ])
        } else {
            let rest = nonzero(&[
                (w.unchanged, "unchanged"),
                (w.skipped_past, "skipped as past"),
            ]);
            if rest.is_empty() {
                "nothing changed".to_string()
            } else {
                format!("nothing changed ({rest})")
            }
        };
        let kept = match self.kept_edits.len() {
            0 => String::new(),
            1 => " | kept 1 person's edit".to_string(),
            n => format!(" | kept {n} person's edits"),
        };
        let held = match self.workshops.held_for_review {
            0 => String::new(),
            n => format!(" | {n} held for review (nachna-ingest review)"),
        };
        format!(
            "{studio}: {outcome}{dry} in {secs:.1}s | pages {pages} | workshops {workshops}{kept}{held}",
            studio = self.studio_id,
            outcome = self.outcome.as_str(),
            dry = if self.dry_run {
                " (dry run: nothing written)"
            } else {
                ""
            },
            secs = self.duration_ms as f64 / 1000.0,
            pages = if pages.is_empty() {
                "none read".to_string()
            } else {
                pages
            },
        )
    }
}

/// `5 new, 2 unchanged`: the non-zero counts, in order.
fn nonzero(counts: &[(u32, &str)]) -> String {
    counts
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, what)| format!("{n} {what}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The closing line of a multi-studio run: how many studios ended how, and what
/// changed in total.
pub fn total_line(reports: &[RunReport]) -> String {
    let by_outcome = |o: Outcome| reports.iter().filter(|r| r.outcome == o).count();
    let outcomes = [
        (by_outcome(Outcome::Success), "success"),
        (by_outcome(Outcome::Partial), "partial"),
        (by_outcome(Outcome::Failed), "failed"),
        (by_outcome(Outcome::Interrupted), "interrupted"),
    ]
    .iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{n} {what}"))
    .collect::<Vec<_>>()
    .join(", ");
    let sum = |f: fn(&RunReport) -> u32| reports.iter().map(f).sum::<u32>();
    let changes = nonzero(&[
        (sum(|r| r.workshops.new), "new"),
        (sum(|r| r.workshops.updated), "updated"),
        (sum(|r| r.workshops.archived), "archived"),
    ]);
    format!(
        "total: {} studio(s): {outcomes} | workshops {}",
        reports.len(),
        if changes.is_empty() {
            "nothing changed".to_string()
        } else {
            changes
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(studio: &str, outcome: Outcome) -> RunReport {
        RunReport {
            studio_id: studio.into(),
            outcome,
            duration_ms: 1234,
            ..RunReport::default()
        }
    }

    #[test]
    fn a_summary_shows_only_what_is_not_zero() {
        let mut r = report("dna", Outcome::Success);
        r.pages.fetched = 6;
        r.workshops.new = 5;
        r.workshops.skipped_past = 1;
        assert_eq!(
            r.summary_line(),
            "dna: success in 1.2s | pages 6 downloaded | workshops 5 new, 1 skipped as past"
        );
    }

    #[test]
    fn a_run_that_changed_nothing_says_so() {
        let mut r = report("dna", Outcome::Success);
        r.pages.unchanged = 6;
        r.workshops.unchanged = 5;
        assert_eq!(
            r.summary_line(),
            "dna: success in 1.2s | pages 6 unchanged | workshops nothing changed (5 unchanged)"
        );
        let empty = report("x", Outcome::Failed);
        assert_eq!(
            empty.summary_line(),
            "x: failed in 1.2s | pages none read | workshops nothing changed"
        );
    }

    #[test]
    fn the_total_line_counts_outcomes_and_changes() {
        let mut a = report("a", Outcome::Success);
        a.workshops.new = 3;
        let mut b = report("b", Outcome::Partial);
        b.workshops.updated = 1;
        let c = report("c", Outcome::Success);
        assert_eq!(
            total_line(&[a, b, c.clone()]),
            "total: 3 studio(s): 2 success, 1 partial | workshops 3 new, 1 updated"
        );
        assert_eq!(
            total_line(&[c]),
            "total: 1 studio(s): 1 success | workshops nothing changed"
        );
    }
}
