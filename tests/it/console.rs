//! The mail desk (`--web.enable-console`) over HTTP: off by default, who may use it, the API
//! against the `trace` command, bad requests, hostile log text, and the recent refusals.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::time::Duration;

use base64::Engine;

use crate::util::{Exporter, TempLogs, http_get, root, run_exporter, smtp_line};

/// A GET with optional basic credentials and extra headers: status, head, body.
fn get(
    addr: SocketAddr,
    path: &str,
    login: Option<(&str, &str)>,
    headers: &[(&str, &str)],
) -> (u16, String, String) {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some((u, p)) = login {
        let token = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        req.push_str(&format!("Authorization: Basic {token}\r\n"));
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, head.to_ascii_lowercase(), body.to_string())
}

const DESK: Option<(&str, &str)> = Some(("desk", "desk horse"));
const SCRAPER: Option<(&str, &str)> = Some(("prometheus", "scrape horse"));

/// The sample XMail logs copied into a temporary directory, with a web config of two users
/// (the scrape user and a desk user) and a config that lets the desk user in.
struct Desk {
    logs: TempLogs,
    web: std::path::PathBuf,
    config: std::path::PathBuf,
}

impl Desk {
    fn new() -> Desk {
        let logs = TempLogs::new();
        let src = root().join("examples/logs/xmail");
        for e in std::fs::read_dir(&src).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), logs.xmail.join(e.file_name())).unwrap();
        }
        let dir = logs.tmp.path();
        let web = dir.join("web.yml");
        std::fs::write(
            &web,
            format!(
                "basic_auth_users:\n  prometheus: '{}'\n  desk: '{}'\n",
                bcrypt::hash("scrape horse", 4).unwrap(),
                bcrypt::hash("desk horse", 4).unwrap()
            ),
        )
        .unwrap();
        let config = dir.join("config.yml");
        std::fs::write(&config, "timezone: Asia/Seoul\nconsole:\n  users: [desk]\n").unwrap();
        Desk { logs, web, config }
    }

    fn start(&self) -> Exporter {
        Exporter::start(&[
            "--tail.from-beginning",
            "--xmail.log-dir",
            self.logs.xmail.to_str().unwrap(),
            "--webmail.log-dir",
            self.logs.webmail.to_str().unwrap(),
            "--xmail.spool-dir",
            "",
            "--web.config.file",
            self.web.to_str().unwrap(),
            "--config",
            self.config.to_str().unwrap(),
            "--web.enable-console",
        ])
    }
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

#[test]
fn off_by_default() {
    let logs = TempLogs::new();
    let ex = Exporter::start(&["--xmail.log-dir", logs.xmail.to_str().unwrap()]);
    for path in ["/trace?q=S1", "/api/v1/trace?q=S1", "/api/v1/summary"] {
        assert_eq!(http_get(ex.addr, path).0, 404, "{path}");
    }
    let (status, body) = http_get(ex.addr, "/");
    assert_eq!(status, 200);
    assert!(
        body.contains("/metrics") && !body.contains("mail desk"),
        "{body}"
    );
}

#[test]
fn it_will_not_start_without_a_login() {
    let d = Desk::new();
    let bin_args = |web: &Path, config: &Path| {
        let (ok, _, err) = run_exporter(&[
            "--web.listen-address",
            "127.0.0.1:0",
            "--xmail.log-dir",
            d.logs.xmail.to_str().unwrap(),
            "--web.config.file",
            web.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--web.enable-console",
        ]);
        assert!(!ok);
        err
    };
    let no_users = d.logs.tmp.path().join("plain.yml");
    std::fs::write(&no_users, "http_server_config:\n  headers: {}\n").unwrap();
    let err = bin_args(&no_users, &d.config);
    assert!(err.contains("basic_auth_users"), "{err}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    let no_console = d.logs.tmp.path().join("no-console.yml");
    std::fs::write(&no_console, "timezone: Asia/Seoul\n").unwrap();
    let err = bin_args(&d.web, &no_console);
    assert!(err.contains("console: users:"), "{err}");
    let stranger = d.logs.tmp.path().join("stranger.yml");
    std::fs::write(&stranger, "console:\n  users: [nobody]\n").unwrap();
    let err = bin_args(&d.web, &stranger);
    assert!(err.contains("none of console.users"), "{err}");
}

#[test]
fn only_console_users_get_in() {
    let d = Desk::new();
    let ex = d.start();
    for path in [
        "/",
        "/trace?q=S293D9",
        "/api/v1/trace?q=S293D9",
        "/api/v1/summary",
    ] {
        let (status, head, _) = get(ex.addr, path, None, &[]);
        assert_eq!(status, 401, "{path} without credentials");
        assert!(head.contains("www-authenticate: basic"), "{head}");
        assert_eq!(
            get(ex.addr, path, Some(("desk", "wrong")), &[]).0,
            401,
            "{path}"
        );
        let (status, _, body) = get(ex.addr, path, SCRAPER, &[]);
        assert_eq!(status, 403, "{path} as the scrape user");
        if path.starts_with("/api/") {
            assert!(json(&body)["error"].as_str().unwrap().contains("console"));
        }
        assert_eq!(
            get(ex.addr, path, DESK, &[]).0,
            200,
            "{path} as the desk user"
        );
    }
    // The scrape user still scrapes; the desk user is a user of the web config too.
    assert_eq!(get(ex.addr, "/metrics", SCRAPER, &[]).0, 200);
    assert_eq!(get(ex.addr, "/metrics", None, &[]).0, 401);
    let (_, head, _) = get(ex.addr, "/", DESK, &[]);
    assert!(
        head.contains("content-security-policy: default-src 'none'; style-src 'sha256-"),
        "{head}"
    );
    assert!(head.contains("cache-control: no-store"), "{head}");
}

#[test]
fn the_api_answers_what_trace_prints() {
    let d = Desk::new();
    let ex = d.start();
    for (q, lang) in [
        ("S293D9", "en"),
        ("S293DF", "ko"),
        ("lee@example.co.kr", "en"),
        ("KIM@example.co.kr", "ko"),
    ] {
        let path = format!("/api/v1/trace?q={q}&since=2026-11-20&until=2026-11-30&lang={lang}");
        let (status, head, body) = get(ex.addr, &path, DESK, &[]);
        assert_eq!(status, 200, "{path}: {body}");
        assert!(head.contains("content-type: application/json"), "{head}");
        let (ok, out, err) = run_exporter(&[
            "trace",
            "--xmail.log-dir",
            d.logs.xmail.to_str().unwrap(),
            "--since",
            "2026-11-20",
            "--until",
            "2026-11-30",
            "--lang",
            lang,
            "--format",
            "json",
            q,
        ]);
        assert!(ok, "{err}");
        assert_eq!(json(&body), json(&out), "{path}");
        assert!(!json(&body).as_array().unwrap().is_empty(), "{path}");
    }
}

#[test]
fn bad_requests_are_400_with_a_message() {
    let d = Desk::new();
    let ex = d.start();
    for (path, says) in [
        ("/api/v1/trace", "q must be"),
        ("/api/v1/trace?q=S1&since=yesterday", "YYYY-MM-DD"),
        (
            "/api/v1/trace?q=S1&since=2026-01-01&until=2026-03-01",
            "31 days",
        ),
        (
            "/api/v1/trace?q=S1&since=2026-03-01&until=2026-01-01",
            "before",
        ),
        ("/api/v1/summary?until=2026-13-45", "YYYY-MM-DD"),
    ] {
        let (status, _, body) = get(ex.addr, path, DESK, &[]);
        assert_eq!(status, 400, "{path}: {body}");
        assert!(
            json(&body)["error"].as_str().unwrap().contains(says),
            "{path}: {body}"
        );
    }
    let long = format!("/trace?q={}", "a".repeat(300));
    assert_eq!(get(ex.addr, &long, DESK, &[]).0, 400);
}

#[test]
fn hostile_log_text_stays_text_and_refusals_show() {
    let d = Desk::new();
    let ex = d.start();
    let scraped = |what: &str, cond: &dyn Fn(&str) -> bool| {
        let t0 = std::time::Instant::now();
        loop {
            let (_, _, body) = get(ex.addr, "/metrics", SCRAPER, &[]);
            if cond(&body) {
                return;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "{what} never counted"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    scraped("the sample lines", &|m| m.contains("RCPT=EAVAIL"));
    // A refused recipient whose address and HELO carry markup.
    let mut line = smtp_line(
        "203.0.113.66",
        "2026-11-28 10:00:00",
        "",
        "RCPT=EAVAIL",
        "",
        0,
    );
    let text = String::from_utf8(line.clone()).unwrap();
    let hostile = text
        .replacen(
            "\"a@example.net\"",
            "\"<script>alert(1)</script>@example.net\"",
            1,
        )
        .replacen(
            "\"kim@example.co.kr\"",
            "\"<img src=x onerror=alert(1)>@example.co.kr\"",
            1,
        )
        .replacen(
            "\"client.example.net\"",
            "\"<img src=x onerror=alert(2)>\"",
            1,
        );
    assert_ne!(hostile, text, "smtp_line's fields changed: {text}");
    line = hostile.into_bytes();
    let before = get(ex.addr, "/", DESK, &[]).2;
    assert!(!before.contains("203.0.113.66"));
    d.logs.append("smtp-202611281000", &line);
    scraped("the hostile line", &|m| {
        m.lines().any(|l| {
            l.starts_with("xmail_mail_refused_total{stage=\"recipient\"}")
                && l.split_whitespace()
                    .last()
                    .and_then(|v| v.parse::<f64>().ok())
                    >= Some(10.0)
        })
    });
    let (status, _, body) = get(ex.addr, "/", DESK, &[]);
    assert_eq!(status, 200);
    assert!(body.contains("203.0.113.66"), "the refusal is listed");
    assert!(
        !body.contains("<script>alert") && !body.contains("<img src=x"),
        "{body}"
    );
    assert!(
        body.contains("&lt;img src=x onerror=alert(1)&gt;@example.co.kr: refused"),
        "{body}"
    );
    let (_, _, body) = get(
        ex.addr,
        "/trace?q=%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%40example.co.kr&since=2026-11-28&until=2026-11-28",
        DESK,
        &[],
    );
    assert!(!body.contains("<img src=x"), "{body}");
    assert!(
        body.contains("&lt;img src=x onerror=alert(1)&gt;"),
        "{body}"
    );
}

#[test]
fn korean_from_the_browser_or_the_url() {
    let d = Desk::new();
    let ex = d.start();
    let (_, _, body) = get(
        ex.addr,
        "/",
        DESK,
        &[("Accept-Language", "ko-KR,ko;q=0.9,en;q=0.8")],
    );
    assert!(
        body.contains("<html lang=\"ko\">") && body.contains("메일 데스크"),
        "{body}"
    );
    let (_, _, body) = get(
        ex.addr,
        "/trace?q=S293D9&since=2026-11-20&until=2026-11-30&lang=en",
        DESK,
        &[("Accept-Language", "ko")],
    );
    assert!(
        body.contains("<html lang=\"en\">") && body.contains("S293D9"),
        "{body}"
    );
    let (_, _, body) = get(
        ex.addr,
        "/trace?q=S293D9&since=2026-11-20&until=2026-11-30&lang=ko",
        DESK,
        &[],
    );
    assert!(body.contains("수신자") || body.contains("전달"), "{body}");
}

#[test]
fn the_summary_api_answers_what_report_prints() {
    let d = Desk::new();
    let ex = d.start();
    for (since, until, lang) in [
        ("2026-11-27", "2026-11-27", "en"),
        ("2026-11-20", "2026-11-30", "ko"),
    ] {
        let path = format!("/api/v1/summary?since={since}&until={until}&lang={lang}");
        let (status, _, body) = get(ex.addr, &path, DESK, &[]);
        assert_eq!(status, 200, "{path}: {body}");
        let (ok, out, err) = run_exporter(&[
            "report",
            "--format",
            "json",
            "--top",
            "10",
            "--lang",
            lang,
            "--since",
            since,
            "--until",
            until,
            "--config",
            d.config.to_str().unwrap(),
            d.logs.xmail.to_str().unwrap(),
            d.logs.webmail.to_str().unwrap(),
        ]);
        assert!(ok, "{err}");
        assert_eq!(json(&body), json(&out), "{path}");
        assert!(
            json(&body)["totals"]["received"].as_u64().unwrap() > 0,
            "{path}"
        );
    }
    // Without a range: the 7 days up to the newest log line (the samples end on 2026-11-27).
    let (_, _, body) = get(ex.addr, "/api/v1/summary", DESK, &[]);
    let range = &json(&body)["period"]["range"];
    assert_eq!(range["since"], "2026-11-21 00:00:00", "{body}");
    assert_eq!(range["until"], "2026-11-27 23:59:59", "{body}");
}
