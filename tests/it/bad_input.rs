//! Bad input against the real binary: binary garbage and NUL bytes, a 100 MiB line without a
//! line end, a log directory that vanishes and comes back, files that cannot be read, a
//! symlinked log directory, 100 000 distinct label values, log-named entries that are not
//! log files (a FIFO, a link to `/dev/zero`, a link to a `/proc` file), and a log directory
//! whose name is not UTF-8 with a state file. Every count is exact.
//! Permissions, symlinks, FIFOs and SIGTERM are Unix only (`/proc` for memory and the user
//! id: Linux); on Windows a file another process holds open without sharing stands in for
//! one that cannot be read.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
#[cfg(unix)]
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::util::{Exporter, Scrape, TempLogs, append, promtool_check_metrics, smtp_line};

const LINES: &str = "xmail_exporter_log_lines_total";
const EVENTS: &str = "xmail_smtp_events_total";
const DNSBL: &str = "xmail_smtp_dnsbl_refusals_total";
const READ_ERRORS: &str = "xmail_exporter_log_read_errors_total";

fn lines(s: &Scrape, log: &str, result: &str) -> u64 {
    s.value(LINES, &[("log", log), ("result", result)]) as u64
}

fn per_log(s: &Scrape, name: &str, log: &str) -> u64 {
    s.value(name, &[("log", log)]) as u64
}

fn args<'a>(xmail: &'a Path, webmail: &'a Path) -> Vec<&'a str> {
    vec![
        "--xmail.log-dir",
        xmail.to_str().unwrap(),
        "--webmail.log-dir",
        webmail.to_str().unwrap(),
        "--tail.poll-interval",
        "100ms",
    ]
}

/// The exporter on `logs`, started with empty directories: every file is created after
/// start-up, so it is read from its first byte.
fn start(logs: &TempLogs) -> Exporter {
    let ex = Exporter::start(&args(&logs.xmail, &logs.webmail));
    ex.wait_status("/-/ready", 200);
    ex
}

/// A 9-field SMAIL line (XMail 1.25+), LF added.
fn smail_line(id: &str, time: &str) -> Vec<u8> {
    format!(
        "\"example.co.kr\"\t\"1795705273412.7f3a.1f4c.{id}.mail\"\t\"{id}\"\t\"a@example.net\"\t\"kim@example.co.kr\"\t\"LOCAL\"\t\"kim@example.co.kr\"\t\"{time}\"\t\"\"\n"
    )
    .into_bytes()
}

/// A good SMTP line, `RCPT=OK` from an external client, numbered by its message ID.
fn good_smtp(n: u32) -> Vec<u8> {
    smtp_line(
        "198.51.100.7",
        &format!("2026-11-28 10:00:{:02}", n % 60),
        &format!("S{n:X}"),
        "RCPT=OK",
        "",
        0,
    )
}

/// Deterministic pseudo-random bytes (xorshift64*), so a failure can be replayed.
struct Noise(u64);

impl Noise {
    fn next(&mut self) -> u8 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 56) as u8
    }

    /// `n` bytes of any value but LF.
    fn binary(&mut self, n: usize) -> Vec<u8> {
        (0..n)
            .map(|_| match self.next() {
                b'\n' => 0,
                b => b,
            })
            .collect()
    }

    /// `n` bytes that decode (as UTF-8 or EUC-KR) to no letter, digit or blank, so no
    /// webmail rule can match them and the line is never blank: C0 controls other than
    /// TAB..CR, DEL, and 0x80 / 0xFF (never an EUC-KR lead byte: U+FFFD).
    fn letterless(&mut self, n: usize) -> Vec<u8> {
        const SET: &[u8] =
            b"\x00\x01\x02\x03\x04\x05\x06\x07\x08\x0e\x0f\x10\x11\x1b\x1f\x7f\x80\xff";
        (0..n)
            .map(|_| SET[self.next() as usize % SET.len()])
            .collect()
    }
}

/// Appends `bytes` to `path` in pieces of a few KiB, as a writer would, so the exporter
/// also sees garbage split at arbitrary bytes.
fn append_in_pieces(path: &Path, bytes: &[u8]) {
    for piece in bytes.chunks(4093) {
        append(path, piece);
    }
}

/// Adds `n` NUL bytes at the end of `path` by growing it (a hole), as a crash can leave a
/// file whose size was updated before its data.
fn grow_with_nuls(path: &Path, n: u64) {
    let f = OpenOptions::new().write(true).open(path).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len + n).unwrap();
}

fn file_len(path: &Path) -> u64 {
    fs::metadata(path).unwrap().len()
}

/// Waits until `cond` holds and each `(log, bytes)` was read to its end (that many bytes
/// read, no lag), then scrapes once more and checks `cond` again. One scrape is not a
/// snapshot: the tail thread may count a line while the families are gathered, and it adds
/// the bytes after a chunk's lines and sets the lag at the end of its pass. Once all of this
/// holds nothing is left to read, so the next scrape is stable and exact.
fn settle(
    ex: &Exporter,
    what: &str,
    bytes: &[(&str, u64)],
    cond: impl Fn(&Scrape) -> bool,
) -> Scrape {
    let read_all = |s: &Scrape| {
        bytes.iter().all(|&(log, n)| {
            per_log(s, "xmail_exporter_log_read_bytes_total", log) == n
                && per_log(s, "xmail_exporter_log_lag_bytes", log) == 0
        })
    };
    ex.wait_for(what, |s| cond(s) && read_all(s));
    let s = ex.scrape();
    assert!(
        cond(&s) && read_all(&s),
        "{what}: changed after settling\n{}",
        s.text
    );
    s
}

/// The exporter is still running and answering.
fn assert_alive(ex: &mut Exporter) {
    assert_eq!(
        ex.exited(),
        None,
        "the exporter died; its log:\n{}",
        ex.log()
    );
    assert_eq!(ex.get("/-/healthy").0, 200);
}

/// Binary garbage and NUL bytes in an smtp-*, a smail-* and an error-*.txt file.
///
/// What is expected:
/// - SMTP and SMAIL: every line that is not a record is one `malformed` line, whatever its
///   bytes (random binary, only NULs, a NUL inside a field, an over-long binary line, a run
///   of NULs glued to the front of a good record); no series is created by garbage; the good
///   lines around it count exactly.
/// - Webmail: every non-blank line is an error (`parsed`), garbage included, in the
///   category its decoded text matches (garbage without letters: `other`; NULs in front of
///   "SMTP send failed": `smtp`); blank lines count nowhere; only a line over 64 KiB is
///   `malformed`.
/// - Bytes after the last LF are not counted; they show as lag until their LF arrives.
#[test]
fn binary_garbage_and_nul_bytes_are_malformed_lines_and_the_good_lines_count() {
    let began = Instant::now();
    let logs = TempLogs::new();
    let mut ex = start(&logs);
    let baseline = ex.scrape();
    let event_series = baseline.count(EVENTS);
    let mut noise = Noise(0x9e37_79b9_7f4a_7c15);

    // SMTP.
    let smtp = logs.xmail.join("smtp-202611280000");
    let mut data = Vec::new();
    data.extend(good_smtp(1));
    data.extend(smtp_line(
        "198.51.100.41",
        "2026-11-28 10:00:02",
        "S2",
        "RECV=OK",
        "",
        5321,
    ));
    data.extend(noise.binary(1000));
    data.push(b'\n');
    data.extend([0u8; 4096]);
    data.push(b'\n');
    // A NUL inside the status field: a bad status, not a new label value.
    data.extend(smtp_line(
        "198.51.100.8",
        "2026-11-28 10:00:03",
        "S3",
        "RECV=OK\0",
        "",
        1,
    ));
    data.extend(b"\xff\xfe\x80\x81 \x00binary\x00 \x1b[31m\r\n");
    data.extend(noise.binary(100_000));
    data.push(b'\n');
    data.extend(good_smtp(4));
    append_in_pieces(&smtp, &data);
    ex.wait_for("the SMTP garbage", |s| {
        lines(s, "smtp", "parsed") == 3 && lines(s, "smtp", "malformed") == 5
    });
    // 8 KiB of NULs, then a good record appended to them: one line, malformed.
    grow_with_nuls(&smtp, 8192);
    append(&smtp, &good_smtp(5));
    append(&smtp, &good_smtp(6));
    ex.wait_for("the NUL hole and the line after it", |s| {
        lines(s, "smtp", "parsed") == 4 && lines(s, "smtp", "malformed") == 6
    });
    // Garbage without a line end: not a line yet.
    let tail = noise.binary(300);
    append(&smtp, &tail);
    let s = ex.wait_for("the partial garbage line", |s| {
        per_log(s, "xmail_exporter_log_lag_bytes", "smtp") == 300
    });
    assert_eq!(lines(&s, "smtp", "malformed"), 6);
    assert_eq!(
        per_log(&s, "xmail_exporter_log_read_bytes_total", "smtp"),
        file_len(&smtp) - 300
    );
    append(&smtp, b"\n");
    append(&smtp, &good_smtp(7));

    // SMAIL.
    let smail = logs.xmail.join("smail-202611280000");
    let mut data = Vec::new();
    data.extend(smail_line("S1", "2026-11-28 10:00:01"));
    data.extend(smail_line("S2", "2026-11-28 10:00:02"));
    data.extend(noise.binary(1000));
    data.push(b'\n');
    data.extend([0u8; 4096]);
    data.push(b'\n');
    data.extend(b"\"\x00\x00\x00\"\t\"\x00\"\n");
    data.extend(noise.binary(70_000));
    data.push(b'\n');
    data.extend(smail_line("S3", "2026-11-28 10:00:03"));
    data.extend([0u8; 512]);
    data.extend(smail_line("S4", "2026-11-28 10:00:04"));
    data.extend(smail_line("S5", "2026-11-28 10:00:05"));
    append_in_pieces(&smail, &data);

    // Webmail.
    let web = logs.webmail.join("error-20261128.txt");
    let mut data = Vec::new();
    data.extend(b"[2026-11-28 10:00:00] login failed for kim\n"); // auth
    data.extend(noise.letterless(1000)); // other
    data.push(b'\n');
    data.extend([0u8; 4096]); // other: NULs are not blank
    data.push(b'\n');
    data.extend(b"  \t \r\n"); // blank: no error
    data.extend([0u8; 64]); // NULs before a real error: still that error
    data.extend(b"[2026-11-28 10:00:01] SMTP send failed\n"); // smtp
    data.extend(noise.letterless(70_000)); // over 64 KiB: malformed
    data.push(b'\n');
    data.extend(b"\xff\xfe\x80\x00\x01\r\n"); // other
    data.extend(b"Database connection lost\n"); // database
    append_in_pieces(&web, &data);

    let sizes = [
        ("smtp", file_len(&smtp)),
        ("smail", file_len(&smail)),
        ("webmail", file_len(&web)),
    ];
    let s = settle(&ex, "every log", &sizes, |s| {
        lines(s, "smtp", "parsed") == 5
            && lines(s, "smail", "parsed") == 4
            && lines(s, "webmail", "parsed") + lines(s, "webmail", "malformed") == 7
    });
    assert_eq!(lines(&s, "smtp", "malformed"), 7);
    assert_eq!(lines(&s, "smail", "malformed"), 5);
    assert_eq!(lines(&s, "webmail", "parsed"), 6);
    assert_eq!(lines(&s, "webmail", "malformed"), 1);

    // The good lines, exactly, and no series made of garbage.
    assert_eq!(s.sum(EVENTS), 5.0);
    assert_eq!(
        s.value(EVENTS, &[("status", "RCPT=OK"), ("source", "external")]),
        4.0
    );
    assert_eq!(
        s.value(EVENTS, &[("status", "RECV=OK"), ("source", "external")]),
        1.0
    );
    assert_eq!(s.count(EVENTS), event_series);
    assert_eq!(s.count(DNSBL), 0);
    assert_eq!(s.sum("xmail_smail_records_total"), 4.0);
    assert_eq!(s.sum("xmail_mail_delivered_total"), 4.0);
    assert_eq!(
        s.value(
            "xmail_smail_records_total",
            &[("type", "LOCAL"), ("origin", "smtp")]
        ),
        4.0
    );
    let cat = |c: &str| s.value("xmail_webmail_errors_total", &[("category", c)]);
    assert_eq!(cat("auth"), 1.0);
    assert_eq!(cat("smtp"), 1.0);
    assert_eq!(cat("database"), 1.0);
    assert_eq!(cat("other"), 3.0);
    assert_eq!(s.sum("xmail_webmail_errors_total"), 6.0);
    for (log, _) in sizes {
        assert_eq!(per_log(&s, READ_ERRORS, log), 0, "{log}");
        assert_eq!(
            per_log(&s, "xmail_exporter_log_truncations_total", log),
            0,
            "{log}"
        );
    }
    // The newest event time comes from the good lines (2026-11-28 10:00:xx local), not
    // from garbage; just check it moved.
    assert!(
        per_log(
            &s,
            "xmail_exporter_log_last_event_timestamp_seconds",
            "smtp"
        ) > 0
    );
    promtool_check_metrics(&s.text);
    assert_alive(&mut ex);
    eprintln!("garbage test: {:?}", began.elapsed());
}

/// 100 MiB appended without a line end, then an LF and a good line: one malformed line, the
/// good line counts, and the exporter's memory does not grow with the line.
#[cfg(target_os = "linux")]
#[test]
fn a_100_mib_line_is_one_malformed_line_in_bounded_memory() {
    const MIB: u64 = 1 << 20;
    const LONG: u64 = 100 * MIB;
    let began = Instant::now();
    let logs = TempLogs::new();
    let ex = start(&logs);
    let path = logs.xmail.join("smtp-202611280000");
    let first = good_smtp(1);
    append(&path, &first);
    ex.wait_for("the first line", |s| lines(s, "smtp", "parsed") == 1);
    let hwm_before = ex.proc_status_kib("VmHWM");
    let rss_before = ex.proc_status_kib("VmRSS");

    // Written in 1 MiB chunks through one handle while the exporter reads.
    let write_began = Instant::now();
    let chunk = Noise(42).binary(MIB as usize);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    for _ in 0..LONG / MIB {
        f.write_all(&chunk).unwrap();
    }
    drop(f);
    let write_took = write_began.elapsed();
    // The whole unterminated line shows as lag, and is not a line (yet).
    let s = ex.wait_for_within(Duration::from_secs(20), "the long line as lag", |s| {
        per_log(s, "xmail_exporter_log_lag_bytes", "smtp") == LONG
    });
    assert_eq!(lines(&s, "smtp", "malformed"), 0);
    let hwm_written = ex.proc_status_kib("VmHWM");

    let last = good_smtp(2);
    let mut end = b"\n".to_vec();
    end.extend(&last);
    append(&path, &end);
    // Every byte of the file counts as read: the long line (LF included) and both lines.
    let total = first.len() as u64 + LONG + 1 + last.len() as u64;
    assert_eq!(file_len(&path), total);
    ex.wait_for_within(
        Duration::from_secs(20),
        "the line after the long one",
        |s| lines(s, "smtp", "parsed") == 2,
    );
    let counted_after = write_began.elapsed();
    let s = settle(
        &ex,
        "the line after the long one",
        &[("smtp", total)],
        |s| lines(s, "smtp", "parsed") == 2,
    );
    assert_eq!(lines(&s, "smtp", "malformed"), 1);
    assert_eq!(s.sum(EVENTS), 2.0);

    let hwm_after = ex.proc_status_kib("VmHWM");
    let rss_after = ex.proc_status_kib("VmRSS");
    eprintln!(
        "100 MiB line: VmHWM {hwm_before} KiB before, {hwm_written} KiB once written, {hwm_after} KiB at the end; VmRSS {rss_before} -> {rss_after} KiB; written in {write_took:?}, last line counted {counted_after:?} after the first byte; test {:?}",
        began.elapsed()
    );
    // The line buffer is 256 KiB and reads go through it: allow 16 MiB of growth for
    // allocator and runtime noise, far below the 100 MiB a buffered line would take.
    assert!(
        hwm_after < hwm_before + 16 * 1024,
        "peak RSS grew from {hwm_before} KiB to {hwm_after} KiB"
    );
    assert!(hwm_after < 64 * 1024, "peak RSS {hwm_after} KiB");
}

/// The XMail log directory is removed (rm -rf) and comes back, all at once, holding a file
/// under the name followed before (new content) and a new period's files. While it is gone
/// it does not exist, which is not a read error: `xmail_exporter_log_directory_exists` is 0.
#[test]
fn a_log_directory_that_disappears_and_comes_back() {
    let logs = TempLogs::new();
    let mut ex = start(&logs);
    let a = "smtp-202611270000";
    let mut smtp_lines = 0;
    for n in 0..2 {
        logs.append(a, &good_smtp(n));
        smtp_lines += 1;
    }
    let first_smail = smail_line("S1", "2026-11-27 10:00:00");
    logs.append("smail-202611270000", &first_smail);
    // Bytes read before the directory goes: these files are gone with it.
    let before = [file_len(&logs.xmail.join(a)), first_smail.len() as u64];
    ex.wait_for("the first lines", |s| {
        lines(s, "smtp", "parsed") == 2 && lines(s, "smail", "parsed") == 1
    });

    // A directory that does not exist is a state, not an error: no read errors, and the
    // exporter stays ready (the stale-log alerts see that nothing is written).
    if !remove_followed_dir(&logs.xmail) {
        return;
    }
    let gone = ex.wait_for("the directory gone", |s| {
        per_log(s, "xmail_exporter_log_directory_exists", "smtp") == 0
            && per_log(s, "xmail_exporter_log_directory_exists", "smail") == 0
    });
    ex.wait_log("log directory no longer exists");
    std::thread::sleep(Duration::from_millis(500));
    let s = ex.scrape();
    for log in ["smtp", "smail", "pop3", "webmail"] {
        assert_eq!(per_log(&s, READ_ERRORS, log), 0, "{log}");
    }
    assert_eq!(
        per_log(&gone, "xmail_exporter_log_directory_exists", "webmail"),
        1
    );
    assert_eq!(ex.get("/-/ready").0, 200);
    assert_eq!(ex.get("/-/healthy").0, 200);

    // The directory comes back with its files already in it (a restore, a remount).
    let staged = logs.tmp.path().join("logs.new");
    fs::create_dir(&staged).unwrap();
    let mut again = Vec::new();
    for n in 10..13 {
        again.extend(good_smtp(n));
    }
    append(&staged.join(a), &again);
    append(
        &staged.join("smtp-202611280000"),
        &[good_smtp(20), good_smtp(21)].concat(),
    );
    append(
        &staged.join("smail-202611280000"),
        &smail_line("S2", "2026-11-28 10:00:00"),
    );
    smtp_lines += 5;
    fs::rename(&staged, &logs.xmail).unwrap();
    ex.wait_status("/-/ready", 200);
    let s = ex.wait_for("the files of the new directory, from their start", |s| {
        lines(s, "smtp", "parsed") == smtp_lines && lines(s, "smail", "parsed") == 2
    });
    assert_eq!(
        per_log(&s, "xmail_exporter_log_directory_exists", "smtp"),
        1
    );
    let errors = per_log(&s, READ_ERRORS, "smtp");
    assert_eq!(errors, 0);

    // Followed as before; no more read errors.
    logs.append("smtp-202611280000", &good_smtp(22));
    smtp_lines += 1;
    let x = |name: &str| file_len(&logs.xmail.join(name));
    let sizes = [
        ("smtp", before[0] + x(a) + x("smtp-202611280000")),
        ("smail", before[1] + x("smail-202611280000")),
    ];
    let s = settle(&ex, "a line appended after the return", &sizes, |s| {
        lines(s, "smtp", "parsed") == smtp_lines
    });
    assert_eq!(per_log(&s, READ_ERRORS, "smtp"), errors);
    assert_eq!(lines(&s, "smtp", "malformed"), 0);
    assert_eq!(s.sum(EVENTS), smtp_lines as f64);
    // a, then a again (new content) and the next period's file: three files picked up.
    assert_eq!(per_log(&s, "xmail_exporter_log_rotations_total", "smtp"), 3);
    assert_eq!(
        per_log(&s, "xmail_exporter_log_rotations_total", "smail"),
        2
    );
    assert_eq!(
        per_log(&s, "xmail_exporter_log_truncations_total", "smtp"),
        0
    );
    assert_alive(&mut ex);
}

/// Removes a log directory the exporter follows. On Windows without POSIX deletion (before
/// Windows 10 1903, or not NTFS) the deleted files the exporter holds open keep the
/// directory until the exporter sees them deleted and closes them, at its next poll: tried
/// again until then. Returns `false`, saying why, where a deleted file still opens by its
/// name (Wine), so that the exporter is never told.
fn remove_followed_dir(dir: &Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let e = match fs::remove_dir_all(dir) {
            Ok(()) => return true,
            Err(e) => e,
        };
        assert!(
            cfg!(windows) && e.kind() == std::io::ErrorKind::DirectoryNotEmpty,
            "remove {}: {e}",
            dir.display()
        );
        let left = fs::read_dir(dir).unwrap().next().unwrap().unwrap().path();
        if File::open(&left).is_ok() {
            eprintln!(
                "SKIPPED: the rest of this test: {} was deleted, yet opens by its name \
                 (Wine's deletion semantics, neither Windows' nor Unix')",
                left.display()
            );
            return false;
        }
        assert!(Instant::now() < deadline, "remove {}: {e}", dir.display());
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// How to run the exporter so that file permissions apply to it: directly when the tests
/// do not run as root, else as nobody (65534) with no supplementary group, through
/// util-linux `setpriv`. Panics when root cannot drop its privileges: a permission test
/// run as root would prove nothing.
#[cfg(target_os = "linux")]
fn unprivileged() -> Vec<&'static str> {
    let euid = crate::util::proc_status(std::process::id(), "Uid")
        .and_then(|u| u.split_whitespace().nth(1).map(str::to_string))
        .expect("Uid in /proc/self/status");
    if euid != "0" {
        eprintln!("running as uid {euid}: the exporter runs as this user, permissions apply");
        return Vec::new();
    }
    let setpriv = std::process::Command::new("setpriv")
        .arg("--version")
        .output();
    match setpriv {
        Ok(out) if out.status.success() => vec![
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
        ],
        other => panic!(
            "THE PERMISSION TEST CANNOT RUN: the tests run as root, where chmod 000 does not \
             stop a read, and `setpriv` (util-linux) is not usable to run the exporter as an \
             unprivileged user ({other:?}). Install util-linux or run the tests as a normal user."
        ),
    }
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
}

/// Restores a directory's mode even when the test fails half-way, so the temporary tree
/// can be removed.
#[cfg(unix)]
struct RestoreMode<'a>(&'a Path);

#[cfg(unix)]
impl Drop for RestoreMode<'_> {
    fn drop(&mut self) {
        let _ = fs::set_permissions(self.0, fs::Permissions::from_mode(0o755));
    }
}

/// Files and a directory that cannot be read for a while (chmod 000), with the exporter
/// running as a user that permissions apply to. Unix checks permissions when a file is
/// opened, so:
/// - a file the exporter already has open is still read through its handle: chmod 000
///   loses nothing and counts no error;
/// - a file it has not opened yet (here: a new period's file created with mode 000) counts
///   a read error at every poll, and is read from its start once readable;
/// - when the directory cannot be searched, the followed files cannot be checked: each
///   counts read errors and is closed, `/-/ready` answers 503; it is reopened at its offset
///   once readable, so the lines written meanwhile count once.
#[cfg(target_os = "linux")]
#[test]
fn files_that_cannot_be_read_for_a_while() {
    let wrapper = unprivileged();
    let logs = TempLogs::new();
    for d in [logs.tmp.path(), &logs.xmail, &logs.webmail] {
        chmod(d, 0o755);
    }
    let _restore = RestoreMode(&logs.xmail);
    let mut ex = Exporter::start_with(&wrapper, &args(&logs.xmail, &logs.webmail));
    if !wrapper.is_empty() {
        let uid = crate::util::proc_status(ex.pid(), "Uid").unwrap();
        assert!(
            uid.split_whitespace().all(|u| u == "65534"),
            "the exporter runs as uid {uid}, not 65534"
        );
        assert_eq!(
            crate::util::proc_status(ex.pid(), "Groups").as_deref(),
            Some("")
        );
    }
    ex.wait_status("/-/ready", 200);
    let smtp_errors = |s: &Scrape| per_log(s, READ_ERRORS, "smtp");
    // The test writes through handles opened while it could, as a writer keeps its log open.
    let mut written = 0u64;
    fn write_line(f: &mut File, n: u32, written: &mut u64) -> u64 {
        f.write_all(&good_smtp(n)).unwrap();
        *written += 1;
        *written
    }

    let path_a = logs.xmail.join("smtp-202611270000");
    let mut a = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path_a)
        .unwrap();
    chmod(&path_a, 0o644);
    for n in 0..3 {
        write_line(&mut a, n, &mut written);
    }
    ex.wait_for("the readable file", |s| lines(s, "smtp", "parsed") == 3);

    // 1. An open file becomes unreadable: still read through the open handle.
    chmod(&path_a, 0o000);
    write_line(&mut a, 3, &mut written);
    let n = write_line(&mut a, 4, &mut written);
    let s = ex.wait_for("lines of the open file", |s| {
        lines(s, "smtp", "parsed") == n
    });
    assert_eq!(smtp_errors(&s), 0);

    // 2. The next period's file exists but cannot be read.
    let path_b = logs.xmail.join("smtp-202611280000");
    let mut b = OpenOptions::new()
        .create_new(true)
        .append(true)
        .mode(0o000)
        .open(&path_b)
        .unwrap();
    for n in 10..14 {
        write_line(&mut b, n, &mut written);
    }
    let s = ex.wait_for("read errors for the unreadable file", |s| {
        smtp_errors(s) >= 3
    });
    assert_eq!(lines(&s, "smtp", "parsed"), 5);
    ex.wait_log("cannot read log file");
    assert_eq!(ex.get("/-/ready").0, 200, "the directory is readable");
    // A late line to the older file, still open, counts meanwhile (B's 4 lines do not).
    write_line(&mut a, 5, &mut written);
    ex.wait_for("the late line", |s| lines(s, "smtp", "parsed") == 6);
    // (The lag of B is not checked here: it stays at B's size when B was found, since the
    // size of a file is only looked at when it is read.)

    // ... and becomes readable: read from its start, then no more errors.
    chmod(&path_b, 0o644);
    let s = ex.wait_for("the file once readable", |s| {
        lines(s, "smtp", "parsed") == written
    });
    let errors = smtp_errors(&s);
    let n = write_line(&mut b, 14, &mut written);
    let s = ex.wait_for("a line after that", |s| lines(s, "smtp", "parsed") == n);
    assert_eq!(smtp_errors(&s), errors);

    // 3. Both files and the directory become unreadable.
    chmod(&path_a, 0o000);
    chmod(&path_b, 0o000);
    chmod(&logs.xmail, 0o000);
    ex.wait_status("/-/ready", 503);
    // It exists but cannot be listed: not "exists" for the gauge, and read errors.
    ex.wait_for("the directory state", |s| {
        per_log(s, "xmail_exporter_log_directory_exists", "smtp") == 0
    });
    // The pass that made it unready found the files unreachable and closed them.
    let parsed_before = written;
    write_line(&mut a, 6, &mut written);
    write_line(&mut b, 15, &mut written);
    write_line(&mut b, 16, &mut written);
    let s = ex.wait_for("read errors while the directory is unreadable", |s| {
        smtp_errors(s) >= errors + 3 && per_log(s, READ_ERRORS, "smail") >= 1
    });
    assert_eq!(lines(&s, "smtp", "parsed"), parsed_before);
    // The directory is back, the files are not yet.
    chmod(&logs.xmail, 0o755);
    ex.wait_status("/-/ready", 200);
    let e = smtp_errors(&ex.scrape());
    let s = ex.wait_for("read errors for the files", |s| smtp_errors(s) >= e + 3);
    assert_eq!(lines(&s, "smtp", "parsed"), parsed_before);
    chmod(&path_a, 0o644);
    chmod(&path_b, 0o644);
    let sizes = [("smtp", file_len(&path_a) + file_len(&path_b))];
    let s = settle(&ex, "every line written while unreadable", &sizes, |s| {
        lines(s, "smtp", "parsed") == written
    });

    assert_eq!(written, 14);
    assert_eq!(s.sum(EVENTS), written as f64);
    assert_eq!(lines(&s, "smtp", "malformed"), 0);
    assert_eq!(
        per_log(&s, "xmail_exporter_log_truncations_total", "smtp"),
        0
    );
    assert_eq!(per_log(&s, "xmail_exporter_log_rotations_total", "smtp"), 2);
    assert_eq!(per_log(&s, READ_ERRORS, "webmail"), 0);
    assert_alive(&mut ex);
}

/// Windows' counterpart of [`files_that_cannot_be_read_for_a_while`]: a log file another
/// process holds open without sharing it (share mode 0: a backup tool, an editor, a writer
/// that locks its log) cannot be opened, whoever the exporter runs as. So:
/// - the exporter's own handles share reading, writing and deletion: XMail goes on writing
///   the file the exporter has open, and every line counts;
/// - a file it has not opened yet (here: a new period's file, created and held without
///   sharing) counts a read error at every poll, and is read from its start once released;
///   the directory stays readable and the exporter ready meanwhile.
#[cfg(windows)]
#[test]
fn files_locked_by_another_process_for_a_while() {
    use std::os::windows::fs::OpenOptionsExt;
    let logs = TempLogs::new();
    let mut ex = start(&logs);
    let smtp_errors = |s: &Scrape| per_log(s, READ_ERRORS, "smtp");
    let mut written = 0u64;
    fn write_line(f: &mut File, n: u32, written: &mut u64) -> u64 {
        f.write_all(&good_smtp(n)).unwrap();
        *written += 1;
        *written
    }

    // A writer that shares its log, as XMail does.
    let path_a = logs.xmail.join("smtp-202611270000");
    let mut a = OpenOptions::new()
        .create_new(true)
        .append(true)
        .open(&path_a)
        .unwrap();
    for n in 0..3 {
        write_line(&mut a, n, &mut written);
    }
    ex.wait_for("the shared file", |s| lines(s, "smtp", "parsed") == 3);
    let n = write_line(&mut a, 3, &mut written);
    ex.wait_for("a line written while the exporter holds the file", |s| {
        lines(s, "smtp", "parsed") == n
    });

    // The next period's file, held without sharing.
    let path_b = logs.xmail.join("smtp-202611280000");
    let mut b = OpenOptions::new()
        .create_new(true)
        .append(true)
        .share_mode(0)
        .open(&path_b)
        .unwrap();
    for n in 10..14 {
        write_line(&mut b, n, &mut written);
    }
    let refused = File::open(&path_b).unwrap_err();
    assert_eq!(
        refused.raw_os_error(),
        Some(32), // ERROR_SHARING_VIOLATION
        "the test's own open of the locked file: {refused}"
    );
    let s = ex.wait_for("read errors for the locked file", |s| smtp_errors(s) >= 3);
    assert_eq!(lines(&s, "smtp", "parsed"), 4);
    ex.wait_log("cannot read log file");
    assert_eq!(ex.get("/-/ready").0, 200, "the directory is readable");
    // A late line to the older file counts meanwhile (B's 4 lines do not).
    write_line(&mut a, 4, &mut written);
    ex.wait_for("the late line", |s| lines(s, "smtp", "parsed") == 5);

    // Released (the writer closes it and opens it again, sharing): read from its start,
    // then no more errors.
    drop(b);
    let mut b = OpenOptions::new().append(true).open(&path_b).unwrap();
    let s = ex.wait_for("the file once released", |s| {
        lines(s, "smtp", "parsed") == written
    });
    let errors = smtp_errors(&s);
    let n = write_line(&mut b, 14, &mut written);
    let sizes = [("smtp", file_len(&path_a) + file_len(&path_b))];
    let s = settle(&ex, "a line after that", &sizes, |s| {
        lines(s, "smtp", "parsed") == n
    });
    assert_eq!(smtp_errors(&s), errors);

    assert_eq!(written, 10);
    assert_eq!(s.sum(EVENTS), written as f64);
    assert_eq!(lines(&s, "smtp", "malformed"), 0);
    assert_eq!(
        per_log(&s, "xmail_exporter_log_truncations_total", "smtp"),
        0
    );
    assert_eq!(per_log(&s, "xmail_exporter_log_rotations_total", "smtp"), 2);
    assert_eq!(per_log(&s, READ_ERRORS, "webmail"), 0);
    assert_alive(&mut ex);
}

/// `--xmail.log-dir` (and `--webmail.log-dir`) are symlinks to the real directories.
/// (Unix: a symlink on Windows needs a privilege or developer mode; XMail's directories there
/// are real ones.)
#[cfg(unix)]
#[test]
fn a_symlinked_log_directory() {
    let logs = TempLogs::new();
    let root = logs.tmp.path();
    let (xmail, webmail) = (root.join("xmail-link"), root.join("webmail-link"));
    // Relative targets: resolved from the link's directory.
    std::os::unix::fs::symlink("logs", &xmail).unwrap();
    std::os::unix::fs::symlink("weblogs", &webmail).unwrap();
    let mut ex = Exporter::start(&args(&xmail, &webmail));
    ex.wait_status("/-/ready", 200);

    logs.append("smtp-202611270000", &good_smtp(1));
    logs.append(
        "smail-202611270000",
        &smail_line("S1", "2026-11-27 23:59:00"),
    );
    logs.append_web(
        "error-20261127.txt",
        b"[2026-11-27 23:59:00] login failed\n",
    );
    ex.wait_for("lines through the links", |s| {
        lines(s, "smtp", "parsed") == 1
            && lines(s, "smail", "parsed") == 1
            && lines(s, "webmail", "parsed") == 1
    });

    // Rotation: the next period's files, and a late line in the previous one.
    logs.append("smtp-202611280000", &[good_smtp(2), good_smtp(3)].concat());
    logs.append(
        "smail-202611280000",
        &smail_line("S2", "2026-11-28 00:00:01"),
    );
    logs.append_web(
        "error-20261128.txt",
        b"[2026-11-28 00:00:01] SMTP send failed\n",
    );
    ex.wait_for("the new files", |s| {
        lines(s, "smtp", "parsed") == 3
            && lines(s, "smail", "parsed") == 2
            && lines(s, "webmail", "parsed") == 2
    });
    logs.append("smtp-202611270000", &good_smtp(4));
    let x = |name: &str| file_len(&logs.xmail.join(name));
    let w = |name: &str| file_len(&logs.webmail.join(name));
    let sizes = [
        ("smtp", x("smtp-202611270000") + x("smtp-202611280000")),
        ("smail", x("smail-202611270000") + x("smail-202611280000")),
        ("webmail", w("error-20261127.txt") + w("error-20261128.txt")),
    ];
    let s = settle(&ex, "the late line", &sizes, |s| {
        lines(s, "smtp", "parsed") == 4
    });
    assert_eq!(s.sum(EVENTS), 4.0);
    for (log, files) in [("smtp", 2), ("smail", 2), ("webmail", 2)] {
        assert_eq!(
            per_log(&s, "xmail_exporter_log_rotations_total", log),
            files,
            "{log}"
        );
        assert_eq!(per_log(&s, READ_ERRORS, log), 0, "{log}");
        assert_eq!(lines(&s, log, "malformed"), 0, "{log}");
    }
    let (status, body) = ex.get("/-/ready");
    assert_eq!(status, 200, "{body}");
    assert_alive(&mut ex);
}

/// 100 000 distinct well-formed unknown statuses and 100 000 distinct DNSBL list names: the
/// series stay at the documented caps (README, src/metrics/smtp.rs).
#[test]
fn label_cardinality_is_capped() {
    /// Unknown statuses with a series of their own (README: "up to 32 of them").
    const STATUS_CAP: usize = 32;
    /// DNSBL lists with a series of their own (README: "up to 32 lists").
    const LIST_CAP: usize = 32;
    const N: usize = 100_000;
    assert_eq!(
        xmail_exporter::metrics::smtp::MAX_UNKNOWN_STATUSES,
        STATUS_CAP
    );
    assert_eq!(xmail_exporter::metrics::smtp::MAX_DNSBL_LISTS, LIST_CAP);
    let began = Instant::now();
    let logs = TempLogs::new();
    let ex = start(&logs);
    let baseline = ex.scrape();
    // Every known status is exported at 0 for each of the 3 sources from start-up.
    let known = baseline.count(EVENTS);
    assert_eq!(
        known,
        xmail_exporter::parse::status::StatusCode::ALL.len() * 3
    );
    assert_eq!(baseline.count(DNSBL), 0);

    let path = logs.xmail.join("smtp-202611280000");
    // Rotates over the three sources: external, webmail (loopback), authenticated.
    let line = |i: usize, status: &str| {
        let (peer, user) = match i % 3 {
            0 => ("198.51.100.7", ""),
            1 => ("127.0.0.1", ""),
            _ => ("203.0.113.9", "kim@example.co.kr"),
        };
        smtp_line(peer, "2026-11-28 10:00:00", "S1", status, user, 0)
    };
    let mut buf = Vec::with_capacity(2 << 20);
    for i in 0..N {
        buf.extend(line(i, &format!("NEW=E{i}")));
        if buf.len() > 1 << 20 {
            append(&path, &buf);
            buf.clear();
        }
    }
    for i in 0..N {
        buf.extend(line(i, &format!("SNDRIP=EIPMAP (bl{i}.example.org.)")));
        if buf.len() > 1 << 20 {
            append(&path, &buf);
            buf.clear();
        }
    }
    append(&path, &buf);
    let written = began.elapsed();
    ex.wait_for_within(Duration::from_secs(25), "200 000 lines", |s| {
        lines(s, "smtp", "parsed") == 2 * N as u64
    });
    let s = settle(&ex, "200 000 lines", &[("smtp", file_len(&path))], |s| {
        lines(s, "smtp", "parsed") == 2 * N as u64
    });
    assert_eq!(lines(&s, "smtp", "malformed"), 0);
    assert_eq!(s.sum(EVENTS), (2 * N) as f64);

    // xmail_smtp_events_total: the known statuses, the first 32 unknown ones and `other`,
    // each for the 3 sources.
    assert_eq!(s.count(EVENTS), known + (STATUS_CAP + 1) * 3);
    let event =
        |status: &str, source: &str| s.get(EVENTS, &[("status", status), ("source", source)]);
    for i in 0..STATUS_CAP {
        let status = format!("NEW=E{i}");
        let own = ["external", "webmail", "authenticated"][i % 3];
        for source in ["external", "webmail", "authenticated"] {
            let want = if source == own { 1.0 } else { 0.0 };
            assert_eq!(event(&status, source), Some(want), "{status} {source}");
        }
    }
    assert_eq!(event(&format!("NEW=E{STATUS_CAP}"), "external"), None);
    let other: f64 = ["external", "webmail", "authenticated"]
        .iter()
        .map(|src| event("other", src).unwrap())
        .sum();
    assert_eq!(other, (N - STATUS_CAP) as f64);
    let eipmap: f64 = ["external", "webmail", "authenticated"]
        .iter()
        .map(|src| event("SNDRIP=EIPMAP", src).unwrap())
        .sum();
    assert_eq!(eipmap, N as f64);

    // xmail_smtp_dnsbl_refusals_total: the first 32 lists and `other`.
    assert_eq!(s.count(DNSBL), LIST_CAP + 1);
    for i in 0..LIST_CAP {
        let list = format!("bl{i}.example.org.");
        assert_eq!(s.get(DNSBL, &[("list", &list)]), Some(1.0), "{list}");
    }
    assert_eq!(s.value(DNSBL, &[("list", "other")]), (N - LIST_CAP) as f64);
    assert_eq!(s.sum(DNSBL), N as f64);

    // The whole scrape: each family's most series, whatever the input. The input can only
    // reach the two capped families above; every other one has a fixed set of children.
    // A family missing here fails the test: give it its bound (and its cap, if the input
    // can create values).
    const MAX_SERIES: &[(&str, usize)] = &[
        // (28 known statuses + 32 unknown + other) x 3 sources
        ("xmail_smtp_events_total", (28 + STATUS_CAP + 1) * 3),
        // 32 lists + other
        ("xmail_smtp_dnsbl_refusals_total", LIST_CAP + 1),
        // 3 sources x (9 buckets + +Inf), and _sum, _count per source
        ("xmail_smtp_message_size_bytes_bucket", 3 * 10),
        ("xmail_smtp_message_size_bytes_sum", 3),
        ("xmail_smtp_message_size_bytes_count", 3),
        // 5 mechanisms
        ("xmail_smtp_auth_failures_total", 5),
        // 9 record types x 5 origins
        ("xmail_smail_records_total", 9 * 5),
        // The headline meanings: 3 sources; 4 delivery types x 5 origins; bounces and
        // postmaster notices; 6 refusal stages; accepted and refused recipients
        ("xmail_mail_received_total", 3),
        ("xmail_mail_delivered_total", 4 * 5),
        ("xmail_mail_bounced_total", 1),
        ("xmail_mail_postmaster_notices_total", 1),
        ("xmail_mail_refused_total", 6),
        ("xmail_smtp_recipients_total", 2),
        // 7 built-in categories + other (no config file here)
        ("xmail_webmail_errors_total", 8),
        // 9 logs x (parsed, malformed)
        ("xmail_exporter_log_lines_total", 18),
        // 9 logs each
        ("xmail_exporter_log_read_bytes_total", 9),
        ("xmail_exporter_log_last_event_timestamp_seconds", 9),
        ("xmail_exporter_log_lag_bytes", 9),
        ("xmail_exporter_log_rotations_total", 9),
        ("xmail_exporter_log_truncations_total", 9),
        ("xmail_exporter_log_read_errors_total", 9),
        ("xmail_exporter_log_directory_exists", 9),
        ("xmail_exporter_log_files", 9),
        // The other services: CTRL ok/failed; PSYNC 3 results, synced/error messages and
        // bytes; filters 5 stages x 5 results; LMAIL; FINGER
        ("xmail_ctrl_logins_total", 2),
        ("xmail_psync_syncs_total", 3),
        ("xmail_psync_messages_total", 2),
        ("xmail_psync_bytes_total", 2),
        ("xmail_filter_runs_total", 25),
        ("xmail_lmail_messages_total", 1),
        ("xmail_finger_queries_total", 1),
        // POP3: 3 results; 7 + 9 buckets (+Inf each) and _sum, _count for the two histograms
        ("xmail_pop3_logins_total", 3),
        ("xmail_pop3_mailbox_messages_bucket", 8),
        ("xmail_pop3_mailbox_messages_sum", 1),
        ("xmail_pop3_mailbox_messages_count", 1),
        ("xmail_pop3_mailbox_size_bytes_bucket", 10),
        ("xmail_pop3_mailbox_size_bytes_sum", 1),
        ("xmail_pop3_mailbox_size_bytes_count", 1),
        // 9 delivery types x (12 buckets + +Inf), and _sum, _count per type
        ("xmail_delivery_delay_seconds_bucket", 9 * 13),
        ("xmail_delivery_delay_seconds_sum", 9),
        ("xmail_delivery_delay_seconds_count", 9),
        ("xmail_exporter_delivery_delay_evictions_total", 1),
        ("xmail_exporter_delivery_delay_unmatched_total", 1),
        // 5 spool queues, and the scan error counter
        ("xmail_spool_messages", 5),
        // queued and retry; x 4 ages
        ("xmail_spool_oldest_message_age_seconds", 2),
        ("xmail_spool_messages_older_than", 2 * 4),
        ("xmail_exporter_spool_scan_errors_total", 1),
        ("xmail_exporter_build_info", 1),
        // The Linux process collector (8 series today); any process_* family, together.
        ("process_", 16),
    ];
    // 183 + 33 + 36 + 5 + 45 + 33 + 8 + 18 + 54 + 25 + 137 + 6 + 1 + 16 = 600, + 9 directory
    // states + 9 file counts + 36 for the other services + 10 spool ages = 664.
    const BOUND: usize = 664;
    assert_eq!(MAX_SERIES.iter().map(|(_, n)| n).sum::<usize>(), BOUND);
    let family = |k: &str| k.split('{').next().unwrap().to_string();
    let mut counts = std::collections::BTreeMap::<&str, usize>::new();
    for k in s.samples.keys() {
        let f = family(k);
        let Some((name, _)) = MAX_SERIES
            .iter()
            .find(|(n, _)| *n == f || (n.ends_with('_') && f.starts_with(n)))
        else {
            panic!("family {f} has no bound in this test: add it to MAX_SERIES");
        };
        *counts.entry(name).or_default() += 1;
    }
    for (name, max) in MAX_SERIES {
        let n = counts.get(name).copied().unwrap_or(0);
        assert!(n <= *max, "{n} series of {name}, more than {max}");
    }
    assert!(
        s.samples.len() <= BOUND,
        "{} series, more than {BOUND}:\n{}",
        s.samples.len(),
        s.text
    );
    let xmail_series = s.samples.keys().filter(|k| k.starts_with("xmail_")).count();
    promtool_check_metrics(&s.text);
    eprintln!(
        "cardinality: {} series in the scrape ({xmail_series} xmail_*); lines written in {written:?}, test {:?}",
        s.samples.len(),
        began.elapsed()
    );
}

/// How many lines of the exporter's log contain `needle`.
#[cfg(unix)]
fn log_count(ex: &Exporter, needle: &str) -> usize {
    ex.log().lines().filter(|l| l.contains(needle)).count()
}

/// How many warnings the exporter logged about `dir` or a file in it.
#[cfg(unix)]
fn warnings_about(ex: &Exporter, dir: &Path) -> usize {
    let dir = dir.to_str().unwrap();
    ex.log()
        .lines()
        .filter(|l| l.contains("level=warn") && l.contains(dir))
        .count()
}

/// The exporter's CPU time so far (user + system), from `/proc/<pid>/stat`.
#[cfg(target_os = "linux")]
fn cpu_time(pid: u32) -> Duration {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    // The fields after the command name, which is in parentheses and may hold spaces.
    let rest = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    // SAFETY: sysconf with a constant.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as u64;
    Duration::from_millis(ticks * 1000 / hz)
}

/// Sends SIGTERM and requires the exporter to be gone within `limit`; returns how long it
/// took.
#[cfg(unix)]
fn terminate_within(ex: &mut Exporter, limit: Duration) -> Duration {
    let t0 = Instant::now();
    let status = std::process::Command::new("kill")
        .args(["-TERM", &ex.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    loop {
        if let Some(st) = ex.exited() {
            assert!(st.success(), "exit status {st}; log:\n{}", ex.log());
            return t0.elapsed();
        }
        assert!(
            t0.elapsed() < limit,
            "the exporter did not exit within {limit:?} of SIGTERM; its log:\n{}",
            ex.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    use std::os::unix::ffi::OsStrExt;
    let c = std::ffi::CString::new(path.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo with a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0, "mkfifo");
}

#[cfg(unix)]
const NOT_REGULAR: &str = "named like a log file but not a regular file";

/// A FIFO named like the current SMTP log, there at start-up and no writer ever: it is not
/// opened (opening it would wait for a writer), warned about once, and the other logs count
/// as usual; SIGTERM ends the process at once. (Unix: Windows' named pipes are not files in
/// a directory.)
#[cfg(unix)]
#[test]
fn a_fifo_named_like_a_log_is_left_alone() {
    let logs = TempLogs::new();
    mkfifo(&logs.xmail.join("smtp-202612041400"));
    let mut ex = start(&logs);
    let smail = logs.xmail.join("smail-202612041400");
    append(&smail, &smail_line("S1", "2026-12-04 14:00:01"));
    append(&smail, &smail_line("S2", "2026-12-04 14:00:02"));
    ex.wait_for("the SMAIL lines", |s| lines(s, "smail", "parsed") == 2);
    // A later period's FIFO too, and more lines: many passes later, one warning per FIFO.
    mkfifo(&logs.xmail.join("smtp-202612041401"));
    ex.wait_log("smtp-202612041401");
    for n in 3..=5 {
        append(&smail, &smail_line(&format!("S{n}"), "2026-12-04 14:01:00"));
        ex.wait_for("another SMAIL line", |s| lines(s, "smail", "parsed") == n);
    }
    let s = settle(
        &ex,
        "all SMAIL lines",
        &[("smail", file_len(&smail))],
        |s| lines(s, "smail", "parsed") == 5,
    );
    assert_eq!(per_log(&s, READ_ERRORS, "smtp"), 0);
    assert_eq!(
        lines(&s, "smtp", "parsed") + lines(&s, "smtp", "malformed"),
        0
    );
    assert_eq!(log_count(&ex, NOT_REGULAR), 2, "{}", ex.log());
    assert_eq!(warnings_about(&ex, &logs.xmail), 2, "{}", ex.log());
    assert!(ex.log().contains("a FIFO"), "{}", ex.log());
    assert_alive(&mut ex);
    let took = terminate_within(&mut ex, Duration::from_secs(5));
    eprintln!("fifo: SIGTERM to exit in {took:?}");
}

/// A log name linked to `/dev/zero` (endless, size 0): not opened, one warning, the CPU
/// stays idle and the log quiet.
#[cfg(target_os = "linux")]
#[test]
fn a_link_to_dev_zero_is_left_alone() {
    let logs = TempLogs::new();
    std::os::unix::fs::symlink("/dev/zero", logs.xmail.join("smtp-202612041400")).unwrap();
    let mut ex = start(&logs);
    let smtp = logs.xmail.join("smtp-202612041359");
    append(&smtp, &good_smtp(1));
    ex.wait_for("the SMTP line", |s| lines(s, "smtp", "parsed") == 1);
    let (cpu0, log0, t0) = (cpu_time(ex.pid()), ex.log().lines().count(), Instant::now());
    // Measured over 2 s of 100 ms polls (20 passes): a spinning reader uses all of it.
    while t0.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(100));
    }
    let cpu = cpu_time(ex.pid()) - cpu0;
    let logged = ex.log().lines().count() - log0;
    let wall = t0.elapsed();
    eprintln!("/dev/zero link: {cpu:?} CPU and {logged} log lines in {wall:?}");
    assert!(cpu < wall / 10, "{cpu:?} of CPU in {wall:?}");
    assert!(logged <= 5, "{logged} log lines in {wall:?}:\n{}", ex.log());
    append(&smtp, &good_smtp(2));
    let s = settle(&ex, "both lines", &[("smtp", file_len(&smtp))], |s| {
        lines(s, "smtp", "parsed") == 2
    });
    assert_eq!(lines(&s, "smtp", "malformed"), 0);
    assert_eq!(
        per_log(&s, "xmail_exporter_log_truncations_total", "smtp"),
        0
    );
    assert_eq!(log_count(&ex, NOT_REGULAR), 1, "{}", ex.log());
    assert!(ex.log().contains("a character device"), "{}", ex.log());
    assert_eq!(log_count(&ex, "truncated"), 0, "{}", ex.log());
    assert_alive(&mut ex);
    terminate_within(&mut ex, Duration::from_secs(5));
}

/// A log name linked to `/proc/self/status`: a regular file by its type, but its size (0)
/// lies about what it gives. Flagged once, none of its lines counted, no truncation loop.
#[cfg(target_os = "linux")]
#[test]
fn a_file_whose_size_lies_is_flagged_once() {
    let logs = TempLogs::new();
    std::os::unix::fs::symlink("/proc/self/status", logs.xmail.join("smtp-202612041400")).unwrap();
    let mut ex = start(&logs);
    ex.wait_log("its size does not match what it holds");
    let smtp = logs.xmail.join("smtp-202612041359");
    for n in 1..=3 {
        append(&smtp, &good_smtp(n));
        ex.wait_for("an SMTP line", |s| {
            lines(s, "smtp", "parsed") == u64::from(n)
        });
    }
    let s = settle(&ex, "the SMTP lines", &[("smtp", file_len(&smtp))], |s| {
        lines(s, "smtp", "parsed") == 3
    });
    assert_eq!(
        lines(&s, "smtp", "malformed"),
        0,
        "lines of the /proc file counted"
    );
    assert_eq!(
        per_log(&s, "xmail_exporter_log_truncations_total", "smtp"),
        0
    );
    assert_eq!(
        log_count(&ex, "its size does not match what it holds"),
        1,
        "{}",
        ex.log()
    );
    assert_eq!(warnings_about(&ex, &logs.xmail), 1, "{}", ex.log());
    assert_alive(&mut ex);
    terminate_within(&mut ex, Duration::from_secs(5));
}

/// `--xmail.log-dir` names a directory whose name is not UTF-8, with a state file: it
/// starts, counts, writes the state, and a restart resumes at the saved offsets.
#[cfg(target_os = "linux")]
#[test]
fn a_log_directory_whose_name_is_not_utf8_with_a_state_file() {
    use std::ffi::{OsStr, OsString};
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(OsStr::from_bytes(b"l\xffgs"));
    fs::create_dir(&dir).unwrap();
    let state = tmp.path().join("state.json");
    let args: Vec<OsString> = vec![
        "--xmail.log-dir".into(),
        dir.clone().into_os_string(),
        "--webmail.log-dir".into(),
        "".into(),
        "--tail.poll-interval".into(),
        "100ms".into(),
        "--tail.state-file".into(),
        state.clone().into_os_string(),
    ];
    let smtp = dir.join("smtp-202612041400");
    let mut ex = Exporter::start_with(&[], &args);
    ex.wait_status("/-/ready", 200);
    for n in 1..=3 {
        append(&smtp, &good_smtp(n));
    }
    settle(&ex, "the first lines", &[("smtp", file_len(&smtp))], |s| {
        lines(s, "smtp", "parsed") == 3
    });
    let text = fs::read_to_string(&state).unwrap();
    assert!(text.contains("\"unix_hex\""), "{text}");
    assert!(text.contains("\"offset\": "), "{text}");
    terminate_within(&mut ex, Duration::from_secs(5));
    drop(ex);

    // Written while it was down: only these count after the restart.
    append(&smtp, &good_smtp(4));
    append(&smtp, &good_smtp(5));
    let mut ex = Exporter::start_with(&[], &args);
    ex.wait_log("resuming from the state file");
    let s = settle(
        &ex,
        "the lines written while down",
        &[("smtp", 2 * good_smtp(4).len() as u64)],
        |s| lines(s, "smtp", "parsed") == 2,
    );
    assert_eq!(s.sum(EVENTS), 2.0);
    assert_eq!(per_log(&s, "xmail_exporter_log_rotations_total", "smtp"), 0);
    assert_eq!(log_count(&ex, "changed while the exporter was down"), 0);
    assert_alive(&mut ex);
    terminate_within(&mut ex, Duration::from_secs(5));
}
