//! The tailer against a model of XMail's writer: time-named files per log kind, whole lines
//! and lines written in pieces, late lines into the previous file after a rotation, an
//! administrator truncating a file, and exporter restarts from the last checkpoint. Each
//! operation is applied to real files in a temporary directory; the tailer is stepped
//! synchronously on a simulated clock (no sleeps). At the end every complete line written
//! must have reached the sink exactly once, and no partial line at all.
//!
//! The model states the tailer's contract: a file keeps being read for the drain grace after
//! a newer file of its kind appears (late lines within it count); a truncation is seen at the
//! next pass when the file is shorter than what was read; a restart resumes every file at its
//! checkpoint and reads a file it does not know from its beginning.

use std::collections::BTreeMap;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;

use xmail_exporter::parse::{LogKind, ParseCtx};
use xmail_exporter::read::Sink;
use xmail_exporter::read::discover::KindSet;
use xmail_exporter::tail::checkpoint::{Shared, State};
use xmail_exporter::tail::file::StartAt;
use xmail_exporter::tail::{DirSpec, Tailer};

/// The simulated drain grace; each pass advances the clock by one second.
const GRACE: Duration = Duration::from_secs(6);

#[derive(Clone, Debug)]
enum Op {
    /// Whole lines appended to the current file of a kind.
    Lines(usize, u8),
    /// A line written in two pieces: the first now, the rest at the next write to that file.
    Piece(usize),
    /// A new time-named file for a kind; XMail writes there from now on.
    Rotate(usize),
    /// A line into the previous file of a kind (a thread that still held it).
    Late(usize),
    /// The current file of a kind emptied (by hand); the tailer sees it at its next pass.
    Truncate(usize),
    /// One pass of the tailer.
    Pass,
    /// The exporter restarts from the checkpoint of its last pass.
    Restart,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..2usize, 1..4u8).prop_map(|(k, n)| Op::Lines(k, n)),
        2 => (0..2usize).prop_map(Op::Piece),
        2 => (0..2usize).prop_map(Op::Rotate),
        2 => (0..2usize).prop_map(Op::Late),
        1 => (0..2usize).prop_map(Op::Truncate),
        5 => Just(Op::Pass),
        1 => Just(Op::Restart),
    ]
}

const KINDS: [(LogKind, &str); 2] = [(LogKind::Smtp, "smtp"), (LogKind::Smail, "smail")];

/// The lines the tailer handed over, per file name.
#[derive(Default)]
struct Received(BTreeMap<String, Vec<String>>);

impl Sink for Received {
    fn line(&mut self, _ctx: &mut ParseCtx, path: &Path, line: &[u8]) {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        self.0
            .entry(name)
            .or_default()
            .push(String::from_utf8_lossy(line).into_owned());
    }
    fn line_too_long(&mut self, _: &mut ParseCtx, path: &Path, len: u64) {
        panic!("{}: a line of {len} bytes is too long", path.display());
    }
    fn consumed(&mut self, _: LogKind, _: u64) {}
    fn file_opened(&mut self, _: LogKind, _: &Path, _: bool) {}
    fn truncated(&mut self, _: LogKind, _: &Path) {}
    fn read_error(&mut self, _: LogKind, path: &Path, err: &std::io::Error) {
        panic!("{}: {err}", path.display());
    }
    fn lag(&mut self, _: LogKind, _: u64) {}
}

/// One kind's files as XMail writes them.
#[derive(Default)]
struct Writer {
    /// File names, oldest first; the last is the current one.
    files: Vec<String>,
    /// The simulated time the current file appeared.
    rotated_at: Duration,
    /// The first piece of a line waiting for its rest, and which file it is in.
    piece: Option<(String, String)>,
}

struct World {
    dir: PathBuf,
    writers: [Writer; 2],
    minute: u32,
    seq: u32,
    /// Every complete line written, per file name (what must arrive).
    expected: BTreeMap<String, Vec<String>>,
    /// The simulated clock.
    now: Duration,
}

impl World {
    fn append(&self, name: &str, bytes: &[u8]) {
        let mut f = OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(name))
            .unwrap();
        f.write_all(bytes).unwrap();
    }

    fn new_file(&mut self, k: usize) {
        self.minute += 1;
        let name = format!("{}-20261127{:04}", KINDS[k].1, self.minute);
        self.append(&name, b"");
        let w = &mut self.writers[k];
        w.files.push(name);
        w.rotated_at = self.now;
    }

    fn next_line(&mut self, k: usize) -> String {
        self.seq += 1;
        format!("\"{}\"\t\"line {}\"", KINDS[k].1, self.seq)
    }

    /// Finishes a pending piece first (XMail's next write to that file completes it).
    fn finish_piece(&mut self, k: usize) {
        if let Some((name, line)) = self.writers[k].piece.take() {
            let cut = line.len() / 2;
            self.append(&name, format!("{}\n", &line[cut..]).as_bytes());
            self.expected.entry(name).or_default().push(line);
        }
    }

    fn write_line(&mut self, k: usize, name: String) {
        let line = self.next_line(k);
        self.append(&name, format!("{line}\n").as_bytes());
        self.expected.entry(name).or_default().push(line);
    }
}

struct Exporter {
    tailer: Tailer,
    shared: Shared,
}

fn start(dir: &Path, previous: Option<State>, open_cap: usize) -> Exporter {
    let shared = Shared::new(State::default());
    let start = if previous.is_some() {
        StartAt::End
    } else {
        StartAt::Beginning
    };
    let tailer = Tailer::new(
        vec![DirSpec {
            path: dir.to_path_buf(),
            kinds: KindSet::XMAIL,
        }],
        start,
    )
    .with_grace(GRACE)
    .with_open_cap(open_cap)
    .with_checkpoints(shared.clone(), previous);
    Exporter { tailer, shared }
}

/// Runs `ops` with room for every file, and again with two files open at most (the others
/// closed and re-opened on demand, checked against their identity).
fn run(ops: &[Op]) {
    run_with(ops, usize::MAX);
    run_with(ops, 2);
}

fn run_with(ops: &[Op], open_cap: usize) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("logs");
    fs::create_dir(&dir).unwrap();
    let mut world = World {
        dir: dir.clone(),
        writers: Default::default(),
        minute: 0,
        seq: 0,
        expected: BTreeMap::new(),
        now: Duration::ZERO,
    };
    for k in 0..KINDS.len() {
        world.new_file(k);
    }
    let epoch = Instant::now();
    let mut got = Received::default();
    let mut ex = start(&dir, None, open_cap);
    let pass = |ex: &mut Exporter, world: &mut World, got: &mut Received| {
        world.now += Duration::from_secs(1);
        ex.tailer.poll_once(got, epoch + world.now);
    };
    for op in ops {
        match *op {
            Op::Lines(k, n) => {
                world.finish_piece(k);
                let name = world.writers[k].files.last().unwrap().clone();
                for _ in 0..n {
                    world.write_line(k, name.clone());
                }
            }
            Op::Piece(k) => {
                world.finish_piece(k);
                let name = world.writers[k].files.last().unwrap().clone();
                let line = world.next_line(k);
                let cut = line.len() / 2;
                world.append(&name, &line.as_bytes()[..cut]);
                world.writers[k].piece = Some((name, line));
            }
            Op::Rotate(k) => {
                world.finish_piece(k);
                world.new_file(k);
            }
            Op::Late(k) => {
                let w = &world.writers[k];
                // Only within the grace of the rotation; a line later than that is not
                // read (the file is closed for good), as documented.
                if w.files.len() >= 2 && world.now + Duration::from_secs(1) < w.rotated_at + GRACE {
                    let name = w.files[w.files.len() - 2].clone();
                    world.write_line(k, name);
                }
            }
            Op::Truncate(k) => {
                // What was written is read first, then the file is emptied and the tailer
                // looks before anything new is written.
                pass(&mut ex, &mut world, &mut got);
                let name = world.writers[k].files.last().unwrap().clone();
                if world.writers[k]
                    .piece
                    .as_ref()
                    .is_some_and(|(n, _)| *n == name)
                {
                    world.writers[k].piece = None;
                }
                fs::File::create(dir.join(&name)).unwrap();
                pass(&mut ex, &mut world, &mut got);
            }
            Op::Pass => pass(&mut ex, &mut world, &mut got),
            Op::Restart => {
                // The checkpoint of the last pass is what the last scrape saved.
                let saved = ex.shared.lock().clone();
                ex = start(&dir, Some(saved), open_cap);
                pass(&mut ex, &mut world, &mut got);
            }
        }
    }
    // Let everything drain: passes until nothing new arrives, bounded.
    for _ in 0..(GRACE.as_secs() + 4) {
        pass(&mut ex, &mut world, &mut got);
    }
    for (name, want) in &world.expected {
        let have = got.0.get(name).cloned().unwrap_or_default();
        assert_eq!(
            &have, want,
            "{name}: lines differ (open cap {open_cap}, ops: {ops:?})"
        );
    }
    for (name, have) in &got.0 {
        assert!(
            world.expected.contains_key(name),
            "{name}: lines that were never written: {have:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    /// Every complete line XMail writes reaches the sink exactly once, in file order.
    #[test]
    fn every_line_once_whatever_xmail_and_restarts_do(ops in prop::collection::vec(op(), 1..60)) {
        run(&ops);
    }
}

/// A fixed sequence with every kind of operation, so a regression shows without luck.
#[test]
fn a_day_of_rotations_late_lines_pieces_truncation_and_restarts() {
    use Op::*;
    run(&[
        Lines(0, 3),
        Lines(1, 2),
        Pass,
        Piece(0),
        Pass,
        Lines(0, 1),
        Rotate(0),
        Late(0),
        Pass,
        Late(0),
        Restart,
        Lines(0, 2),
        Piece(1),
        Restart,
        Lines(1, 1),
        Truncate(1),
        Lines(1, 2),
        Rotate(1),
        Rotate(1),
        Lines(1, 1),
        Restart,
        Pass,
    ]);
}
