//! Where a record's separators lie, found 64 bytes at a time, in the style of simdjson's
//! structural index: one pass over a block marks its TABs and its quotes in two bit masks,
//! and a separator is a TAB bit with a quote bit on either side. Fields are then read from
//! the bits, lowest first ([`from_left`]) or highest first ([`from_right`]).
//!
//! The marks are made with AVX2 or SSE2 on x86_64 (chosen once, at the first call, from what
//! the CPU has) and with 8-byte words elsewhere ([`Level::Portable`], kept for other
//! architectures and tested against the others here). A block is never read past the end of
//! the record: the last one is read so that it ends where the record ends, and its marks are
//! shifted into place; a record shorter than a block is copied into a zeroed one.
//!
//! Owns the bytes-to-positions step only; what the fields between the separators mean is
//! each parser's. Line ends are found by `memchr` in [`crate::read::lines`], which does that
//! search at least as fast (measured: folding LFs in here would need the marks to travel
//! with each line through [`crate::read::Sink`]).

use std::sync::atomic::{AtomicU8, Ordering};

/// How the marks of a block are made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Eight bytes per `u64` word: any architecture.
    Portable,
    /// 16 bytes per instruction (every x86_64 CPU has SSE2).
    Sse2,
    /// 32 bytes per instruction.
    Avx2,
}

impl Level {
    /// Every level, slowest first.
    pub const ALL: [Level; 3] = [Level::Portable, Level::Sse2, Level::Avx2];

    /// Whether this CPU can run `self`.
    pub fn supported(self) -> bool {
        match self {
            Level::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Level::Sse2 => true,
            #[cfg(target_arch = "x86_64")]
            Level::Avx2 => std::arch::is_x86_feature_detected!("avx2"),
            #[cfg(not(target_arch = "x86_64"))]
            Level::Sse2 | Level::Avx2 => false,
        }
    }

    /// The fastest level this CPU runs, found once and then read from a cache.
    #[inline]
    pub fn detected() -> Level {
        match DETECTED.load(Ordering::Relaxed) {
            1 => Level::Portable,
            2 => Level::Sse2,
            3 => Level::Avx2,
            _ => Self::detect(),
        }
    }

    #[cold]
    fn detect() -> Level {
        let best = Level::ALL
            .into_iter()
            .rev()
            .find(|l| l.supported())
            .unwrap_or(Level::Portable);
        let code = match best {
            Level::Portable => 1,
            Level::Sse2 => 2,
            Level::Avx2 => 3,
        };
        DETECTED.store(code, Ordering::Relaxed);
        best
    }
}

/// 0 until [`Level::detected`] first runs, then 1 + the index of the level in [`Level::ALL`].
static DETECTED: AtomicU8 = AtomicU8::new(0);

/// Separators from the left, at the detected level (see [`super::seps_from_left`]).
#[inline]
pub fn from_left(inner: &[u8], out: &mut [usize]) -> usize {
    match Level::detected() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `detected` says AVX2 only when the CPU has it.
        Level::Avx2 => unsafe { x86::left_avx2(inner, out) },
        #[cfg(target_arch = "x86_64")]
        Level::Sse2 => x86::left_sse2(inner, out),
        _ => portable_left(inner, out),
    }
}

/// Separators from the right, at the detected level (see [`super::seps_from_right`]).
#[inline]
pub fn from_right(inner: &[u8], floor: usize, out: &mut [usize]) -> usize {
    match Level::detected() {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `detected` says AVX2 only when the CPU has it.
        Level::Avx2 => unsafe { x86::right_avx2(inner, floor, out) },
        #[cfg(target_arch = "x86_64")]
        Level::Sse2 => x86::right_sse2(inner, floor, out),
        _ => portable_right(inner, floor, out),
    }
}

/// [`from_left`] at a given level (the portable one if this CPU cannot run it): for the
/// tests and the benchmark, which compare the levels.
pub fn from_left_at(level: Level, inner: &[u8], out: &mut [usize]) -> usize {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `supported` checked that the CPU has AVX2.
        Level::Avx2 if level.supported() => unsafe { x86::left_avx2(inner, out) },
        #[cfg(target_arch = "x86_64")]
        Level::Sse2 => x86::left_sse2(inner, out),
        _ => portable_left(inner, out),
    }
}

/// [`from_right`] at a given level (the portable one if this CPU cannot run it).
pub fn from_right_at(level: Level, inner: &[u8], floor: usize, out: &mut [usize]) -> usize {
    match level {
        #[cfg(target_arch = "x86_64")]
        // SAFETY: `supported` checked that the CPU has AVX2.
        Level::Avx2 if level.supported() => unsafe { x86::right_avx2(inner, floor, out) },
        #[cfg(target_arch = "x86_64")]
        Level::Sse2 => x86::right_sse2(inner, floor, out),
        _ => portable_right(inner, floor, out),
    }
}

fn portable_left(inner: &[u8], out: &mut [usize]) -> usize {
    // SAFETY: the portable marks are plain Rust: any CPU runs them.
    unsafe { left::<Portable>(inner, out) }
}

fn portable_right(inner: &[u8], floor: usize, out: &mut [usize]) -> usize {
    // SAFETY: the portable marks are plain Rust: any CPU runs them.
    unsafe { right::<Portable>(inner, floor, out) }
}

/// Makes the marks of one block of 64 bytes.
trait Marks {
    /// `(tabs, quotes)`: bit `j` of each is set when byte `j` of `block` is a TAB, a quote.
    ///
    /// # Safety
    /// The CPU must have the instructions of the implementation (AVX2 for [`x86::Avx2`]).
    unsafe fn marks(block: &[u8; 64]) -> (u64, u64);
}

/// The marks, eight bytes per `u64`.
struct Portable;

impl Marks for Portable {
    #[inline(always)]
    unsafe fn marks(block: &[u8; 64]) -> (u64, u64) {
        let (mut tabs, mut quotes) = (0u64, 0u64);
        for (w, word) in block.chunks_exact(8).enumerate() {
            let word = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
            tabs |= gather(equal_bytes(word, b'\t')) << (8 * w);
            quotes |= gather(equal_bytes(word, b'"')) << (8 * w);
        }
        (tabs, quotes)
    }
}

/// The high bit of every byte of `word` equal to `b`, and no other bit.
#[inline(always)]
fn equal_bytes(word: u64, b: u8) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ (u64::from(b) * 0x0101_0101_0101_0101);
    // Exact zero-byte test: no carry crosses a byte, so no false positives.
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// The high bits of the 8 bytes of `high` (nothing else set) as the 8 low bits, byte 0 first.
#[inline(always)]
fn gather(high: u64) -> u64 {
    // Bit 8k moves to bit 56 + k; no two partial products meet, so nothing carries.
    (high >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56
}

/// The TABs of the block of `inner` starting at `o` (`o < inner.len()`) that have a quote on
/// either side, as bits (bit `j`: byte `o + j`).
///
/// # Safety
/// As [`Marks::marks`].
#[inline(always)]
unsafe fn separators<M: Marks>(inner: &[u8], o: usize) -> u64 {
    let len = inner.len();
    let (tabs, quotes) = if let Some(block) = inner.get(o..o + 64) {
        // SAFETY: the caller's.
        unsafe { M::marks(block.try_into().unwrap_or(&[0; 64])) }
    } else if len >= 64 {
        // The last 64 bytes, shifted so that bit 0 is byte `o`: nothing past the end is read,
        // and the bits for the bytes past it are zero.
        // SAFETY: the caller's.
        let (t, q) = unsafe { M::marks(inner[len - 64..].try_into().unwrap_or(&[0; 64])) };
        let shift = 64 - (len - o);
        (t >> shift, q >> shift)
    } else {
        let mut block = [0u8; 64];
        block[..len].copy_from_slice(inner);
        // SAFETY: the caller's.
        unsafe { M::marks(&block) }
    };
    let before = o > 0 && inner[o - 1] == b'"';
    let after = inner.get(o + 64) == Some(&b'"');
    let quote_before = quotes << 1 | u64::from(before);
    let quote_after = quotes >> 1 | u64::from(after) << 63;
    tabs & quote_before & quote_after
}

/// The search from the left: lowest separators first; one may not share a byte with the one
/// taken before it.
///
/// # Safety
/// As [`Marks::marks`].
#[inline(always)]
unsafe fn left<M: Marks>(inner: &[u8], out: &mut [usize]) -> usize {
    if out.is_empty() {
        return 0;
    }
    let mut n = 0;
    let mut next_allowed = 0;
    let mut o = 0;
    while o < inner.len() {
        // SAFETY: the caller's.
        let mut bits = unsafe { separators::<M>(inner, o) };
        while bits != 0 {
            let i = o + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if i >= next_allowed {
                out[n] = i;
                n += 1;
                if n == out.len() {
                    return n;
                }
                next_allowed = i + 3;
            }
        }
        o += 64;
    }
    n
}

/// The search from the right: highest separators first, down to `floor` (exclusive).
///
/// # Safety
/// As [`Marks::marks`].
#[inline(always)]
unsafe fn right<M: Marks>(inner: &[u8], floor: usize, out: &mut [usize]) -> usize {
    if out.is_empty() || inner.is_empty() {
        return 0;
    }
    let mut n = 0;
    let mut next_allowed = usize::MAX;
    let mut o = (inner.len() - 1) / 64 * 64;
    loop {
        // SAFETY: the caller's.
        let mut bits = unsafe { separators::<M>(inner, o) };
        while bits != 0 {
            let top = 63 - bits.leading_zeros() as usize;
            bits &= !(1 << top);
            let i = o + top;
            if i <= floor {
                return n;
            }
            if i + 3 <= next_allowed {
                out[n] = i;
                n += 1;
                if n == out.len() {
                    return n;
                }
                next_allowed = i;
            }
        }
        if o == 0 || o <= floor {
            return n;
        }
        o -= 64;
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    //! The x86_64 marks: SSE2 (always there) and AVX2 (checked at run time).

    use std::arch::x86_64::*;

    use super::{Marks, left, right};

    /// The marks, 16 bytes per instruction.
    pub(super) struct Sse2;

    impl Marks for Sse2 {
        #[inline(always)]
        unsafe fn marks(block: &[u8; 64]) -> (u64, u64) {
            let p = block.as_ptr();
            let (mut tabs, mut quotes) = (0u64, 0u64);
            // SAFETY: SSE2 is part of x86_64; the four 16-byte loads lie inside the 64 bytes
            // of `block`, and `loadu` has no alignment requirement.
            unsafe {
                let tab = _mm_set1_epi8(b'\t' as i8);
                let quote = _mm_set1_epi8(b'"' as i8);
                for k in 0..4 {
                    let v = _mm_loadu_si128(p.add(16 * k).cast::<__m128i>());
                    let t = _mm_movemask_epi8(_mm_cmpeq_epi8(v, tab)) as u32 as u64;
                    let q = _mm_movemask_epi8(_mm_cmpeq_epi8(v, quote)) as u32 as u64;
                    tabs |= (t & 0xffff) << (16 * k);
                    quotes |= (q & 0xffff) << (16 * k);
                }
            }
            (tabs, quotes)
        }
    }

    /// The marks, 32 bytes per instruction.
    pub(super) struct Avx2;

    impl Marks for Avx2 {
        #[inline(always)]
        unsafe fn marks(block: &[u8; 64]) -> (u64, u64) {
            let p = block.as_ptr();
            // SAFETY: the CPU has AVX2 (this function's contract); the two 32-byte loads lie
            // inside `block`, and `loadu` has no alignment requirement.
            unsafe {
                let tab = _mm256_set1_epi8(b'\t' as i8);
                let quote = _mm256_set1_epi8(b'"' as i8);
                let lo = _mm256_loadu_si256(p.cast::<__m256i>());
                let hi = _mm256_loadu_si256(p.add(32).cast::<__m256i>());
                let bits = |v: __m256i, c: __m256i| {
                    u64::from(_mm256_movemask_epi8(_mm256_cmpeq_epi8(v, c)) as u32)
                };
                (
                    bits(lo, tab) | bits(hi, tab) << 32,
                    bits(lo, quote) | bits(hi, quote) << 32,
                )
            }
        }
    }

    /// The search from the left with SSE2 marks.
    pub(super) fn left_sse2(inner: &[u8], out: &mut [usize]) -> usize {
        // SAFETY: every x86_64 CPU has SSE2.
        unsafe { left::<Sse2>(inner, out) }
    }

    /// The search from the right with SSE2 marks.
    pub(super) fn right_sse2(inner: &[u8], floor: usize, out: &mut [usize]) -> usize {
        // SAFETY: every x86_64 CPU has SSE2.
        unsafe { right::<Sse2>(inner, floor, out) }
    }

    /// The search from the left with AVX2 marks.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn left_avx2(inner: &[u8], out: &mut [usize]) -> usize {
        // SAFETY: the caller's: the CPU has AVX2.
        unsafe { left::<Avx2>(inner, out) }
    }

    /// The search from the right with AVX2 marks.
    ///
    /// # Safety
    /// The CPU must have AVX2.
    #[target_feature(enable = "avx2")]
    pub(super) unsafe fn right_avx2(inner: &[u8], floor: usize, out: &mut [usize]) -> usize {
        // SAFETY: the caller's: the CPU has AVX2.
        unsafe { right::<Avx2>(inner, floor, out) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The definition, one byte at a time: a TAB with a quote on either side, not sharing a
    /// byte with the separator taken before it.
    fn left_reference(inner: &[u8], out: &mut [usize]) -> usize {
        let is_sep = |i: usize| {
            inner[i] == b'\t' && i > 0 && i + 1 < inner.len() && inner[i - 1] == b'"' && {
                inner[i + 1] == b'"'
            }
        };
        let (mut n, mut next_allowed) = (0, 0);
        for i in 0..inner.len() {
            if n == out.len() {
                break;
            }
            if i >= next_allowed && is_sep(i) {
                out[n] = i;
                n += 1;
                next_allowed = i + 3;
            }
        }
        n
    }

    fn right_reference(inner: &[u8], floor: usize, out: &mut [usize]) -> usize {
        let is_sep = |i: usize| {
            inner[i] == b'\t' && i > 0 && i + 1 < inner.len() && inner[i - 1] == b'"' && {
                inner[i + 1] == b'"'
            }
        };
        let (mut n, mut next_allowed) = (0, usize::MAX);
        for i in (0..inner.len()).rev() {
            if n == out.len() || i <= floor {
                break;
            }
            if i + 3 <= next_allowed && is_sep(i) {
                out[n] = i;
                n += 1;
                next_allowed = i;
            }
        }
        n
    }

    /// Every level agrees with the reference on `inner`, for a few output sizes and floors.
    fn check(inner: &[u8]) {
        for cap in [0, 1, 2, 5, 13, 200] {
            let mut want = vec![0; cap];
            let wn = left_reference(inner, &mut want);
            for level in Level::ALL.into_iter().filter(|l| l.supported()) {
                let mut got = vec![usize::MAX; cap];
                let n = from_left_at(level, inner, &mut got);
                assert_eq!(
                    (n, &got[..n]),
                    (wn, &want[..wn]),
                    "left {level:?} cap {cap} {inner:?}"
                );
            }
            for floor in [0, 1, inner.len() / 3, inner.len() / 2, inner.len()] {
                let wn = right_reference(inner, floor, &mut want);
                for level in Level::ALL.into_iter().filter(|l| l.supported()) {
                    let mut got = vec![usize::MAX; cap];
                    let n = from_right_at(level, inner, floor, &mut got);
                    assert_eq!(
                        (n, &got[..n]),
                        (wn, &want[..wn]),
                        "right {level:?} cap {cap} floor {floor} {inner:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_detected_level_runs_here() {
        assert!(Level::detected().supported());
        assert_eq!(Level::detected(), Level::detected());
        #[cfg(target_arch = "x86_64")]
        assert_ne!(Level::detected(), Level::Portable);
    }

    #[test]
    fn portable_marks_are_exact() {
        // Every byte value at every position of a block.
        for b in 0..=255u8 {
            for pos in 0..64 {
                let mut block = [b'x'; 64];
                block[pos] = b;
                // SAFETY: the portable marks run anywhere.
                let (t, q) = unsafe { Portable::marks(&block) };
                assert_eq!(t, u64::from(b == b'\t') << pos, "{b} at {pos}");
                assert_eq!(q, u64::from(b == b'"') << pos, "{b} at {pos}");
            }
        }
    }

    #[test]
    fn all_lengths_and_alignments_agree() {
        // Records of every length 0..200 at every alignment 0..64 in a buffer, made of a
        // pattern dense in separators (and overlapping ones) that shifts with the length.
        let pattern = b"\"\t\"a\"\t\"\t\"\"\t\tb\"\t\"\"\"\t\"x\t\"";
        let mut buf = vec![0u8; 300];
        for len in 0..200 {
            for (k, b) in buf.iter_mut().enumerate() {
                *b = pattern[(k * 7 + len) % pattern.len()];
            }
            for align in 0..64 {
                check(&buf[align..align + len]);
            }
        }
    }

    #[test]
    fn examples() {
        let inner = b"a\"\t\"b\"\t\"c";
        let mut l = [0; 4];
        assert_eq!(from_left(inner, &mut l), 2);
        assert_eq!(&l[..2], &[2, 6]);
        let mut r = [0; 4];
        assert_eq!(from_right(inner, 0, &mut r), 2);
        assert_eq!(&r[..2], &[6, 2]);
        // Separators on both sides of a block boundary, and a TAB at bit 63 whose closing
        // quote is the next block's first byte.
        let mut long = vec![b'x'; 130];
        for tab in [62usize, 63 + 3, 127] {
            long[tab - 1] = b'"';
            long[tab] = b'\t';
            long[tab + 1] = b'"';
        }
        assert_eq!(from_left(&long, &mut l), 3);
        assert_eq!(&l[..3], &[62, 66, 127]);
        assert_eq!(from_right(&long, 62, &mut r), 2);
        assert_eq!(&r[..2], &[127, 66]);
        check(&long);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Random bytes, mostly quotes, TABs and LFs.
        #[test]
        fn levels_agree_on_random_bytes(
            bytes in proptest::collection::vec(
                prop_oneof![
                    4 => Just(b'"'),
                    4 => Just(b'\t'),
                    1 => Just(b'\n'),
                    2 => any::<u8>(),
                ],
                0..400,
            ),
            start in 0usize..64,
        ) {
            let start = start.min(bytes.len());
            check(&bytes[start..]);
        }
    }
}
