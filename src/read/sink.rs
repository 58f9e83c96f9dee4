//! The one interface every reading of the logs goes through: the tailer (following) and the
//! one-shot reader ([`super::once`]) hand each complete line, and what happened to the
//! files, to a [`Sink`]; the metrics, the summary behind `report` and `trace` are sinks.
//!
//! Owns the interface only; what a line means is the sink's (through [`crate::parse`] and
//! [`crate::meaning`]).

use std::io;
use std::path::Path;

use crate::parse::{LogKind, ParseCtx};

/// Where the lines read from log files and the reader's events go: the metrics
/// ([`crate::metrics::Recorder`]), `report`'s summary ([`crate::summary::Summary`]) and
/// `trace` ([`EachLine`]) implement it; tests record.
pub trait Sink {
    /// One complete line (without its LF) of a file of `ctx.kind`.
    fn line(&mut self, ctx: &mut ParseCtx, path: &Path, line: &[u8]);
    /// A line longer than [`super::lines::MAX_LINE_BYTES`] was skipped.
    fn line_too_long(&mut self, ctx: &mut ParseCtx, path: &Path, len: u64);
    /// `bytes` of complete lines (LF included) were consumed. Called after every read that
    /// handed over lines, under the same checkpoint lock: the counts of those lines must be
    /// visible to a scrape when it returns.
    fn consumed(&mut self, kind: LogKind, bytes: u64);
    /// A file is followed from now on; `rotation` when it appeared after start-up.
    fn file_opened(&mut self, kind: LogKind, path: &Path, rotation: bool);
    /// A file was shorter than what was read of it: it is read again from the start.
    fn truncated(&mut self, kind: LogKind, path: &Path);
    /// Reading a file or listing a directory of this kind failed.
    fn read_error(&mut self, kind: LogKind, path: &Path, err: &io::Error);
    /// Bytes not yet read across the followed files of `kind`, after a pass.
    fn lag(&mut self, kind: LogKind, bytes: u64);
}

/// A [`Sink`] for a reader that wants only the complete lines (a one-shot search such as
/// `trace`): each is handed to the closure; over-long lines, byte counts and file events are
/// ignored.
pub struct EachLine<F>(pub F);

impl<F: FnMut(&mut ParseCtx, &Path, &[u8])> Sink for EachLine<F> {
    fn line(&mut self, ctx: &mut ParseCtx, path: &Path, line: &[u8]) {
        (self.0)(ctx, path, line);
    }
    fn line_too_long(&mut self, _: &mut ParseCtx, _: &Path, _: u64) {}
    fn consumed(&mut self, _: LogKind, _: u64) {}
    fn file_opened(&mut self, _: LogKind, _: &Path, _: bool) {}
    fn truncated(&mut self, _: LogKind, _: &Path) {}
    fn read_error(&mut self, _: LogKind, _: &Path, _: &io::Error) {}
    fn lag(&mut self, _: LogKind, _: u64) {}
}
