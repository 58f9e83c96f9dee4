//! 50 000 fresh log files in one directory, with the descriptor limit at 1024 (soft and
//! hard, so the exporter cannot raise it): the tailer keeps at most its cap of files open,
//! the HTTP side never runs out of descriptors, the first scrape comes quickly, and every
//! line is counted; without a state file and with one (every scrape then saves the
//! checkpoints of 50 000 draining files).

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::util::{Exporter, Scrape, http_get, smtp_line};

/// SMTP files, one per minute from 2026-11-01 00:00.
const SMTP_FILES: usize = 40_000;
/// SMAIL files, one per minute from the same start.
const SMAIL_FILES: usize = 10_000;
/// The descriptor limit the exporter runs under.
const NOFILE: u32 = 1024;
/// The tailer's cap (`tail::MAX_OPEN_FILES`), and what the process holds besides: standard
/// streams, the runtime's epoll and event descriptors, inotify, the listener, and the 32
/// scrapers the test sends at once at the end.
const CAP: usize = 256;
const MARGIN: usize = 64;
/// The first scrape answers within this of the start.
const FIRST_SCRAPE: Duration = Duration::from_secs(2);
/// Every line is counted within this of the start.
const ALL_COUNTED: Duration = Duration::from_secs(60);
/// The peak resident memory, in KiB.
const MAX_HWM_KIB: u64 = 80 << 10;

/// `YYYYMMDDHHMM` of minute `m` after 2026-11-01 00:00 (November has 30 days, then
/// December; 50 000 minutes stay within both).
fn stamp(m: usize) -> String {
    let (day, rest) = (m / 1440, m % 1440);
    let (month, day) = if day < 30 {
        (11, day + 1)
    } else {
        (12, day - 29)
    };
    format!("2026{month:02}{day:02}{:02}{:02}", rest / 60, rest % 60)
}

fn smail_line(id: &str) -> Vec<u8> {
    format!(
        "\"example.co.kr\"\t\"1795705273412.7f3a.1f4c.{id}.mail\"\t\"{id}\"\t\"a@example.net\"\t\"kim@example.co.kr\"\t\"LOCAL\"\t\"kim@example.co.kr\"\t\"2026-11-28 10:00:00\"\t\"\"\n"
    )
    .into_bytes()
}

/// Writes the files; returns (SMTP lines, SMAIL lines).
fn write_files(dir: &Path) -> (u64, u64) {
    let (mut smtp, mut smail) = (0u64, 0u64);
    for m in 0..SMTP_FILES {
        let mut data = Vec::new();
        for k in 0..(1 + m % 3) {
            data.extend(smtp_line(
                "198.51.100.7",
                "2026-11-28 10:00:00",
                &format!("S{m:X}K{k}"),
                "RCPT=OK",
                "",
                0,
            ));
            smtp += 1;
        }
        fs::write(dir.join(format!("smtp-{}", stamp(m))), data).unwrap();
    }
    for m in 0..SMAIL_FILES {
        let mut data = Vec::new();
        for k in 0..(1 + m % 2) {
            data.extend(smail_line(&format!("M{m:X}K{k}")));
            smail += 1;
        }
        fs::write(dir.join(format!("smail-{}", stamp(m))), data).unwrap();
    }
    (smtp, smail)
}

fn open_fds(pid: u32) -> Option<usize> {
    fs::read_dir(format!("/proc/{pid}/fd"))
        .ok()
        .map(|d| d.count())
}

fn parsed(s: &Scrape, log: &str) -> u64 {
    s.get(
        "xmail_exporter_log_lines_total",
        &[("log", log), ("result", "parsed")],
    )
    .unwrap_or(0.0) as u64
}

#[cfg(target_os = "linux")]
#[test]
fn fifty_thousand_fresh_files_under_a_1024_descriptor_limit() {
    let _serial = crate::serial();
    fifty_thousand_files(false);
}

#[cfg(target_os = "linux")]
#[test]
fn fifty_thousand_fresh_files_with_a_state_file() {
    let _serial = crate::serial();
    fifty_thousand_files(true);
}

#[cfg(target_os = "linux")]
fn fifty_thousand_files(with_state: bool) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    fs::create_dir(&dir).unwrap();
    let t_write = Instant::now();
    let (smtp_lines, smail_lines) = write_files(&dir);
    eprintln!(
        "files: {} written in {:?} ({smtp_lines} SMTP and {smail_lines} SMAIL lines)",
        SMTP_FILES + SMAIL_FILES,
        t_write.elapsed()
    );

    let limit = format!("ulimit -n {NOFILE} && exec \"$0\" \"$@\"");
    let wrapper = ["sh", "-c", limit.as_str()];
    let state = tmp.path().join("state.json");
    let mut args = vec![
        "--xmail.log-dir",
        dir.to_str().unwrap(),
        "--webmail.log-dir",
        "",
        "--xmail.spool-dir",
        "",
        "--tail.from-beginning",
    ];
    if with_state {
        args.extend(["--tail.state-file", state.to_str().unwrap()]);
    }
    let t0 = Instant::now();
    let ex = Exporter::start_with(&wrapper, &args);
    let pid = ex.pid();
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let nofile = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .split_whitespace()
        .skip(3)
        .take(2)
        .collect::<Vec<_>>();
    assert_eq!(nofile, [NOFILE.to_string(), NOFILE.to_string()], "{limits}");

    // Descriptors, watched throughout.
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicUsize::new(0));
    let watcher = {
        let (stop, peak) = (stop.clone(), peak.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(n) = open_fds(pid) {
                    peak.fetch_max(n, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };

    // The first scrape.
    let first = loop {
        let (status, _) = http_get(ex.addr, "/metrics");
        if status == 200 {
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no successful scrape in 30 s (last status {status}); log:\n{}",
            ex.log()
        );
        std::thread::sleep(Duration::from_millis(10));
    };

    // Every line, scraping as Prometheus would meanwhile (more often).
    let mut scrapes = 0;
    let all = loop {
        let (status, body) = http_get(ex.addr, "/metrics");
        assert_eq!(status, 200, "a scrape failed: {body}");
        scrapes += 1;
        let s = Scrape::parse(&body);
        if parsed(&s, "smtp") == smtp_lines && parsed(&s, "smail") == smail_lines {
            assert_eq!(s.sum("xmail_smtp_events_total"), smtp_lines as f64);
            assert_eq!(
                s.get(
                    "xmail_exporter_log_lines_total",
                    &[("log", "smtp"), ("result", "malformed")]
                ),
                Some(0.0)
            );
            for log in ["smtp", "smail"] {
                assert_eq!(
                    s.value("xmail_exporter_log_read_errors_total", &[("log", log)]),
                    0.0
                );
            }
            break t0.elapsed();
        }
        assert!(
            t0.elapsed() < ALL_COUNTED,
            "not every line counted within {ALL_COUNTED:?}: smtp {} of {smtp_lines}, smail {} of {smail_lines} ({} malformed); log:\n{}",
            parsed(&s, "smtp"),
            parsed(&s, "smail"),
            s.value(
                "xmail_exporter_log_lines_total",
                &[("log", "smail"), ("result", "malformed")]
            ),
            ex.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    let hwm_counted = ex.proc_status_kib("VmHWM");
    // A few more scrapes at once, with the tailer still looking at 50 000 draining files.
    let clients: Vec<_> = (0..32)
        .map(|_| {
            let addr = ex.addr;
            std::thread::spawn(move || http_get(addr, "/metrics").0)
        })
        .collect();
    for c in clients {
        assert_eq!(c.join().unwrap(), 200);
    }
    stop.store(true, Ordering::Relaxed);
    watcher.join().unwrap();
    let peak = peak.load(Ordering::Relaxed);
    let hwm = ex.proc_status_kib("VmHWM");
    let log = ex.log();
    let accept_failures = log.lines().filter(|l| l.contains("accept failed")).count();
    if with_state {
        // The last scrape's checkpoints: every file is still followed (the newest) or
        // draining.
        let text = fs::read_to_string(&state).unwrap();
        let entries = text.matches("\"offset\": ").count();
        assert_eq!(
            entries,
            SMTP_FILES + SMAIL_FILES,
            "checkpoints in the state file"
        );
    }
    let state = if with_state {
        "with a state file"
    } else {
        "no state file"
    };
    eprintln!(
        "50 000 fresh files, {state}, nofile {NOFILE}: first scrape {first:?} after start, every line counted after {all:?} ({scrapes} scrapes), peak {peak} descriptors, VmHWM {} MiB once counted and {} MiB after 32 scrapes at once, {accept_failures} failed accepts",
        hwm_counted / 1024,
        hwm / 1024
    );
    assert_eq!(accept_failures, 0, "{log}");
    assert!(
        peak <= CAP + MARGIN,
        "{peak} descriptors open at the peak (cap {CAP} + {MARGIN})"
    );
    assert!(
        first <= FIRST_SCRAPE,
        "the first scrape came {first:?} after the start (bound {FIRST_SCRAPE:?})"
    );
    assert!(!log.contains("Too many open files"), "{log}");
    // With a state file, each scrape also saves 50 000 checkpoints (about 11 MB of JSON):
    // that memory is the HTTP side's, and only printed here.
    if !with_state {
        assert!(hwm <= MAX_HWM_KIB, "VmHWM {hwm} KiB (bound {MAX_HWM_KIB})");
    }
}
