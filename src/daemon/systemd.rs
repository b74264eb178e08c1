//! The systemd notification protocol (`sd_notify(3)`), by hand: one datagram per
//! message to the unix socket named by `NOTIFY_SOCKET` (a path, or `@name` for the
//! abstract namespace). Without `NOTIFY_SOCKET` every call is a no-op.
//!
//! Messages sent: `READY=1` once MongoDB answered and the jobs are scheduled;
//! `WATCHDOG=1` from the liveness loop (only while the scheduler proves alive);
//! `STATUS=...` lines saying what the daemon does; `STOPPING=1` on shutdown.

use std::os::unix::net::{SocketAddr, UnixDatagram};
use std::time::Duration;
use tracing::debug;

/// Sends notifications to the service manager, when there is one.
#[derive(Debug)]
pub struct ServiceManager {
    target: Option<(UnixDatagram, SocketAddr)>,
    watchdog: Option<Duration>,
}

impl ServiceManager {
    /// From `NOTIFY_SOCKET`, `WATCHDOG_USEC` and `WATCHDOG_PID` of this process.
    pub fn from_env() -> ServiceManager {
        ServiceManager::from_vars(|name| std::env::var(name).ok())
    }

    /// As [`from_env`](Self::from_env), reading variables through `var`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> ServiceManager {
        let target = var("NOTIFY_SOCKET")
            .filter(|s| !s.is_empty())
            .and_then(|path| match socket_addr(&path) {
                Ok(addr) => UnixDatagram::unbound().ok().map(|sock| (sock, addr)),
                Err(err) => {
                    tracing::warn!(socket = %path, error = %err, "NOTIFY_SOCKET is unusable; not notifying systemd");
                    None
                }
            });
        let for_us = var("WATCHDOG_PID")
            .and_then(|p| p.trim().parse::<u32>().ok())
            .is_none_or(|pid| pid == std::process::id());
        let watchdog = var("WATCHDOG_USEC")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|usec| *usec > 0 && for_us && target.is_some())
            .map(Duration::from_micros);
        ServiceManager { target, watchdog }
    }

    /// A notifier that sends nothing.
    pub fn disabled() -> ServiceManager {
        ServiceManager {
            target: None,
            watchdog: None,
        }
    }

    pub fn enabled(&self) -> bool {
        self.target.is_some()
    }

    /// How often to send `WATCHDOG=1`: half of `WATCHDOG_USEC`, when the watchdog is on.
    pub fn watchdog_interval(&self) -> Option<Duration> {
        self.watchdog.map(|d| d / 2)
    }

    /// Sends one message (`KEY=value` lines). Failures are logged at debug and ignored:
    /// systemd going away must not take the daemon down.
    pub fn notify(&self, message: &str) {
        if let Some((sock, addr)) = &self.target {
            if let Err(err) = sock.send_to_addr(message.as_bytes(), addr) {
                debug!(error = %err, "sd_notify failed");
            }
        }
    }

    pub fn ready(&self, status: &str) {
        self.notify(&format!("READY=1\nSTATUS={}", one_line(status)));
    }

    pub fn status(&self, status: &str) {
        self.notify(&format!("STATUS={}", one_line(status)));
    }

    pub fn watchdog(&self) {
        self.notify("WATCHDOG=1");
    }

    pub fn stopping(&self, status: &str) {
        self.notify(&format!("STOPPING=1\nSTATUS={}", one_line(status)));
    }
}

fn one_line(s: &str) -> String {
    s.replace('\n', " ")
}

fn socket_addr(path: &str) -> std::io::Result<SocketAddr> {
    if let Some(name) = path.strip_prefix('@') {
        use std::os::linux::net::SocketAddrExt;
        SocketAddr::from_abstract_name(name.as_bytes())
    } else {
        SocketAddr::from_pathname(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_notify_socket_nothing_is_attempted() {
        let n =
            ServiceManager::from_vars(|name| (name == "WATCHDOG_USEC").then(|| "1000000".into()));
        assert!(!n.enabled());
        assert_eq!(n.watchdog_interval(), None);
        n.ready("x"); // must not panic or block
    }

    #[test]
    fn messages_arrive_on_the_socket_and_watchdog_is_half_the_usec() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notify.sock");
        let server = UnixDatagram::bind(&path).unwrap();
        let p = path.to_str().unwrap().to_string();
        let n = ServiceManager::from_vars(|name| match name {
            "NOTIFY_SOCKET" => Some(p.clone()),
            "WATCHDOG_USEC" => Some("4000000".into()),
            _ => None,
        });
        assert_eq!(n.watchdog_interval(), Some(Duration::from_secs(2)));
        n.ready("up\nand running");
        n.watchdog();
        let mut buf = [0u8; 256];
        let len = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"READY=1\nSTATUS=up and running");
        let len = server.recv(&mut buf).unwrap();
        assert_eq!(&buf[..len], b"WATCHDOG=1");
    }

    #[test]
    fn watchdog_for_another_pid_is_ignored() {
        let n = ServiceManager::from_vars(|name| match name {
            "NOTIFY_SOCKET" => Some("@nachna-test-none".into()),
            "WATCHDOG_USEC" => Some("4000000".into()),
            "WATCHDOG_PID" => Some("1".into()),
            _ => None,
        });
        assert_eq!(n.watchdog_interval(), None);
    }
}
