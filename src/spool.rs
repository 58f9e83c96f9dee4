//! Counting XMail's spool: the messages waiting, being retried and frozen, which the SMAIL
//! log never shows (it only records successful hand-offs).
//!
//! XMail keeps its queue under `MailRoot/spool`: `local/` (files dropped for LMAIL), `temp/`,
//! and a two-level tree of numbered directories, each with `mess/` (messages queued),
//! `rsnd/` (messages waiting for another attempt after a temporary failure), `froz/` (frozen
//! messages: delivery or filtering failed for good and XMail kept the file; unless
//! `RemoveSpoolErrors` is set, that is every permanent failure, next to its bounce) and
//! helper directories (`info/`, `slog/`, `lock/`, `temp/`, `cust/`) that are not messages.
//! A scan can be slow on a large or remote spool, so it runs in its own thread, and a scan
//! that takes longer than the timeout is abandoned and counted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// The queues counted, in label order.
pub const QUEUES: [&str; 5] = ["queued", "retry", "frozen", "local", "temp"];

/// Messages per queue, indexed like [`QUEUES`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpoolCounts(pub [u64; 5]);

fn count_files(dir: &Path) -> io::Result<u64> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            let mut n = 0;
            for e in entries {
                if e?.file_type()?.is_file() {
                    n += 1;
                }
            }
            Ok(n)
        }
        // A bucket without this subdirectory (yet) holds no such message.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// Counts the spool under `root` (e.g. `/var/MailRoot/spool`).
pub fn scan(root: &Path) -> io::Result<SpoolCounts> {
    let mut c = SpoolCounts::default();
    c.0[3] = count_files(&root.join("local"))?;
    c.0[4] = count_files(&root.join("temp"))?;
    for l1 in fs::read_dir(root)? {
        let l1 = l1?;
        if !is_bucket(&l1) {
            continue;
        }
        for l2 in fs::read_dir(l1.path())? {
            let l2 = l2?;
            if !is_bucket(&l2) {
                continue;
            }
            let dir = l2.path();
            c.0[0] += count_files(&dir.join("mess"))?;
            c.0[1] += count_files(&dir.join("rsnd"))?;
            c.0[2] += count_files(&dir.join("froz"))?;
        }
    }
    Ok(c)
}

/// The numbered directories of the two-level tree.
fn is_bucket(e: &fs::DirEntry) -> bool {
    e.file_name()
        .to_str()
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        && e.file_type().is_ok_and(|t| t.is_dir())
}

/// Scans in a worker thread and gives up waiting after `timeout`. While an abandoned scan
/// is still running, no new one starts.
pub struct TimedScanner {
    root: PathBuf,
    timeout: Duration,
    pending: Option<mpsc::Receiver<io::Result<SpoolCounts>>>,
}

impl TimedScanner {
    /// A scanner of `root`.
    pub fn new(root: PathBuf, timeout: Duration) -> TimedScanner {
        TimedScanner {
            root,
            timeout,
            pending: None,
        }
    }

    /// One scan: the counts, or why there are none (including a timeout).
    pub fn scan(&mut self) -> io::Result<SpoolCounts> {
        let rx = match self.pending.take() {
            Some(rx) => rx,
            None => {
                let (tx, rx) = mpsc::channel();
                let root = self.root.clone();
                thread::Builder::new()
                    .name("spool-scan".into())
                    .spawn(move || {
                        let _ = tx.send(scan(&root));
                    })?;
                rx
            }
        };
        match rx.recv_timeout(self.timeout) {
            Ok(r) => r,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                self.pending = Some(rx);
                Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("spool scan took longer than {:?}", self.timeout),
                ))
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                Err(io::Error::other("spool scan thread ended"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(p: &Path) {
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, b"x").unwrap();
    }

    #[test]
    fn counts_each_queue() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        touch(&r.join("local/drop1"));
        touch(&r.join("temp/t1"));
        touch(&r.join("temp/t2"));
        touch(&r.join("0/0/mess/1795705273412.a.b.c.mail"));
        touch(&r.join("0/1/mess/1795705273413.a.b.c.mail"));
        touch(&r.join("7/3/rsnd/1795705273414.a.b.c.mail"));
        touch(&r.join("7/3/froz/1795705273415.a.b.c.mail"));
        touch(&r.join("7/3/slog/1795705273415.a.b.c.mail"));
        touch(&r.join("7/3/info/1795705273414.a.b.c.mail"));
        touch(&r.join("notabucket/0/mess/x"));
        fs::create_dir_all(r.join("7/3/mess/subdir")).unwrap();
        assert_eq!(scan(r).unwrap(), SpoolCounts([2, 1, 1, 1, 2]));
        let mut t = TimedScanner::new(r.to_path_buf(), Duration::from_secs(5));
        assert_eq!(t.scan().unwrap(), SpoolCounts([2, 1, 1, 1, 2]));
        assert!(scan(&r.join("missing")).is_err());
    }
}
