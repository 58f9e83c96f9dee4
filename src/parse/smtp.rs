//! SMTP log lines (`logs/smtp-YYYYMMDDHHMM`): 13 quoted, TAB-separated fields (12 before
//! XMail 1.12). Field 5, the client's HELO argument, is written raw and may hold `"` or TAB,
//! so fields 1 to 4 are taken from the left, fields 6 to 13 from the right, and whatever lies
//! between is the HELO.

use super::error::ParseError;
use super::fields::{
    between, parse_u64, record, seps_from_left, seps_from_right, trim_cr, unquote,
};
use super::status::{ParsedStatus, parse_status};
use super::time::LocalTime;

crate::label_enum! {
    /// Who submitted the message, as far as the SMTP log tells.
    pub enum Source: "source" {
        /// A remote client that did not authenticate.
        External => "external",
        /// A client that authenticated (SMTP AUTH or SMTP-after-POP3).
        Authenticated => "authenticated",
        /// A client on the loopback address: the webmail on the same host.
        Webmail => "webmail",
    }
}

/// One SMTP log record. Every field borrows from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SmtpEvent<'a> {
    /// Field 1: the server's FQDN (empty on connection-time rejections).
    pub server_fqdn: &'a [u8],
    /// Field 2: the server domain.
    pub server_domain: &'a [u8],
    /// Field 3: the peer IP, v4 or v6.
    pub peer_ip: &'a [u8],
    /// Field 4: local time of the event.
    pub time: LocalTime,
    /// Field 5: the HELO/EHLO argument, verbatim.
    pub helo: &'a [u8],
    /// Field 6: domain of the last accepted recipient.
    pub dest_domain: &'a [u8],
    /// Field 7: MAIL FROM address (empty for the null sender).
    pub sender: &'a [u8],
    /// Field 8: the recipient being tried, or the last one.
    pub recipient: &'a [u8],
    /// Field 9: `S` + hex message ID, empty before MAIL FROM.
    pub message_id: &'a [u8],
    /// Field 10: the status.
    pub status: ParsedStatus<'a>,
    /// Field 11: the authenticated user, empty if none.
    pub auth_user: &'a [u8],
    /// Field 12: bytes received (`RECV=OK`) or declared (`SIZE=EBIG`), else 0.
    pub size: u64,
    /// Field 13: the peer's reverse DNS, if checked; empty in 12-field records.
    pub client_fqdn: &'a [u8],
}

impl SmtpEvent<'_> {
    /// The `source` of this event: loopback peer first, then authentication.
    pub fn source(&self) -> Source {
        if is_loopback(self.peer_ip) {
            Source::Webmail
        } else if !self.auth_user.is_empty() {
            Source::Authenticated
        } else {
            Source::External
        }
    }
}

/// `127.0.0.0/8`, `::1` and the IPv4-mapped `::ffff:127.x.y.z`.
pub fn is_loopback(ip: &[u8]) -> bool {
    ip.starts_with(b"127.") || ip == b"::1" || ip.starts_with(b"::ffff:127.")
}

/// Parses one SMTP log line (without its LF; a trailing CR is removed here).
pub fn parse_smtp(line: &[u8]) -> Result<SmtpEvent<'_>, ParseError> {
    let inner = record(line)?;

    // Count up to 13 separators from the left: 11 means a pre-1.12 record of 12 fields,
    // 12 a record of 13; 13 means a HELO with a separator inside.
    let mut left = [0usize; 13];
    let seps_found = seps_from_left(inner, &mut left);
    let fields = match seps_found {
        11 => 12,
        12 | 13 => 13,
        _ => return Err(ParseError::FieldCount),
    };
    // `starts[i]` is the first byte of field i, `ends[i]` the index of its closing quote
    // (relative to `inner`, which has no outer quotes).
    let mut starts = [0usize; 13];
    let mut ends = [inner.len(); 13];
    for (i, &tab) in left[..fields - 1].iter().enumerate() {
        ends[i] = tab - 1;
        starts[i + 1] = tab + 2;
    }
    // The split from the left is exact unless the HELO holds a separator of its own (13 found)
    // or ends in `"<TAB>`: its closing quote then completes a false separator that hides the
    // real one, and the field after the false one starts with that real separator's TAB.
    // Either way, take fields 1-4 from the left, 6-N from the right, the HELO in between.
    if seps_found == 13
        || starts[1..fields]
            .iter()
            .any(|&s| inner.get(s) == Some(&b'\t'))
    {
        let after_helo = fields - 5;
        let mut right = [0usize; 8];
        let m = seps_from_right(inner, left[3] + 2, &mut right[..after_helo]);
        if m < after_helo {
            return Err(ParseError::FieldCount);
        }
        // right[after_helo - 1] ends the HELO; right[0] starts the last field.
        for (k, &tab) in right[..after_helo].iter().rev().enumerate() {
            let field = 4 + k; // the field this separator closes
            ends[field] = tab - 1;
            starts[field + 1] = tab + 2;
        }
    }
    let f = |i: usize| between(inner, starts[i], ends[i]);

    let time = LocalTime::parse_xmail(f(3)).ok_or(ParseError::BadTime)?;
    let status = parse_status(f(9)).ok_or(ParseError::BadStatus)?;
    let size = parse_u64(f(11)).ok_or(ParseError::BadSize)?;
    Ok(SmtpEvent {
        server_fqdn: f(0),
        server_domain: f(1),
        peer_ip: f(2),
        time,
        helo: f(4),
        dest_domain: f(5),
        sender: f(6),
        recipient: f(7),
        message_id: f(8),
        status,
        auth_user: f(10),
        size,
        client_fqdn: if fields == 13 { f(12) } else { &[] },
    })
}

/// The two fields of an SMTP line that can be its message ID (field 9), found from the right
/// without parsing: the fifth and the fourth from the end (field 9 of 13, of 12). Whenever
/// [`parse_smtp`] succeeds on `line`, its `message_id` is one of them; `None` when the line
/// cannot be a record. A search uses it to pass over the lines of other messages cheaply.
pub fn message_id_candidates(line: &[u8]) -> Option<[&[u8]; 2]> {
    let inner = unquote(trim_cr(line))?;
    // The separators after the HELO, as `parse_smtp` finds them when it splits from the
    // right; when it splits from the left, a line has no overlapping separators, so both
    // directions find the same ones.
    let mut right = [0usize; 5];
    if seps_from_right(inner, 0, &mut right) < 5 {
        return None;
    }
    Some([
        between(inner, right[4] + 2, right[3] - 1),
        between(inner, right[3] + 2, right[2] - 1),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::status::{AuthMechanism, Status, StatusCode};

    const RECV: &str = "\"mail.example.co.kr\"\t\"example.co.kr\"\t\"198.51.100.41\"\t\"2026-11-27 00:01:13\"\t\"mail-ej1-f41.google.com\"\t\"example.co.kr\"\t\"friend.lee@gmail.com\"\t\"kim@example.co.kr\"\t\"S293D9\"\t\"RECV=OK\"\t\"\"\t\"5321\"\t\"mail-ej1-f41.google.com\"";

    fn line(fields: &[&str]) -> String {
        let quoted: Vec<String> = fields.iter().map(|f| format!("\"{f}\"")).collect();
        quoted.join("\t")
    }

    #[test]
    fn parses_a_1_27_line() {
        let ev = parse_smtp(RECV.as_bytes()).unwrap();
        assert_eq!(ev.server_fqdn, b"mail.example.co.kr");
        assert_eq!(ev.peer_ip, b"198.51.100.41");
        assert_eq!(ev.helo, b"mail-ej1-f41.google.com");
        assert_eq!(ev.sender, b"friend.lee@gmail.com");
        assert_eq!(ev.recipient, b"kim@example.co.kr");
        assert_eq!(ev.message_id, b"S293D9");
        assert_eq!(ev.status.status, Status::Known(StatusCode::RecvOk));
        assert_eq!(ev.size, 5321);
        assert_eq!(ev.client_fqdn, b"mail-ej1-f41.google.com");
        assert_eq!(ev.source(), Source::External);
    }

    #[test]
    fn accepts_crlf() {
        let crlf = format!("{RECV}\r");
        assert_eq!(parse_smtp(crlf.as_bytes()), parse_smtp(RECV.as_bytes()));
    }

    #[test]
    fn helo_with_quote_and_separator_is_taken_from_both_ends() {
        for helo in [
            "friend\"s-pc",
            "a\"\t\"b",
            "x\"\t\"\"\t\"y",
            "\t",
            "\"",
            "\"\t\"",
        ] {
            let l = rcpt_ok_with_helo(helo);
            let ev = parse_smtp(l.as_bytes()).unwrap_or_else(|e| panic!("{helo:?}: {e}"));
            assert_eq!(ev.helo, helo.as_bytes(), "{helo:?}");
            assert_eq!(ev.peer_ip, b"192.0.2.7");
            assert_eq!(ev.recipient, b"d@example.co.kr");
            assert_eq!(ev.status.status, Status::Known(StatusCode::RcptOk));
            assert_eq!(ev.client_fqdn, b"");
        }
    }

    /// A 13-field `RCPT=OK` record with the given HELO.
    fn rcpt_ok_with_helo(helo: &str) -> String {
        line(&[
            "mx",
            "dom",
            "192.0.2.7",
            "2026-11-27 10:00:00",
            helo,
            "example.co.kr",
            "a@b.c",
            "d@example.co.kr",
            "S1",
            "RCPT=OK",
            "",
            "0",
            "",
        ])
    }

    #[test]
    fn helo_ending_in_quote_tab_is_not_cut() {
        // Found by the property tests: the HELO's `"<TAB>` and its closing quote look like
        // a separator; taken from the left, it cut the HELO to `x` and field 6 became
        // `<TAB>"example.co.kr`.
        for helo in ["x\"\t", "\"\t", "a\"\t\"b\"\t"] {
            let l = rcpt_ok_with_helo(helo);
            let ev = parse_smtp(l.as_bytes()).unwrap_or_else(|e| panic!("{helo:?}: {e}"));
            assert_eq!(ev.helo, helo.as_bytes(), "{helo:?}");
            assert_eq!(ev.dest_domain, b"example.co.kr", "{helo:?}");
            assert_eq!(ev.sender, b"a@b.c", "{helo:?}");
        }
    }

    #[test]
    fn twelve_field_records_have_no_client_fqdn() {
        let l = line(&[
            "mx",
            "dom",
            "192.0.2.7",
            "2004-01-02 03:04:05",
            "h",
            "d",
            "s",
            "r",
            "S1",
            "RECV=OK",
            "",
            "10",
        ]);
        let ev = parse_smtp(l.as_bytes()).unwrap();
        assert_eq!(ev.size, 10);
        assert_eq!(ev.client_fqdn, b"");
    }

    #[test]
    fn sources() {
        let with = |ip: &str, user: &str| {
            let l = line(&[
                "mx",
                "dom",
                ip,
                "2026-11-27 10:00:00",
                "h",
                "d",
                "s",
                "r",
                "S1",
                "RCPT=OK",
                user,
                "0",
                "",
            ]);
            parse_smtp(l.as_bytes()).unwrap().source()
        };
        assert_eq!(with("127.0.0.1", "kim@example.co.kr"), Source::Webmail);
        assert_eq!(with("::1", ""), Source::Webmail);
        assert_eq!(with("::ffff:127.0.0.1", ""), Source::Webmail);
        assert_eq!(
            with("203.0.113.5", "kim@example.co.kr"),
            Source::Authenticated
        );
        assert_eq!(with("2001:db8::1", ""), Source::External);
    }

    #[test]
    fn auth_failure_line() {
        let l = line(&[
            "mx",
            "dom",
            "203.0.113.9",
            "2026-11-27 10:00:00",
            "x",
            "",
            "",
            "",
            "",
            "AUTH=EFAIL:TYPE=LOGIN",
            "",
            "0",
            "",
        ]);
        let ev = parse_smtp(l.as_bytes()).unwrap();
        assert_eq!(ev.status.status, Status::Known(StatusCode::AuthFailed));
        assert_eq!(ev.status.auth_mechanism, Some(AuthMechanism::Login));
    }

    #[test]
    fn malformed_lines() {
        let ok = |f: &[&str]| parse_smtp(line(f).as_bytes()).map(|_| ());
        let base = [
            "mx",
            "dom",
            "192.0.2.7",
            "2026-11-27 10:00:00",
            "h",
            "d",
            "s",
            "r",
            "S1",
            "RCPT=OK",
            "",
            "0",
            "",
        ];
        assert!(ok(&base).is_ok());
        let mut bad_time = base;
        bad_time[3] = "2026-11-27";
        assert_eq!(ok(&bad_time), Err(ParseError::BadTime));
        let mut bad_size = base;
        bad_size[11] = "-1";
        assert_eq!(ok(&bad_size), Err(ParseError::BadSize));
        let mut bad_status = base;
        bad_status[9] = "hello";
        assert_eq!(ok(&bad_status), Err(ParseError::BadStatus));
        assert_eq!(ok(&base[..10]), Err(ParseError::FieldCount));
        assert_eq!(parse_smtp(b""), Err(ParseError::Empty));
        assert_eq!(parse_smtp(b"\r"), Err(ParseError::Empty));
        assert_eq!(parse_smtp(b"\""), Err(ParseError::NotQuoted));
        assert_eq!(parse_smtp(b"garbage"), Err(ParseError::NotQuoted));
        assert_eq!(parse_smtp(b"\"\0\0\0\""), Err(ParseError::FieldCount));
    }

    #[test]
    fn the_message_id_is_a_candidate() {
        let twelve = line(&[
            "mx",
            "dom",
            "192.0.2.7",
            "2026-11-27 10:00:00",
            "helo",
            "d",
            "a@b",
            "c@d",
            "S7",
            "RCPT=OK",
            "",
            "0",
        ]);
        let no_id = RECV.replace("\"S293D9\"", "\"\"");
        let mut lines = vec![RECV.to_string(), format!("{RECV}\r"), twelve, no_id];
        for helo in [
            "friend\"s-pc",
            "a\"\t\"b",
            "\t",
            "\"",
            "\"\t\"",
            "x\"\t",
            "a\"\t\"b\"\t",
        ] {
            lines.push(rcpt_ok_with_helo(helo));
        }
        for l in &lines {
            for i in 0..=l.len() {
                for part in [l.as_bytes(), &l.as_bytes()[..i], &l.as_bytes()[i..]] {
                    if let Ok(ev) = parse_smtp(part) {
                        let c = message_id_candidates(part).unwrap();
                        assert!(c.contains(&ev.message_id), "{part:?}");
                    }
                }
            }
        }
        let c = message_id_candidates(RECV.as_bytes()).unwrap();
        assert_eq!(c, [&b"S293D9"[..], b"RECV=OK"]);
        assert_eq!(message_id_candidates(b""), None);
        assert_eq!(message_id_candidates(b"\"a\"\t\"b\""), None);
    }

    #[test]
    fn never_panics_on_prefixes_of_a_good_line() {
        let l = RECV.as_bytes();
        for i in 0..=l.len() {
            let _ = parse_smtp(&l[..i]);
            let _ = parse_smtp(&l[i..]);
        }
    }
}
