//! `nachna-ingest`: parse the command line, set up logging, run one command, map the
//! result to an exit code. Everything else lives in the library.

use clap::Parser;
use nachna_ingest::cli::{Cli, Command};
use nachna_ingest::commands;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // `run` sets up logging itself, once its settings (log format and level) are read.
    if !matches!(cli.command, Command::Run(_)) {
        commands::init_tracing(cli.global.log_format);
    }
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.command {
            Command::Ingest(args) => commands::ingest::run(&cli.global, args).await,
            Command::Extract(args) => commands::extract::run(&cli.global, args).await,
            Command::Check(args) => commands::check::run(&cli.global, args),
            Command::Notify(cmd) => commands::notify::run(&cli.global, cmd).await,
            Command::Run(args) => commands::run::run(&cli.global, args).await,
            Command::Trigger(args) => commands::trigger::run(&cli.global, args).await,
            Command::Status(args) => commands::status::run(&cli.global, args).await,
            Command::Review(args) => commands::review::run(&cli.global, args).await,
            Command::Adopt(args) => commands::adopt::run(&cli.global, args).await,
        }
    });
    match result {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::from(2)
        }
    }
}
