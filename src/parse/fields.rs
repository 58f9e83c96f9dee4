//! Splitting XMail records: `"f1"<TAB>"f2"<TAB>..."fN"`, written without any escaping.
//!
//! A separator is the three bytes `"`, TAB, `"`. Only a client-controlled value (the SMTP
//! HELO) or a remote server's reply (SMAIL field 9) can contain one, so records are split
//! from both ends around that one free field.

use super::error::ParseError;

pub mod scan;

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

/// Finds up to `out.len()` separators from the left. Returns how many were found; the
/// positions stored are those of the TABs. Stops early once `out` is full.
#[inline]
pub fn seps_from_left(inner: &[u8], out: &mut [usize]) -> usize {
    scan::from_left(inner, out)
}

/// Finds up to `out.len()` separators from the right, stopping at `floor` (exclusive: a TAB
/// at an index `<= floor` is not taken). `out[0]` is the rightmost.
#[inline]
pub fn seps_from_right(inner: &[u8], floor: usize, out: &mut [usize]) -> usize {
    scan::from_right(inner, floor, out)
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
