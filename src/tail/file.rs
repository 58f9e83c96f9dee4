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
//! Owns one file's reading and state; it takes no lock and records no checkpoint: it says
//! what it read and where it stopped, and the tailer's step records that. Which files to
//! follow is decided by [`super::Tailer`] from [`crate::read::discover`]'s listings, as is
//! when to stop following one and how many stay open; how a file is opened is
//! [`crate::read::open`]'s.

use std::fs::{File, Metadata};
use std::io::{self, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::checkpoint::Checkpoint;
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

/// What moves a followed file from one [`FileState`] to the next ([`FollowedFile::advance`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A newer file of its kind was seen at this time: XMail writes there now.
    Superseded(Instant),
    /// A read at `now` found nothing new; late lines are awaited for `grace` after the newer
    /// file appeared.
    Quiet {
        /// The time of the read.
        now: Instant,
        /// How long a draining file waits for late lines.
        grace: Duration,
    },
    /// Its size turned out to lie about its content: it is not a log.
    NotALog,
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

/// What a read of a followed file did ([`Reading::finish`]).
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
    /// Drain state: set when found, then changed by [`FollowedFile::advance`] only.
    state: FileState,
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
    /// A file found at `path` with metadata `meta` and identity `id` ([`FileId::at`]), to be
    /// read from `offset` (its size for a start at the end: a partial last line there is
    /// skipped), in `state`. Nothing is opened yet.
    pub fn new(
        path: PathBuf,
        kind: LogKind,
        name: &str,
        meta: &Metadata,
        id: FileId,
        offset: u64,
        state: FileState,
    ) -> FollowedFile {
        FollowedFile {
            path,
            id,
            state,
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

    /// Moves the file along its states; the one place its state changes after it was first
    /// found. Following becomes draining when a newer file appears, draining becomes
    /// drained (and closed) once a read finds nothing after the grace, and any state not
    /// done becomes ignored (and closed) when the file is not a log. Returns `true` when the
    /// state changed.
    pub fn advance(&mut self, event: Event) -> bool {
        let next = match (self.state, event) {
            (FileState::Following, Event::Superseded(at)) => FileState::Draining { since: at },
            (FileState::Draining { since }, Event::Quiet { now, grace })
                if now.saturating_duration_since(since) >= grace =>
            {
                FileState::Drained
            }
            (state, Event::NotALog) if !state.is_done() => FileState::Ignored,
            (state, _) => state,
        };
        if next == self.state {
            return false;
        }
        if next.is_done() {
            self.close();
        }
        self.state = next;
        true
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

    /// Where the file stands.
    pub fn state(&self) -> FileState {
        self.state
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
        // Deleted while open: on Windows the name stays (and cannot be opened) until this
        // handle is closed.
        #[cfg(windows)]
        if let Some(file) = &self.file
            && super::identity::delete_pending(file)?
        {
            return Ok(Change::Gone);
        }
        match std::fs::metadata(&self.path)
            .and_then(|meta| Ok((FileId::at(&self.path, &meta)?, meta)))
        {
            Ok((id, meta)) => Ok(if id == self.id {
                self.stat = Some((meta.len(), meta.modified().ok()));
                if self.file.is_none() {
                    self.size = meta.len();
                }
                Change::Same
            } else {
                Change::Replaced(id)
            }),
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
        if FileId::of(&file)? != self.id {
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

    /// Starts a read of what was appended: opens the file if it is closed, and checks it.
    /// A file found shorter than what was read (or rewritten) starts again from its first
    /// byte ([`Start::Restarted`]). The caller then alternates [`Reading::fill`] (outside any
    /// lock) and [`Reading::hand_over`], and ends with [`Reading::finish`].
    pub fn start_read(&mut self) -> io::Result<Start<'_>> {
        let fingerprint_before = self.fingerprint;
        let rewritten = match self.ensure_open()? {
            Reopened::Replaced => {
                self.close();
                return Ok(Start::Replaced);
            }
            Reopened::Rewritten => true,
            Reopened::Same => false,
        };
        let (Some(file), Some(lines)) = (self.file.as_mut(), self.lines.as_mut()) else {
            unreachable!("ensure_open succeeded, so both are set");
        };
        let meta = file.metadata()?;
        let size = meta.len();
        let mut restarted = false;
        if rewritten || size < self.offset + lines.pending() {
            self.truncations += 1;
            if self.truncations >= TRUNCATIONS_IN_A_ROW {
                self.close();
                return Ok(Start::Odd(
                    "it was found shorter than what was read at every read",
                ));
            }
            file.seek(SeekFrom::Start(0))?;
            lines.clear();
            self.ctx.smail_continues = false;
            self.ctx.webmail_error_seen = false;
            self.fingerprint = Fingerprint::of(file)?;
            self.offset = 0;
            restarted = true;
        } else {
            self.truncations = 0;
        }
        self.size = size;
        let pos = self.offset + lines.pending();
        let reading = Reading {
            f: self,
            modified: meta.modified().ok(),
            known: size,
            pos,
            total: 0,
            at_end: false,
            lies: false,
            fingerprint_before,
        };
        Ok(if restarted {
            Start::Restarted(reading)
        } else {
            Start::Ready(reading)
        })
    }
}

/// What [`FollowedFile::start_read`] found.
pub enum Start<'a> {
    /// Ready to read on from the offset.
    Ready(Reading<'a>),
    /// The file is shorter than what was read, or was rewritten: it is read again from its
    /// first byte, its offset is 0 (the caller records that, and tells its sink).
    Restarted(Reading<'a>),
    /// Re-opened, the name turned out to hold another file (another device and inode): the
    /// handle is closed and nothing was read.
    Replaced,
    /// The file is not a log (the reason, in words). Closed.
    Odd(&'static str),
}

/// One read of a followed file, from [`FollowedFile::start_read`] to [`Reading::finish`].
/// It reads and hands lines on; it takes no lock and records nothing: what it read and where
/// it stopped is returned to the caller (the tailer), which does both.
pub struct Reading<'a> {
    f: &'a mut FollowedFile,
    /// The file's modification time when the read started.
    modified: Option<SystemTime>,
    /// The size as last looked at (see [`Honest`]).
    known: u64,
    /// The file position.
    pos: u64,
    /// Bytes read so far.
    total: u64,
    /// The last fill found nothing more.
    at_end: bool,
    /// The last fill was refused: the file gave more bytes than its size.
    lies: bool,
    fingerprint_before: Fingerprint,
}

impl Reading<'_> {
    /// The file being read.
    pub fn file(&self) -> &FollowedFile {
        self.f
    }

    /// Bytes read so far in this read.
    pub fn total(&self) -> u64 {
        self.total
    }

    /// Reads once into the line buffer, without looking at the bytes (so the caller can do
    /// it outside its lock). Returns `false` when there is nothing more to hand over now: the
    /// end was reached, or the file lied about its size (then nothing of this read counts).
    pub fn fill(&mut self) -> io::Result<bool> {
        let f = &mut *self.f;
        let (Some(file), Some(lines)) = (f.file.as_mut(), f.lines.as_mut()) else {
            unreachable!("open while reading");
        };
        let mut honest = Honest {
            file,
            known: self.known,
            pos: self.pos,
            lied: false,
        };
        let read = lines.fill(&mut honest);
        self.known = honest.known;
        self.pos = honest.pos;
        match read {
            Ok(n) => {
                self.at_end = n == 0;
                self.total += n as u64;
                Ok(true)
            }
            Err(e) if e.kind() == io::ErrorKind::InvalidData && honest.lied => {
                self.lies = true;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// Hands the lines completed by the last [`Reading::fill`] to `sink` and moves the offset
    /// past them. Returns the file's checkpoint after them: the caller records it, under the
    /// same lock as the sink's updates, so a scrape sees both or neither.
    pub fn hand_over(&mut self, sink: &mut impl Sink) -> Checkpoint {
        let f = &mut *self.f;
        let (ctx, path) = (&mut f.ctx, &f.path);
        let Some(lines) = f.lines.as_mut() else {
            unreachable!("open while reading");
        };
        let fill = lines.lines(|line| match line {
            Line::Complete(l) => sink.line(ctx, path, l),
            Line::TooLong(n) => sink.line_too_long(ctx, path, n),
        });
        f.offset += fill.consumed;
        if fill.consumed > fill.silent {
            sink.consumed(ctx.kind, fill.consumed - fill.silent);
        }
        f.checkpoint()
    }

    /// Has the last fill reached the end of what the file holds now?
    pub fn at_end(&self) -> bool {
        self.at_end
    }

    /// Ends the read: notes what was seen of the file. Returns what the read did, and the
    /// checkpoint when the file's first bytes (its fingerprint) changed during it, to be
    /// recorded.
    pub fn finish(self) -> io::Result<(Outcome, Option<Checkpoint>)> {
        let f = self.f;
        if self.lies {
            f.size_lies += 1;
            if f.size_lies >= SIZE_LIES_IN_A_ROW {
                f.close();
                return Ok((
                    Outcome::Odd(
                        "it gives more bytes than its size says (a /proc or /sys file, or a device?)",
                    ),
                    None,
                ));
            }
        } else if self.at_end {
            f.size_lies = 0;
        }
        let (Some(file), Some(lines)) = (f.file.as_mut(), f.lines.as_ref()) else {
            unreachable!("open while reading");
        };
        let pending = lines.pending();
        f.size = f.size.max(self.known).max(f.offset + pending);
        f.seen = self.at_end.then(|| (f.offset + pending, self.modified));
        if f.fingerprint.len < FINGERPRINT_BYTES && f.size > f.fingerprint.len {
            f.fingerprint = Fingerprint::of(file)?;
        }
        f.error_logged = false;
        let changed = (f.fingerprint != self.fingerprint_before).then(|| f.checkpoint());
        Ok((Outcome::Read(self.total), changed))
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
