//! Following XMail and Nmail log directories.
//!
//! XMail never renames a log: it starts a new time-named file (`smtp-YYYYMMDDHHMM`) with the
//! first event of a new period, and a late line can still land in the previous file. The
//! [`Tailer`] therefore follows every file of a kind that is not yet drained, in name order,
//! keeps an older file open for [`DRAIN_GRACE`] after a newer one appears, and then closes it
//! for good. Each [`Tailer::poll_once`] is one synchronous pass (look at the directories,
//! read what was appended); the caller decides when to call it (a filesystem event or the
//! poll timer), so tests can step it without sleeping.
//!
//! A directory that does not exist is a state, not an error: a host without Nmail has no
//! `weblogs/`. It is logged once (and again when it appears or disappears), it produces no
//! read errors and does not hold back [`Tailer::ready`], and it is looked for at every pass,
//! so when it appears its files are followed (from their beginning: they are new). Read
//! errors are failures to read something that exists: permission denied, an I/O error, a
//! path that is not a directory.
//!
//! At most [`MAX_OPEN_FILES`] files are open at once (fewer when the process may open few
//! descriptors, see [`crate::read::open::open_file_cap`]), whatever the directories hold, so the HTTP
//! side always has descriptors for its connections. Beyond that, the files least recently
//! read are closed; a closed file is looked at by name (one `stat`) at each pass and opened
//! again, checked against its identity, when it changed. A file whose name was deleted or
//! replaced while it still had unread bytes is read to its end through the handle kept for
//! it; those handles count within the cap.
//!
//! What is not a log file is left alone: entries named like logs that are not regular files
//! (a FIFO, a socket, a device, also behind a symlink) are never opened and are warned about
//! once per name; a file whose size lies about its content is warned about once and no
//! longer read. Repeated warnings about one file are limited to one per
//! [`file::WARNING_INTERVAL`].
//!
//! - `dirs`: each followed directory, its health and when to list it again;
//! - [`file`](mod@file): one followed file, its offset, partial line and state
//!   ([`file::FollowedFile::advance`] is the one place the state changes); it reads and
//!   says where it stopped, and takes no lock;
//! - `step`: one file's turn in a pass; the one place lines reach the sink together with
//!   the checkpoint that counts them, under the checkpoint lock;
//! - [`identity`]: which file a file is (device, inode, first bytes), whatever its name;
//! - [`checkpoint`]: what survives a restart, and its state file;
//! - [`watch`]: filesystem notifications that wake the loop.
//!
//! Owns which files are followed, from where, and which offset was counted. Which names are
//! logs, how a file is opened and where a line ends are [`crate::read`]'s; what a line says
//! and means is the [`Sink`]'s (the metrics, through [`crate::parse`] and
//! [`crate::meaning`]); when a pass runs is the caller's ([`crate::cmd::serve`]).

pub mod checkpoint;
mod dirs;
pub mod file;
pub mod identity;
mod step;
pub mod watch;

use std::collections::BTreeMap;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::parse::LogKind;
use crate::read::discover::{Found, KindSet};
use crate::read::{Sink, open};
use checkpoint::{Shared, State};
use dirs::{DirHealth, WatchedDir};
pub use dirs::{DirSpec, FULL_RESCAN_INTERVAL};
use file::{Event, FileId, FileState, FollowedFile, Outcome, StartAt};
use step::{Done, Step, close_least_recent, settle, step_file};
pub use step::{Pass, READ_BUDGET};

/// How long an older file stays open after a newer file of its kind appears. XMail computes
/// the file name and the time stamp separately, so a line can land in the previous file
/// just after the boundary.
pub const DRAIN_GRACE: Duration = Duration::from_secs(60);

/// At most this many log files are open at once (see the module documentation).
pub const MAX_OPEN_FILES: usize = 256;

/// Files are kept in this order: by directory, kind, then name (XMail's names sort by time).
type FileKey = (usize, LogKind, String);

/// Follows the log files of a set of directories. See the module documentation.
pub struct Tailer {
    dirs: Vec<WatchedDir>,
    files: BTreeMap<FileKey, FollowedFile>,
    start: StartAt,
    grace: Duration,
    /// Checkpoints kept in step with the metrics, when a state file is used.
    commit: Option<Shared>,
    /// The previous run's checkpoints, consulted at the first listing of each directory.
    previous: Option<State>,
    /// At most this many files open at once, orphans included.
    cap: usize,
    /// Files whose name is gone (deleted or replaced) read to their end through their handle.
    orphans: Vec<FollowedFile>,
    /// Counts reads that gave data: a file's `active` is the count at its last one.
    tick: u64,
    /// Set to stop a pass early (at shutdown).
    stop: Option<Arc<AtomicBool>>,
}

impl Tailer {
    /// A tailer over `dirs` (a path given twice is merged). Files that exist at the first
    /// successful listing of a directory start at `start`; files that appear later are
    /// read from their beginning.
    pub fn new(dirs: Vec<DirSpec>, start: StartAt) -> Tailer {
        let mut merged: Vec<DirSpec> = Vec::new();
        for d in dirs {
            match merged.iter_mut().find(|m| m.path == d.path) {
                Some(m) => m.kinds = m.kinds.union(d.kinds),
                None => merged.push(d),
            }
        }
        Tailer {
            dirs: merged.into_iter().map(WatchedDir::new).collect(),
            files: BTreeMap::new(),
            start,
            grace: DRAIN_GRACE,
            commit: None,
            previous: None,
            cap: MAX_OPEN_FILES,
            orphans: Vec::new(),
            tick: 0,
            stop: None,
        }
    }

    /// Keeps at most `cap` files open at once (at least 1; [`MAX_OPEN_FILES`] by default).
    pub fn with_open_cap(mut self, cap: usize) -> Tailer {
        self.cap = cap.max(1);
        self
    }

    /// Ends a pass early, between two files, once `stop` is set.
    pub fn with_stop(mut self, stop: Arc<AtomicBool>) -> Tailer {
        self.stop = Some(stop);
        self
    }

    fn stopping(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// Keeps checkpoints in `shared`, and resumes from `previous` (the last run's state):
    /// files it knows resume at their offsets, files it does not know are new and are read
    /// from their beginning; the start position then no longer applies.
    pub fn with_checkpoints(mut self, shared: Shared, previous: Option<State>) -> Tailer {
        if let Some(prev) = &previous {
            let mut st = shared.lock();
            st.drained = prev.drained.clone();
            st.last_event = prev.last_event.clone();
        }
        self.commit = Some(shared);
        self.previous = previous;
        self
    }

    /// Changes the drain grace period (tests use a short one).
    pub fn with_grace(mut self, grace: Duration) -> Tailer {
        self.grace = grace;
        self
    }

    /// `true` once every directory that exists was listed, and could be at the last pass. A
    /// directory that does not exist does not hold it back; one that exists but cannot be
    /// listed does.
    pub fn ready(&self) -> bool {
        self.dirs
            .iter()
            .all(|d| matches!(d.health, DirHealth::Readable | DirHealth::Missing))
    }

    /// Each directory, the kinds it holds, and whether it exists and could be listed at the
    /// last pass (`None` before the first look).
    pub fn log_dirs(&self) -> impl Iterator<Item = (&Path, KindSet, Option<bool>)> {
        self.dirs.iter().map(|d| {
            let exists = match d.health {
                DirHealth::Unknown => None,
                DirHealth::Readable => Some(true),
                DirHealth::Missing | DirHealth::Unreadable => Some(false),
            };
            (d.spec.path.as_path(), d.spec.kinds, exists)
        })
    }

    /// The directories and whether each was readable at the last pass.
    pub fn dirs(&self) -> impl Iterator<Item = (&Path, bool)> {
        self.dirs
            .iter()
            .map(|d| (d.spec.path.as_path(), d.health == DirHealth::Readable))
    }

    /// How many log files are open now (followed ones and those read to their end after
    /// their name went away). Never more than the cap.
    pub fn open_files(&self) -> usize {
        self.files.values().filter(|f| f.is_open()).count() + self.orphans.len()
    }

    /// The files known, drained ones included, with their state.
    pub fn files(&self) -> impl Iterator<Item = &FollowedFile> {
        self.files.values()
    }

    /// One pass: [`Tailer::discover`], then [`Tailer::read`].
    pub fn poll_once(&mut self, sink: &mut impl Sink, now: Instant) -> Pass {
        self.discover(sink, now);
        self.read(sink, now)
    }

    /// Looks at each directory: adds new files, drops vanished ones, moves older files to
    /// draining.
    pub fn discover(&mut self, sink: &mut impl Sink, now: Instant) {
        for i in 0..self.dirs.len() {
            if self.stopping() {
                return;
            }
            self.look_at_dir(i, sink, now);
        }
    }

    /// Reads every file that is not drained. Files that are open are read first; files
    /// that must be opened are opened while there is room under the cap, and the others
    /// after closing the files least recently read, a batch at a time.
    pub fn read(&mut self, sink: &mut impl Sink, now: Instant) -> Pass {
        let mut pass = Pass::default();
        let mut lag = [0u64; LogKind::COUNT];
        self.read_orphans(sink, &mut pass, &mut lag);
        let slots = self.cap.saturating_sub(self.orphans.len());
        let mut open = self.files.values().filter(|f| f.is_open()).count();
        let mut done = Vec::new();
        let mut waiting = Vec::new();
        let stop = self.stop.clone();
        let stopping = || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed));
        for (key, f) in self.files.iter_mut() {
            if f.state().is_done() {
                continue;
            }
            if stopping() {
                break;
            }
            let was_open = f.is_open();
            let result = step_file(f, sink, now, self.grace, self.commit.as_ref(), open < slots);
            if matches!(result, Ok(Step::Wait)) {
                waiting.push(key.clone());
                continue;
            }
            open = open + usize::from(f.is_open()) - usize::from(was_open);
            self.tick += 1;
            if let Some(d) = settle(f, result, sink, now, self.tick, &mut pass) {
                done.push((key.clone(), d));
            }
            lag[f.kind().index()] += f.lag();
        }
        // Batches of files to open: close the least recently read ones to make room.
        for batch in waiting.chunks(slots.max(1)) {
            if slots == 0 || stopping() {
                break;
            }
            let free = slots.saturating_sub(open);
            if free < batch.len() {
                open -= close_least_recent(&mut self.files, batch.len() - free);
            }
            for key in batch {
                let Some(f) = self.files.get_mut(key) else {
                    continue;
                };
                let was_open = f.is_open();
                let result = step_file(f, sink, now, self.grace, self.commit.as_ref(), true);
                open = open + usize::from(f.is_open()) - usize::from(was_open);
                self.tick += 1;
                if let Some(d) = settle(f, result, sink, now, self.tick, &mut pass) {
                    done.push((key.clone(), d));
                }
                lag[f.kind().index()] += f.lag();
            }
        }
        for (key, d) in done {
            self.finish(key, d, &mut pass);
        }
        for kind in LogKind::ALL {
            if self.dirs.iter().any(|d| d.spec.kinds.contains(kind)) {
                sink.lag(kind, lag[kind.index()]);
            }
        }
        pass
    }

    /// Reads the files whose name went away, through their handles, and closes those that
    /// reached their end.
    fn read_orphans(&mut self, sink: &mut impl Sink, pass: &mut Pass, lag: &mut [u64]) {
        self.orphans.retain_mut(|f| {
            // Their lines are in no checkpoint (the name may hold another file now).
            match step::read_file(f, sink, READ_BUDGET, None) {
                Ok(Outcome::Read(n)) if n > 0 => {
                    pass.bytes_read += n;
                    pass.more |= n >= READ_BUDGET;
                    lag[f.kind().index()] += f.unread();
                    true
                }
                Ok(_) => {
                    tracing::debug!(path = %f.path.display(), "removed log file read to its end: closed");
                    false
                }
                Err(e) => {
                    tracing::debug!(path = %f.path.display(), error = %e, "cannot read a removed log file: closed");
                    false
                }
            }
        });
    }

    /// Acts on what [`settle`] decided for a file, now that the file map is free.
    fn finish(&mut self, key: FileKey, done: Done, pass: &mut Pass) {
        let commit = self.commit.as_ref();
        match done {
            Done::Drained => {
                if let Some(c) = commit
                    && let Some(f) = self.files.get(&key)
                {
                    c.lock()
                        .drained(&self.dirs[key.0].spec.path, key.1, &key.2, &f.path);
                }
            }
            Done::Ignored => {
                if let Some(c) = commit
                    && let Some(f) = self.files.get(&key)
                {
                    c.lock().forget(&f.path);
                }
            }
            Done::Gone | Done::Replaced => {
                if done == Done::Replaced {
                    // The directory listing picks up the new file at the next look.
                    self.dirs[key.0].listed = None;
                    pass.more = true;
                }
                let Some(f) = self.files.remove(&key) else {
                    return;
                };
                if let Some(c) = commit {
                    c.lock().forget(&f.path);
                }
                if f.is_open() && f.unread() > 0 {
                    tracing::debug!(path = %f.path.display(), "log file is gone: reading the rest of it");
                    self.orphans.push(f);
                    pass.more = true;
                } else {
                    tracing::debug!(path = %f.path.display(), "log file is gone: no longer followed");
                }
            }
        }
    }

    /// Lists directory `i` if it may have changed, and brings the followed files in line.
    fn look_at_dir(&mut self, i: usize, sink: &mut impl Sink, now: Instant) {
        let Some(listed) = self.dirs[i].look(sink, now) else {
            return;
        };
        if listed.revalidate {
            // A directory that comes back after it could not be read (or was gone) may hold
            // other files under old names: drained files are then checked again.
            self.forget_replaced_drained(i);
        }
        let dir_path = self.dirs[i].spec.path.clone();
        self.sync_files(i, &dir_path, listed.found, listed.first, sink, now);
    }

    fn sync_files(
        &mut self,
        i: usize,
        dir: &Path,
        found: Vec<Found>,
        first: bool,
        sink: &mut impl Sink,
        now: Instant,
    ) {
        // Drained files whose name is gone are forgotten; followed ones are noticed (and
        // their open handle read to the end) by the next read.
        self.files.retain(|k, f| {
            k.0 != i
                || !f.state().is_done()
                || found
                    .binary_search_by(|x| (x.kind, x.name.as_str()).cmp(&(k.1, k.2.as_str())))
                    .is_ok()
        });
        // The newest file of each kind, leaving out files that are not logs.
        let mut newest: [Option<&str>; LogKind::COUNT] = [None; LogKind::COUNT];
        for f in found.iter().rev() {
            if newest[f.kind.index()].is_some() {
                continue;
            }
            let key = (i, f.kind, f.name.clone());
            if self
                .files
                .get(&key)
                .is_none_or(|x| x.state() != FileState::Ignored)
            {
                newest[f.kind.index()] = Some(f.name.as_str());
            }
        }
        for f in &found {
            let key = (i, f.kind, f.name.clone());
            let is_newest = newest[f.kind.index()] == Some(f.name.as_str());
            if let Some(existing) = self.files.get_mut(&key) {
                if !is_newest {
                    existing.advance(Event::Superseded(now));
                }
                continue;
            }
            let path = dir.join(&f.name);
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    sink.read_error(f.kind, &path, &e);
                    continue;
                }
            };
            let id = match FileId::at(&path, &meta) {
                Ok(id) => id,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => {
                    sink.read_error(f.kind, &path, &e);
                    continue;
                }
            };
            let start = if first {
                self.start_position(dir, f, &path, &meta, id, sink)
            } else {
                Start::At(0)
            };
            let offset = match start {
                Start::At(o) => o,
                Start::Done => meta.len(),
            };
            let idle = meta
                .modified()
                .ok()
                .and_then(|m| m.elapsed().ok())
                .unwrap_or(Duration::MAX);
            let state = if start == Start::Done
                || (first && !is_newest && idle >= self.grace && offset == meta.len())
            {
                // Read before (by this or the previous run) and not written to lately.
                FileState::Drained
            } else if !is_newest {
                // An older file: if it was not written to lately, close it as soon as it is
                // read; otherwise give it the full grace for late lines.
                let since = if first && idle >= self.grace {
                    now.checked_sub(self.grace).unwrap_or(now)
                } else {
                    now
                };
                FileState::Draining { since }
            } else {
                FileState::Following
            };
            let followed = FollowedFile::new(path, f.kind, &f.name, &meta, id, offset, state);
            if let Some(c) = &self.commit {
                let mut st = c.lock();
                if state == FileState::Drained {
                    st.drained(dir, f.kind, &f.name, &followed.path);
                } else {
                    st.follow(&followed.path, followed.checkpoint());
                }
            }
            if state != FileState::Drained {
                sink.file_opened(f.kind, &followed.path, !first);
            }
            self.files.insert(key, followed);
        }
    }

    /// Forgets the drained files of directory `i` whose name now holds another file (or
    /// none), so the next listing reads them as new.
    fn forget_replaced_drained(&mut self, i: usize) {
        self.files.retain(|k, f| {
            k.0 != i
                || !f.state().is_done()
                || std::fs::metadata(&f.path)
                    .is_ok_and(|m| FileId::at(&f.path, &m).is_ok_and(|id| id == f.id))
        });
    }

    /// Where to start a file found at start-up (`meta` and `id` are its metadata and
    /// identity).
    fn start_position(
        &self,
        dir: &Path,
        f: &Found,
        path: &Path,
        meta: &std::fs::Metadata,
        id: FileId,
        sink: &mut impl Sink,
    ) -> Start {
        let prev = match &self.previous {
            Some(prev) => prev,
            None => {
                return match self.start {
                    StartAt::Beginning => Start::At(0),
                    StartAt::End => Start::At(meta.len()),
                };
            }
        };
        if let Some(cp) = prev.files.get(path) {
            let same = cp.id == id
                && open::open_log(path)
                    .and_then(|mut file| cp.fingerprint.matches(&mut file))
                    .unwrap_or(false);
            if !same {
                tracing::info!(path = %path.display(), "log file changed while the exporter was down: reading it from the start");
                return Start::At(0);
            }
            if cp.offset > meta.len() {
                sink.truncated(f.kind, path);
                return Start::At(0);
            }
            return Start::At(cp.offset);
        }
        if prev.was_drained(dir, f.kind, &f.name) {
            Start::Done
        } else {
            Start::At(0)
        }
    }
}

/// Where a file found at start-up begins.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// At this offset.
    At(u64),
    /// Nowhere: it was read to its end before.
    Done,
}

#[cfg(test)]
mod tests;
