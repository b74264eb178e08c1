//! `nachna-ingest check`: validate every source file, report every problem.

use crate::cli::{CheckArgs, GlobalArgs};
use crate::source;
use std::process::ExitCode;

pub fn run(global: &GlobalArgs, _args: CheckArgs) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    let dir = settings.sources_dir;
    match source::load_dir(&dir) {
        Ok(sources) if sources.is_empty() => {
            println!("{}", no_sources_problem(&dir));
            eprintln!("1 problem(s) found");
            Ok(ExitCode::from(1))
        }
        Ok(sources) => {
            let samples = sample_urls(&dir);
            for s in &sources {
                println!(
                    "{}: ok ({} start URL(s), schedule `{}`{})",
                    s.path.display(),
                    s.crawl.start_urls.len(),
                    s.schedule.cron,
                    if s.schedule.enabled { "" } else { ", disabled" }
                );
                let mut urls = s.crawl.start_urls.clone();
                urls.extend(samples.iter().cloned());
                for w in crate::extract::slug_warnings(s, &urls) {
                    println!("{}: slug.pattern: warning: {w}", s.path.display());
                }
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

/// Event URLs to try each source's `[slug]` on: the URLs of the saved-page manifest
/// beside the sources directory (`<sources>/../fixtures/manifest.toml`, where "Adding a
/// studio" saves a new studio's pages), when there is one.
fn sample_urls(sources_dir: &std::path::Path) -> Vec<url::Url> {
    #[derive(serde::Deserialize)]
    struct Manifest {
        #[serde(default)]
        page: Vec<Page>,
    }
    #[derive(serde::Deserialize)]
    struct Page {
        url: String,
    }
    let path = sources_dir
        .parent()
        .unwrap_or(std::path::Path::new("."))
        .join("fixtures/manifest.toml");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    toml::from_str::<Manifest>(&text)
        .map(|m| {
            m.page
                .iter()
                .filter_map(|p| url::Url::parse(&p.url).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// An empty sources directory is a mistake (a mistyped `--sources`, files named
/// `.tml`), not a valid configuration with nothing to do: the daemon would run nothing.
fn no_sources_problem(dir: &std::path::Path) -> String {
    let others: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok())
                .filter(|e| e.path().is_file())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        })
        .unwrap_or_default();
    let mut text = format!(
        "{}: no source files: a studio is described by one `<studio_id>.toml` file in this directory",
        dir.display()
    );
    if !others.is_empty() {
        let shown: Vec<&str> = others.iter().take(5).map(String::as_str).collect();
        text.push_str(&format!(
            " (found {}{}, not ending in .toml)",
            shown.join(", "),
            if others.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        ));
    }
    text
}
