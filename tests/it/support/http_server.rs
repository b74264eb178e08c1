//! A scripted HTTP/1.1 server on `127.0.0.1:0` for tests.
//!
//! ```ignore
//! let server = TestServer::start().await;
//! server.route("/page", Reply::ok("<h1>hi</h1>"));
//! server.route_seq("/flaky", [Reply::status(500), Reply::ok("fine")]);
//! let url = server.url("/page");
//! // … fetch …
//! assert_eq!(server.paths(), ["/page"]);
//! ```
//!
//! Each path answers with its replies in order; the last one repeats. An unknown path is
//! a 404. Replies can be delayed, trickle their body, omit `Content-Length` (body ends
//! when the connection closes), or close / reset the connection instead of answering.
//! Every request is recorded (order, path, headers, arrival time), and the server keeps
//! the highest number of requests it was answering at once.

use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use url::Url;

/// What the server does with one request.
#[derive(Debug, Clone)]
pub struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    delay: Duration,
    trickle: Option<(usize, Duration)>,
    content_length: bool,
    /// Reset the connection after this many body bytes.
    reset_after: Option<usize>,
    action: Action,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Respond,
    /// Close the connection without a response.
    Close,
    /// Reset the connection (RST) without a response.
    Reset,
}

impl Reply {
    /// 200 with an HTML body (`text/html; charset=utf-8`).
    pub fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply::status(200)
            .header("Content-Type", "text/html; charset=utf-8")
            .body(body)
    }

    /// This status with an empty body and no headers.
    pub fn status(status: u16) -> Reply {
        Reply {
            status,
            headers: Vec::new(),
            body: Vec::new(),
            delay: Duration::ZERO,
            trickle: None,
            content_length: true,
            reset_after: None,
            action: Action::Respond,
        }
    }

    /// A redirect (301, 302, 303, 307, 308) to `location`.
    pub fn redirect(status: u16, location: &str) -> Reply {
        Reply::status(status).header("Location", location)
    }

    /// Closes the connection after reading the request, without answering.
    pub fn close() -> Reply {
        Reply {
            action: Action::Close,
            ..Reply::status(0)
        }
    }

    /// Resets the connection after reading the request, without answering.
    pub fn reset() -> Reply {
        Reply {
            action: Action::Reset,
            ..Reply::status(0)
        }
    }

    pub fn header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_string(), value.to_string()));
        self
    }

    /// Replaces any `Content-Type` header.
    pub fn content_type(mut self, value: &str) -> Reply {
        self.headers
            .retain(|(n, _)| !n.eq_ignore_ascii_case("content-type"));
        self.header("Content-Type", value)
    }

    pub fn body(mut self, body: impl Into<Vec<u8>>) -> Reply {
        self.body = body.into();
        self
    }

    /// Waits this long before sending anything.
    pub fn delay(mut self, delay: Duration) -> Reply {
        self.delay = delay;
        self
    }

    /// Sends the headers at once, then the body `chunk` bytes at a time, `every` apart.
    pub fn trickle(mut self, chunk: usize, every: Duration) -> Reply {
        self.trickle = Some((chunk.max(1), every));
        self
    }

    /// Sends the headers (with the full `Content-Length`) and the first `bytes` of the
    /// body, then resets the connection: a connection dropped mid-body.
    pub fn reset_after(mut self, bytes: usize) -> Reply {
        self.reset_after = Some(bytes);
        self
    }

    /// No `Content-Length`: the body ends when the server closes the connection.
    pub fn without_content_length(mut self) -> Reply {
        self.content_length = false;
        self
    }
}

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// 0-based arrival order across all paths.
    pub seq: usize,
    pub method: String,
    /// Path and query, as sent.
    pub path: String,
    /// Header names lower-cased, in the order sent.
    pub headers: Vec<(String, String)>,
    pub at: Instant,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[derive(Default)]
struct State {
    routes: Mutex<HashMap<String, VecDeque<Reply>>>,
    requests: Mutex<Vec<RecordedRequest>>,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
}

impl State {
    fn next_reply(&self, path: &str) -> Reply {
        let mut routes = self.routes.lock().unwrap();
        let bare = path.split('?').next().unwrap_or(path);
        let queue = match routes.contains_key(path) {
            true => routes.get_mut(path),
            false => routes.get_mut(bare),
        };
        match queue {
            Some(q) if q.len() > 1 => q.pop_front().expect("non-empty"),
            Some(q) => q.front().cloned().expect("routes are never empty"),
            None => Reply::status(404)
                .header("Content-Type", "text/plain")
                .body("no route"),
        }
    }
}

/// The running server; stops when dropped.
pub struct TestServer {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

impl TestServer {
    /// Binds `127.0.0.1:0` and starts serving.
    pub async fn start() -> TestServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local addr");
        let state = Arc::new(State::default());
        let accept = tokio::spawn({
            let state = state.clone();
            async move {
                while let Ok((stream, _)) = listener.accept().await {
                    tokio::spawn(serve_connection(stream, state.clone()));
                }
            }
        });
        TestServer {
            addr,
            state,
            accept,
        }
    }

    /// Answers `path` (with or without query; an exact path-and-query route wins) with
    /// `reply` every time.
    pub fn route(&self, path: &str, reply: Reply) -> &Self {
        self.route_seq(path, [reply])
    }

    /// Answers `path` with these replies in order, repeating the last.
    pub fn route_seq(&self, path: &str, replies: impl IntoIterator<Item = Reply>) -> &Self {
        let replies: VecDeque<Reply> = replies.into_iter().collect();
        assert!(!replies.is_empty(), "a route needs at least one reply");
        self.state
            .routes
            .lock()
            .unwrap()
            .insert(path.to_string(), replies);
        self
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1`, the host to allow.
    pub fn host(&self) -> String {
        self.addr.ip().to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The absolute URL of `path` on this server.
    pub fn url(&self, path: &str) -> Url {
        Url::parse(&format!("{}{}", self.base(), path)).expect("valid test URL")
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.state.requests.lock().unwrap().clone()
    }

    /// The paths of every request so far, in arrival order.
    pub fn paths(&self) -> Vec<String> {
        self.requests().into_iter().map(|r| r.path).collect()
    }

    /// Requests whose path (query ignored) is `path`.
    pub fn requests_to(&self, path: &str) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.path == path || r.path.split('?').next() == Some(path))
            .collect()
    }

    pub fn hits(&self, path: &str) -> usize {
        self.requests_to(path).len()
    }

    /// The most requests the server was answering at the same time.
    pub fn max_concurrent(&self) -> usize {
        self.state.max_in_flight.load(Ordering::SeqCst)
    }
}

/// Counts a request as in flight until dropped.
struct InFlight<'a>(&'a State);

impl<'a> InFlight<'a> {
    fn enter(state: &'a State) -> InFlight<'a> {
        let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        state.max_in_flight.fetch_max(now, Ordering::SeqCst);
        InFlight(state)
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn serve_connection(mut stream: TcpStream, state: Arc<State>) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let Some(head_end) = read_head(&mut stream, &mut buf).await else {
            return;
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        buf.drain(..head_end + 4);
        let mut lines = head.split("\r\n");
        let mut first = lines.next().unwrap_or("").split_whitespace();
        let method = first.next().unwrap_or("").to_string();
        let path = first.next().unwrap_or("/").to_string();
        let headers: Vec<(String, String)> = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        // Discard a request body, if any.
        let body_len = headers
            .iter()
            .find(|(n, _)| n == "content-length")
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .unwrap_or(0);
        while buf.len() < body_len {
            let mut chunk = [0u8; 4096];
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
        buf.drain(..body_len);
        let client_closes = headers
            .iter()
            .any(|(n, v)| n == "connection" && v.eq_ignore_ascii_case("close"));

        let _in_flight = InFlight::enter(&state);
        {
            let mut requests = state.requests.lock().unwrap();
            let seq = requests.len();
            requests.push(RecordedRequest {
                seq,
                method,
                path: path.clone(),
                headers,
                at: Instant::now(),
            });
        }
        let reply = state.next_reply(&path);
        if !reply.delay.is_zero() {
            tokio::time::sleep(reply.delay).await;
        }
        match reply.action {
            Action::Close => {
                let _ = stream.shutdown().await;
                return;
            }
            Action::Reset => {
                let _ = stream.set_zero_linger();
                return;
            }
            Action::Respond => {}
        }
        if write_reply(&mut stream, &reply).await.is_err() {
            return;
        }
        if reply.reset_after.is_some() {
            let _ = stream.set_zero_linger();
            return;
        }
        if !reply.content_length || client_closes {
            let _ = stream.shutdown().await;
            return;
        }
    }
}

/// Reads until a full request head is buffered; returns the offset of its `\r\n\r\n`.
async fn read_head(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<usize> {
    loop {
        if let Some(pos) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            return Some(pos);
        }
        let mut chunk = [0u8; 4096];
        match stream.read(&mut chunk).await {
            Ok(0) | Err(_) => return None,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
        }
    }
}

async fn write_reply(stream: &mut TcpStream, reply: &Reply) -> std::io::Result<()> {
    let mut head = format!("HTTP/1.1 {} {}\r\n", reply.status, reason(reply.status));
    for (name, value) in &reply.headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    let has = |h: &str| reply.headers.iter().any(|(n, _)| n.eq_ignore_ascii_case(h));
    let bodyless = reply.status == 304 || reply.status == 204;
    if reply.content_length && !has("content-length") && !bodyless {
        head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
    }
    if !reply.content_length {
        head.push_str("Connection: close\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await?;
    if bodyless {
        return stream.flush().await;
    }
    if let Some(n) = reply.reset_after {
        stream
            .write_all(&reply.body[..n.min(reply.body.len())])
            .await?;
        return stream.flush().await;
    }
    match reply.trickle {
        None => stream.write_all(&reply.body).await?,
        Some((size, every)) => {
            for chunk in reply.body.chunks(size) {
                stream.write_all(chunk).await?;
                stream.flush().await?;
                tokio::time::sleep(every).await;
            }
        }
    }
    stream.flush().await
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        204 => "No Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        400 => "Bad Request",
        404 => "Not Found",
        408 => "Request Timeout",
        410 => "Gone",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        _ => "Status",
    }
}
