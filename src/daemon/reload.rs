//! SIGHUP: re-read the sources directory. Added, removed and changed sources take effect
//! at once (their cron jobs are added, removed or replaced; a run in progress finishes
//! with the source it started with). When any file is invalid nothing changes: every
//! problem is logged and the running set stays as it was.

use super::scheduler::Scheduler;
use super::sources::{Diff, SourceSet};
use crate::metrics;
use crate::source::{self, SourceErrors};
use std::path::Path;
use tracing::{error, info};

/// Loads `dir` and applies it, or leaves everything as it was.
pub async fn reload(
    dir: &Path,
    sources: &SourceSet,
    scheduler: &Scheduler,
) -> Result<Diff, SourceErrors> {
    let loaded = match source::load_dir(dir) {
        Ok(l) => l,
        Err(errs) => {
            for problem in &errs.0 {
                error!(problem = %problem, "source reload rejected");
            }
            error!(
                problems = errs.0.len(),
                dir = %dir.display(),
                "source reload rejected: the running set of sources is unchanged; fix the file(s) and send SIGHUP again"
            );
            metrics::record_source_reload("rejected");
            return Err(errs);
        }
    };
    let diff = sources.replace(loaded);
    for id in &diff.removed {
        scheduler.remove(id).await;
    }
    for id in diff.added.iter().chain(diff.changed.iter()) {
        scheduler.remove(id).await;
        if let Some(source) = sources.get(id) {
            if let Err(err) = scheduler.add(&source).await {
                error!(studio = %id, error = %err, "cannot schedule the reloaded source");
            }
        }
    }
    info!(
        added = ?diff.added,
        removed = ?diff.removed,
        changed = ?diff.changed,
        total = sources.len(),
        "sources reloaded"
    );
    metrics::record_source_reload("applied");
    Ok(diff)
}
