//! Stopping cleanly. SIGTERM or SIGINT starts it: `STOPPING=1`, no new runs (schedule
//! ticks and trigger requests are left alone), background tasks told to finish what
//! they hold; in-flight runs get `daemon.grace_period_secs` to finish. Runs still going
//! then are cut: each marks its `ingest_runs` document `interrupted`, puts its trigger
//! requests back to `pending`, and releases its lease. A second signal cuts at once.
//! The process then exits 0.
//!
//! A run that is cut leaves no half-written workshop: each workshop is written in
//! order (signature, then document, with `$setOnInsert` / version checks) and page
//! records are saved only after their workshops, so the next run redoes exactly what
//! was missing.

use std::io;
use tokio::signal::unix::{signal, Signal, SignalKind};

/// SIGTERM and SIGINT, installed early so a signal during start-up is not lost.
pub struct Signals {
    term: Signal,
    int: Signal,
}

impl Signals {
    pub fn install() -> io::Result<Signals> {
        Ok(Signals {
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
        })
    }

    /// Waits for the next SIGTERM or SIGINT; returns its name.
    pub async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}
