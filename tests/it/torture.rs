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
    /// Fresh log directories, the first period's files of 2026-11-28, nothing written.
    fn new() -> Writer {
        Writer {
            logs: TempLogs::new(),
            written: [0; 3],
            file: [
                "smtp-202611280000".into(),
                "smail-202611280000".into(),
                "error-20261128.txt".into(),
            ],
            period: 0,
            day: 28,
        }
    }

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
    let mut w = Writer::new();
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

/// Reads a response head byte by byte onto `raw` (which may hold its start); `false` when
/// the connection ends first.
fn read_head(conn: &mut std::net::TcpStream, raw: &mut Vec<u8>) -> bool {
    use std::io::Read;
    let mut byte = [0u8; 1];
    while !raw.ends_with(b"\r\n\r\n") {
        match conn.read(&mut byte) {
            Ok(1) => raw.push(byte[0]),
            _ => return false,
        }
    }
    true
}

/// When, around a scrape, the exporter is killed.
#[derive(Clone, Copy, Debug)]
enum KillAt {
    /// The request is sent; nothing of the response is read yet.
    Sent,
    /// The client's small receive buffer is full: the response waits in the exporter.
    Unread,
    /// The head of the response is read, not the body.
    HeadRead,
    /// The whole response is read, on a keep-alive connection (as Prometheus does): its
    /// checkpoint may or may not be on disk yet.
    BodyRead,
}

/// A keep-alive scrape, the exporter killed at `at`; then the client reads what reached
/// it. The counts when the whole body arrived (the scrape was delivered), else `None`.
fn scrape_and_kill(ex: Exporter, at: KillAt) -> Option<[u64; 3]> {
    use std::io::{Read, Write};
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut conn = rt.block_on(async {
        let s = tokio::net::TcpSocket::new_v4().unwrap();
        if matches!(at, KillAt::Unread) {
            s.set_recv_buffer_size(4096).unwrap();
        }
        let s = s.connect(ex.addr).await.unwrap().into_std().unwrap();
        s.set_nonblocking(false).unwrap();
        s
    });
    conn.set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    conn.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let mut raw = Vec::new();
    let mut byte = [0u8; 1];
    let body_len = |raw: &[u8]| -> usize {
        String::from_utf8_lossy(raw)
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(usize::MAX)
    };
    match at {
        KillAt::Sent => {}
        KillAt::Unread => {
            // The response has started to arrive (the rest waits behind the small buffer).
            let deadline = Instant::now() + Duration::from_secs(10);
            while conn.peek(&mut byte).unwrap_or(0) == 0 {
                assert!(Instant::now() < deadline, "no response started");
            }
        }
        KillAt::HeadRead => assert!(read_head(&mut conn, &mut raw), "no response head"),
        KillAt::BodyRead => {
            assert!(read_head(&mut conn, &mut raw), "no response head");
            let mut body = vec![0u8; body_len(&raw)];
            conn.read_exact(&mut body).unwrap();
            raw.extend_from_slice(&body);
        }
    }
    ex.kill();
    // What reached the client before (or after) the kill is still there to read.
    let has_head = raw.windows(4).any(|w| w == b"\r\n\r\n");
    if !has_head && !read_head(&mut conn, &mut raw) {
        return None;
    }
    let head_len = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|p| p + 4)?;
    let want = body_len(&raw[..head_len]);
    let mut rest = Vec::new();
    if raw.len() - head_len < want {
        let _ = conn.read_to_end(&mut rest);
    }
    let mut body = raw[head_len..].to_vec();
    body.extend_from_slice(&rest);
    if want == usize::MAX || body.len() < want {
        return None;
    }
    let s = Scrape::parse(&String::from_utf8_lossy(&body[..want]));
    Some(KINDS.map(|k| parsed(&s, k)))
}

/// The crash window: the exporter is killed while a scrape's response is on its way (not
/// yet read, partly read, read but its checkpoint perhaps not yet saved). Counting what
/// Prometheus would see (the last scrape each lifetime delivered), no line may be lost; a
/// line may be counted twice only if it arrived after the lifetime's last scrape known to be
/// saved (one read to the end of a `Connection: close` response).
#[test]
fn no_line_is_lost_when_killed_around_a_scrape() {
    let began = Instant::now();
    let mut w = Writer::new();
    let state = w.logs.tmp.path().join("state.json");
    let mut ex = start(&w, &state);
    let deadline = Instant::now() + Duration::from_secs(10);
    while ex.get("/-/ready").0 != 200 {
        assert!(Instant::now() < deadline, "never ready");
        std::thread::sleep(Duration::from_millis(10));
    }
    // Per lifetime: the last delivered counts, and the last counts known to be saved.
    let mut lifetimes: Vec<([u64; 3], [u64; 3])> = Vec::new();
    let mut delivered = std::collections::BTreeMap::<String, (u32, u32)>::new();
    let order = [
        KillAt::Sent,
        KillAt::Unread,
        KillAt::HeadRead,
        KillAt::BodyRead,
    ];
    for round in 0..16usize {
        let at = order[round % order.len()];
        w.write(0, 300, None);
        w.write(1, 200, None);
        w.write(2, 20, None);
        // A scrape read to the end of a closing connection: its checkpoint is on disk.
        let total = w.written;
        let s = ex.wait_for("the lines to be read", |s| {
            KINDS.iter().enumerate().all(|(i, k)| {
                lifetimes.iter().map(|l| l.0[i]).sum::<u64>() + parsed(s, k) >= total[i]
            })
        });
        let saved = KINDS.map(|k| parsed(&s, k));
        // Lines the killed scrape may count (the tailer reads them within milliseconds),
        // not yet in any saved scrape.
        w.write(0, 300, None);
        w.write(1, 200, None);
        w.write(2, 20, None);
        let got = scrape_and_kill(ex, at);
        let e = delivered.entry(format!("{at:?}")).or_default();
        e.1 += 1;
        if got.is_some() {
            e.0 += 1;
        }
        lifetimes.push((got.unwrap_or(saved), saved));
        ex = start(&w, &state);
    }
    // The last lifetime catches up.
    let deadline = Instant::now() + Duration::from_secs(20);
    let last = loop {
        let s = ex.scrape();
        let counts = KINDS.map(|k| parsed(&s, k));
        let lag0 = KINDS
            .iter()
            .all(|k| s.value("xmail_exporter_log_lag_bytes", &[("log", k)]) == 0.0);
        let all = (0..3)
            .all(|i| lifetimes.iter().map(|l| l.0[i]).sum::<u64>() + counts[i] >= w.written[i]);
        if (lag0 && all) || Instant::now() > deadline {
            break counts;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let totals: Vec<u64> = (0..3)
        .map(|i| lifetimes.iter().map(|l| l.0[i]).sum::<u64>() + last[i])
        .collect();
    let window: Vec<u64> = (0..3)
        .map(|i| lifetimes.iter().map(|l| l.0[i] - l.1[i]).sum())
        .collect();
    eprintln!(
        "crash window: {} kills in {:.1} s; delivered/killed per moment: {delivered:?}",
        lifetimes.len(),
        began.elapsed().as_secs_f64()
    );
    for (i, k) in KINDS.iter().enumerate() {
        eprintln!(
            "crash window: {k}: written {}, counted {}, counted twice {} (at most {}: the lines of the killed scrapes)",
            w.written[i],
            totals[i],
            totals[i].saturating_sub(w.written[i]),
            window[i]
        );
    }
    for i in 0..3 {
        assert!(
            totals[i] >= w.written[i],
            "{}: {} lines lost (written {}, counted {})\n{}",
            KINDS[i],
            w.written[i] - totals[i],
            w.written[i],
            totals[i],
            ex.log()
        );
        assert!(
            totals[i] - w.written[i] <= window[i],
            "{}: {} lines counted twice, more than the {} of the killed scrapes",
            KINDS[i],
            totals[i] - w.written[i],
            window[i]
        );
    }
}
