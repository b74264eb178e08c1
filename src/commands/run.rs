//! `nachna-ingest run`: the daemon. Refuses to start, listing every problem, when a
//! source file is invalid; otherwise runs until SIGTERM/SIGINT and exits 0.

use crate::app::App;
use crate::cli::{GlobalArgs, LogFormat, RunArgs};
use crate::clock::SystemClock;
use crate::daemon::shutdown::Signals;
use crate::daemon::systemd::ServiceManager;
use crate::daemon::{Daemon, DaemonParts};
use anyhow::{bail, Context};
use std::process::ExitCode;
use std::sync::Arc;
use tracing::warn;

pub async fn run(global: &GlobalArgs, args: RunArgs) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    let format = match global.log_format {
        LogFormat::Auto => parse_log_format(&settings.daemon.log_format)?,
        explicit => explicit,
    };
    super::init_tracing_with(format, &settings.daemon.log_level);
    let sources = match crate::source::load_dir(&settings.sources_dir) {
        Ok(s) => s,
        Err(errs) => bail!("refusing to start: {errs}"),
    };
    if sources.is_empty() {
        warn!(dir = %settings.sources_dir.display(), "no source files: nothing will be scheduled until some are added (SIGHUP reloads)");
    }
    // Installed before connecting, so a signal during start-up is not lost.
    let signals = Signals::install().context("installing the SIGTERM/SIGINT handlers")?;
    let service = Arc::new(ServiceManager::from_env());
    service.status("starting: connecting to MongoDB");
    let app = App::build_as(settings, crate::app::BuiltIn::Serve).await?;
    // Before any run of ours: runs a crashed process left `running` are ended now.
    crate::runs::recover_crashed_runs(app.store(), chrono::Utc::now()).await;
    let parts = DaemonParts {
        settings: app.settings().clone(),
        store: app.store().clone(),
        fetcher: app.fetcher(args.replay.as_deref())?,
        notifier: app.notifier(Arc::new(SystemClock), &sources),
        pusher: app.pusher(),
        sources,
    };
    let daemon = Daemon::build(parts, signals, service)?;
    daemon.run_until_stopped().await?;
    drop(app);
    Ok(ExitCode::SUCCESS)
}

fn parse_log_format(text: &str) -> anyhow::Result<LogFormat> {
    Ok(match text.trim().to_ascii_lowercase().as_str() {
        "auto" | "" => LogFormat::Auto,
        "text" => LogFormat::Text,
        "json" => LogFormat::Json,
        other => bail!("daemon.log_format `{other}`: expected auto, text or json"),
    })
}
