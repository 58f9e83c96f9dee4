//! `xmail_exporter report --format text|json`: the pflogsumm-style summary of the bundled
//! sample logs (XMail 1.27 and the seed-era format), against golden files under
//! `tests/fixtures/report/`, plus key numbers counted here straight from the sample files.
//! `UPDATE_GOLDEN=1` rewrites the golden files after an intended change; review the diff.

use std::collections::{BTreeMap, BTreeSet};

use crate::util::{assert_golden, root, run_exporter};

fn report(args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["report", "--config", "tests/fixtures/seoul.yml"];
    all.extend_from_slice(args);
    run_exporter(&all)
}

fn golden(name: &str, args: &[&str]) -> String {
    let (ok, out, err) = report(args);
    assert!(ok, "report {args:?} failed: {err}");
    let path = root().join("tests/fixtures/report").join(name);
    assert_golden(&path, &out, &format!("report {args:?}"));
    out
}

fn json(args: &[&str]) -> serde_json::Value {
    let (ok, out, err) = report(args);
    assert!(ok, "report {args:?} failed: {err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn golden_text() {
    let out = golden("summary.en.txt", &["--format", "text", "examples/logs"]);
    assert!(!out.contains("xmail_"), "no metrics in the summary");
    assert!(!out.lines().any(|l| l.ends_with(' ')), "trailing spaces");
}

#[test]
fn golden_text_in_korean() {
    golden(
        "summary.ko.txt",
        &["--format", "text", "--lang", "ko", "examples/logs"],
    );
}

#[test]
fn golden_json() {
    golden("summary.json", &["--format", "json", "examples/logs"]);
}

/// The fields of every line of the sample files of one kind (`smtp-`, `smail-`), quotes
/// removed. The samples hold no TAB inside a field, so a plain split is right here.
fn sample_lines(prefix: &str) -> Vec<Vec<String>> {
    let dir = root().join("examples/logs/xmail");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.starts_with(prefix))
        .collect();
    names.sort();
    assert_eq!(names.len(), 2, "both format variants: {names:?}");
    let mut out = Vec::new();
    for n in names {
        let data = std::fs::read_to_string(dir.join(n)).unwrap();
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

/// The totals, counted from the sample files with nothing but string splitting.
#[test]
fn totals_match_the_sample_files() {
    let smtp = sample_lines("smtp-");
    let smail = sample_lines("smail-");
    let status = |f: &Vec<String>| f[9].clone();
    let recv: Vec<&Vec<String>> = smtp
        .iter()
        .filter(|f| status(f) == "RECV=OK" || status(f) == "RCV=OK")
        .collect();
    let recv_new = smtp.iter().filter(|f| status(f) == "RECV=OK").count();
    let recv_old = smtp.iter().filter(|f| status(f) == "RCV=OK").count();
    assert_eq!((recv_new, recv_old), (12, 2));
    let bytes: u64 = recv.iter().map(|f| f[11].parse::<u64>().unwrap()).sum();
    let rcpt_ok = smtp.iter().filter(|f| status(f) == "RCPT=OK").count();
    // Refusals: not OK. The samples hold no legacy DATA=EFILTER + RCPT=EFILTER pair.
    let refused = smtp
        .iter()
        .filter(|f| status(f).split_once('=').unwrap().1 != "OK")
        .count();
    let rcpt_refused = smtp
        .iter()
        .filter(|f| status(f).starts_with("RCPT=E"))
        .count();
    let delivered = smail
        .iter()
        .filter(|f| ["LOCAL", "SMTP", "FWD", "RLYS"].contains(&f[5].as_str()))
        .count();
    let bounces: BTreeSet<&str> = smail
        .iter()
        .filter(|f| f[2].starts_with('X'))
        .map(|f| f[2].as_str())
        .collect();

    let v = json(&["--format", "json", "examples/logs"]);
    let t = &v["totals"];
    assert_eq!(t["received"], 14);
    assert_eq!(t["received"], recv.len());
    assert_eq!(t["received_bytes"], bytes);
    assert_eq!(t["received_bytes"], 202_581);
    assert_eq!(t["recipients_accepted"], rcpt_ok);
    assert_eq!(t["recipients_accepted"], 20);
    // 16 LOCAL + 8 SMTP + 2 FWD + 1 RLYS; not the 7 EXTRN, 3 FILTER, 4 REDIR, 4 LREDIR.
    assert_eq!(t["delivered"], delivered);
    assert_eq!(t["delivered"], 27);
    // X293E4, to lee@example.co.kr; its LREDIR copy to park is the same bounce.
    assert_eq!(t["bounced"], bounces.len());
    assert_eq!(t["bounced"], 1);
    assert_eq!(
        v["bounces_by_recipient"][0]["recipient"],
        "lee@example.co.kr"
    );
    // 60 + 4 SMTP lines, of which 12 + 2 RECV=OK and 18 + 2 RCPT=OK: 30 are not OK.
    assert_eq!(t["refused"], refused);
    assert_eq!(t["refused"], 30);
    assert_eq!(t["recipients_refused"], rcpt_refused);
    assert_eq!(t["auth_failures"], 4);
    assert_eq!(t["dnsbl_refusals"], 2);
    // The stages add up to the refusals, and match the status prefixes.
    let st = &v["refused_by_stage"];
    let stages = ["connection", "sender", "recipient", "data", "auth", "other"];
    let by_stage: u64 = stages.iter().map(|k| st[k].as_u64().unwrap()).sum();
    assert_eq!(by_stage, 30);
    assert_eq!(st["recipient"], rcpt_refused);
    assert_eq!(st["auth"], 4);
    let prefixed = |p: &[&str]| {
        smtp.iter()
            .filter(|f| p.iter().any(|p| status(f).starts_with(p)) && !status(f).ends_with("=OK"))
            .count()
    };
    assert_eq!(st["connection"], prefixed(&["SNDRIP=", "SMTP=", "CONN="]));
    assert_eq!(st["sender"], prefixed(&["SNDR=", "SIZE="]));
    assert_eq!(st["data"], prefixed(&["DATA=", "PREDATA=", "POSTDATA="]));
    assert_eq!(st["other"], prefixed(&["VRFY=", "ETRN="]));
    assert_eq!(t["webmail_errors"], 14);
    assert_eq!(t["pop3_logins"], 36);
    assert_eq!(v["pop3_logins"]["ok"], 23);
    assert_eq!(v["pop3_logins"]["failed"], 13);
    assert_eq!(v["lines"]["smtp"]["parsed"], smtp.len());
    assert_eq!(v["lines"]["smail"]["parsed"], smail.len());

    // The delivered lines by origin add up.
    let o = &v["delivered_by_origin"];
    let by_origin: u64 = ["smtp", "local", "pop3sync", "bounce", "other"]
        .iter()
        .map(|k| o[k].as_u64().unwrap())
        .sum();
    assert_eq!(by_origin, 27);
    assert_eq!(o["bounce"], 2);

    // Per hour: the 24 local hours, summing to the totals.
    let hours = v["per_hour"].as_array().unwrap();
    assert_eq!(hours.len(), 24);
    for key in ["received", "delivered", "bounced", "refused"] {
        let sum: u64 = hours.iter().map(|h| h[key].as_u64().unwrap()).sum();
        assert_eq!(sum, t[key].as_u64().unwrap(), "{key}");
    }
    let mut recv_by_hour = [0u64; 24];
    for f in &recv {
        recv_by_hour[f[3][11..13].parse::<usize>().unwrap()] += 1;
    }
    for (h, n) in recv_by_hour.iter().enumerate() {
        assert_eq!(hours[h]["received"], *n, "hour {h}");
    }
    assert_eq!(hours[0]["received"], 6);
    assert_eq!(hours[0]["refused"], 30);

    // Per day: the three dates of the samples.
    let days: Vec<&str> = v["per_day"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["date"].as_str().unwrap())
        .collect();
    assert_eq!(days, ["2006-04-10", "2007-04-17", "2026-11-27"]);

    // The period: the seed-era SMTP line to the last POP3 line.
    assert_eq!(v["period"]["first"], "2006-04-10 16:14:09");
    assert_eq!(v["period"]["last"], "2026-11-27 23:55:31");
    assert_eq!(v["period"]["timezone"], "Asia/Seoul");
}

#[test]
fn breakdowns_match_the_sample_files() {
    let smtp = sample_lines("smtp-");
    let smail = sample_lines("smail-");
    let v = json(&["--format", "json", "--top", "0", "examples/logs"]);

    // Refusals by status, with AUTH and DNSBL suffixes split off.
    let mut want: BTreeMap<String, u64> = BTreeMap::new();
    for f in &smtp {
        let s = &f[9];
        if s.split_once('=').unwrap().1 == "OK" {
            continue;
        }
        let key = s.split([':', ' ']).next().unwrap().to_string();
        *want.entry(key).or_default() += 1;
    }
    let got: BTreeMap<String, u64> = v["refusals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap().to_string(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(got["AUTH=EFAIL"], 4);
    assert_eq!(got["RCPT=EAVAIL"], 3);

    let rows = |key: &str, name: &str, count: &str| -> Vec<(String, u64)> {
        v[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r[name].as_str().unwrap().to_string(),
                    r[count].as_u64().unwrap(),
                )
            })
            .collect()
    };
    assert_eq!(
        rows("auth_failures", "mechanism", "count"),
        [
            ("LOGIN".to_string(), 2),
            ("PLAIN".to_string(), 1),
            ("CRAM-MD5".to_string(), 1)
        ]
    );
    assert_eq!(
        rows("dnsbl_lists", "list", "count"),
        [
            ("bl.spamcop.net.".to_string(), 1),
            ("zen.spamhaus.org.".to_string(), 1)
        ]
    );
    assert_eq!(
        rows("webmail_errors", "category", "count")[0],
        ("auth".into(), 3)
    );

    // Senders: one per RECV=OK line, lower-cased, <> for the null sender.
    let mut senders: BTreeMap<String, u64> = BTreeMap::new();
    for f in smtp
        .iter()
        .filter(|f| f[9] == "RECV=OK" || f[9] == "RCV=OK")
    {
        let s = if f[6].is_empty() { "<>" } else { &f[6] };
        *senders.entry(s.to_lowercase()).or_default() += 1;
    }
    let got: BTreeMap<String, u64> = rows("top_senders", "sender", "messages")
        .into_iter()
        .collect();
    assert_eq!(got, senders);
    assert_eq!(
        rows("top_senders", "sender", "messages")[0],
        ("kim@example.co.kr".into(), 4)
    );

    // Recipient domains of the delivery lines.
    let mut domains: BTreeMap<String, u64> = BTreeMap::new();
    for f in smail
        .iter()
        .filter(|f| ["LOCAL", "SMTP", "FWD", "RLYS"].contains(&f[5].as_str()))
    {
        let d = f[4].rsplit_once('@').unwrap().1.to_lowercase();
        *domains.entry(d).or_default() += 1;
    }
    let got: BTreeMap<String, u64> = rows("top_recipient_domains", "domain", "deliveries")
        .into_iter()
        .collect();
    assert_eq!(got, domains);
    assert_eq!(got["example.co.kr"], 16);

    // Largest messages: every RECV=OK with --top 0, largest first.
    let largest = v["largest_messages"].as_array().unwrap();
    assert_eq!(largest.len(), 14);
    assert_eq!(largest[0]["message_id"], "S293DE");
    assert_eq!(largest[0]["size"], 74_410);
    assert_eq!(largest[1]["message_id"], "S293DF");
    assert_eq!(largest[1]["recipient"], "c@customer.example");
    assert_eq!(largest[1]["recipients"], 3);
    let sizes: Vec<u64> = largest
        .iter()
        .map(|m| m["size"].as_u64().unwrap())
        .collect();
    assert!(sizes.windows(2).all(|w| w[0] >= w[1]), "{sizes:?}");
}

#[test]
fn top_cuts_the_lists() {
    let v = json(&["--format", "json", "--top", "3", "examples/logs"]);
    assert_eq!(v["top"], 3);
    for key in ["top_senders", "top_recipient_domains", "largest_messages"] {
        assert_eq!(v[key].as_array().unwrap().len(), 3, "{key}");
    }
    // Rejections are never cut.
    assert_eq!(v["refusals"].as_array().unwrap().len(), 23);
    let (ok, text, _) = report(&["--format", "text", "--top", "1", "examples/logs"]);
    assert!(ok);
    assert!(
        text.contains("\n  72.7 KiB  2026-11-27 00:18:02  S293DE "),
        "{text}"
    );
    assert!(!text.contains("S293DF"), "{text}");
}

#[test]
fn the_seed_format_alone() {
    let v = json(&[
        "--format",
        "json",
        "examples/logs/xmail/smtp-200604100000",
        "examples/logs/xmail/smail-200704170000",
    ]);
    assert_eq!(v["totals"]["received"], 2);
    assert_eq!(v["totals"]["received_bytes"], 1795 + 898);
    // LOCAL and SMTP; the REDIR line is not a delivery.
    assert_eq!(v["totals"]["delivered"], 2);
    assert_eq!(v["totals"]["refused"], 0);
    assert_eq!(v["period"]["first"], "2006-04-10 16:14:09");
    assert_eq!(v["period"]["last"], "2007-04-17 04:11:23");
}

#[test]
fn an_unreadable_path_fails_after_printing_the_rest() {
    let (ok, out, err) = report(&[
        "--format",
        "json",
        "examples/logs/xmail/smtp-200604100000",
        "no/such/dir",
    ]);
    assert!(!ok);
    assert!(err.contains("no/such/dir"), "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["totals"]["received"], 2);
}

#[test]
fn empty_input_is_a_summary_of_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let (ok, out, _) = report(&["--format", "text", tmp.path().to_str().unwrap()]);
    assert!(ok);
    assert!(out.starts_with("XMail log summary: no events\n"), "{out}");
    let v = json(&["--format", "json", tmp.path().to_str().unwrap()]);
    assert_eq!(v["period"]["first"], serde_json::Value::Null);
    assert_eq!(v["totals"]["received"], 0);
}

#[test]
fn a_php_stack_trace_is_one_error_in_report_and_metrics() {
    let dir = "examples/webmail-stack-trace";
    let v = json(&["--format", "json", dir]);
    let (ok, out, err) = crate::util::run_exporter(&["report", dir]);
    assert!(ok, "{err}");
    let s = crate::util::Scrape::parse(&out);
    let lines =
        std::fs::read_to_string(crate::util::root().join(dir).join("error-20261128.txt")).unwrap();
    let errors = lines.lines().filter(|l| l.starts_with('[')).count();
    assert!(
        lines.lines().count() > errors,
        "the sample holds a stack trace"
    );
    assert_eq!(v["totals"]["webmail_errors"], errors);
    assert_eq!(s.sum("xmail_webmail_errors_total"), errors as f64);
    // Every line was read and understood.
    assert_eq!(
        v["lines"]["webmail"]["parsed"],
        lines.lines().filter(|l| !l.trim().is_empty()).count()
    );
}

/// The fields of every line of the one sample file of `prefix`, quotes removed.
fn sample_file(prefix: &str) -> Vec<Vec<String>> {
    let dir = root().join("examples/logs/xmail");
    let mut out = Vec::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let name = e.unwrap().file_name().into_string().unwrap();
        if name.starts_with(prefix) {
            let data = std::fs::read_to_string(dir.join(name)).unwrap();
            for line in data.lines() {
                out.push(
                    line.split('\t')
                        .map(|f| f.trim_matches('"').to_string())
                        .collect(),
                );
            }
        }
    }
    out
}

/// CTRL, PSYNC, filters, LMAIL and FINGER: the sections of the JSON report, exactly, and
/// checked against the sample files.
#[test]
fn the_other_logs_match_the_sample_files() {
    let v = json(&["--format", "json", "examples/logs"]);
    let ctrl = sample_file("ctrl-");
    let psync = sample_file("psync-");
    let filters = sample_file("filters-");
    for (log, n) in [
        ("ctrl", ctrl.len()),
        ("psync", psync.len()),
        ("filters", filters.len()),
        ("lmail", sample_file("lmail-").len()),
        ("finger", sample_file("finger-").len()),
    ] {
        assert_eq!(v["lines"][log]["parsed"], n, "{log}");
        assert_eq!(v["lines"][log]["malformed"], 0, "{log}");
    }

    // CTRL: AUTH and FAIL lines; REQ lines are the attempts before them.
    let kind = |k: &str| ctrl.iter().filter(|f| f[4] == k).count();
    assert_eq!(v["ctrl_logins"]["ok"], kind("AUTH"));
    assert_eq!(v["ctrl_logins"]["failed"], kind("FAIL"));
    assert_eq!(v["ctrl_logins"], serde_json::json!({"ok": 2, "failed": 2}));

    // PSYNC.
    let result = |r: &str| psync.iter().filter(|f| f[6] == r).count();
    let sum = |i: usize| -> u64 { psync.iter().map(|f| f[i].parse::<u64>().unwrap()).sum() };
    let p = &v["pop3_sync"];
    assert_eq!(p["syncs"]["ok"], result("SYNC=OK"));
    assert_eq!(p["syncs"]["failed"], result("SYNC=EFAIL"));
    assert_eq!(p["syncs"]["no_user"], result("SYNC=ENOUSER"));
    assert_eq!(p["messages"]["synced"], sum(7));
    assert_eq!(p["bytes"]["synced"], sum(8));
    assert_eq!(p["messages"]["error"], sum(9));
    assert_eq!(p["bytes"]["error"], sum(10));
    assert_eq!(
        *p,
        serde_json::json!({
            "syncs": {"ok": 3, "failed": 1, "no_user": 1},
            "messages": {"synced": 5, "error": 1},
            "bytes": {"synced": 57331, "error": 51200},
        })
    );

    // Filters: one run per line, by its Type field.
    let runs = &v["filter_runs"];
    for stage in ["in", "out", "post-rcpt", "pre-data", "post-data"] {
        let lines = filters.iter().filter(|f| f[5] == stage).count() as u64;
        let total: u64 = runs[stage]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(total, lines, "{stage}");
    }
    let row = |passed: u64, rejected: u64, error: u64, skipped: u64| {
        serde_json::json!({
            "passed": passed,
            "modified": 0,
            "rejected": rejected,
            "error": error,
            "skipped": skipped,
        })
    };
    assert_eq!(
        *runs,
        serde_json::json!({
            "in": row(1, 1, 1, 1),
            "out": row(1, 0, 0, 0),
            "post-rcpt": row(1, 0, 0, 0),
            "pre-data": row(1, 0, 0, 0),
            "post-data": row(1, 1, 0, 0),
        })
    );
    // The stages in XMail's order, not the alphabet's.
    let (ok, out, err) = report(&["--format", "json", "examples/logs"]);
    assert!(ok, "{err}");
    let runs_text = &out[out.find("\"filter_runs\"").unwrap()..];
    let at: Vec<usize> = ["in", "out", "post-rcpt", "pre-data", "post-data"]
        .iter()
        .map(|s| runs_text.find(&format!("\"{s}\": {{")).unwrap())
        .collect();
    assert!(at.is_sorted(), "{at:?}");

    assert_eq!(v["lmail_messages"], 2);
    assert_eq!(v["finger_queries"], 2);
}

/// Logs without CTRL, PSYNC, filters, LMAIL or FINGER files: no text section of theirs, and
/// zeros in the JSON.
#[test]
fn the_other_logs_are_left_out_of_the_text_without_their_files() {
    let dir = "tests/fixtures/xmail-1.27";
    for lang in ["en", "ko"] {
        let (ok, out, err) = report(&["--format", "text", "--lang", lang, dir]);
        assert!(ok, "{err}");
        for word in [
            "CTRL",
            "PSYNC",
            "POP3 sync",
            "POP3 동기화",
            "Filter runs",
            "필터 실행 (단계별)",
            "LMAIL",
            "FINGER",
            "ctrl",
            "psync",
            "filters",
            "lmail",
            "finger",
        ] {
            assert!(!out.contains(word), "{lang}: {word} in\n{out}");
        }
    }
    let v = json(&["--format", "json", dir]);
    assert_eq!(v["lines"]["ctrl"]["parsed"], 0);
    assert_eq!(v["ctrl_logins"]["ok"], 0);
    assert_eq!(v["pop3_sync"]["syncs"]["ok"], 0);
    assert_eq!(v["filter_runs"]["in"]["passed"], 0);
    assert_eq!(v["lmail_messages"], 0);
    assert_eq!(v["finger_queries"], 0);
}
