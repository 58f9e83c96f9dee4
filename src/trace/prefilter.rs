//! The literal pre-filter of a search: before a line is parsed, a few byte searches tell
//! whether it can matter to the pass at all. Each test is a necessary condition for what the
//! pass's handler in [`super`] looks for (an ID, an address in any case, a spool file name, a
//! bounce), so a line that fails it would have changed nothing, and skipping it changes
//! nothing but the time. An SMAIL line that is skipped still moves the file's
//! [`ParseCtx`] as parsing it would ([`ParseCtx::skip_smail`]).
//!
//! Owns the byte tests only; where the fields of a record lie is [`crate::parse`]'s.

use std::collections::BTreeSet;

use memchr::{memchr_iter, memchr2_iter, memmem};

use super::query::Query;
use crate::parse::smail::spool_and_id;
use crate::parse::smtp::message_id_candidates;
use crate::parse::{LogKind, ParseCtx};

/// What a line of each kind must hold to matter to one pass.
pub(super) struct Prefilter<'a> {
    /// `None`: no SMTP line matters, the files are not read.
    smtp: Option<SmtpWant<'a>>,
    /// `None`: no SMAIL line matters, the files are not read.
    smail: Option<SmailWant<'a>>,
    /// Whether filters lines matter (the second pass joins them to messages by address and
    /// time; they carry no message ID).
    filters: bool,
}

impl<'a> Prefilter<'a> {
    /// Pass 1: the lines that name the address (SMTP and SMAIL) or the spool file (SMAIL).
    pub(super) fn find_ids(query: &'a Query) -> Prefilter<'a> {
        match query {
            Query::Address(a) => Prefilter {
                smtp: Some(SmtpWant {
                    ids: None,
                    one_id: None,
                    address: Some(AddressFinder::new(a.as_bytes())),
                }),
                smail: Some(SmailWant {
                    address: Some(AddressFinder::new(a.as_bytes())),
                    ..SmailWant::default()
                }),
                filters: false,
            },
            Query::Spool(s) => Prefilter {
                smtp: None,
                smail: Some(SmailWant {
                    spool: Some(s.as_bytes()),
                    ..SmailWant::default()
                }),
                filters: false,
            },
            // An ID query has no first pass.
            Query::Id(_) => Prefilter {
                smtp: None,
                smail: None,
                filters: false,
            },
        }
    }

    /// Pass 2: the lines of the messages `ids`, the SMTP lines that name the address (those
    /// without an ID are kept by it), and the SMAIL lines of `X…` messages (bounces).
    pub(super) fn collect(query: &'a Query, ids: &'a BTreeSet<String>) -> Prefilter<'a> {
        let address = match query {
            Query::Address(a) => Some(AddressFinder::new(a.as_bytes())),
            _ => None,
        };
        Prefilter {
            smtp: Some(SmtpWant::pass2(ids, address)),
            smail: Some(SmailWant {
                ids: Some(IdSet::new(ids)),
                bounces: true,
                ..SmailWant::default()
            }),
            filters: true,
        }
    }

    /// Can a line of a file of `kind` matter? A file that cannot is not read.
    pub(super) fn reads(&self, kind: LogKind) -> bool {
        match kind {
            LogKind::Smtp => self.smtp.is_some(),
            LogKind::Smail => self.smail.is_some(),
            LogKind::Filters => self.filters,
            _ => false,
        }
    }

    /// Can `line` matter? If not, an SMAIL line has been passed over in `ctx`.
    pub(super) fn wants(&self, ctx: &mut ParseCtx, line: &[u8]) -> bool {
        match ctx.kind {
            LogKind::Smtp => self.smtp.as_ref().is_some_and(|w| w.matches(line)),
            LogKind::Smail => {
                let wanted = self.smail.as_ref().is_some_and(|w| w.matches(line));
                if !wanted {
                    ctx.skip_smail(line);
                }
                wanted
            }
            LogKind::Filters => self.filters,
            _ => false,
        }
    }
}

/// What an SMTP line must hold. Pass 1: the address. Pass 2: in a field that can be its
/// message ID (found without parsing) one of the IDs, or no ID and the address anywhere; for
/// the one ID of an ID query, its bytes anywhere (a search of the whole line is quicker).
struct SmtpWant<'a> {
    ids: Option<IdSet<'a>>,
    one_id: Option<memmem::Finder<'a>>,
    address: Option<AddressFinder>,
}

impl<'a> SmtpWant<'a> {
    fn pass2(ids: &'a BTreeSet<String>, address: Option<AddressFinder>) -> SmtpWant<'a> {
        let one_id = match ids.first() {
            Some(id) if ids.len() == 1 && address.is_none() && plain(id) => {
                Some(memmem::Finder::new(id.as_bytes()))
            }
            _ => None,
        };
        SmtpWant {
            ids: Some(IdSet::new(ids)),
            one_id,
            address,
        }
    }

    fn matches(&self, line: &[u8]) -> bool {
        if let Some(f) = &self.one_id {
            return f.find(line).is_some();
        }
        let address = || self.address.as_ref().is_some_and(|a| a.is_in(line));
        let Some(ids) = &self.ids else {
            return address();
        };
        // A line that is no record changes nothing.
        message_id_candidates(line).is_some_and(|candidates| {
            candidates.iter().any(|id| match id {
                [] => address(),
                id => ids.contains(id),
            })
        })
    }
}

/// What an SMAIL line must hold: the address anywhere, or in its fields 2 and 3 (found
/// without parsing) the spool file, an `X…` ID, or one of the IDs.
#[derive(Default)]
struct SmailWant<'a> {
    address: Option<AddressFinder>,
    spool: Option<&'a [u8]>,
    bounces: bool,
    ids: Option<IdSet<'a>>,
}

impl SmailWant<'_> {
    fn matches(&self, line: &[u8]) -> bool {
        if self.address.as_ref().is_some_and(|a| a.is_in(line)) {
            return true;
        }
        // The other tests are on fields a record that parses has.
        let Some((spool, id)) = spool_and_id(line) else {
            return false;
        };
        (self.bounces && id.first() == Some(&b'X'))
            || self.spool.is_some_and(|s| spool == s)
            || self.ids.as_ref().is_some_and(|ids| ids.contains(id))
    }
}

/// Is `id` plain ASCII letters and digits? Then a field whose lossy text is `id` holds the
/// bytes of `id`, and a search for them finds it.
fn plain(id: &str) -> bool {
    !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The IDs of pass 2, to look fields up in.
enum IdSet<'a> {
    /// Every ID is [`plain`] and at most 16 bytes long: their [`key`]s, sorted.
    Keys(Vec<u128>),
    /// Else: compared as the handler compares, by the lossy text of the field.
    Text(&'a BTreeSet<String>),
}

/// Up to 16 bytes as a number: the bytes, zero-padded (a plain ID holds no zero byte).
fn key(b: &[u8]) -> Option<u128> {
    let mut k = [0u8; 16];
    k.get_mut(..b.len())?.copy_from_slice(b);
    Some(u128::from_le_bytes(k))
}

impl<'a> IdSet<'a> {
    fn new(ids: &'a BTreeSet<String>) -> IdSet<'a> {
        let keys: Option<Vec<u128>> = ids
            .iter()
            .map(|id| key(id.as_bytes()).filter(|_| plain(id)))
            .collect();
        match keys {
            Some(mut keys) => {
                keys.sort_unstable();
                IdSet::Keys(keys)
            }
            None => IdSet::Text(ids),
        }
    }

    fn contains(&self, field: &[u8]) -> bool {
        match self {
            IdSet::Keys(keys) => key(field).is_some_and(|k| keys.binary_search(&k).is_ok()),
            IdSet::Text(ids) => ids.contains(&*String::from_utf8_lossy(field)),
        }
    }
}

/// An address, found in any ASCII case (the handlers compare addresses so).
struct AddressFinder {
    /// Lower-cased.
    needle: Vec<u8>,
    /// Where in `needle` the byte searched for first is: its `@`, else its first byte that
    /// is not a letter, else its first byte. A line holds two or three `@`, many letters.
    anchor: usize,
}

impl AddressFinder {
    fn new(address: &[u8]) -> AddressFinder {
        let needle = address.to_ascii_lowercase();
        let anchor = needle
            .iter()
            .position(|&b| b == b'@')
            .or_else(|| needle.iter().position(|b| !b.is_ascii_alphabetic()))
            .unwrap_or(0);
        AddressFinder { needle, anchor }
    }

    fn is_in(&self, line: &[u8]) -> bool {
        let (needle, anchor) = (&self.needle[..], self.anchor);
        let Some(&b) = needle.get(anchor) else {
            return true;
        };
        let at = |at: usize| {
            let Some(w) = at
                .checked_sub(anchor)
                .and_then(|start| line.get(start..start + needle.len()))
            else {
                return false;
            };
            // The bytes beside the anchor first: most `@` of a line are another address's.
            let near = |i: usize| w.get(i).map(u8::to_ascii_lowercase) == needle.get(i).copied();
            (anchor == 0 || near(anchor - 1)) && near(anchor + 1) && w.eq_ignore_ascii_case(needle)
        };
        if b.is_ascii_alphabetic() {
            memchr2_iter(b, b.to_ascii_uppercase(), line).any(at)
        } else {
            memchr_iter(b, line).any(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_in_any_case() {
        let f = AddressFinder::new(b"Kim@Example.co.kr");
        assert!(f.is_in(b"\"x\"\t\"KIM@EXAMPLE.CO.KR\"\t\"y\""));
        assert!(f.is_in(b"kim@example.co.kr"));
        assert!(f.is_in(b"@kim@example.co.kr@"));
        assert!(!f.is_in(b"kim@example.co.k"));
        assert!(!f.is_in(b"im@example.co.kr"));
        assert!(!f.is_in(b""));
        // No `@`: anchored on the first byte that is not a letter, or the first.
        assert!(AddressFinder::new(b"ab.cd").is_in(b"xAB.CDx"));
        assert!(AddressFinder::new(b"abcd").is_in(b"xxABCd"));
        assert!(!AddressFinder::new(b"abcd").is_in(b"abc"));
        assert!(AddressFinder::new(b"").is_in(b""));
    }

    fn set(ids: &[&str]) -> BTreeSet<String> {
        ids.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn id_sets() {
        let ids = set(&["S1A", "S2B", "S1234567890ABCDE"]);
        let keys = IdSet::new(&ids);
        assert!(matches!(keys, IdSet::Keys(_)));
        for (field, found) in [
            (&b"S1A"[..], true),
            (b"S2B", true),
            (b"S1", false),
            (b"S1AB", false),
            (b"", false),
            (b"S1234567890ABCDE", true),
            (b"S1234567890ABCDE0", false),
        ] {
            assert_eq!(keys.contains(field), found, "{field:?}");
        }
        // An ID longer than 16 bytes, or one that is not plain, is compared as text.
        let long = set(&["S1234567890ABCDEF0"]);
        assert!(matches!(IdSet::new(&long), IdSet::Text(_)));
        assert!(IdSet::new(&long).contains(b"S1234567890ABCDEF0"));
        let lossy = set(&["S\u{fffd}1"]);
        assert!(IdSet::new(&lossy).contains(b"S\xff1"));
        assert!(IdSet::new(&lossy).contains(b"S\xfe1"));
    }

    fn smtp(id: &str, rcpt: &str) -> String {
        format!(
            "\"mx\"\t\"dom\"\t\"192.0.2.7\"\t\"2026-11-27 10:00:00\"\t\"helo\"\t\"dom\"\t\"a@b\"\t\"{rcpt}\"\t\"{id}\"\t\"RCPT=OK\"\t\"\"\t\"0\"\t\"\""
        )
    }

    #[test]
    fn smtp_lines_of_the_ids_or_without_one_naming_the_address() {
        let ids = set(&["S1A", "S2B"]);
        let by_field = SmtpWant::pass2(&ids, Some(AddressFinder::new(b"kim@x")));
        let one = set(&["S1A"]);
        let by_bytes = SmtpWant::pass2(&one, None);
        assert!(by_field.one_id.is_none() && by_bytes.one_id.is_some());
        for w in [&by_field, &by_bytes] {
            assert!(w.matches(smtp("S1A", "c@d").as_bytes()));
            assert!(!w.matches(smtp("S9", "c@d").as_bytes()));
            assert!(!w.matches(b"garbage"));
        }
        assert!(by_field.matches(smtp("S2B", "c@d").as_bytes()));
        assert!(by_field.matches(smtp("", "KIM@X").as_bytes()));
        assert!(!by_field.matches(smtp("", "c@d").as_bytes()));
        // With an ID, the address does not matter: the ID decides.
        assert!(!by_field.matches(smtp("S9", "kim@x").as_bytes()));
    }

    #[test]
    fn smail_lines_of_the_ids_the_spool_file_and_bounces() {
        let line = |spool: &str, id: &str| {
            format!(
                "\"dom\"\t\"{spool}\"\t\"{id}\"\t\"a@b\"\t\"c@d\"\t\"LOCAL\"\t\"c@d\"\t\"2026-11-27 10:00:00\"\t\"\""
            )
        };
        let ids = set(&["S1A"]);
        let q = Query::Address("c@d".into());
        let pass2 = Prefilter::collect(&q, &ids);
        let w = pass2.smail.as_ref().unwrap();
        assert!(w.matches(line("x.mail", "S1A").as_bytes()));
        assert!(w.matches(line("x.mail", "X9").as_bytes()));
        assert!(!w.matches(line("x.mail", "S9").as_bytes()));
        let q = Query::Spool("x.mail".into());
        let pass1 = Prefilter::find_ids(&q);
        assert!(!pass1.reads(LogKind::Smtp));
        let w = pass1.smail.as_ref().unwrap();
        assert!(w.matches(line("x.mail", "S9").as_bytes()));
        assert!(!w.matches(line("y.mail", "S9").as_bytes()));
        assert!(!w.matches(b"\"x.mail\""));
    }
}
