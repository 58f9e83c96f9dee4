//! Reading a log file once, from its first byte to its end or to a byte budget
//! ([`read_at_most`]), for `report`, `trace` and [`crate::summary::summarize`]: no offsets,
//! no checkpoints, no waiting for more. The file is read on a second thread
//! ([`super::readahead`]) while this one splits and parses, through the same line buffer and
//! [`Sink`] as the tailer.
//!
//! [`read_piece`] reads one piece of a file split at byte offsets, for a reading on several
//! threads ([`crate::summary::parallel`]): the pieces of a file hand on, between them, the
//! same lines in the same order as reading it whole.
//!
//! Which files to read is the caller's ([`super::discover`]); following files as they grow
//! is [`crate::tail`]'s.

use std::io::{self, Read, Seek, SeekFrom};
use std::path::Path;

use super::Sink;
use super::lines::{ChunkLines, Line, LineBuf};
use super::open::open_log;
use super::readahead::ReadAhead;
use crate::parse::{LogKind, ParseCtx};

/// Reads a whole file from the start, once (for `report`). Returns the bytes read.
pub fn read_whole(path: &Path, kind: LogKind, name: &str, sink: &mut impl Sink) -> io::Result<u64> {
    let file = ReadAhead::new(open_log(path)?)?;
    read_chunks(file, path, kind, name, sink)
}

/// What [`read_at_most`] read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadUpTo {
    /// Bytes read.
    pub bytes: u64,
    /// The file held more than `max` bytes: the rest was not read (nor the line `max` cut).
    pub cut: bool,
}

/// Like [`read_whole`], but reads no more than `max` bytes of the file: a line the limit
/// cuts is not counted, and nothing after it is read.
pub fn read_at_most(
    path: &Path,
    kind: LogKind,
    name: &str,
    sink: &mut impl Sink,
    max: u64,
) -> io::Result<ReadUpTo> {
    let file = open_log(path)?;
    let len = file.metadata()?.len();
    let file = ReadAhead::new(file.take(max))?;
    let bytes = read_chunks(file, path, kind, name, sink)?;
    Ok(ReadUpTo {
        bytes,
        cut: bytes >= max && len > bytes,
    })
}

/// The lines of a [`LineBuf`] of this capacity: what [`read_stream`] was given for a file
/// read once, and what [`read_chunks`] follows.
const ONCE_BUFFER: usize = 1 << 20;

/// Reads the chunks of `file` to its end into `sink`, as the content of the log file `path`
/// named `name`: the same calls, in the same order, as [`read_stream`] through a
/// [`LineBuf`] of 1 MiB would make, without copying the lines that lie
/// whole in a chunk. Returns the bytes read.
pub fn read_chunks(
    mut file: ReadAhead,
    path: &Path,
    kind: LogKind,
    name: &str,
    sink: &mut impl Sink,
) -> io::Result<u64> {
    let mut ctx = ParseCtx::for_file(kind, name);
    let mut lines = ChunkLines::with_capacity(ONCE_BUFFER);
    let mut total = 0;
    while let Some(chunk) = file.next_chunk()? {
        let mut at = 0;
        while at < chunk.len() {
            let (fill, n) = lines.lines_in(chunk, at, |line| match line {
                Line::Complete(l) => sink.line(&mut ctx, path, l),
                Line::TooLong(n) => sink.line_too_long(&mut ctx, path, n),
            });
            if fill.consumed > 0 {
                sink.consumed(kind, fill.consumed);
            }
            at += n;
            total += n as u64;
        }
    }
    if lines.pending() > 0 {
        tracing::debug!(path = %path.display(), bytes = lines.pending(), "last line has no line end: not counted");
    }
    Ok(total)
}

/// Reads `reader` to its end through `lines` (which must be empty) into `sink`, as the
/// content of the log file `path` named `name`. Returns the bytes read.
pub fn read_stream(
    mut reader: impl Read,
    lines: &mut LineBuf,
    path: &Path,
    kind: LogKind,
    name: &str,
    sink: &mut impl Sink,
) -> io::Result<u64> {
    let mut ctx = ParseCtx::for_file(kind, name);
    let mut total = 0;
    loop {
        let fill = lines.read_from(&mut reader, |line| match line {
            Line::Complete(l) => sink.line(&mut ctx, path, l),
            Line::TooLong(n) => sink.line_too_long(&mut ctx, path, n),
        })?;
        if fill.consumed > 0 {
            sink.consumed(kind, fill.consumed);
        }
        if fill.read == 0 {
            break;
        }
        total += fill.read as u64;
    }
    if lines.pending() > 0 {
        tracing::debug!(path = %path.display(), bytes = lines.pending(), "last line has no line end: not counted");
    }
    Ok(total)
}

/// Where the line that holds byte `at - 1` ends: the first line start at or after `at`
/// (`at` itself when byte `at - 1` is a LF), or `None` past the end of the file.
fn line_start_from(file: &mut std::fs::File, at: u64) -> io::Result<Option<u64>> {
    if at == 0 {
        return Ok(Some(0));
    }
    file.seek(SeekFrom::Start(at - 1))?;
    let mut buf = vec![0u8; 64 << 10];
    let mut pos = at - 1;
    loop {
        let n = match file.read(&mut buf) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            other => other?,
        };
        if n == 0 {
            return Ok(None);
        }
        if let Some(i) = memchr::memchr(b'\n', &buf[..n]) {
            return Ok(Some(pos + i as u64 + 1));
        }
        pos += n as u64;
    }
}

/// Reads the piece of `path` that starts at byte `start` and ends at byte `end` (`None`: the
/// end of the file) into `sink`, as one of the pieces a reading of the whole file was split
/// into at those offsets.
///
/// A piece holds the lines that start at or after its first line start at or after `start`,
/// up to the first line start at or after `end`; in an SMAIL file the lines that do not
/// start with `"` at its start (the rest of the record before: a remote reply's CRLF,
/// `src/parse/smail.rs`) are the piece before's, which reads on to the next line that starts
/// a record. So the pieces of a file, read one after the other, hand on exactly the lines
/// [`read_whole`] does, with a [`ParseCtx`] in the same state at each record; a line over
/// [`super::lines::MAX_LINE_BYTES`] is [`Sink::line_too_long`] as there. `consumed` is called
/// after each read with the bytes of the lines handed on. Returns the bytes handed on.
pub fn read_piece(
    path: &Path,
    kind: LogKind,
    name: &str,
    start: u64,
    end: Option<u64>,
    sink: &mut impl Sink,
) -> io::Result<u64> {
    let mut file = open_log(path)?;
    let Some(first) = line_start_from(&mut file, start)? else {
        return Ok(0);
    };
    file.seek(SeekFrom::Start(first))?;
    let records = kind == LogKind::Smail;
    let mut ctx = ParseCtx::for_file(kind, name);
    let mut lines = LineBuf::default();
    // The next line's offset; whether the lines before the first record are still skipped.
    let mut pos = first;
    let mut head = start > 0 && records;
    let mut done = false;
    let mut total = 0;
    loop {
        let mut handed = 0;
        let fill = lines.read_from(&mut file, |line| {
            if done {
                return;
            }
            let (len, opens) = match line {
                Line::Complete(l) => (l.len() as u64, l.first() == Some(&b'"')),
                Line::TooLong(n) => (n, false),
            };
            let at = pos;
            pos += len + 1;
            if head {
                if !opens {
                    return;
                }
                head = false;
            }
            if end.is_some_and(|end| at >= end) && (!records || opens) {
                done = true;
                return;
            }
            handed += len + 1;
            match line {
                Line::Complete(l) => sink.line(&mut ctx, path, l),
                Line::TooLong(n) => sink.line_too_long(&mut ctx, path, n),
            }
        })?;
        if handed > 0 {
            sink.consumed(kind, handed);
            total += handed;
        }
        if fill.read == 0 || done {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::EachLine;

    /// The lines `read_at_most` hands on, the bytes it read, and whether it left some out.
    fn prefix(data: &[u8], max: u64) -> (Vec<String>, u64, bool) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("smtp-202611270000");
        std::fs::write(&path, data).unwrap();
        let mut got = Vec::new();
        let mut sink = EachLine(|_: &mut ParseCtx, _: &Path, l: &[u8]| {
            got.push(String::from_utf8_lossy(l).into_owned());
        });
        let r = read_at_most(&path, LogKind::Smtp, "smtp-202611270000", &mut sink, max).unwrap();
        (got, r.bytes, r.cut)
    }

    /// The lines every split of `data` into pieces hands on are the lines of the whole file.
    #[test]
    fn pieces_hand_on_the_lines_of_the_whole_file() {
        let data = b"\"a\"\tx\r\n250-more\r\n250 end\"\n\"b\"\n\n\"c\"\ttail\nd\n\"e\"\nno end";
        let dir = tempfile::tempdir().unwrap();
        for kind in [LogKind::Smail, LogKind::Smtp] {
            let name = format!("{}-202611270000", kind.as_str());
            let path = dir.path().join(&name);
            std::fs::write(&path, data).unwrap();
            let read = |start: u64, end: Option<u64>| {
                let mut got = Vec::new();
                let mut sink = EachLine(|_: &mut ParseCtx, _: &Path, l: &[u8]| {
                    got.push(String::from_utf8_lossy(l).into_owned());
                });
                read_piece(&path, kind, &name, start, end, &mut sink).unwrap();
                got
            };
            let whole = read(0, None);
            assert_eq!(whole.len(), 8);
            let len = data.len() as u64;
            for a in 1..len {
                for b in a..len {
                    let mut got = read(0, Some(a));
                    got.extend(read(a, Some(b)));
                    got.extend(read(b, None));
                    assert_eq!(got, whole, "{kind} split at {a} and {b}");
                }
            }
            // In an SMAIL file a piece starts at a record.
            if kind == LogKind::Smail {
                assert_eq!(read(5, None)[0], "\"b\"");
            }
        }
    }

    #[test]
    fn a_prefix_ends_at_the_budget() {
        let data = b"one\ntwo\nthree\n";
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            prefix(data, u64::MAX),
            (s(&["one", "two", "three"]), 14, false)
        );
        assert_eq!(prefix(data, 14), (s(&["one", "two", "three"]), 14, false));
        // A line cut by the budget is not handed on.
        assert_eq!(prefix(data, 13), (s(&["one", "two"]), 13, true));
        assert_eq!(prefix(data, 8), (s(&["one", "two"]), 8, true));
        assert_eq!(prefix(data, 0), (s(&[]), 0, true));
        assert_eq!(prefix(b"", 0), (s(&[]), 0, false));
    }
}
