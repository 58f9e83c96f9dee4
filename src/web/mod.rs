//! The HTTP side: `/metrics` (or the configured path), a landing page at `/`, `/-/healthy`
//! and `/-/ready`, served by hyper 1.x until a shutdown future completes.
//!
//! This module binds the listeners, accepts connections without ever waiting for a free
//! slot, and runs hyper (and TLS) on each.
//!
//! - [`conn`]: which connections stay open (global and per-address limits, eviction) and
//!   what each is doing;
//! - [`console`]: the mail desk (`--web.enable-console`): its pages, its JSON API, who may
//!   use it and the bounds of a search;
//! - [`handler`]: the routes, the rate limit and credentials of each request, the scrape and
//!   the state-file commit its response carries;
//! - [`reload`]: the web config in force ([`reload::WebConfigSource`]), swapped atomically,
//!   and its fail-closed reload, checked off the async threads;
//! - [`format`](mod@format): `--web.config.file`'s YAML, validated into a [`format::WebConfig`];
//! - [`auth`]: basic authentication, its cache and the one-at-a-time bcrypt;
//! - [`tls`]: `tls_server_config` into a rustls configuration.
//!
//! Owns the sockets and the HTTP rules; what `/metrics` holds is [`crate::metrics`]'s, the
//! checkpoints a scrape commits are [`crate::tail::checkpoint`]'s, the token bucket is
//! [`crate::rate`]'s.

pub mod auth;
pub mod conn;
pub mod console;
pub mod format;
pub mod handler;
pub mod reload;
pub mod tls;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::mpsc;

use conn::{Conn, MAX_PER_ADDRESS, Registry, Tracked};
use console::Client;
pub use handler::WebState;

/// Connections open at once. At this limit (or at [`MAX_PER_ADDRESS`] from one client
/// address) a new connection closes the oldest idle one, else the one whose response has
/// waited longest for the client, else one answering a pipelined request, else a client
/// still sending its request head after a second; if none is, the new connection waits up to [`conn::ADMISSION_WAIT`] for one to
/// become so, then is closed.
pub const MAX_CONNECTIONS: usize = 512;
/// On shutdown, open connections get this long to finish.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

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
    let registry = Arc::new(Registry::new(MAX_CONNECTIONS, MAX_PER_ADDRESS));
    let graceful = GracefulShutdown::new();
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            conn = rx.recv() => match conn { Some(c) => c, None => break },
            () = &mut shutdown => break,
        };
        // The accept loop never waits: at a limit, an idle or stalled connection is closed
        // to make room; when every one is busy answering, the new one waits a moment in its
        // own task, then is refused.
        #[cfg(unix)]
        let socket = Some(std::os::fd::AsRawFd::as_raw_fd(&stream));
        #[cfg(windows)]
        let socket = Some(std::os::windows::io::AsRawSocket::as_raw_socket(&stream));
        #[cfg(not(any(unix, windows)))]
        let socket = None;
        let tls = state
            .web
            .current()
            .tls
            .as_ref()
            .map(|t| tokio_rustls::TlsAcceptor::from(t.server.clone()));
        let state = state.clone();
        let watcher = graceful.watcher();
        let registry = registry.clone();
        tokio::spawn(async move {
            let write_timeout = state.write_timeout;
            let Some(io) = registry
                .admit_soon(stream, socket, peer, write_timeout)
                .await
            else {
                let [idle, reading, busy, writing, stalled] = registry.census();
                tracing::debug!(
                    %peer, idle, reading, busy, writing, stalled,
                    "connection refused: every connection is busy"
                );
                return;
            };
            let conn = io.conn().clone();
            tokio::select! {
                () = serve_connection(io, tls, peer, state, watcher) => {}
                () = conn.evicted() => {
                    tracing::debug!(%peer, "connection closed to make room for a new one");
                }
            }
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

/// Serves one connection (plain or TLS) until it closes.
async fn serve_connection(
    io: Tracked<TcpStream>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    peer: SocketAddr,
    state: Arc<WebState>,
    watcher: Watcher,
) {
    let conn = io.conn().clone();
    let mut client = Client {
        ip: peer.ip(),
        tls: false,
    };
    match tls {
        None => serve_http(io, conn, client, state, watcher).await,
        Some(acceptor) => {
            client.tls = true;
            match tokio::time::timeout(state.read_header_timeout, acceptor.accept(io)).await {
                Ok(Ok(tls_stream)) => serve_http(tls_stream, conn, client, state, watcher).await,
                Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!("TLS handshake timed out"),
            }
        }
    }
}

/// Serves HTTP/1.1 on one stream until it closes.
async fn serve_http<S>(
    stream: S,
    conn: Arc<Conn>,
    client: Client,
    state: Arc<WebState>,
    watcher: Watcher,
) where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let timeout = state.read_header_timeout;
    let service = service_fn(move |req| {
        let (state, conn) = (state.clone(), conn.clone());
        async move {
            conn.request_started();
            conn.previous_responses_written().await;
            let mut r = handler::respond(req, client, &state).await;
            r.body_mut().sent_on(conn);
            Ok::<_, Infallible>(r)
        }
    });
    // hyper starts the header timeout whenever it waits for a request head, the wait before
    // the first byte and between keep-alive requests included (hyper 1.12, proto/h1/conn.rs
    // `poll_read_head`): it bounds idle keep-alive connections too.
    let conn = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(timeout)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = watcher.watch(conn).await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
