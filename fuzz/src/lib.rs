//! Checks shared by the cargo-fuzz targets (`fuzz/fuzz_targets/*.rs`) and by the property
//! tests, which include this file as a module (`tests/it/props.rs`) to replay the committed
//! corpus. Each `check_*` function takes one input, runs it through a parser and asserts what
//! must hold for every input; a panic is a finding.
//!
//! This file depends on nothing but `xmail_exporter` and `std`, so it builds both inside the
//! fuzz crate and as a module of the integration tests.

use std::io::{self, Read};
use std::sync::LazyLock;

use xmail_exporter::parse::ctrl::parse_ctrl;
use xmail_exporter::parse::fields::trim_cr;
use xmail_exporter::parse::filters::{FilterOutcome, parse_filter};
use xmail_exporter::parse::finger::parse_finger;
use xmail_exporter::parse::lmail::parse_lmail;
use xmail_exporter::parse::pop3::{LoginResult, parse_pop3};
use xmail_exporter::parse::psync::parse_psync;
use xmail_exporter::parse::smail::{DeliveryType, parse_smail, spool_and_id};
use xmail_exporter::parse::smtp::{message_id_candidates, parse_smtp};
use xmail_exporter::parse::status::{AuthMechanism, Status, StatusCode, parse_status};
use xmail_exporter::parse::time::LocalTime;
use xmail_exporter::parse::webmail::{Classifier, is_continuation, parse_webmail};
use xmail_exporter::parse::{LogKind, ParseCtx, ParseError};
use xmail_exporter::read::lines::{Line, LineBuf, MAX_LINE_BYTES};

/// The built-in webmail rules, compiled once.
pub static CLASSIFIER: LazyLock<Classifier> = LazyLock::new(Classifier::default);

/// `data` with one CR appended, when it does not already end in one: the parsers must ignore
/// that CR (Windows builds of XMail write CRLF).
fn with_cr(data: &[u8]) -> Option<Vec<u8>> {
    (data.last() != Some(&b'\r')).then(|| {
        let mut v = data.to_vec();
        v.push(b'\r');
        v
    })
}

/// `t` written as XMail writes it.
pub fn render_time(t: LocalTime) -> String {
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        t.year, t.month, t.day, t.hour, t.minute, t.second
    )
}

fn assert_time_in_range(t: LocalTime) {
    assert!((0..=9999).contains(&t.year), "{t:?}");
    assert!((1..=12).contains(&t.month), "{t:?}");
    assert!((1..=31).contains(&t.day), "{t:?}");
    assert!((0..24).contains(&t.hour), "{t:?}");
    assert!((0..60).contains(&t.minute), "{t:?}");
    assert!((0..=60).contains(&t.second), "{t:?}");
}

/// Both time parsers: a time they accept is in range and is exactly what was written.
pub fn check_time(data: &[u8]) {
    if let Some(t) = LocalTime::parse_xmail(data) {
        assert_time_in_range(t);
        assert_eq!(render_time(t).as_bytes(), data);
    }
    if let Some(t) = LocalTime::parse_loose(data) {
        assert_time_in_range(t);
        let mut want = render_time(t).into_bytes();
        // parse_loose accepts the separators as written; put them back.
        for i in [4, 7, 10] {
            want[i] = data[i];
        }
        assert_eq!(&want[..], &data[..19]);
    }
}

/// A status string: what the parser returns agrees with what was written.
pub fn check_status(data: &[u8]) {
    let Some(p) = parse_status(data) else {
        return;
    };
    match p.status {
        Status::Unknown(whole) => {
            assert_eq!(whole, data);
            assert!(p.dnsbl_list.is_none() && p.auth_mechanism.is_none());
            // Not something the table knows under another spelling.
            assert!(
                !StatusCode::ALL
                    .iter()
                    .any(|c| c.as_str().as_bytes() == data)
            );
        }
        Status::Known(StatusCode::SenderIpDnsbl) => {
            assert!(p.auth_mechanism.is_none());
            match p.dnsbl_list {
                None => assert_eq!(data, b"SNDRIP=EIPMAP"),
                Some(list) => {
                    let mut want = b"SNDRIP=EIPMAP (".to_vec();
                    want.extend_from_slice(list);
                    want.push(b')');
                    assert_eq!(data, &want[..]);
                }
            }
        }
        Status::Known(StatusCode::AuthFailed) => {
            assert!(p.dnsbl_list.is_none());
            let mech = p.auth_mechanism.expect("AUTH=EFAIL carries a mechanism");
            let rest = data.strip_prefix(b"AUTH=EFAIL").expect("AUTH=EFAIL prefix");
            match rest {
                [] => assert_eq!(mech, AuthMechanism::Other),
                _ => {
                    let m = rest.strip_prefix(b":TYPE=").expect(":TYPE= suffix");
                    if mech == AuthMechanism::Other {
                        assert!(
                            !AuthMechanism::ALL
                                .iter()
                                .any(|&k| k != AuthMechanism::Other && k.as_str().as_bytes() == m)
                        );
                    } else {
                        assert_eq!(mech.as_str().as_bytes(), m);
                    }
                }
            }
        }
        Status::Known(code) => {
            assert!(p.dnsbl_list.is_none() && p.auth_mechanism.is_none());
            let legacy = code == StatusCode::RecvOk && data == b"RCV=OK";
            assert!(
                legacy || code.as_str().as_bytes() == data,
                "{code:?} from {:?}",
                String::from_utf8_lossy(data)
            );
        }
    }
}

/// One SMTP log line: no panic, a trailing CR is ignored, an event's time is in range, its
/// status field passes [`check_status`] and its message ID is a quick split's candidate.
pub fn check_smtp(data: &[u8]) {
    let r = parse_smtp(data);
    if let Some(crlf) = with_cr(data) {
        assert_eq!(parse_smtp(&crlf), r);
    }
    match r {
        Ok(ev) => {
            assert_time_in_range(ev.time);
            // `trace` passes over lines by this field, found without the parser.
            assert!(message_id_candidates(data).is_some_and(|c| c.contains(&ev.message_id)));
            if let Status::Unknown(w) = ev.status.status {
                check_status(w);
            }
        }
        Err(ParseError::Empty) => assert!(trim_cr(data).is_empty()),
        Err(_) => {}
    }
    check_time(data);
}

/// One SMAIL log line: no panic, a trailing CR is ignored, IDs and delivery type are what
/// the parser promises, only field 9 may run on to the next line, the quick split finds the
/// spool file and the ID, and passing over the line leaves the state parsing would.
pub fn check_smail(data: &[u8]) {
    // A line `trace` passes over leaves the file's state as parsing it would.
    for continues in [false, true] {
        let mut parsed = ParseCtx::for_file(LogKind::Smail, "smail-202611270000");
        parsed.smail_continues = continues;
        let mut skipped = parsed;
        let _ = parsed.smail(data);
        skipped.skip_smail(data);
        assert_eq!(skipped, parsed);
    }
    let r = parse_smail(data);
    if let Some(crlf) = with_cr(data) {
        assert_eq!(parse_smail(&crlf), r);
    }
    if let Ok(ev) = r {
        assert_time_in_range(ev.time);
        // `trace` passes over lines by these fields, found without the parser.
        assert_eq!(spool_and_id(data), Some((ev.spool_file, ev.message_id)));
        for id in [ev.message_id, ev.delivery_raw] {
            assert!(!id.is_empty() && id.len() <= 32);
            assert!(id.iter().all(u8::is_ascii_alphanumeric));
        }
        if ev.delivery == DeliveryType::Other {
            assert!(
                !DeliveryType::ALL
                    .iter()
                    .any(|&t| t != DeliveryType::Other && t.as_str().as_bytes() == ev.delivery_raw)
            );
        } else {
            assert_eq!(ev.delivery.as_str().as_bytes(), ev.delivery_raw);
        }
        if ev.continues {
            assert!(ev.remote_id.is_some());
        }
    }
}

/// One POP3 line: a trailing CR changes nothing; the time is in range; the mailbox counts
/// come together and only with a login; a failure is a line whose last field is `ELOGIN`.
pub fn check_pop3(data: &[u8]) {
    let r = parse_pop3(data);
    if let Some(crlf) = with_cr(data) {
        assert_eq!(parse_pop3(&crlf), r);
    }
    if let Ok(ev) = r {
        assert_time_in_range(ev.time);
        assert_eq!(ev.messages.is_some(), ev.mailbox_bytes.is_some());
        if ev.messages.is_some() {
            assert_eq!(ev.result, LoginResult::Ok);
        }
        if ev.result == LoginResult::Failed {
            assert!(trim_cr(data).ends_with(b"\"ELOGIN\""));
        }
    }
}

/// Runs `$parse` on `$data` and on `$data` with a CR: the same answer. Returns the first.
macro_rules! same_with_cr {
    ($data:expr, $parse:expr) => {{
        let r = $parse($data);
        if let Some(crlf) = with_cr($data) {
            assert_eq!($parse(&crlf), r);
        }
        r
    }};
}

/// One CTRL line: no panic, CRLF ignored, the kind is the line's last field.
pub fn check_ctrl(data: &[u8]) {
    if let Ok(ev) = same_with_cr!(data, parse_ctrl) {
        assert_time_in_range(ev.time);
        let last = match ev.kind {
            xmail_exporter::parse::ctrl::CtrlKind::Request => &b"\"REQ\""[..],
            xmail_exporter::parse::ctrl::CtrlKind::Auth => b"\"AUTH\"",
            xmail_exporter::parse::ctrl::CtrlKind::Fail => b"\"FAIL\"",
        };
        assert!(trim_cr(data).ends_with(last));
    }
}

/// One PSYNC line: no panic, CRLF ignored, the line holds its status.
pub fn check_psync(data: &[u8]) {
    if let Ok(ev) = same_with_cr!(data, parse_psync) {
        assert_time_in_range(ev.time);
        let status: &[u8] = match ev.result {
            xmail_exporter::parse::psync::SyncResult::Ok => b"\"SYNC=OK\"",
            xmail_exporter::parse::psync::SyncResult::Failed => b"\"SYNC=EFAIL\"",
            xmail_exporter::parse::psync::SyncResult::NoUser => b"\"SYNC=ENOUSER\"",
        };
        assert!(data.windows(status.len()).any(|w| w == status));
    }
}

/// One filter line: no panic, CRLF ignored, the command line is the line's tail.
pub fn check_filters(data: &[u8]) {
    if let Ok(ev) = same_with_cr!(data, parse_filter) {
        assert_time_in_range(ev.time);
        let l = trim_cr(data);
        assert!(l[..l.len() - 1].ends_with(ev.command));
        if ev.exec_result == -1 {
            assert_eq!(ev.outcome(), FilterOutcome::Skipped);
        }
    }
}

/// One LMAIL line: no panic, CRLF ignored.
pub fn check_lmail(data: &[u8]) {
    if let Ok(ev) = same_with_cr!(data, parse_lmail) {
        assert_time_in_range(ev.time);
        assert!(!ev.message_id.is_empty());
    }
}

/// One FINGER line: no panic, CRLF ignored, the query is the line's tail.
pub fn check_finger(data: &[u8]) {
    if let Ok(ev) = same_with_cr!(data, parse_finger) {
        assert_time_in_range(ev.time);
        let l = trim_cr(data);
        assert!(l[..l.len() - 1].ends_with(ev.query));
    }
}

/// One webmail line: no panic, the category is one of the classifier's, UTF-8 text comes
/// back unchanged, blank lines are `Empty`.
pub fn check_webmail(data: &[u8]) {
    let c = &*CLASSIFIER;
    match parse_webmail(data, c) {
        Ok(ev) => {
            assert!(ev.category < c.categories().len());
            if let Ok(s) = std::str::from_utf8(trim_cr(data)) {
                assert_eq!(ev.text, s);
            }
            if let Some(st) = ev.time {
                assert_time_in_range(st.time);
            }
        }
        Err(e) => {
            assert_eq!(e, ParseError::Empty);
            assert!(trim_cr(data).iter().all(u8::is_ascii_whitespace));
        }
    }
    check_time(data);
    check_webmail_file(data);
}

/// `data` as a whole error file (split at LF): [`ParseCtx::webmail`] counts exactly the
/// non-blank lines that are not the continuation of an error counted before them, and the
/// first non-blank line is always an error.
fn check_webmail_file(data: &[u8]) {
    let c = &*CLASSIFIER;
    let mut ctx = ParseCtx::for_file(LogKind::Webmail, "error-20261128.txt");
    let mut seen = false;
    for line in data.split(|&b| b == b'\n') {
        let blank = trim_cr(line).iter().all(u8::is_ascii_whitespace);
        let got = ctx.webmail(line, c);
        if blank {
            assert_eq!(got.map(|r| r.err()), Some(Some(ParseError::Empty)));
        } else if seen && is_continuation(line) {
            assert!(got.is_none());
        } else {
            assert!(matches!(got, Some(Ok(_))));
            seen = true;
        }
    }
}

/// What [`LineBuf`] hands out, owned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Got {
    /// A complete line, without its LF.
    Line(Vec<u8>),
    /// An over-long line of this many bytes.
    TooLong(u64),
}

/// The result of feeding a whole stream to a [`LineBuf`] (or of the reference split).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Split {
    /// Lines handed out, in order.
    pub lines: Vec<Got>,
    /// Bytes consumed (sum of [`xmail_exporter::read::lines::Fill::consumed`]).
    pub consumed: u64,
    /// The part of `consumed` skipped silently (a foreign first line).
    pub silent: u64,
    /// [`LineBuf::pending`] at the end.
    pub pending: u64,
}

/// The reference: split on LF; the bytes after the last LF are pending; a line longer than
/// [`MAX_LINE_BYTES`] is reported by its length; with `skip_first` the first line is consumed
/// silently.
pub fn reference_split(data: &[u8], skip_first: bool) -> Split {
    let complete = match data.iter().rposition(|&b| b == b'\n') {
        Some(i) => &data[..=i],
        None => &[][..],
    };
    let mut out = Split {
        consumed: complete.len() as u64,
        pending: (data.len() - complete.len()) as u64,
        ..Split::default()
    };
    if complete.is_empty() {
        return out;
    }
    // `complete` ends in LF, so the last piece of the split is empty and not a line.
    let pieces: Vec<&[u8]> = complete[..complete.len() - 1]
        .split(|&b| b == b'\n')
        .collect();
    for (i, line) in pieces.into_iter().enumerate() {
        if skip_first && i == 0 {
            out.silent = line.len() as u64 + 1;
        } else if line.len() <= MAX_LINE_BYTES {
            out.lines.push(Got::Line(line.to_vec()));
        } else {
            out.lines.push(Got::TooLong(line.len() as u64));
        }
    }
    out
}

/// A reader that hands out `steps[0]`, `steps[1]`, ... bytes per read, cycling. A step of 0
/// is an end of stream *for now*: the tailer reads again later and finds more.
pub struct Trickle<'a> {
    data: &'a [u8],
    steps: &'a [usize],
    i: usize,
}

impl Read for Trickle<'_> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let step = self.steps[self.i % self.steps.len()];
        self.i += 1;
        let n = self.data.len().min(step).min(out.len());
        out[..n].copy_from_slice(&self.data[..n]);
        self.data = &self.data[n..];
        Ok(n)
    }
}

/// Feeds `data` to a fresh [`LineBuf`] in reads of `steps` bytes until it is all read.
pub fn run_linebuf(data: &[u8], steps: &[usize], skip_first: bool) -> Split {
    let steps = if steps.iter().all(|&s| s == 0) {
        &[1][..]
    } else {
        steps
    };
    let mut lb = LineBuf::default();
    if skip_first {
        lb.skip_to_next_line();
    }
    let mut r = Trickle { data, steps, i: 0 };
    let mut out = Split::default();
    let mut total_read = 0usize;
    loop {
        let fill = lb
            .read_from(&mut r, |l| match l {
                Line::Complete(b) => {
                    assert!(b.len() <= MAX_LINE_BYTES);
                    out.lines.push(Got::Line(b.to_vec()))
                }
                Line::TooLong(n) => {
                    assert!(n > MAX_LINE_BYTES as u64);
                    out.lines.push(Got::TooLong(n))
                }
            })
            .expect("reading from memory cannot fail");
        assert!(fill.silent <= fill.consumed);
        total_read += fill.read;
        out.consumed += fill.consumed;
        out.silent += fill.silent;
        // The consumed offset never runs ahead of what was read.
        assert!(out.consumed <= total_read as u64);
        if fill.read == 0 && r.data.is_empty() {
            break;
        }
    }
    assert_eq!(total_read, data.len());
    out.pending = lb.pending();
    out
}

fn describe(g: Option<&Got>) -> String {
    match g {
        None => "nothing".into(),
        Some(Got::TooLong(n)) => format!("TooLong({n})"),
        Some(Got::Line(b)) if b.len() <= 80 => format!("Line({:?})", String::from_utf8_lossy(b)),
        Some(Got::Line(b)) => format!("Line(<{} bytes>)", b.len()),
    }
}

/// Asserts that a [`LineBuf`] fed `data` in reads of `steps` bytes hands out exactly what
/// [`reference_split`] says, with compact messages for long lines.
pub fn check_linebuf(data: &[u8], steps: &[usize], skip_first: bool) {
    let got = run_linebuf(data, steps, skip_first);
    let want = reference_split(data, skip_first);
    let n = got.lines.len().max(want.lines.len());
    for i in 0..n {
        let (g, w) = (got.lines.get(i), want.lines.get(i));
        assert!(
            g == w,
            "line {i} of {}: got {}, want {} (steps {steps:?}, skip_first {skip_first})",
            want.lines.len(),
            describe(g),
            describe(w)
        );
    }
    assert_eq!(
        (got.consumed, got.silent, got.pending),
        (want.consumed, want.silent, want.pending),
        "(consumed, silent, pending), steps {steps:?}, skip_first {skip_first}"
    );
}

/// Read sizes a fuzz input picks from: 0 (no data for now), tiny, odd, and larger than a line
/// or a whole buffer.
const STEPS: [usize; 8] = [0, 1, 2, 3, 17, 4096, 65_537, 300_000];

/// The longest stream a fuzz input expands to.
const MAX_EXPANDED: usize = 2 << 20;

/// Turns a fuzz input into `(stream, read sizes, skip_first)`.
///
/// Byte 0 picks two read sizes and byte 1 two more and the skip flag (bit 7). The rest is the
/// stream, except that `0xFE a b c f` stands for the byte `f` repeated `(a<<16|b<<8|c) % 2^19`
/// times, so that a small input can hold lines past the 64 KiB limit. The stream is capped at
/// 2 MiB.
pub fn decode_lines_input(data: &[u8]) -> (Vec<u8>, Vec<usize>, bool) {
    let h0 = data.first().copied().unwrap_or(0x49);
    let h1 = data.get(1).copied().unwrap_or(0x2d);
    let steps = vec![
        STEPS[usize::from(h0 & 7)],
        STEPS[usize::from((h0 >> 3) & 7)],
        STEPS[usize::from(h1 & 7)],
        STEPS[usize::from((h1 >> 3) & 7)],
    ];
    let skip_first = h1 & 0x80 != 0;
    let rest = data.get(2..).unwrap_or(&[]);
    let mut stream = Vec::with_capacity(rest.len());
    let mut i = 0;
    while i < rest.len() && stream.len() < MAX_EXPANDED {
        if rest[i] == 0xFE && i + 4 < rest.len() {
            let n = (usize::from(rest[i + 1]) << 16
                | usize::from(rest[i + 2]) << 8
                | usize::from(rest[i + 3]))
                % (1 << 19);
            let n = n.min(MAX_EXPANDED - stream.len());
            stream.resize(stream.len() + n, rest[i + 4]);
            i += 5;
        } else {
            stream.push(rest[i]);
            i += 1;
        }
    }
    (stream, steps, skip_first)
}

/// The `lines` fuzz target: decode, feed, compare with the reference.
pub fn check_lines_input(data: &[u8]) {
    let (stream, steps, skip_first) = decode_lines_input(data);
    check_linebuf(&stream, &steps, skip_first);
}

/// The check for a fuzz target by name: `smtp`, `smail`, `status`, `webmail`, `pop3`, `ctrl`,
/// `psync`, `filters`, `lmail`, `finger` or `lines`.
pub fn check_for_target(name: &str) -> Option<fn(&[u8])> {
    Some(match name {
        "smtp" => check_smtp,
        "smail" => check_smail,
        "status" => check_status,
        "webmail" => check_webmail,
        "pop3" => check_pop3,
        "ctrl" => check_ctrl,
        "psync" => check_psync,
        "filters" => check_filters,
        "lmail" => check_lmail,
        "finger" => check_finger,
        "lines" => check_lines_input,
        _ => return None,
    })
}
