//! Connection hogs against the HTTP side: idle connections re-opened as they close, clients
//! that pipeline scrapes and never read, keep-alive connections sending unauthenticated
//! requests, and one address opening far more connections than it may hold. In each, 20
//! scrapes from 127.0.0.1 must each be answered within [`BOUND`]. The attackers connect
//! from 127.0.0.2 and up, spread over [`ATTACKER_ADDRESSES`] addresses so that the
//! per-address limit is not what saves the scraper (except in the test of that limit).

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::{Exporter, TempLogs};

/// Good scrapes measured per test.
const SCRAPES: usize = 20;
/// Each must answer within this.
const BOUND: Duration = Duration::from_secs(1);
/// Loopback addresses the attackers use (127.0.0.2 and up).
const ATTACKER_ADDRESSES: usize = 48;
/// No attacker task runs longer than this, whatever happens to the test.
const ATTACK_LIMIT: Duration = Duration::from_secs(90);

/// Raises this process's soft limit on open files towards `want` (up to the hard limit); the
/// exporter, started afterwards, inherits it.
#[cfg(unix)]
fn raise_nofile(want: u64) {
    let mut l = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: plain calls with a valid pointer to a local.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut l), 0);
        if l.rlim_cur < want as libc::rlim_t {
            l.rlim_cur = (want as libc::rlim_t).min(l.rlim_max);
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &l), 0);
        }
    }
    assert!(
        l.rlim_cur >= want as libc::rlim_t,
        "need {want} open files, the hard limit allows {}",
        l.rlim_max
    );
}

/// Windows has no per-process limit on open sockets to raise (they are handles, bounded by
/// memory).
#[cfg(windows)]
fn raise_nofile(_want: u64) {}

fn attacker_ip(i: usize) -> Ipv4Addr {
    Ipv4Addr::new(127, 0, 0, 2 + (i % ATTACKER_ADDRESSES) as u8)
}

/// A connection from `ip`, optionally with a small receive buffer.
async fn connect_from(
    ip: Ipv4Addr,
    addr: SocketAddr,
    small_buffer: bool,
) -> Option<tokio::net::TcpStream> {
    let sock = tokio::net::TcpSocket::new_v4().ok()?;
    sock.bind(SocketAddr::from((ip, 0))).ok()?;
    if small_buffer {
        sock.set_recv_buffer_size(4096).ok()?;
    }
    tokio::time::timeout(Duration::from_secs(5), sock.connect(addr))
        .await
        .ok()?
        .ok()
}

/// Sockets the exporter has open (its listener and connections among them).
fn exporter_fds(ex: &Exporter) -> usize {
    std::fs::read_dir(format!("/proc/{}/fd", ex.pid()))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// One scrape from 127.0.0.1: (status, time taken).
fn scrape(addr: SocketAddr, auth: Option<&str>) -> (u16, Duration) {
    let t0 = Instant::now();
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(5)) else {
        return (0, t0.elapsed());
    };
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let auth = auth
        .map(|a| format!("Authorization: Basic {a}\r\n"))
        .unwrap_or_default();
    if write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    )
    .is_err()
    {
        return (0, t0.elapsed());
    }
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let complete = text.contains("xmail_exporter_log_lines_total");
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .filter(|_| complete)
        .unwrap_or(0);
    (status, t0.elapsed())
}

/// The attack's figures while the good scrapes ran.
struct Measured {
    times: Vec<Duration>,
    /// Connections the attackers had open, as they saw it (sampled before each scrape).
    held: Vec<usize>,
    /// Open files of the exporter (sampled likewise).
    fds: Vec<usize>,
}

/// Runs the 20 good scrapes, sampling `held` and the exporter's open files before each.
fn measure(ex: &Exporter, auth: Option<&str>, held: &AtomicUsize) -> Measured {
    let mut m = Measured {
        times: Vec::new(),
        held: Vec::new(),
        fds: Vec::new(),
    };
    for i in 0..SCRAPES {
        m.held.push(held.load(Ordering::Relaxed));
        m.fds.push(exporter_fds(ex));
        let (status, took) = scrape(ex.addr, auth);
        if status != 200 {
            let log = ex.log();
            let count = |needle: &str| log.matches(needle).count();
            panic!(
                "good scrape {i} failed after {took:?} during the attack; the exporter refused {} connections and closed {} to make room; last log lines:\n{}",
                count("connection refused"),
                count("closed to make room"),
                log.lines()
                    .rev()
                    .filter(|l| l.contains("127.0.0.1:"))
                    .take(5)
                    .collect::<Vec<_>>()
                    .join("\n")
            );
        }
        m.times.push(took);
        // Paced like a scraper (not for synchronisation): the scrapes span 2 s of attack.
        std::thread::sleep(Duration::from_millis(100));
    }
    m
}

fn median(v: &[usize]) -> usize {
    let mut v = v.to_vec();
    v.sort();
    v[v.len() / 2]
}

fn report(what: &str, m: &Measured, extra: &str) {
    let mut t = m.times.clone();
    t.sort();
    eprintln!(
        "{what}: good scrapes median {:?}, worst {:?}; attackers held {} connections (median, max {}), exporter open files median {} (max {}){extra}",
        t[SCRAPES / 2],
        t[SCRAPES - 1],
        median(&m.held),
        m.held.iter().max().unwrap(),
        median(&m.fds),
        m.fds.iter().max().unwrap(),
    );
    assert!(
        t[SCRAPES - 1] <= BOUND,
        "{what}: a good scrape took {:?} (bound {BOUND:?}); all: {:?}",
        t[SCRAPES - 1],
        m.times
    );
}

/// Waits (bounded) until `cond` holds.
fn wait_until(what: &str, limit: Duration, cond: impl Fn() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn start(logs: &TempLogs, extra: &[&str]) -> Exporter {
    let mut args = vec![
        "--xmail.log-dir",
        logs.xmail.to_str().unwrap(),
        "--webmail.log-dir",
        "",
    ];
    args.extend_from_slice(extra);
    Exporter::start(&args)
}

/// Counts an open connection for as long as it lives.
struct Held(Arc<AtomicUsize>);

impl Held {
    fn new(n: &Arc<AtomicUsize>) -> Held {
        n.fetch_add(1, Ordering::Relaxed);
        Held(n.clone())
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// (a) 1 000 connections that never send a byte, each re-opened as soon as it is closed.
#[test]
fn idle_connections_reopened_as_they_close() {
    let _serial = crate::serial();
    const ATTACKERS: usize = 1000;
    raise_nofile(4096);
    let logs = TempLogs::new();
    let ex = start(&logs, &[]);
    let addr = ex.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let held = Arc::new(AtomicUsize::new(0));
    let opened = Arc::new(AtomicUsize::new(0));
    let rt = runtime();
    for i in 0..ATTACKERS {
        let (stop, held, opened) = (stop.clone(), held.clone(), opened.clone());
        rt.spawn(async move {
            let t0 = Instant::now();
            for _ in 0..100_000 {
                if stop.load(Ordering::Relaxed) || t0.elapsed() > ATTACK_LIMIT {
                    return;
                }
                let Some(mut c) = connect_from(attacker_ip(i), addr, false).await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                opened.fetch_add(1, Ordering::Relaxed);
                let _held = Held::new(&held);
                // Wait, sending nothing, until the server closes it.
                let mut buf = [0u8; 64];
                let _ = tokio::time::timeout(ATTACK_LIMIT, c.read(&mut buf)).await;
            }
        });
    }
    wait_until("every attacker to connect", Duration::from_secs(30), || {
        opened.load(Ordering::Relaxed) >= ATTACKERS
    });
    let m = measure(&ex, None, &held);
    stop.store(true, Ordering::Relaxed);
    let reopened = opened.load(Ordering::Relaxed);
    rt.shutdown_timeout(Duration::from_secs(1));
    report(
        &format!("{ATTACKERS} idle connections, re-opened"),
        &m,
        &format!("; {reopened} attacker connections opened in all"),
    );
}

/// (b) 600 clients that pipeline 100 scrapes each, with a small receive buffer, and never
/// read.
#[test]
fn clients_that_pipeline_and_never_read() {
    let _serial = crate::serial();
    const ATTACKERS: usize = 600;
    raise_nofile(4096);
    let logs = TempLogs::new();
    let ex = start(&logs, &[]);
    let addr = ex.addr;
    let stop = Arc::new(AtomicBool::new(false));
    let held = Arc::new(AtomicUsize::new(0));
    let sent = Arc::new(AtomicUsize::new(0));
    let rt = runtime();
    let requests = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(100);
    for i in 0..ATTACKERS {
        let (stop, held, sent, requests) =
            (stop.clone(), held.clone(), sent.clone(), requests.clone());
        rt.spawn(async move {
            let Some(mut c) = connect_from(attacker_ip(i), addr, true).await else {
                sent.fetch_add(1, Ordering::Relaxed);
                return;
            };
            let _held = Held::new(&held);
            let _ = c.write_all(requests.as_bytes()).await;
            sent.fetch_add(1, Ordering::Relaxed);
            // Never read: hold the connection until the test ends.
            let t0 = Instant::now();
            while !stop.load(Ordering::Relaxed) && t0.elapsed() < ATTACK_LIMIT {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        });
    }
    wait_until(
        "every attacker to send its requests",
        Duration::from_secs(30),
        || sent.load(Ordering::Relaxed) >= ATTACKERS,
    );
    let m = measure(&ex, None, &held);
    stop.store(true, Ordering::Relaxed);
    rt.shutdown_timeout(Duration::from_secs(1));
    report(
        &format!("{ATTACKERS} pipelining clients that never read"),
        &m,
        "",
    );
}

/// (c) 500 keep-alive connections sending requests without credentials in a loop, basic
/// authentication configured: each 401 closes the connection, and the attacker reconnects.
#[test]
fn unauthenticated_keep_alive_floods() {
    let _serial = crate::serial();
    const ATTACKERS: usize = 500;
    raise_nofile(4096);
    let logs = TempLogs::new();
    let cfg = logs.tmp.path().join("web.yml");
    let hash = bcrypt::hash("right horse", 10).unwrap();
    std::fs::write(&cfg, format!("basic_auth_users:\n  prometheus: '{hash}'\n")).unwrap();
    let ex = start(&logs, &["--web.config.file", cfg.to_str().unwrap()]);
    let addr = ex.addr;
    let good =
        base64::engine::general_purpose::STANDARD.encode("prometheus:right horse".as_bytes());
    // Verified once before the flood, as after Prometheus' first scrape.
    assert_eq!(scrape(addr, Some(&good)).0, 200);
    let stop = Arc::new(AtomicBool::new(false));
    let held = Arc::new(AtomicUsize::new(0));
    let denied = Arc::new(AtomicUsize::new(0));
    let kept_alive = Arc::new(AtomicUsize::new(0));
    let rt = runtime();
    for i in 0..ATTACKERS {
        let (stop, held, denied, kept_alive) = (
            stop.clone(),
            held.clone(),
            denied.clone(),
            kept_alive.clone(),
        );
        rt.spawn(async move {
            let t0 = Instant::now();
            for _ in 0..100_000 {
                if stop.load(Ordering::Relaxed) || t0.elapsed() > ATTACK_LIMIT {
                    return;
                }
                let Some(mut c) = connect_from(attacker_ip(i), addr, false).await else {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                };
                let _held = Held::new(&held);
                // Keep-alive requests on this connection for as long as it stays open.
                for n in 0..1000 {
                    if stop.load(Ordering::Relaxed) {
                        return;
                    }
                    if c.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
                        .await
                        .is_err()
                    {
                        break;
                    }
                    let mut buf = [0u8; 1024];
                    match tokio::time::timeout(Duration::from_secs(10), c.read(&mut buf)).await {
                        Ok(Ok(k)) if k > 0 && buf.starts_with(b"HTTP/1.1 401") => {
                            denied.fetch_add(1, Ordering::Relaxed);
                            if n > 0 {
                                kept_alive.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        _ => break,
                    }
                    // One request every 200 ms per connection, as a patient attacker.
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        });
    }
    wait_until("500 requests refused", Duration::from_secs(30), || {
        denied.load(Ordering::Relaxed) >= ATTACKERS
    });
    let m = measure(&ex, Some(&good), &held);
    stop.store(true, Ordering::Relaxed);
    rt.shutdown_timeout(Duration::from_secs(1));
    let (d, k) = (
        denied.load(Ordering::Relaxed),
        kept_alive.load(Ordering::Relaxed),
    );
    report(
        &format!("{ATTACKERS} unauthenticated keep-alive clients"),
        &m,
        &format!("; {d} requests answered 401, {k} of them on a connection kept after a 401"),
    );
    // A second request on a connection that got a 401 would mean it was kept alive.
    assert_eq!(k, 0, "a connection stayed open after a 401");
}

/// (d) One address opens 200 connections: it keeps at most the per-address limit, and a
/// scraper from another address is served.
#[test]
fn one_address_gets_at_most_its_limit() {
    let _serial = crate::serial();
    const ATTACKERS: usize = 200;
    let limit = xmail_exporter::web::conn::MAX_PER_ADDRESS;
    let logs = TempLogs::new();
    let ex = start(&logs, &[]);
    let addr = ex.addr;
    let rt = runtime();
    let conns: Vec<std::net::TcpStream> = rt.block_on(async {
        let mut v = Vec::new();
        for _ in 0..ATTACKERS {
            if let Some(c) = connect_from(Ipv4Addr::new(127, 0, 0, 2), addr, false).await {
                v.push(c.into_std().unwrap());
            }
        }
        v
    });
    assert_eq!(conns.len(), ATTACKERS, "some connections failed outright");
    // Those the exporter closed read as ended; the others would block.
    let open = || {
        conns
            .iter()
            .filter(|c| {
                let mut b = [0u8; 1];
                match (&**c).read(&mut b) {
                    Err(e) => e.kind() == ErrorKind::WouldBlock,
                    // 0: ended; anything else: the exporter spoke, so it is open.
                    Ok(n) => n > 0,
                }
            })
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut held = open();
    while held > limit && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
        held = open();
    }
    let count = Arc::new(AtomicUsize::new(held));
    let m = measure(&ex, None, &count);
    let after = open();
    report(
        &format!("one address opening {ATTACKERS} connections"),
        &m,
        &format!("; that address kept {held}, then {after} (limit {limit})"),
    );
    assert!(
        held <= limit && held > 0,
        "one address holds {held} connections (limit {limit})"
    );
    drop(conns);
}
