//! The followed directories: each one's health (listed, missing, unreadable), when it must
//! be listed again, and the warnings about entries in it that are not logs.
//!
//! Owns looking at a directory; which files to follow from a listing, and from where, is
//! the tailer's ([`super::Tailer`]); what a log file is named is
//! [`crate::read::discover`]'s.

use std::collections::BTreeSet;
use std::io;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use super::identity::FileId;
use crate::parse::LogKind;
use crate::read::Sink;
use crate::read::discover::{self, Found, KindSet};

/// Even when the directory's modification time says nothing changed, list it this often
/// (some filesystems keep that time in whole seconds, or not at all).
pub const FULL_RESCAN_INTERVAL: Duration = Duration::from_secs(30);

/// A directory to follow and the kinds of log it holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirSpec {
    /// The directory.
    pub path: PathBuf,
    /// The kinds of log read from it.
    pub kinds: KindSet,
}

/// Whether a directory could be read at the last look.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum DirHealth {
    /// Not looked at yet.
    Unknown,
    /// Listed fine.
    Readable,
    /// Does not exist (nor a directory above it): nothing to read, not an error.
    Missing,
    /// Exists but could not be listed (no permission, I/O error, not a directory, ...).
    Unreadable,
}

/// A followed directory: what it holds and how it looked at the last look.
pub(super) struct WatchedDir {
    pub(super) spec: DirSpec,
    pub(super) health: DirHealth,
    /// Identity, modification and status change times at the last listing (`None`: list it
    /// at the next look).
    pub(super) listed: Option<(FileId, Option<SystemTime>, (i64, i64))>,
    last_full_scan: Option<Instant>,
    /// Log-named entries that are not regular files, already warned about.
    odd_warned: BTreeSet<String>,
}

/// A fresh listing of a directory ([`WatchedDir::look`]).
pub(super) struct Listed {
    /// The log files it holds, in name order.
    pub(super) found: Vec<Found>,
    /// The first successful listing: its files are the ones there at start-up.
    pub(super) first: bool,
    /// The directory came back after it was unreadable or gone: files under old names may
    /// be other files now.
    pub(super) revalidate: bool,
}

impl WatchedDir {
    pub(super) fn new(spec: DirSpec) -> WatchedDir {
        WatchedDir {
            spec,
            health: DirHealth::Unknown,
            listed: None,
            last_full_scan: None,
            odd_warned: BTreeSet::new(),
        }
    }

    /// Lists the directory if it may have changed since the last listing (its identity,
    /// modification or status change time differ, or [`FULL_RESCAN_INTERVAL`] passed).
    /// A directory that does not exist is a state (said once); one that cannot be listed is
    /// a read error of each of its kinds.
    pub(super) fn look(&mut self, sink: &mut impl Sink, now: Instant) -> Option<Listed> {
        let meta = match std::fs::metadata(&self.spec.path) {
            Ok(m) if m.is_dir() => m,
            Ok(_) => {
                let e = io::Error::other("not a directory");
                return self.failed(sink, &e);
            }
            Err(e) if does_not_exist(&e) => return self.missing(),
            Err(e) => return self.failed(sink, &e),
        };
        let id = match FileId::at(&self.spec.path, &meta) {
            Ok(id) => id,
            Err(e) if does_not_exist(&e) => return self.missing(),
            Err(e) => return self.failed(sink, &e),
        };
        let stamp = (id, meta.modified().ok(), changed(&meta));
        let due = self
            .last_full_scan
            .is_none_or(|t| now.duration_since(t) >= FULL_RESCAN_INTERVAL);
        if self.listed == Some(stamp) && !due && self.health == DirHealth::Readable {
            return None;
        }
        let listing = match discover::scan_all(&self.spec.path, self.spec.kinds) {
            Ok(listing) => listing,
            // Removed between the two calls.
            Err(e) if does_not_exist(&e) => return self.missing(),
            Err(e) => return self.failed(sink, &e),
        };
        if self.health != DirHealth::Readable {
            tracing::info!(dir = %self.spec.path.display(), files = listing.found.len(), "reading log directory");
        }
        for odd in &listing.odd {
            if !self.odd_warned.contains(&odd.name) {
                tracing::warn!(
                    path = %self.spec.path.join(&odd.name).display(),
                    kind = odd.what,
                    "named like a log file but not a regular file: not read; remove it or make it a regular file"
                );
                self.odd_warned.insert(odd.name.clone());
            }
        }
        self.odd_warned.retain(|name| {
            listing
                .odd
                .binary_search_by(|o| o.name.as_str().cmp(name))
                .is_ok()
        });
        // Only files there at start-up use the start position (or the previous run's
        // checkpoints): a directory that could not be read at start-up holds files that
        // are new since then.
        let first = self.health == DirHealth::Unknown;
        let revalidate = matches!(self.health, DirHealth::Unreadable | DirHealth::Missing);
        self.health = DirHealth::Readable;
        self.listed = Some(stamp);
        self.last_full_scan = Some(now);
        Some(Listed {
            found: listing.found,
            first,
            revalidate,
        })
    }
    /// The directory does not exist: said once per change, no read error.
    fn missing(&mut self) -> Option<Listed> {
        let path = self.spec.path.display();
        match self.health {
            DirHealth::Missing => {}
            // The optional webmail directory is missing on every host without Nmail.
            DirHealth::Unknown if !self.spec.kinds.contains(LogKind::Smtp) => tracing::info!(
                dir = %path,
                "log directory does not exist: nothing to read; it is followed if it appears"
            ),
            DirHealth::Unknown => tracing::warn!(
                dir = %path,
                "log directory does not exist: nothing to read; it is followed if it appears (check --xmail.log-dir)"
            ),
            DirHealth::Readable | DirHealth::Unreadable => tracing::info!(
                dir = %path,
                "log directory no longer exists: it is followed again if it comes back"
            ),
        }
        self.health = DirHealth::Missing;
        self.listed = None;
        None
    }

    /// The directory exists but cannot be listed: said once per change, a read error of each
    /// of its kinds at every look.
    fn failed(&mut self, sink: &mut impl Sink, e: &io::Error) -> Option<Listed> {
        if self.health != DirHealth::Unreadable {
            tracing::warn!(
                dir = %self.spec.path.display(),
                error = %e,
                "cannot read log directory: will retry; check the path and that this user may read it"
            );
        }
        self.health = DirHealth::Unreadable;
        self.listed = None;
        for kind in self.spec.kinds.iter() {
            sink.read_error(kind, &self.spec.path, e);
        }
        None
    }
}

/// A directory's status change time: a chmod or chown changes it, not the modification
/// time, and a directory that became unreadable must be listed (and fail) at once.
#[cfg(unix)]
fn changed(meta: &std::fs::Metadata) -> (i64, i64) {
    use std::os::unix::fs::MetadataExt;
    (meta.ctime(), meta.ctime_nsec())
}

/// Elsewhere the modification time and the periodic full listing have to do.
#[cfg(not(unix))]
fn changed(_meta: &std::fs::Metadata) -> (i64, i64) {
    (0, 0)
}

/// The error says the directory (or one above it) does not exist.
pub(super) fn does_not_exist(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::NotFound | io::ErrorKind::NotADirectory
    )
}
