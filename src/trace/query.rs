//! What a person asks `trace` for: a message ID, an address or a spool file name, read from
//! what they typed ([`Query::parse`]). Finding the lines is [`super`]'s.

/// What is asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Query {
    /// A message ID, upper-cased.
    Id(String),
    /// An address, lower-cased.
    Address(String),
    /// A spool file name.
    Spool(String),
}

impl Query {
    /// Reads what a person typed: an ID (`S`, `L`, `P` or `X` and hex digits, any case), an
    /// address (it has an `@`), else a spool file name.
    pub fn parse(q: &str) -> Query {
        let q = q.trim();
        let upper = q.to_ascii_uppercase();
        let is_id = upper.len() >= 2
            && matches!(upper.as_bytes()[0], b'S' | b'L' | b'P' | b'X')
            && upper[1..].bytes().all(|b| b.is_ascii_hexdigit());
        if is_id {
            Query::Id(upper)
        } else if q.contains('@') {
            Query::Address(q.to_ascii_lowercase())
        } else {
            Query::Spool(q.to_string())
        }
    }

    /// Does an address field name the queried address?
    pub(super) fn is_address(&self, field: &[u8]) -> bool {
        matches!(self, Query::Address(a) if field.eq_ignore_ascii_case(a.as_bytes()))
    }
}
