//! Parser and line-path throughput (issue 5), in lines/s and bytes/s.
//!
//! `cargo bench --bench parse` (add `-- --quick` for a run of well under a minute once built).
//!
//! Input: the hand-made sample logs (`tests/fixtures/xmail-1.27`, `tests/fixtures/seed-format`,
//! `examples/logs`), so every SMTP status, SMAIL delivery type and both format variants are in
//! the mix, with their real line lengths.
//!
//! - `parse/*`: one parser over every line of its files (`smtp`, `smail`), and `parse_webmail`
//!   with the default [`Classifier`] on one UTF-8 line, one EUC-KR line and the whole sample
//!   file. Nothing but the parser runs.
//! - `separators/*`: the separator search of [`xmail_exporter::parse::fields::scan`] over
//!   every SMTP and SMAIL sample record, from the left (13 wanted, as `parse_smtp` asks) and
//!   from the right (8), at each level this CPU runs, side by side: `portable` (8-byte
//!   words), `sse2`, `avx2`.
//! - `line_path/*`: what `report` (and the tailer) does per line: [`LineBuf`] finds the line
//!   ends in a 1 MiB buffer, each complete line goes to [`Recorder`] (parse, update the
//!   counters and histograms, last-event time, delivery-delay join), and the consumed bytes
//!   are counted. The input is the sample file repeated to about 1 MiB and read from memory,
//!   so no system call is measured.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use jiff::tz::TimeZone;

use xmail_exporter::config::Settings;
use xmail_exporter::metrics::Recorder;
use xmail_exporter::parse::LogKind;
use xmail_exporter::parse::fields::record;
use xmail_exporter::parse::fields::scan::{Level, from_left_at, from_right_at};
use xmail_exporter::parse::smail::parse_smail;
use xmail_exporter::parse::smtp::parse_smtp;
use xmail_exporter::parse::webmail::{Classifier, parse_webmail};
use xmail_exporter::read::lines::LineBuf;
use xmail_exporter::read::once::read_stream;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> Vec<u8> {
    let p = root().join(rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()))
}

/// The lines of some files, without their LF (a CR, if any, stays: the parsers handle it).
fn lines_of(files: &[&str]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for f in files {
        for l in read(f).split(|&b| b == b'\n') {
            if !l.is_empty() {
                out.push(l.to_vec());
            }
        }
    }
    assert!(!out.is_empty(), "no lines in {files:?}");
    out
}

/// Elements = lines, bytes = line bytes including the LF the reader would have consumed.
fn throughput(lines: &[Vec<u8>]) -> Throughput {
    Throughput::ElementsAndBytes {
        elements: lines.len() as u64,
        bytes: lines.iter().map(|l| l.len() as u64 + 1).sum(),
    }
}

const SMTP_FILES: &[&str] = &[
    "tests/fixtures/xmail-1.27/smtp-202611270000",
    "tests/fixtures/seed-format/smtp-200604100000",
];
const SMAIL_FILES: &[&str] = &[
    "tests/fixtures/xmail-1.27/smail-202611270000",
    "tests/fixtures/seed-format/smail-200704170000",
];
const WEBMAIL_FILE: &str = "examples/logs/webmail/error-20261127.txt";
const POP3_FILE: &str = "tests/fixtures/xmail-1.27/pop3-202611270000";

fn parsers(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));

    let smtp = lines_of(SMTP_FILES);
    g.throughput(throughput(&smtp));
    g.bench_function("smtp", |b| {
        b.iter(|| {
            let mut ok = 0u32;
            for l in &smtp {
                ok += parse_smtp(black_box(l)).is_ok() as u32;
            }
            ok
        })
    });

    let smail = lines_of(SMAIL_FILES);
    g.throughput(throughput(&smail));
    g.bench_function("smail", |b| {
        b.iter(|| {
            let mut ok = 0u32;
            for l in &smail {
                ok += parse_smail(black_box(l)).is_ok() as u32;
            }
            ok
        })
    });

    let classifier = Classifier::default();
    let webmail = lines_of(&[WEBMAIL_FILE]);
    let utf8 = webmail
        .iter()
        .find(|l| std::str::from_utf8(l).is_ok() && !l.is_ascii())
        .expect("a UTF-8 Korean line in the webmail sample")
        .clone();
    let euc_kr = webmail
        .iter()
        .find(|l| std::str::from_utf8(l).is_err())
        .expect("an EUC-KR line in the webmail sample")
        .clone();
    for (name, set) in [
        ("webmail/utf8-line", vec![utf8]),
        ("webmail/euc-kr-line", vec![euc_kr]),
        ("webmail/file", webmail),
    ] {
        g.throughput(throughput(&set));
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut cat = 0usize;
                for l in &set {
                    if let Ok(ev) = parse_webmail(black_box(l), &classifier) {
                        cat += ev.category;
                    }
                }
                cat
            })
        });
    }
    g.finish();
}

fn separators(c: &mut Criterion) {
    let mut g = c.benchmark_group("separators");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    let mut lines = lines_of(SMTP_FILES);
    lines.extend(lines_of(SMAIL_FILES));
    let records: Vec<Vec<u8>> = lines
        .iter()
        .filter_map(|l| record(l).ok().map(<[u8]>::to_vec))
        .collect();
    g.throughput(throughput(&records));
    for level in Level::ALL.into_iter().filter(|l| l.supported()) {
        let name = format!("{level:?}").to_lowercase();
        g.bench_function(format!("left/{name}"), |b| {
            let mut out = [0usize; 13];
            b.iter(|| {
                let mut n = 0;
                for r in &records {
                    n += from_left_at(level, black_box(r), &mut out);
                }
                n
            })
        });
        g.bench_function(format!("right/{name}"), |b| {
            let mut out = [0usize; 8];
            b.iter(|| {
                let mut n = 0;
                for r in &records {
                    n += from_right_at(level, black_box(r), 0, &mut out);
                }
                n
            })
        });
    }
    g.finish();
}

/// A recorder as `report` builds it (no process metrics, no domains).
fn recorder() -> Recorder {
    let settings = Settings {
        tz: TimeZone::get("Asia/Seoul").unwrap_or(TimeZone::UTC),
        ..Settings::load(None).expect("default settings")
    };
    Recorder::from_settings(&settings, false).expect("metrics register")
}

/// One input stream: a log file's content repeated to about 1 MiB.
struct Stream {
    kind: LogKind,
    name: String,
    path: PathBuf,
    data: Vec<u8>,
    lines: u64,
}

fn stream(rel: &str) -> Stream {
    let one = read(rel);
    let name = Path::new(rel)
        .file_name()
        .and_then(|n| n.to_str())
        .expect("file name")
        .to_string();
    let kind = LogKind::from_file_name(&name).expect("a log file name");
    let reps = (1 << 20) / one.len() + 1;
    let data = one.repeat(reps);
    let lines = memchr::memchr_iter(b'\n', &data).count() as u64;
    Stream {
        kind,
        name,
        path: root().join(rel),
        data,
        lines,
    }
}

/// What `read::once::read_whole` does for one file, from memory: returns the bytes read.
fn feed(s: &Stream, buf: &mut LineBuf, rec: &mut Recorder) -> u64 {
    buf.clear();
    read_stream(&s.data[..], buf, &s.path, s.kind, &s.name, rec)
        .expect("reading from memory cannot fail")
}

fn line_path(c: &mut Criterion) {
    let mut g = c.benchmark_group("line_path");
    g.warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3))
        .sample_size(30);
    let mut buf = LineBuf::with_capacity(1 << 20);
    let smtp = stream(SMTP_FILES[0]);
    let smail = stream(SMAIL_FILES[0]);
    let webmail = stream(WEBMAIL_FILE);
    let pop3 = stream(POP3_FILE);
    let legacy_smtp = stream(SMTP_FILES[1]);
    let legacy_smail = stream(SMAIL_FILES[1]);
    for (name, set) in [
        ("smtp", vec![&smtp]),
        ("smail", vec![&smail]),
        ("webmail", vec![&webmail]),
        ("pop3", vec![&pop3]),
        // report's order: per period, SMTP before SMAIL (the delay join sees RECV=OK first)
        (
            "all",
            vec![&legacy_smtp, &legacy_smail, &smtp, &smail, &pop3, &webmail],
        ),
    ] {
        let mut rec = recorder();
        g.throughput(Throughput::ElementsAndBytes {
            elements: set.iter().map(|s| s.lines).sum(),
            bytes: set.iter().map(|s| s.data.len() as u64).sum(),
        });
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut n = 0;
                for s in &set {
                    n += feed(s, &mut buf, &mut rec);
                }
                n
            })
        });
    }
    g.finish();
}

criterion_group!(benches, parsers, separators, line_path);
criterion_main!(benches);
