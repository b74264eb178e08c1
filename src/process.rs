//! Who this process is, in one place: the host name and pid written on run records,
//! leases, trigger claims, outbox claims and presence documents, and the [`OwnerId`]
//! (`host:pid:random`) that names this process in all of them.

use std::fmt;
use std::sync::Arc;

/// The machine's host name, or `unknown`.
pub fn hostname() -> String {
    let name = gethostname::gethostname();
    let name = name.to_string_lossy();
    match name.trim() {
        "" => "unknown".into(),
        h => h.to_string(),
    }
}

pub fn pid() -> u32 {
    std::process::id()
}

/// Who this process is, in leases, runs, trigger claims and outbox claims:
/// `host:pid:random`. The random part tells two owners in one process apart (tests,
/// a manual `ingest` started twice with the same pid after a reboot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerId(Arc<str>);

impl OwnerId {
    pub fn new() -> OwnerId {
        OwnerId(
            format!(
                "{}:{}:{:06x}",
                hostname(),
                pid(),
                rand::random::<u32>() & 0xff_ffff
            )
            .into(),
        )
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for OwnerId {
    fn default() -> Self {
        OwnerId::new()
    }
}

impl fmt::Display for OwnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
