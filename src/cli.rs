//! Command-line interface: the clap definitions (their doc comments are the `--help`).

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

/// Keeps the nachna dance-workshop catalogue fresh from studio booking pages, and tells
/// followers when their artists teach.
#[derive(Debug, Parser)]
#[command(name = "nachna-ingest", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Settings file (TOML). Environment variables override it; flags override both.
    #[arg(long, global = true, env = "NACHNA_CONFIG")]
    pub config: Option<PathBuf>,
    /// MongoDB connection string. When neither this nor the config sets one, a local
    /// SecantusDB server is started with its data under the working directory.
    #[arg(long, global = true)]
    pub mongodb_uri: Option<String>,
    /// Directory of per-studio source files.
    #[arg(long, global = true)]
    pub sources: Option<PathBuf>,
    /// Log format: `text` for people, `json` for log collectors.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON under systemd (JOURNAL_STREAM set), text otherwise.
    Auto,
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Re-ingest studios now: crawl, extract, store, and report per studio.
    ///
    /// Exit code 0 when every studio succeeded, 1 when any failed or was partial.
    Ingest(IngestArgs),
    /// Extract workshops from one saved page or URL and print them, with where each
    /// field came from. Writes nothing and reads no database.
    ///
    /// Example: nachna-ingest extract --studio dance_n_addiction --page-url
    /// https://www.yoactiv.com/event/rajesh-workshop_-21st-june/1071/0 --today 2026-06-01
    /// --artists fixtures/artists.json
    /// fixtures/dance_n_addiction/rajesh-workshop-21st-june.html
    Extract(ExtractArgs),
    /// Validate every source file and report every problem at once (file:line: key).
    Check(CheckArgs),
    /// Push notifications: outbox status, dispatch, reminders, a test push.
    #[command(subcommand)]
    Notify(NotifyCommand),
    /// Run as a service: every studio on its cron schedule, trigger requests, health and
    /// metrics, until SIGTERM/SIGINT. SIGHUP reloads the source files.
    Run(RunArgs),
    /// Ask the running daemon(s) to re-ingest studios now.
    ///
    /// Exit code with --wait: 0 when every run succeeded, 1 when any failed, was partial
    /// or was interrupted, 3 when no outcome came within --timeout.
    Trigger(TriggerArgs),
    /// Per studio: last run, next scheduled run, lease holder; outbox depth; pending
    /// triggers; live daemons.
    Status(StatusArgs),
    /// Workshops held for a person because their date or artist rests on weak evidence:
    /// stored and listed, but not announced until approved.
    ///
    /// Without a subcommand: list them (uuid, studio, title/song, why weak, page URL).
    /// Examples: nachna-ingest review; nachna-ingest review approve studio/slug;
    /// nachna-ingest review reject studio/slug. Exit code 2 for an unknown uuid.
    Review(ReviewArgs),
    /// Take over a database written by the previous pipeline, once: documents sharing a
    /// uuid are split by song, hashes and signatures are computed, values already there
    /// count as a person's. `_id`s never change; hand-entered workshops are not touched.
    /// Until it has run, `ingest` and `run` refuse such a database.
    ///
    /// Exit code 0 when adopted (or adopted before: nothing changes), 2 when it could
    /// not run.
    Adopt(AdoptArgs),
}

#[derive(Debug, Args)]
pub struct ReviewArgs {
    #[command(subcommand)]
    pub action: Option<ReviewAction>,
    /// List as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ReviewAction {
    /// Confirm a held workshop: its announcement is fanned out now (once, with the usual
    /// cooldowns) and later ingests never hold it again. Repeating it changes nothing.
    Approve {
        /// The workshop's uuid (as `review` lists it).
        uuid: String,
    },
    /// Reject a workshop: archived (never deleted), never announced, and kept archived
    /// by later ingests. Repeating it changes nothing.
    Reject {
        /// The workshop's uuid (as `review` lists it).
        uuid: String,
    },
}

#[derive(Debug, Args)]
pub struct AdoptArgs {
    /// Print what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Fetch from saved pages (a directory with manifest.toml) instead of the network.
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct TriggerArgs {
    #[command(flatten)]
    pub select: StudioSelection,
    /// Re-extract pages even when they are unchanged.
    #[arg(long)]
    pub force: bool,
    /// Wait for the outcome and print the run summary.
    #[arg(long)]
    pub wait: bool,
    /// With --wait: give up after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 900)]
    pub timeout: u64,
    /// With --wait: print the finished requests as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// Which studios a command acts on: `--studio ID ...` or `--all`.
#[derive(Debug, Args)]
pub struct StudioSelection {
    /// Studio id(s) (repeatable).
    #[arg(
        long = "studio",
        value_name = "ID",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub studios: Vec<String>,
    /// Every studio in the sources directory.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    #[command(flatten)]
    pub select: StudioSelection,
    /// Show what would change; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Re-extract pages even when the server says (or the body shows) they are unchanged.
    #[arg(long)]
    pub force: bool,
    /// Fetch from saved pages (a directory with manifest.toml) instead of the network.
    #[arg(long, value_name = "DIR")]
    pub replay: Option<PathBuf>,
    /// Upsert these artists (JSON array of {artist_id, artist_name, instagram_link})
    /// into artists_v2 first. For local and demo databases.
    #[arg(long, value_name = "FILE")]
    pub seed_artists: Option<PathBuf>,
    /// Let this run archive more than the safety brake allows.
    #[arg(long)]
    pub allow_mass_archive: bool,
    /// Print the summary as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// Pretend today is this date (YYYY-MM-DD, studio time) — for replaying fixtures.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub today: Option<chrono::NaiveDate>,
    /// Enqueue notifications for new and changed workshops, but do not send them now
    /// (`notify dispatch` or the daemon will).
    #[arg(long)]
    pub no_dispatch: bool,
}

#[derive(Debug, Args)]
pub struct ExtractArgs {
    /// A saved HTML file, or an http(s) URL to fetch.
    pub input: String,
    /// Use this studio's source rules (otherwise only the generic layers run).
    #[arg(long, value_name = "ID")]
    pub studio: Option<String>,
    /// The page's URL, when INPUT is a file: the uuid and payment_link are made from
    /// it. Without it they are placeholders made from the file's path (a note says so).
    #[arg(long, value_name = "URL")]
    pub page_url: Option<String>,
    /// The run date for year inference (default: today in the studio's zone).
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub today: Option<chrono::NaiveDate>,
    /// Time zone when no --studio is given.
    #[arg(long, default_value = "Asia/Kolkata")]
    pub tz: chrono_tz::Tz,
    /// Artists to match names against: a JSON array of {artist_id, artist_name,
    /// instagram_link}, e.g. fixtures/artists.json. `extract` never reads the database,
    /// so without this no artist is matched (artist_id_list stays empty).
    #[arg(long, value_name = "FILE")]
    pub artists: Option<PathBuf>,
    /// Print exactly one JSON array of documents on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `check` reads the directory given by the global `--sources` (or the settings).
#[derive(Debug, Args)]
pub struct CheckArgs {}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn ingest_needs_studio_or_all_but_not_both() {
        assert!(Cli::try_parse_from(["nachna-ingest", "ingest"]).is_err());
        assert!(
            Cli::try_parse_from(["nachna-ingest", "ingest", "--all", "--studio", "x"]).is_err()
        );
        assert!(
            Cli::try_parse_from(["nachna-ingest", "ingest", "--studio", "a", "--studio", "b"])
                .is_ok()
        );
    }
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Outbox counts by kind and status, the oldest pending notification's age, and
    /// device tokens deactivated in the last day.
    Status(NotifyStatusArgs),
    /// Drain the outbox once: send every notification that is due.
    ///
    /// Exit code 0 when drained; 1 when APNs refused our credentials (dispatch stopped,
    /// notifications left pending) or pushes are not configured.
    Dispatch(NotifyDispatchArgs),
    /// Enqueue the reminders due now (sessions starting within `reminder_hours_before`
    /// that have not started). `notify dispatch` sends them.
    Reminders(NotifyRemindersArgs),
    /// Send one test push to a user's active devices and print each device's outcome.
    Test(NotifyTestArgs),
}

#[derive(Debug, Args)]
pub struct NotifyStatusArgs {
    /// Print JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct NotifyDispatchArgs {
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct NotifyRemindersArgs {
    /// Pretend it is this time: RFC 3339 (`2026-06-20T18:00:00+05:30`) or
    /// `YYYY-MM-DD HH:MM` in the default studio zone (Asia/Kolkata).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// Show what would be enqueued; write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct NotifyTestArgs {
    /// The user (`users._id` as the app stores it in `device_tokens.user_id`).
    #[arg(long, value_name = "USER_ID")]
    pub user: String,
}
