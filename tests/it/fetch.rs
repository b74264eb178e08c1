//! The fetch layer against a scripted local server (127.0.0.1 only) and a replay
//! manifest in a temporary directory.

use crate::support::http_server::{Reply, TestServer};
use nachna_ingest::fetch::{
    FetchError, FetchOutcome, FetchSettings, FetchedPage, Fetcher, HostPolicy, PageRequest,
    Validators,
};
use sha2::Digest;
use std::collections::BTreeSet;
use std::time::Duration;
use url::Url;

/// Small limits so failures are quick.
fn settings() -> FetchSettings {
    FetchSettings {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(2),
        max_redirects: 5,
        max_body_bytes: 64 * 1024,
        max_attempts: 3,
        backoff_base: Duration::from_millis(10),
        backoff_max: Duration::from_secs(2),
        ..FetchSettings::default()
    }
}

fn fetcher() -> Fetcher {
    Fetcher::new(settings()).expect("client builds")
}

fn hosts(list: &[&str]) -> BTreeSet<String> {
    list.iter().map(|h| h.to_string()).collect()
}

fn local() -> BTreeSet<String> {
    hosts(&["127.0.0.1"])
}

const NO_DELAY: HostPolicy = HostPolicy {
    min_delay: Duration::ZERO,
    concurrency: 8,
};

fn request<'a>(url: &'a Url, allowed: &'a BTreeSet<String>) -> PageRequest<'a> {
    PageRequest {
        url,
        validators: None,
        policy: NO_DELAY,
        obey_robots: false,
        allowed_hosts: allowed,
    }
}

async fn get(fetcher: &Fetcher, url: &Url) -> Result<FetchOutcome, FetchError> {
    let allowed = local();
    fetcher.fetch(&request(url, &allowed)).await
}

async fn get_robots(fetcher: &Fetcher, url: &Url) -> Result<FetchOutcome, FetchError> {
    let allowed = local();
    let req = PageRequest {
        obey_robots: true,
        ..request(url, &allowed)
    };
    fetcher.fetch(&req).await
}

fn page(outcome: Result<FetchOutcome, FetchError>) -> FetchedPage {
    match outcome {
        Ok(FetchOutcome::Fetched(page)) => page,
        Ok(other) => panic!("expected a page, got {other:?}"),
        Err(err) => panic!("expected a page, got error: {err}"),
    }
}

fn error(outcome: Result<FetchOutcome, FetchError>) -> FetchError {
    match outcome {
        Ok(other) => panic!("expected an error, got {other:?}"),
        Err(err) => err,
    }
}

// ---------------------------------------------------------------- plain pages

#[tokio::test]
async fn fetches_a_200_page_with_its_hash_and_our_user_agent() {
    let server = TestServer::start().await;
    let html = "<html><body><h1>Bollywood Workshop</h1></body></html>";
    server.route("/event", Reply::ok(html));
    let url = server.url("/event");

    let page = page(get(&fetcher(), &url).await);

    assert_eq!(page.status, 200);
    assert_eq!(page.text, html);
    assert_eq!(page.requested_url, url);
    assert_eq!(page.final_url, url);
    assert_eq!(page.bytes, html.len());
    assert_eq!(page.attempts, 1);
    assert_eq!(page.charset, "UTF-8");
    assert!(!page.decode_had_errors);
    assert_eq!(
        page.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(
        page.body_sha256,
        hex::encode(sha2::Sha256::digest(html.as_bytes()))
    );
    assert_eq!(page.validators, Validators::default());
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(
        requests[0].header("user-agent"),
        Some(FetchSettings::default().user_agent.as_str())
    );
    assert!(requests[0].header("if-none-match").is_none());
}

#[tokio::test]
async fn malformed_html_is_still_returned_as_text() {
    let server = TestServer::start().await;
    let broken = "<div><p>Unclosed <b>tags<table><tr><td>₹ 1,200</div></html><<<";
    server.route("/broken", Reply::ok(broken));

    let page = page(get(&fetcher(), &server.url("/broken")).await);

    assert_eq!(page.text, broken);
}

#[tokio::test]
async fn etag_and_last_modified_are_captured() {
    let server = TestServer::start().await;
    server.route(
        "/event",
        Reply::ok("<p>x</p>")
            .header("ETag", "\"v42\"")
            .header("Last-Modified", "Wed, 21 Oct 2015 07:28:00 GMT"),
    );

    let page = page(get(&fetcher(), &server.url("/event")).await);

    assert_eq!(
        page.validators,
        Validators {
            etag: Some("\"v42\"".into()),
            last_modified: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
        }
    );
}

#[tokio::test]
async fn conditional_get_with_validators_gives_not_modified_on_304() {
    let server = TestServer::start().await;
    server.route("/event", Reply::status(304).header("ETag", "\"v42\""));
    let url = server.url("/event");
    let validators = Validators {
        etag: Some("\"v42\"".into()),
        last_modified: Some("Wed, 21 Oct 2015 07:28:00 GMT".into()),
    };
    let allowed = local();
    let req = request(&url, &allowed).with_validators(Some(&validators));

    let outcome = fetcher().fetch(&req).await.expect("304 is not an error");

    match outcome {
        FetchOutcome::NotModified { url: got } => assert_eq!(got, url),
        other => panic!("expected NotModified, got {other:?}"),
    }
    let requests = server.requests();
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].header("if-none-match"), Some("\"v42\""));
    assert_eq!(
        requests[0].header("if-modified-since"),
        Some("Wed, 21 Oct 2015 07:28:00 GMT")
    );
}

// ---------------------------------------------------------------- size cap

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[tokio::test]
async fn a_gzip_body_is_decompressed_and_hashed_as_decompressed() {
    let server = TestServer::start().await;
    let html = "<p>compressed workshop page</p>".repeat(20);
    server.route(
        "/gz",
        Reply::ok(gzip(html.as_bytes())).header("Content-Encoding", "gzip"),
    );

    let page = page(get(&fetcher(), &server.url("/gz")).await);

    assert_eq!(page.text, html);
    assert_eq!(page.bytes, html.len());
    assert_eq!(
        page.body_sha256,
        hex::encode(sha2::Sha256::digest(html.as_bytes()))
    );
    let accept = server.requests()[0]
        .header("accept-encoding")
        .unwrap_or("")
        .to_string();
    assert!(accept.contains("gzip"), "{accept}");
}

#[tokio::test]
async fn the_cap_applies_to_the_decompressed_body() {
    let server = TestServer::start().await;
    let bomb = gzip(&vec![b' '; 1024 * 1024]);
    assert!(bomb.len() < 8 * 1024);
    server.route("/bomb", Reply::ok(bomb).header("Content-Encoding", "gzip"));
    let fetcher = Fetcher::new(FetchSettings {
        max_body_bytes: 64 * 1024,
        ..settings()
    })
    .unwrap();

    let err = error(get(&fetcher, &server.url("/bomb")).await);

    assert!(
        matches!(err, FetchError::TooLarge { limit: 65536, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn body_over_the_cap_is_refused_by_content_length() {
    let server = TestServer::start().await;
    server.route("/big", Reply::ok(vec![b'a'; 4096]));
    let url = server.url("/big");
    let fetcher = Fetcher::new(FetchSettings {
        max_body_bytes: 1024,
        ..settings()
    })
    .unwrap();

    let err = error(get(&fetcher, &url).await);

    assert_eq!(err.kind(), "too_large");
    let msg = err.to_string();
    assert!(msg.starts_with(url.as_str()), "{msg}");
    assert!(msg.contains("1024-byte limit"), "{msg}");
    assert!(msg.contains("Content-Length says 4096 bytes"), "{msg}");
    assert_eq!(server.hits("/big"), 1, "a size failure is not retried");
}

#[tokio::test]
async fn body_over_the_cap_without_content_length_is_cut_off_while_reading() {
    let server = TestServer::start().await;
    server.route(
        "/big",
        Reply::ok(vec![b'a'; 256 * 1024]).without_content_length(),
    );
    let url = server.url("/big");
    let fetcher = Fetcher::new(FetchSettings {
        max_body_bytes: 1024,
        ..settings()
    })
    .unwrap();

    let err = error(get(&fetcher, &url).await);

    assert!(
        matches!(err, FetchError::TooLarge { limit: 1024, .. }),
        "{err:?}"
    );
    let msg = err.to_string();
    assert!(msg.contains("1024-byte limit"), "{msg}");
    assert!(msg.contains("stopped reading after"), "{msg}");
    assert!(msg.contains(url.as_str()), "{msg}");
}

// ---------------------------------------------------------------- charsets

#[tokio::test]
async fn iso_8859_1_declared_in_the_header_is_decoded() {
    let server = TestServer::start().await;
    server.route(
        "/latin1",
        Reply::ok(&b"<p>Caf\xe9 Na\xefve \xa9 2026</p>"[..])
            .content_type("text/html; charset=ISO-8859-1"),
    );

    let page = page(get(&fetcher(), &server.url("/latin1")).await);

    assert_eq!(page.text, "<p>Café Naïve © 2026</p>");
    assert_eq!(page.charset, "windows-1252");
    assert!(!page.decode_had_errors);
}

#[tokio::test]
async fn windows_1252_declared_in_a_meta_tag_is_decoded() {
    let server = TestServer::start().await;
    let body = b"<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\"></head><body>\x93Hauli Slowly\x94 \x80500</body></html>";
    server.route("/cp1252", Reply::ok(&body[..]).content_type("text/html"));

    let page = page(get(&fetcher(), &server.url("/cp1252")).await);

    assert!(
        page.text
            .ends_with("<body>\u{201c}Hauli Slowly\u{201d} €500</body></html>"),
        "{}",
        page.text
    );
    assert_eq!(page.charset, "windows-1252");
}

#[tokio::test]
async fn invalid_utf8_without_a_declaration_is_replaced_and_flagged() {
    let server = TestServer::start().await;
    server.route(
        "/bad",
        Reply::ok(&b"<p>Price \xff\xfe 500</p>"[..]).content_type("text/html"),
    );

    let page = page(get(&fetcher(), &server.url("/bad")).await);

    assert_eq!(page.text, "<p>Price \u{fffd}\u{fffd} 500</p>");
    assert!(page.decode_had_errors);
    assert_eq!(page.charset, "UTF-8");
    assert_eq!(page.bytes, 19);
}

#[tokio::test]
async fn an_unknown_declared_charset_falls_back_to_utf8() {
    let server = TestServer::start().await;
    server.route(
        "/odd",
        Reply::ok("<p>₹ 800</p>").content_type("text/html; charset=klingon-8"),
    );

    let page = page(get(&fetcher(), &server.url("/odd")).await);

    assert_eq!(page.text, "<p>₹ 800</p>");
    assert!(!page.decode_had_errors);
}

#[tokio::test]
async fn a_binary_media_type_is_a_decode_error() {
    let server = TestServer::start().await;
    server.route(
        "/poster.png",
        Reply::ok(&b"\x89PNG\r\n\x1a\n"[..]).content_type("image/png"),
    );

    let err = error(get(&fetcher(), &server.url("/poster.png")).await);

    assert_eq!(err.kind(), "decode");
    assert!(err.to_string().contains("image/png"), "{err}");
}

// ---------------------------------------------------------------- statuses and retries

#[tokio::test]
async fn status_404_is_not_retried() {
    let server = TestServer::start().await;
    let url = server.url("/gone");

    let err = error(get(&fetcher(), &url).await);

    assert_eq!(err.kind(), "http_4xx");
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.attempts(), 1);
    assert_eq!(err.to_string(), format!("{url}: HTTP 404"));
    assert_eq!(server.hits("/gone"), 1);
}

#[tokio::test]
async fn status_500_then_200_is_retried_once() {
    let server = TestServer::start().await;
    server.route_seq(
        "/flaky",
        [Reply::status(500), Reply::ok("<p>second time lucky</p>")],
    );

    let page = page(get(&fetcher(), &server.url("/flaky")).await);

    assert_eq!(page.text, "<p>second time lucky</p>");
    assert_eq!(page.attempts, 2);
    assert_eq!(server.hits("/flaky"), 2);
}

#[tokio::test]
async fn persistent_503_gives_up_after_max_attempts() {
    let server = TestServer::start().await;
    server.route("/down", Reply::status(503));
    let url = server.url("/down");

    let err = error(get(&fetcher(), &url).await);

    assert!(
        matches!(err, FetchError::RetriesExhausted { attempts: 3, .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), "http_5xx");
    assert_eq!(err.status(), Some(503));
    assert_eq!(server.hits("/down"), 3);
}

#[tokio::test]
async fn status_429_with_retry_after_is_honoured() {
    let server = TestServer::start().await;
    server.route_seq(
        "/busy",
        [
            Reply::status(429).header("Retry-After", "1"),
            Reply::ok("<p>ok</p>"),
        ],
    );

    let page = page(get(&fetcher(), &server.url("/busy")).await);

    assert_eq!(page.attempts, 2);
    let requests = server.requests_to("/busy");
    assert_eq!(requests.len(), 2);
    let waited = requests[1].at - requests[0].at;
    assert!(
        waited >= Duration::from_secs(1),
        "retried after {waited:?}, before Retry-After: 1"
    );
}

#[tokio::test]
async fn a_server_slower_than_the_timeout_fails_with_timeout_after_max_attempts() {
    let server = TestServer::start().await;
    server.route(
        "/slow",
        Reply::ok("<p>late</p>").delay(Duration::from_secs(5)),
    );
    let url = server.url("/slow");
    let fetcher = Fetcher::new(FetchSettings {
        request_timeout: Duration::from_millis(300),
        max_attempts: 2,
        ..settings()
    })
    .unwrap();

    let err = error(get(&fetcher, &url).await);

    assert_eq!(err.kind(), "timeout");
    assert!(
        matches!(err, FetchError::RetriesExhausted { attempts: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(url.as_str()), "{err}");
    assert_eq!(server.hits("/slow"), 2);
}

#[tokio::test]
async fn a_body_that_trickles_past_the_timeout_is_a_timeout() {
    let server = TestServer::start().await;
    server.route(
        "/drip",
        Reply::ok("0123456789").trickle(1, Duration::from_millis(100)),
    );
    let fetcher = Fetcher::new(FetchSettings {
        request_timeout: Duration::from_millis(300),
        max_attempts: 1,
        ..settings()
    })
    .unwrap();

    let err = error(get(&fetcher, &server.url("/drip")).await);

    assert_eq!(err.kind(), "timeout");
    assert_eq!(server.hits("/drip"), 1);
}

#[tokio::test]
async fn a_connection_closed_without_response_is_retried() {
    let server = TestServer::start().await;
    server.route_seq("/hangup", [Reply::close(), Reply::ok("<p>back</p>")]);

    let page = page(get(&fetcher(), &server.url("/hangup")).await);

    assert_eq!(page.text, "<p>back</p>");
    assert_eq!(page.attempts, 2);
    assert_eq!(server.hits("/hangup"), 2);
}

#[tokio::test]
async fn a_connection_reset_is_retried() {
    let server = TestServer::start().await;
    server.route_seq("/rst", [Reply::reset(), Reply::ok("<p>back</p>")]);

    let page = page(get(&fetcher(), &server.url("/rst")).await);

    assert_eq!(page.attempts, 2);
    assert_eq!(server.hits("/rst"), 2);
}

#[tokio::test]
async fn a_connection_dropped_mid_body_is_retried_not_a_decode_error() {
    let server = TestServer::start().await;
    let body = format!("<p>{}</p>", "workshop ".repeat(3_000));
    server.route_seq(
        "/cut",
        [
            Reply::ok(body.clone()).reset_after(1000),
            Reply::ok(body.clone()),
        ],
    );

    let page = page(get(&fetcher(), &server.url("/cut")).await);

    assert_eq!(page.attempts, 2);
    assert_eq!(page.text, body);
    assert_eq!(server.hits("/cut"), 2);
}

#[tokio::test]
async fn a_body_dropped_mid_way_on_every_attempt_is_a_transport_failure() {
    let server = TestServer::start().await;
    let body = format!("<p>{}</p>", "workshop ".repeat(3_000));
    server.route("/cut", Reply::ok(body).reset_after(1000));
    let fetcher = Fetcher::new(FetchSettings {
        max_attempts: 2,
        ..settings()
    })
    .unwrap();

    let err = error(get(&fetcher, &server.url("/cut")).await);

    assert_eq!(err.kind(), "transport", "{err}");
    assert_eq!(err.attempts(), 2);
    assert!(!err.to_string().contains("decoded"), "{err}");
}

#[tokio::test]
async fn a_binary_body_served_as_html_is_refused_by_sniffing() {
    let server = TestServer::start().await;
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    png.extend(std::iter::repeat_n(0u8, 2000));
    server.route("/img", Reply::ok(png));

    let err = error(get(&fetcher(), &server.url("/img")).await);

    assert_eq!(err.kind(), "decode", "{err}");
    assert!(err.to_string().contains("a PNG image"), "{err}");
    assert_eq!(server.hits("/img"), 1, "a binary body is not retried");
}

#[tokio::test]
async fn a_refused_connection_is_a_connect_error() {
    // A socket bound but not listening: the port stays ours, and connecting is refused.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    let url = Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
    let fetcher = Fetcher::new(FetchSettings {
        max_attempts: 2,
        ..settings()
    })
    .unwrap();

    let err = error(get(&fetcher, &url).await);

    assert_eq!(err.kind(), "connect");
    assert_eq!(err.attempts(), 2);
    drop(socket);
}

// ---------------------------------------------------------------- redirects and hosts

#[tokio::test]
async fn a_redirect_is_followed_and_the_final_url_kept() {
    let server = TestServer::start().await;
    server.route("/old", Reply::redirect(301, "/new"));
    server.route("/new", Reply::ok("<p>moved</p>"));
    let url = server.url("/old");

    let page = page(get(&fetcher(), &url).await);

    assert_eq!(page.requested_url, url);
    assert_eq!(page.final_url, server.url("/new"));
    assert_eq!(page.text, "<p>moved</p>");
    assert_eq!(page.attempts, 1);
    assert_eq!(server.paths(), ["/old", "/new"]);
}

#[tokio::test]
async fn a_redirect_loop_is_an_error() {
    let server = TestServer::start().await;
    server.route("/a", Reply::redirect(302, "/b"));
    server.route("/b", Reply::redirect(302, "/a"));

    let err = error(get(&fetcher(), &server.url("/a")).await);

    assert!(matches!(err, FetchError::RedirectLoop { .. }), "{err:?}");
    assert_eq!(err.kind(), "redirects");
    assert_eq!(server.paths(), ["/a", "/b"], "not retried");
}

#[tokio::test]
async fn too_many_redirects_is_an_error() {
    let server = TestServer::start().await;
    for i in 0..10 {
        server.route(
            &format!("/r{i}"),
            Reply::redirect(307, &format!("/r{}", i + 1)),
        );
    }
    let fetcher = Fetcher::new(FetchSettings {
        max_redirects: 3,
        ..settings()
    })
    .unwrap();

    let err = error(get(&fetcher, &server.url("/r0")).await);

    assert!(
        matches!(err, FetchError::TooManyRedirects { limit: 3, .. }),
        "{err:?}"
    );
    assert_eq!(server.paths(), ["/r0", "/r1", "/r2", "/r3"]);
}

#[tokio::test]
async fn a_redirect_to_a_host_not_allowed_is_not_followed() {
    let server = TestServer::start().await;
    // Same server, other host name: a request would show up in the log.
    let elsewhere = format!("http://localhost:{}/landing", server.port());
    server.route("/go", Reply::redirect(302, &elsewhere));
    server.route("/landing", Reply::ok("<p>should not be fetched</p>"));

    let err = error(get(&fetcher(), &server.url("/go")).await);

    assert!(
        matches!(err, FetchError::RedirectNotAllowed { .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), "not_allowed");
    let msg = err.to_string();
    assert!(msg.contains("`localhost`"), "{msg}");
    assert!(msg.contains("[127.0.0.1]"), "{msg}");
    assert_eq!(server.paths(), ["/go"]);
}

#[tokio::test]
async fn a_url_on_a_host_not_allowed_is_never_requested() {
    let server = TestServer::start().await;
    server.route("/page", Reply::ok("<p>x</p>"));
    let url = server.url("/page");
    let allowed = hosts(&["studio.example", "rzp.io"]);

    let err = error(fetcher().fetch(&request(&url, &allowed)).await);

    assert_eq!(err.kind(), "not_allowed");
    assert_eq!(
        err.to_string(),
        format!(
            "{url}: host `127.0.0.1` is not in this source's allowed hosts [rzp.io, studio.example]; add it to `crawl.allowed_hosts` if it should be crawled"
        )
    );
    assert!(server.requests().is_empty());
}

#[tokio::test]
async fn a_non_http_scheme_is_refused() {
    let url = Url::parse("ftp://127.0.0.1/schedule.html").unwrap();

    let err = error(get(&fetcher(), &url).await);

    assert_eq!(err.kind(), "scheme");
    assert!(err.to_string().contains("`ftp`"), "{err}");
}

// ---------------------------------------------------------------- robots.txt

#[tokio::test]
async fn robots_disallow_blocks_the_page_without_requesting_it() {
    let server = TestServer::start().await;
    server.route(
        "/robots.txt",
        Reply::ok("User-agent: *\nDisallow: /private\n").content_type("text/plain"),
    );
    server.route("/private/event", Reply::ok("<p>secret</p>"));
    server.route("/public/event", Reply::ok("<p>open</p>"));
    let fetcher = fetcher();

    let err = error(get_robots(&fetcher, &server.url("/private/event")).await);
    let open = page(get_robots(&fetcher, &server.url("/public/event")).await);

    assert!(
        matches!(err, FetchError::RobotsDisallowed { .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), "robots");
    assert_eq!(open.text, "<p>open</p>");
    assert_eq!(
        server.paths(),
        ["/robots.txt", "/public/event"],
        "robots.txt asked once, the disallowed page never"
    );
}

#[tokio::test]
async fn robots_rules_for_our_agent_beat_the_star_group() {
    let server = TestServer::start().await;
    server.route(
        "/robots.txt",
        Reply::ok("User-agent: *\nDisallow: /\n\nUser-agent: nachna-ingest\nAllow: /\n")
            .content_type("text/plain"),
    );
    server.route("/event", Reply::ok("<p>ok</p>"));

    let page = page(get_robots(&fetcher(), &server.url("/event")).await);

    assert_eq!(page.text, "<p>ok</p>");
}

#[tokio::test]
async fn robots_5xx_disallows_the_whole_host() {
    let server = TestServer::start().await;
    server.route("/robots.txt", Reply::status(503));
    server.route("/event", Reply::ok("<p>x</p>"));

    let err = error(get_robots(&fetcher(), &server.url("/event")).await);

    assert!(
        matches!(err, FetchError::RobotsUnreachable { .. }),
        "{err:?}"
    );
    assert_eq!(err.kind(), "robots");
    assert!(err.to_string().contains("HTTP 503"), "{err}");
    assert_eq!(server.hits("/event"), 0);
    assert_eq!(
        server.hits("/robots.txt"),
        3,
        "robots.txt is retried like a page"
    );
}

#[tokio::test]
async fn robots_404_allows_everything() {
    let server = TestServer::start().await;
    server.route("/event", Reply::ok("<p>x</p>"));

    let page = page(get_robots(&fetcher(), &server.url("/event")).await);

    assert_eq!(page.text, "<p>x</p>");
    assert_eq!(server.paths(), ["/robots.txt", "/event"]);
}

#[tokio::test]
async fn robots_is_not_asked_when_the_source_does_not_obey_it() {
    let server = TestServer::start().await;
    server.route("/robots.txt", Reply::ok("User-agent: *\nDisallow: /\n"));
    server.route("/event", Reply::ok("<p>x</p>"));

    let page = page(get(&fetcher(), &server.url("/event")).await);

    assert_eq!(page.text, "<p>x</p>");
    assert_eq!(server.paths(), ["/event"]);
}

#[tokio::test]
async fn robots_is_checked_for_redirect_targets() {
    let server = TestServer::start().await;
    server.route(
        "/robots.txt",
        Reply::ok("User-agent: *\nDisallow: /admin\n").content_type("text/plain"),
    );
    server.route("/event", Reply::redirect(302, "/admin/login"));
    server.route("/admin/login", Reply::ok("<p>login</p>"));

    let err = error(get_robots(&fetcher(), &server.url("/event")).await);

    assert!(
        matches!(err, FetchError::RobotsDisallowed { .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("/admin/login"), "{err}");
    assert_eq!(server.paths(), ["/robots.txt", "/event"]);
}

// ---------------------------------------------------------------- politeness

#[tokio::test]
async fn per_host_concurrency_cap_holds_across_clones() {
    let server = TestServer::start().await;
    server.route(
        "/slow",
        Reply::ok("<p>x</p>").delay(Duration::from_millis(150)),
    );
    let fetcher = fetcher();
    let allowed = local();
    let urls: Vec<Url> = (0..6)
        .map(|i| server.url(&format!("/slow?i={i}")))
        .collect();

    let results = futures::future::join_all(urls.iter().map(|url| {
        let fetcher = fetcher.clone();
        let allowed = &allowed;
        async move {
            let req = PageRequest {
                policy: HostPolicy {
                    min_delay: Duration::ZERO,
                    concurrency: 2,
                },
                ..request(url, allowed)
            };
            fetcher.fetch(&req).await
        }
    }))
    .await;

    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    assert_eq!(server.hits("/slow"), 6);
    assert_eq!(server.max_concurrent(), 2);
}

#[tokio::test]
async fn per_host_min_delay_spaces_request_starts() {
    let server = TestServer::start().await;
    server.route("/page", Reply::ok("<p>x</p>"));
    let fetcher = fetcher();
    let allowed = local();
    let urls: Vec<Url> = (0..3)
        .map(|i| server.url(&format!("/page?i={i}")))
        .collect();
    let began = tokio::time::Instant::now();

    let results = futures::future::join_all(urls.iter().map(|url| {
        let req = PageRequest {
            policy: HostPolicy {
                min_delay: Duration::from_millis(200),
                concurrency: 4,
            },
            ..request(url, &allowed)
        };
        let fetcher = fetcher.clone();
        async move { fetcher.fetch(&req).await }
    }))
    .await;

    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    let requests = server.requests();
    assert_eq!(requests.len(), 3);
    // The k-th request cannot start before k delays have passed. (Gaps between arrival
    // times would also include scheduling noise, so bound each arrival from the start.)
    for (k, r) in requests.iter().enumerate() {
        let after = r.at - began;
        assert!(
            after >= Duration::from_millis(200) * k as u32,
            "request {k} arrived {after:?} after the fetches began"
        );
    }
}

#[tokio::test]
async fn two_sources_on_one_host_get_the_stricter_policy() {
    let server = TestServer::start().await;
    server.route("/page", Reply::ok("<p>x</p>"));
    let url = server.url("/page");
    let allowed = local();
    let fetcher = fetcher();
    let lenient = HostPolicy {
        min_delay: Duration::from_millis(10),
        concurrency: 4,
    };
    let strict = HostPolicy {
        min_delay: Duration::from_millis(50),
        concurrency: 1,
    };

    for policy in [lenient, strict, lenient] {
        let req = PageRequest {
            policy,
            ..request(&url, &allowed)
        };
        page(fetcher.fetch(&req).await);
    }

    assert_eq!(fetcher.host_policy("127.0.0.1"), Some(strict));
}

// ---------------------------------------------------------------- replay

fn replay_dir(manifest: &str, files: &[(&str, &[u8])]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("manifest.toml"), manifest).unwrap();
    for (name, body) in files {
        let path = dir.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, body).unwrap();
    }
    dir
}

const MANIFEST: &str = r#"
[[page]]
url = "https://studio.example/events"
file = "studio/listing.html"

[[page]]
url = "https://studio.example/events/Hauli-Slowly"
file = "studio/event.html"
content_type = "text/html; charset=windows-1252"

[[page]]
url = "https://studio.example/sold-out"
file = "studio/listing.html"
status = 410
"#;

fn replay_fixture() -> tempfile::TempDir {
    replay_dir(
        MANIFEST,
        &[
            ("studio/listing.html", b"<ul><li>Event</li></ul>"),
            ("studio/event.html", b"<h1>Caf\xe9 Workshop</h1>"),
        ],
    )
}

async fn replay_get(
    fetcher: &Fetcher,
    url: &str,
    obey_robots: bool,
) -> Result<FetchOutcome, FetchError> {
    let url = Url::parse(url).unwrap();
    let allowed = hosts(&["studio.example"]);
    let req = PageRequest {
        obey_robots,
        ..request(&url, &allowed)
    };
    fetcher.fetch(&req).await
}

#[tokio::test]
async fn replay_serves_manifest_pages() {
    let dir = replay_fixture();
    let fetcher = Fetcher::replay(dir.path()).unwrap();

    let listing = page(replay_get(&fetcher, "https://studio.example/events", true).await);
    let event =
        page(replay_get(&fetcher, "https://studio.example/events/Hauli-Slowly", true).await);

    assert!(fetcher.is_replay());
    assert_eq!(listing.text, "<ul><li>Event</li></ul>");
    assert_eq!(listing.status, 200);
    assert_eq!(
        listing.content_type.as_deref(),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(listing.final_url.as_str(), "https://studio.example/events");
    assert_eq!(
        listing.body_sha256,
        hex::encode(sha2::Sha256::digest(b"<ul><li>Event</li></ul>"))
    );
    assert_eq!(event.text, "<h1>Café Workshop</h1>");
}

#[tokio::test]
async fn replay_answers_unknown_urls_and_listed_error_statuses_with_http_errors() {
    let dir = replay_fixture();
    let fetcher = Fetcher::replay(dir.path()).unwrap();

    let unknown = error(replay_get(&fetcher, "https://studio.example/nope", false).await);
    let gone = error(replay_get(&fetcher, "https://studio.example/sold-out", false).await);

    assert_eq!(unknown.status(), Some(404));
    assert_eq!(unknown.to_string(), "https://studio.example/nope: HTTP 404");
    assert_eq!(gone.status(), Some(410));
}

#[tokio::test]
async fn replay_still_enforces_allowed_hosts_and_the_size_cap() {
    let dir = replay_fixture();
    let fetcher = Fetcher::replay_with(
        dir.path(),
        FetchSettings {
            max_body_bytes: 10,
            ..settings()
        },
    )
    .unwrap();
    let url = Url::parse("https://studio.example/events").unwrap();

    let other_host = error(
        fetcher
            .fetch(&request(&url, &hosts(&["other.example"])))
            .await,
    );
    let too_big = error(replay_get(&fetcher, "https://studio.example/events", false).await);

    assert_eq!(other_host.kind(), "not_allowed");
    assert_eq!(too_big.kind(), "too_large");
    assert!(too_big.to_string().contains("10-byte limit"), "{too_big}");
}

#[tokio::test]
async fn replay_obeys_a_listed_robots_txt() {
    let manifest = format!(
        "{MANIFEST}\n[[page]]\nurl = \"https://studio.example/robots.txt\"\nfile = \"studio/robots.txt\"\ncontent_type = \"text/plain\"\n"
    );
    let dir = replay_dir(
        &manifest,
        &[
            ("studio/listing.html", b"<ul></ul>"),
            ("studio/event.html", b"<h1>x</h1>"),
            ("studio/robots.txt", b"User-agent: *\nDisallow: /events/\n"),
        ],
    );
    let fetcher = Fetcher::replay(dir.path()).unwrap();

    let listing = replay_get(&fetcher, "https://studio.example/events", true).await;
    let blocked =
        error(replay_get(&fetcher, "https://studio.example/events/Hauli-Slowly", true).await);
    let ignored = replay_get(
        &fetcher,
        "https://studio.example/events/Hauli-Slowly",
        false,
    )
    .await;

    assert!(listing.is_ok(), "{listing:?}");
    assert_eq!(blocked.kind(), "robots");
    assert!(ignored.is_ok(), "{ignored:?}");
}

#[tokio::test]
async fn replay_without_a_manifest_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();

    let err = Fetcher::replay(dir.path()).unwrap_err();

    assert_eq!(err.kind(), "replay");
    let msg = err.to_string();
    assert!(msg.contains("manifest.toml"), "{msg}");
    assert!(msg.contains("cannot read"), "{msg}");
}

#[tokio::test]
async fn replay_with_a_missing_file_is_an_error_naming_it() {
    let dir = replay_dir(MANIFEST, &[("studio/listing.html", b"<ul></ul>")]);

    let err = Fetcher::replay(dir.path()).unwrap_err();

    assert_eq!(err.kind(), "replay");
    assert!(err.to_string().contains("studio/event.html"), "{err}");
}

/// issue 9: an unreachable host was reported as a robots.txt problem, its cause cut
/// off. Now the error says the host could not be reached, and why.
#[tokio::test]
async fn an_unreachable_host_is_said_to_be_unreachable_with_its_cause() {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = socket.local_addr().unwrap().port();
    let url = Url::parse(&format!("http://127.0.0.1:{port}/x")).unwrap();
    let fetcher = Fetcher::new(FetchSettings {
        max_attempts: 1,
        ..settings()
    })
    .unwrap();

    let err = error(get_robots(&fetcher, &url).await).to_string();

    assert!(
        err.starts_with(&format!("{url}: the host could not be reached: ")),
        "{err}"
    );
    assert!(
        err.to_ascii_lowercase().contains("connection refused"),
        "{err}"
    );
    drop(socket);
}
