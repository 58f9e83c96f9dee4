//! POP3 log lines (`logs/pop3-YYYYMMDDHHMM`, XMail started with `-Pl`).
//!
//! XMail 1.25+ writes `"SvrFQDN" "Domain" "PeerIP" "Time" "User" "Password" "Status"`, plus
//! `"<messages>" "<mailbox bytes>"` after a successful `LOGIN`; a failed login ends in
//! `ELOGIN`. Builds up to 1.24 write the first six fields only, at PASS time, so success and
//! failure cannot be told apart. The password field may hold anything (when XMail is set to
//! log it), so the status is read from the right. Neither the user nor the password is kept.

use super::error::ParseError;
use super::fields::{between, parse_u64, record, seps_from_left, seps_from_right};

use super::time::LocalTime;

crate::label_enum! {
    /// How a login ended.
    pub enum LoginResult: "result" {
        /// `LOGIN`: the user logged in.
        Ok => "ok",
        /// `ELOGIN`: the login failed.
        Failed => "failed",
        /// A line of XMail up to 1.24, which does not say.
        Unknown => "unknown",
    }
}

/// One POP3 log record, without the user name and password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pop3Event<'a> {
    /// Field 1: the server's FQDN (or the peer IP, a quirk of XMail).
    pub server_fqdn: &'a [u8],
    /// Field 2: the domain the user logged in to.
    pub domain: &'a [u8],
    /// Field 3: the client's IP.
    pub peer_ip: &'a [u8],
    /// Field 4: local time.
    pub time: LocalTime,
    /// How the login ended.
    pub result: LoginResult,
    /// On `LOGIN`: messages in the mailbox.
    pub messages: Option<u64>,
    /// On `LOGIN`: bytes in the mailbox.
    pub mailbox_bytes: Option<u64>,
}

/// Parses one POP3 log line (without its LF; a trailing CR is removed here).
pub fn parse_pop3(line: &[u8]) -> Result<Pop3Event<'_>, ParseError> {
    let inner = record(line)?;
    let mut left = [0usize; 5];
    if seps_from_left(inner, &mut left) < 5 {
        return Err(ParseError::FieldCount);
    }
    let field = |start: usize, end: usize| between(inner, start, end);
    let server_fqdn = field(0, left[0] - 1);
    let domain = field(left[0] + 2, left[1] - 1);
    let peer_ip = field(left[1] + 2, left[2] - 1);
    let time =
        LocalTime::parse_xmail(field(left[2] + 2, left[3] - 1)).ok_or(ParseError::BadTime)?;
    // From the right, after the user name: the status and the counts, if any.
    let mut right = [0usize; 3];
    let n = seps_from_right(inner, left[4] + 2, &mut right);
    let last = field(right[0] + 2, inner.len());
    // `LOGIN` and two numbers: XMail 1.25+'s successful login. `LOGIN` followed by anything
    // else there is no record XMail writes: it is a legacy line whose user name or password
    // holds separators, and says nothing about success.
    let login_counts = || -> Option<(u64, u64)> {
        if n >= 3 && field(right[2] + 2, right[1] - 1) == b"LOGIN" {
            Some((
                parse_u64(field(right[1] + 2, right[0] - 1))?,
                parse_u64(last)?,
            ))
        } else {
            None
        }
    };
    let (result, messages, mailbox_bytes) = if n >= 1 && last == b"ELOGIN" {
        (LoginResult::Failed, None, None)
    } else if let Some((messages, bytes)) = login_counts() {
        (LoginResult::Ok, Some(messages), Some(bytes))
    } else if n >= 1 && last == b"LOGIN" {
        // A LOGIN without the counts (not written by any known build): still a login.
        (LoginResult::Ok, None, None)
    } else {
        (LoginResult::Unknown, None, None)
    };
    Ok(Pop3Event {
        server_fqdn,
        domain,
        peer_ip,
        time,
        result,
        messages,
        mailbox_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(fields: &[&str]) -> String {
        fields
            .iter()
            .map(|f| format!("\"{f}\""))
            .collect::<Vec<_>>()
            .join("\t")
    }

    #[test]
    fn login_ok_with_counts() {
        let l = line(&[
            "mail.example.co.kr",
            "example.co.kr",
            "203.0.113.5",
            "2026-11-27 00:00:31",
            "kim",
            "",
            "LOGIN",
            "3",
            "48211",
        ]);
        let ev = parse_pop3(l.as_bytes()).unwrap();
        assert_eq!(ev.result, LoginResult::Ok);
        assert_eq!((ev.messages, ev.mailbox_bytes), (Some(3), Some(48211)));
        assert_eq!(ev.peer_ip, b"203.0.113.5");
        assert_eq!(ev.domain, b"example.co.kr");
    }

    #[test]
    fn failed_login_with_a_logged_password_full_of_separators() {
        for pw in ["", "hunter2", "a\"\t\"LOGIN\"\t\"3\"\t\"4", "\"\t\""] {
            let l = line(&[
                "localhost",
                "example.co.kr",
                "127.0.0.1",
                "2026-11-27 00:09:00",
                "lee",
                pw,
                "ELOGIN",
            ]);
            let ev = parse_pop3(l.as_bytes()).unwrap();
            assert_eq!(ev.result, LoginResult::Failed, "{pw:?}");
            assert_eq!(ev.messages, None);
        }
    }

    #[test]
    fn a_legacy_line_whose_user_name_looks_like_a_login_is_still_a_login() {
        // A 1.24 line (no status) whose user name ends like `…"LOGIN"<TAB>"`: the counts
        // after it are not numbers, so it is not a 1.25 LOGIN record.
        let l = line(&[
            "mail.example.co.kr",
            "example.co.kr",
            "203.0.113.5",
            "2026-11-27 00:00:31",
            "x\"\t\"LOGIN\"\t\"",
            "\u{7}",
        ]);
        let ev = parse_pop3(l.as_bytes()).unwrap();
        assert_eq!(ev.result, LoginResult::Unknown);
        assert_eq!((ev.messages, ev.mailbox_bytes), (None, None));
    }

    #[test]
    fn legacy_lines_say_nothing_about_success() {
        let l = line(&[
            "mail.example.co.kr",
            "example.co.kr",
            "203.0.113.5",
            "2004-01-02 03:04:05",
            "kim",
            "secret",
        ]);
        let crlf = format!("{l}\r");
        let ev = parse_pop3(crlf.as_bytes()).unwrap();
        assert_eq!(ev.result, LoginResult::Unknown);
    }

    #[test]
    fn malformed() {
        assert_eq!(parse_pop3(b""), Err(ParseError::Empty));
        assert_eq!(parse_pop3(b"x"), Err(ParseError::NotQuoted));
        assert_eq!(
            parse_pop3(line(&["a", "b", "c", "2026-11-27 00:00:00"]).as_bytes()),
            Err(ParseError::FieldCount)
        );
        let bad_time = line(&["a", "b", "c", "yesterday", "u", "", "LOGIN", "1", "2"]);
        assert_eq!(parse_pop3(bad_time.as_bytes()), Err(ParseError::BadTime));
        let bad_count = line(&[
            "a",
            "b",
            "c",
            "2026-11-27 00:00:00",
            "u",
            "",
            "LOGIN",
            "x",
            "2",
        ]);
        // No XMail 1.25+ record: a 1.24 line whose logged password is `"<TAB>"LOGIN…`.
        let ev = parse_pop3(bad_count.as_bytes()).unwrap();
        assert_eq!(ev.result, LoginResult::Unknown);
        assert_eq!((ev.messages, ev.mailbox_bytes), (None, None));
        let l = line(&[
            "mail.example.co.kr",
            "example.co.kr",
            "203.0.113.5",
            "2026-11-27 00:00:31",
            "kim",
            "",
            "LOGIN",
            "3",
            "48211",
        ]);
        for i in 0..=l.len() {
            let _ = parse_pop3(&l.as_bytes()[..i]);
            let _ = parse_pop3(&l.as_bytes()[i..]);
        }
    }
}
