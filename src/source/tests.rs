use super::*;
use std::path::Path;

const VALID: &str = r#"
[studio]
id = "dna"
name = "DNA"
instagram_link = "https://www.instagram.com/dna/"

[crawl]
start_urls = ["https://www.yoactiv.com/dna"]
follow = '^https://www\.yoactiv\.com/event/[^/]+/\d+/0$'

[slug]
pattern = '/event/(?P<slug>[^/]+)/\d+/0'

[extract.fields]
song = { pattern = '(?i)song\s*:\s*(.+)' }
"#;

fn parse(text: &str) -> Result<Source, SourceErrors> {
    parse_source(Path::new("sources/dna.toml"), text)
}

#[test]
fn valid_file_gets_documented_defaults() {
    let s = parse(VALID).unwrap();
    assert_eq!(s.studio.id, "dna");
    assert_eq!(s.timezone, chrono_tz::Asia::Kolkata);
    assert_eq!(s.crawl.depth, 1);
    assert_eq!(s.crawl.max_pages, 50);
    assert_eq!(s.crawl.host_delay, Duration::from_millis(1000));
    assert!(s.crawl.obey_robots);
    assert_eq!(s.schedule.cron, "0 0 */6 * * *");
    assert_eq!(s.extract.default_event_type, EventType::Workshop);
    assert!(s.extract.song.is_some());
    assert!(s.extract.title.is_none());
}

#[test]
fn allowed_hosts_default_to_start_hosts_and_hosts_named_in_follow() {
    let text = VALID.replace(
        r#"follow = '^https://www\.yoactiv\.com/event/[^/]+/\d+/0$'"#,
        r#"follow = '^https://rzp\.io/rzp/[A-Za-z0-9-]+$'"#,
    );
    let s = parse(&text).unwrap();
    let hosts: Vec<&str> = s.crawl.allowed_hosts.iter().map(String::as_str).collect();
    assert_eq!(hosts, vec!["rzp.io", "www.yoactiv.com"]);
}

#[test]
fn slug_comes_from_named_group_with_case_preserved() {
    let s = parse(VALID).unwrap();
    let url =
        Url::parse("https://www.yoactiv.com/event/Rajesh-Workshop_-21st-june/1071/0").unwrap();
    assert_eq!(s.uuid_for(&url).unwrap(), "dna/Rajesh-Workshop_-21st-june");
}

#[test]
fn slug_defaults_to_last_path_segment() {
    let s = Source::generic("dance.inn.bangalore", chrono_tz::Asia::Kolkata);
    let url = Url::parse("https://rzp.io/rzp/jun-harshk/").unwrap();
    assert_eq!(s.uuid_for(&url).unwrap(), "dance.inn.bangalore/jun-harshk");
}

#[test]
fn invalid_regex_names_file_line_and_key() {
    let text = VALID.replace(r#"[^/]+/\d+/0$'"#, r#"([^/]+/\d+/0$'"#);
    let errs = parse(&text).unwrap_err();
    let line = errs.0[0].to_string();
    assert_eq!(errs.0.len(), 1, "{errs}");
    assert!(
        line.starts_with("sources/dna.toml:9: crawl.follow: invalid regex:"),
        "{line}"
    );
    assert!(line.contains("unclosed group"), "{line}");
}

#[test]
fn every_problem_in_a_file_is_reported_at_once() {
    let text = r#"
[studio]
id = "dna"
name = "DNA"
instagram_link = "https://www.instagram.com/dna/"
timezone = "Mars/Olympus"

[crawl]
start_urls = ["ftp://example.test/x"]
follow = '('
host_concurrency = 0

[extract]
default_event_type = "party"
content_selector = "div[["

[schedule]
cron = "every day"
"#;
    let errs = parse(text).unwrap_err();
    let text = errs.to_string();
    for expected in [
        "sources/dna.toml:6: studio.timezone: unknown time zone `Mars/Olympus`",
        "sources/dna.toml:9: crawl.start_urls: `ftp://example.test/x`: only http and https",
        "sources/dna.toml:10: crawl.follow: invalid regex",
        "sources/dna.toml:11: crawl.host_concurrency: must be at least 1",
        "sources/dna.toml:14: extract.default_event_type: unknown event type `party`",
        "sources/dna.toml:15: extract.content_selector: invalid CSS selector",
        "sources/dna.toml:18: schedule.cron: invalid cron expression `every day`",
    ] {
        assert!(text.contains(expected), "missing `{expected}` in:\n{text}");
    }
    assert_eq!(errs.0.len(), 7, "{text}");
}

#[test]
fn unknown_key_is_an_error_with_its_line() {
    let text = VALID.replace("name = \"DNA\"", "name = \"DNA\"\ncolour = \"red\"");
    let errs = parse(&text).unwrap_err();
    let msg = errs.0[0].to_string();
    assert!(msg.starts_with("sources/dna.toml:5: "), "{msg}");
    assert!(msg.contains("unknown field `colour`"), "{msg}");
}

#[test]
fn studio_id_must_match_file_name() {
    let errs = parse_source(Path::new("sources/other.toml"), VALID).unwrap_err();
    assert!(errs
        .to_string()
        .contains("`dna` does not match the file name `other.toml`"));
}

#[test]
fn load_dir_reports_problems_of_every_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("dna.toml"), VALID).unwrap();
    std::fs::write(dir.path().join("bad1.toml"), "[studio]\nid = \"bad1\"\n").unwrap();
    std::fs::write(
        dir.path().join("bad2.toml"),
        VALID.replace("\"dna\"", "\"bad2\"").replace("0 0", "x"),
    )
    .unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let errs = load_dir(dir.path()).unwrap_err();
    let text = errs.to_string();
    assert!(text.contains("bad1.toml"), "{text}");
    assert!(
        text.contains("missing field `name`") || text.contains("missing field"),
        "{text}"
    );
    assert_eq!(
        errs.0
            .iter()
            .filter(|p| p.path.ends_with("bad1.toml"))
            .count(),
        1
    );
    assert!(!text.contains("dna.toml"), "{text}");
}

#[test]
fn cron_needs_seconds_field() {
    assert!(validate_cron("0 0 */6 * * *").is_ok());
    assert!(validate_cron("*/5 * * * * *").is_ok());
    assert!(validate_cron("0 */6 * * *").is_err());
}

#[test]
fn hosts_in_regex_are_unescaped() {
    assert_eq!(
        hosts_named_in_regex(r"^https://manifest\.twinmenot\.com/workshops/[^/]+$"),
        vec!["manifest.twinmenot.com"]
    );
    assert_eq!(
        hosts_named_in_regex(r"^https?://www\.vinsdanceco\.com/events/"),
        vec!["www.vinsdanceco.com"]
    );
    assert!(hosts_named_in_regex(r"/event/[^/]+").is_empty());
}

#[test]
fn every_unknown_key_of_a_file_is_reported_each_with_line_and_key() {
    let text = VALID
        .replace("name = \"DNA\"", "name = \"DNA\"\ncolour = \"red\"")
        .replace("[slug]", "retries = 3\n\n[slug]");
    let errs = parse(&text).unwrap_err();
    let lines: Vec<String> = errs.0.iter().map(ToString::to_string).collect();
    assert_eq!(lines.len(), 2, "{lines:#?}");
    assert!(
        lines[0].starts_with("sources/dna.toml:5: studio.colour: unknown field `colour`"),
        "{lines:#?}"
    );
    assert!(
        lines[1].starts_with("sources/dna.toml:12: crawl.retries: unknown field `retries`"),
        "{lines:#?}"
    );
}

#[test]
fn a_file_that_is_not_utf8_says_where() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dna.toml");
    let mut bytes = VALID.as_bytes().to_vec();
    // "DNA" with a Latin-1 byte in it (0xe9, é): not UTF-8.
    let at = VALID.find("DNA\"").unwrap();
    bytes[at + 1] = 0xe9;
    std::fs::write(&path, bytes).unwrap();
    let errs = load_file(&path).unwrap_err();
    let line = errs.0[0].to_string();
    assert_eq!(
        line,
        format!(
            "{}:4: not valid UTF-8 (byte 0xe9 at column 10); save the file as UTF-8",
            path.display()
        )
    );
}

#[test]
fn continuation_lines_of_a_long_message_carry_the_location_too() {
    let problem = SourceProblem {
        path: "sources/dna.toml".into(),
        line: Some(7),
        key: "crawl.follow".into(),
        message: "first line\nsecond line\n".into(),
    };
    assert_eq!(
        problem.to_string(),
        "sources/dna.toml:7: crawl.follow: first line\nsources/dna.toml:7: crawl.follow: second line"
    );
}

#[test]
fn css_selector_errors_are_plain_words() {
    let text = VALID.replace(
        "[extract.fields]",
        "[extract]\ncontent_selector = \"main:frobnicate\"\n\n[extract.fields]",
    );
    let errs = parse(&text).unwrap_err();
    let line = errs.to_string();
    assert!(
        line.contains(
            "sources/dna.toml:15: extract.content_selector: invalid CSS selector: `:frobnicate` is not a supported pseudo-class"
        ),
        "{line}"
    );
    assert!(!line.contains("report this"), "{line}");
    assert_eq!(line.lines().count(), 2, "{line}");
}

#[test]
fn default_allowed_hosts_cover_http_ip_hosts_and_ports() {
    let text = VALID
        .replace(
            "https://www.yoactiv.com/dna",
            "http://127.0.0.1:8080/listing",
        )
        .replace(
            r#"'^https://www\.yoactiv\.com/event/[^/]+/\d+/0$'"#,
            r#"'^http://127\.0\.0\.1:8080/event/|^https?://localhost:9/e/'"#,
        );
    let s = parse(&text).unwrap();
    let hosts: Vec<&str> = s.crawl.allowed_hosts.iter().map(String::as_str).collect();
    assert_eq!(hosts, vec!["127.0.0.1", "localhost"]);
    assert!(s
        .crawl
        .host_allowed(&Url::parse("http://127.0.0.1:8080/event/x").unwrap()));
}

#[test]
fn allowed_host_entries_with_ports_are_accepted_and_urls_refused_with_the_fix() {
    let text = VALID.replace(
        "[slug]",
        "allowed_hosts = [\"WWW.yoactiv.com:443\", \"127.0.0.1:8080\", \"[::1]:9\"]\n\n[slug]",
    );
    let s = parse(&text).unwrap();
    let hosts: Vec<&str> = s.crawl.allowed_hosts.iter().map(String::as_str).collect();
    assert_eq!(hosts, vec!["127.0.0.1", "[::1]", "www.yoactiv.com"]);

    let text = VALID.replace(
        "[slug]",
        "allowed_hosts = [\"https://www.yoactiv.com/\"]\n\n[slug]",
    );
    let errs = parse(&text).unwrap_err().to_string();
    assert!(
        errs.contains(
            "sources/dna.toml:11: crawl.allowed_hosts: `https://www.yoactiv.com/`: write the host only, e.g. `www.yoactiv.com`"
        ),
        "{errs}"
    );
    // The start URL's host is then missing from the list: said as such.
    assert!(
        errs.contains("does not list `www.yoactiv.com`, the host of the start URL"),
        "{errs}"
    );
}

#[test]
fn deeply_nested_selectors_are_a_clear_error_not_a_stack_overflow() {
    let deep = format!("{}div{}", ":not(".repeat(3000), ")".repeat(3000));
    let text = format!(
        "{VALID}\n[extract]\ncontent_selector = \"{deep}\"\n\n[extract.fields.title]\nselector = \":is(:not(:is(:not(:is(:not(:is(:not(:is(h1)))))))))\"\n"
    );
    // On a small stack like a daemon task's, so a recursion in the parser would show.
    let errs = std::thread::Builder::new()
        .stack_size(256 * 1024)
        .spawn(move || parse(&text).unwrap_err())
        .unwrap()
        .join()
        .unwrap();
    let msg = errs.to_string();
    assert!(
        msg.contains(
            "extract.content_selector: invalid CSS selector: selector is 18003 bytes long"
        ),
        "{msg}"
    );
    assert!(
        msg.contains("extract.fields.title.selector: invalid CSS selector: selector nests `(…)` 9 levels deep"),
        "{msg}"
    );
    assert_eq!(errs.0.len(), 2, "{msg}");
}

#[test]
fn selector_nesting_is_counted_outside_quoted_strings() {
    assert_eq!(
        selector_complexity_problem(r#"a[title="((((((((((("]"#),
        None
    );
    assert_eq!(selector_complexity_problem(":not(:is(.a, .b)) > p"), None);
    let nine = format!("{}a{}", ":not(".repeat(9), ")".repeat(9));
    assert!(selector_complexity_problem(&nine).is_some());
    let short_but_deep = format!("{}a{}", "(".repeat(200), ")".repeat(200));
    assert!(selector_complexity_problem(&short_but_deep).is_some_and(|p| p.contains("200 levels")));
}

#[test]
fn a_studio_without_an_http_instagram_link_is_refused_naming_file_and_key() {
    let missing = VALID.replace("instagram_link = \"https://www.instagram.com/dna/\"\n", "");
    let errs = parse(&missing).unwrap_err();
    let msg = errs.to_string();
    assert!(
        msg.contains("sources/dna.toml:2: studio.instagram_link: missing"),
        "{msg}"
    );
    let not_http = VALID.replace("https://www.instagram.com/dna/", "instagram.com/dna");
    let msg = parse(&not_http).unwrap_err().to_string();
    assert!(
        msg.contains(
            "sources/dna.toml:5: studio.instagram_link: `instagram.com/dna` is not an http(s) URL"
        ),
        "{msg}"
    );
    assert_eq!(parse(&not_http).unwrap_err().0.len(), 1);
}
