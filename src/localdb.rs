//! A local MongoDB wire-protocol server (SecantusDB, `secantusd-rs`) started as a child
//! process, for when no MongoDB URI is configured and for the test suite.
//!
//! SecantusDB is GPL-2.0-only and beta, so it is only ever *run* as a separate process,
//! never linked. `scripts/install-secantus.sh` installs the pinned version.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// The pinned version; `scripts/install-secantus.sh` installs exactly this one.
pub const SECANTUS_VERSION: &str = "0.5.3-beta.196";
const BINARY: &str = "secantusd-rs";

#[derive(Debug, thiserror::Error)]
pub enum LocalDbError {
    #[error(
        "no `{BINARY}` found (looked at $NACHNA_SECANTUS_BIN, $PATH and {cache}). \
         Install it with `scripts/install-secantus.sh`, or configure a MongoDB URI \
         (--mongodb-uri / NACHNA_MONGODB_URI)",
        cache = cached_binary_path().display()
    )]
    BinaryNotFound,
    #[error("cannot create the local database directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot start {binary}: {source}")]
    Spawn {
        binary: PathBuf,
        source: std::io::Error,
    },
    #[error("{binary} did not report a listening port within {secs} s; its output:\n{output}")]
    NoPort {
        binary: PathBuf,
        secs: u64,
        output: String,
    },
}

/// Where `scripts/install-secantus.sh` puts the binary (outside any clone).
pub fn cached_binary_path() -> PathBuf {
    let cache_root = std::env::var_os("NACHNA_CACHE_DIR")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("XDG_CACHE_HOME").map(|x| PathBuf::from(x).join("nachna-ingest"))
        })
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/nachna-ingest")))
        .unwrap_or_else(|| PathBuf::from(".cache/nachna-ingest"));
    cache_root
        .join(format!("secantus-{SECANTUS_VERSION}"))
        .join("bin")
        .join(BINARY)
}

/// Finds `secantusd-rs`: `$NACHNA_SECANTUS_BIN`, then `$PATH`, then the install cache.
pub fn find_binary() -> Result<PathBuf, LocalDbError> {
    if let Some(explicit) = std::env::var_os("NACHNA_SECANTUS_BIN") {
        let p = PathBuf::from(explicit);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(LocalDbError::BinaryNotFound)
        };
    }
    if let Some(path) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&path) {
            let candidate = dir.join(BINARY);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let cached = cached_binary_path();
    if cached.is_file() {
        return Ok(cached);
    }
    Err(LocalDbError::BinaryNotFound)
}

/// How long a graceful stop may take before the server is killed. SecantusDB closes
/// WiredTiger with a final checkpoint on SIGTERM; with a few hundred MiB of cache that
/// takes well under a second, so reaching this means the server is stuck. It also has
/// to fit, after the daemon's own grace period, in the unit's `TimeoutStopSec=60`.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// Sizes and durability of a local store. Each store preallocates its whole log file,
/// so small is good.
#[derive(Debug, Clone)]
pub struct LocalDbOptions {
    pub data_dir: PathBuf,
    pub cache_size: String,
    pub log_file_max: String,
    /// Fsync the write-ahead log on every commit (`--sync-on-commit`). Without it
    /// SecantusDB acknowledges writes that are still in its in-memory log buffer: a
    /// SIGKILL of the server (OOM killer, power loss) loses them although the client was
    /// told they were written (measured: 200 acknowledged inserts, SIGKILL, 0 left).
    /// SecantusDB accepts but does not honour `writeConcern {j: true}`, so this flag is
    /// the only way to make an acknowledgement mean "on disk". Costs one fsync per
    /// write, which the tool's handful of writes per run never notices.
    pub durable: bool,
}

impl LocalDbOptions {
    /// For data that must survive anything: what the tool itself uses
    /// (`scripts/nachna`, the daemon without a MongoDB URI).
    pub fn durable(data_dir: impl Into<PathBuf>) -> Self {
        LocalDbOptions {
            data_dir: data_dir.into(),
            cache_size: "256M".into(),
            log_file_max: "64MB".into(),
            durable: true,
        }
    }

    /// A small, throwaway store (tests, benchmarks): no fsync per commit. A graceful
    /// stop (drop) still keeps every write; only a SIGKILL of the server loses the
    /// unsynced tail.
    pub fn small(data_dir: impl Into<PathBuf>) -> Self {
        LocalDbOptions {
            data_dir: data_dir.into(),
            cache_size: "128M".into(),
            log_file_max: "16MB".into(),
            durable: false,
        }
    }
}

/// A running local server. Dropping it stops the server gracefully (SIGTERM, wait up to
/// [`STOP_TIMEOUT`], only then SIGKILL). If this process dies without dropping it
/// (SIGKILL, `process::exit`), the kernel sends the server SIGTERM, so it still closes
/// its store cleanly.
#[derive(Debug)]
pub struct LocalDb {
    child: Keeper,
    port: u16,
    data_dir: PathBuf,
}

impl LocalDb {
    /// Starts the server on an ephemeral 127.0.0.1 port and waits for it to listen.
    pub fn start(options: &LocalDbOptions) -> Result<LocalDb, LocalDbError> {
        Self::start_on(options, 0)
    }

    /// Starts the server on `port` of 127.0.0.1 (0: an ephemeral one) and waits for it
    /// to listen. A store still locked by a server that is closing (the previous
    /// command's, stopped a moment ago) is waited for, up to [`STOP_TIMEOUT`].
    pub fn start_on(options: &LocalDbOptions, port: u16) -> Result<LocalDb, LocalDbError> {
        let deadline = std::time::Instant::now() + STOP_TIMEOUT;
        loop {
            match Self::start_once(options, port) {
                Err(LocalDbError::NoPort { ref output, .. })
                    if store_locked(output) && std::time::Instant::now() < deadline =>
                {
                    std::thread::sleep(Duration::from_millis(250));
                }
                other => return other,
            }
        }
    }

    fn start_once(options: &LocalDbOptions, port: u16) -> Result<LocalDb, LocalDbError> {
        let binary = find_binary()?;
        std::fs::create_dir_all(&options.data_dir).map_err(|source| LocalDbError::DataDir {
            path: options.data_dir.clone(),
            source,
        })?;
        // An explicit, empty config file keeps the server from discovering one in the
        // working or home directory.
        let config_file = options.data_dir.with_extension("secantusd.toml");
        std::fs::write(
            &config_file,
            "# written by nachna-ingest: all settings are flags\n",
        )
        .map_err(|source| LocalDbError::DataDir {
            path: config_file.clone(),
            source,
        })?;
        let mut command = Command::new(&binary);
        command
            .arg("--host")
            .arg("127.0.0.1")
            .arg("--port")
            .arg(port.to_string())
            .arg("--storage-path")
            .arg(&options.data_dir)
            .arg("--cache-size")
            .arg(&options.cache_size)
            .arg("--log-file-max")
            .arg(&options.log_file_max)
            .arg("--log-level")
            .arg("WARNING")
            // No config auto-discovery from the working directory or home.
            .arg("--config")
            .arg(&config_file)
            .args(options.durable.then_some("--sync-on-commit"))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        detach_from_terminal_and_follow_parent(&mut command);
        // The kernel's parent-death signal follows the *thread* that spawned the child,
        // so a keeper thread spawns it and lives exactly as long as this handle.
        let (spawned_tx, spawned_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<StopHow>();
        let keeper = std::thread::spawn(move || {
            let mut child = match command.spawn() {
                Ok(child) => child,
                Err(err) => {
                    let _ = spawned_tx.send(Err(err));
                    return Stopped::Already;
                }
            };
            let streams = (child.stdout.take(), child.stderr.take());
            let _ = spawned_tx.send(Ok(streams));
            // A dropped handle (sender gone) is a graceful stop too.
            let how = stop_rx.recv().unwrap_or(StopHow::Graceful);
            stop_child(&mut child, how, STOP_TIMEOUT)
        });
        let (stdout, stderr) = spawned_rx
            .recv()
            .unwrap_or_else(|_| Err(std::io::Error::other("keeper thread died")))
            .map_err(|source| LocalDbError::Spawn {
                binary: binary.clone(),
                source,
            })?;
        let mut child = Keeper {
            stop: Some(stop_tx),
            thread: Some(keeper),
        };

        let (tx, rx) = mpsc::channel::<String>();
        for stream in [
            stdout.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            stderr.map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if tx.send(line).is_err() {
                        // Nobody listens any more: keep draining so the child never blocks.
                        continue;
                    }
                }
            });
        }
        drop(tx);

        let wait = Duration::from_secs(60);
        let deadline = std::time::Instant::now() + wait;
        let mut output = String::new();
        let port = loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) => {
                    if let Some(port) = parse_listening_port(&line) {
                        break Some(port);
                    }
                    output.push_str(&line);
                    output.push('\n');
                }
                Err(_) => break None,
            }
        };
        match port {
            Some(port) => Ok(LocalDb {
                child,
                port,
                data_dir: options.data_dir.clone(),
            }),
            None => {
                child.stop(StopHow::Kill);
                Err(LocalDbError::NoPort {
                    binary,
                    secs: wait.as_secs(),
                    output,
                })
            }
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// A URI for the driver. `directConnection` because the server advertises a
    /// single-node replica set whose member name need not resolve.
    pub fn uri(&self) -> String {
        format!("mongodb://127.0.0.1:{}/?directConnection=true", self.port)
    }

    /// Stops the server gracefully and waits for it: SIGTERM (it closes its store with a
    /// final checkpoint), then SIGKILL only if it is still running after
    /// [`STOP_TIMEOUT`]. Idempotent; dropping the handle does the same.
    pub fn stop(&mut self) -> Stopped {
        let stopped = self.child.stop(StopHow::Graceful);
        if let Stopped::Killed { after } = stopped {
            tracing::warn!(
                data_dir = %self.data_dir.display(),
                "the local SecantusDB did not stop within {} s of SIGTERM and was killed",
                after.as_secs()
            );
        }
        stopped
    }

    /// Kills the server at once with SIGKILL, as a crash would (tests use this to
    /// simulate the database going away).
    pub fn kill(&mut self) {
        self.child.stop(StopHow::Kill);
    }
}

impl Drop for LocalDb {
    fn drop(&mut self) {
        self.stop();
    }
}

/// How the server ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    /// It exited by itself after SIGTERM (store closed cleanly), with this status code
    /// (`None`: ended by a signal).
    Gracefully { code: Option<i32> },
    /// It was still running this long after SIGTERM, and was killed.
    Killed { after: Duration },
    /// Killed on purpose ([`LocalDb::kill`]), or stopped earlier.
    Already,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum StopHow {
    Graceful,
    Kill,
}

/// SIGTERM and wait up to `timeout` for the child, else SIGKILL; or SIGKILL at once.
fn stop_child(child: &mut std::process::Child, how: StopHow, timeout: Duration) -> Stopped {
    if how == StopHow::Kill {
        let _ = child.kill();
        let _ = child.wait();
        return Stopped::Already;
    }
    if let Ok(Some(status)) = child.try_wait() {
        return Stopped::Gracefully {
            code: status.code(),
        };
    }
    let pid = child.id() as libc::pid_t;
    // SAFETY: plain syscall on our own child's pid, which is not reaped yet (so not reused).
    unsafe {
        libc::kill(pid, libc::SIGTERM);
    }
    let started = std::time::Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => {
                return Stopped::Gracefully {
                    code: status.code(),
                }
            }
            Ok(None) if started.elapsed() < timeout => {
                std::thread::sleep(Duration::from_millis(20))
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Stopped::Killed {
                    after: started.elapsed(),
                };
            }
        }
    }
}

/// Owns the keeper thread; stopping it stops the server and waits for it to exit.
#[derive(Debug)]
struct Keeper {
    stop: Option<mpsc::Sender<StopHow>>,
    thread: Option<std::thread::JoinHandle<Stopped>>,
}

impl Keeper {
    fn stop(&mut self, how: StopHow) -> Stopped {
        let Some(tx) = self.stop.take() else {
            return Stopped::Already;
        };
        let _ = tx.send(how);
        self.thread
            .take()
            .and_then(|thread| thread.join().ok())
            .unwrap_or(Stopped::Already)
    }
}

/// Whether a failed start's output says the store is locked by another server (one
/// still closing, typically).
fn store_locked(output: &str) -> bool {
    let lower = output.to_ascii_lowercase();
    lower.contains("wiredtiger.lock") || lower.contains("resource temporarily unavailable")
}

fn parse_listening_port(line: &str) -> Option<u16> {
    let rest = line.split("listening on ").nth(1)?;
    rest.trim().rsplit(':').next()?.trim().parse().ok()
}

/// Two things about how the server lives beside this process:
/// * its own process group, so a Ctrl-C typed at the terminal (SIGINT to the whole
///   foreground group) reaches only this process, which records its run as interrupted
///   and only then stops the server: otherwise the server would close first and those
///   last writes would fail;
/// * if this process dies without dropping [`LocalDb`] (SIGKILL, a second Ctrl-C's
///   `process::exit`), the kernel sends the server SIGTERM, which it answers with a
///   clean close of its store; SIGKILL would lose writes it had not synced.
#[cfg(unix)]
fn detach_from_terminal_and_follow_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    command.process_group(0);
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    #[cfg(target_os = "linux")]
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
}

#[cfg(not(unix))]
fn detach_from_terminal_and_follow_parent(_command: &mut Command) {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_port_from_startup_line() {
        assert_eq!(
            parse_listening_port("secantusd-rs listening on 127.0.0.1:33401"),
            Some(33401)
        );
        assert_eq!(parse_listening_port("starting WiredTiger"), None);
    }
}
