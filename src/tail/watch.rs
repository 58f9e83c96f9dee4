//! Filesystem notifications (inotify, kqueue, ReadDirectoryChangesW via `notify`) that wake
//! the tail loop as soon as a log is written. They only wake it: what changed is found by
//! the next [`super::Tailer::poll_once`], and the poll timer covers filesystems that send
//! nothing (NFS, some container mounts).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc::SyncSender;

use notify::{EventKind, RecommendedWatcher, RecursiveMode, Watcher};

use super::file::FileId;

/// Watches directories and sends a wake-up (coalesced: at most one pending) on any change.
pub struct DirWatcher {
    watcher: Option<RecommendedWatcher>,
    /// Directories watched now, with the identity they had when the watch was added (a
    /// directory removed and created again needs a new watch).
    watched: HashMap<PathBuf, FileId>,
}

impl DirWatcher {
    /// A watcher that wakes `wake`. When the platform cannot watch (e.g. out of inotify
    /// instances), this says so once and the caller relies on its poll timer.
    pub fn new(wake: SyncSender<()>) -> DirWatcher {
        let handler = move |res: notify::Result<notify::Event>| {
            if let Ok(ev) = res {
                // Reads (ours included) must not wake the loop that did them.
                if matches!(ev.kind, EventKind::Access(_)) {
                    return;
                }
            }
            let _ = wake.try_send(());
        };
        let watcher = match notify::recommended_watcher(handler) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "filesystem notifications unavailable: polling only");
                None
            }
        };
        DirWatcher {
            watcher,
            watched: HashMap::new(),
        }
    }

    /// Watches each readable directory not yet watched (or re-created since), and forgets
    /// those that can no longer be read.
    pub fn sync<'a>(&mut self, dirs: impl Iterator<Item = (&'a Path, bool)>) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        for (dir, readable) in dirs {
            let id = std::fs::metadata(dir)
                .ok()
                .and_then(|m| FileId::at(dir, &m).ok());
            let current = self.watched.get(dir).copied();
            match (readable, id) {
                (true, Some(id)) if current == Some(id) => {}
                (true, Some(id)) => {
                    if current.is_some() {
                        let _ = watcher.unwatch(dir);
                    }
                    match watcher.watch(dir, RecursiveMode::NonRecursive) {
                        Ok(()) => {
                            self.watched.insert(dir.to_path_buf(), id);
                        }
                        Err(e) => {
                            tracing::debug!(dir = %dir.display(), error = %e, "cannot watch directory: polling it");
                        }
                    }
                }
                _ => {
                    if self.watched.remove(dir).is_some() {
                        let _ = watcher.unwatch(dir);
                    }
                }
            }
        }
    }

    /// Is `dir` watched?
    pub fn is_watching(&self, dir: &Path) -> bool {
        self.watched.contains_key(dir)
    }
}
