//! The exporter as a user runs it: lines appended to real files, scraped over HTTP.

use std::time::Duration;

use crate::util::{
    Exporter, Scrape, TempLogs, append, http_request, promtool_check_metrics, root, smtp_line,
};

fn start(logs: &TempLogs, extra: &[&str]) -> Exporter {
    let config = root().join("tests/fixtures/seoul.yml");
    let mut args = vec![
        "--xmail.log-dir",
        logs.xmail.to_str().unwrap(),
        "--webmail.log-dir",
        logs.webmail.to_str().unwrap(),
        "--tail.poll-interval",
        "100ms",
        "--config",
        config.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    Exporter::start(&args)
}

fn wait_ready(ex: &Exporter) {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while ex.get("/-/ready").0 != 200 {
        assert!(
            std::time::Instant::now() < deadline,
            "never ready:\n{}",
            ex.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

const LINES: &str = "xmail_exporter_log_lines_total";

fn lines(s: &Scrape, log: &str, result: &str) -> f64 {
    s.value(LINES, &[("log", log), ("result", result)])
}

fn per_log(s: &Scrape, name: &str, log: &str) -> f64 {
    s.value(name, &[("log", log)])
}

#[test]
fn appended_lines_are_counted_exactly() {
    let logs = TempLogs::new();
    // Present before start-up: not counted (the default start is at the end).
    logs.append(
        "smtp-202611270000",
        &smtp_line("192.0.2.1", "2026-11-27 23:59:00", "S0", "RECV=OK", "", 100),
    );
    logs.append("smail-202611270000", b"");
    logs.append_web("error-20261127.txt", b"[2026-11-27 23:00:00] old error\n");
    let ex = start(&logs, &[]);
    wait_ready(&ex);
    let s = ex.scrape();
    assert_eq!(lines(&s, "smtp", "parsed"), 0.0);
    assert_eq!(lines(&s, "webmail", "parsed"), 0.0);
    let mut smtp_bytes = 0usize;

    // A whole line.
    let recv = smtp_line(
        "198.51.100.41",
        "2026-11-28 09:00:00",
        "S1",
        "RECV=OK",
        "",
        5321,
    );
    logs.append("smtp-202611270000", &recv);
    smtp_bytes += recv.len();
    ex.wait_for("the first line", |s| lines(s, "smtp", "parsed") == 1.0);

    // A line written in two pieces counts once, when its LF arrives.
    let rcpt = smtp_line(
        "203.0.113.5",
        "2026-11-28 09:00:01",
        "S2",
        "RCPT=OK",
        "kim@example.co.kr",
        0,
    );
    let (first, second) = rcpt.split_at(40);
    logs.append("smtp-202611270000", first);
    let s = ex.wait_for("the partial line to be seen", |s| {
        per_log(s, "xmail_exporter_log_lag_bytes", "smtp") == 40.0
    });
    assert_eq!(lines(&s, "smtp", "parsed"), 1.0);
    logs.append("smtp-202611270000", second);
    smtp_bytes += rcpt.len();
    ex.wait_for("the completed line", |s| lines(s, "smtp", "parsed") == 2.0);

    // A CRLF line, as the Windows build writes.
    let mut auth = smtp_line(
        "203.0.113.9",
        "2026-11-28 09:00:02",
        "",
        "AUTH=EFAIL:TYPE=PLAIN",
        "",
        0,
    );
    auth.pop();
    auth.extend_from_slice(b"\r\n");
    logs.append("smtp-202611270000", &auth);
    smtp_bytes += auth.len();
    ex.wait_for("the CRLF line", |s| lines(s, "smtp", "parsed") == 3.0);

    // A malformed line and a line over 64 KiB: counted as malformed, nothing else moves.
    let junk = b"this is not an XMail record\n";
    logs.append("smtp-202611270000", junk);
    smtp_bytes += junk.len();
    ex.wait_for("the malformed line", |s| {
        lines(s, "smtp", "malformed") == 1.0
    });
    let mut long = vec![b'"'; 70_000];
    long.push(b'\n');
    logs.append("smtp-202611270000", &long);
    smtp_bytes += long.len();
    ex.wait_for("the over-long line", |s| {
        lines(s, "smtp", "malformed") == 2.0
    });

    // XMail starts a new time-named file; a late line still lands in the old one.
    let dnsbl = smtp_line(
        "203.0.113.45",
        "2026-11-28 09:00:03",
        "",
        "SNDRIP=EIPMAP (zen.spamhaus.org.)",
        "",
        0,
    );
    logs.append("smtp-202611280000", &dnsbl);
    smtp_bytes += dnsbl.len();
    ex.wait_for("the new file", |s| lines(s, "smtp", "parsed") == 4.0);
    let late = smtp_line(
        "127.0.0.1",
        "2026-11-28 09:00:04",
        "S3",
        "RCPT=OK",
        "lee@example.co.kr",
        0,
    );
    logs.append("smtp-202611270000", &late);
    smtp_bytes += late.len();
    ex.wait_for("the late line in the old file", |s| {
        lines(s, "smtp", "parsed") == 5.0
    });

    // Truncation: the file is read again from the start.
    std::fs::File::options()
        .write(true)
        .open(logs.xmail.join("smtp-202611280000"))
        .unwrap()
        .set_len(0)
        .unwrap();
    ex.wait_for("the truncation", |s| {
        per_log(s, "xmail_exporter_log_truncations_total", "smtp") == 1.0
    });
    let relay = smtp_line(
        "198.51.100.7",
        "2026-11-28 09:00:05",
        "S4",
        "RCPT=ERELAY",
        "",
        0,
    );
    logs.append("smtp-202611280000", &relay);
    smtp_bytes += relay.len();
    ex.wait_for("the line after truncation", |s| {
        lines(s, "smtp", "parsed") == 6.0
    });

    // SMAIL: a 1.25+ line with a remote reply holding non-UTF-8 bytes, and a seed-era 8-field line.
    let mut smail9 = b"\"example.co.kr\"\t\"1795705274655.7f3a.1f4c.3a11.mail\"\t\"S1\"\t\"a@example.net\"\t\"x@gmail.com\"\t\"SMTP\"\t\"gmail-smtp-in.l.google.com\"\t\"2026-11-28 09:00:06\"\t\"250 \xbf\xc0\xb7\xf9 \"ok\"\"\n".to_vec();
    let smail8 = b"\"to.com\"\t\"1176750679692.2799696816.3f99e.eml\"\t\"X2\"\t\"\"\t\"admin@to.com\"\t\"LOCAL\"\t\"admin@to.com\"\t\"2026-11-28 09:00:07\"\n";
    smail9.extend_from_slice(smail8);
    logs.append("smail-202611270000", &smail9);
    ex.wait_for("the SMAIL lines", |s| lines(s, "smail", "parsed") == 2.0);

    // Webmail: an EUC-KR line and a UTF-8 line without a timestamp; a blank line is no error.
    let (euc, _, _) = encoding_rs::EUC_KR.encode("[2026-11-28 09:00:08] 로그인 실패\n");
    logs.append_web("error-20261128.txt", &euc);
    logs.append_web("error-20261128.txt", "\nSMTP 발송 실패\n".as_bytes());
    // A scrape gathers one family after another while the tail thread goes on (and the
    // per-category counts are published once per read): wait until the errors and their event
    // time are in too, not only the line count.
    let s = ex.wait_for("the webmail lines", |s| {
        lines(s, "webmail", "parsed") == 2.0
            && s.sum("xmail_webmail_errors_total") == 2.0
            && per_log(
                s,
                "xmail_exporter_log_last_event_timestamp_seconds",
                "webmail",
            ) > 0.0
    });

    // Everything, exactly.
    let ev = |status: &str, source: &str| {
        s.value(
            "xmail_smtp_events_total",
            &[("status", status), ("source", source)],
        )
    };
    assert_eq!(ev("RECV=OK", "external"), 1.0);
    assert_eq!(ev("RCPT=OK", "authenticated"), 1.0);
    assert_eq!(ev("AUTH=EFAIL", "external"), 1.0);
    assert_eq!(ev("SNDRIP=EIPMAP", "external"), 1.0);
    assert_eq!(ev("RCPT=OK", "webmail"), 1.0);
    assert_eq!(ev("RCPT=ERELAY", "external"), 1.0);
    assert_eq!(s.sum("xmail_smtp_events_total"), 6.0);
    assert_eq!(
        s.value(
            "xmail_smtp_message_size_bytes_count",
            &[("source", "external")]
        ),
        1.0
    );
    assert_eq!(
        s.value(
            "xmail_smtp_message_size_bytes_sum",
            &[("source", "external")]
        ),
        5321.0
    );
    assert_eq!(
        s.value(
            "xmail_smtp_message_size_bytes_bucket",
            &[("source", "external"), ("le", "4096")]
        ),
        0.0
    );
    assert_eq!(
        s.value(
            "xmail_smtp_message_size_bytes_bucket",
            &[("source", "external"), ("le", "16384")]
        ),
        1.0
    );
    assert_eq!(
        s.value(
            "xmail_smtp_dnsbl_refusals_total",
            &[("list", "zen.spamhaus.org.")]
        ),
        1.0
    );
    assert_eq!(
        s.value("xmail_smtp_auth_failures_total", &[("mechanism", "PLAIN")]),
        1.0
    );
    assert_eq!(
        s.value(
            "xmail_smail_records_total",
            &[("type", "SMTP"), ("origin", "smtp")]
        ),
        1.0
    );
    assert_eq!(
        s.value(
            "xmail_smail_records_total",
            &[("type", "LOCAL"), ("origin", "bounce")]
        ),
        1.0
    );
    assert_eq!(s.sum("xmail_smail_records_total"), 2.0);
    assert_eq!(
        s.value("xmail_webmail_errors_total", &[("category", "auth")]),
        1.0
    );
    assert_eq!(
        s.value("xmail_webmail_errors_total", &[("category", "smtp")]),
        1.0
    );
    assert_eq!(s.sum("xmail_webmail_errors_total"), 2.0);
    assert_eq!(lines(&s, "smtp", "malformed"), 2.0);
    assert_eq!(lines(&s, "smail", "malformed"), 0.0);
    assert_eq!(lines(&s, "webmail", "malformed"), 0.0);
    assert_eq!(
        per_log(&s, "xmail_exporter_log_read_bytes_total", "smtp"),
        smtp_bytes as f64
    );
    assert_eq!(
        per_log(&s, "xmail_exporter_log_read_bytes_total", "smail"),
        smail9.len() as f64
    );
    for log in ["smtp", "smail", "webmail"] {
        assert_eq!(
            per_log(&s, "xmail_exporter_log_lag_bytes", log),
            0.0,
            "{log}"
        );
        assert_eq!(
            per_log(&s, "xmail_exporter_log_read_errors_total", log),
            0.0,
            "{log}"
        );
    }
    assert_eq!(
        per_log(&s, "xmail_exporter_log_rotations_total", "smtp"),
        1.0
    );
    assert_eq!(
        per_log(&s, "xmail_exporter_log_rotations_total", "smail"),
        0.0
    );
    assert_eq!(
        per_log(&s, "xmail_exporter_log_rotations_total", "webmail"),
        1.0
    );
    assert_eq!(
        per_log(&s, "xmail_exporter_log_truncations_total", "smtp"),
        1.0
    );
    // 2026-11-28 09:00:05 KST = 00:00:05 UTC; the webmail line at 09:00:08 KST.
    assert_eq!(
        per_log(
            &s,
            "xmail_exporter_log_last_event_timestamp_seconds",
            "smtp"
        ),
        1_795_824_005.0
    );
    assert_eq!(
        per_log(
            &s,
            "xmail_exporter_log_last_event_timestamp_seconds",
            "smail"
        ),
        1_795_824_007.0
    );
    assert_eq!(
        per_log(
            &s,
            "xmail_exporter_log_last_event_timestamp_seconds",
            "webmail"
        ),
        1_795_824_008.0
    );
    assert!(s.text.contains("xmail_exporter_build_info{"));
    #[cfg(target_os = "linux")]
    assert!(s.value("process_resident_memory_bytes", &[]) > 0.0);
    promtool_check_metrics(&s.text);
}

#[test]
fn http_endpoints() {
    let logs = TempLogs::new();
    let ex = start(&logs, &["--web.telemetry-path", "/custom"]);
    wait_ready(&ex);
    let (status, body) = ex.get("/");
    assert_eq!(status, 200);
    assert!(body.contains("href=\"/custom\""), "{body}");
    assert_eq!(ex.get("/-/healthy").0, 200);
    assert_eq!(ex.get("/custom").0, 200);
    assert_eq!(ex.get("/metrics").0, 404);
    assert_eq!(ex.get("/nope").0, 404);
    assert_eq!(http_request(ex.addr, "POST", "/custom").0, 405);
    let (status, body) = http_request(ex.addr, "HEAD", "/custom");
    assert_eq!((status, body.as_str()), (200, ""));
}

const DIR_EXISTS: &str = "xmail_exporter_log_directory_exists";

/// A host without Nmail: the webmail directory does not exist. That is a state, shown by
/// `xmail_exporter_log_directory_exists`, logged once, with no read errors, and the exporter
/// is ready; when the directory appears it is followed.
#[test]
fn a_missing_webmail_directory_is_a_state_not_an_error() {
    let logs = TempLogs::new();
    std::fs::remove_dir(&logs.webmail).unwrap();
    let ex = start(&logs, &[]);
    wait_ready(&ex);
    let s = ex.wait_for("the directory states", |s| {
        s.get(DIR_EXISTS, &[("log", "webmail")]).is_some()
    });
    assert_eq!(per_log(&s, DIR_EXISTS, "webmail"), 0.0);
    for log in ["smtp", "smail", "pop3"] {
        assert_eq!(per_log(&s, DIR_EXISTS, log), 1.0, "{log}");
    }
    ex.wait_log("log directory does not exist");
    // A few poll intervals (100 ms) later: still no read error, still ready.
    std::thread::sleep(Duration::from_millis(600));
    let s = ex.scrape();
    assert_eq!(
        s.sum("xmail_exporter_log_read_errors_total"),
        0.0,
        "{}",
        s.text
    );
    assert_eq!(ex.get("/-/ready").0, 200);
    assert_eq!(ex.log().matches("log directory does not exist").count(), 1);
    assert_eq!(ex.get("/-/healthy").0, 200);
    std::fs::create_dir(&logs.webmail).unwrap();
    // Files in a directory that appears later are new: read from their beginning.
    append(
        &logs.webmail.join("error-20261128.txt"),
        b"[2026-11-28 10:00:00] login failed\n",
    );
    // The directory's state is published after the pass that read the line: wait for both.
    let s = ex.wait_for("the webmail line", |s| {
        lines(s, "webmail", "parsed") == 1.0 && per_log(s, DIR_EXISTS, "webmail") == 1.0
    });
    assert_eq!(per_log(&s, DIR_EXISTS, "webmail"), 1.0);
    assert_eq!(s.sum("xmail_exporter_log_read_errors_total"), 0.0);
    assert_eq!(ex.get("/-/ready").0, 200);
}

/// Without a webmail directory configured at all, no webmail directory state is exported.
#[test]
fn no_webmail_directory_configured() {
    let logs = TempLogs::new();
    let config = root().join("tests/fixtures/seoul.yml");
    let ex = Exporter::start(&[
        "--xmail.log-dir",
        logs.xmail.to_str().unwrap(),
        "--webmail.log-dir",
        "",
        "--tail.poll-interval",
        "100ms",
        "--config",
        config.to_str().unwrap(),
    ]);
    wait_ready(&ex);
    let s = ex.wait_for("the directory states", |s| {
        s.get(DIR_EXISTS, &[("log", "smtp")]).is_some()
    });
    assert_eq!(s.get(DIR_EXISTS, &[("log", "webmail")]), None, "{}", s.text);
}

/// A PHP stack trace in the webmail log is one error; its lines are read (`parsed`).
#[test]
fn a_php_stack_trace_is_one_webmail_error() {
    let logs = TempLogs::new();
    let ex = start(&logs, &[]);
    wait_ready(&ex);
    let sample =
        std::fs::read(root().join("examples/webmail-stack-trace/error-20261128.txt")).unwrap();
    let n_lines = sample.iter().filter(|&&b| b == b'\n').count() as f64;
    logs.append_web("error-20261128.txt", &sample);
    // The line count and the error counts are separate families of one scrape: wait for both.
    let s = ex.wait_for("the trace", |s| {
        lines(s, "webmail", "parsed") == n_lines && s.sum("xmail_webmail_errors_total") == 2.0
    });
    assert_eq!(s.sum("xmail_webmail_errors_total"), 2.0, "{}", s.text);
    assert_eq!(
        s.value("xmail_webmail_errors_total", &[("category", "mailbox")]),
        1.0
    );
    assert_eq!(lines(&s, "webmail", "malformed"), 0.0);
}

#[test]
fn from_beginning_reads_existing_files() {
    let logs = TempLogs::new();
    logs.append(
        "smtp-202611270000",
        &smtp_line("192.0.2.1", "2026-11-27 23:59:00", "S0", "RECV=OK", "", 100),
    );
    let ex = start(&logs, &["--tail.from-beginning"]);
    ex.wait_for("the existing line", |s| lines(s, "smtp", "parsed") == 1.0);
}

#[cfg(unix)]
#[test]
fn sigterm_shuts_down_cleanly() {
    let logs = TempLogs::new();
    let ex = start(&logs, &[]);
    wait_ready(&ex);
    let log_so_far = ex.log();
    let status = ex.terminate();
    assert!(status.success(), "{status:?}\n{log_so_far}");
}

#[test]
fn a_taken_port_is_one_clear_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let out = crate::util::output_of(
        std::process::Command::new(crate::util::exporter_bin()).args([
            "--web.listen-address",
            &addr,
            "--xmail.log-dir",
            "/nonexistent",
        ]),
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("xmail_exporter: cannot listen on ")
            && last.contains("--web.listen-address"),
        "{err}"
    );
}

#[test]
fn the_spool_is_counted() {
    let logs = TempLogs::new();
    let spool = logs.tmp.path().join("spool");
    for (dir, n) in [
        ("0/0/mess", 2),
        ("3/7/mess", 1),
        ("3/7/rsnd", 3),
        ("12/1/froz", 1),
        ("local", 1),
        ("temp", 0),
    ] {
        std::fs::create_dir_all(spool.join(dir)).unwrap();
        for i in 0..n {
            std::fs::write(
                spool
                    .join(dir)
                    .join(format!("17957052734{i}.7f3a.1f4c.3a10.mail")),
                b"x",
            )
            .unwrap();
        }
    }
    std::fs::create_dir_all(spool.join("3/7/info")).unwrap();
    std::fs::write(spool.join("3/7/info/17957052734.7f3a.1f4c.3a10.mail"), b"x").unwrap();
    let ex = start(
        &logs,
        &[
            "--xmail.spool-dir",
            spool.to_str().unwrap(),
            "--xmail.spool-scan-interval",
            "100ms",
        ],
    );
    let q = |s: &Scrape, queue: &str| s.value("xmail_spool_messages", &[("queue", queue)]);
    // Absent (not 0) until the first scan completes.
    let s = ex.wait_for("the spool count", |s| {
        s.get("xmail_spool_messages", &[("queue", "queued")]) == Some(3.0)
    });
    assert_eq!(
        (
            q(&s, "retry"),
            q(&s, "frozen"),
            q(&s, "local"),
            q(&s, "temp")
        ),
        (3.0, 1.0, 1.0, 0.0)
    );
    assert_eq!(s.value("xmail_exporter_spool_scan_errors_total", &[]), 0.0);
    // A message is frozen: the next scan sees it.
    std::fs::write(
        spool.join("12/1/froz/17957052739.7f3a.1f4c.3a11.mail"),
        b"x",
    )
    .unwrap();
    ex.wait_for("the second frozen message", |s| q(s, "frozen") == 2.0);
    // The names carry the times: a second ago, so no message is 15 minutes old.
    for queue in ["queued", "retry"] {
        let age = s.value(
            "xmail_spool_oldest_message_age_seconds",
            &[("queue", queue)],
        );
        assert!(age > 0.0, "{queue}: {age}");
        assert_eq!(
            s.value(
                "xmail_spool_messages_older_than",
                &[("queue", queue), ("age", "15m")]
            ),
            if age > 900.0 { 1.0 } else { 0.0 }
        );
    }
    // The spool goes away: errors are counted, the last good values stay, the logs are
    // still read.
    remove_dir_all_while_scanned(&spool);
    let s = ex.wait_for("a scan error", |s| {
        s.value("xmail_exporter_spool_scan_errors_total", &[]) >= 1.0
    });
    assert_eq!(q(&s, "frozen"), 2.0);
    assert_eq!(ex.get("/-/ready").0, 200);
}

/// Takes `dir`, which the exporter scans every 100 ms, away at once: renamed (atomic, so no
/// scan sees it half removed), then removed. On Windows a directory another process is
/// listing cannot be renamed at that instant ("Sharing violation", error 32, or "Access
/// denied", 5): try again for up to 5 s.
fn remove_dir_all_while_scanned(dir: &std::path::Path) {
    let gone = dir.with_extension("gone");
    let what = format!("renaming {}", dir.display());
    crate::util::retry_on_windows(&what, &[5, 32], 100, Duration::from_millis(50), || {
        std::fs::rename(dir, &gone)
    });
    // A scan that had started may still hold it open on Windows: what is left goes with
    // the temporary directory.
    let _ = std::fs::remove_dir_all(&gone);
}

/// After a restart the spool gauges are absent until a scan completes, never 0: a spool that
/// cannot be counted yet has no value to show.
#[test]
fn the_spool_is_absent_until_counted_and_messages_are_aged() {
    let logs = TempLogs::new();
    let spool = logs.tmp.path().join("spool");
    let ex = start(
        &logs,
        &[
            "--xmail.spool-dir",
            spool.to_str().unwrap(),
            "--xmail.spool-scan-interval",
            "100ms",
        ],
    );
    let s = ex.wait_for("a scan error", |s| {
        s.value("xmail_exporter_spool_scan_errors_total", &[]) >= 1.0
    });
    for family in [
        "xmail_spool_messages",
        "xmail_spool_oldest_message_age_seconds",
        "xmail_spool_messages_older_than",
    ] {
        assert_eq!(s.count(family), 0, "{family}\n{}", s.text);
    }
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let hour = 3_600_000;
    // Queued: 2 h and 5 h old (1.27 names); retry: 13 h old (a 1.26 name).
    for (dir, name) in [
        (
            "0/0/mess",
            format!("{}.7f3a.1f4c.3a10.mail", now_ms - 2 * hour),
        ),
        (
            "3/7/mess",
            format!("{}.7f3a.1f4c.3a11.mail", now_ms - 5 * hour),
        ),
        (
            "3/7/rsnd",
            format!("{}.140163.3a12.mail", now_ms - 13 * hour),
        ),
    ] {
        std::fs::create_dir_all(spool.join(dir)).unwrap();
        std::fs::write(spool.join(dir).join(name), b"x").unwrap();
    }
    let s = ex.wait_for("the spool count", |s| {
        s.get("xmail_spool_messages", &[("queue", "queued")]) == Some(2.0)
    });
    assert_eq!(s.value("xmail_spool_messages", &[("queue", "frozen")]), 0.0);
    let oldest = |queue| {
        s.value(
            "xmail_spool_oldest_message_age_seconds",
            &[("queue", queue)],
        )
    };
    assert!((oldest("queued") - 5.0 * 3600.0).abs() < 60.0, "{}", s.text);
    assert!((oldest("retry") - 13.0 * 3600.0).abs() < 60.0, "{}", s.text);
    let older = |queue, age| {
        s.value(
            "xmail_spool_messages_older_than",
            &[("queue", queue), ("age", age)],
        )
    };
    assert_eq!(
        ["15m", "1h", "4h", "12h"].map(|a| older("queued", a)),
        [2.0, 2.0, 1.0, 0.0]
    );
    assert_eq!(
        ["15m", "1h", "4h", "12h"].map(|a| older("retry", a)),
        [1.0, 1.0, 1.0, 1.0]
    );
    promtool_check_metrics(&s.text);
}

/// The README's metrics table is the public contract: every `xmail_*` family a fully
/// configured exporter serves (spool counted, per-domain counters on) is listed there with
/// its type, and the table lists nothing the exporter does not serve.
#[test]
fn readme_metrics_table_matches_what_is_served() {
    let logs = TempLogs::new();
    let spool = logs.tmp.path().join("spool");
    std::fs::create_dir_all(spool.join("0/0/mess")).unwrap();
    let config = root().join("tests/fixtures/seoul-domains.yml");
    let ex = Exporter::start(&[
        "--xmail.log-dir",
        logs.xmail.to_str().unwrap(),
        "--webmail.log-dir",
        logs.webmail.to_str().unwrap(),
        "--xmail.spool-dir",
        spool.to_str().unwrap(),
        "--config",
        config.to_str().unwrap(),
    ]);
    wait_ready(&ex);
    // DNSBL lists are not known in advance: the family appears with the first hit.
    logs.append(
        "smtp-202611270000",
        &smtp_line(
            "203.0.113.9",
            "2026-11-27 10:00:00",
            "",
            "SNDRIP=EIPMAP (zen.spamhaus.org.)",
            "",
            0,
        ),
    );
    let s = ex.wait_for("the DNSBL hit and the spool count", |s| {
        s.get(
            "xmail_smtp_dnsbl_refusals_total",
            &[("list", "zen.spamhaus.org.")],
        ) == Some(1.0)
            && s.get("xmail_spool_messages", &[("queue", "queued")])
                .is_some()
    });
    let served: std::collections::BTreeMap<String, String> = s
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .filter(|(name, _)| name.starts_with("xmail_"))
        .map(|(name, ty)| (name.to_string(), ty.to_string()))
        .collect();

    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let section = readme
        .split("\n## Metrics")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("README has a Metrics section");
    let mut documented = std::collections::BTreeMap::new();
    for row in section.lines().filter(|l| l.starts_with("| `xmail_")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        // A gauge (1) is a gauge; "histogram, buckets ..." is a histogram.
        let ty = cells[1]
            .split([',', ' '])
            .next()
            .unwrap()
            .trim_start_matches("| ")
            .to_string();
        for name in cells[0].split(", ") {
            let name = name.trim_start_matches("| ").trim_matches('`');
            documented.insert(name.to_string(), ty.clone());
        }
    }
    assert!(documented.len() >= 20, "table not found: {documented:?}");
    assert_eq!(
        documented, served,
        "README metrics table (left) and /metrics (right) differ"
    );
}

/// The newest event time per log survives a restart (through `--tail.state-file`): after a
/// restart during an XMail outage the stale-log alerts keep seeing the old time, not 0.
#[test]
fn the_last_event_time_survives_a_restart() {
    let logs = TempLogs::new();
    let state = logs.tmp.path().join("state.json");
    let state_arg = ["--tail.state-file", state.to_str().unwrap()];
    let ex = start(&logs, &state_arg);
    wait_ready(&ex);
    logs.append(
        "smtp-202611280000",
        &smtp_line("192.0.2.1", "2026-11-28 10:00:08", "S1", "RECV=OK", "", 100),
    );
    logs.append_web(
        "error-20261128.txt",
        b"[28-Nov-2026 01:00:00 UTC] PHP Warning: x\n",
    );
    let last = |s: &Scrape, log| {
        s.value(
            "xmail_exporter_log_last_event_timestamp_seconds",
            &[("log", log)],
        )
    };
    // 2026-11-28 10:00:08 KST (the fixture's zone), and 01:00:00 UTC.
    let (smtp_t, web_t) = (1_795_827_608.0, 1_795_827_600.0);
    let s = ex.wait_for("both lines", |s| {
        lines(s, "smtp", "parsed") == 1.0 && lines(s, "webmail", "parsed") == 1.0
    });
    assert_eq!((last(&s, "smtp"), last(&s, "webmail")), (smtp_t, web_t));
    // That scrape saved the state; stop, and start again with nothing new written. (Windows
    // has no SIGTERM to send: the state is on disk already, a kill stops it there.)
    #[cfg(unix)]
    assert!(ex.terminate().success());
    #[cfg(windows)]
    ex.kill();
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.contains("\"last_events\""), "{text}");
    let ex = start(&logs, &state_arg);
    // Right away, before anything is read.
    let s = ex.scrape();
    assert_eq!((last(&s, "smtp"), last(&s, "webmail")), (smtp_t, web_t));
    assert_eq!((last(&s, "smail"), last(&s, "pop3")), (0.0, 0.0));
    assert_eq!(lines(&s, "smtp", "parsed"), 0.0);
    wait_ready(&ex);
    // An older line does not move it back; a newer one moves it on.
    logs.append(
        "smtp-202611280000",
        &smtp_line("192.0.2.1", "2026-11-28 09:00:00", "S2", "RECV=OK", "", 100),
    );
    let s = ex.wait_for("the older line", |s| lines(s, "smtp", "parsed") == 1.0);
    assert_eq!(last(&s, "smtp"), smtp_t);
    logs.append(
        "smtp-202611280000",
        &smtp_line("192.0.2.1", "2026-11-28 10:00:09", "S3", "RECV=OK", "", 100),
    );
    ex.wait_for("the newer line", |s| last(s, "smtp") == smtp_t + 1.0);
}

/// XMail spools a message before it writes its `RECV=OK`: a delivery read first waits for
/// the line that received it, and its delay is measured; one whose `RECV=OK` never comes is
/// counted as unmatched once the SMTP log has moved on.
#[test]
fn a_delivery_read_before_its_recv_line_still_gets_its_delay() {
    let logs = TempLogs::new();
    logs.append("smtp-202611280000", b"");
    logs.append("smail-202611280000", b"");
    let ex = start(&logs, &[]);
    wait_ready(&ex);
    let delivery = |id: &str, time: &str| {
        format!(
            "\"example.co.kr\"\t\"1795705274655.7f3a.1f4c.3a11.mail\"\t\"{id}\"\t\"a@example.net\"\t\"kim@example.co.kr\"\t\"LOCAL\"\t\"kim@example.co.kr\"\t\"{time}\"\t\"\"\n"
        )
        .into_bytes()
    };
    // The delivery first, then (in a later pass) the RECV=OK of its message, 3 s earlier.
    logs.append(
        "smail-202611280000",
        &delivery("S7A", "2026-11-28 09:00:05"),
    );
    ex.wait_for("the delivery", |s| lines(s, "smail", "parsed") == 1.0);
    logs.append(
        "smtp-202611280000",
        &smtp_line(
            "198.51.100.41",
            "2026-11-28 09:00:02",
            "S7A",
            "RECV=OK",
            "",
            100,
        ),
    );
    let s = ex.wait_for("the delay", |s| {
        s.get("xmail_delivery_delay_seconds_count", &[("type", "LOCAL")]) == Some(1.0)
    });
    assert_eq!(
        s.value("xmail_delivery_delay_seconds_sum", &[("type", "LOCAL")]),
        3.0
    );
    assert_eq!(
        s.value("xmail_exporter_delivery_delay_unmatched_total", &[]),
        0.0
    );
    // A delivery of a message received before the exporter started: no RECV=OK comes; the
    // SMTP log moves on by more than the wait, and it is counted as unmatched.
    logs.append(
        "smail-202611280000",
        &delivery("S7B", "2026-11-28 09:01:00"),
    );
    logs.append(
        "smtp-202611280000",
        &smtp_line(
            "198.51.100.41",
            "2026-11-28 09:02:00",
            "S7C",
            "RCPT=OK",
            "",
            0,
        ),
    );
    let s = ex.wait_for("the unmatched delivery", |s| {
        s.get("xmail_exporter_delivery_delay_unmatched_total", &[]) == Some(1.0)
    });
    assert_eq!(
        s.value("xmail_delivery_delay_seconds_count", &[("type", "LOCAL")]),
        1.0
    );
}

/// The other XMail logs are followed like the SMTP log, counted into their families, and a
/// malformed CTRL or POP3 line (which can hold a password) never shows in the debug log.
#[test]
fn the_other_xmail_logs_are_followed_and_their_secrets_stay_out_of_the_log() {
    let logs = TempLogs::new();
    let ex = start(&logs, &[]);
    wait_ready(&ex);
    logs.append(
        "ctrl-202611270000",
        b"\"192.0.2.1\"\t\"admin\"\t\"hunter2\"\t\"2026-11-27 09:00:00\"\t\"FAIL\"\n",
    );
    logs.append(
        "filters-202611270000",
        b"\"a@example.net\"\t\"kim@example.co.kr\"\t\"192.0.2.10\"\t\"192.0.2.1\"\t\"2026-11-27 09:00:01\"\t\"post-data\"\t\"\"\t\"0\"\t\"3\"\t\"/usr/bin/scan;@@FILE;\"\n",
    );
    // Malformed: a CTRL line cut short, still holding the password.
    logs.append(
        "ctrl-202611270000",
        b"\"192.0.2.1\"\t\"admin\"\t\"s3cret-pass\n",
    );
    logs.append("pop3-202611270000", b"\"a\"\t\"b\"\t\"pop-s3cret\n");
    // The files appear one after another and are read in passes; the counts of a read and the
    // file counts of a pass are published as they come: wait for all of them.
    let s = ex.wait_for("the lines", |s| {
        lines(s, "ctrl", "malformed") == 1.0
            && lines(s, "pop3", "malformed") == 1.0
            && lines(s, "ctrl", "parsed") == 1.0
            && lines(s, "filters", "parsed") == 1.0
            && s.sum("xmail_ctrl_logins_total") == 1.0
            && s.sum("xmail_filter_runs_total") == 1.0
            && s.value("xmail_exporter_log_files", &[("log", "ctrl")]) == 1.0
    });
    assert_eq!(lines(&s, "ctrl", "parsed"), 1.0);
    assert_eq!(lines(&s, "filters", "parsed"), 1.0);
    assert_eq!(
        s.value("xmail_ctrl_logins_total", &[("result", "failed")]),
        1.0
    );
    assert_eq!(
        s.value(
            "xmail_filter_runs_total",
            &[("stage", "post-data"), ("result", "rejected")]
        ),
        1.0
    );
    assert_eq!(s.value("xmail_exporter_log_files", &[("log", "ctrl")]), 1.0);
    assert_eq!(
        s.value("xmail_exporter_log_files", &[("log", "finger")]),
        0.0
    );
    let log = ex.log();
    assert!(log.contains("malformed line skipped"), "{log}");
    for secret in ["hunter2", "s3cret-pass", "pop-s3cret", "/usr/bin/scan"] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}
