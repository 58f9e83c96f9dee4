//! `xmail_exporter report` over the bundled examples, against a golden file.
//!
//! Run with `UPDATE_GOLDEN=1` to rewrite `tests/fixtures/report-examples.prom` after an
//! intended change, then review the diff.

use std::process::Command;

use crate::util::{Scrape, exporter_bin, promtool_check_metrics, root, run_exporter};

fn report(args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["report", "--config", "tests/fixtures/seoul.yml"];
    all.extend_from_slice(args);
    run_exporter(&all)
}

/// The build info line changes with every commit: pin it.
fn normalize(text: &str) -> String {
    text.lines()
        .map(|l| {
            if l.starts_with("xmail_exporter_build_info{") {
                "xmail_exporter_build_info{...} 1"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
fn golden_report_of_the_examples() {
    let (ok, out, err) = report(&["examples/logs"]);
    assert!(ok, "report failed: {err}");
    let got = normalize(&out);
    let golden = root().join("tests/fixtures/report-examples.prom");
    if std::env::var("UPDATE_GOLDEN").as_deref() == Ok("1") {
        std::fs::write(&golden, &got).unwrap();
    }
    let want =
        std::fs::read_to_string(&golden).expect("golden file (create it with UPDATE_GOLDEN=1)");
    if got != want {
        let diff: Vec<String> = want
            .lines()
            .zip(got.lines())
            .filter(|(a, b)| a != b)
            .take(20)
            .map(|(a, b)| format!("- {a}\n+ {b}"))
            .collect();
        panic!(
            "report differs from {}:\n{}",
            golden.display(),
            diff.join("\n")
        );
    }
    promtool_check_metrics(&out);
}

#[test]
fn report_values_that_matter() {
    let (ok, out, _) = report(&["examples/logs"]);
    assert!(ok);
    let s = Scrape::parse(&out);
    // 60 lines in the 1.27 sample + 4 seed-era lines; 42 + 3 SMAIL; 14 webmail errors.
    assert_eq!(
        s.value(
            "xmail_exporter_log_lines_total",
            &[("log", "smtp"), ("result", "parsed")]
        ),
        64.0
    );
    assert_eq!(
        s.value(
            "xmail_exporter_log_lines_total",
            &[("log", "smail"), ("result", "parsed")]
        ),
        45.0
    );
    assert_eq!(
        s.value(
            "xmail_exporter_log_lines_total",
            &[("log", "webmail"), ("result", "parsed")]
        ),
        14.0
    );
    for log in ["smtp", "smail", "webmail"] {
        assert_eq!(
            s.value(
                "xmail_exporter_log_lines_total",
                &[("log", log), ("result", "malformed")]
            ),
            0.0
        );
    }
    // RECV=OK: 12 in 1.27 + 2 RCV=OK in the seed sample.
    assert_eq!(
        s.value(
            "xmail_smtp_events_total",
            &[("status", "RECV=OK"), ("source", "external")]
        ) + s.value(
            "xmail_smtp_events_total",
            &[("status", "RECV=OK"), ("source", "webmail")]
        ),
        14.0
    );
    assert_eq!(
        s.get(
            "xmail_smtp_events_total",
            &[("status", "RCV=OK"), ("source", "external")]
        ),
        None
    );
    assert_eq!(
        s.value(
            "xmail_smtp_message_size_bytes_count",
            &[("source", "external")]
        ),
        8.0
    );
    assert_eq!(
        s.value(
            "xmail_smtp_dnsbl_refusals_total",
            &[("list", "zen.spamhaus.org.")]
        ),
        1.0
    );
    assert_eq!(
        s.value("xmail_smtp_auth_failures_total", &[("mechanism", "LOGIN")]),
        2.0
    );
    assert_eq!(
        s.value(
            "xmail_smail_records_total",
            &[("type", "LOCAL"), ("origin", "bounce")]
        ),
        2.0
    );
    // The headline meanings, as report --format json counts them (tests/it/report_summary.rs).
    assert_eq!(s.sum("xmail_mail_received_total"), 14.0);
    assert_eq!(s.sum("xmail_mail_delivered_total"), 27.0);
    assert_eq!(s.value("xmail_mail_bounced_total", &[]), 1.0);
    assert_eq!(s.sum("xmail_mail_refused_total"), 30.0);
    assert_eq!(
        s.value("xmail_mail_refused_total", &[("stage", "auth")]),
        4.0
    );
    assert_eq!(
        s.value("xmail_smtp_recipients_total", &[("result", "accepted")]),
        20.0
    );
    assert_eq!(
        s.value("xmail_webmail_errors_total", &[("category", "auth")]),
        3.0
    );
    // The newest SMTP line is 2026-11-27 15:42:09 KST = 06:42:09 UTC.
    assert_eq!(
        s.value(
            "xmail_exporter_log_last_event_timestamp_seconds",
            &[("log", "smtp")]
        ),
        1_795_761_729.0
    );
    // POP3: 23 LOGIN and 13 ELOGIN lines; mailbox sizes only on LOGIN.
    assert_eq!(
        s.value("xmail_pop3_logins_total", &[("result", "ok")]),
        23.0
    );
    assert_eq!(
        s.value("xmail_pop3_logins_total", &[("result", "failed")]),
        13.0
    );
    assert_eq!(
        s.value("xmail_pop3_logins_total", &[("result", "unknown")]),
        0.0
    );
    assert_eq!(s.value("xmail_pop3_mailbox_size_bytes_count", &[]), 23.0);
    assert_eq!(
        s.value(
            "xmail_exporter_log_lines_total",
            &[("log", "pop3"), ("result", "parsed")]
        ),
        36.0
    );
    // Delivery delays, RECV=OK to SMAIL line: the seven remote deliveries took 3, 2, 4,
    // 604, 2, 1 and 4 seconds.
    assert_eq!(
        s.value("xmail_delivery_delay_seconds_count", &[("type", "SMTP")]),
        7.0
    );
    assert_eq!(
        s.value("xmail_delivery_delay_seconds_sum", &[("type", "SMTP")]),
        620.0
    );
    assert_eq!(
        s.value(
            "xmail_delivery_delay_seconds_bucket",
            &[("type", "SMTP"), ("le", "5")]
        ),
        6.0
    );
    assert_eq!(
        s.value("xmail_delivery_delay_seconds_count", &[("type", "LOCAL")]),
        11.0
    );
    assert_eq!(
        s.value("xmail_exporter_delivery_delay_evictions_total", &[]),
        0.0
    );
    // Every known combination is there at 0: 28 statuses x 3 sources.
    assert_eq!(s.count("xmail_smtp_events_total"), 84);
    assert_eq!(s.count("xmail_smail_records_total"), 45);
    assert_eq!(s.count("xmail_mail_delivered_total"), 20);
    assert!(
        s.count("process_cpu_seconds_total") == 0,
        "no process metrics in a report"
    );
}

#[test]
fn unreadable_paths_fail_the_report_but_not_the_others() {
    let (ok, out, err) = report(&["examples/logs/xmail/smtp-202611270000", "does/not/exist"]);
    assert!(!ok);
    assert!(err.contains("does/not/exist"), "{err}");
    let s = Scrape::parse(&out);
    assert_eq!(
        s.value(
            "xmail_exporter_log_lines_total",
            &[("log", "smtp"), ("result", "parsed")]
        ),
        60.0
    );
}

#[test]
fn every_xmail_log_is_read_and_other_files_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let ctrl = dir.path().join("ctrl-202611270000");
    std::fs::write(
        &ctrl,
        "\"192.0.2.1\"\t\"admin\"\t\"\"\t\"2026-11-27 00:00:00\"\t\"AUTH\"\n",
    )
    .unwrap();
    let other = dir.path().join("sendmail-202611270000");
    std::fs::write(&other, "whatever\n").unwrap();
    let (ok, out, err) = report(&[ctrl.to_str().unwrap(), other.to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(
        err.contains("skipped") && err.contains("sendmail-"),
        "{err}"
    );
    let s = Scrape::parse(&out);
    assert_eq!(s.sum("xmail_exporter_log_lines_total"), 1.0);
    assert_eq!(s.value("xmail_ctrl_logins_total", &[("result", "ok")]), 1.0);
}

#[test]
fn per_domain_counters_are_opt_in() {
    let (_, out, _) = report(&["examples/logs"]);
    assert_eq!(
        Scrape::parse(&out).count("xmail_domain_recipients_accepted_total"),
        0
    );
    let out = crate::util::output_of(Command::new(exporter_bin()).current_dir(root()).args([
        "report",
        "--config",
        "tests/fixtures/seoul-domains.yml",
        "examples/logs",
    ]));
    assert!(out.status.success());
    let s = Scrape::parse(&String::from_utf8(out.stdout).unwrap());
    let d = [("domain", "example.co.kr")];
    // Counted with awk over the 1.27 sample: recipients in the domain accepted (RCPT=OK) and
    // refused (RCPT=E...), messages sent from it (RECV=OK), deliveries to it by type.
    assert_eq!(s.value("xmail_domain_recipients_accepted_total", &d), 11.0);
    assert_eq!(s.value("xmail_domain_recipients_refused_total", &d), 7.0);
    assert_eq!(s.value("xmail_domain_messages_sent_total", &d), 5.0);
    let delivery = |t: &str| {
        s.value(
            "xmail_domain_deliveries_total",
            &[("domain", "example.co.kr"), ("type", t)],
        )
    };
    // Deliveries only: the 7 EXTRN and 4 LREDIR records to the domain are not deliveries.
    assert_eq!((delivery("LOCAL"), delivery("SMTP")), (15.0, 0.0));
    assert_eq!(
        s.get(
            "xmail_domain_deliveries_total",
            &[("domain", "example.co.kr"), ("type", "EXTRN")]
        ),
        None
    );
    assert_eq!(s.count("xmail_domain_deliveries_total"), 4);
}
