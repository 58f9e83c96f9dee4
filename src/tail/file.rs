//! One followed log file: its identity, the offset up to which its lines were counted, the
//! partial line after that, and whether it is still being written.
//!
//! Which files to follow is decided by [`super::discover`], when to stop following one by
//! [`super::Tailer`].

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::Sink;
use super::checkpoint::{Checkpoint, FINGERPRINT_BYTES, Fingerprint, Shared};
use super::lines::{Line, LineBuf};
use crate::parse::{LogKind, ParseCtx};

/// Tells two files apart even when one replaced the other under the same name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FileId {
    /// Device number (0 where unknown).
    pub dev: u64,
    /// Inode number (on Windows, the creation time).
    pub ino: u64,
}

impl FileId {
    /// The identity of the file `meta` describes: device and inode on Unix.
    #[cfg(unix)]
    pub fn of(meta: &Metadata) -> FileId {
        use std::os::unix::fs::MetadataExt;
        FileId {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }

    /// The identity of the file `meta` describes. Windows has no stable inode in `std`, so
    /// the creation time stands in for it: a file replaced under the same name has a new one.
    #[cfg(windows)]
    pub fn of(meta: &Metadata) -> FileId {
        use std::os::windows::fs::MetadataExt;
        FileId {
            dev: 0,
            ino: meta.creation_time(),
        }
    }

    /// Elsewhere no identity is known and a file is the same as long as its name is.
    #[cfg(not(any(unix, windows)))]
    pub fn of(_meta: &Metadata) -> FileId {
        FileId { dev: 0, ino: 0 }
    }
}

/// Where a followed file stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileState {
    /// The newest file of its kind: XMail writes here.
    Following,
    /// A newer file of its kind appeared at `since`; late lines may still arrive for a while.
    Draining {
        /// When the newer file was first seen.
        since: Instant,
    },
    /// Read to the end and closed; not polled again.
    Drained,
}

/// Where to start reading a file that was not followed before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    /// From its first byte.
    Beginning,
    /// From its current end (only lines appended later count).
    End,
}

/// What one check of a followed file found.
#[derive(Debug, PartialEq, Eq)]
pub enum Change {
    /// Still the same file.
    Same,
    /// The name is gone.
    Gone,
    /// Another file now has the name.
    Replaced(FileId),
}

/// One followed log file.
pub struct FollowedFile {
    /// Its path.
    pub path: PathBuf,
    /// Its identity when first seen.
    pub id: FileId,
    /// Drain state.
    pub state: FileState,
    /// Parser state carried from line to line.
    pub ctx: ParseCtx,
    /// Its first bytes, once opened (see [`Fingerprint`]).
    fingerprint: Fingerprint,
    /// Open while the file is not drained (opened lazily).
    file: Option<File>,
    /// The partial line after `offset`, while open.
    lines: Option<LineBuf>,
    /// Offset of the first byte not yet consumed: every line before it has been counted.
    offset: u64,
    /// The file's size at the last look.
    size: u64,
    /// `true` once a read error has been logged, until a read succeeds again.
    pub(crate) error_logged: bool,
}

impl FollowedFile {
    /// A file found at `path` with metadata `meta`, to be read from `offset` (its size for a
    /// start at the end: a partial last line there is skipped). Nothing is opened yet.
    pub fn new(
        path: PathBuf,
        kind: LogKind,
        name: &str,
        meta: &Metadata,
        offset: u64,
    ) -> FollowedFile {
        FollowedFile {
            path,
            id: FileId::of(meta),
            state: FileState::Following,
            ctx: ParseCtx::for_file(kind, name),
            fingerprint: Fingerprint::default(),
            file: None,
            lines: None,
            offset,
            size: meta.len(),
            error_logged: false,
        }
    }

    /// The log kind.
    pub fn kind(&self) -> LogKind {
        self.ctx.kind
    }

    /// Offset up to which every line has been counted.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Bytes in the file not yet consumed, as of the last look.
    pub fn lag(&self) -> u64 {
        self.size.saturating_sub(self.offset)
    }

    /// Is the file open?
    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    /// The file's checkpoint as of now.
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            id: self.id,
            fingerprint: self.fingerprint,
            offset: self.offset,
        }
    }

    /// Does the name still point at this file?
    pub fn check_path(&self) -> io::Result<Change> {
        match std::fs::metadata(&self.path) {
            Ok(meta) => {
                let id = FileId::of(&meta);
                Ok(if id == self.id {
                    Change::Same
                } else {
                    Change::Replaced(id)
                })
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Change::Gone),
            Err(e) => Err(e),
        }
    }

    /// Opens the file at its offset if it is not open. When the offset falls inside a line
    /// (a start at the end of a file being written), that line's tail is skipped.
    fn ensure_open(&mut self) -> io::Result<()> {
        if self.file.is_some() {
            return Ok(());
        }
        let mut file = File::open(&self.path)?;
        let mut lines = LineBuf::default();
        self.fingerprint = Fingerprint::of(&mut file)?;
        if self.offset > 0 {
            // Is the byte before the offset a line end?
            file.seek(SeekFrom::Start(self.offset - 1))?;
            let mut last = [0u8; 1];
            let n = io::Read::read(&mut file, &mut last)?;
            if n == 1 && last[0] != b'\n' {
                lines.skip_to_next_line();
            }
            file.seek(SeekFrom::Start(self.offset))?;
        }
        self.file = Some(file);
        self.lines = Some(lines);
        Ok(())
    }

    /// Closes the file; a later read reopens it at the offset.
    pub fn close(&mut self) {
        self.file = None;
        self.lines = None;
    }

    /// Reads what was appended, up to about `budget` bytes, handing complete lines to
    /// `sink`. A file found shorter than what was read is read again from the start. With
    /// `commit`, each chunk's metric updates and the new offset happen under its lock.
    /// Returns the bytes read; `Ok(0)` means the end was reached with nothing new.
    pub fn read_new(
        &mut self,
        sink: &mut impl Sink,
        budget: u64,
        commit: Option<&Shared>,
    ) -> io::Result<u64> {
        let fingerprint_before = self.fingerprint;
        self.ensure_open()?;
        let (Some(file), Some(lines)) = (self.file.as_mut(), self.lines.as_mut()) else {
            unreachable!("ensure_open succeeded, so both are set");
        };
        let size = file.metadata()?.len();
        let read_pos = self.offset + lines.pending();
        if size < read_pos {
            file.seek(SeekFrom::Start(0))?;
            lines.clear();
            self.ctx.smail_continues = false;
            self.ctx.webmail_error_seen = false;
            self.fingerprint = Fingerprint::of(file)?;
            let mut guard = commit.map(Shared::lock);
            self.offset = 0;
            sink.truncated(self.ctx.kind, &self.path);
            if let Some(cp) = guard.as_mut().and_then(|st| st.files.get_mut(&self.path)) {
                *cp = Checkpoint {
                    id: self.id,
                    fingerprint: self.fingerprint,
                    offset: 0,
                };
            }
        }
        self.size = size;
        let mut total = 0u64;
        let (ctx, path) = (&mut self.ctx, &self.path);
        while total < budget {
            let mut guard = commit.map(Shared::lock);
            let fill = lines.read_from(file, |line| match line {
                Line::Complete(l) => sink.line(ctx, path, l),
                Line::TooLong(n) => sink.line_too_long(ctx, path, n),
            })?;
            self.offset += fill.consumed;
            if fill.consumed > fill.silent {
                sink.consumed(ctx.kind, fill.consumed - fill.silent);
            }
            if let Some(cp) = guard.as_mut().and_then(|st| st.files.get_mut(path)) {
                cp.offset = self.offset;
            }
            drop(guard);
            if fill.read == 0 {
                break;
            }
            total += fill.read as u64;
        }
        self.size = self.size.max(self.offset + lines.pending());
        if self.fingerprint.len < FINGERPRINT_BYTES && self.size > self.fingerprint.len {
            self.fingerprint = Fingerprint::of(file)?;
        }
        if self.fingerprint != fingerprint_before
            && let Some(c) = commit
            && let Some(cp) = c.lock().files.get_mut(path)
        {
            cp.fingerprint = self.fingerprint;
        }
        self.error_logged = false;
        Ok(total)
    }
}

/// Reads a whole file from the start, once (for `report`). Returns the bytes read.
pub fn read_whole(path: &Path, kind: LogKind, name: &str, sink: &mut impl Sink) -> io::Result<u64> {
    let file = super::readahead::ReadAhead::new(File::open(path)?)?;
    let mut lines = LineBuf::with_capacity(1 << 20);
    read_stream(file, &mut lines, path, kind, name, sink)
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
