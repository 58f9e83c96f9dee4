//! SMAIL log lines (`logs/smail-YYYYMMDDHHMM`): one line per successful hand-off.
//!
//! XMail up to 1.24 writes 8 fields; 1.25 and later add field 9, the remote server's reply
//! to DATA, which is arbitrary bytes (quotes, TABs, non-UTF-8, even CRLF). Fields 1 to 8 are
//! therefore taken from the left and everything after the eighth separator is field 9.

use super::error::ParseError;
use super::fields::{between, seps_from_left, trim_cr};
use super::time::LocalTime;

crate::label_enum! {
    /// The delivery types XMail writes (reference §3.1).
    pub enum DeliveryType: "type" {
        /// Stored in a local mailbox.
        Local => "LOCAL",
        /// Handed to a remote server (MX, gateway or relay domain).
        Smtp => "SMTP",
        /// Handed to a forwarder from `smtpfwd.tab`.
        Fwd => "FWD",
        /// Handed to an `smtprelay` host.
        Rlys => "RLYS",
        /// An `external` command ran.
        Extrn => "EXTRN",
        /// A `filter` command ran (not a delivery by itself).
        Filter => "FILTER",
        /// A `redirect` copy was queued.
        Redir => "REDIR",
        /// An `lredirect` copy was queued.
        Lredir => "LREDIR",
        /// A type this table does not know.
        Other => "other",
    }
}

impl DeliveryType {
    fn from_bytes(b: &[u8]) -> DeliveryType {
        match b {
            b"LOCAL" => DeliveryType::Local,
            b"SMTP" => DeliveryType::Smtp,
            b"FWD" => DeliveryType::Fwd,
            b"RLYS" => DeliveryType::Rlys,
            b"EXTRN" => DeliveryType::Extrn,
            b"FILTER" => DeliveryType::Filter,
            b"REDIR" => DeliveryType::Redir,
            b"LREDIR" => DeliveryType::Lredir,
            _ => DeliveryType::Other,
        }
    }
}

crate::label_enum! {
    /// Where a message came from, by its ID prefix (reference §6).
    pub enum Origin: "origin" {
        /// `S`: received by the SMTP server.
        Smtp => "smtp",
        /// `L`: dropped into the local spool (LMAIL).
        Local => "local",
        /// `P`: fetched by POP3 sync.
        Pop3Sync => "pop3sync",
        /// `X`: a notification or bounce made by XMail.
        Bounce => "bounce",
        /// Any other prefix.
        Other => "other",
    }
}

impl Origin {
    /// The origin of a message ID.
    pub fn of_message_id(id: &[u8]) -> Origin {
        match id.first() {
            Some(b'S') => Origin::Smtp,
            Some(b'L') => Origin::Local,
            Some(b'P') => Origin::Pop3Sync,
            Some(b'X') => Origin::Bounce,
            _ => Origin::Other,
        }
    }
}

/// One SMAIL log record. Every field borrows from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmailEvent<'a> {
    /// Field 1: the SMTP domain of the receiving session.
    pub smtp_domain: &'a [u8],
    /// Field 2: the spool file name (opaque; `.eml` in old builds).
    pub spool_file: &'a [u8],
    /// Field 3: the message ID (`S`, `L`, `P` or `X` + hex).
    pub message_id: &'a [u8],
    /// Field 4: the envelope sender (empty for the null sender).
    pub sender: &'a [u8],
    /// Field 5: the envelope recipient.
    pub recipient: &'a [u8],
    /// Field 6: the delivery type.
    pub delivery: DeliveryType,
    /// Field 6 as written (differs from `delivery` only for [`DeliveryType::Other`]).
    pub delivery_raw: &'a [u8],
    /// Field 7: depends on the type (mailbox, remote host, program, redirect target).
    pub param: &'a [u8],
    /// Field 8: local time of the delivery.
    pub time: LocalTime,
    /// Field 9 (1.25+): the remote server's reply; `None` in 8-field records.
    pub remote_id: Option<&'a [u8]>,
    /// `true` when field 9 is not closed on this line: a multi-line remote reply whose next
    /// physical lines belong to this record.
    pub continues: bool,
}

impl SmailEvent<'_> {
    /// The origin of the message, from its ID.
    pub fn origin(&self) -> Origin {
        Origin::of_message_id(self.message_id)
    }
}

fn is_id(b: &[u8]) -> bool {
    !b.is_empty() && b.len() <= 32 && b.iter().all(u8::is_ascii_alphanumeric)
}

/// Parses one SMAIL log line (without its LF; a trailing CR is removed here).
pub fn parse_smail(line: &[u8]) -> Result<SmailEvent<'_>, ParseError> {
    let line = trim_cr(line);
    if line.is_empty() {
        return Err(ParseError::Empty);
    }
    let inner = match line {
        [b'"', rest @ ..] => rest,
        _ => return Err(ParseError::NotQuoted),
    };
    let mut seps = [0usize; 8];
    let n = seps_from_left(inner, &mut seps);
    if n < 7 {
        return Err(ParseError::FieldCount);
    }
    let mut starts = [0usize; 9];
    let mut ends = [0usize; 9];
    for (i, &tab) in seps[..n].iter().enumerate() {
        ends[i] = tab - 1;
        starts[i + 1] = tab + 2;
    }
    // The last field runs to the closing quote at the end of the line; if there is none,
    // it is a remote reply that goes on on the next physical line.
    let closed = inner.last() == Some(&b'"') && inner.len() > starts[n];
    ends[n] = if closed { inner.len() - 1 } else { inner.len() };
    if !closed && n == 7 {
        // Only field 9 may run over a line end.
        return Err(ParseError::NotQuoted);
    }
    let f = |i: usize| between(inner, starts[i], ends[i]);

    let time = LocalTime::parse_xmail(f(7)).ok_or(ParseError::BadTime)?;
    let message_id = f(2);
    let delivery_raw = f(5);
    if !is_id(message_id) || !is_id(delivery_raw) {
        return Err(ParseError::BadId);
    }
    Ok(SmailEvent {
        smtp_domain: f(0),
        spool_file: f(1),
        message_id,
        sender: f(3),
        recipient: f(4),
        delivery: DeliveryType::from_bytes(delivery_raw),
        delivery_raw,
        param: f(6),
        time,
        remote_id: (n == 8).then(|| f(8)),
        continues: !closed,
    })
}

/// Fields 2 and 3 of an SMAIL record (the spool file name and the message ID), found
/// without parsing the rest: whenever [`parse_smail`] succeeds on `line`, these are its
/// `spool_file` and `message_id`. `None` when the line cannot be a record. A search uses it
/// to pass over the lines of other messages cheaply.
pub fn spool_and_id(line: &[u8]) -> Option<(&[u8], &[u8])> {
    let inner = trim_cr(line).strip_prefix(b"\"")?;
    // The first separators are the ones `parse_smail` finds: both search from the left.
    let mut seps = [0usize; 3];
    if seps_from_left(inner, &mut seps) < 3 {
        return None;
    }
    Some((
        between(inner, seps[0] + 2, seps[1] - 1),
        between(inner, seps[1] + 2, seps[2] - 1),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NINE: &str = "\"example.co.kr\"\t\"1795705274655.7f3aa27fc700.1f4c.3a11.mail\"\t\"S293D9\"\t\"friend.lee@gmail.com\"\t\"kim.backup@gmail.com\"\t\"SMTP\"\t\"gmail-smtp-in.l.google.com\"\t\"2026-11-27 00:01:16\"\t\"2.0.0 OK  1795705276 d2e1a72fcca58-7ee1a6f3c71si1234567b3a.88 - gsmtp\"";
    const EIGHT: &str = "\"to.com\"\t\"1176750679692.2799696816.3f99e.eml\"\t\"SAFF9E\"\t\"id@from.com\"\t\"admin@to.com\"\t\"REDIR\"\t\"admin@forward.com\"\t\"2007-04-17 04:11:22\"";

    #[test]
    fn parses_nine_fields() {
        let ev = parse_smail(NINE.as_bytes()).unwrap();
        assert_eq!(ev.message_id, b"S293D9");
        assert_eq!(ev.delivery, DeliveryType::Smtp);
        assert_eq!(ev.param, b"gmail-smtp-in.l.google.com");
        assert_eq!(ev.time.second, 16);
        assert_eq!(
            ev.remote_id,
            Some(&b"2.0.0 OK  1795705276 d2e1a72fcca58-7ee1a6f3c71si1234567b3a.88 - gsmtp"[..])
        );
        assert_eq!(ev.origin(), Origin::Smtp);
        assert!(!ev.continues);
    }

    #[test]
    fn parses_eight_fields_of_old_builds() {
        let ev = parse_smail(EIGHT.as_bytes()).unwrap();
        assert_eq!(ev.spool_file, b"1176750679692.2799696816.3f99e.eml");
        assert_eq!(ev.delivery, DeliveryType::Redir);
        assert_eq!(ev.param, b"admin@forward.com");
        assert_eq!(ev.remote_id, None);
        let crlf = format!("{EIGHT}\r");
        assert_eq!(parse_smail(crlf.as_bytes()), parse_smail(EIGHT.as_bytes()));
    }

    #[test]
    fn field_nine_is_free_bytes() {
        let mut l = NINE.replace("2.0.0 OK", "queued \"as\"\t\"x").into_bytes();
        l.extend_from_slice(b"\xb0\xa1");
        l.push(b'"');
        let ev = parse_smail(&l).unwrap();
        assert!(ev.remote_id.unwrap().starts_with(b"queued \"as\"\t\"x"));
        assert!(ev.remote_id.unwrap().ends_with(b"\xb0\xa1"));
    }

    #[test]
    fn multi_line_reply_continues() {
        let first = NINE.replace(
            "2.0.0 OK  1795705276 d2e1a72fcca58-7ee1a6f3c71si1234567b3a.88 - gsmtp\"",
            "250-first line\r",
        );
        let ev = parse_smail(first.as_bytes()).unwrap();
        assert!(ev.continues);
        assert_eq!(ev.remote_id, Some(&b"250-first line"[..]));
    }

    #[test]
    fn every_type_and_origin() {
        for t in DeliveryType::ALL {
            let l = EIGHT.replace("REDIR", t.as_str());
            let ev = parse_smail(l.as_bytes()).unwrap();
            assert_eq!(ev.delivery, t);
        }
        for (id, o) in [
            ("S1", Origin::Smtp),
            ("L2", Origin::Local),
            ("P3", Origin::Pop3Sync),
            ("X4", Origin::Bounce),
            ("Q5", Origin::Other),
        ] {
            let l = EIGHT.replace("SAFF9E", id);
            assert_eq!(parse_smail(l.as_bytes()).unwrap().origin(), o);
        }
    }

    #[test]
    fn spool_and_id_agree_with_the_parser() {
        let crlf = format!("{NINE}\r");
        let odd_sender = NINE.replace("friend.lee@gmail.com", "a\"b\tc@d");
        for l in [NINE, EIGHT, &crlf, &odd_sender] {
            let ev = parse_smail(l.as_bytes()).unwrap();
            assert_eq!(
                spool_and_id(l.as_bytes()),
                Some((ev.spool_file, ev.message_id))
            );
            for i in 0..=l.len() {
                for part in [&l.as_bytes()[..i], &l.as_bytes()[i..]] {
                    if let Ok(ev) = parse_smail(part) {
                        assert_eq!(spool_and_id(part), Some((ev.spool_file, ev.message_id)));
                    }
                }
            }
        }
        assert_eq!(spool_and_id(b""), None);
        assert_eq!(spool_and_id(b"\"a\"\t\"b\""), None);
    }

    #[test]
    fn malformed() {
        assert_eq!(parse_smail(b""), Err(ParseError::Empty));
        assert_eq!(parse_smail(b"x"), Err(ParseError::NotQuoted));
        assert_eq!(parse_smail(b"\"a\"\t\"b\""), Err(ParseError::FieldCount));
        let bad_time = EIGHT.replace("2007-04-17 04:11:22", "yesterday");
        assert_eq!(parse_smail(bad_time.as_bytes()), Err(ParseError::BadTime));
        let bad_id = EIGHT.replace("SAFF9E", "");
        assert_eq!(parse_smail(bad_id.as_bytes()), Err(ParseError::BadId));
        let unclosed8 = &EIGHT[..EIGHT.len() - 1];
        assert_eq!(
            parse_smail(unclosed8.as_bytes()),
            Err(ParseError::NotQuoted)
        );
        for i in 0..=NINE.len() {
            let _ = parse_smail(&NINE.as_bytes()[..i]);
            let _ = parse_smail(&NINE.as_bytes()[i..]);
        }
    }
}
