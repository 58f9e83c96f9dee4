//! `xmail_exporter report --since/--until`: the summary of a time range of the bundled
//! samples, counted here from the sample files; bounds that cannot be meant; and
//! `summary::summarize`, the library function, giving the JSON the command prints.

use std::path::PathBuf;

use serde_json::Value;
use xmail_exporter::config::Settings;
use xmail_exporter::explain::Lang;
use xmail_exporter::read::discover::KindSet;
use xmail_exporter::summary::range::parse_range;
use xmail_exporter::summary::summarize;

use crate::util::{root, run_exporter};

fn report(args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["report", "--config", "tests/fixtures/seoul.yml"];
    all.extend_from_slice(args);
    run_exporter(&all)
}

fn json(args: &[&str]) -> Value {
    let mut all = vec!["--format", "json"];
    all.extend_from_slice(args);
    let (ok, out, err) = report(&all);
    assert!(ok, "report {all:?} failed: {err}");
    serde_json::from_str(&out).unwrap()
}

/// The lines of the sample files of one kind as fields (quotes removed), with the index of
/// the time field.
fn sample_lines(prefix: &str) -> Vec<Vec<String>> {
    let dir = root().join("examples/logs/xmail");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if !name.starts_with(prefix) {
            continue;
        }
        let data = std::fs::read_to_string(dir.join(name)).unwrap();
        for line in data.lines() {
            out.push(
                line.split('\t')
                    .map(|f| f.trim_matches('"').to_string())
                    .collect(),
            );
        }
    }
    out
}

#[test]
fn a_range_counts_only_the_lines_in_it() {
    let (since, until) = ("2026-11-27 00:19:00", "2026-11-27 12:00:00");
    let inside = |t: &str| (since..=until).contains(&t);
    let smtp: Vec<Vec<String>> = sample_lines("smtp-")
        .into_iter()
        .filter(|f| inside(&f[3]))
        .collect();
    let smail: Vec<Vec<String>> = sample_lines("smail-")
        .into_iter()
        .filter(|f| inside(&f[7]))
        .collect();
    let status = |f: &Vec<String>| f[9].clone();
    let received = smtp
        .iter()
        .filter(|f| status(f) == "RECV=OK" || status(f) == "RCV=OK")
        .count();
    let refused = smtp
        .iter()
        .filter(|f| status(f).split_once('=').unwrap().1 != "OK")
        .count();
    let delivered = smail
        .iter()
        .filter(|f| ["LOCAL", "SMTP", "FWD", "RLYS"].contains(&f[5].as_str()))
        .count();

    let all = json(&["examples/logs"]);
    let v = json(&["--since", since, "--until", until, "examples/logs"]);
    let t = &v["totals"];
    assert_eq!(t["received"], received);
    assert_eq!(t["refused"], refused);
    assert_eq!(t["delivered"], delivered);
    assert_eq!(v["lines"]["smtp"]["parsed"], smtp.len());
    assert_eq!(v["lines"]["smail"]["parsed"], smail.len());
    // The range leaves lines out of every total it touches.
    for key in [
        "received",
        "refused",
        "delivered",
        "pop3_logins",
        "webmail_errors",
    ] {
        assert!(
            t[key].as_u64().unwrap() < all["totals"][key].as_u64().unwrap(),
            "{key}: {} of {}",
            t[key],
            all["totals"][key]
        );
    }
    assert!(received > 0 && delivered > 0 && refused > 0);
    // The period is what was counted, and the range what was asked.
    assert!(v["period"]["first"].as_str().unwrap() >= since);
    assert!(v["period"]["last"].as_str().unwrap() <= until);
    assert_eq!(v["period"]["range"]["since"], since);
    assert_eq!(v["period"]["range"]["until"], until);
    assert!(all["period"].get("range").is_none());
    // Per day: one day left.
    assert_eq!(v["per_day"].as_array().unwrap().len(), 1);
}

#[test]
fn ranges_that_split_the_logs_add_up_to_all_of_them() {
    let all = json(&["examples/logs"]);
    let before = json(&["--until", "2026-11-27 00:19:03", "examples/logs"]);
    let after = json(&["--since", "2026-11-27 00:19:04", "examples/logs"]);
    for key in [
        "received",
        "received_bytes",
        "recipients_accepted",
        "recipients_refused",
        "delivered",
        "bounced",
        "postmaster_notices",
        "refused",
        "auth_failures",
        "dnsbl_refusals",
        "webmail_errors",
        "pop3_logins",
    ] {
        let sum = before["totals"][key].as_u64().unwrap() + after["totals"][key].as_u64().unwrap();
        assert_eq!(sum, all["totals"][key].as_u64().unwrap(), "{key}");
    }
    let logs = [
        "smtp", "smail", "pop3", "webmail", "ctrl", "psync", "filters", "lmail", "finger",
    ];
    for log in logs {
        for n in ["parsed", "malformed"] {
            let sum = before["lines"][log][n].as_u64().unwrap()
                + after["lines"][log][n].as_u64().unwrap();
            assert_eq!(sum, all["lines"][log][n].as_u64().unwrap(), "{log} {n}");
        }
    }
    // The sections of the other logs add up too; the split falls among the filter runs.
    let u = |v: &Value, path: &[&str]| {
        path.iter()
            .fold(v, |v, k| &v[*k])
            .as_u64()
            .unwrap_or_else(|| panic!("{path:?}"))
    };
    let mut paths: Vec<Vec<&str>> = vec![
        vec!["ctrl_logins", "ok"],
        vec!["ctrl_logins", "failed"],
        vec!["pop3_sync", "syncs", "ok"],
        vec!["pop3_sync", "syncs", "failed"],
        vec!["pop3_sync", "syncs", "no_user"],
        vec!["pop3_sync", "messages", "synced"],
        vec!["pop3_sync", "bytes", "error"],
        vec!["lmail_messages"],
        vec!["finger_queries"],
    ];
    for stage in ["in", "out", "post-rcpt", "pre-data", "post-data"] {
        for o in ["passed", "modified", "rejected", "error", "skipped"] {
            paths.push(vec!["filter_runs", stage, o]);
        }
    }
    for p in &paths {
        assert_eq!(u(&before, p) + u(&after, p), u(&all, p), "{p:?}");
    }
    assert!(before["lines"]["filters"]["parsed"].as_u64().unwrap() > 0);
    assert!(after["lines"]["filters"]["parsed"].as_u64().unwrap() > 0);
    // The split cuts S293DF's deliveries from its reception.
    assert!(before["totals"]["received"].as_u64().unwrap() > 0);
    assert!(after["totals"]["delivered"].as_u64().unwrap() > 0);
    assert_eq!(before["period"]["range"]["since"], Value::Null);
    assert_eq!(after["period"]["range"]["until"], Value::Null);
}

#[test]
fn a_date_only_until_is_the_end_of_that_day_and_files_outside_are_not_read() {
    // The seed-era files only: the 2026 files are named for a later day.
    let v = json(&["--until", "2007-04-17", "examples/logs"]);
    assert_eq!(v["read_errors"], 0);
    assert_eq!(v["period"]["range"]["until"], "2007-04-17 23:59:59");
    assert_eq!(v["period"]["last"], "2007-04-17 04:11:23");
    assert_eq!(v["totals"]["received"], 2);
    assert_eq!(v["lines"]["pop3"]["parsed"], 0);
    // The text says which range it is.
    let (ok, out, err) = report(&[
        "--format",
        "text",
        "--since",
        "2026-11-27",
        "--until",
        "2026-11-27",
        "examples/logs",
    ]);
    assert!(ok, "{err}");
    let second = out.lines().nth(1).unwrap();
    assert_eq!(
        second,
        "time range: 2026-11-27 00:00:00 to 2026-11-27 23:59:59"
    );
}

#[cfg(unix)]
#[test]
fn a_file_named_for_a_day_outside_the_range_is_not_opened() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let old = "smtp-200604100000";
    std::fs::copy(
        root().join("examples/logs/xmail").join(old),
        tmp.path().join(old),
    )
    .unwrap();
    // Opening it would be a read error: it is not a regular file.
    let fifo = std::ffi::CString::new(tmp.path().join("smtp-203001010000").as_os_str().as_bytes())
        .unwrap();
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0, "mkfifo");
    let dir = tmp.path().to_str().unwrap();
    let v = json(&["--until", "2029-12-31", dir]);
    assert_eq!(v["read_errors"], 0);
    assert_eq!(v["totals"]["received"], 2);
    let (ok, out, _) = report(&["--format", "json", dir]);
    assert!(!ok, "without a range the FIFO is a read error");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["read_errors"], 1);
}

/// Windows' counterpart: the file outside the range is held open without sharing by
/// another process (here the test), so opening it would be a read error (a sharing
/// violation).
#[cfg(windows)]
#[test]
fn a_file_named_for_a_day_outside_the_range_is_not_opened() {
    use std::os::windows::fs::OpenOptionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let old = "smtp-200604100000";
    std::fs::copy(
        root().join("examples/logs/xmail").join(old),
        tmp.path().join(old),
    )
    .unwrap();
    let _locked = std::fs::OpenOptions::new()
        .create_new(true)
        .write(true)
        .share_mode(0)
        .open(tmp.path().join("smtp-203001010000"))
        .unwrap();
    let dir = tmp.path().to_str().unwrap();
    let v = json(&["--until", "2029-12-31", dir]);
    assert_eq!(v["read_errors"], 0);
    assert_eq!(v["totals"]["received"], 2);
    let (ok, out, _) = report(&["--format", "json", dir]);
    assert!(!ok, "without a range the locked file is a read error");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["read_errors"], 1);
}

/// Runs `report` expecting a failure: stdout empty, stderr one line.
fn refused(args: &[&str]) -> String {
    let (ok, out, err) = report(args);
    assert!(!ok, "report {args:?} should fail: {out}");
    assert_eq!(out, "", "nothing printed");
    let err = err.trim_end();
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err.to_string()
}

#[test]
fn bounds_that_cannot_be_meant_are_one_line_errors() {
    let json = ["--format", "json"];
    let err = refused(&[&json[..], &["--since", "yesterday", "examples/logs"]].concat());
    assert!(err.contains("bad time \"yesterday\""), "{err}");
    assert!(err.contains("YYYY-MM-DD"), "{err}");
    let err = refused(&[&json[..], &["--until", "2026-02-30", "examples/logs"]].concat());
    assert!(err.contains("no such date"), "{err}");
    let err = refused(&[&json[..], &["--since", "2026-11-27 24:00", "examples/logs"]].concat());
    assert!(err.contains("bad time"), "{err}");
    let err = refused(
        &[
            &json[..],
            &[
                "--since",
                "2026-11-28",
                "--until",
                "2026-11-27 23:00",
                "examples/logs",
            ],
        ]
        .concat(),
    );
    assert_eq!(
        err,
        "xmail_exporter: the range is empty: until 2026-11-27 23:00:59 is before since 2026-11-28 00:00:00"
    );
}

#[test]
fn the_prometheus_format_refuses_a_range() {
    let err = refused(&["--since", "2026-11-27", "examples/logs"]);
    assert!(err.contains("--format text and json"), "{err}");
    let err = refused(&[
        "--format",
        "prometheus",
        "--until",
        "2026-11-27",
        "examples/logs",
    ]);
    assert!(err.contains("--since and --until"), "{err}");
}

#[test]
fn the_library_gives_the_json_report_prints() {
    let settings = Settings::load(Some(&root().join("tests/fixtures/seoul.yml"))).unwrap();
    let dirs = [
        (root().join("examples/logs/xmail"), KindSet::XMAIL),
        (root().join("examples/logs/webmail"), KindSet::WEBMAIL),
    ];
    for (since, until, top, lang) in [
        (
            Some("2026-11-27 00:19"),
            Some("2026-11-27 12:00:00"),
            10,
            "en",
        ),
        (None, Some("2007-04-17"), 0, "ko"),
        (None, None, 3, "en"),
    ] {
        let mut args = vec!["--format", "json", "--top"];
        let top_s = top.to_string();
        args.extend([top_s.as_str(), "--lang", lang]);
        if let Some(s) = since {
            args.extend(["--since", s]);
        }
        if let Some(u) = until {
            args.extend(["--until", u]);
        }
        args.push("examples/logs");
        let (ok, cli, err) = report(&args);
        assert!(ok, "{err}");

        let range = parse_range(since, until).unwrap();
        let lang = if lang == "ko" { Lang::Ko } else { Lang::En };
        let got = summarize(&dirs, &range, &settings, top, lang, u64::MAX).unwrap();
        assert!(!got.truncated);
        let mut lib = serde_json::to_string_pretty(&got.report).unwrap();
        lib.push('\n');
        assert!(lib == cli, "{args:?}:\n--- cli\n{cli}\n--- library\n{lib}");
    }
}

#[test]
fn the_library_stops_at_its_byte_budget() {
    let settings = Settings::load(Some(&root().join("tests/fixtures/seoul.yml"))).unwrap();
    let dirs = [(root().join("examples/logs/xmail"), KindSet::XMAIL)];
    let all = parse_range(None, None).unwrap();
    let full = summarize(&dirs, &all, &settings, 10, Lang::En, u64::MAX).unwrap();
    let size: u64 = std::fs::read_dir(&dirs[0].0)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    let exact = summarize(&dirs, &all, &settings, 10, Lang::En, size).unwrap();
    assert!(!exact.truncated);
    assert_eq!(
        serde_json::to_value(&exact.report).unwrap(),
        serde_json::to_value(&full.report).unwrap()
    );
    // The oldest files first: smtp-200604100000 (4 lines, 533 bytes), then the first line of
    // smail-200704170000 (129 bytes) and part of its second, which is not counted.
    let cut = summarize(&dirs, &all, &settings, 10, Lang::En, 700).unwrap();
    assert!(cut.truncated);
    let lines = &cut.report.lines;
    assert_eq!(lines.smtp.parsed, 4);
    assert_eq!(lines.smail.parsed, 1);
    assert_eq!(lines.pop3.parsed, 0);
    assert_eq!(lines.smtp.malformed + lines.smail.malformed, 0);
    assert_eq!(
        cut.report.period.last.as_deref(),
        Some("2007-04-17 04:11:22")
    );
    // A directory that cannot be listed is an error that names it.
    let missing = [(PathBuf::from("/no/such/dir"), KindSet::XMAIL)];
    let err = summarize(&missing, &all, &settings, 10, Lang::En, u64::MAX).unwrap_err();
    assert!(format!("{err:#}").contains("/no/such/dir"), "{err:#}");
}
