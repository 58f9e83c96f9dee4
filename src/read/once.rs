//! Reading a log file once, from its first byte to its end or to a byte budget
//! ([`read_at_most`]), for `report`, `trace` and [`crate::summary::summarize`]: no offsets,
//! no checkpoints, no waiting for more. The file is read on a second thread
//! ([`super::readahead`]) while this one splits and parses, through the same line buffer and
//! [`Sink`] as the tailer.
//!
//! Which files to read is the caller's ([`super::discover`]); following files as they grow
//! is [`crate::tail`]'s.

use std::io::{self, Read};
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
