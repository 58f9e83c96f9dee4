//! `xmail_exporter trace` on the bundled sample logs (both format variants), against golden
//! files. `UPDATE_GOLDEN=1` rewrites them after an intended change; review the diff.

use std::collections::BTreeMap;

use xmail_exporter::explain::Lang;
use xmail_exporter::trace::{self as tr, Limits, LogFile, Message, Query, TimeRange, Traced};

use crate::util::{assert_golden, root, run_exporter};

fn trace(args: &[&str]) -> (bool, String, String) {
    let mut all = vec!["trace", "--xmail.log-dir", "examples/logs/xmail"];
    all.extend_from_slice(args);
    run_exporter(&all)
}

fn golden(name: &str, args: &[&str]) {
    let (ok, out, err) = trace(args);
    assert!(ok, "trace {args:?} failed: {err}");
    let path = root().join("tests/fixtures/trace").join(name);
    assert_golden(&path, &out, &format!("trace {args:?}"));
}

#[test]
fn a_failed_delivery_and_its_bounce() {
    golden("S293DF.en.txt", &["S293DF"]);
}

#[test]
fn in_korean_and_an_id_used_twice_years_apart() {
    golden("S293D9.ko.txt", &["S293D9", "--lang", "ko"]);
}

#[test]
fn every_message_of_an_address() {
    golden("lee.en.txt", &["lee@example.co.kr"]);
}

#[test]
fn by_spool_file_name() {
    golden(
        "spool.en.txt",
        &["1795705351091.7f3a9b9fa700.1f4c.3a13.mail"],
    );
}

#[test]
fn seed_format_message() {
    golden("SAFF9E.ko.txt", &["SAFF9E", "--lang", "ko"]);
}

#[test]
fn json_for_scripts() {
    golden("S293DF.json", &["S293DF", "--format", "json"]);
    let (_, out, _) = trace(&["S293DF", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v[0]["message_id"], "S293DF");
    assert_eq!(v[0]["lines"].as_array().unwrap().len(), 7);
    assert_eq!(v[0]["lines"][4]["size"], 40960);
    assert!(v[0]["notes"][0].as_str().unwrap().contains("X293E4"));
}

#[test]
fn a_time_window() {
    golden(
        "kim-window.en.txt",
        &[
            "kim@example.co.kr",
            "--since",
            "2026-11-27",
            "--until",
            "2026-11-27 00:10",
        ],
    );
}

#[test]
fn nothing_found_is_an_error() {
    let (ok, out, err) = trace(&["S999999"]);
    assert!(!ok);
    assert!(out.is_empty());
    assert!(
        err.contains("S999999") && err.contains("examples/logs/xmail"),
        "{err}"
    );
    let (ok, _, err) = trace(&["S293DF", "--since", "soon"]);
    assert!(!ok);
    assert!(err.contains("YYYY-MM-DD"), "{err}");
}

/// Every message of the samples traces, with every one of its lines.
#[test]
fn every_message_in_the_samples() {
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for (file, id_field) in [
        ("smtp-202611270000", 8),
        ("smail-202611270000", 2),
        ("smtp-200604100000", 8),
        ("smail-200704170000", 2),
    ] {
        let data = std::fs::read_to_string(root().join("examples/logs/xmail").join(file)).unwrap();
        for line in data.lines() {
            let id = line.split('\t').nth(id_field).unwrap().trim_matches('"');
            if !id.is_empty() {
                *expected.entry(id.to_string()).or_default() += 1;
            }
        }
    }
    assert!(expected.len() >= 20, "{expected:?}");
    for (id, lines) in expected {
        let (ok, out, err) = trace(&[&id, "--format", "json"]);
        assert!(ok, "{id}: {err}");
        let v: serde_json::Value = serde_json::from_str(&out).unwrap();
        let got: usize = v
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                m["lines"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|l| l["log"] != "filters")
                    .count()
            })
            .sum();
        assert_eq!(got, lines, "{id}");
        for m in v.as_array().unwrap() {
            for l in m["lines"].as_array().unwrap() {
                assert!(
                    !l["text"].as_str().unwrap().is_empty(),
                    "{id}: a line without an explanation"
                );
            }
        }
    }
}

/// XMail reused the ID `S293D9` twenty years apart: an address query shows only the messages
/// that involve the address, not the 2006 message that merely had one of its IDs.
#[test]
fn an_address_shows_only_its_own_messages() {
    let (ok, out, err) = trace(&["kim@example.co.kr", "--format", "json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let messages = v.as_array().unwrap();
    assert!(!messages.is_empty());
    for m in messages {
        let involves = m["lines"].as_array().unwrap().iter().any(|l| {
            ["sender", "recipient", "detail"].iter().any(|f| {
                l[f].as_str()
                    .unwrap()
                    .eq_ignore_ascii_case("kim@example.co.kr")
            })
        });
        assert!(involves, "a message that does not involve the address: {m}");
        for l in m["lines"].as_array().unwrap() {
            assert!(
                !l["time"].as_str().unwrap().starts_with("2006"),
                "the 2006 message with a reused ID: {m}"
            );
        }
    }
    // The ID query still shows both messages of that ID.
    let (ok, out, _) = trace(&["S293D9", "--format", "json"]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2, "{v}");
}

/// `trace` uses no setting from `--config`: a broken config file does not stop it.
#[test]
fn a_broken_config_file_does_not_stop_trace() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.yml");
    std::fs::write(&config, "domains: [unterminated\n").unwrap();
    let config = config.to_str().unwrap();
    let (ok, out, err) = trace(&["--config", config, "S293DF"]);
    assert!(ok, "{err}");
    assert!(out.starts_with("S293DF\n"), "{out}");
    // `report` does use it, and says which file is wrong.
    let (ok, _, err) = run_exporter(&["--config", config, "report", "examples/logs/xmail"]);
    assert!(!ok);
    assert!(err.contains("config.yml"), "{err}");
}

// ---------------------------------------------------------------------------------------
// The library with limits, as a server calls it.

fn sample_files() -> Vec<LogFile> {
    tr::log_files(&root().join("examples/logs/xmail"), &TimeRange::default()).unwrap()
}

fn bounded(query: &str, limits: Limits) -> Traced {
    let files = sample_files();
    tr::trace_bounded(
        &files,
        &TimeRange::default(),
        &Query::parse(query),
        Lang::En,
        limits,
    )
    .unwrap()
}

fn unbounded(query: &str) -> Vec<Message> {
    tr::trace(
        &sample_files(),
        &Query::parse(query),
        &TimeRange::default(),
        Lang::En,
    )
    .unwrap()
}

fn json(m: &[Message]) -> String {
    serde_json::to_string(m).unwrap()
}

fn size(f: &LogFile) -> u64 {
    std::fs::metadata(&f.path).unwrap().len()
}

/// The bytes of the sample files a first pass reads: the SMTP and SMAIL files (the filters
/// file is read by the second pass only, which joins its runs to the messages).
fn first_pass_bytes() -> u64 {
    sample_files()
        .iter()
        .filter(|f| !f.name.starts_with("filters-"))
        .map(size)
        .sum()
}

/// Without limits, `trace_bounded` is `trace`, and says how much it read: every file once
/// for an ID, and for an address the SMTP and SMAIL files first (the IDs), then every file.
#[test]
fn no_limits_is_trace() {
    let total: u64 = sample_files().iter().map(size).sum();
    let first = first_pass_bytes();
    assert!(first < total, "the samples hold a filters file");
    for (query, read) in [("S293D9", total), ("kim@example.co.kr", first + total)] {
        let t = bounded(query, Limits::NONE);
        assert!(!t.truncated, "{query}");
        assert_eq!(t.bytes_read, read, "{query}");
        assert_eq!(json(&t.messages), json(&unbounded(query)), "{query}");
    }
    // A spool file name's first pass reads the SMAIL files only.
    let smail: u64 = sample_files()
        .iter()
        .filter(|f| f.name.starts_with("smail-"))
        .map(size)
        .sum();
    let t = bounded("1795705351091.7f3a9b9fa700.1f4c.3a13.mail", Limits::NONE);
    assert_eq!(t.bytes_read, smail + total);
}

/// More messages than `max_messages`: the earliest are kept, with their notes.
#[test]
fn a_message_limit_keeps_the_earliest() {
    let all = unbounded("kim@example.co.kr");
    assert!(all.len() >= 3, "{}", all.len());
    for keep in [0, 1, all.len() - 1] {
        let t = bounded(
            "kim@example.co.kr",
            Limits {
                max_messages: keep,
                ..Limits::NONE
            },
        );
        assert!(t.truncated, "{keep}");
        assert_eq!(json(&t.messages), json(&all[..keep]), "{keep}");
    }
    let t = bounded(
        "kim@example.co.kr",
        Limits {
            max_messages: all.len(),
            ..Limits::NONE
        },
    );
    assert!(!t.truncated);
    assert_eq!(json(&t.messages), json(&all));
}

/// A byte budget stops the reading where it runs out: the messages are those of the lines
/// read (files are read oldest first), and `truncated` says that more was left.
#[test]
fn a_byte_budget_stops_the_reading() {
    let files = sample_files();
    let total: u64 = files.iter().map(size).sum();
    let budget = |max_bytes| Limits {
        max_bytes,
        ..Limits::NONE
    };
    // S293D9 was used in 2006 and again in 2026: the 2006 files come first.
    let all = unbounded("S293D9");
    assert_eq!(all.len(), 2);
    assert!(all[0].lines[0].time.starts_with("2006"));
    let old: u64 = files
        .iter()
        .take_while(|f| !f.name.ends_with("202611270000"))
        .map(size)
        .sum();
    let t = bounded("S293D9", budget(old));
    assert!(t.truncated);
    assert_eq!(t.bytes_read, old);
    assert_eq!(json(&t.messages), json(&all[..1]));
    // Cut inside a file: exactly the budget is read, a partial last line is not used.
    let t = bounded("S293D9", budget(old + 100));
    assert!(t.truncated);
    assert_eq!(t.bytes_read, old + 100);
    assert_eq!(json(&t.messages), json(&all[..1]));
    let t = bounded("S293D9", budget(total - 1));
    assert!(t.truncated);
    assert_eq!(t.bytes_read, total - 1);
    // Enough for every byte: nothing was cut.
    let t = bounded("S293D9", budget(total));
    assert!(!t.truncated);
    assert_eq!(json(&t.messages), json(&all));
    let t = bounded("S293D9", budget(0));
    assert!(t.truncated);
    assert_eq!((t.bytes_read, t.messages.len()), (0, 0));
    // An address: a budget that runs out in the first pass leaves nothing for the second.
    let first = first_pass_bytes();
    for max_bytes in [first / 2, first, first + old] {
        let t = bounded("kim@example.co.kr", budget(max_bytes));
        assert!(t.truncated, "{max_bytes}");
        assert_eq!(t.bytes_read, max_bytes);
        if max_bytes <= first {
            assert!(t.messages.is_empty(), "{max_bytes}");
        }
    }
    let t = bounded("kim@example.co.kr", budget(first + total));
    assert!(!t.truncated);
    assert_eq!(t.bytes_read, first + total);
    assert_eq!(json(&t.messages), json(&unbounded("kim@example.co.kr")));
}

/// Filter runs carry no message ID: they are joined to a message by its sender, one of its
/// recipients and the time, and the sentence says so.
#[test]
fn filter_runs_are_joined_by_sender_recipient_and_time() {
    let (ok, out, err) = trace(&["S293DE", "--format", "json"]);
    assert!(ok, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // S293DE was used in 2006 too: the 2026 message is the second.
    let m = &v[1];
    assert!(
        m["lines"][0]["time"].as_str().unwrap().starts_with("2026"),
        "{out}"
    );
    assert!(!v[0].to_string().contains("\"filters\""), "{out}");
    let filters: Vec<&serde_json::Value> = m["lines"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["log"] == "filters")
        .collect();
    let stages: Vec<&str> = filters
        .iter()
        .map(|l| l["event"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["post-rcpt", "post-data", "in"], "{out}");
    for l in &filters {
        assert_eq!(l["sender"], "bob@partner.example.com");
        assert_eq!(l["recipient"], "kim@example.co.kr");
        assert_eq!(l["detail"], "exit 0");
        let text = l["text"].as_str().unwrap();
        assert!(text.contains("let the message through"), "{text}");
        assert!(
            text.contains("matched by sender, recipient and time"),
            "{text}"
        );
    }
    // In time order among the SMTP and SMAIL lines: the post-data run before the deliveries.
    let times: Vec<&str> = m["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["time"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort();
    assert_eq!(times, sorted);
    let (ok, out, _) = trace(&["S293DE", "--lang", "ko"]);
    assert!(ok);
    assert!(
        out.contains("post-data 필터가 메일을 통과시켰습니다"),
        "{out}"
    );
    // A message of another sender gets none.
    let (_, out, _) = trace(&["S293D9", "--format", "json"]);
    assert!(!out.contains("\"filters\""), "{out}");
}
