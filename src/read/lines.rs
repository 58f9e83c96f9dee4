//! Complete lines out of a byte stream, in a reused buffer.
//!
//! Only a line whose LF has arrived is handed on; the bytes after the last LF wait in the
//! buffer for the next read. A line longer than [`MAX_LINE_BYTES`] is dropped as it streams
//! past, so memory stays bounded whatever the input. The buffer starts small and grows (to
//! its capacity at most) only when a read fills it, so a file of a few short lines costs a
//! few KiB, not a full read chunk.
//!
//! [`ChunkLines`] does the same for a stream that arrives in blocks the caller owns (the
//! read-ahead thread's chunks, for `report`): a line that lies whole in a block is handed on
//! where it lies, and only a line that spans two blocks is copied. It hands the lines on in
//! the same reads as a [`LineBuf`] reading the same blocks would, so a [`crate::read::Sink`]
//! sees the same calls either way.

use std::io::{self, Read};

use memchr::memchr_iter;

/// The longest line handed on; a longer one is reported as [`Line::TooLong`].
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// The read size: large enough that a catch-up read costs few system calls, and at least
/// twice [`MAX_LINE_BYTES`] so a partial line never fills the buffer.
pub const READ_CHUNK: usize = 256 * 1024;

/// The buffer's first size.
pub const FIRST_BYTES: usize = 16 * 1024;

/// What a read produced, one line at a time.
#[derive(Debug, PartialEq, Eq)]
pub enum Line<'a> {
    /// A complete line without its LF (a CR, if any, is left for the parser).
    Complete(&'a [u8]),
    /// A line of this many bytes (LF not counted) was over the limit and skipped.
    TooLong(u64),
}

/// State of an over-long or unwanted partial line being skipped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Skip {
    /// Not skipping.
    No,
    /// Skipping an over-long line; this many bytes of it were dropped so far.
    TooLong(u64),
    /// Skipping the tail of a line that began before the start position: not a line of ours.
    Silently(u64),
}

/// A reusable line buffer for one stream.
pub struct LineBuf {
    /// Grows from [`FIRST_BYTES`] to `cap`; never shrinks.
    buf: Vec<u8>,
    /// The most `buf` grows to.
    cap: usize,
    /// `buf[start..end]` is the incomplete line read so far (always shorter than
    /// [`MAX_LINE_BYTES`] + one read, and empty while skipping).
    start: usize,
    end: usize,
    /// `buf[..scanned]` was looked at for line ends (`scanned == end` after [`LineBuf::lines`]).
    scanned: usize,
    skip: Skip,
}

/// The result of one [`LineBuf::read_from`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Fill {
    /// Bytes read from the stream.
    pub read: usize,
    /// Bytes (LF included) by which the stream's consumed offset advanced: complete lines,
    /// over-long lines and the skipped tail of a foreign line.
    pub consumed: u64,
    /// The part of `consumed` that was a foreign line's tail, not a line of ours.
    pub silent: u64,
}

impl Default for LineBuf {
    fn default() -> LineBuf {
        LineBuf::with_capacity(READ_CHUNK)
    }
}

impl LineBuf {
    /// A buffer of `cap` bytes (at least twice [`MAX_LINE_BYTES`]).
    pub fn with_capacity(cap: usize) -> LineBuf {
        let cap = cap.max(2 * MAX_LINE_BYTES);
        LineBuf {
            buf: vec![0; FIRST_BYTES.min(cap)],
            cap,
            start: 0,
            end: 0,
            scanned: 0,
            skip: Skip::No,
        }
    }

    /// Forgets everything buffered (after a seek).
    pub fn clear(&mut self) {
        self.start = 0;
        self.end = 0;
        self.scanned = 0;
        self.skip = Skip::No;
    }

    /// Bytes read but not yet consumed: the partial line, or what was skipped of it.
    pub fn pending(&self) -> u64 {
        let skipped = match self.skip {
            Skip::No => 0,
            Skip::TooLong(n) | Skip::Silently(n) => n,
        };
        (self.end - self.start) as u64 + skipped
    }

    /// Treats the bytes up to the next LF as the end of a line that is not ours: they are
    /// consumed without being handed on. Used when starting in the middle of a line.
    pub fn skip_to_next_line(&mut self) {
        self.clear();
        self.skip = Skip::Silently(0);
    }

    /// Reads once from `r` and hands every line completed by it to `on_line`. A read of 0
    /// bytes means end of stream for now.
    pub fn read_from<R: Read>(
        &mut self,
        r: &mut R,
        on_line: impl FnMut(Line<'_>),
    ) -> io::Result<Fill> {
        self.fill(r)?;
        Ok(self.lines(on_line))
    }

    /// Reads once from `r` into the buffer, without looking at the bytes (so a caller can
    /// read outside a lock and hand the lines on under it, with [`LineBuf::lines`]).
    /// Returns the bytes read; 0 means end of stream for now.
    pub fn fill<R: Read>(&mut self, r: &mut R) -> io::Result<usize> {
        if self.end == self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.scanned -= self.start;
            self.start = 0;
            if self.end == self.buf.len() {
                // A partial line fills it: grow (it stays under MAX_LINE_BYTES + one read).
                self.grow();
            }
        }
        let room = self.buf.len() - self.end;
        let n = loop {
            match r.read(&mut self.buf[self.end..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        };
        self.end += n;
        if n == room {
            // More is likely waiting: read it in larger pieces.
            self.grow();
        }
        Ok(n)
    }

    /// Doubles the buffer, up to its capacity.
    fn grow(&mut self) {
        let len = (self.buf.len() * 2).min(self.cap);
        if len > self.buf.len() {
            self.buf.reserve_exact(len - self.buf.len());
            self.buf.resize(len, 0);
        }
    }

    /// Hands every line completed by the bytes read since the last call to `on_line`.
    pub fn lines(&mut self, mut on_line: impl FnMut(Line<'_>)) -> Fill {
        let scan_from = self.scanned;
        let n = self.end - scan_from;
        let (mut consumed, mut silent) = (0u64, 0u64);
        for i in memchr_iter(b'\n', &self.buf[scan_from..self.end]) {
            let nl = scan_from + i;
            let len = (nl - self.start) as u64;
            consumed += match std::mem::replace(&mut self.skip, Skip::No) {
                Skip::No => {
                    if len as usize <= MAX_LINE_BYTES {
                        on_line(Line::Complete(&self.buf[self.start..nl]));
                    } else {
                        on_line(Line::TooLong(len));
                    }
                    len + 1
                }
                Skip::TooLong(dropped) => {
                    on_line(Line::TooLong(dropped + len));
                    dropped + len + 1
                }
                Skip::Silently(dropped) => {
                    silent += dropped + len + 1;
                    dropped + len + 1
                }
            };
            self.start = nl + 1;
        }
        let partial = (self.end - self.start) as u64;
        match &mut self.skip {
            Skip::TooLong(d) | Skip::Silently(d) => {
                *d += partial;
                self.start = 0;
                self.end = 0;
            }
            Skip::No if partial as usize > MAX_LINE_BYTES => {
                self.skip = Skip::TooLong(partial);
                self.start = 0;
                self.end = 0;
            }
            Skip::No if self.start == self.end => {
                self.start = 0;
                self.end = 0;
            }
            Skip::No => {}
        }
        self.scanned = self.end;
        Fill {
            read: n,
            consumed,
            silent,
        }
    }
}

/// Complete lines out of a stream handed over in blocks, copying only the lines that span
/// two blocks. Equivalent to a [`LineBuf`] of capacity `cap` reading the blocks one by one
/// with reads of at most a block: [`ChunkLines::lines_in`] makes the same reads (the same
/// sizes, the same lines, the same [`Fill`]s), without the bytes.
pub struct ChunkLines {
    /// The [`LineBuf`] being followed: its buffer's length, capacity, and partial line's
    /// place in it (`start..end`); no bytes.
    len: usize,
    cap: usize,
    start: usize,
    end: usize,
    skip: Skip,
    /// The part of the partial line that lay in earlier blocks (empty while skipping).
    carry: Vec<u8>,
    /// Where the partial line's part in the current block begins.
    seg: usize,
}

impl ChunkLines {
    /// Follows a [`LineBuf::with_capacity`]`(cap)`.
    pub fn with_capacity(cap: usize) -> ChunkLines {
        let cap = cap.max(2 * MAX_LINE_BYTES);
        ChunkLines {
            len: FIRST_BYTES.min(cap),
            cap,
            start: 0,
            end: 0,
            skip: Skip::No,
            carry: Vec::new(),
            seg: 0,
        }
    }

    /// Bytes read but not yet consumed, as [`LineBuf::pending`].
    pub fn pending(&self) -> u64 {
        let skipped = match self.skip {
            Skip::No => 0,
            Skip::TooLong(n) | Skip::Silently(n) => n,
        };
        (self.end - self.start) as u64 + skipped
    }

    /// Makes the next read of the stream, from `block[at..]` (`at < block.len()`): the bytes
    /// a [`LineBuf`] would read there, and the lines they complete, handed to `on_line`.
    /// Returns what [`LineBuf::read_from`] would, and the bytes read. The caller reads a
    /// block to its end, from `at = 0`, before handing over the next.
    pub fn lines_in(
        &mut self,
        block: &[u8],
        at: usize,
        mut on_line: impl FnMut(Line<'_>),
    ) -> (Fill, usize) {
        if at == 0 {
            self.seg = 0;
        }
        // `LineBuf::fill`, on the numbers.
        if self.end == self.len {
            self.end -= self.start;
            self.start = 0;
            if self.end == self.len {
                self.len = (self.len * 2).min(self.cap);
            }
        }
        let room = self.len - self.end;
        let n = room.min(block.len() - at);
        let read_end = at + n;
        let base = self.end;
        self.end += n;
        if n == room {
            self.len = (self.len * 2).min(self.cap);
        }
        // `LineBuf::lines`, with the bytes taken from `block`.
        let (mut consumed, mut silent) = (0u64, 0u64);
        for i in memchr_iter(b'\n', &block[at..read_end]) {
            let p = at + i;
            let nl = base + i;
            let len = (nl - self.start) as u64;
            consumed += match std::mem::replace(&mut self.skip, Skip::No) {
                Skip::No => {
                    if len as usize <= MAX_LINE_BYTES {
                        if self.carry.is_empty() {
                            on_line(Line::Complete(&block[self.seg..p]));
                        } else {
                            self.carry.extend_from_slice(&block[self.seg..p]);
                            on_line(Line::Complete(&self.carry));
                        }
                    } else {
                        on_line(Line::TooLong(len));
                    }
                    len + 1
                }
                Skip::TooLong(dropped) => {
                    on_line(Line::TooLong(dropped + len));
                    dropped + len + 1
                }
                Skip::Silently(dropped) => {
                    silent += dropped + len + 1;
                    dropped + len + 1
                }
            };
            self.carry.clear();
            self.seg = p + 1;
            self.start = nl + 1;
        }
        let partial = (self.end - self.start) as u64;
        let done_with_it = match &mut self.skip {
            Skip::TooLong(d) | Skip::Silently(d) => {
                *d += partial;
                true
            }
            Skip::No if partial as usize > MAX_LINE_BYTES => {
                self.skip = Skip::TooLong(partial);
                true
            }
            Skip::No => partial == 0,
        };
        if done_with_it {
            self.start = 0;
            self.end = 0;
            self.carry.clear();
            self.seg = read_end;
        } else if read_end == block.len() {
            // The block is being handed back: keep its part of the line.
            self.carry.extend_from_slice(&block[self.seg..]);
        }
        (
            Fill {
                read: n,
                consumed,
                silent,
            },
            n,
        )
    }

    /// Treats the bytes up to the next LF as the end of a line that is not ours, as
    /// [`LineBuf::skip_to_next_line`].
    pub fn skip_to_next_line(&mut self) {
        self.start = 0;
        self.end = 0;
        self.carry.clear();
        self.skip = Skip::Silently(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `step` bytes per read.
    struct Trickle<'a> {
        data: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let n = self.data.len().min(self.step).min(out.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[derive(Debug, Default, PartialEq)]
    struct Seen {
        lines: Vec<Vec<u8>>,
        too_long: Vec<u64>,
        consumed: u64,
        silent: u64,
    }

    fn run(lb: &mut LineBuf, data: &[u8], step: usize) -> Seen {
        let mut r = Trickle { data, step };
        let mut seen = Seen::default();
        loop {
            let fill = lb
                .read_from(&mut r, |l| match l {
                    Line::Complete(b) => seen.lines.push(b.to_vec()),
                    Line::TooLong(n) => seen.too_long.push(n),
                })
                .unwrap();
            seen.consumed += fill.consumed;
            seen.silent += fill.silent;
            if fill.read == 0 {
                return seen;
            }
        }
    }

    fn lines(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn splits_at_every_read_size() {
        let data = b"one\ntwo\r\n\nthree\npartial";
        for step in [1, 2, 3, 7, 65536] {
            let mut lb = LineBuf::default();
            let seen = run(&mut lb, data, step);
            assert_eq!(
                seen.lines,
                lines(&["one", "two\r", "", "three"]),
                "step {step}"
            );
            assert_eq!(seen.consumed, 16, "step {step}");
            assert_eq!(lb.pending(), 7, "step {step}");
        }
    }

    #[test]
    fn a_partial_line_is_completed_by_a_later_read() {
        let mut lb = LineBuf::default();
        let first = run(&mut lb, b"hello wo", 3);
        assert!(first.lines.is_empty());
        assert_eq!(first.consumed, 0);
        let second = run(&mut lb, b"rld\n", 1);
        assert_eq!(second.lines, lines(&["hello world"]));
        assert_eq!(second.consumed, 12);
        assert_eq!(lb.pending(), 0);
    }

    #[test]
    fn over_long_lines_are_skipped_with_bounded_memory() {
        for step in [1000, 65536, 300_000] {
            let mut data = vec![b'x'; MAX_LINE_BYTES + 1];
            data.extend_from_slice(b"\nok\n");
            data.extend(std::iter::repeat_n(b'y', 3 * READ_CHUNK));
            data.extend_from_slice(b"\nlast\n");
            let mut exact = vec![b'z'; MAX_LINE_BYTES];
            exact.push(b'\n');
            data.extend_from_slice(&exact);
            let mut lb = LineBuf::default();
            let seen = run(&mut lb, &data, step);
            assert_eq!(
                seen.too_long,
                vec![MAX_LINE_BYTES as u64 + 1, 3 * READ_CHUNK as u64],
                "step {step}"
            );
            assert_eq!(seen.lines.len(), 3, "step {step}");
            assert_eq!(seen.lines[0], b"ok");
            assert_eq!(seen.lines[1], b"last");
            assert_eq!(seen.lines[2].len(), MAX_LINE_BYTES);
            assert_eq!(seen.consumed, data.len() as u64);
            assert_eq!(lb.buf.len(), READ_CHUNK);
        }
    }

    #[test]
    fn the_buffer_grows_only_when_reads_fill_it() {
        let mut lb = LineBuf::default();
        let seen = run(&mut lb, b"one\ntwo\n", 1 << 20);
        assert_eq!(seen.lines, lines(&["one", "two"]));
        assert_eq!(lb.buf.len(), FIRST_BYTES);
        // A catch-up read of a long file grows it to its capacity, no further.
        let data: Vec<u8> = b"0123456789abcde\n".repeat(READ_CHUNK / 4);
        let seen = run(&mut lb, &data, 1 << 20);
        assert_eq!(seen.lines.len(), READ_CHUNK / 4);
        assert_eq!(lb.buf.len(), READ_CHUNK);
        assert_eq!(lb.buf.capacity(), READ_CHUNK);
    }

    #[test]
    fn a_foreign_line_tail_is_skipped_silently() {
        let mut lb = LineBuf::default();
        lb.skip_to_next_line();
        let seen = run(&mut lb, b"tail of old\nnew\n", 4);
        assert_eq!(seen.lines, lines(&["new"]));
        assert_eq!(seen.consumed, 16);
        assert_eq!(seen.silent, 12);
    }

    /// Each read of a [`LineBuf`] over a reader that hands out `blocks` one at a time (no
    /// more than the rest of the current block per read), and of a [`ChunkLines`] over the
    /// same blocks: the lines and [`Fill`]s of every read, and what is left pending.
    type Reads = (Vec<(Vec<Line<'static>>, Vec<Vec<u8>>, Fill)>, u64);

    fn by_line_buf(blocks: &[Vec<u8>], skip_first: bool) -> Reads {
        struct Blocks<'a>(&'a [Vec<u8>], usize);
        impl Read for Blocks<'_> {
            fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
                while self.0.first().is_some_and(|b| self.1 == b.len()) {
                    self.0 = &self.0[1..];
                    self.1 = 0;
                }
                let Some(b) = self.0.first() else {
                    return Ok(0);
                };
                let n = out.len().min(b.len() - self.1);
                out[..n].copy_from_slice(&b[self.1..self.1 + n]);
                self.1 += n;
                Ok(n)
            }
        }
        let mut lb = LineBuf::with_capacity(1 << 20);
        if skip_first {
            lb.skip_to_next_line();
        }
        let mut r = Blocks(blocks, 0);
        let mut reads = Vec::new();
        loop {
            let (mut too_long, mut complete) = (Vec::new(), Vec::new());
            let fill = lb
                .read_from(&mut r, |l| match l {
                    Line::Complete(b) => complete.push(b.to_vec()),
                    Line::TooLong(n) => too_long.push(Line::TooLong(n)),
                })
                .unwrap();
            if fill.read == 0 {
                return (reads, lb.pending());
            }
            reads.push((too_long, complete, fill));
        }
    }

    fn by_chunk_lines(blocks: &[Vec<u8>], skip_first: bool) -> Reads {
        let mut cl = ChunkLines::with_capacity(1 << 20);
        if skip_first {
            cl.skip_to_next_line();
        }
        let mut reads = Vec::new();
        for b in blocks.iter().filter(|b| !b.is_empty()) {
            let mut at = 0;
            while at < b.len() {
                let (mut too_long, mut complete) = (Vec::new(), Vec::new());
                let (fill, n) = cl.lines_in(b, at, |l| match l {
                    Line::Complete(b) => complete.push(b.to_vec()),
                    Line::TooLong(n) => too_long.push(Line::TooLong(n)),
                });
                assert!(n > 0);
                at += n;
                reads.push((too_long, complete, fill));
            }
        }
        (reads, cl.pending())
    }

    /// A stream of lines of the given lengths (LF-terminated, the last one maybe not), cut
    /// into blocks of the given sizes (repeated).
    fn stream(line_lens: &[usize], last_open: bool, block_sizes: &[usize]) -> Vec<Vec<u8>> {
        let mut data = Vec::new();
        for (k, &len) in line_lens.iter().enumerate() {
            data.extend((0..len).map(|i| b'a' + ((i + k) % 26) as u8));
            if !(last_open && k + 1 == line_lens.len()) {
                data.push(b'\n');
            }
        }
        let mut blocks = Vec::new();
        let mut rest = &data[..];
        for &size in block_sizes.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let n = size.min(rest.len());
            blocks.push(rest[..n].to_vec());
            rest = &rest[n..];
        }
        blocks
    }

    #[test]
    fn chunk_lines_reads_as_a_line_buf_does() {
        let big = MAX_LINE_BYTES;
        let cases: Vec<(Vec<usize>, Vec<usize>)> = vec![
            (vec![3, 0, 5, 200], vec![1, 2, 3]),
            (vec![170; 4000], vec![256 << 10]),
            (vec![170; 4000], vec![100_000, 7, 256 << 10]),
            (
                vec![10, big, big + 1, 3, big - 1, 3 * big, 0, 1],
                vec![256 << 10],
            ),
            (
                vec![10, big, big + 1, 3, big - 1, 3 * big, 0, 1],
                vec![1000, 65_536, 3],
            ),
            (
                vec![5 * big, 2, 40_000, 40_000, 40_000],
                vec![16 << 10, 32 << 10, 50_000],
            ),
            (vec![0; 100], vec![1]),
        ];
        for (lens, sizes) in cases {
            for last_open in [false, true] {
                for skip_first in [false, true] {
                    let blocks = stream(&lens, last_open, &sizes);
                    let want = by_line_buf(&blocks, skip_first);
                    let got = by_chunk_lines(&blocks, skip_first);
                    assert_eq!(got.1, want.1, "pending {lens:?} {sizes:?}");
                    assert_eq!(got.0.len(), want.0.len(), "reads {lens:?} {sizes:?}");
                    assert!(
                        got.0 == want.0,
                        "{lens:?} {sizes:?} {last_open} {skip_first}"
                    );
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(64))]

        #[test]
        fn chunk_lines_reads_as_a_line_buf_does_on_random_streams(
            lens in proptest::collection::vec(
                proptest::prop_oneof![
                    8 => 0usize..300,
                    1 => 60_000usize..70_000,
                    1 => 0usize..200_000,
                ],
                0..40,
            ),
            sizes in proptest::collection::vec(1usize..300_000, 1..6),
            last_open: bool,
            skip_first: bool,
        ) {
            let blocks = stream(&lens, last_open, &sizes);
            let want = by_line_buf(&blocks, skip_first);
            let got = by_chunk_lines(&blocks, skip_first);
            proptest::prop_assert_eq!(got.1, want.1);
            proptest::prop_assert!(got.0 == want.0);
        }
    }
}
