//! The HTTP side: `/metrics` (or the configured path), a landing page at `/`, `/-/healthy`
//! and `/-/ready`, served by hyper 1.x until a shutdown future completes.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use prometheus::Registry;
use tokio::net::{TcpListener, TcpSocket};
use tokio::sync::{Semaphore, mpsc};

use crate::metrics::{encode_families, encode_text};
use crate::tail::checkpoint::Saver;
use crate::web_config::{Auth, WebConfig, WebConfigSource};

/// Connections served at once; more wait in the kernel's accept queue.
pub const MAX_CONNECTIONS: usize = 512;
/// On shutdown, open connections get this long to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What the handlers need.
pub struct WebState {
    /// The registry `/metrics` encodes.
    pub registry: Registry,
    /// The metrics path, e.g. `/metrics`.
    pub telemetry_path: String,
    /// Whether the first pass over every log directory that exists is done, and each could
    /// be read at the last pass (`/-/ready`). A directory that does not exist does not count.
    pub ready: Arc<AtomicBool>,
    /// With `--tail.state-file`: saves the offsets that match each scrape before it is sent.
    pub saver: Option<Arc<Saver>>,
    /// TLS, authentication, headers and rate limit (`--web.config.file`).
    pub web: Arc<WebConfigSource>,
    /// A client must complete its TLS handshake, and send its request headers, within this
    /// time (10 s by default).
    pub read_header_timeout: Duration,
}

/// Binds a listen address: `host:port`, or `:port` for every interface (IPv6 and IPv4
/// where the system allows one socket for both, else IPv4).
pub async fn bind(address: &str) -> anyhow::Result<TcpListener> {
    let fail = |e: std::io::Error| {
        anyhow::anyhow!(
            "cannot listen on {address}: {e}; stop what uses that port or choose another with --web.listen-address"
        )
    };
    if let Some(port) = address.strip_prefix(':') {
        let port: u16 = port.parse().map_err(|_| {
            anyhow::anyhow!("bad --web.listen-address {address:?}: write host:port or :port")
        })?;
        return match listen(SocketAddr::from(([0u16; 8], port))) {
            Ok(l) => Ok(l),
            Err(_) => listen(SocketAddr::from(([0u8; 4], port))).map_err(fail),
        };
    }
    if !address.contains(':') {
        anyhow::bail!("bad --web.listen-address {address:?}: write host:port or :port");
    }
    let mut last = None;
    for addr in tokio::net::lookup_host(address).await.map_err(fail)? {
        match listen(addr) {
            Ok(l) => return Ok(l),
            Err(e) => last = Some(e),
        }
    }
    Err(fail(last.unwrap_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::NotFound,
            "the host resolves to no address",
        )
    })))
}

/// Pending connections the kernel may queue before `accept`: the usual 128 makes a burst of
/// a few hundred scrapers wait for SYN retransmits (a second or more).
const LISTEN_BACKLOG: u32 = 1024;

fn listen(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    // As `TcpListener::bind` does: a restart may reuse the port while old connections linger.
    #[cfg(unix)]
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(LISTEN_BACKLOG)
}

/// Serves HTTP on `listeners` until `shutdown` completes, then lets open requests finish
/// for up to [`SHUTDOWN_GRACE`].
pub async fn serve(
    listeners: Vec<TcpListener>,
    state: Arc<WebState>,
    shutdown: impl Future<Output = ()>,
) {
    let (tx, mut rx) = mpsc::channel(64);
    let mut acceptors = Vec::new();
    for listener in listeners {
        let tx = tx.clone();
        acceptors.push(tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok(conn) => {
                        if tx.send(conn).await.is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: wait instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }));
    }
    drop(tx);
    state.web.spawn_reloader();
    let limit = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            conn = rx.recv() => match conn { Some(c) => c, None => break },
            () = &mut shutdown => break,
        };
        // The semaphore is never closed, so acquiring only waits.
        let Ok(permit) = limit.clone().acquire_owned().await else {
            break;
        };
        let config = state.web.current();
        let state = state.clone();
        let watcher = graceful.watcher();
        tokio::spawn(async move {
            match config.tls.clone() {
                None => serve_connection(stream, state, config, watcher).await,
                Some(tls) => {
                    let acceptor = tokio_rustls::TlsAcceptor::from(tls.server);
                    match tokio::time::timeout(state.read_header_timeout, acceptor.accept(stream))
                        .await
                    {
                        Ok(Ok(tls_stream)) => {
                            serve_connection(tls_stream, state, config, watcher).await
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
            drop(permit);
        });
    }
    for a in acceptors {
        a.abort();
    }
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::info!("connections still open at shutdown were closed");
    }
}

/// Serves HTTP/1.1 on one connection (plain or TLS) until it closes.
async fn serve_connection<S>(
    stream: S,
    state: Arc<WebState>,
    config: Arc<WebConfig>,
    watcher: hyper_util::server::graceful::Watcher,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let timeout = state.read_header_timeout;
    let service = service_fn(move |req| {
        let (state, config) = (state.clone(), config.clone());
        async move { Ok::<_, Infallible>(respond(req, &state, config).await) }
    });
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}

/// Applies the rate limit and authentication, routes, and adds the configured headers.
async fn respond(
    req: Request<Incoming>,
    state: &WebState,
    config: Arc<WebConfig>,
) -> Response<Full<Bytes>> {
    let mut r = if !state.web.take_request() {
        response(
            StatusCode::TOO_MANY_REQUESTS,
            "text/plain; charset=utf-8",
            "Too many requests.\n",
        )
    } else if config.needs_auth() {
        let header = req.headers().get(hyper::header::AUTHORIZATION);
        let auth = state
            .web
            .authorize(&config, header.map(HeaderValue::as_bytes))
            .await;
        if auth == Auth::Allowed {
            handle(&req, state).await
        } else {
            let mut r = response(
                StatusCode::UNAUTHORIZED,
                "text/plain; charset=utf-8",
                "Unauthorized.\n",
            );
            r.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"xmail_exporter\""),
            );
            r
        }
    } else {
        handle(&req, state).await
    };
    for (name, value) in &config.headers {
        r.headers_mut().insert(name.clone(), value.clone());
    }
    r
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

async fn handle(req: &Request<Incoming>, state: &WebState) -> Response<Full<Bytes>> {
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut r = response(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "Method not allowed.\n",
        );
        r.headers_mut()
            .insert(hyper::header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let path = req.uri().path();
    if path == state.telemetry_path {
        return metrics(state).await;
    }
    match path {
        "/" => response(
            StatusCode::OK,
            "text/html; charset=utf-8",
            landing_page(&state.telemetry_path),
        ),
        "/-/healthy" => response(StatusCode::OK, "text/plain; charset=utf-8", "Healthy.\n"),
        "/-/ready" if state.ready.load(Ordering::Relaxed) => {
            response(StatusCode::OK, "text/plain; charset=utf-8", "Ready.\n")
        }
        "/-/ready" => response(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            "Not ready: the log directories have not been read yet, or one exists but cannot be read (see the exporter's log).\n",
        ),
        _ => response(
            StatusCode::NOT_FOUND,
            "text/plain; charset=utf-8",
            "Not found.\n",
        ),
    }
}

async fn metrics(state: &WebState) -> Response<Full<Bytes>> {
    let Some(saver) = state.saver.clone() else {
        return response(StatusCode::OK, TEXT_FORMAT, encode_text(&state.registry));
    };
    let registry = state.registry.clone();
    let saved = tokio::task::spawn_blocking(move || {
        saver.gather_and_save(&registry).map_err(|e| (e, saver))
    })
    .await;
    match saved {
        Ok(Ok(families)) => response(StatusCode::OK, TEXT_FORMAT, encode_families(&families)),
        Ok(Err((e, saver))) => {
            let msg = format!(
                "cannot save the state file {}: {e}; metrics are not served until it can be written (check the disk and the directory's permissions)",
                saver.path().display()
            );
            tracing::error!("{msg}");
            response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                msg + "\n",
            )
        }
        Err(e) => response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!("{e}\n"),
        ),
    }
}

fn landing_page(metrics_path: &str) -> String {
    let path = html_escape(metrics_path);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>XMail Exporter</title></head>\n\
         <body>\n<h1>XMail Exporter</h1>\n<p>Prometheus metrics from XMail SMTP/SMAIL and Nmail webmail logs.</p>\n\
         <ul>\n<li><a href=\"{path}\">Metrics</a></li>\n<li><a href=\"/-/healthy\">Health</a></li>\n\
         <li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n<p>Version {} (revision {})</p>\n</body>\n</html>\n",
        crate::VERSION,
        crate::REVISION
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
