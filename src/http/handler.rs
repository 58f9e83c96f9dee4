//! What each request gets: the rate limit and basic authentication of the web config in
//! force when the request arrives, the routes, the configured headers, and for `/metrics`
//! the scrape with the state-file commit its response carries ([`Reply`]).
//!
//! Connections, limits and timeouts are [`super::conn`]'s; the checkpoint itself is
//! [`crate::tail::checkpoint::Saver`]'s.

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::header::{CONNECTION, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};

use super::WebState;
use super::conn::{Commit, Conn};
use crate::metrics::{encode_families, encode_text};
use crate::web_config::Auth;

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

/// Applies the rate limit and authentication, routes, and adds the configured headers, all
/// from the web config in force now (a reload applies to open connections too).
pub async fn respond(req: Request<Incoming>, state: &WebState) -> Response<Reply> {
    let config = state.web.current();
    let mut r = if !state.web.take_request() {
        closing(response(
            StatusCode::TOO_MANY_REQUESTS,
            "text/plain; charset=utf-8",
            "Too many requests.\n",
        ))
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
    for (name, value) in &config.headers {
        r.headers_mut().insert(name.clone(), value.clone());
    }
    r
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

/// The scrape. With a state file, its snapshot is committed once the response is written
/// (see [`crate::tail::checkpoint::Saver`]). Gathering and encoding run off the async
/// threads.
async fn metrics(state: &WebState) -> Response<Reply> {
    let registry = state.registry.clone();
    let Some(saver) = state.saver.clone() else {
        return match tokio::task::spawn_blocking(move || encode_text(&registry)).await {
            Ok(text) => response(StatusCode::OK, TEXT_FORMAT, text),
            Err(e) => internal_error(&e),
        };
    };
    let s = saver.clone();
    let gathered = tokio::task::spawn_blocking(move || {
        s.gather(&registry)
            .map(|(families, pending)| (encode_families(&families), pending))
    })
    .await;
    match gathered {
        Ok(Ok((text, pending))) => {
            let mut r = response(StatusCode::OK, TEXT_FORMAT, text);
            if let Some(p) = pending {
                r.body_mut().commit = Some(Box::new(move || {
                    if let Err(e) = saver.commit(p) {
                        tracing::error!(
                            "cannot save the state file {}: {e}; the next scrape saves it before it is answered, and gets an error while it cannot (check the disk and the directory's permissions)",
                            saver.path().display()
                        );
                    }
                }));
            }
            r
        }
        Ok(Err(e)) => {
            tracing::error!(
                "cannot save the state file {}: {e}; metrics are not served until it can be written (check the disk and the directory's permissions)",
                saver.path().display()
            );
            // The path stays in the log: the client may be anyone.
            response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "text/plain; charset=utf-8",
                format!(
                    "Cannot save the state file: {e}. Metrics are not served until it can be written; the exporter's log names the file.\n"
                ),
            )
        }
        Err(e) => internal_error(&e),
    }
}

fn internal_error(e: &tokio::task::JoinError) -> Response<Reply> {
    tracing::error!(error = %e, "the scrape failed");
    response(
        StatusCode::INTERNAL_SERVER_ERROR,
        "text/plain; charset=utf-8",
        "The scrape failed (see the exporter's log).\n",
    )
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
