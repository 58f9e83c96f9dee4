//! The summary read on several threads: [`summarize_parallel`] gives the same [`Summary`],
//! byte for byte once printed, as reading the files one after the other on one thread.
//!
//! # How
//!
//! The files, in [`super::files::reading_order`], are cut into pieces: a file of at most
//! [`Parallel::piece_bytes`] is one piece, a longer one is cut every `piece_bytes` bytes at
//! line starts (an SMAIL record that goes on over several lines is never cut,
//! [`crate::read::once::read_piece`]); webmail error files are never cut, a line of a stack
//! trace belongs to the error before it. The threads take the pieces in order, each reads
//! its piece into a summary of its own (a *part*: plain counters, no shared state), and this
//! thread merges the parts in reading order as they are done.
//!
//! Most of a summary is sums, minimums and maximums, whatever the order. What depends on
//! the lines before a piece is kept apart by the part and settled by the merge, in reading
//! order:
//!
//! - the bounces and the postmaster's notices (an `X` message counts at its first line,
//!   [`crate::meaning`]): a part keeps the SMAIL records of `X` messages as read, and the
//!   merge gives them their meaning through the one [`crate::meaning::Meaning`] of the run;
//! - the legacy `DATA=EFILTER` + `RCPT=EFILTER` pair that counts once: a part counts both
//!   lines and keeps them; the merge takes the second back when they pair;
//! - a received message's recipients (its `RCPT=OK` lines may be in the piece before): a
//!   part notes which messages started counting again in it, and the merge adds the count
//!   carried from the pieces before;
//! - with a time range, a malformed line at the start of a piece that starts inside a file
//!   counts when the last line with a time before it did;
//! - the largest messages: each part keeps its own largest `top`, in arrival order on ties,
//!   and the merge inserts them as one thread would have;
//! - the refusals keep their first code and stage (the same for a given status).
//!
//! A file that fails while it is read is one read error, as with one thread; the lines read
//! of it before the error can differ (with several threads, the other pieces of the file
//! are read).
//!
//! A byte budget (the console's `max_bytes`) needs the files read in order up to it: such a
//! reading stays on one thread ([`super::files::summarize_files`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

use super::{Deferred, Summary};
use crate::parse::LogKind;
use crate::parse::smail::parse_smail;
use crate::parse::smtp::parse_smtp;
use crate::parse::status::{Status, StatusCode};
use crate::read::Sink;
use crate::read::discover::LogFile;
use crate::read::once::read_piece;

/// How a reading is spread over threads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parallel {
    /// Threads that read (1: the files are read on this thread, one after the other).
    pub threads: usize,
    /// The largest piece of a file a thread reads at once.
    pub piece_bytes: u64,
}

/// Pieces of 8 MiB: a few hundred milliseconds of parsing each, small against the merge.
pub const PIECE_BYTES: u64 = 8 << 20;

impl Parallel {
    /// One thread.
    pub const ONE: Parallel = Parallel {
        threads: 1,
        piece_bytes: PIECE_BYTES,
    };

    /// `threads` threads (0: as many as the machine has cores), pieces of `piece_bytes` (0:
    /// [`PIECE_BYTES`]).
    pub fn new(threads: usize, piece_bytes: u64) -> Parallel {
        let threads = if threads == 0 {
            std::thread::available_parallelism().map_or(1, usize::from)
        } else {
            threads
        };
        Parallel {
            threads,
            piece_bytes: if piece_bytes == 0 {
                PIECE_BYTES
            } else {
                piece_bytes
            },
        }
    }
}

/// One piece of a file: the lines from the first line start at or after `start` to the first
/// at or after `end` (see [`read_piece`]).
#[derive(Clone, Copy, Debug)]
struct Piece {
    file: usize,
    start: u64,
    end: Option<u64>,
}

/// The pieces of `files`, in reading order.
fn pieces(files: &[LogFile], piece_bytes: u64) -> Vec<Piece> {
    let mut out = Vec::new();
    for (i, f) in files.iter().enumerate() {
        let len = std::fs::metadata(&f.path).map_or(0, |m| m.len());
        let mut start = 0;
        if f.kind != LogKind::Webmail {
            while len - start > piece_bytes {
                out.push(Piece {
                    file: i,
                    start,
                    end: Some(start + piece_bytes),
                });
                start += piece_bytes;
            }
        }
        out.push(Piece {
            file: i,
            start,
            end: None,
        });
    }
    out
}

/// Pieces read ahead of the merge, per thread: bounds the parts waiting in memory when an
/// early piece is slow.
const AHEAD_PER_THREAD: usize = 4;

/// Reads `files` (already in reading order) on `par.threads` threads into `base` (an empty
/// summary; its range, zone, classifier and `top` are the parts' too), the same summary as
/// [`crate::summary::files::read_files`] gives on one thread. Returns the files that could
/// not be read.
pub fn summarize_parallel(files: &[LogFile], base: &mut Summary, par: Parallel) -> u64 {
    let pieces = pieces(files, par.piece_bytes);
    let threads = par.threads.clamp(1, pieces.len().max(1));
    let next = AtomicUsize::new(0);
    // Pieces merged so far, for the threads to wait on.
    let merged = (Mutex::new(0usize), Condvar::new());
    let window = threads * AHEAD_PER_THREAD;
    let mut failed = vec![false; files.len()];
    let (tx, rx) = mpsc::channel::<(usize, Summary, bool)>();
    let (classifier, tz, top, range) = (
        base.classifier.clone(),
        base.tz.clone(),
        base.top,
        base.range,
    );
    let empty = || Summary::new(classifier.clone(), tz.clone(), top).with_range(range);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, merged, pieces, empty) = (&next, &merged, &pieces, &empty);
            let spawned = std::thread::Builder::new()
                .name("report-piece".into())
                .spawn_scoped(scope, move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(piece) = pieces.get(i) else { return };
                    {
                        let (lock, cv) = merged;
                        let mut done = lock.lock().unwrap_or_else(|e| e.into_inner());
                        while i >= *done + window {
                            done = cv.wait(done).unwrap_or_else(|e| e.into_inner());
                        }
                    }
                    let f = &files[piece.file];
                    // A piece inside a file, or a file read again right after itself (a path
                    // given twice): one thread goes on with the file's state.
                    let again = piece.file > 0 && files[piece.file - 1].path == f.path;
                    let inside = (piece.start > 0 || again).then_some(f.path.as_path());
                    let mut part = empty().into_part(inside);
                    let err = read_piece(&f.path, f.kind, &f.name, piece.start, piece.end, &mut part)
                        .err();
                    if let Some(e) = &err {
                        tracing::error!(path = %f.path.display(), error = %e, "cannot read log file");
                    }
                    if tx.send((i, part, err.is_some())).is_err() {
                        return;
                    }
                }
            });
            if let Err(e) = spawned {
                tracing::warn!(error = %e, "cannot start a thread: fewer threads read");
            }
        }
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut at = 0;
        // Whether the last line with a time before the next piece was in the range.
        let mut last_in = true;
        for (i, part, err) in rx {
            waiting.insert(i, (part, err));
            while let Some((part, err)) = waiting.remove(&at) {
                last_in = base.absorb(part, last_in);
                if err {
                    failed[pieces[at].file] = true;
                }
                at += 1;
                let (lock, cv) = &merged;
                *lock.lock().unwrap_or_else(|e| e.into_inner()) = at;
                cv.notify_all();
            }
        }
    });
    let mut n = 0;
    for (f, _) in files.iter().zip(&failed).filter(|(_, failed)| **failed) {
        let err = std::io::Error::other("cannot read log file");
        base.read_error(f.kind, &f.path, &err);
        n += 1;
    }
    n
}

impl Summary {
    /// Adds the part of the next piece, in reading order. `last_in`: whether the last line
    /// with a time before the piece was in the range. Returns the same after the piece.
    fn absorb(&mut self, mut part: Summary, last_in: bool) -> bool {
        let p = part.part.take().unwrap_or_default();
        // Lines without a time at the start of the piece go with the line before it.
        if last_in {
            for (m, n) in self.malformed.iter_mut().zip(p.lead_malformed) {
                *m += n;
            }
        }
        let after = if p.start_unknown {
            last_in
        } else {
            part.last_in
        };
        // Recipients: the count carried from before the piece, then what the piece leaves.
        let mut largest = std::mem::take(&mut part.largest);
        for r in largest.iter_mut().filter(|r| r.open) {
            r.recipients += self.pending_rcpts.get(&r.id).copied().unwrap_or(0);
            r.open = false;
        }
        for id in &p.reset {
            self.pending_rcpts.remove(id);
        }
        for (id, n) in std::mem::take(&mut part.pending_rcpts) {
            *self.pending_rcpts.entry(id).or_default() += n;
        }
        for r in largest {
            self.keep_large(r);
        }
        self.add_counts(part);
        // After the counts: settling can take back one of the piece's refusals.
        for d in p.deferred {
            self.settle(d);
        }
        after
    }

    /// Gives a deferred line its meaning, in reading order.
    fn settle(&mut self, d: Deferred) {
        match d {
            Deferred::Legacy { line, kept } => {
                let Ok(ev) = parse_smtp(&line) else { return };
                let m = self.meaning.smtp(&ev);
                let status = ev.status.status;
                // The part counted the second line of a pair as a refusal: take it back.
                if kept
                    && status == Status::Known(StatusCode::RcptFilter)
                    && m.refused.is_none()
                    && let Some(stage) = status.stage()
                {
                    self.refused -= 1;
                    self.refused_by_stage[stage.index()] -= 1;
                    self.traffic(ev.time, |t| t.refused -= 1);
                    let key = StatusCode::RcptFilter.as_str();
                    if let Some(e) = self.refusals.get_mut(key) {
                        e.2 -= 1;
                        if e.2 == 0 {
                            self.refusals.remove(key);
                        }
                    }
                }
            }
            Deferred::Notice { line, kept } => {
                let Ok(ev) = parse_smail(&line) else { return };
                let m = self.meaning.smail(&ev, self.local.to_unix(ev.time));
                if kept {
                    self.notice(m.notice, &ev);
                }
            }
        }
    }

    /// Adds the counts of `o`, which read after `self`.
    fn add_counts(&mut self, o: Summary) {
        fn add<const N: usize>(a: &mut [u64; N], b: &[u64; N]) {
            a.iter_mut().zip(b).for_each(|(a, b)| *a += b);
        }
        fn add_map<K: std::hash::Hash + Eq>(
            a: &mut std::collections::HashMap<K, u64>,
            b: std::collections::HashMap<K, u64>,
        ) {
            for (k, n) in b {
                *a.entry(k).or_default() += n;
            }
        }
        if let Some(t) = o.first {
            self.seen(t);
        }
        if let Some(t) = o.last {
            self.seen(t);
        }
        add(&mut self.parsed, &o.parsed);
        add(&mut self.malformed, &o.malformed);
        self.read_errors += o.read_errors;
        self.received += o.received;
        self.received_bytes += o.received_bytes;
        add(&mut self.by_source, &o.by_source);
        self.recipients_accepted += o.recipients_accepted;
        self.recipients_refused += o.recipients_refused;
        add(&mut self.smail_types, &o.smail_types);
        add(&mut self.delivered_by_origin, &o.delivered_by_origin);
        self.refused += o.refused;
        add(&mut self.refused_by_stage, &o.refused_by_stage);
        for (k, (code, stage, n)) in o.refusals {
            self.refusals.entry(k).or_insert((code, stage, 0)).2 += n;
        }
        add_map(&mut self.dnsbl, o.dnsbl);
        add(&mut self.auth, &o.auth);
        self.bounced += o.bounced;
        self.postmaster_notices += o.postmaster_notices;
        add_map(&mut self.bounce_recipients, o.bounce_recipients);
        for (a, b) in self.hours.iter_mut().zip(&o.hours) {
            a.add(b);
        }
        for (k, t) in o.days {
            self.days.entry(k).or_default().add(&t);
        }
        for (k, (m, b)) in o.senders {
            let e = self.senders.entry(k).or_default();
            e.0 += m;
            e.1 += b;
        }
        add_map(&mut self.recipient_domains, o.recipient_domains);
        for (a, b) in self.webmail.iter_mut().zip(&o.webmail) {
            *a += b;
        }
        add(&mut self.pop3, &o.pop3);
        add(&mut self.ctrl, &o.ctrl);
        add(&mut self.psync, &o.psync);
        self.psync_messages.synced += o.psync_messages.synced;
        self.psync_messages.error += o.psync_messages.error;
        self.psync_bytes.synced += o.psync_bytes.synced;
        self.psync_bytes.error += o.psync_bytes.error;
        for (a, b) in self.filter_runs.iter_mut().zip(&o.filter_runs) {
            add(a, b);
        }
        self.lmail += o.lmail;
        self.finger += o.finger;
    }
}
