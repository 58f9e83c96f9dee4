//! One followed log file: its identity, the offset up to which its lines were counted, the
//! partial line after that, and whether it is still being written.
//!
//! A followed file may be closed between reads (the tailer keeps at most
//! [`super::MAX_OPEN_FILES`] open): it is then re-opened when its size or modification time
//! changes, and checked against its identity (device and inode, and its first bytes) before
//! it is read on from its offset. A file whose size lies about its content (a `/proc` file
//! reporting 0 but giving data, or one found shorter at every read) is flagged to the
//! tailer, which stops reading it.
//!
//! Which files to follow is decided by [`crate::read::discover`], when to stop following one, and
//! how many stay open, by [`super::Tailer`]; how a file is opened by [`crate::read::open`].

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::checkpoint::{Checkpoint, Shared};
pub use super::identity::FileId;
use super::identity::{FINGERPRINT_BYTES, Fingerprint};
use crate::parse::{LogKind, ParseCtx};
use crate::rate::Throttle;
use crate::read::Sink;
use crate::read::lines::{Line, LineBuf};
use crate::read::open::open_log;

/// A file found shorter than what was read of it this many reads in a row "truncates at
/// every read": it is not a log being written, and is no longer read.
pub const TRUNCATIONS_IN_A_ROW: u8 = 3;

/// A file that gave more bytes than its size this many reads in a row lies about its size
/// (a `/proc` or `/sys` file, a device): it is no longer read. Once could be a truncation
/// racing the read, so the bytes of the first such read are not counted but read again.
pub const SIZE_LIES_IN_A_ROW: u8 = 2;

/// A warning that can repeat for one file (it cannot be read, again) is logged at most once
/// per this interval for that file.
pub const WARNING_INTERVAL: Duration = Duration::from_secs(600);

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
    /// Not a log: its size lies about its content. Closed and not read again while the name
    /// holds it.
    Ignored,
}

impl FileState {
    /// Drained or ignored: no longer read.
    pub fn is_done(self) -> bool {
        matches!(self, FileState::Drained | FileState::Ignored)
    }
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

/// What [`FollowedFile::read_new`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Read this many bytes (0: nothing new).
    Read(u64),
    /// Re-opened, the name turned out to hold another file (another device and inode): the
    /// handle is closed and nothing was read.
    Replaced,
    /// The file is not a log: it lies about its size (the reason, in words). Closed.
    Odd(&'static str),
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
    /// Size and modification time at the last look at the name.
    stat: Option<(u64, Option<SystemTime>)>,
    /// Size and modification time when last read to its end: while closed, the file is
    /// re-opened only when its name shows something else. `None`: not read to its end.
    seen: Option<(u64, Option<SystemTime>)>,
    /// When the file last gave data (or was opened), for the tailer's least recently used
    /// choice of which file to close.
    pub(crate) active: u64,
    /// Reads in a row that found the file shorter than what was read.
    truncations: u8,
    /// Reads in a row that got more bytes than the file's size.
    size_lies: u8,
    /// `true` once a read error has been logged, until a read succeeds again.
    pub(crate) error_logged: bool,
    /// Limits this file's repeated warnings (made on the first).
    warnings: Throttle,
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
            stat: None,
            seen: None,
            active: 0,
            truncations: 0,
            size_lies: 0,
            error_logged: false,
            warnings: Throttle::new(WARNING_INTERVAL, 1),
        }
    }

    /// May a warning about this file be logged now? At most one per [`WARNING_INTERVAL`].
    pub fn may_warn(&mut self, now: Instant) -> bool {
        self.warnings.allow(now).is_some()
    }

    /// While closed: does the name show a change since the file was last read to its end
    /// (so it must be opened and read)?
    pub fn wants_reading(&self) -> bool {
        self.seen.is_none() || self.stat != self.seen
    }

    /// Bytes the open handle holds beyond what was read (as of the last read).
    pub fn unread(&self) -> u64 {
        let pending = self.lines.as_ref().map_or(0, LineBuf::pending);
        self.size.saturating_sub(self.offset + pending)
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

    /// Does the name still point at this file? Notes its size and modification time.
    pub fn check_path(&mut self) -> io::Result<Change> {
        match std::fs::metadata(&self.path) {
            Ok(meta) => {
                let id = FileId::of(&meta);
                Ok(if id == self.id {
                    self.stat = Some((meta.len(), meta.modified().ok()));
                    if self.file.is_none() {
                        self.size = meta.len();
                    }
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
    /// (a start at the end of a file being written), that line's tail is skipped. A file
    /// opened again is checked first: another device and inode under the name is
    /// [`Reopened::Replaced`]; the same inode with other first bytes was rewritten
    /// ([`Reopened::Rewritten`]: to be read again from the start).
    fn ensure_open(&mut self) -> io::Result<Reopened> {
        if self.file.is_some() {
            return Ok(Reopened::Same);
        }
        let mut file = open_log(&self.path)?;
        let meta = file.metadata()?;
        if FileId::of(&meta) != self.id {
            return Ok(Reopened::Replaced);
        }
        let mut lines = LineBuf::default();
        let known = self.fingerprint;
        let now = Fingerprint::of(&mut file)?;
        let same = known.len == 0 || known == now || known.matches(&mut file)?;
        self.fingerprint = now;
        if !same {
            self.file = Some(file);
            self.lines = Some(lines);
            return Ok(Reopened::Rewritten);
        }
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
        Ok(Reopened::Same)
    }

    /// Closes the file; a later read reopens it at the offset.
    pub fn close(&mut self) {
        self.file = None;
        self.lines = None;
    }

    /// Reads what was appended, up to about `budget` bytes, handing complete lines to
    /// `sink`. A file found shorter than what was read is read again from the start. With
    /// `commit`, each chunk's metric updates and the new offset happen under its lock.
    /// `Outcome::Read(0)` means the end was reached with nothing new.
    pub fn read_new(
        &mut self,
        sink: &mut impl Sink,
        budget: u64,
        commit: Option<&Shared>,
    ) -> io::Result<Outcome> {
        let fingerprint_before = self.fingerprint;
        let rewritten = match self.ensure_open()? {
            Reopened::Replaced => {
                self.close();
                return Ok(Outcome::Replaced);
            }
            Reopened::Rewritten => true,
            Reopened::Same => false,
        };
        let (Some(file), Some(lines)) = (self.file.as_mut(), self.lines.as_mut()) else {
            unreachable!("ensure_open succeeded, so both are set");
        };
        let meta = file.metadata()?;
        let size = meta.len();
        let read_pos = self.offset + lines.pending();
        if rewritten || size < read_pos {
            self.truncations += 1;
            if self.truncations >= TRUNCATIONS_IN_A_ROW {
                self.close();
                return Ok(Outcome::Odd(
                    "it was found shorter than what was read at every read",
                ));
            }
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
        } else {
            self.truncations = 0;
        }
        self.size = size;
        let mut total = 0u64;
        let mut at_end = false;
        let mut honest = Honest {
            file,
            known: size,
            pos: self.offset + lines.pending(),
            lied: false,
        };
        let mut lies = false;
        let (ctx, path) = (&mut self.ctx, &self.path);
        while total < budget {
            // The read is done outside the lock: a slow disk does not hold up a scrape.
            let read = match lines.fill(&mut honest) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::InvalidData && honest.lied => {
                    lies = true;
                    break;
                }
                Err(e) => return Err(e),
            };
            let mut guard = commit.map(Shared::lock);
            let fill = lines.lines(|line| match line {
                Line::Complete(l) => sink.line(ctx, path, l),
                Line::TooLong(n) => sink.line_too_long(ctx, path, n),
            });
            debug_assert_eq!(fill.read, read);
            self.offset += fill.consumed;
            if fill.consumed > fill.silent {
                sink.consumed(ctx.kind, fill.consumed - fill.silent);
            }
            if let Some(cp) = guard.as_mut().and_then(|st| st.files.get_mut(path)) {
                cp.offset = self.offset;
            }
            drop(guard);
            if fill.read == 0 {
                at_end = true;
                self.size_lies = 0;
                break;
            }
            total += fill.read as u64;
        }
        let file = honest.file;
        if lies {
            self.size_lies += 1;
            if self.size_lies >= SIZE_LIES_IN_A_ROW {
                self.close();
                return Ok(Outcome::Odd(
                    "it gives more bytes than its size says (a /proc or /sys file, or a device?)",
                ));
            }
        }
        self.size = self
            .size
            .max(honest.known)
            .max(self.offset + lines.pending());
        self.seen = at_end.then(|| (self.offset + lines.pending(), meta.modified().ok()));
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
        Ok(Outcome::Read(total))
    }
}

/// How a file was found when opened again.
enum Reopened {
    /// The file it was (or it was open already).
    Same,
    /// Same inode, other first bytes: rewritten, to be read again from the start.
    Rewritten,
    /// Another file has the name.
    Replaced,
}

/// A reader that checks the file's size whenever a read goes past it: a regular file grows
/// before it can be read further, so a read past a size taken after it means the size lies.
/// The bytes of such a read are given back (the file position moved back) and the read
/// fails, so nothing of it is counted.
struct Honest<'a> {
    file: &'a mut File,
    /// The size as last looked at.
    known: u64,
    /// The file position.
    pos: u64,
    /// The last read failed because the size lied.
    lied: bool,
}

impl Read for Honest<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.file.read(buf)?;
        let end = self.pos + n as u64;
        if end > self.known {
            self.known = self.file.metadata()?.len();
            if end > self.known {
                self.file.seek(SeekFrom::Start(self.pos))?;
                self.lied = true;
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the file gave more bytes than its size",
                ));
            }
        }
        self.pos = end;
        Ok(n)
    }
}
