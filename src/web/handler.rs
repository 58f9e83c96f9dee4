//! What each request gets: the rate limit and basic authentication of the web config in
//! force when the request arrives, the routes, the configured headers, and for `/metrics`
//! the scrape with the state-file commit its response carries ([`Reply`]).
//!
//! Connections, limits and timeouts are [`super::conn`]'s; the checkpoint itself is
//! [`crate::tail::checkpoint::Saver`]'s.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::auth::basic_user;
use super::conn::{Commit, Conn};
use super::console::{self, Client, Console, Refusal};
use super::format::WebConfig;
use super::reload::{Auth, WebConfigSource};
use crate::metrics::{encode_families, encode_text};
use crate::tail::checkpoint::Pending;
use crate::tail::checkpoint::Saver;

const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A response body of one chunk. When hyper takes that chunk, it tells the connection,
/// which runs the body's commit once the bytes are written to the socket; a body that is
/// never sent (a HEAD request, a connection that fails first) drops its commit.
pub struct Reply {
    data: Option<Bytes>,
    conn: Option<Arc<Conn>>,
    commit: Option<Commit>,
}

impl Reply {
    fn new(data: Bytes) -> Reply {
        Reply {
            data: (!data.is_empty()).then_some(data),
            conn: None,
            commit: None,
        }
    }

    /// Reports to `conn` when the body is handed to hyper.
    pub fn sent_on(&mut self, conn: Arc<Conn>) {
        self.conn = Some(conn);
    }
}

impl From<Bytes> for Reply {
    fn from(data: Bytes) -> Reply {
        Reply::new(data)
    }
}

impl hyper::body::Body for Reply {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let this = self.get_mut();
        let Some(data) = this.data.take() else {
            return Poll::Ready(None);
        };
        if let Some(conn) = this.conn.take() {
            conn.body_ended(this.commit.take());
        }
        Poll::Ready(Some(Ok(Frame::data(data))))
    }

    fn is_end_stream(&self) -> bool {
        self.data.is_none()
    }

    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.data.as_ref().map_or(0, |d| d.len() as u64))
    }
}

/// What the handlers need.
pub struct WebState {
    /// The registry `/metrics` encodes.
    pub registry: prometheus::Registry,
    /// The metrics path, e.g. `/metrics`.
    pub telemetry_path: String,
    /// Whether the first pass over every log directory that exists is done, and each could
    /// be read at the last pass (`/-/ready`). A directory that does not exist does not count.
    pub ready: Arc<AtomicBool>,
    /// With `--tail.state-file`: saves the offsets that match each scrape once it was sent.
    pub saver: Option<Arc<Saver>>,
    /// TLS, authentication, headers and rate limit (`--web.config.file`).
    pub web: Arc<WebConfigSource>,
    /// A client must complete its TLS handshake, and send its request headers, within this
    /// time (10 s by default); it also bounds the wait between keep-alive requests.
    pub read_header_timeout: Duration,
    /// A connection whose response makes no progress for this long is closed
    /// (`--web.write-timeout`, 10 s by default).
    pub write_timeout: Duration,
    /// The gather in progress or last done, shared by the scrapes that wait for it.
    pub gathers: Gathers,
    /// The mail desk, with `--web.enable-console`.
    pub console: Option<Arc<Console>>,
}

/// Applies the rate limit and authentication, routes, and adds the configured headers, all
/// from the web config in force now (a reload applies to open connections too).
pub async fn respond(req: Request<Incoming>, client: Client, state: &WebState) -> Response<Reply> {
    let config = state.web.current();
    let console = state
        .console
        .as_ref()
        .filter(|_| console::is_console_path(req.uri().path()));
    let mut r = if !state.web.take_request() {
        closing(response(
            StatusCode::TOO_MANY_REQUESTS,
            "text/plain; charset=utf-8",
            "Too many requests.\n",
        ))
    } else if let Some(console) = console {
        desk(&req, client, console, &config, state).await
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
            closing(r)
        }
    } else {
        handle(&req, state).await
    };
    // The configured headers, except where the response set its own (the mail desk's
    // stricter Content-Security-Policy and X-Frame-Options stay).
    for (name, value) in &config.headers {
        if !r.headers().contains_key(name) {
            r.headers_mut().insert(name.clone(), value.clone());
        }
    }
    r
}

/// The mail desk: its own access rules (a console user, loopback over plain HTTP), then its
/// answer.
async fn desk(
    req: &Request<Incoming>,
    client: Client,
    console: &Arc<Console>,
    config: &WebConfig,
    state: &WebState,
) -> Response<Reply> {
    let accept_language = req
        .headers()
        .get(hyper::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let lang = console::request_lang(req.uri(), accept_language);
    if req.method() != Method::GET && req.method() != Method::HEAD {
        return handle(req, state).await;
    }
    let header = req.headers().get(hyper::header::AUTHORIZATION);
    let verified = if config.needs_auth() && header.is_some() {
        let auth = state
            .web
            .authorize(config, header.map(HeaderValue::as_bytes))
            .await;
        (auth == Auth::Allowed)
            .then(|| header.and_then(|h| basic_user(h.as_bytes())))
            .flatten()
    } else {
        None
    };
    if let Err(why) = console.admit(client, config.needs_auth(), verified.as_deref()) {
        let mut r: Response<Reply> = console::refused(req.uri().path(), lang, &why).into_response();
        if why == Refusal::Unauthenticated {
            r.headers_mut().insert(
                hyper::header::WWW_AUTHENTICATE,
                HeaderValue::from_static(
                    "Basic realm=\"xmail_exporter mail desk\", charset=\"UTF-8\"",
                ),
            );
        }
        return closing(r);
    }
    console::answer(console, req.uri(), lang)
        .await
        .into_response()
}

/// Ends the connection after this response (hyper closes when it says so): a refused
/// client does not keep a connection to try again on.
fn closing(mut r: Response<Reply>) -> Response<Reply> {
    r.headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    r
}

fn response(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Reply> {
    let mut r = Response::new(Reply::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

async fn handle(req: &Request<Incoming>, state: &WebState) -> Response<Reply> {
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

/// One gather at a time: a scrape uses the first gather that started after it arrived, so
/// a crowd of scrapes (hundreds of pipelined requests, say) costs a few gathers, not one
/// each, and no scrape waits behind more than two.
#[derive(Default)]
pub struct Gathers {
    last: tokio::sync::Mutex<Option<Arc<Gathered>>>,
}

struct Gathered {
    started: Instant,
    outcome: Result<(Bytes, Option<Arc<Pending>>), Failure>,
}

enum Failure {
    /// The state file cannot be written (the error, without the path).
    Save(String),
    /// The gather itself failed (logged).
    Internal,
}

/// The first gather that started at or after `arrived`.
async fn gathered(state: &WebState, arrived: Instant) -> Arc<Gathered> {
    let mut last = state.gathers.last.lock().await;
    if let Some(g) = last.as_ref().filter(|g| g.started >= arrived) {
        return g.clone();
    }
    let started = Instant::now();
    let registry = state.registry.clone();
    let saver = state.saver.clone();
    // Gathering and encoding run off the async threads.
    let outcome = tokio::task::spawn_blocking(move || match saver {
        None => Ok((Bytes::from(encode_text(&registry)), None)),
        Some(saver) => match saver.gather(&registry) {
            Ok((families, pending)) => Ok((
                Bytes::from(encode_families(&families)),
                pending.map(Arc::new),
            )),
            Err(e) => {
                tracing::error!(
                    "cannot save the state file {}: {e}; metrics are not served until it can be written (check the disk and the directory's permissions)",
                    saver.path().display()
                );
                Err(Failure::Save(e.to_string()))
            }
        },
    })
    .await
    .unwrap_or_else(|e| {
        tracing::error!(error = %e, "the scrape failed");
        Err(Failure::Internal)
    });
    let g = Arc::new(Gathered { started, outcome });
    *last = Some(g.clone());
    g
}

/// The scrape. With a state file, its snapshot is committed once the response is written
/// (see [`crate::tail::checkpoint::Saver`]).
async fn metrics(state: &WebState) -> Response<Reply> {
    let g = gathered(state, Instant::now()).await;
    match &g.outcome {
        Ok((text, pending)) => {
            let mut r = response(StatusCode::OK, TEXT_FORMAT, text.clone());
            if let (Some(p), Some(saver)) = (pending.clone(), state.saver.clone()) {
                r.body_mut().commit = Some(Box::new(move || {
                    if let Err(e) = saver.commit(&p) {
                        tracing::error!(
                            "cannot save the state file {}: {e}; the next scrape saves it before it is answered, and gets an error while it cannot (check the disk and the directory's permissions)",
                            saver.path().display()
                        );
                    }
                }));
            }
            r
        }
        // The path stays in the log: the client may be anyone.
        Err(Failure::Save(e)) => response(
            StatusCode::INTERNAL_SERVER_ERROR,
            "text/plain; charset=utf-8",
            format!(
                "Cannot save the state file: {e}. Metrics are not served until it can be written; the exporter's log names the file.\n"
            ),
        ),
        Err(Failure::Internal) => internal_error(),
    }
}

fn internal_error() -> Response<Reply> {
    response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/plain; charset=utf-8",
        "The scrape failed (see the exporter's log).\n",
    )
}

fn landing_page(metrics_path: &str) -> String {
    let path = console::page::esc(metrics_path);
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>XMail Exporter</title></head>\n\
         <body>\n<h1>XMail Exporter</h1>\n<p>Prometheus metrics from XMail SMTP/SMAIL and Nmail webmail logs.</p>\n\
         <ul>\n<li><a href=\"{path}\">Metrics</a></li>\n<li><a href=\"/-/healthy\">Health</a></li>\n\
         <li><a href=\"/-/ready\">Readiness</a></li>\n</ul>\n<p>Version {} (revision {})</p>\n</body>\n</html>\n",
        crate::VERSION,
        crate::REVISION
    )
}
