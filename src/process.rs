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

/// Whether `owner` (an [`OwnerId`] string, `host:pid:random`) names a process of this
/// host that no longer exists. `false` whenever that cannot be known for sure: another
/// host, an unreadable id, this very process, or a pid that exists (even if reused by
/// an unrelated process: its lease then simply expires as before).
pub fn owner_is_gone(owner: &str) -> bool {
    let mut parts = owner.rsplitn(3, ':');
    let (Some(_random), Some(pid), Some(host)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let Ok(pid) = pid.parse::<i32>() else {
        return false;
    };
    if host != hostname() || pid <= 0 || pid as u32 == self::pid() {
        return false;
    }
    // SAFETY: signal 0 only checks that the pid exists; nothing is sent.
    let exists = unsafe { libc::kill(pid, 0) } == 0
        || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH);
    !exists
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
