//! `nachna-ingest check`: validate every source file, report every problem.

use crate::cli::{CheckArgs, GlobalArgs};
use crate::source;
use std::process::ExitCode;

pub fn run(global: &GlobalArgs, _args: CheckArgs) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    let dir = settings.sources_dir;
    match source::load_dir(&dir) {
        Ok(sources) => {
            for s in &sources {
                println!(
                    "{}: ok ({} start URL(s), schedule `{}`{})",
                    s.path.display(),
                    s.crawl.start_urls.len(),
                    s.schedule.cron,
                    if s.schedule.enabled { "" } else { ", disabled" }
                );
            }
            println!("{} source file(s) valid", sources.len());
            Ok(ExitCode::SUCCESS)
        }
        Err(errs) => {
            for problem in &errs.0 {
                println!("{problem}");
            }
            eprintln!("{} problem(s) found", errs.0.len());
            Ok(ExitCode::from(1))
        }
    }
}
