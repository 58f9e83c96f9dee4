//! Counting XMail's spool: the messages waiting, being retried and frozen, which the SMAIL
//! log never shows (it only records successful hand-offs).
//!
//! XMail keeps its queue under `MailRoot/spool`: `local/` (files dropped for LMAIL), `temp/`,
//! and a two-level tree of numbered directories, each with `mess/` (messages queued),
//! `rsnd/` (messages waiting for another attempt after a temporary failure), `froz/` (frozen
//! messages: delivery or filtering failed for good and XMail kept the file; unless
//! `RemoveSpoolErrors` is set, that is every permanent failure, next to its bounce) and
//! helper directories (`info/`, `slog/`, `lock/`, `temp/`, `cust/`) that are not messages.
//! The messages of `mess/` and `rsnd/` are also aged (see [`message_time`]): a queue whose
//! count is steady can still hold a message stuck for a day. A scan of 60 000 files lists
//! the directories and parses names; it only `stat`s a file whose name holds no time.
//! A scan can be slow on a large or remote spool, so it runs in its own thread, and a scan
//! that takes longer than the timeout is abandoned and counted.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

crate::label_enum! {
    /// The queues counted.
    pub enum Queue: "queue" {
        /// `spool/*/*/mess`: waiting for its first delivery attempt.
        Queued => "queued",
        /// `spool/*/*/rsnd`: waiting for a retry.
        Retry => "retry",
        /// `spool/*/*/froz`: frozen, waiting for the administrator.
        Frozen => "frozen",
        /// `spool/local`: dropped in by local programs, not yet taken in.
        Local => "local",
        /// `spool/temp`: being received.
        Temp => "temp",
    }
}

/// The queues whose messages are aged: the ones XMail is still trying to deliver.
pub const AGED_QUEUES: [Queue; 2] = [Queue::Queued, Queue::Retry];

/// The ages [`SpoolScan::older_than`] counts messages past, with their label values.
pub const AGES: [(&str, Duration); 4] = [
    ("15m", Duration::from_secs(15 * 60)),
    ("1h", Duration::from_secs(3600)),
    ("4h", Duration::from_secs(4 * 3600)),
    ("12h", Duration::from_secs(12 * 3600)),
];

/// Messages per queue, indexed like [`Queue::ALL`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SpoolCounts(pub [u64; Queue::COUNT]);

/// What one scan found: the counts, and how old the waiting messages are.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct SpoolScan {
    /// Messages per queue.
    pub counts: SpoolCounts,
    /// Per [`AGED_QUEUES`] entry, the age in seconds of its oldest message at the scan (0
    /// when the queue is empty; a message time in the future counts as age 0).
    pub oldest_age: [f64; AGED_QUEUES.len()],
    /// Per [`AGED_QUEUES`] entry and [`AGES`] entry, the messages older than that age.
    pub older_than: [[u64; AGES.len()]; AGED_QUEUES.len()],
}

/// When a message entered the spool.
///
/// XMail 1.2x names every spool file `<ms-epoch>.<…>` (1.27:
/// `<ms-epoch>.<thread hex>.<pid hex>.<seq hex>.<host>`, 1.26:
/// `<ms-epoch>.<thread dec>.<seq hex>.<host>`, and the older Nmail-era names that end in
/// `.eml` start the same way): the milliseconds since the epoch when the file was created
/// for the message. That name is the time the message entered the spool, and it survives
/// the moves between `mess/` and `rsnd/`, where the file's mtime changes with every
/// delivery attempt (XMail rewrites its header) and would make a message retried for a day
/// look young. So the name is used when its first dot-separated part is a plausible
/// millisecond time (between 2000 and 2200); only a name without one costs a `stat`, and
/// its mtime is used (`None` when even that fails, e.g. the file is gone: not aged).
pub fn message_time(dir: &Path, name: &std::ffi::OsStr) -> Option<SystemTime> {
    if let Some(t) = name.to_str().and_then(name_time) {
        return Some(t);
    }
    fs::metadata(dir.join(name)).and_then(|m| m.modified()).ok()
}

/// The time at the start of a spool file name (see [`message_time`]).
pub fn name_time(name: &str) -> Option<SystemTime> {
    let first = name.split('.').next()?;
    if first.len() < 12 || first.len() > 14 || !first.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ms: u64 = first.parse().ok()?;
    // 2000-01-01 to 2200-01-01: anything else is not a time (a sequence number, say).
    (946_684_800_000..7_258_118_400_000)
        .contains(&ms)
        .then(|| UNIX_EPOCH + Duration::from_millis(ms))
}

/// Ages of the messages of one queue, relative to the wall clock at the scan.
#[derive(Clone, Copy, Debug, Default)]
struct Ages {
    oldest: Option<SystemTime>,
    older_than: [u64; AGES.len()],
}

impl Ages {
    fn add(&mut self, t: SystemTime, now: SystemTime) {
        if self.oldest.is_none_or(|o| t < o) {
            self.oldest = Some(t);
        }
        let age = now.duration_since(t).unwrap_or_default();
        for (n, (_, limit)) in self.older_than.iter_mut().zip(AGES) {
            if age > limit {
                *n += 1;
            }
        }
    }

    fn oldest_age(&self, now: SystemTime) -> f64 {
        self.oldest
            .map(|o| now.duration_since(o).unwrap_or_default().as_secs_f64())
            .unwrap_or(0.0)
    }
}

/// Counts the regular files of `dir`; with `ages`, also ages them (see [`message_time`]).
fn count_files(dir: &Path, mut ages: Option<(&mut Ages, SystemTime)>) -> io::Result<u64> {
    match fs::read_dir(dir) {
        Ok(entries) => {
            let mut n = 0;
            for e in entries {
                let e = e?;
                if !e.file_type()?.is_file() {
                    continue;
                }
                n += 1;
                if let Some((ages, now)) = ages.as_mut()
                    && let Some(t) = message_time(dir, &e.file_name())
                {
                    ages.add(t, *now);
                }
            }
            Ok(n)
        }
        // A bucket without this subdirectory (yet) holds no such message.
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(0),
        Err(e) => Err(e),
    }
}

/// Counts the spool under `root` (e.g. `/var/MailRoot/spool`), ages relative to `now`.
pub fn scan(root: &Path, now: SystemTime) -> io::Result<SpoolScan> {
    let mut c = SpoolCounts::default();
    let mut ages = [Ages::default(); AGED_QUEUES.len()];
    c.0[Queue::Local.index()] = count_files(&root.join("local"), None)?;
    c.0[Queue::Temp.index()] = count_files(&root.join("temp"), None)?;
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
            let [queued, retry] = &mut ages;
            c.0[Queue::Queued.index()] += count_files(&dir.join("mess"), Some((queued, now)))?;
            c.0[Queue::Retry.index()] += count_files(&dir.join("rsnd"), Some((retry, now)))?;
            c.0[Queue::Frozen.index()] += count_files(&dir.join("froz"), None)?;
        }
    }
    Ok(SpoolScan {
        counts: c,
        oldest_age: ages.map(|a| a.oldest_age(now)),
        older_than: ages.map(|a| a.older_than),
    })
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
    pending: Option<mpsc::Receiver<io::Result<SpoolScan>>>,
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

    /// One scan: the counts and ages, or why there are none (including a timeout). Ages are
    /// relative to the wall clock when the scan started.
    pub fn scan(&mut self) -> io::Result<SpoolScan> {
        let rx = match self.pending.take() {
            Some(rx) => rx,
            None => {
                let (tx, rx) = mpsc::channel();
                let root = self.root.clone();
                thread::Builder::new()
                    .name("spool-scan".into())
                    .spawn(move || {
                        let _ = tx.send(scan(&root, SystemTime::now()));
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
        let now = SystemTime::now();
        assert_eq!(scan(r, now).unwrap().counts, SpoolCounts([2, 1, 1, 1, 2]));
        let mut t = TimedScanner::new(r.to_path_buf(), Duration::from_secs(5));
        assert_eq!(t.scan().unwrap().counts, SpoolCounts([2, 1, 1, 1, 2]));
        assert!(scan(&r.join("missing"), now).is_err());
    }

    fn ms(t: SystemTime) -> u128 {
        t.duration_since(UNIX_EPOCH).unwrap().as_millis()
    }

    #[test]
    fn names_carry_the_time() {
        let t = |n| name_time(n).map(ms);
        // 1.27, 1.26 and the old .eml names.
        assert_eq!(
            t("1795709102311.7f3a9c1fb700.1f4c.3a31.mail"),
            Some(1_795_709_102_311)
        );
        assert_eq!(
            t("1795709102311.140163.3a31.mail.example.co.kr"),
            Some(1_795_709_102_311)
        );
        assert_eq!(
            t("1176750679692.2799696816.3f99e.eml"),
            Some(1_176_750_679_692)
        );
        for n in [
            "msg.eml",
            "17957.a.b",
            "99999999999999.x",
            "000000000000.x",
            "",
            "1795709102311x.y",
        ] {
            assert_eq!(t(n), None, "{n}");
        }
    }

    #[test]
    fn ages_from_names_else_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let r = dir.path();
        let now = SystemTime::now();
        let name = |age: u64| format!("{}.7f3a.1f4c.3a31.mail", ms(now - Duration::from_secs(age)));
        // queued: 10 min, 2 h, 5 h and a name without a time whose mtime is 13 h ago.
        touch(&r.join("0/0/mess").join(name(600)));
        touch(&r.join("0/0/mess").join(name(2 * 3600)));
        touch(&r.join("3/7/mess").join(name(5 * 3600)));
        let old = r.join("3/7/mess/old-style.eml");
        touch(&old);
        fs::File::options()
            .write(true)
            .open(&old)
            .unwrap()
            .set_modified(now - Duration::from_secs(13 * 3600))
            .unwrap();
        // A time-named file's mtime does not matter: it was just rewritten by a retry.
        touch(&r.join("0/0/rsnd").join(name(20 * 60)));
        // A message time in the future (clock skew) is age 0.
        touch(
            &r.join("0/0/rsnd")
                .join(name(0).replace(&ms(now).to_string(), &(ms(now) + 60_000).to_string())),
        );
        // Frozen and local messages are not aged.
        touch(&r.join("0/0/froz").join(name(100 * 3600)));
        touch(&r.join("local").join(name(100 * 3600)));
        let s = scan(r, now).unwrap();
        assert_eq!(s.counts, SpoolCounts([4, 2, 1, 1, 0]));
        assert!((s.oldest_age[0] - 13.0 * 3600.0).abs() < 2.0, "{s:?}");
        assert!((s.oldest_age[1] - 1200.0).abs() < 2.0, "{s:?}");
        assert_eq!(s.older_than, [[3, 3, 2, 1], [1, 0, 0, 0]]);
    }

    #[test]
    fn an_empty_queue_is_age_zero() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("0/0/mess")).unwrap();
        let s = scan(dir.path(), SystemTime::now()).unwrap();
        assert_eq!(s.counts, SpoolCounts::default());
        assert_eq!(s.oldest_age, [0.0, 0.0]);
        assert_eq!(s.older_than, [[0; 4]; 2]);
    }
}
