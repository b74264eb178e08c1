//! Running the real binary as an operator would: a temp dir with `sources/` and a
//! settings file naming this test's own databases, studios served by the scripted HTTP
//! server on 127.0.0.1, daemons as child processes (killed when dropped), and waits on
//! conditions with generous deadlines rather than sleeps.

use crate::support::http_server::{Reply, TestServer};
use crate::support::mongo::{self, TestDbNames};
use mongodb::bson::{doc, Document};
use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

/// Generous: a loaded 2-core machine can be slow, and no test asserts on timing.
pub const DEADLINE: Duration = Duration::from_secs(90);

/// The binary under test, hard-linked once: the shared target dir's
/// `debug/nachna-ingest` may be relinked by another worktree's build while we run;
/// our link keeps pointing at the file cargo built for this test binary.
pub fn binary() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let built = Path::new(env!("CARGO_BIN_EXE_nachna-ingest"));
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("daemon-tests");
        std::fs::create_dir_all(&dir).unwrap();
        // Links of finished test runs would keep old binaries on disk.
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let pid = name.strip_prefix("nachna-ingest-").unwrap_or("");
            if !Path::new(&format!("/proc/{pid}")).exists() || pid.is_empty() {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let link = dir.join(format!("nachna-ingest-{}", std::process::id()));
        let _ = std::fs::remove_file(&link);
        if std::fs::hard_link(built, &link).is_err() {
            std::fs::copy(built, &link).unwrap();
        }
        let help = Command::new(&link)
            .args(["run", "--help"])
            .output()
            .unwrap();
        assert!(
            help.status.success(),
            "{} has no `run` command: another worktree's build replaced the shared \
             target dir's binary after this test binary was built; run the tests again",
            built.display()
        );
        link
    })
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A port free right now on 127.0.0.1 (for the health server).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls `check` every 200 ms until it gives a value. Panics, with the daemons' logs,
/// after `DEADLINE` or as soon as one of `daemons` has exited.
pub async fn wait_for<T, F, Fut>(what: &str, daemons: &[&Daemon], mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let logs = || {
        daemons
            .iter()
            .map(|d| d.log())
            .collect::<Vec<_>>()
            .join("\n")
    };
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        if let Some(d) = daemons.iter().find(|d| d.has_exited()) {
            panic!("{} exited while waiting for {what}\n{}", d.name, logs());
        }
        if tokio::time::Instant::now() > deadline {
            panic!(
                "timed out after {} s waiting for {what}\n{}",
                DEADLINE.as_secs(),
                logs()
            );
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// An event page with schema.org data, for when extraction reads it.
fn event_page(studio: &str, n: usize) -> String {
    format!(
        r#"<html><head><title>{studio} workshop {n}</title>
<script type="application/ld+json">{{"@context":"https://schema.org","@type":"Event",
"name":"Hip hop workshop {n}","startDate":"2030-03-1{n}T18:00:00+05:30",
"endDate":"2030-03-1{n}T20:00:00+05:30","performer":{{"@type":"Person","name":"Test Artist {n}"}},
"offers":{{"@type":"Offer","price":"80{n}","priceCurrency":"INR"}}}}</script></head>
<body><h1>Hip hop workshop {n}</h1><p>1{n} March 2030, 6 PM to 8 PM. Rs. 80{n}</p></body></html>"#
    )
}

/// One test's world: temp dir, databases, HTTP server.
pub struct World {
    pub dir: tempfile::TempDir,
    pub names: TestDbNames,
    pub uri: String,
    pub server: TestServer,
    pub client: mongodb::Client,
}

impl World {
    pub async fn new(test: &str) -> World {
        let uri = tokio::task::spawn_blocking(mongo::server_uri)
            .await
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("sources")).unwrap();
        World {
            dir,
            names: mongo::unique_names(test),
            uri,
            server: TestServer::start().await,
            client: mongo::client().await,
        }
    }

    pub fn sources_dir(&self) -> PathBuf {
        self.dir.path().join("sources")
    }

    pub fn listing_path(studio: &str) -> String {
        format!("/{studio}/listing")
    }

    /// The source file text of a studio served by our HTTP server.
    pub fn source_text(&self, studio: &str, cron: &str, enabled: bool) -> String {
        format!(
            r#"[studio]
id = "{studio}"
name = "Studio {studio}"
instagram_link = "https://www.instagram.com/{studio}/"

[crawl]
start_urls = ["{listing}"]
follow = '^http://127\.0\.0\.1:{port}/{studio}/events/'
host_delay_ms = 0
obey_robots = false

[schedule]
cron = "{cron}"
enabled = {enabled}
"#,
            listing = self.server.url(&Self::listing_path(studio)),
            port = self.server.port(),
        )
    }

    /// Writes `sources/<studio>.toml` and serves its listing (`listing` replies in
    /// order, the last repeating) and two event pages.
    pub fn add_studio(&self, studio: &str, cron: &str, enabled: bool, listing: Vec<Reply>) {
        self.write_source(studio, &self.source_text(studio, cron, enabled));
        self.serve_studio(studio, listing);
    }

    pub fn write_source(&self, studio: &str, text: &str) {
        std::fs::write(self.sources_dir().join(format!("{studio}.toml")), text).unwrap();
    }

    pub fn remove_source(&self, studio: &str) {
        std::fs::remove_file(self.sources_dir().join(format!("{studio}.toml"))).unwrap();
    }

    pub fn serve_studio(&self, studio: &str, listing: Vec<Reply>) {
        let links: String = (1..=2)
            .map(|n| format!("<a href=\"/{studio}/events/e{n}\">Workshop {n}</a>\n"))
            .collect();
        let body = format!("<html><body><h1>{studio}</h1>\n{links}</body></html>");
        let replies: Vec<Reply> = listing
            .into_iter()
            .map(|r| {
                r.header("Content-Type", "text/html; charset=utf-8")
                    .body(body.clone())
            })
            .collect();
        self.server.route_seq(&Self::listing_path(studio), replies);
        for n in 1..=2 {
            self.server.route(
                &format!("/{studio}/events/e{n}"),
                Reply::ok(event_page(studio, n)),
            );
        }
    }

    /// A settings file for this test's databases plus `extra` TOML (e.g. a `[daemon]`
    /// section). Returns its path.
    pub fn settings(&self, name: &str, extra: &str) -> PathBuf {
        self.settings_for(name, &self.names.discovery, &self.names.app, extra)
    }

    pub fn settings_for(&self, name: &str, discovery: &str, app: &str, extra: &str) -> PathBuf {
        let path = self.dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "[mongodb]\ndiscovery_db = \"{discovery}\"\napp_db = \"{app}\"\n\n[fetch]\nmax_attempts = 1\n\n{extra}\n"
            ),
        )
        .unwrap();
        path
    }

    fn command(&self, settings: &Path) -> Command {
        let mut c = Command::new(binary());
        c.arg("--config")
            .arg(settings)
            .arg("--mongodb-uri")
            .arg(&self.uri)
            .arg("--sources")
            .arg(self.sources_dir())
            .arg("--log-format")
            .arg("json")
            .current_dir(self.dir.path())
            .env_remove("NACHNA_MONGODB_URI")
            .env_remove("NOTIFY_SOCKET")
            .env_remove("WATCHDOG_USEC")
            .env_remove("RUST_LOG")
            .stdin(Stdio::null());
        c
    }

    /// Runs a one-shot command (`trigger`, `ingest`, `status`) to completion.
    pub async fn run(&self, settings: &Path, args: &[&str]) -> Output {
        let mut c = self.command(settings);
        c.args(args);
        tokio::task::spawn_blocking(move || c.output().unwrap())
            .await
            .unwrap()
    }

    /// Starts `nachna-ingest run` with `settings`; `env` adds variables.
    pub fn spawn_daemon(&self, name: &str, settings: &Path, env: &[(&str, &str)]) -> Daemon {
        let log = self.dir.path().join(format!("{name}.log"));
        let mut c = self.command(settings);
        c.arg("run")
            .envs(env.iter().copied())
            .stdout(Stdio::from(std::fs::File::create(&log).unwrap()))
            .stderr(Stdio::from(
                std::fs::OpenOptions::new().append(true).open(&log).unwrap(),
            ));
        let child = c.spawn().unwrap();
        Daemon {
            name: name.to_string(),
            child,
            log,
        }
    }

    pub async fn db(&self) -> mongodb::Database {
        self.client.database(&self.names.discovery)
    }

    pub async fn runs(&self, filter: Document) -> Vec<Document> {
        use futures::TryStreamExt;
        self.db()
            .await
            .collection::<Document>("ingest_runs")
            .find(filter)
            .sort(doc! { "started_at": 1 })
            .await
            .unwrap()
            .try_collect()
            .await
            .unwrap()
    }
}

/// A daemon process; SIGKILLed when dropped if still running.
pub struct Daemon {
    pub name: String,
    pub child: Child,
    pub log: PathBuf,
}

impl Daemon {
    pub fn pid(&self) -> i64 {
        i64::from(self.child.id())
    }

    pub fn log(&self) -> String {
        format!(
            "--- {} log ---\n{}",
            self.name,
            std::fs::read_to_string(&self.log).unwrap_or_default()
        )
    }

    /// Exited (a zombie not yet reaped, or gone), without reaping it.
    pub fn has_exited(&self) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())) {
            Ok(stat) => stat
                .rsplit_once(") ")
                .is_some_and(|(_, rest)| rest.starts_with('Z')),
            Err(_) => true,
        }
    }

    pub fn signal(&self, sig: libc::c_int) {
        let r = unsafe { libc::kill(self.child.id() as libc::pid_t, sig) };
        assert_eq!(r, 0, "kill({}, {sig}) failed", self.child.id());
    }

    /// Waits for the process to end (generous deadline).
    pub async fn exit(&mut self) -> ExitStatus {
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            if tokio::time::Instant::now() > deadline {
                panic!("{} did not exit\n{}", self.name, self.log());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// SIGTERM, then the exit status.
    pub async fn stop(&mut self) -> ExitStatus {
        self.signal(libc::SIGTERM);
        self.exit().await
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// GET `path` from a daemon's health server (plain HTTP on 127.0.0.1).
pub async fn http_get(port: u16, path: &str) -> Option<(u16, String)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .no_proxy()
        .build()
        .unwrap();
    let resp = client
        .get(format!("http://127.0.0.1:{port}{path}"))
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.text().await.ok()?))
}

/// The value of one Prometheus series (exact name and labels as rendered), if present.
pub fn series(metrics: &str, name_and_labels: &str) -> Option<f64> {
    metrics.lines().find_map(|l| {
        let rest = l.strip_prefix(name_and_labels)?;
        rest.strip_prefix(' ')?.trim().parse().ok()
    })
}
