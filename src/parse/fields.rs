//! Splitting XMail records: `"f1"<TAB>"f2"<TAB>..."fN"`, written without any escaping.
//!
//! A separator is the three bytes `"`, TAB, `"`. Only a client-controlled value (the SMTP
//! HELO) or a remote server's reply (SMAIL field 9) can contain one, so records are split
//! from both ends around that one free field.

use memchr::memrchr_iter;

use super::error::ParseError;

/// The domain of an address: what follows its last `@`; `None` without an `@`.
#[inline]
pub fn domain_of(address: &[u8]) -> Option<&[u8]> {
    memchr::memrchr(b'@', address).map(|i| &address[i + 1..])
}

/// Removes one trailing CR (Windows builds of XMail write CRLF).
#[inline]
pub fn trim_cr(line: &[u8]) -> &[u8] {
    match line {
        [rest @ .., b'\r'] => rest,
        _ => line,
    }
}

/// The bytes between the opening and the closing quote, or `None` if the line is not quoted.
#[inline]
pub fn unquote(line: &[u8]) -> Option<&[u8]> {
    match line {
        [b'"', inner @ .., b'"'] => Some(inner),
        _ => None,
    }
}

/// A quoted record's inside: the line without a trailing CR and without its outer quotes.
/// An empty line is [`ParseError::Empty`], one that is not quoted [`ParseError::NotQuoted`].
#[inline]
pub fn record(line: &[u8]) -> Result<&[u8], ParseError> {
    let line = trim_cr(line);
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    unquote(line).ok_or(ParseError::NotQuoted)
}

/// Is the TAB at `i` the middle of a `"<TAB>"` separator?
#[inline(always)]
fn is_sep(inner: &[u8], i: usize) -> bool {
    i > 0 && i + 1 < inner.len() && inner[i - 1] == b'"' && inner[i + 1] == b'"'
}

/// Finds up to `out.len()` separators from the left. Returns how many were found; the
/// positions stored are those of the TABs. Stops early once `out` is full.
#[inline]
pub fn seps_from_left(inner: &[u8], out: &mut [usize]) -> usize {
    // Eight bytes at a time: fields are 10 to 40 bytes long, too short for memchr to pay for
    // its set-up on every call (`report` 4% faster than with memchr_iter, same run).
    let mut n = 0;
    let mut next_allowed = 0;
    let mut take = |i: usize, n: &mut usize| {
        // A separator's bytes may not overlap the previous one's.
        if *n < out.len() && i >= next_allowed && is_sep(inner, i) {
            out[*n] = i;
            *n += 1;
            next_allowed = i + 3;
        }
        *n == out.len()
    };
    let chunks = inner.chunks_exact(8);
    let tail = chunks.remainder();
    for (c, chunk) in chunks.enumerate() {
        let mut tabs = tab_bytes(u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8])));
        while tabs != 0 {
            if take(c * 8 + tabs.trailing_zeros() as usize / 8, &mut n) {
                return n;
            }
            tabs &= tabs - 1;
        }
    }
    let tail_start = inner.len() - tail.len();
    for (k, _) in tail.iter().enumerate().filter(|&(_, &b)| b == b'\t') {
        if take(tail_start + k, &mut n) {
            break;
        }
    }
    n
}

/// The high bit of every byte of `word` that is a TAB, and no other bit.
#[inline(always)]
fn tab_bytes(word: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    let x = word ^ 0x0909_0909_0909_0909;
    // Exact zero-byte test: no carry crosses a byte, so no false positives.
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// Finds up to `out.len()` separators from the right, stopping at `floor` (exclusive: a TAB
/// at an index `<= floor` is not taken). `out[0]` is the rightmost.
#[inline]
pub fn seps_from_right(inner: &[u8], floor: usize, out: &mut [usize]) -> usize {
    let mut n = 0;
    let mut next_allowed = usize::MAX;
    for i in memrchr_iter(b'\t', inner) {
        if n == out.len() || i <= floor {
            break;
        }
        if i + 3 <= next_allowed && is_sep(inner, i) {
            out[n] = i;
            n += 1;
            next_allowed = i;
        }
    }
    n
}

/// The field between two separators (TAB positions), given as the byte ranges they bound.
#[inline(always)]
pub fn between(inner: &[u8], start: usize, end: usize) -> &[u8] {
    // `start` is the first byte of the field, `end` the index of the closing quote.
    inner.get(start..end).unwrap_or(&[])
}

/// Parses a decimal number of at most 19 digits (no sign, no spaces).
#[inline]
pub fn parse_u64(b: &[u8]) -> Option<u64> {
    if b.is_empty() || b.len() > 19 {
        return None;
    }
    let mut n: u64 = 0;
    for &c in b {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + u64::from(d);
    }
    Some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trims_one_cr_only() {
        assert_eq!(trim_cr(b"ab\r"), b"ab");
        assert_eq!(trim_cr(b"ab\r\r"), b"ab\r");
        assert_eq!(trim_cr(b""), b"");
    }

    #[test]
    fn unquotes() {
        assert_eq!(unquote(b"\"a\""), Some(&b"a"[..]));
        assert_eq!(unquote(b"\"\""), Some(&b""[..]));
        assert_eq!(unquote(b"\""), None);
        assert_eq!(unquote(b"a\""), None);
    }

    #[test]
    fn separators_both_ways() {
        let inner = b"a\"\t\"b\"\t\"c";
        let mut l = [0; 4];
        assert_eq!(seps_from_left(inner, &mut l), 2);
        assert_eq!(&l[..2], &[2, 6]);
        let mut r = [0; 4];
        assert_eq!(seps_from_right(inner, 0, &mut r), 2);
        assert_eq!(&r[..2], &[6, 2]);
        assert_eq!(seps_from_right(inner, 2, &mut r), 1);
    }

    #[test]
    fn overlapping_separators_are_not_double_counted() {
        // `"<TAB>"<TAB>"`: a field that is a lone TAB.
        let inner = b"a\"\t\"\t\"b";
        let mut l = [0; 4];
        assert_eq!(seps_from_left(inner, &mut l), 1);
        let mut r = [0; 4];
        assert_eq!(seps_from_right(inner, 0, &mut r), 1);
    }
}
