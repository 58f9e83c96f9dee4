//! What survives a restart: for each followed file, its identity and the offset up to which
//! its lines are in the counters that were last served to Prometheus.
//!
//! The tailer, and only it (its per-file step for offsets, [`super::Tailer`] for files
//! found, drained and forgotten), updates the shared [`State`] under the same lock as the
//! metrics it changes, so a scrape that takes the lock sees counters and offsets that match.
//! [`Saver`] takes that snapshot with the scrape's metrics; the HTTP side writes it to disk (temporary file,
//! fsync, rename) only once the scrape's response was written to the socket, so a checkpoint
//! becomes the resume point only after the counts it stands for left the exporter. After a
//! crash, the next process starts its counters from zero and its files from those offsets.
//! Nothing is lost: a scrape that was saved was sent. A crash after a response was sent and
//! before its snapshot reached the disk resumes from the previous saved scrape, so the lines
//! of one scrape interval can be counted twice; that is the price of never losing one.
//!
//! Files that were read to the end and closed are not listed one by one (a `logs/` directory
//! holds years of them): per directory and kind, the newest drained file name is kept, and
//! files named up to it count as read.
//!
//! The newest event time per log (`xmail_exporter_log_last_event_timestamp_seconds`, as
//! served by the same scrape) is kept too, and restored at start-up: otherwise a restart
//! during an XMail outage would reset it to 0, and the stale-log alerts, which skip 0, would
//! go quiet exactly when they matter.
//!
//! The format is version `"1"`; the event times were added to it as an optional field, so a
//! file written before has none and loads, and an older exporter ignores them.
//!
//! Paths are JSON strings. A path that is not Unicode (a Unix directory name with bytes that
//! are not UTF-8) is stored as text with U+FFFD where those bytes are, for people, and
//! exactly in an optional `path_raw` / `dir_raw` field beside it (Unix: `{"unix_hex":
//! "2f74..."}`, the bytes in hex; Windows: `{"windows_utf16": [47, ...]}`), which is what is
//! read back. Files without those fields (every Unicode path, and every older file) are
//! unchanged.

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus::proto::MetricFamily;
use serde::{Deserialize, Serialize};

pub use super::identity::{FINGERPRINT_BYTES, FileId, Fingerprint};
use crate::metrics::exporter::LAST_EVENT_TIMESTAMP;
use crate::parse::LogKind;

/// One followed file as of a checkpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Device and inode (on Windows, the creation time).
    pub id: FileId,
    /// Its first bytes.
    pub fingerprint: Fingerprint,
    /// Every line before this offset is counted.
    pub offset: u64,
}

/// The newest drained file of a kind in a directory.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct DrainedUpTo {
    dir: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    dir_raw: Option<RawPath>,
    log: String,
    name: String,
}

/// The exact form of a path that is not Unicode.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawPath {
    /// A Unix path's bytes, in lower-case hex.
    UnixHex(String),
    /// A Windows path's UTF-16 code units.
    WindowsUtf16(Vec<u16>),
}

/// A path as stored: its text, and its exact form when the text is not exact.
fn store_path(p: &Path) -> (String, Option<RawPath>) {
    match p.to_str() {
        Some(text) => (text.to_string(), None),
        None => (p.to_string_lossy().into_owned(), Some(raw_path(p))),
    }
}

#[cfg(unix)]
fn raw_path(p: &Path) -> RawPath {
    use std::fmt::Write as _;
    use std::os::unix::ffi::OsStrExt;
    let mut hex = String::with_capacity(p.as_os_str().len() * 2);
    for b in p.as_os_str().as_bytes() {
        let _ = write!(hex, "{b:02x}");
    }
    RawPath::UnixHex(hex)
}

#[cfg(windows)]
fn raw_path(p: &Path) -> RawPath {
    use std::os::windows::ffi::OsStrExt;
    RawPath::WindowsUtf16(p.as_os_str().encode_wide().collect())
}

#[cfg(not(any(unix, windows)))]
fn raw_path(p: &Path) -> RawPath {
    RawPath::UnixHex(String::new())
}

/// The path stored as `text` and `raw`. A raw form from another system is not usable here:
/// the text stands in for it.
fn load_path(text: String, raw: Option<RawPath>) -> Result<PathBuf, String> {
    match raw {
        None => Ok(PathBuf::from(text)),
        #[cfg(unix)]
        Some(RawPath::UnixHex(hex)) => {
            use std::os::unix::ffi::OsStringExt;
            let digits = hex.as_bytes();
            if digits.len() % 2 != 0 {
                return Err(format!("bad hex path {hex:?}"));
            }
            let mut bytes = Vec::with_capacity(digits.len() / 2);
            for pair in digits.chunks(2) {
                let pair = std::str::from_utf8(pair).unwrap_or("");
                let b =
                    u8::from_str_radix(pair, 16).map_err(|_| format!("bad hex path {hex:?}"))?;
                bytes.push(b);
            }
            Ok(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
        }
        #[cfg(windows)]
        Some(RawPath::WindowsUtf16(units)) => {
            use std::os::windows::ffi::OsStringExt;
            Ok(PathBuf::from(std::ffi::OsString::from_wide(&units)))
        }
        #[allow(unreachable_patterns)]
        Some(_) => Ok(PathBuf::from(text)),
    }
}

/// Checkpoints of every followed file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct State {
    /// Files still followed, by path.
    pub files: BTreeMap<PathBuf, Checkpoint>,
    /// Per directory and kind, the newest file name that was read to its end and closed.
    pub drained: BTreeMap<(PathBuf, LogKind), String>,
    /// Per log, the newest event time served (Unix seconds), for logs that had one.
    pub last_event: BTreeMap<LogKind, i64>,
}

impl State {
    /// Records that `path` is followed from `checkpoint` on.
    pub fn follow(&mut self, path: &Path, checkpoint: Checkpoint) {
        self.files.insert(path.to_path_buf(), checkpoint);
    }

    /// Moves a followed file's checkpoint to `checkpoint` (its lines up to the offset were
    /// handed to the metrics under the same lock). A file no longer followed is left out.
    pub fn advance(&mut self, path: &Path, checkpoint: Checkpoint) {
        if let Some(cp) = self.files.get_mut(path) {
            *cp = checkpoint;
        }
    }

    /// Forgets a file that is no longer followed and was not drained (gone, replaced, or
    /// not a log).
    pub fn forget(&mut self, path: &Path) {
        self.files.remove(path);
    }

    /// Records that `name` in `dir` was read to the end and closed.
    pub fn drained(&mut self, dir: &Path, kind: LogKind, name: &str, path: &Path) {
        self.files.remove(path);
        let e = self.drained.entry((dir.to_path_buf(), kind)).or_default();
        if name > e.as_str() {
            *e = name.to_string();
        }
    }

    /// Takes the newest event times from gathered metrics (never moving one back).
    pub fn take_last_events(&mut self, families: &[prometheus::proto::MetricFamily]) {
        let Some(family) = families.iter().find(|f| f.name() == LAST_EVENT_TIMESTAMP) else {
            return;
        };
        for m in family.get_metric() {
            let Some(kind) = m
                .get_label()
                .iter()
                .find(|l| l.name() == "log")
                .and_then(|l| LogKind::from_label(l.value()))
            else {
                continue;
            };
            let t = m.get_gauge().value();
            if t >= 1.0 && t < i64::MAX as f64 {
                let e = self.last_event.entry(kind).or_insert(0);
                *e = (*e).max(t as i64);
            }
        }
    }

    /// Was `name` read to its end by an earlier run?
    pub fn was_drained(&self, dir: &Path, kind: LogKind, name: &str) -> bool {
        self.drained
            .get(&(dir.to_path_buf(), kind))
            .is_some_and(|upto| name <= upto.as_str())
    }
}

/// The state file's format, tagged by version so a later change can still read it.
#[derive(Serialize, Deserialize)]
#[serde(tag = "version")]
enum OnDisk {
    #[serde(rename = "1")]
    V1 {
        files: Vec<FileEntry>,
        drained: Vec<DrainedUpTo>,
        /// Added later in version 1: absent from older files.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        last_events: Vec<LastEvent>,
    },
}

/// The newest event time of a log.
#[derive(Serialize, Deserialize)]
struct LastEvent {
    log: String,
    unix_seconds: i64,
}

#[derive(Serialize, Deserialize)]
struct FileEntry {
    path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    path_raw: Option<RawPath>,
    #[serde(flatten)]
    checkpoint: Checkpoint,
}

/// The checkpoints shared by the tail thread (which updates them with the metrics) and the
/// HTTP side (which saves them with each scrape).
#[derive(Clone, Debug, Default)]
pub struct Shared(Arc<Mutex<State>>);

impl Shared {
    /// Shares `state`.
    pub fn new(state: State) -> Shared {
        Shared(Arc::new(Mutex::new(state)))
    }

    /// Locks the state. While the guard lives, the tail thread changes neither offsets nor
    /// metrics. A panic elsewhere while holding it leaves the data usable, so a poisoned
    /// lock is taken over.
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Saves the checkpoints with the scrapes that were sent: the metrics and the offsets are
/// taken together under the tail lock ([`Saver::gather`]), and the offsets are written
/// ([`Saver::commit`]) once the scrape's response was written to the socket. Until then the
/// previous saved scrape stays the resume point, so a crash at any moment loses no line; a
/// crash between a response and its save counts the lines of that one scrape interval twice.
///
/// Each snapshot carries a sequence number taken under the tail lock, and a commit never
/// replaces a newer snapshot on disk with an older one (two scrapes can finish in either
/// order). When a save fails, the next scrape saves its own snapshot before it is answered,
/// and is answered with an error if that fails too: metrics are not served while the state
/// file cannot be written, or a restart would count again everything since the last save.
pub struct Saver {
    path: PathBuf,
    shared: Shared,
    /// Serialises writes; what is on disk.
    written: Mutex<Written>,
    /// The next snapshot's sequence number (taken under the tail lock).
    next_seq: AtomicU64,
    /// The last save failed: the next scrape saves before it is answered.
    failed: AtomicBool,
}

/// What the state file holds.
struct Written {
    /// The state last written (an unchanged state is not written again).
    state: Option<State>,
    /// The sequence number of the snapshot it stands for.
    seq: u64,
}

/// A scrape's snapshot, to be saved once its response was sent ([`Saver::commit`]).
#[derive(Debug)]
pub struct Pending {
    seq: u64,
    state: State,
}

impl Saver {
    /// A saver of `shared` into `path`.
    pub fn new(path: PathBuf, shared: Shared) -> Saver {
        Saver {
            path,
            shared,
            written: Mutex::new(Written {
                state: None,
                seq: 0,
            }),
            next_seq: AtomicU64::new(1),
            failed: AtomicBool::new(false),
        }
    }

    /// The state file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The metrics and the offsets, taken together under the tail lock.
    fn snapshot(&self, registry: &prometheus::Registry) -> (Vec<MetricFamily>, Pending) {
        let mut st = self.shared.lock();
        let families = registry.gather();
        st.take_last_events(&families);
        let seq = self.next_seq.fetch_add(1, Ordering::Relaxed);
        (
            families,
            Pending {
                seq,
                state: st.clone(),
            },
        )
    }

    /// Takes the metrics and the offsets together. Normally the offsets come back as a
    /// [`Pending`] snapshot for [`Saver::commit`] once the response was sent (`Some`). After a
    /// failed save, the snapshot is saved here, before the response (`None`); if that fails,
    /// the error comes back and the metrics must not be served. Can block on file I/O: call
    /// it off the async threads.
    pub fn gather(
        &self,
        registry: &prometheus::Registry,
    ) -> io::Result<(Vec<MetricFamily>, Option<Pending>)> {
        if !self.failed.load(Ordering::Acquire) {
            let (families, pending) = self.snapshot(registry);
            return Ok((families, Some(pending)));
        }
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        let (families, pending) = self.snapshot(registry);
        self.write(&mut written, &pending)?;
        Ok((families, None))
    }

    /// Saves a snapshot whose response was sent, unless it or a newer one is on disk
    /// already (several responses can share a snapshot). Blocks on file I/O: call it off the
    /// async threads. On error the previous resume point stays, and the next scrape saves
    /// before it is answered.
    pub fn commit(&self, pending: &Pending) -> io::Result<()> {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        if pending.seq <= written.seq {
            return Ok(());
        }
        self.write(&mut written, pending)
    }

    fn write(&self, written: &mut Written, pending: &Pending) -> io::Result<()> {
        if written.state.as_ref() != Some(&pending.state) {
            if let Err(e) = save(&self.path, &pending.state) {
                self.failed.store(true, Ordering::Release);
                return Err(e);
            }
            written.state = Some(pending.state.clone());
        }
        written.seq = pending.seq;
        self.failed.store(false, Ordering::Release);
        Ok(())
    }

    /// Saves the current state (at start-up, before anything is counted).
    pub fn save_now(&self) -> io::Result<()> {
        let mut written = self.written.lock().unwrap_or_else(|e| e.into_inner());
        let snapshot = self.shared.lock().clone();
        save(&self.path, &snapshot)?;
        written.state = Some(snapshot);
        Ok(())
    }
}

#[cfg(test)]
mod saver_tests {
    use super::*;

    fn saver(dir: &Path) -> (Saver, Shared, prometheus::Registry) {
        let shared = Shared::default();
        let s = Saver::new(dir.join("state.json"), shared.clone());
        s.save_now().unwrap();
        (s, shared, prometheus::Registry::new())
    }

    fn advance(shared: &Shared, drained: &str) {
        shared
            .lock()
            .drained
            .insert((PathBuf::from("/logs"), LogKind::Smtp), drained.to_string());
    }

    fn on_disk(s: &Saver) -> Option<String> {
        load(s.path())
            .unwrap()
            .and_then(|st| st.drained.values().next().cloned())
    }

    /// A snapshot is on disk only once committed; an older one never replaces a newer one.
    #[test]
    fn commits_go_forward_only() {
        let dir = tempfile::tempdir().unwrap();
        let (s, shared, r) = saver(dir.path());
        advance(&shared, "smtp-1");
        let (_, older) = s.gather(&r).unwrap();
        advance(&shared, "smtp-2");
        let (_, newer) = s.gather(&r).unwrap();
        assert_eq!(on_disk(&s), None, "saved before its response was sent");
        s.commit(&newer.unwrap()).unwrap();
        assert_eq!(on_disk(&s).as_deref(), Some("smtp-2"));
        s.commit(&older.unwrap()).unwrap();
        assert_eq!(on_disk(&s).as_deref(), Some("smtp-2"));
    }

    /// After a failed save the next scrape saves before it is answered, or fails.
    #[test]
    fn a_failed_save_makes_the_next_scrape_save_first() {
        let dir = tempfile::tempdir().unwrap();
        let (s, shared, r) = saver(dir.path());
        // A directory where the temporary file goes: no write can succeed, even as root.
        fs::create_dir(tmp_path(s.path())).unwrap();
        advance(&shared, "smtp-1");
        let (_, p) = s.gather(&r).unwrap();
        assert!(s.commit(&p.unwrap()).is_err());
        advance(&shared, "smtp-2");
        assert!(
            s.gather(&r).is_err(),
            "served while the state cannot be saved"
        );
        fs::remove_dir(tmp_path(s.path())).unwrap();
        let (_, p) = s.gather(&r).unwrap();
        assert!(
            p.is_none(),
            "saved before the response: nothing left to commit"
        );
        assert_eq!(on_disk(&s).as_deref(), Some("smtp-2"));
        advance(&shared, "smtp-3");
        let (_, p) = s.gather(&r).unwrap();
        assert!(p.is_some(), "back to saving after the response");
    }
}

/// Writes `state` to `path` atomically: a temporary file beside it, fsync, rename, and (on
/// Unix) fsync of the directory, so after a crash the file is the old or the new state.
pub fn save(path: &Path, state: &State) -> io::Result<()> {
    let disk = OnDisk::V1 {
        files: state
            .files
            .iter()
            .map(|(p, c)| {
                let (path, path_raw) = store_path(p);
                FileEntry {
                    path,
                    path_raw,
                    checkpoint: c.clone(),
                }
            })
            .collect(),
        drained: state
            .drained
            .iter()
            .map(|((dir, kind), name)| {
                let (dir, dir_raw) = store_path(dir);
                DrainedUpTo {
                    dir,
                    dir_raw,
                    log: kind.as_str().to_string(),
                    name: name.clone(),
                }
            })
            .collect(),
        last_events: state
            .last_event
            .iter()
            .map(|(kind, t)| LastEvent {
                log: kind.as_str().to_string(),
                unix_seconds: *t,
            })
            .collect(),
    };
    let mut text = serde_json::to_vec_pretty(&disk).map_err(|e| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("cannot encode the state: {e}"),
        )
    })?;
    text.push(b'\n');
    let tmp = tmp_path(path);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(&text)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    #[cfg(unix)]
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

fn tmp_path(path: &Path) -> PathBuf {
    let mut name = path.file_name().unwrap_or_default().to_os_string();
    name.push(".tmp");
    path.with_file_name(name)
}

/// Reads a state file. `Ok(None)` when there is none yet; an error names the file and says
/// what to do.
pub fn load(path: &Path) -> Result<Option<State>, String> {
    let text = match fs::read(path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("cannot read state file {}: {e}", path.display())),
    };
    let disk: OnDisk = serde_json::from_slice(&text).map_err(|e| {
        format!("state file {} is damaged ({e}): starting without it; it is rewritten at the next scrape", path.display())
    })?;
    let OnDisk::V1 {
        files,
        drained,
        last_events,
    } = disk;
    let mut state = State::default();
    let damaged = |e: String| {
        format!(
            "state file {} is damaged ({e}): starting without it; it is rewritten at the next scrape",
            path.display()
        )
    };
    for e in files {
        let p = load_path(e.path, e.path_raw).map_err(damaged)?;
        state.files.insert(p, e.checkpoint);
    }
    for d in drained {
        let dir = load_path(d.dir, d.dir_raw).map_err(damaged)?;
        let Some(kind) = LogKind::from_label(&d.log) else {
            return Err(format!(
                "state file {} names an unknown log {:?}: starting without it",
                path.display(),
                d.log
            ));
        };
        state.drained.insert((dir, kind), d.name);
    }
    // A log this version does not know is left out: its time matters to no metric here.
    for e in last_events {
        if let Some(kind) = LogKind::from_label(&e.log) {
            state.last_event.insert(kind, e.unix_seconds);
        }
    }
    Ok(Some(state))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom};

    fn sample() -> State {
        let mut s = State::default();
        s.files.insert(
            PathBuf::from("/var/MailRoot/logs/smtp-202611280000"),
            Checkpoint {
                id: FileId {
                    dev: 2049,
                    ino: 131_074,
                },
                fingerprint: Fingerprint {
                    len: 1024,
                    crc32: 305_419_896,
                },
                offset: 5321,
            },
        );
        s.drained.insert(
            (PathBuf::from("/var/MailRoot/logs"), LogKind::Smtp),
            "smtp-202611270000".into(),
        );
        s
    }

    /// The format is a contract with the next version: pin it.
    #[test]
    fn format_is_pinned() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        save(&p, &sample()).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        assert_eq!(
            text,
            r#"{
  "version": "1",
  "files": [
    {
      "path": "/var/MailRoot/logs/smtp-202611280000",
      "id": {
        "dev": 2049,
        "ino": 131074
      },
      "fingerprint": {
        "len": 1024,
        "crc32": 305419896
      },
      "offset": 5321
    }
  ],
  "drained": [
    {
      "dir": "/var/MailRoot/logs",
      "log": "smtp",
      "name": "smtp-202611270000"
    }
  ]
}
"#
        );
        assert_eq!(load(&p).unwrap(), Some(sample()));
        assert!(!tmp_path(&p).exists());
    }

    #[test]
    fn last_event_times_are_kept_and_optional() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        let mut s = sample();
        s.last_event.insert(LogKind::Smtp, 1_795_824_008);
        s.last_event.insert(LogKind::Webmail, 1_795_754_906);
        save(&p, &s).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        assert!(
            text.ends_with(
                r#"  "last_events": [
    {
      "log": "smtp",
      "unix_seconds": 1795824008
    },
    {
      "log": "webmail",
      "unix_seconds": 1795754906
    }
  ]
}
"#
            ),
            "{text}"
        );
        assert_eq!(load(&p).unwrap(), Some(s));
        // A file written before the field existed (see format_is_pinned) loads without it;
        // a log this version does not know is skipped.
        fs::write(
            &p,
            r#"{"version": "1", "files": [], "drained": [],
                "last_events": [{"log": "imap", "unix_seconds": 5}, {"log": "pop3", "unix_seconds": 7}]}"#,
        )
        .unwrap();
        let got = load(&p).unwrap().unwrap();
        assert_eq!(got.last_event, BTreeMap::from([(LogKind::Pop3, 7)]));
    }

    #[test]
    fn last_event_times_come_from_the_scrape() {
        let r = prometheus::Registry::new();
        let m = crate::metrics::exporter::ExporterMetrics::new(&r).unwrap();
        m.last_event[LogKind::Smail.index()].set(1_795_824_008.0);
        let mut s = State::default();
        s.last_event.insert(LogKind::Smtp, 1_795_000_000);
        s.last_event.insert(LogKind::Smail, 1_795_900_000);
        s.take_last_events(&r.gather());
        // 0 (no event yet) is not a time; an older value does not move one back.
        assert_eq!(
            s.last_event,
            BTreeMap::from([
                (LogKind::Smtp, 1_795_000_000),
                (LogKind::Smail, 1_795_900_000)
            ])
        );
        m.last_event[LogKind::Smail.index()].set(1_795_999_999.0);
        m.last_event[LogKind::Pop3.index()].set(1_795_000_001.0);
        s.take_last_events(&r.gather());
        assert_eq!(s.last_event[&LogKind::Smail], 1_795_999_999);
        assert_eq!(s.last_event[&LogKind::Pop3], 1_795_000_001);
    }

    /// A directory whose name is not UTF-8: stored exactly beside its text, read back.
    #[cfg(unix)]
    #[test]
    fn paths_that_are_not_unicode_are_kept_exactly() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        let logs = PathBuf::from(std::ffi::OsStr::from_bytes(b"/srv/l\xffgs"));
        let mut s = State::default();
        s.files.insert(
            logs.join("smtp-202612041400"),
            Checkpoint {
                id: FileId { dev: 1, ino: 2 },
                fingerprint: Fingerprint { len: 3, crc32: 4 },
                offset: 5,
            },
        );
        s.drained
            .insert((logs.clone(), LogKind::Smail), "smail-202612041300".into());
        save(&p, &s).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        assert!(
            text.contains(
                r#"      "path": "/srv/l�gs/smtp-202612041400",
      "path_raw": {
        "unix_hex": "2f7372762f6cff67732f736d74702d323032363132303431343030"
      },
      "id""#
            ),
            "{text}"
        );
        assert!(
            text.contains(
                r#"      "dir": "/srv/l�gs",
      "dir_raw": {
        "unix_hex": "2f7372762f6cff6773"
      },
      "log": "smail","#
            ),
            "{text}"
        );
        assert_eq!(load(&p).unwrap(), Some(s));
        // A damaged raw form is a damaged file, not a wrong path.
        fs::write(&p, text.replace("2f7372762f6cff6773", "2f7")).unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("damaged") && e.contains("2f7"), "{e}");
    }

    /// A directory whose name is not Unicode (a lone UTF-16 surrogate, which NTFS allows):
    /// stored exactly as UTF-16 code units beside its text, read back.
    #[cfg(windows)]
    #[test]
    fn paths_that_are_not_unicode_are_kept_exactly() {
        use std::os::windows::ffi::OsStringExt;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        // C:\l?gs, the ? a lone surrogate.
        let units = [67, 58, 92, 108, 0xD800, 103, 115];
        let logs = PathBuf::from(std::ffi::OsString::from_wide(&units));
        assert!(logs.to_str().is_none());
        let mut s = State::default();
        s.files.insert(
            logs.join("smtp-202612041400"),
            Checkpoint {
                id: FileId { dev: 1, ino: 2 },
                fingerprint: Fingerprint { len: 3, crc32: 4 },
                offset: 5,
            },
        );
        s.drained
            .insert((logs.clone(), LogKind::Smail), "smail-202612041300".into());
        save(&p, &s).unwrap();
        let text = fs::read_to_string(&p).unwrap();
        assert!(
            text.contains(r#""path": "C:\\l�gs\\smtp-202612041400","#),
            "{text}"
        );
        assert!(text.contains(r#""dir": "C:\\l�gs","#), "{text}");
        assert_eq!(text.matches(r#""windows_utf16": ["#).count(), 2, "{text}");
        assert!(text.contains("55296"), "the surrogate, exactly: {text}");
        assert_eq!(load(&p).unwrap(), Some(s));
        // A damaged raw form is a damaged file, not a wrong path.
        fs::write(&p, text.replace("55296", r#""x""#)).unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("damaged"), "{e}");
    }

    #[test]
    fn missing_damaged_and_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("state.json");
        assert_eq!(load(&p).unwrap(), None);
        fs::write(&p, b"{\"version\": \"1\", \"files\": [").unwrap();
        let e = load(&p).unwrap_err();
        assert!(e.contains("damaged") && e.contains("state.json"), "{e}");
        fs::write(&p, b"{\"version\": \"9\"}").unwrap();
        assert!(load(&p).is_err());
        fs::write(&p, b"\xff\xfe").unwrap();
        assert!(load(&p).is_err());
    }

    #[test]
    fn drained_watermarks() {
        let mut s = sample();
        let dir = Path::new("/var/MailRoot/logs");
        assert!(s.was_drained(dir, LogKind::Smtp, "smtp-202611260000"));
        assert!(s.was_drained(dir, LogKind::Smtp, "smtp-202611270000"));
        assert!(!s.was_drained(dir, LogKind::Smtp, "smtp-202611280000"));
        assert!(!s.was_drained(dir, LogKind::Smail, "smail-202611260000"));
        let p = dir.join("smtp-202611280000");
        s.drained(dir, LogKind::Smtp, "smtp-202611280000", &p);
        assert!(s.files.is_empty());
        assert!(s.was_drained(dir, LogKind::Smtp, "smtp-202611280000"));
        s.drained(dir, LogKind::Smtp, "smtp-202611010000", &p);
        assert!(s.was_drained(dir, LogKind::Smtp, "smtp-202611280000"));
    }

    #[test]
    fn fingerprints() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        fs::write(&p, b"first line\n").unwrap();
        let mut f = File::open(&p).unwrap();
        f.seek(SeekFrom::Start(3)).unwrap();
        let fp = Fingerprint::of(&mut f).unwrap();
        assert_eq!(f.stream_position().unwrap(), 3);
        assert_eq!(fp.len, 11);
        fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"more")
            .unwrap();
        assert!(fp.matches(&mut File::open(&p).unwrap()).unwrap());
        fs::write(&p, b"other line\n").unwrap();
        assert!(!fp.matches(&mut File::open(&p).unwrap()).unwrap());
        fs::write(&p, b"first").unwrap();
        assert!(!fp.matches(&mut File::open(&p).unwrap()).unwrap());
    }
}
