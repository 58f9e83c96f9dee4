//! One file's turn in a pass: read what was appended, under the checkpoint lock, and move
//! the file along its states.
//!
//! [`read_file`] is the one place lines reach a sink together with the checkpoint that
//! counts them: the bytes are read outside the lock, then each chunk's lines are handed to
//! the sink and the file's new checkpoint recorded under it. The file itself
//! ([`super::file`]) reads and returns where it stopped; it takes no lock.

use std::collections::BTreeMap;
use std::io;
use std::time::{Duration, Instant};

use super::checkpoint::Shared;
use super::file::{Change, Event, FileState, FollowedFile, Outcome, Start};
use crate::read::Sink;

/// At most this many bytes are read from one file in one pass, so a long catch-up does not
/// starve other files or delay a scrape.
pub const READ_BUDGET: u64 = 32 << 20;

/// What one pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pass {
    /// Bytes read in this pass.
    pub bytes_read: u64,
    /// A file has more to read than the pass's budget allowed: call again soon.
    pub more: bool,
}

/// Reads what was appended to `f`, up to about `budget` bytes, into `sink`, recording its
/// checkpoints in `commit` (none for a file whose name is gone: the name may hold another
/// file now). A file found shorter than what was read is read again from its start, which
/// the sink is told, under the lock, with the checkpoint reset.
pub(super) fn read_file(
    f: &mut FollowedFile,
    sink: &mut impl Sink,
    budget: u64,
    commit: Option<&Shared>,
) -> io::Result<Outcome> {
    let mut reading = match f.start_read()? {
        Start::Ready(r) => r,
        Start::Restarted(r) => {
            let guard = commit.map(Shared::lock);
            let file = r.file();
            sink.truncated(file.kind(), &file.path);
            if let Some(mut st) = guard {
                st.advance(&file.path, file.checkpoint());
            }
            r
        }
        Start::Replaced => return Ok(Outcome::Replaced),
        Start::Odd(why) => return Ok(Outcome::Odd(why)),
    };
    while reading.total() < budget {
        // The read is done outside the lock: a slow disk does not hold up a scrape.
        if !reading.fill()? {
            break;
        }
        let guard = commit.map(Shared::lock);
        let checkpoint = reading.hand_over(sink);
        if let Some(mut st) = guard {
            st.advance(&reading.file().path, checkpoint);
        }
        if reading.at_end() {
            break;
        }
    }
    let (outcome, changed) = reading.finish()?;
    if let (Some(c), Some(checkpoint)) = (commit, changed) {
        c.lock().advance(&f.path, checkpoint);
    }
    Ok(outcome)
}

pub(super) enum Step {
    Read(u64),
    /// Closed, with something to read, and no room to open it now.
    Wait,
    Gone,
    Replaced,
    /// Not a log (the reason).
    Odd(&'static str),
}

/// What is left to do about a file once the pass is over its files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Done {
    Drained,
    Ignored,
    Gone,
    Replaced,
}

/// Reads one file and moves it along its states. A closed file is opened only when its
/// name shows a change, and only when `may_open`.
pub(super) fn step_file(
    f: &mut FollowedFile,
    sink: &mut impl Sink,
    now: Instant,
    grace: Duration,
    commit: Option<&Shared>,
    may_open: bool,
) -> io::Result<Step> {
    let change = f.check_path()?;
    // Whatever happened to the name, what the open handle still holds is read first.
    let read = if f.is_open() || (change == Change::Same && f.wants_reading()) {
        if !f.is_open() && !may_open {
            return Ok(Step::Wait);
        }
        read_file(f, sink, READ_BUDGET, commit)?
    } else {
        Outcome::Read(0)
    };
    let n = match read {
        Outcome::Read(n) => n,
        Outcome::Replaced => return Ok(Step::Replaced),
        Outcome::Odd(why) => return Ok(Step::Odd(why)),
    };
    match change {
        Change::Same => {}
        Change::Gone => return Ok(Step::Gone),
        Change::Replaced(_) => return Ok(Step::Replaced),
    }
    if n == 0 && f.advance(Event::Quiet { now, grace }) {
        tracing::debug!(path = %f.path.display(), "log file drained: closed");
    }
    Ok(Step::Read(n))
}

/// Counts and logs the result of [`step_file`] for `f`; what needs the file map is returned.
pub(super) fn settle(
    f: &mut FollowedFile,
    result: io::Result<Step>,
    sink: &mut impl Sink,
    now: Instant,
    tick: u64,
    pass: &mut Pass,
) -> Option<Done> {
    match result {
        Ok(Step::Read(n)) => {
            pass.bytes_read += n;
            pass.more |= n >= READ_BUDGET;
            if n > 0 {
                f.active = tick;
            }
            (f.state() == FileState::Drained).then_some(Done::Drained)
        }
        Ok(Step::Wait) => None,
        Ok(Step::Gone) => Some(Done::Gone),
        Ok(Step::Replaced) => Some(Done::Replaced),
        Ok(Step::Odd(why)) => {
            f.advance(Event::NotALog);
            tracing::warn!(
                path = %f.path.display(),
                reason = why,
                "not read as a log any more: its size does not match what it holds; replace it with a regular log file"
            );
            Some(Done::Ignored)
        }
        Err(e) => {
            sink.read_error(f.kind(), &f.path, &e);
            if !f.error_logged {
                if f.may_warn(now) {
                    tracing::warn!(path = %f.path.display(), error = %e, "cannot read log file: will retry");
                }
                f.error_logged = true;
            }
            f.close();
            None
        }
    }
}

/// Closes the `n` open files read least recently; returns how many were closed.
pub(super) fn close_least_recent<K>(files: &mut BTreeMap<K, FollowedFile>, n: usize) -> usize {
    let mut open: Vec<&mut FollowedFile> = files.values_mut().filter(|f| f.is_open()).collect();
    let n = n.min(open.len());
    if n < open.len() {
        open.select_nth_unstable_by_key(n, |f| f.active);
    }
    for f in &mut open[..n] {
        f.close();
    }
    n
}
