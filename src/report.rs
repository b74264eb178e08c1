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
    pub duplicates: Vec<DuplicateSeen>,
    pub not_workshops: Vec<PageNote>,
    pub unknown_artists: Vec<String>,
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
    /// The drafts behind `new_uuids` and `schedule_changed_uuids`, so `ingest --dry-run`
    /// can tell how many pushes each would create (a dry run stores nothing to read back).
    #[serde(skip)]
    pub announced: Vec<(crate::reconcile::Announcement, crate::workshop::Identified)>,
}

impl RunReport {
    /// One line for terminals and logs.
    pub fn summary_line(&self) -> String {
        let p = &self.pages;
        let w = &self.workshops;
        format!(
            "{studio}: {outcome}{dry} in {secs:.1}s | pages fetched {pf}, unchanged {pu}, failed {pfl}, not a workshop {pn} | \
             workshops new {new}, updated {upd}, unchanged {unch}, duplicate {dup}, archived {arc}, skipped as past {past}",
            studio = self.studio_id,
            outcome = self.outcome.as_str(),
            dry = if self.dry_run { " (dry run: nothing written)" } else { "" },
            secs = self.duration_ms as f64 / 1000.0,
            pf = p.fetched,
            pu = p.unchanged,
            pfl = p.failed,
            pn = p.not_workshop,
            new = w.new,
            upd = w.updated,
            unch = w.unchanged,
            dup = w.duplicate,
            arc = w.archived,
            past = w.skipped_past,
        )
    }
}
