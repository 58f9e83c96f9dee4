//! `report --threads N` gives the output of `--threads 1`, byte for byte, in every format:
//! on the bundled samples, and on generated logs made to catch a merge that is not exact —
//! messages whose `RCPT=OK`, `RECV=OK` and deliveries are in different files, bounces whose
//! lines span files, the legacy `DATA=EFILTER` + `RCPT=EFILTER` pair, SMAIL records that go
//! on over several lines, malformed and over-long lines, ties in the top lists — read in
//! pieces small enough (the hidden `--piece-bytes`) that piece boundaries fall everywhere,
//! multi-line records included. The Prometheus format reads the SMTP files on a thread of
//! their own (`src/metrics/split.rs`); `--piece-bytes` makes its hand-over batches small too
//! (a few join steps), so that batches end anywhere and the other thread waits for them
//! often.

use std::fmt::Write as _;
use std::path::Path;

use crate::util::run_exporter;

/// A small deterministic generator (an LCG), so the logs are the same on every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) % n
    }
}

fn smtp(time: &str, id: &str, status: &str, sender: &str, rcpt: &str, size: u64) -> String {
    format!(
        "\"mx\"\t\"dom\"\t\"192.0.2.1\"\t\"{time}\"\t\"helo\"\t\"dom\"\t\"{sender}\"\t\"{rcpt}\"\t\"{id}\"\t\"{status}\"\t\"\"\t\"{size}\"\t\"\"\n"
    )
}

/// An SMAIL record; a `reply` with CRLFs goes on over several lines, as XMail writes it.
fn smail(time: &str, id: &str, sender: &str, rcpt: &str, kind: &str, reply: &str) -> String {
    format!(
        "\"dom\"\t\"spool\"\t\"{id}\"\t\"{sender}\"\t\"{rcpt}\"\t\"{kind}\"\t\"mx.example\"\t\"{time}\"\t\"{reply}\"\n"
    )
}

/// Writes five days of SMTP and SMAIL logs (and a webmail error file) under `dir`.
fn generate(dir: &Path) {
    let xmail = dir.join("xmail");
    let web = dir.join("webmail");
    std::fs::create_dir_all(&xmail).unwrap();
    std::fs::create_dir_all(&web).unwrap();
    let mut rng = Rng(7);
    let senders = ["a@x.example", "b@x.example", "", "c@y.example"];
    let domains = ["y.example", "z.example", "Q.example", "x.example"];
    let replies = [
        "",
        "250 OK",
        "250-mx.example\r\n250-PIPELINING\r\n250 OK",
        "250-first\r\n\r\n250 last",
    ];
    let mut id = 0x1000u64;
    // RECV=OK lines and deliveries left for the next day's files.
    let mut carry_smtp = String::new();
    let mut carry_smail = String::new();
    let mut bounce = 0x9000u64;
    for day in 23..28 {
        let (mut s, mut m) = (
            std::mem::take(&mut carry_smtp),
            std::mem::take(&mut carry_smail),
        );
        for i in 0..400u64 {
            let t = format!(
                "2026-11-{day} {:02}:{:02}:{:02}",
                i * 24 / 400,
                i % 60,
                i % 59
            );
            let t2 = format!(
                "2026-11-{day} {:02}:{:02}:{:02}",
                i * 24 / 400,
                i % 60,
                (i + 3) % 60
            );
            id += 1;
            let sid = format!("S{id:X}");
            let from = senders[rng.next(4) as usize];
            let to = format!("u{}@{}", rng.next(5), domains[rng.next(4) as usize]);
            let size = [100, 2048, 2048, 70_000][rng.next(4) as usize];
            for _ in 0..rng.next(3) {
                s += &smtp(&t, &sid, "RCPT=OK", from, &to, 0);
            }
            match rng.next(12) {
                0 => s += &smtp(&t, "", "SNDRIP=EIPMAP (bl.example.)", from, "", 0),
                1 => s += &smtp(&t, "", "AUTH=EFAIL:TYPE=LOGIN", from, "", 0),
                2 => s += &smtp(&t, &sid, "RCPT=EAVAIL", from, &to, 0),
                3 => {
                    s += &smtp(&t, &sid, "DATA=EFILTER", from, &to, 0);
                    s += &smtp(&t, &sid, "RCPT=EFILTER", from, &to, 0);
                }
                4 => s += "garbage without fields\n",
                5 if i % 100 == 5 => s += &format!("\"{}\"\n", "x".repeat(70_000)),
                _ => {}
            }
            // The last messages of a day are received, and delivered, in the next day's files.
            let late = i >= 395;
            let recv = smtp(&t, &sid, "RECV=OK", from, &to, size);
            let reply = replies[rng.next(4) as usize];
            let kind = ["LOCAL", "SMTP", "FILTER", "SMTP"][rng.next(4) as usize];
            let delivery = smail(&t2, &sid, from, &to, kind, reply);
            if late {
                carry_smtp += &recv;
                carry_smail += &delivery;
            } else {
                s += &recv;
                m += &delivery;
            }
            // Bounces: an X message's lines, some in the next day's file; the postmaster
            // notifying itself.
            if rng.next(6) == 0 {
                bounce += 1;
                let xid = format!("X{bounce:X}");
                let (from, rcpt) = if rng.next(5) == 0 {
                    ("postmaster@x.example", "PostMaster@x.example")
                } else {
                    ("", "a@x.example")
                };
                m += &smail(&t2, &xid, from, rcpt, "SMTP", reply);
                let again = smail(&t2, &xid, from, rcpt, "LOCAL", "");
                if late {
                    carry_smail += &again
                } else {
                    m += &again
                }
            }
            if rng.next(40) == 0 {
                m += "not a record\n";
            }
        }
        std::fs::write(xmail.join(format!("smtp-202611{day}0000")), s).unwrap();
        std::fs::write(xmail.join(format!("smail-202611{day}0000")), m).unwrap();
    }
    let mut w = String::new();
    for i in 0..50 {
        let _ = writeln!(
            w,
            "[2026-11-27 {:02}:00:00] PHP Fatal error:  Uncaught Exception: e{i} in /a.php:3",
            i % 24
        );
        w += "Stack trace:\n#0 {main}\n  thrown in /a.php on line 3\n";
    }
    std::fs::write(web.join("error-20261127.txt"), w).unwrap();
}

/// `report ARGS... --threads N [--piece-bytes B] PATH`: its stdout (it must succeed).
fn report(path: &Path, args: &[&str], threads: &str, piece: Option<&str>) -> String {
    let mut all = vec!["report", "--config", "tests/fixtures/seoul.yml"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--threads", threads]);
    if let Some(p) = piece {
        all.extend_from_slice(&["--piece-bytes", p]);
    }
    let p = path.to_str().unwrap();
    all.push(p);
    let (ok, out, err) = run_exporter(&all);
    assert!(ok, "report {all:?} failed: {err}");
    out
}

/// Every variant of `args` on `path` with 2, 3 and 8 threads and small pieces prints what
/// one thread prints.
fn same_as_one_thread(path: &Path, pieces: &[&str]) {
    let variants: [&[&str]; 7] = [
        &["--format", "prometheus"],
        &["--format", "text"],
        &["--format", "json"],
        &["--format", "text", "--lang", "ko", "--top", "3"],
        &["--format", "json", "--top", "0"],
        &[
            "--format",
            "json",
            "--since",
            "2026-11-24 13:00",
            "--until",
            "2026-11-26 02:00",
        ],
        &[
            "--format",
            "text",
            "--since",
            "2026-11-25 12:00",
            "--lang",
            "ko",
        ],
    ];
    for args in variants {
        let one = report(path, args, "1", None);
        assert!(one.len() > 200, "{args:?}: {one}");
        for threads in ["2", "3", "8"] {
            for &piece in pieces {
                let many = report(path, args, threads, Some(piece));
                assert!(
                    many == one,
                    "{args:?} --threads {threads} --piece-bytes {piece} differs from --threads 1:\n{many}\n---\n{one}"
                );
            }
        }
    }
}

#[test]
fn the_samples_read_on_several_threads_give_the_same_report() {
    same_as_one_thread(
        &crate::util::root().join("examples/logs"),
        &["0", "100", "1000"],
    );
}

#[test]
fn generated_logs_read_in_small_pieces_give_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path());
    // The logs hold what the pieces must not cut or miscount.
    let smail = std::fs::read_to_string(dir.path().join("xmail/smail-202611250000")).unwrap();
    assert!(smail.lines().filter(|l| !l.starts_with('"')).count() > 50);
    let smtp = std::fs::read(dir.path().join("xmail/smtp-202611250000")).unwrap();
    assert!(smtp.len() > 100_000, "several pieces of 4 KiB and 64 KiB");
    let one = report(dir.path(), &["--format", "json", "--top", "0"], "1", None);
    let json: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert!(json["totals"]["bounced"].as_u64().unwrap() > 100, "{json}");
    assert!(
        json["totals"]["postmaster_notices"].as_u64().unwrap() > 10,
        "{json}"
    );
    assert!(
        json["lines"]["smtp"]["malformed"].as_u64().unwrap() > 10,
        "{json}"
    );
    same_as_one_thread(dir.path(), &["0", "997", "4096", "65536"]);
}

/// A file given twice is read twice, the second time going on from where the first ended:
/// with a range, a malformed line at its start counts as the last line of the first reading
/// did (here: not, that line is after the range).
#[test]
fn a_file_given_twice_reads_on_from_itself() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("smtp-202611250000");
    let mut data = String::from("garbage at the start\n");
    data += &smtp(
        "2026-11-25 09:00:00",
        "S1",
        "RECV=OK",
        "a@x.example",
        "b@y.example",
        10,
    );
    data += &smtp(
        "2026-11-25 23:00:00",
        "S2",
        "RECV=OK",
        "a@x.example",
        "b@y.example",
        10,
    );
    std::fs::write(&path, data).unwrap();
    let p = path.to_str().unwrap();
    let run = |threads: &str| {
        let mut all = vec!["report", "--format", "json", "--threads", threads];
        all.extend_from_slice(&["--since", "2026-11-25", "--until", "2026-11-25 10:00", p, p]);
        let (ok, out, err) = run_exporter(&all);
        assert!(ok, "{err}");
        out
    };
    let one = run("1");
    let json: serde_json::Value = serde_json::from_str(&one).unwrap();
    assert_eq!(json["lines"]["smtp"]["malformed"], 1, "{json}");
    assert_eq!(json["totals"]["received"], 2, "{json}");
    assert!(run("2") == one, "--threads 2 differs from --threads 1");
}
