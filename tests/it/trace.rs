//! `xmail_exporter trace` on the bundled sample logs (both format variants), against golden
//! files. `UPDATE_GOLDEN=1` rewrites them after an intended change; review the diff.

use std::collections::BTreeMap;

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
            .map(|m| m["lines"].as_array().unwrap().len())
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
