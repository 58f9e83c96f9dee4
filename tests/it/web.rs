//! `--web.config.file`: TLS (with and without client certificates), basic authentication,
//! headers, rate limit and reload, checked with a real TLS client; slow and idle clients.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::util::{Exporter, TempLogs, http_get};

/// A CA, a server certificate for localhost/127.0.0.1 and a client certificate, as PEM.
pub(crate) struct Pki {
    pub ca: String,
    pub server_cert: String,
    pub server_key: String,
    client_cert: String,
    client_key: String,
}

pub(crate) fn make_pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "xmail test CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let client_key = KeyPair::generate().unwrap();
    let mut client_params = CertificateParams::new(vec!["prometheus".into()]).unwrap();
    client_params
        .distinguished_name
        .push(DnType::CommonName, "prometheus");
    let client = client_params.signed_by(&client_key, &issuer).unwrap();
    Pki {
        ca: ca_cert.pem(),
        server_cert: server.pem(),
        server_key: server_key.serialize_pem(),
        client_cert: client.pem(),
        client_key: client_key.serialize_pem(),
    }
}

pub(crate) fn client_config(pki: &Pki, with_cert: bool) -> Arc<rustls::ClientConfig> {
    client_config_with(
        &pki.ca,
        with_cert.then_some((pki.client_cert.as_str(), pki.client_key.as_str())),
    )
}

/// A client that trusts `ca` and presents `client` (certificate, key) if given.
fn client_config_with(ca: &str, client: Option<(&str, &str)>) -> Arc<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_slice_iter(ca.as_bytes()) {
        roots.add(c.unwrap()).unwrap();
    }
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots);
    let config = match client {
        Some((cert, key)) => {
            let certs = CertificateDer::pem_slice_iter(cert.as_bytes())
                .map(Result::unwrap)
                .collect();
            let key = PrivateKeyDer::from_pem_slice(key.as_bytes()).unwrap();
            builder.with_client_auth_cert(certs, key).unwrap()
        }
        None => builder.with_no_client_auth(),
    };
    Arc::new(config)
}

/// A GET over TLS; `Err` when the handshake or the connection fails.
pub(crate) fn https_get(
    addr: SocketAddr,
    config: Arc<rustls::ClientConfig>,
    path: &str,
    auth: Option<(&str, &str)>,
) -> Result<(u16, String), String> {
    let conn = rustls::ClientConnection::new(config, ServerName::try_from("localhost").unwrap())
        .map_err(|e| e.to_string())?;
    let sock =
        TcpStream::connect_timeout(&addr, Duration::from_secs(5)).map_err(|e| e.to_string())?;
    sock.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let auth = auth
        .map(|(u, p)| {
            format!(
                "Authorization: Basic {}\r\n",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            )
        })
        .unwrap_or_default();
    write!(
        tls,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .map_err(|e| e.to_string())?;
    let mut raw = Vec::new();
    match tls.read_to_end(&mut raw) {
        Ok(_) => {}
        // A server that closes without close_notify after a full response is fine.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof && !raw.is_empty() => {}
        Err(e) => return Err(e.to_string()),
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| format!("no response: {text:?}"))?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    Ok((status, format!("{head}\r\n\r\n{body}")))
}

pub(crate) fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

pub(crate) fn start(logs: &TempLogs, web_config: &Path, extra: &[&str]) -> Exporter {
    let mut args = vec![
        "--xmail.log-dir",
        logs.xmail.to_str().unwrap(),
        "--webmail.log-dir",
        "",
        "--web.config.file",
        web_config.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Exporter::start(&args)
}

#[test]
fn tls_with_basic_auth_and_reload() {
    let logs = TempLogs::new();
    let dir = logs.tmp.path();
    let pki = make_pki();
    write(dir, "server.crt", &pki.server_cert);
    write(dir, "server.key", &pki.server_key);
    let hash = bcrypt::hash("right horse", 4).unwrap();
    let cfg = dir.join("web.yml");
    std::fs::write(
        &cfg,
        format!(
            "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nhttp_server_config:\n  headers:\n    X-Frame-Options: deny\nbasic_auth_users:\n  prometheus: '{hash}'\n"
        ),
    )
    .unwrap();
    let ex = start(&logs, &cfg, &[]);
    let client = client_config(&pki, false);

    let (status, text) = https_get(
        ex.addr,
        client.clone(),
        "/metrics",
        Some(("prometheus", "right horse")),
    )
    .unwrap();
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("xmail_smtp_events_total"));
    assert!(
        text.to_ascii_lowercase().contains("x-frame-options: deny"),
        "{text}"
    );
    let (status, text) = https_get(
        ex.addr,
        client.clone(),
        "/metrics",
        Some(("prometheus", "wrong")),
    )
    .unwrap();
    assert_eq!(status, 401, "{text}");
    assert!(
        text.contains("WWW-Authenticate") || text.contains("www-authenticate"),
        "{text}"
    );
    assert_eq!(
        https_get(ex.addr, client.clone(), "/metrics", None)
            .unwrap()
            .0,
        401
    );
    assert_eq!(
        https_get(
            ex.addr,
            client.clone(),
            "/metrics",
            Some(("root", "right horse"))
        )
        .unwrap()
        .0,
        401
    );
    // Plain HTTP to the TLS port gets no metrics.
    let plain = std::panic::catch_unwind(|| http_get(ex.addr, "/metrics"));
    assert!(!matches!(plain, Ok((200, _))), "plain HTTP was served");

    // A new password applies without a restart.
    let new_hash = bcrypt::hash("new horse", 4).unwrap();
    std::fs::write(
        &cfg,
        format!("tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\nbasic_auth_users:\n  prometheus: '{new_hash}'\n"),
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while https_get(
        ex.addr,
        client.clone(),
        "/metrics",
        Some(("prometheus", "new horse")),
    )
    .unwrap()
    .0 != 200
    {
        assert!(
            Instant::now() < deadline,
            "the new password never applied:\n{}",
            ex.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        https_get(
            ex.addr,
            client.clone(),
            "/metrics",
            Some(("prometheus", "right horse"))
        )
        .unwrap()
        .0,
        401
    );

    // A broken change is logged and the previous configuration stays in force.
    std::fs::write(
        &cfg,
        "tls_server_config:\n  cert_file: gone.crt\n  key_file: server.key\n",
    )
    .unwrap();
    assert_eq!(
        https_get(
            ex.addr,
            client,
            "/metrics",
            Some(("prometheus", "new horse"))
        )
        .unwrap()
        .0,
        200
    );
    ex.wait_log("cannot reload the web config file");
}

#[test]
fn client_certificates_are_required_and_verified() {
    let logs = TempLogs::new();
    let dir = logs.tmp.path();
    let pki = make_pki();
    write(dir, "server.crt", &pki.server_cert);
    write(dir, "server.key", &pki.server_key);
    write(dir, "ca.crt", &pki.ca);
    let cfg = dir.join("web.yml");
    std::fs::write(
        &cfg,
        "tls_server_config:\n  cert_file: server.crt\n  key_file: server.key\n  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: ca.crt\n  min_version: TLS13\n",
    )
    .unwrap();
    let ex = start(&logs, &cfg, &[]);
    assert_eq!(
        https_get(ex.addr, client_config(&pki, true), "/metrics", None)
            .unwrap()
            .0,
        200
    );
    assert!(https_get(ex.addr, client_config(&pki, false), "/metrics", None).is_err());
    // A client certificate from another CA is refused as well.
    let other = make_pki();
    let foreign = client_config_with(&pki.ca, Some((&other.client_cert, &other.client_key)));
    assert!(https_get(ex.addr, foreign, "/metrics", None).is_err());
}

#[test]
fn a_bad_web_config_stops_the_start() {
    let logs = TempLogs::new();
    let cfg = logs.tmp.path().join("web.yml");
    std::fs::write(&cfg, "basic_auth_users:\n  prometheus: not-a-hash\n").unwrap();
    let out = crate::util::output_of(
        std::process::Command::new(crate::util::exporter_bin()).args([
            "--web.config.file",
            cfg.to_str().unwrap(),
            "--web.listen-address",
            "127.0.0.1:0",
        ]),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not a bcrypt hash") && err.contains("web.yml"),
        "{err}"
    );
}

#[test]
fn rate_limit() {
    let logs = TempLogs::new();
    let cfg = logs.tmp.path().join("web.yml");
    std::fs::write(&cfg, "rate_limit:\n  interval: 1h\n  burst: 2\n").unwrap();
    let ex = start(&logs, &cfg, &[]);
    assert_eq!(ex.get("/metrics").0, 200);
    assert_eq!(ex.get("/metrics").0, 200);
    assert_eq!(ex.get("/metrics").0, 429);
}

#[test]
fn idle_and_slow_clients_are_cut_off() {
    let logs = TempLogs::new();
    let cfg = logs.tmp.path().join("web.yml");
    std::fs::write(&cfg, "{}\n").unwrap();
    let ex = start(&logs, &cfg, &["--web.read-header-timeout", "1s"]);
    // One idle connection is closed after the header timeout.
    let mut idle = connect(ex.addr);
    let t0 = Instant::now();
    let mut buf = [0u8; 64];
    let n = idle.read(&mut buf).unwrap_or(0);
    assert!(
        t0.elapsed() < Duration::from_secs(5),
        "idle connection kept {:?}",
        t0.elapsed()
    );
    let _ = n;
    // More idle connections than the server serves at once, plus one sending its headers
    // a byte at a time: a scrape still gets through, once the idle ones time out.
    let hogs: Vec<TcpStream> = (0..xmail_exporter::web::MAX_CONNECTIONS + 20)
        .map(|_| TcpStream::connect(ex.addr).unwrap())
        .collect();
    let mut slow = TcpStream::connect(ex.addr).unwrap();
    let _ = slow.write_all(b"GET /met");
    let t0 = Instant::now();
    let (status, _) = http_get(ex.addr, "/metrics");
    assert_eq!(status, 200);
    assert!(
        t0.elapsed() < Duration::from_secs(8),
        "scrape took {:?}",
        t0.elapsed()
    );
    drop(hogs);
}

/// Reads one response from a keep-alive connection: (status, head, body).
/// A plain connection to the exporter whose reads give up after 10 s.
fn connect(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

fn read_response(s: &mut TcpStream) -> (u16, String, Vec<u8>) {
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match s.read(&mut byte) {
            Ok(1) => raw.push(byte[0]),
            r => panic!(
                "response head cut short ({r:?}): {:?}",
                String::from_utf8_lossy(&raw)
            ),
        }
    }
    let head = String::from_utf8_lossy(&raw).into_owned();
    let len: usize = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head, body)
}

fn basic_header(user: &str, password: &str) -> String {
    format!(
        "Authorization: Basic {}\r\n",
        base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
    )
}

/// The server closes the connection: reading gives EOF (or a reset), within 5 s.
fn assert_closed(s: &mut TcpStream, what: &str) {
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut buf = [0u8; 256];
    match s.read(&mut buf) {
        Ok(0) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        other => panic!("{what}: the connection stayed open ({other:?})"),
    }
}

#[test]
fn a_password_change_applies_to_open_connections_and_401_closes() {
    let logs = TempLogs::new();
    let cfg = logs.tmp.path().join("web.yml");
    let old = bcrypt::hash("old horse", 4).unwrap();
    std::fs::write(&cfg, format!("basic_auth_users:\n  prometheus: '{old}'\n")).unwrap();
    let ex = start(&logs, &cfg, &[]);
    let mut conn = connect(ex.addr);
    let request = format!(
        "GET /metrics HTTP/1.1\r\nHost: x\r\n{}\r\n",
        basic_header("prometheus", "old horse")
    );
    conn.write_all(request.as_bytes()).unwrap();
    assert_eq!(read_response(&mut conn).0, 200);

    let new = bcrypt::hash("new horse", 4).unwrap();
    std::fs::write(&cfg, format!("basic_auth_users:\n  prometheus: '{new}'\n")).unwrap();
    // The same keep-alive connection, the old password, until the reload applies.
    let deadline = Instant::now() + Duration::from_secs(10);
    let head = loop {
        conn.write_all(request.as_bytes()).unwrap();
        let (status, head, _) = read_response(&mut conn);
        if status == 401 {
            break head;
        }
        assert_eq!(status, 200, "{head}");
        assert!(
            Instant::now() < deadline,
            "the old password still works on an open connection:\n{}",
            ex.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(
        head.to_ascii_lowercase().contains("connection: close"),
        "{head}"
    );
    // No keep-alive after a 401: the server ends the connection.
    assert_closed(&mut conn, "after a 401");
    // The new password works.
    let mut fresh = connect(ex.addr);
    write!(
        fresh,
        "GET /metrics HTTP/1.1\r\nHost: x\r\n{}\r\n",
        basic_header("prometheus", "new horse")
    )
    .unwrap();
    assert_eq!(read_response(&mut fresh).0, 200);
    // Without credentials: 401, then closed too.
    let mut anon = connect(ex.addr);
    anon.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut anon).0, 401);
    assert_closed(&mut anon, "after a 401 without credentials");
}

#[test]
fn a_429_closes_the_connection() {
    let logs = TempLogs::new();
    let cfg = logs.tmp.path().join("web.yml");
    std::fs::write(&cfg, "rate_limit:\n  interval: 1h\n  burst: 1\n").unwrap();
    let ex = start(&logs, &cfg, &[]);
    let mut conn = connect(ex.addr);
    conn.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut conn).0, 200);
    conn.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (status, head, _) = read_response(&mut conn);
    assert_eq!(status, 429, "{head}");
    assert_closed(&mut conn, "after a 429");
}

#[test]
fn idle_keep_alive_connections_are_closed() {
    let logs = TempLogs::new();
    let cfg = logs.tmp.path().join("web.yml");
    std::fs::write(&cfg, "{}\n").unwrap();
    let ex = start(&logs, &cfg, &["--web.read-header-timeout", "1s"]);
    let mut conn = connect(ex.addr);
    conn.write_all(b"GET /-/healthy HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    assert_eq!(read_response(&mut conn).0, 200);
    let t0 = Instant::now();
    assert_closed(&mut conn, "idle after a response");
    assert!(
        t0.elapsed() >= Duration::from_millis(900),
        "closed after {:?}, before the timeout",
        t0.elapsed()
    );
}

#[test]
fn a_client_that_reads_nothing_is_cut_off() {
    let logs = TempLogs::new();
    let cfg = logs.tmp.path().join("web.yml");
    std::fs::write(&cfg, "{}\n").unwrap();
    let ex = start(&logs, &cfg, &["--web.write-timeout", "1s"]);
    // A small receive buffer and many pipelined requests: the responses cannot all fit.
    let mut conn = socket_with_small_buffer_to(ex.addr);
    let t0 = Instant::now();
    let many = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n".repeat(200);
    conn.write_all(many.as_bytes()).unwrap();
    ex.wait_log("the client read nothing of the response within --web.write-timeout");
    assert!(t0.elapsed() >= Duration::from_secs(1), "{:?}", t0.elapsed());
    // What was sent before the cut-off can be read, then the connection ends.
    conn.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut got = 0usize;
    let mut buf = vec![0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
        assert!(Instant::now() < deadline, "the connection never ended");
    }
    let one = http_get(ex.addr, "/metrics").1.len();
    assert!(
        got < 200 * one,
        "every response arrived ({got} bytes): nothing was cut off"
    );
}

/// A connection to `addr` whose receive buffer is as small as the system allows.
fn socket_with_small_buffer_to(addr: SocketAddr) -> TcpStream {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        s.set_recv_buffer_size(4096).unwrap();
        let s = s.connect(addr).await.unwrap().into_std().unwrap();
        s.set_nonblocking(false).unwrap();
        s
    })
}

/// A failed state-file save answers 500 without the file's path (the client may be anyone);
/// the path is in the exporter's log. Scraping recovers once the file can be written.
#[test]
fn a_500_does_not_show_the_state_file_path() {
    let logs = TempLogs::new();
    let state = logs.tmp.path().join("state.json");
    let ex = Exporter::start(&[
        "--xmail.log-dir",
        logs.xmail.to_str().unwrap(),
        "--webmail.log-dir",
        "",
        "--tail.state-file",
        state.to_str().unwrap(),
        "--tail.poll-interval",
        "50ms",
        "--tail.from-beginning",
    ]);
    assert_eq!(ex.get("/metrics").0, 200);
    // The temporary file is written beside the state file: a directory there makes every
    // save fail, as root too.
    let tmp = logs.tmp.path().join("state.json.tmp");
    std::fs::create_dir(&tmp).unwrap();
    let line = crate::util::smtp_line("192.0.2.1", "2026-11-28 10:00:00", "S1", "RCPT=OK", "", 10);
    logs.append("smtp-202611280000", &line);
    let deadline = Instant::now() + Duration::from_secs(10);
    let body = loop {
        let (status, body) = ex.get("/metrics");
        if status == 500 {
            break body;
        }
        assert_eq!(status, 200, "{body}");
        assert!(Instant::now() < deadline, "never 500:\n{}", ex.log());
        std::thread::sleep(Duration::from_millis(20));
    };
    let dir = logs.tmp.path().to_str().unwrap().to_string();
    assert!(
        !body.contains(&dir) && !body.contains("state.json"),
        "the body shows a local path: {body}"
    );
    assert!(body.contains("state file"), "the body says nothing: {body}");
    // In the quoted logfmt message, as a Windows path's backslashes are: doubled.
    ex.wait_log(&state.to_str().unwrap().replace('\\', "\\\\"));
    std::fs::remove_dir(&tmp).unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while ex.get("/metrics").0 != 200 {
        assert!(Instant::now() < deadline, "never recovered:\n{}", ex.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let saved = std::fs::read_to_string(&state).unwrap();
    assert!(saved.contains("smtp-202611280000"), "{saved}");
}
