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

/// Sizes for a local store. Each store preallocates its whole log file, so small is good.
#[derive(Debug, Clone)]
pub struct LocalDbOptions {
    pub data_dir: PathBuf,
    pub cache_size: String,
    pub log_file_max: String,
}

impl LocalDbOptions {
    pub fn small(data_dir: impl Into<PathBuf>) -> Self {
        LocalDbOptions {
            data_dir: data_dir.into(),
            cache_size: "128M".into(),
            log_file_max: "16MB".into(),
        }
    }
}

/// A running local server; killed when dropped (and when this process dies).
#[derive(Debug)]
pub struct LocalDb {
    child: Keeper,
    port: u16,
    data_dir: PathBuf,
}

impl LocalDb {
    /// Starts the server on an ephemeral 127.0.0.1 port and waits for it to listen.
    pub fn start(options: &LocalDbOptions) -> Result<LocalDb, LocalDbError> {
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
            .arg("0")
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
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        kill_with_parent(&mut command);
        // The kernel's parent-death signal follows the *thread* that spawned the child,
        // so a keeper thread spawns it and lives exactly as long as this handle.
        let (spawned_tx, spawned_rx) = mpsc::channel();
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let keeper = std::thread::spawn(move || {
            let mut child = match command.spawn() {
                Ok(child) => child,
                Err(err) => {
                    let _ = spawned_tx.send(Err(err));
                    return;
                }
            };
            let streams = (child.stdout.take(), child.stderr.take());
            let _ = spawned_tx.send(Ok(streams));
            let _ = stop_rx.recv();
            let _ = child.kill();
            let _ = child.wait();
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
                child.stop();
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

    /// Stops the server now (tests use this to simulate the database going away).
    pub fn kill(&mut self) {
        self.child.stop();
    }
}

impl Drop for LocalDb {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Owns the keeper thread; stopping it kills the server and waits for it to exit.
#[derive(Debug)]
struct Keeper {
    stop: Option<mpsc::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Keeper {
    fn stop(&mut self) {
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn parse_listening_port(line: &str) -> Option<u16> {
    let rest = line.split("listening on ").nth(1)?;
    rest.trim().rsplit(':').next()?.trim().parse().ok()
}

/// Makes the kernel kill the server if this process dies without dropping [`LocalDb`].
#[cfg(target_os = "linux")]
fn kill_with_parent(command: &mut Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn kill_with_parent(_command: &mut Command) {}

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
