//! `nachna-ingest extract`: one page through extraction and normalisation, printed.

use crate::artist::ArtistDirectory;
use crate::cli::{ExtractArgs, GlobalArgs};
use crate::extract::{self, ExtractInput, PageVerdict};
use crate::source::Source;
use anyhow::{bail, Context};
use std::process::ExitCode;
use url::Url;

pub async fn run(global: &GlobalArgs, args: ExtractArgs) -> anyhow::Result<ExitCode> {
    let settings = super::load_settings(global)?;
    let source = match &args.studio {
        Some(id) => {
            let path = settings.sources_dir.join(format!("{id}.toml"));
            crate::source::load_file(&path).map_err(|e| anyhow::anyhow!("{e}"))?
        }
        None => Source::generic("unknown", args.tz),
    };
    let (html, page_url) = read_input(&settings, &source, &args).await?;
    let artists = match &args.artists {
        Some(path) => ArtistDirectory::new(crate::app::read_artists_file(path)?),
        None => ArtistDirectory::default(),
    };
    let today = args.today.unwrap_or_else(|| {
        chrono::Utc::now()
            .with_timezone(&source.timezone)
            .date_naive()
    });
    let verdict = extract::extract_page(&ExtractInput {
        page_url: &page_url,
        html: &html,
        source: &source,
        artists: &artists,
        today,
    });
    let found = match verdict {
        PageVerdict::Workshops(found) => found,
        PageVerdict::NotAWorkshop { reason } => {
            eprintln!("not a workshop: {reason}");
            if args.json {
                print_out("[]\n")?;
            }
            return Ok(ExitCode::SUCCESS);
        }
    };
    for w in found
        .first()
        .map(|e| e.warnings.as_slice())
        .unwrap_or_default()
    {
        eprintln!("warning: {w}");
    }
    if page_url.scheme() == "file" {
        eprintln!(
            "note: no --page-url, so the uuid and payment_link below are placeholders made \
             from the file's path; pass --page-url with the page's real address to see them"
        );
    }
    if args.artists.is_none() {
        eprintln!(
            "note: no --artists FILE, so no artist is matched (extract never reads artists_v2)"
        );
    }
    let mut out = String::new();
    if args.json {
        let docs: Vec<_> = found.iter().map(|e| &e.draft).collect();
        out.push_str(&serde_json::to_string_pretty(&docs)?);
        out.push('\n');
        print_out(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    for e in &found {
        out.push_str(&serde_json::to_string_pretty(&e.draft)?);
        out.push('\n');
        out.push_str(&format!("  title: {}\n", e.title.as_deref().unwrap_or("-")));
        out.push_str(&format!("  signature: {}\n", e.draft.signature()));
        let confidence = crate::extract::confidence::assess(&e.provenance);
        out.push_str(&format!("  confidence: {}\n", confidence.verdict));
        for why in &confidence.weak {
            out.push_str(&format!(
                "    weak: {why} (held for review instead of announced)\n"
            ));
        }
        out.push_str("  where each field came from:\n");
        for p in &e.provenance {
            out.push_str(&format!(
                "    {:<14} {:<8} {}\n",
                p.field,
                format!("{:?}", p.layer).to_lowercase(),
                p.detail
            ));
        }
        if !e.unknown_artists.is_empty() {
            out.push_str(&format!(
                "  unknown artists: {}\n",
                e.unknown_artists.join(", ")
            ));
        }
    }
    print_out(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Writes command output to stdout. A reader that went away (`extract … | head`) is
/// not an error: the rest of the output is simply not wanted.
fn print_out(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context("writing to stdout")),
    }
}

async fn read_input(
    settings: &crate::settings::Settings,
    source: &Source,
    args: &ExtractArgs,
) -> anyhow::Result<(String, Url)> {
    if args.input.starts_with("http://") || args.input.starts_with("https://") {
        let url = Url::parse(&args.input).with_context(|| format!("invalid URL {}", args.input))?;
        let fetcher = crate::app::build_fetcher(settings, None)?;
        let mut hosts = source.crawl.allowed_hosts.clone();
        hosts.extend(url.host_str().map(str::to_string));
        let request = crate::fetch::PageRequest {
            url: &url,
            validators: None,
            policy: crate::fetch::HostPolicy {
                min_delay: source.crawl.host_delay,
                concurrency: 1,
            },
            obey_robots: true,
            allowed_hosts: &hosts,
        };
        match fetcher.fetch(&request).await? {
            crate::fetch::FetchOutcome::Fetched(page) => Ok((page.text, url)),
            crate::fetch::FetchOutcome::NotModified { .. } => bail!("{url}: unexpected 304"),
        }
    } else {
        let bytes =
            std::fs::read(&args.input).with_context(|| format!("reading {}", args.input))?;
        let html = String::from_utf8_lossy(&bytes).into_owned();
        let page_url = match &args.page_url {
            Some(u) => Url::parse(u).with_context(|| format!("invalid --page-url {u}"))?,
            None => {
                let abs = std::fs::canonicalize(&args.input)?;
                Url::from_file_path(&abs)
                    .map_err(|_| anyhow::anyhow!("cannot make a URL of {}", abs.display()))?
            }
        };
        Ok((html, page_url))
    }
}
