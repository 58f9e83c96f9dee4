//! Nothing lost, nothing counted twice: a writer appends lines across XMail-style rotations
//! (new time-named files, late lines to the previous file) and truncations, while the
//! exporter is killed with SIGKILL and restarted, most often right after a scrape. The sum
//! over all exporter lifetimes of the last value scraped must equal the lines written.

use std::time::{Duration, Instant};

use crate::util::{Exporter, Scrape, TempLogs};

const KINDS: [&str; 3] = ["smtp", "smail", "webmail"];

fn parsed(s: &Scrape, log: &str) -> u64 {
    s.value(
        "xmail_exporter_log_lines_total",
        &[("log", log), ("result", "parsed")],
    ) as u64
        + s.value(
            "xmail_exporter_log_lines_total",
            &[("log", log), ("result", "malformed")],
        ) as u64
}

fn smtp(n: u64) -> String {
    format!(
        "\"mail.example.co.kr\"\t\"example.co.kr\"\t\"198.51.100.{}\"\t\"2026-11-28 10:{:02}:{:02}\"\t\"client\"\t\"example.co.kr\"\t\"a{n}@example.net\"\t\"kim@example.co.kr\"\t\"S{n:X}\"\t\"RCPT=OK\"\t\"\"\t\"0\"\t\"\"\n",
        n % 250,
        (n / 60) % 60,
        n % 60
    )
}

fn smail(n: u64) -> String {
    format!(
        "\"example.co.kr\"\t\"1795705273412.7f3a.1f4c.{n:x}.mail\"\t\"S{n:X}\"\t\"a{n}@example.net\"\t\"kim@example.co.kr\"\t\"LOCAL\"\t\"kim@example.co.kr\"\t\"2026-11-28 10:{:02}:{:02}\"\t\"\"\n",
        (n / 60) % 60,
        n % 60
    )
}

fn webmail(n: u64) -> String {
    format!(
        "[2026-11-28 10:{:02}:{:02}] login failed for user {n}\n",
        (n / 60) % 60,
        n % 60
    )
}

/// What the writer has done, per kind.
struct Writer {
    logs: TempLogs,
    written: [u64; 3],
    file: [String; 3],
    period: u32,
    day: u32,
}

impl Writer {
    fn path(&self, k: usize, name: &str) -> std::path::PathBuf {
        if k == 2 {
            self.logs.webmail.join(name)
        } else {
            self.logs.xmail.join(name)
        }
    }

    /// Appends `n` lines to the current (or given) file of kind `k`, in three writes cut at
    /// arbitrary bytes, so the exporter sees partial lines.
    fn write(&mut self, k: usize, n: u64, file: Option<String>) {
        let mut buf = String::new();
        for _ in 0..n {
            let i = self.written[k];
            buf.push_str(&match k {
                0 => smtp(i),
                1 => smail(i),
                _ => webmail(i),
            });
            self.written[k] += 1;
        }
        let name = file.unwrap_or_else(|| self.file[k].clone());
        let path = self.path(k, &name);
        let bytes = buf.as_bytes();
        let (a, b) = (bytes.len() / 3 + 1, 2 * bytes.len() / 3 + 7);
        let (a, b) = (a.min(bytes.len()), b.min(bytes.len()));
        for piece in [&bytes[..a], &bytes[a..b], &bytes[b..]] {
            crate::util::append(&path, piece);
        }
    }

    /// XMail starts the next period's files; a few late lines still land in the old ones.
    fn rotate_xmail(&mut self) {
        let old = [self.file[0].clone(), self.file[1].clone()];
        self.period += 1;
        self.file[0] = format!("smtp-20261128{:02}00", self.period);
        self.file[1] = format!("smail-20261128{:02}00", self.period);
        self.write(0, 10, None);
        self.write(1, 10, None);
        self.write(0, 7, Some(old[0].clone()));
        self.write(1, 5, Some(old[1].clone()));
    }

    fn rotate_webmail(&mut self) {
        self.day += 1;
        self.file[2] = format!("error-202611{:02}.txt", self.day);
        self.write(2, 3, None);
    }
}

struct Lifetimes {
    done: Vec<[u64; 3]>,
}

fn start(w: &Writer, state: &std::path::Path) -> Exporter {
    Exporter::start(&[
        "--xmail.log-dir",
        w.logs.xmail.to_str().unwrap(),
        "--webmail.log-dir",
        w.logs.webmail.to_str().unwrap(),
        "--tail.state-file",
        state.to_str().unwrap(),
        "--tail.poll-interval",
        "50ms",
        "--tail.drain-grace",
        "3s",
    ])
}

#[test]
fn exactly_once_across_kills_rotations_and_truncations() {
    let began = Instant::now();
    let mut w = Writer {
        logs: TempLogs::new(),
        written: [0; 3],
        file: [
            "smtp-202611280000".into(),
            "smail-202611280000".into(),
            "error-20261128.txt".into(),
        ],
        period: 0,
        day: 28,
    };
    let state = w.logs.tmp.path().join("state.json");
    let mut lifetimes = Lifetimes { done: Vec::new() };
    let mut ex = start(&w, &state);
    // The first run has no state: it starts at the end of what exists, so it must have
    // looked at the (empty) directories before anything is written.
    let deadline = Instant::now() + Duration::from_secs(10);
    while ex.get("/-/ready").0 != 200 {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    let mut last = [0u64; 3];
    let (mut rotations, mut truncations, mut kills_after_scrape, mut kills_between) = (0, 0, 0, 0);
    for step in 1..=24u32 {
        w.write(0, 700, None);
        w.write(1, 500, None);
        w.write(2, 40, None);
        if step % 3 == 0 {
            w.rotate_xmail();
            rotations += 1;
        }
        if step % 8 == 0 {
            w.rotate_webmail();
        }
        if step % 7 == 0 {
            // Truncate the current SMAIL file once every SMAIL line written so far is counted
            // (what a truncation removes before anyone read it is lost for any reader; the
            // lag gauge alone cannot tell, it is as of the exporter's last pass).
            let counted_before: u64 = lifetimes.done.iter().map(|l| l[1]).sum();
            let s = ex.wait_for("every SMAIL line to be counted", |s| {
                counted_before + parsed(s, "smail") == w.written[1]
            });
            let before = s.value("xmail_exporter_log_truncations_total", &[("log", "smail")]);
            let p = w.path(1, &w.file[1].clone());
            std::fs::File::options()
                .write(true)
                .open(p)
                .unwrap()
                .set_len(0)
                .unwrap();
            let s = ex.wait_for("the truncation", |s| {
                s.value("xmail_exporter_log_truncations_total", &[("log", "smail")]) > before
            });
            last = KINDS.map(|k| parsed(&s, k));
            truncations += 1;
        }
        if step % 2 == 0 {
            let s = ex.scrape();
            last = KINDS.map(|k| parsed(&s, k));
        }
        if step % 4 == 0 || step % 5 == 0 {
            if step % 2 == 0 {
                kills_after_scrape += 1; // the scrape above was the last one of this lifetime
            } else {
                kills_between += 1; // lines read since the last scrape were never seen
            }
            ex.kill();
            lifetimes.done.push(last);
            last = [0; 3];
            ex = start(&w, &state);
        }
    }
    // Let the last lifetime catch up (lag 0 and, if nothing was lost, every line counted).
    let deadline = Instant::now() + Duration::from_secs(20);
    let s = loop {
        let s = ex.scrape();
        let lag0 = KINDS
            .iter()
            .all(|k| s.value("xmail_exporter_log_lag_bytes", &[("log", k)]) == 0.0);
        let all = KINDS.iter().enumerate().all(|(i, k)| {
            lifetimes.done.iter().map(|l| l[i]).sum::<u64>() + parsed(&s, k) >= w.written[i]
        });
        if (lag0 && all) || Instant::now() > deadline {
            break s;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    // One more scrape after a pause: nothing may arrive late and be counted twice.
    std::thread::sleep(Duration::from_millis(300));
    let s2 = ex.scrape();
    lifetimes.done.push(KINDS.map(|k| parsed(&s2, k)));
    let totals: Vec<u64> = (0..3)
        .map(|i| lifetimes.done.iter().map(|l| l[i]).sum())
        .collect();
    eprintln!(
        "torture: {} lifetimes ({} killed right after a scrape, {} between scrapes), {} XMail rotations, {} truncations, {:.1} s",
        lifetimes.done.len(),
        kills_after_scrape,
        kills_between,
        rotations,
        truncations,
        began.elapsed().as_secs_f64()
    );
    for (i, k) in KINDS.iter().enumerate() {
        let per: Vec<String> = lifetimes.done.iter().map(|l| l[i].to_string()).collect();
        eprintln!(
            "torture: {k}: written {}, counted {} = {}",
            w.written[i],
            totals[i],
            per.join(" + ")
        );
    }
    assert_eq!(
        KINDS.map(|k| parsed(&s, k)),
        KINDS.map(|k| parsed(&s2, k)),
        "counts moved after catching up"
    );
    assert_eq!(
        totals,
        w.written.to_vec(),
        "sum over lifetimes of the last scraped value != lines written\n{}",
        ex.log()
    );
}
