//! The health server: `/healthz` (the process answers), `/readyz` (MongoDB answers a
//! ping, the scheduler's heartbeat is fresh, and we are not stopping) and `/metrics`
//! (Prometheus text). Plain HTTP/1.1 on a configurable address, loopback by default.

use crate::metrics;
use crate::store::Store;
use http_body_util::Full;
use hyper::body::Bytes;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info};

/// What `/readyz` looks at.
pub trait Readiness: Send + Sync + 'static {
    /// Empty when ready; otherwise the reasons it is not.
    fn scheduler_problem(&self) -> Option<String>;
    fn stopping(&self) -> bool;
}

pub struct HealthState {
    pub store: Store,
    pub readiness: Arc<dyn Readiness>,
}

/// Parses `daemon.health_address`: `off` (no server) or `ip:port`.
pub fn parse_address(text: &str) -> Result<Option<SocketAddr>, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("off") || t.is_empty() {
        return Ok(None);
    }
    t.parse::<SocketAddr>().map(Some).map_err(|e| {
        format!(
            "daemon.health_address `{t}`: {e} (expected ip:port such as 127.0.0.1:9464, or `off`)"
        )
    })
}

/// Binds the address (so a port in use fails start-up) and serves until `stop` fires.
pub async fn serve(
    addr: SocketAddr,
    state: Arc<HealthState>,
    stop: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    info!(address = %bound, "health server listening (/healthz, /readyz, /metrics)");
    let task = tokio::spawn(async move {
        loop {
            let (stream, _) = tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok(a) => a,
                    Err(err) => { debug!(error = %err, "accept failed"); continue; }
                },
                _ = stop.cancelled() => break,
            };
            let state = state.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let state = state.clone();
                    async move { Ok::<_, Infallible>(route(&state, req).await) }
                });
                if let Err(err) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    debug!(error = %err, "health connection ended");
                }
            });
        }
    });
    Ok((bound, task))
}

fn text(status: StatusCode, content_type: &str, body: String) -> Response<Full<Bytes>> {
    Response::builder()
        .status(status)
        .header("Content-Type", content_type)
        .body(Full::new(Bytes::from(body)))
        .expect("static response parts")
}

async fn route(state: &HealthState, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return text(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain",
            "GET only\n".into(),
        );
    }
    match req.uri().path() {
        "/healthz" => text(StatusCode::OK, "text/plain", "ok\n".into()),
        "/readyz" => {
            let mut problems = Vec::new();
            if state.readiness.stopping() {
                problems.push("shutting down".to_string());
            }
            if let Some(p) = state.readiness.scheduler_problem() {
                problems.push(p);
            }
            let ping = tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await;
            match ping {
                Ok(Ok(_)) => {}
                Ok(Err(err)) => problems.push(format!("MongoDB ping failed: {err}")),
                Err(_) => problems.push("MongoDB ping timed out after 2 s".into()),
            }
            if problems.is_empty() {
                text(StatusCode::OK, "text/plain", "ready\n".into())
            } else {
                text(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "text/plain",
                    format!("not ready: {}\n", problems.join("; ")),
                )
            }
        }
        "/metrics" => text(
            StatusCode::OK,
            "text/plain; version=0.0.4; charset=utf-8",
            metrics::render(),
        ),
        _ => text(StatusCode::NOT_FOUND, "text/plain", "not found\n".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_address_accepts_off_and_ip_port_only() {
        assert_eq!(parse_address("off").unwrap(), None);
        assert_eq!(
            parse_address("127.0.0.1:9464").unwrap(),
            Some("127.0.0.1:9464".parse().unwrap())
        );
        let err = parse_address("localhost").unwrap_err();
        assert!(err.contains("daemon.health_address"), "{err}");
    }
}
