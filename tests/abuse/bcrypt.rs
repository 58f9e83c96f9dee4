//! A bcrypt flood: hundreds of clients sending wrong passwords, each a new one, while
//! Prometheus scrapes with the right one. bcrypt runs one check at a time and a verified
//! scraper is answered from the cache, so its scrapes stay fast.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::util::{Exporter, TempLogs};

/// Clients sending wrong passwords at once.
const ATTACKERS: usize = 480;
/// Spread over this many loopback addresses (127.0.0.2 and up), so the per-address
/// connection limit is not what stops them.
const ATTACKER_ADDRESSES: usize = 48;
/// Good scrapes measured during the flood.
const SCRAPES: usize = 20;
/// Each must answer within this.
const BOUND: Duration = Duration::from_millis(500);

fn basic(user: &str, password: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}

/// One scrape with credentials from 127.0.0.1: (status, time taken).
fn scrape(addr: SocketAddr, auth: &str) -> (u16, Duration) {
    let t0 = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, t0.elapsed())
}

#[test]
fn good_scrapes_stay_fast_during_a_wrong_password_flood() {
    let _serial = crate::serial();
    let logs = TempLogs::new();
    let cfg = logs.tmp.path().join("web.yml");
    // Cost 10, the usual htpasswd -B cost: about 50-100 ms per check.
    let hash = bcrypt::hash("right horse", 10).unwrap();
    std::fs::write(&cfg, format!("basic_auth_users:\n  prometheus: '{hash}'\n")).unwrap();
    let ex = Exporter::start(&[
        "--xmail.log-dir",
        logs.xmail.to_str().unwrap(),
        "--webmail.log-dir",
        "",
        "--web.config.file",
        cfg.to_str().unwrap(),
    ]);
    let addr = ex.addr;
    let good = basic("prometheus", "right horse");
    // The scraper's credentials were verified before the flood (as after its first scrape).
    assert_eq!(scrape(addr, &good).0, 200);

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let denied = Arc::new(AtomicUsize::new(0));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..ATTACKERS {
        let (stop, sent, denied) = (stop.clone(), sent.clone(), denied.clone());
        let ip = Ipv4Addr::new(127, 0, 0, 2 + (i % ATTACKER_ADDRESSES) as u8);
        tasks.push(rt.spawn(async move {
            let mut round = 0u64;
            let mut first = true;
            while !stop.load(Ordering::Relaxed) {
                round += 1;
                let Ok(sock) = tokio::net::TcpSocket::new_v4() else {
                    return;
                };
                if sock.bind(SocketAddr::from((ip, 0))).is_err() {
                    return;
                }
                let Ok(mut conn) = sock.connect(addr).await else {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                };
                // A new wrong password every time: nothing to answer from the cache.
                let req = format!(
                    "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {}\r\n\r\n",
                    basic("prometheus", &format!("guess-{i}-{round}"))
                );
                if conn.write_all(req.as_bytes()).await.is_err() {
                    continue;
                }
                if first {
                    sent.fetch_add(1, Ordering::Relaxed);
                    first = false;
                }
                let mut buf = [0u8; 512];
                if let Ok(n) = conn.read(&mut buf).await
                    && buf[..n].starts_with(b"HTTP/1.1 401")
                {
                    denied.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    // Every attacker has a request in: the bcrypt queue is as long as it gets.
    let deadline = Instant::now() + Duration::from_secs(30);
    while sent.load(Ordering::Relaxed) < ATTACKERS {
        assert!(
            Instant::now() < deadline,
            "only {} of {ATTACKERS} attackers got a request in",
            sent.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut times = Vec::new();
    for _ in 0..SCRAPES {
        let (status, took) = scrape(addr, &good);
        assert_eq!(status, 200, "a good scrape failed during the flood");
        times.push(took);
        // Paced like a scraper (not for synchronisation): the scrapes span 2 s of flood.
        std::thread::sleep(Duration::from_millis(100));
    }
    stop.store(true, Ordering::Relaxed);
    let wrong = denied.load(Ordering::Relaxed);
    for t in tasks {
        t.abort();
    }
    rt.shutdown_timeout(Duration::from_secs(1));
    times.sort();
    eprintln!(
        "bcrypt flood ({ATTACKERS} clients, cost 10): good scrapes median {:?}, worst {:?}; {wrong} wrong passwords answered 401 meanwhile",
        times[SCRAPES / 2],
        times[SCRAPES - 1]
    );
    assert!(
        times[SCRAPES - 1] <= BOUND,
        "a good scrape took {:?} (bound {BOUND:?}); all: {times:?}",
        times[SCRAPES - 1]
    );
    // The flood was real: wrong passwords were checked (and refused) while scraping.
    assert!(wrong > 0, "no wrong password was answered");
}
