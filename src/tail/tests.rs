//! Tailer tests: each file action is followed by one synchronous pass, with a simulated
//! clock, so nothing here sleeps.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::file::{FileState, StartAt};
use super::{DRAIN_GRACE, DirSpec, Tailer};
use crate::parse::{LogKind, ParseCtx};
use crate::read::Sink;
use crate::read::discover::KindSet;

/// Records everything the tailer reports.
#[derive(Default, Debug)]
struct Recording {
    lines: Vec<(String, String)>,
    too_long: Vec<(String, u64)>,
    consumed: [u64; LogKind::COUNT],
    opened: Vec<(String, bool)>,
    truncated: Vec<String>,
    read_errors: [u64; LogKind::COUNT],
    lag: BTreeMap<LogKind, u64>,
}

/// After `path` was deleted while the tailer holds it open: can it still be opened by its
/// name? Under Wine it can (and no pending deletion is reported, so nothing tells the
/// tailer): says why the test stops there and returns `true`. Windows refuses such opens
/// until the last handle closes, or frees the name at once (POSIX semantics, NTFS on
/// Windows 10 1903 and later), as Unix does.
#[cfg(windows)]
fn deleted_but_still_openable(path: &Path) -> bool {
    let open = fs::File::open(path).is_ok();
    if open {
        eprintln!(
            "SKIPPED: {} was deleted, yet opens by its name: Wine's deletion semantics, \
             neither Windows' nor Unix'",
            path.display()
        );
    }
    open
}

#[cfg(not(windows))]
fn deleted_but_still_openable(_path: &Path) -> bool {
    false
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

impl Sink for Recording {
    fn line(&mut self, _ctx: &mut ParseCtx, path: &Path, line: &[u8]) {
        self.lines
            .push((name(path), String::from_utf8_lossy(line).into_owned()));
    }
    fn line_too_long(&mut self, _ctx: &mut ParseCtx, path: &Path, len: u64) {
        self.too_long.push((name(path), len));
    }
    fn consumed(&mut self, kind: LogKind, bytes: u64) {
        self.consumed[kind.index()] += bytes;
    }
    fn file_opened(&mut self, _kind: LogKind, path: &Path, rotation: bool) {
        self.opened.push((name(path), rotation));
    }
    fn truncated(&mut self, _kind: LogKind, path: &Path) {
        self.truncated.push(name(path));
    }
    fn read_error(&mut self, kind: LogKind, _path: &Path, _err: &std::io::Error) {
        self.read_errors[kind.index()] += 1;
    }
    fn lag(&mut self, kind: LogKind, bytes: u64) {
        self.lag.insert(kind, bytes);
    }
}

impl Recording {
    fn take_lines(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.lines)
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    tailer: Tailer,
    rec: Recording,
    now: Instant,
}

impl Fixture {
    fn new(start: StartAt, setup: impl FnOnce(&Path)) -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("logs");
        fs::create_dir(&dir).unwrap();
        setup(&dir);
        let tailer = Tailer::new(
            vec![DirSpec {
                path: dir.clone(),
                kinds: KindSet::XMAIL,
            }],
            start,
        );
        Fixture {
            _tmp: tmp,
            dir,
            tailer,
            rec: Recording::default(),
            now: Instant::now(),
        }
    }

    fn append(&self, file: &str, bytes: &str) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(file))
            .unwrap();
        f.write_all(bytes.as_bytes()).unwrap();
    }

    fn poll(&mut self) -> Vec<(String, String)> {
        self.tailer.poll_once(&mut self.rec, self.now);
        self.rec.take_lines()
    }

    fn advance(&mut self, d: Duration) {
        self.now += d;
    }

    fn state(&self, file: &str) -> Option<FileState> {
        self.tailer
            .files()
            .find(|f| name(&f.path) == file)
            .map(|f| f.state())
    }
}

fn l(file: &str, line: &str) -> (String, String) {
    (file.to_string(), line.to_string())
}

#[test]
fn starts_at_the_end_and_counts_new_lines_only() {
    let mut fx = Fixture::new(StartAt::End, |d| {
        fs::write(d.join("smtp-202611270000"), "old 1\nold 2\n").unwrap()
    });
    assert_eq!(fx.poll(), vec![]);
    assert!(fx.tailer.ready());
    fx.append("smtp-202611270000", "new 1\n");
    assert_eq!(fx.poll(), vec![l("smtp-202611270000", "new 1")]);
    assert_eq!(fx.rec.consumed[LogKind::Smtp.index()], 6);
    assert_eq!(
        fx.rec.opened,
        vec![("smtp-202611270000".to_string(), false)]
    );
}

#[test]
fn starting_mid_line_skips_that_line() {
    let mut fx = Fixture::new(StartAt::End, |d| {
        fs::write(d.join("smtp-202611270000"), "whole\nhalf a li").unwrap()
    });
    assert_eq!(fx.poll(), vec![]);
    fx.append("smtp-202611270000", "ne\nnext\n");
    assert_eq!(fx.poll(), vec![l("smtp-202611270000", "next")]);
    assert_eq!(fx.rec.consumed[LogKind::Smtp.index()], 5);
}

#[test]
fn from_the_beginning_reads_existing_lines() {
    let mut fx = Fixture::new(StartAt::Beginning, |d| {
        fs::write(d.join("smtp-202611270000"), "a\nb\n").unwrap();
        fs::write(d.join("smail-202611270000"), "c\n").unwrap();
    });
    let mut got = fx.poll();
    got.sort();
    assert_eq!(
        got,
        vec![
            l("smail-202611270000", "c"),
            l("smtp-202611270000", "a"),
            l("smtp-202611270000", "b")
        ]
    );
}

#[test]
fn a_line_in_two_pieces_counts_once_when_complete() {
    let mut fx = Fixture::new(StartAt::End, |d| {
        fs::write(d.join("smtp-202611270000"), "").unwrap()
    });
    fx.poll();
    fx.append("smtp-202611270000", "first ha");
    assert_eq!(fx.poll(), vec![]);
    assert_eq!(fx.rec.lag[&LogKind::Smtp], 8);
    fx.append("smtp-202611270000", "lf\r\n");
    assert_eq!(fx.poll(), vec![l("smtp-202611270000", "first half\r")]);
    assert_eq!(fx.rec.lag[&LogKind::Smtp], 0);
}

#[test]
fn rotation_keeps_the_old_file_for_late_lines_then_closes_it() {
    let mut fx = Fixture::new(StartAt::End, |d| {
        fs::write(d.join("smtp-202611270000"), "x\n").unwrap()
    });
    fx.poll();
    fx.append("smtp-202611280000", "day 2 line 1\n");
    assert_eq!(fx.poll(), vec![l("smtp-202611280000", "day 2 line 1")]);
    assert_eq!(
        fx.rec.opened.last(),
        Some(&("smtp-202611280000".to_string(), true))
    );
    assert!(matches!(
        fx.state("smtp-202611270000"),
        Some(FileState::Draining { .. })
    ));
    // A late line lands in the old file just after the boundary.
    fx.advance(Duration::from_secs(5));
    fx.append("smtp-202611270000", "late line\n");
    fx.append("smtp-202611280000", "day 2 line 2\n");
    assert_eq!(
        fx.poll(),
        vec![
            l("smtp-202611270000", "late line"),
            l("smtp-202611280000", "day 2 line 2")
        ]
    );
    fx.advance(DRAIN_GRACE);
    fx.poll();
    assert_eq!(fx.state("smtp-202611270000"), Some(FileState::Drained));
    assert_eq!(fx.tailer.open_files(), 1);
    assert_eq!(fx.state("smtp-202611280000"), Some(FileState::Following));
}

#[test]
fn truncation_restarts_at_zero() {
    let mut fx = Fixture::new(StartAt::Beginning, |d| {
        fs::write(d.join("smail-202611270000"), "one\ntwo\n").unwrap()
    });
    assert_eq!(fx.poll().len(), 2);
    fs::write(fx.dir.join("smail-202611270000"), "3\n").unwrap();
    assert_eq!(fx.poll(), vec![l("smail-202611270000", "3")]);
    assert_eq!(fx.rec.truncated, vec!["smail-202611270000".to_string()]);
}

#[test]
fn a_deleted_file_is_dropped_and_a_replaced_one_read_from_the_start() {
    let mut fx = Fixture::new(StartAt::End, |d| {
        fs::write(d.join("smtp-202611270000"), "a\n").unwrap()
    });
    fx.poll();
    fs::remove_file(fx.dir.join("smtp-202611270000")).unwrap();
    if deleted_but_still_openable(&fx.dir.join("smtp-202611270000")) {
        return;
    }
    fx.poll();
    assert_eq!(fx.tailer.files().count(), 0);
    // Same name, new file: everything in it is new.
    fx.append("smtp-202611270000", "b\n");
    let mut got = fx.poll();
    got.extend(fx.poll());
    assert_eq!(got, vec![l("smtp-202611270000", "b")]);
    assert_eq!(
        fx.rec.opened.last(),
        Some(&("smtp-202611270000".to_string(), true))
    );
}

#[test]
fn a_file_replaced_under_the_same_name_is_read_from_the_start() {
    let mut fx = Fixture::new(StartAt::End, |d| {
        fs::write(d.join("smtp-202611270000"), "a\n").unwrap()
    });
    fx.poll();
    let tmp = fx.dir.join("new");
    fs::write(&tmp, "b\nc\n").unwrap();
    match fs::rename(&tmp, fx.dir.join("smtp-202611270000")) {
        Ok(()) => {}
        #[cfg(windows)]
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            eprintln!(
                "SKIPPED: replacing a file another handle holds open is refused here ({e}): \
                 no POSIX rename semantics (Wine; Windows before 10 1809)"
            );
            return;
        }
        Err(e) => panic!("rename: {e}"),
    }
    let mut got = fx.poll();
    got.extend(fx.poll());
    assert_eq!(
        got,
        vec![l("smtp-202611270000", "b"), l("smtp-202611270000", "c")]
    );
}

#[test]
fn a_missing_directory_is_a_state_not_an_error() {
    let mut fx = Fixture::new(StartAt::End, |_| {});
    fs::remove_dir(&fx.dir).unwrap();
    assert_eq!(fx.tailer.log_dirs().next().unwrap().2, None);
    assert!(!fx.tailer.ready());
    fx.poll();
    fx.poll();
    // Nothing to wait for, nothing failed.
    assert!(fx.tailer.ready());
    assert_eq!(fx.rec.read_errors, [0; LogKind::COUNT]);
    assert_eq!(fx.tailer.log_dirs().next().unwrap().2, Some(false));
    fs::create_dir(&fx.dir).unwrap();
    fx.append("smtp-202611270000", "first\n");
    // Files in a directory that appears later are new: read from their beginning.
    assert_eq!(fx.poll(), vec![l("smtp-202611270000", "first")]);
    assert!(fx.tailer.ready());
    assert_eq!(fx.tailer.log_dirs().next().unwrap().2, Some(true));
    // It goes away and comes back: still no errors, and a file under the old name is new.
    if let Err(e) = fs::remove_dir_all(&fx.dir) {
        // Windows without POSIX deletion: the deleted file the tailer holds open keeps the
        // directory until the tailer sees it deleted and closes it, at its next pass.
        assert!(
            cfg!(windows) && e.kind() == std::io::ErrorKind::DirectoryNotEmpty,
            "remove_dir_all: {e}"
        );
        if deleted_but_still_openable(&fx.dir.join("smtp-202611270000")) {
            return;
        }
        fx.poll();
        fs::remove_dir_all(&fx.dir).unwrap();
    }
    fx.poll();
    assert_eq!(fx.tailer.log_dirs().next().unwrap().2, Some(false));
    assert!(fx.tailer.ready());
    fs::create_dir(&fx.dir).unwrap();
    fx.append("smtp-202611270000", "again\n");
    assert_eq!(fx.poll(), vec![l("smtp-202611270000", "again")]);
    assert_eq!(fx.rec.read_errors, [0; LogKind::COUNT]);
}

#[test]
fn a_path_that_is_not_a_directory_is_a_read_error() {
    let mut fx = Fixture::new(StartAt::End, |_| {});
    fs::remove_dir(&fx.dir).unwrap();
    fs::write(&fx.dir, "").unwrap();
    fx.poll();
    assert!(!fx.tailer.ready());
    assert_eq!(fx.rec.read_errors[LogKind::Smtp.index()], 1);
    assert_eq!(fx.tailer.log_dirs().next().unwrap().2, Some(false));
}

/// A directory that exists but cannot be listed is an error at every pass, and not ready.
/// Skipped where permissions do not apply (running as root): then the directory can be
/// listed whatever its mode, which the test checks for itself.
#[cfg(unix)]
#[test]
fn an_unreadable_directory_counts_read_errors() {
    use std::os::unix::fs::PermissionsExt;
    let mut fx = Fixture::new(StartAt::End, |_| {});
    fs::set_permissions(&fx.dir, fs::Permissions::from_mode(0o000)).unwrap();
    if fs::read_dir(&fx.dir).is_ok() {
        fs::set_permissions(&fx.dir, fs::Permissions::from_mode(0o755)).unwrap();
        eprintln!("skipped: permissions do not apply to this user (root?)");
        return;
    }
    fx.poll();
    assert!(!fx.tailer.ready());
    assert_eq!(fx.rec.read_errors[LogKind::Smtp.index()], 1);
    assert_eq!(fx.rec.read_errors[LogKind::Smail.index()], 1);
    fx.poll();
    assert_eq!(fx.rec.read_errors[LogKind::Smtp.index()], 2);
    assert_eq!(fx.tailer.log_dirs().next().unwrap().2, Some(false));
    fs::set_permissions(&fx.dir, fs::Permissions::from_mode(0o755)).unwrap();
    fx.append("smtp-202611270000", "first\n");
    assert_eq!(fx.poll(), vec![l("smtp-202611270000", "first")]);
    assert!(fx.tailer.ready());
}

#[test]
fn old_files_at_start_up_are_not_kept_open() {
    let mut fx = Fixture::new(StartAt::End, |d| {
        for day in 1..=20 {
            let p = d.join(format!("smtp-202611{day:02}0000"));
            fs::write(&p, "x\n").unwrap();
            let old = std::time::SystemTime::now() - Duration::from_secs(86_400);
            fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
    });
    fx.poll();
    assert_eq!(fx.tailer.files().count(), 20);
    assert_eq!(fx.tailer.open_files(), 1);
    assert_eq!(fx.state("smtp-202611200000"), Some(FileState::Following));
    assert_eq!(fx.state("smtp-202611010000"), Some(FileState::Drained));
}

#[test]
fn old_files_read_from_the_beginning_are_closed_once_read() {
    let mut fx = Fixture::new(StartAt::Beginning, |d| {
        for day in 1..=3 {
            let p = d.join(format!("smtp-202611{day:02}0000"));
            fs::write(&p, format!("day {day}\n")).unwrap();
            let old = std::time::SystemTime::now() - Duration::from_secs(86_400);
            fs::File::options()
                .write(true)
                .open(&p)
                .unwrap()
                .set_modified(old)
                .unwrap();
        }
    });
    assert_eq!(
        fx.poll(),
        vec![
            l("smtp-202611010000", "day 1"),
            l("smtp-202611020000", "day 2"),
            l("smtp-202611030000", "day 3")
        ]
    );
    fx.poll();
    assert_eq!(fx.tailer.open_files(), 1);
}

#[test]
fn over_long_lines_are_reported_not_buffered() {
    let mut fx = Fixture::new(StartAt::End, |d| {
        fs::write(d.join("smtp-202611270000"), "").unwrap()
    });
    fx.poll();
    let long = "y".repeat(crate::read::lines::MAX_LINE_BYTES + 10);
    fx.append("smtp-202611270000", &long);
    assert_eq!(fx.poll(), vec![]);
    fx.append("smtp-202611270000", "\nok\n");
    assert_eq!(fx.poll(), vec![l("smtp-202611270000", "ok")]);
    assert_eq!(
        fx.rec.too_long,
        vec![("smtp-202611270000".to_string(), long.len() as u64)]
    );
}

#[test]
fn other_files_in_the_directory_are_ignored() {
    let mut fx = Fixture::new(StartAt::Beginning, |d| {
        fs::write(d.join("sendmail-202611270000"), "p\n").unwrap();
        fs::write(d.join("smtp-202611270000.gz"), "z\n").unwrap();
        fs::write(
            d.join("error-20261127.txt"),
            "webmail, but not in a webmail dir\n",
        )
        .unwrap();
    });
    assert_eq!(fx.poll(), vec![]);
    assert_eq!(fx.tailer.files().count(), 0);
}

mod checkpoints {
    use super::*;
    use crate::tail::checkpoint::{Shared, State};

    fn tailer(dir: &Path, start: StartAt, previous: Option<State>) -> (Tailer, Shared) {
        let shared = Shared::default();
        let t = Tailer::new(
            vec![DirSpec {
                path: dir.to_path_buf(),
                kinds: KindSet::XMAIL,
            }],
            start,
        )
        .with_checkpoints(shared.clone(), previous);
        (t, shared)
    }

    fn run(t: &mut Tailer, now: Instant) -> Vec<(String, String)> {
        let mut rec = Recording::default();
        t.poll_once(&mut rec, now);
        rec.lines
    }

    fn old(p: &Path) {
        let t = std::time::SystemTime::now() - Duration::from_secs(86_400);
        fs::File::options()
            .write(true)
            .open(p)
            .unwrap()
            .set_modified(t)
            .unwrap();
    }

    #[test]
    fn a_restart_resumes_at_the_checkpoint() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::write(dir.join("smtp-202611270000"), "before start\n").unwrap();
        let now = Instant::now();
        let (mut t, shared) = tailer(dir, StartAt::End, None);
        assert_eq!(run(&mut t, now), vec![]);
        append(dir, "smtp-202611270000", "one\ntwo\npart");
        assert_eq!(run(&mut t, now).len(), 2);
        let checkpoint = shared.lock().clone();
        // Lines after the checkpoint are counted again by the next process.
        append(dir, "smtp-202611270000", "ial\n");
        assert_eq!(run(&mut t, now), vec![l("smtp-202611270000", "partial")]);
        drop(t);
        append(dir, "smtp-202611270000", "after\n");
        fs::write(dir.join("smtp-202611280000"), "new file\n").unwrap();
        let (mut t2, _) = tailer(dir, StartAt::End, Some(checkpoint));
        assert_eq!(
            run(&mut t2, now),
            vec![
                l("smtp-202611270000", "partial"),
                l("smtp-202611270000", "after"),
                l("smtp-202611280000", "new file")
            ]
        );
    }

    #[test]
    fn files_changed_while_down_are_read_from_the_start() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::write(dir.join("smtp-202611270000"), "a\n").unwrap();
        fs::write(dir.join("smail-202611270000"), "b\n").unwrap();
        let now = Instant::now();
        let (mut t, shared) = tailer(dir, StartAt::Beginning, None);
        assert_eq!(run(&mut t, now).len(), 2);
        let checkpoint = shared.lock().clone();
        drop(t);
        // Replaced by another file (another inode) ...
        fs::write(dir.join("x"), "c\n").unwrap();
        fs::rename(dir.join("x"), dir.join("smtp-202611270000")).unwrap();
        // ... and rewritten in place with other content (same inode, other first bytes).
        fs::write(dir.join("smail-202611270000"), "d\ne\n").unwrap();
        let (mut t2, _) = tailer(dir, StartAt::End, Some(checkpoint));
        let mut got = run(&mut t2, now);
        got.sort();
        assert_eq!(
            got,
            vec![
                l("smail-202611270000", "d"),
                l("smail-202611270000", "e"),
                l("smtp-202611270000", "c")
            ]
        );
    }

    #[test]
    fn drained_files_are_not_read_again_and_unknown_ones_are_new() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for day in 1..=3 {
            let p = dir.join(format!("smtp-202611{day:02}0000"));
            fs::write(&p, format!("day {day}\n")).unwrap();
            old(&p);
        }
        let now = Instant::now();
        let (mut t, shared) = tailer(dir, StartAt::Beginning, None);
        assert_eq!(run(&mut t, now).len(), 3);
        run(&mut t, now);
        let checkpoint = shared.lock().clone();
        assert_eq!(checkpoint.files.len(), 1, "{checkpoint:?}");
        assert_eq!(
            checkpoint.drained.values().next().map(String::as_str),
            Some("smtp-202611020000")
        );
        drop(t);
        fs::write(dir.join("smtp-202611040000"), "day 4\n").unwrap();
        let (mut t2, _) = tailer(dir, StartAt::End, Some(checkpoint));
        assert_eq!(run(&mut t2, now), vec![l("smtp-202611040000", "day 4")]);
        // Day 3 was read to its end and is idle: closed at once.
        assert_eq!(t2.open_files(), 1);
    }

    #[test]
    fn a_checkpoint_past_the_end_means_truncated() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::write(dir.join("smtp-202611270000"), "aaaa\nbbbb\n").unwrap();
        let now = Instant::now();
        let (mut t, shared) = tailer(dir, StartAt::Beginning, None);
        assert_eq!(run(&mut t, now).len(), 2);
        let checkpoint = shared.lock().clone();
        drop(t);
        fs::File::options()
            .write(true)
            .open(dir.join("smtp-202611270000"))
            .unwrap()
            .set_len(5)
            .unwrap();
        let (mut t2, _) = tailer(dir, StartAt::End, Some(checkpoint));
        assert_eq!(run(&mut t2, now), vec![l("smtp-202611270000", "aaaa")]);
    }

    #[test]
    fn offsets_follow_the_lines_counted() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        fs::write(dir.join("smtp-202611270000"), "").unwrap();
        let now = Instant::now();
        let (mut t, shared) = tailer(dir, StartAt::End, None);
        run(&mut t, now);
        append(dir, "smtp-202611270000", "12345\n678");
        run(&mut t, now);
        let st = shared.lock().clone();
        let cp = &st.files[&dir.join("smtp-202611270000")];
        assert_eq!(cp.offset, 6);
        assert_eq!(cp.fingerprint.len, 9);
    }

    fn append(dir: &Path, file: &str, s: &str) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join(file))
            .unwrap();
        f.write_all(s.as_bytes()).unwrap();
    }
}

/// Polls until a pass reads nothing more, at most 10 times.
fn poll_all(fx: &mut Fixture) -> Vec<(String, String)> {
    let mut got = Vec::new();
    for _ in 0..10 {
        let pass = fx.tailer.poll_once(&mut fx.rec, fx.now);
        got.extend(fx.rec.take_lines());
        if pass.bytes_read == 0 && !pass.more {
            break;
        }
    }
    got
}

#[test]
fn at_most_the_cap_is_open_and_closed_files_are_read_when_they_change() {
    let names: Vec<String> = (0..7).map(|m| format!("smtp-2026120414{m:02}")).collect();
    let mut fx = Fixture::new(StartAt::Beginning, |d| {
        for n in &names {
            fs::write(d.join(n), format!("{n} 1\n")).unwrap();
        }
    });
    fx.tailer.cap = 3;
    let mut got = fx.poll();
    assert!(fx.tailer.open_files() <= 3, "{}", fx.tailer.open_files());
    got.sort();
    let want: Vec<_> = names.iter().map(|n| l(n, &format!("{n} 1"))).collect();
    assert_eq!(got, want);
    // Nothing changed: nothing is read, and closed files are not opened again.
    assert_eq!(fx.poll(), vec![]);
    // A late line to each file (most are closed): each is opened in turn, read once.
    for n in &names {
        fx.append(n, &format!("{n} 2\n"));
    }
    let mut got = poll_all(&mut fx);
    assert!(fx.tailer.open_files() <= 3);
    got.sort();
    let want: Vec<_> = names.iter().map(|n| l(n, &format!("{n} 2"))).collect();
    assert_eq!(got, want);
    // The files just written stay open over the idle ones: a write to the newest file
    // and to the oldest, then only the oldest again: no file is read twice.
    fx.append(&names[0], "again\n");
    assert_eq!(poll_all(&mut fx), vec![l(&names[0], "again")]);
    assert!(
        fx.tailer
            .files()
            .filter(|f| f.is_open())
            .any(|f| name(&f.path) == names[0])
    );
    assert_eq!(fx.rec.truncated, Vec::<String>::new());
    assert_eq!(fx.rec.read_errors, [0; LogKind::COUNT]);
}

#[test]
fn a_closed_file_is_checked_before_it_is_read_on() {
    let mut fx = Fixture::new(StartAt::Beginning, |d| {
        fs::write(d.join("smtp-202612041400"), "a 1\n").unwrap();
        fs::write(d.join("smtp-202612041401"), "b 1\n").unwrap();
        fs::write(d.join("smtp-202612041402"), "c 1\n").unwrap();
    });
    fx.tailer.cap = 1;
    assert_eq!(poll_all(&mut fx).len(), 3);
    let closed = |fx: &Fixture, n: &str| {
        fx.tailer
            .files()
            .any(|f| name(&f.path) == n && !f.is_open())
    };
    assert!(closed(&fx, "smtp-202612041400"));
    assert!(closed(&fx, "smtp-202612041401"));
    // Replaced by another file (another inode: the old one still exists elsewhere) while
    // closed: a new file, read from its start, counted as a rotation.
    fs::rename(fx.dir.join("smtp-202612041400"), fx.dir.join("old")).unwrap();
    fs::write(fx.dir.join("smtp-202612041400"), "new a 1\nnew a 2\n").unwrap();
    // Rewritten in place while closed (same inode, other first bytes, longer): read
    // again from the start, as a truncation.
    fs::write(fx.dir.join("smtp-202612041401"), "other b 1\nother b 2\n").unwrap();
    let mut got = poll_all(&mut fx);
    got.sort();
    assert_eq!(
        got,
        vec![
            l("smtp-202612041400", "new a 1"),
            l("smtp-202612041400", "new a 2"),
            l("smtp-202612041401", "other b 1"),
            l("smtp-202612041401", "other b 2"),
        ]
    );
    assert_eq!(fx.rec.truncated, vec!["smtp-202612041401".to_string()]);
    assert!(
        fx.rec
            .opened
            .contains(&("smtp-202612041400".to_string(), true))
    );
    assert!(fx.tailer.open_files() <= 1);
}

#[test]
fn a_deleted_file_with_unread_bytes_is_read_to_its_end() {
    let mut fx = Fixture::new(StartAt::Beginning, |_| {});
    fx.poll();
    // More than one pass's budget: one over-long line, then a short one.
    let big = super::READ_BUDGET as usize + (4 << 20);
    let mut data = Vec::with_capacity(big + 16);
    data.extend_from_slice(b"first\n");
    data.resize(big, b'x');
    data.extend_from_slice(b"\nlast\n");
    fs::write(fx.dir.join("smtp-202612041400"), &data).unwrap();
    let pass = fx.tailer.poll_once(&mut fx.rec, fx.now);
    assert!(pass.more);
    assert_eq!(fx.rec.take_lines(), vec![l("smtp-202612041400", "first")]);
    fs::remove_file(fx.dir.join("smtp-202612041400")).unwrap();
    if deleted_but_still_openable(&fx.dir.join("smtp-202612041400")) {
        return;
    }
    let got = poll_all(&mut fx);
    assert_eq!(got, vec![l("smtp-202612041400", "last")]);
    assert_eq!(fx.rec.too_long.len(), 1);
    assert_eq!(fx.tailer.files().count(), 0);
    assert_eq!(fx.tailer.open_files(), 0);
}

#[cfg(target_os = "linux")]
#[test]
fn a_file_whose_size_lies_is_flagged_and_not_read() {
    let mut fx = Fixture::new(StartAt::Beginning, |d| {
        std::os::unix::fs::symlink("/proc/self/status", d.join("smtp-202612041400")).unwrap();
        fs::write(d.join("smail-202612041400"), "real\n").unwrap();
    });
    let mut got = Vec::new();
    for _ in 0..5 {
        got.extend(fx.poll());
    }
    assert_eq!(got, vec![l("smail-202612041400", "real")]);
    assert_eq!(fx.state("smtp-202612041400"), Some(FileState::Ignored));
    assert_eq!(fx.rec.truncated, Vec::<String>::new());
    assert_eq!(fx.tailer.open_files(), 1);
    fx.append("smail-202612041400", "more\n");
    assert_eq!(fx.poll(), vec![l("smail-202612041400", "more")]);
}

#[test]
fn a_file_shorter_at_every_read_is_flagged() {
    let mut fx = Fixture::new(StartAt::Beginning, |d| {
        fs::write(d.join("smtp-202612041400"), "aaaa\nbbbb\n").unwrap();
    });
    assert_eq!(fx.poll().len(), 2);
    // Once, then growing again: a truncation, read again from the start.
    fs::write(fx.dir.join("smtp-202612041400"), "cccc\n").unwrap();
    assert_eq!(fx.poll(), vec![l("smtp-202612041400", "cccc")]);
    fx.append("smtp-202612041400", "dddd\n");
    assert_eq!(fx.poll(), vec![l("smtp-202612041400", "dddd")]);
    // Shorter at every read from now on.
    for content in ["eee\n", "f\n", "", ""] {
        fs::write(fx.dir.join("smtp-202612041400"), content).unwrap();
        fx.poll();
    }
    assert_eq!(fx.state("smtp-202612041400"), Some(FileState::Ignored));
    // The first truncation, then the two before it was flagged.
    assert_eq!(fx.rec.truncated.len(), 3, "{:?}", fx.rec.truncated);
    assert_eq!(fx.tailer.open_files(), 0);
}
