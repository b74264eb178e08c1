//! One module per subcommand, plus what they share before the application is built
//! (settings from flags, logging). `main` only dispatches here; each command builds
//! what it needs through `app`.
//!
//! Exit codes: 0 all good; 1 the work ran but something in it failed (a studio run,
//! an invalid source file); 2 the command could not run (bad settings, no database);
//! 3 `trigger --wait` got no outcome in time.

pub mod adopt;
pub mod check;
pub mod extract;
pub mod ingest;
pub mod notify;
pub mod review;
pub mod run;
pub mod status;
pub mod trigger;

use crate::cli::{GlobalArgs, LogFormat};
use crate::settings::Settings;
use secrecy::SecretString;
use tracing_subscriber::EnvFilter;

/// Logs go to stderr (stdout is for command output such as `--json`).
pub fn init_tracing(format: LogFormat) {
    init_tracing_with(format, "info");
}

/// As [`init_tracing`], with this filter when `RUST_LOG` is unset.
pub fn init_tracing_with(format: LogFormat, default_filter: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(default_filter))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => std::env::var_os("JOURNAL_STREAM").is_some(),
    };
    // Colours only for a person at a terminal: a log file or the journal would keep the
    // escape codes as text.
    let colour = std::io::IsTerminal::is_terminal(&std::io::stderr())
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().flatten_event(true).try_init()
    } else {
        builder.with_target(false).try_init()
    };
}

/// Settings from file and environment, then the global flags on top.
pub fn load_settings(global: &GlobalArgs) -> anyhow::Result<Settings> {
    let mut settings = Settings::load(global.config.as_deref())?;
    if let Some(uri) = &global.mongodb_uri {
        settings.mongodb.uri = Some(SecretString::from(uri.clone()));
    }
    if let Some(dir) = &global.sources {
        settings.sources_dir = dir.clone();
    }
    Ok(settings)
}
