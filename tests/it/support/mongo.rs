//! A real MongoDB wire-protocol server for tests.
//!
//! `NACHNA_TEST_MONGODB_URI` (a real `mongod`) wins; otherwise one SecantusDB process is
//! started per test binary on an ephemeral port, with its data under the cargo target
//! tmp dir. Every test gets its own database names. No server means a loud failure with
//! instructions, never a skip.

use nachna_ingest::localdb::{LocalDb, LocalDbOptions};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

static SERVER_URI: OnceLock<String> = OnceLock::new();
static LOCAL: OnceLock<LocalDb> = OnceLock::new();
static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The URI of the test server, starting SecantusDB on first use.
pub fn server_uri() -> String {
    SERVER_URI
        .get_or_init(|| {
            if let Ok(uri) = std::env::var("NACHNA_TEST_MONGODB_URI") {
                if !uri.trim().is_empty() {
                    return uri;
                }
            }
            let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("secantus-test");
            // Stores of earlier runs are useless and each holds a preallocated log. Only
            // those of test processes that are gone: the target dir (and so this root)
            // may be shared with test runs of other checkouts going on right now.
            remove_stale_stores(&root);
            let dir = root.join(format!("pid-{}", std::process::id()));
            let db = LocalDb::start(&LocalDbOptions::small(dir)).unwrap_or_else(|err| {
                panic!(
                    "\n\nThe integration tests need a MongoDB wire-protocol server and none could be started:\n  {err}\n\n\
                     Either install SecantusDB with `scripts/install-secantus.sh` (or run the whole suite with `scripts/test`),\n\
                     or point the tests at a real mongod: NACHNA_TEST_MONGODB_URI=mongodb://127.0.0.1:27017\n\n"
                )
            });
            let uri = db.uri();
            let _ = LOCAL.set(db);
            uri
        })
        .clone()
}

/// Removes `root/pid-N` directories whose process N no longer exists (or is not a
/// test binary any more: pids are reused).
fn remove_stale_stores(root: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let pid: String = name
            .strip_prefix("pid-")
            .unwrap_or("")
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        let alive = !pid.is_empty()
            && std::fs::read_to_string(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|cmd| cmd.contains("/deps/"));
        if !alive {
            let path = entry.path();
            if path.is_dir() {
                let _ = std::fs::remove_dir_all(&path);
            } else {
                let _ = std::fs::remove_file(&path);
            }
        }
    }
}

/// Database names unique to one test.
#[derive(Debug, Clone)]
pub struct TestDbNames {
    pub discovery: String,
    pub app: String,
}

pub fn unique_names(test: &str) -> TestDbNames {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    // MongoDB database names are capped at 64 bytes.
    let short: String = test
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(20)
        .collect();
    let tag = format!("t{}_{}_{}", std::process::id() % 100_000, n, short);
    TestDbNames {
        discovery: format!("{tag}_disc"),
        app: format!("{tag}_app"),
    }
}

/// A driver client for one test (clients are tied to the test's own tokio runtime).
pub async fn client() -> mongodb::Client {
    let uri = server_uri();
    let mut options = mongodb::options::ClientOptions::parse(&uri)
        .await
        .expect("test MongoDB URI parses");
    options.server_selection_timeout = Some(std::time::Duration::from_secs(10));
    mongodb::Client::with_options(options).expect("test MongoDB client")
}

/// A second handle on `store`'s databases that logs every command it sends (the
/// round-trip tests count what a run asks of the server through it).
pub async fn logged_twin(
    store: &nachna_ingest::store::Store,
) -> (
    nachna_ingest::store::Store,
    std::sync::Arc<nachna_ingest::store::CommandLog>,
) {
    let (disc, app) = store.database_names();
    nachna_ingest::store::Store::connect_logged(
        &server_uri(),
        &disc,
        &app,
        std::time::Duration::from_secs(30),
    )
    .await
    .unwrap()
}
