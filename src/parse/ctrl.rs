//! CTRL log lines (`logs/ctrl-YYYYMMDDHHMM`, XMail started with `-Cl`).
//!
//! Every XMail version that has the log writes 5 fields (`CTRLSvr.cpp`, `CTRLLogSession`):
//! `"PeerIP" "Username" "Password" "Time" "REQ|AUTH|FAIL"`. A login writes a `REQ` line
//! when the credentials arrive, then `AUTH` (accepted) or `FAIL` (refused): a `REQ` is an
//! attempt, not a login. The password is the one the client sent, in clear, or `#` and an
//! MD5 digest for a challenge login.
//!
//! The user name and the password are client text. XMail splits the login line on TAB
//! before logging it, so neither should hold a TAB, but nothing is assumed: the peer IP is
//! taken from the left, the time and the line kind from the right, and the user name ends
//! at the first separator after the peer IP. The password is skipped over and never kept;
//! the user name is borrowed from the line. What the kinds mean for the metrics (attempts,
//! logins, failures) is the metrics' business.

use super::error::ParseError;
use super::fields::{between, record, seps_from_left, seps_from_right};
use super::pop3::LoginResult;
use super::time::LocalTime;

crate::label_enum! {
    /// What a CTRL line records.
    pub enum CtrlKind: "kind" {
        /// `REQ`: credentials received, not checked yet (one per attempt).
        Request => "request",
        /// `AUTH`: the login was accepted.
        Auth => "auth",
        /// `FAIL`: the login was refused.
        Fail => "fail",
    }
}

impl CtrlKind {
    /// How the login ended: `AUTH` is [`LoginResult::Ok`], `FAIL` is
    /// [`LoginResult::Failed`], a `REQ` line does not say (`None`).
    pub fn result(self) -> Option<LoginResult> {
        match self {
            CtrlKind::Request => None,
            CtrlKind::Auth => Some(LoginResult::Ok),
            CtrlKind::Fail => Some(LoginResult::Failed),
        }
    }

    fn from_field(b: &[u8]) -> Option<CtrlKind> {
        match b {
            b"REQ" => Some(CtrlKind::Request),
            b"AUTH" => Some(CtrlKind::Auth),
            b"FAIL" => Some(CtrlKind::Fail),
            _ => None,
        }
    }
}

/// One CTRL log record, without the password.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtrlEvent<'a> {
    /// Field 1: the client's IP.
    pub peer_ip: &'a [u8],
    /// Field 2: the user name the client sent, verbatim (client text).
    pub user: &'a [u8],
    /// Field 4: local time.
    pub time: LocalTime,
    /// Field 5: what the line records.
    pub kind: CtrlKind,
}

/// Parses one CTRL log line (without its LF; a trailing CR is removed here).
pub fn parse_ctrl(line: &[u8]) -> Result<CtrlEvent<'_>, ParseError> {
    let inner = record(line)?;
    // Left: after the peer IP and after the user name.
    let mut left = [0usize; 2];
    if seps_from_left(inner, &mut left) < 2 {
        return Err(ParseError::FieldCount);
    }
    // Right, beyond the user name: before the kind and before the time.
    let mut right = [0usize; 2];
    if seps_from_right(inner, left[1] + 2, &mut right) < 2 {
        return Err(ParseError::FieldCount);
    }
    let field = |start: usize, end: usize| between(inner, start, end);
    let time =
        LocalTime::parse_xmail(field(right[1] + 2, right[0] - 1)).ok_or(ParseError::BadTime)?;
    let kind =
        CtrlKind::from_field(field(right[0] + 2, inner.len())).ok_or(ParseError::BadStatus)?;
    Ok(CtrlEvent {
        peer_ip: field(0, left[0] - 1),
        user: field(left[0] + 2, left[1] - 1),
        time,
        kind,
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

    /// The sample file `ctrl-202611270000`.
    const SAMPLE: &str = "\"203.0.113.50\"\t\"admin\"\t\"#0d1c5e6a7b8c9d0e1f2a3b4c5d6e7f80\"\t\"2026-11-27 09:00:01\"\t\"REQ\"
\"203.0.113.50\"\t\"admin\"\t\"#0d1c5e6a7b8c9d0e1f2a3b4c5d6e7f80\"\t\"2026-11-27 09:00:01\"\t\"AUTH\"
\"198.51.100.77\"\t\"admin\"\t\"letmein\"\t\"2026-11-27 09:14:20\"\t\"REQ\"
\"198.51.100.77\"\t\"admin\"\t\"letmein\"\t\"2026-11-27 09:14:20\"\t\"FAIL\"
\"198.51.100.77\"\t\"root\"\t\"toor\"\t\"2026-11-27 09:14:22\"\t\"REQ\"
\"198.51.100.77\"\t\"root\"\t\"toor\"\t\"2026-11-27 09:14:22\"\t\"FAIL\"
\"127.0.0.1\"\t\"admin\"\t\"#9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d\"\t\"2026-11-27 12:30:00\"\t\"REQ\"
\"127.0.0.1\"\t\"admin\"\t\"#9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d\"\t\"2026-11-27 12:30:00\"\t\"AUTH\"";

    #[test]
    fn the_sample_file() {
        let evs: Vec<CtrlEvent> = SAMPLE
            .lines()
            .map(|l| parse_ctrl(l.as_bytes()).unwrap())
            .collect();
        let kinds: Vec<CtrlKind> = evs.iter().map(|e| e.kind).collect();
        use CtrlKind::*;
        assert_eq!(
            kinds,
            [Request, Auth, Request, Fail, Request, Fail, Request, Auth]
        );
        assert_eq!(evs[3].peer_ip, b"198.51.100.77");
        assert_eq!(evs[4].user, b"root");
        assert_eq!(
            (evs[4].time.hour, evs[4].time.minute, evs[4].time.second),
            (9, 14, 22)
        );
        assert_eq!(evs[0].kind.result(), None);
        assert_eq!(evs[1].kind.result(), Some(LoginResult::Ok));
        assert_eq!(evs[3].kind.result(), Some(LoginResult::Failed));
    }

    #[test]
    fn crlf() {
        let l = format!("{}\r", SAMPLE.lines().nth(1).unwrap());
        let ev = parse_ctrl(l.as_bytes()).unwrap();
        assert_eq!(ev.kind, CtrlKind::Auth);
    }

    #[test]
    fn hostile_passwords_do_not_shift_fields() {
        for pw in [
            "",
            "\"",
            "\t",
            "\"\t\"",
            "x\"\t\"AUTH",
            "a\"\t\"2026-01-01 00:00:00\"\t\"AUTH\"\t\"",
        ] {
            let l = line(&["198.51.100.77", "root", pw, "2026-11-27 09:14:22", "FAIL"]);
            let ev = parse_ctrl(l.as_bytes()).unwrap();
            assert_eq!(ev.kind, CtrlKind::Fail, "{pw:?}");
            assert_eq!(ev.user, b"root", "{pw:?}");
            assert_eq!(ev.peer_ip, b"198.51.100.77");
            assert_eq!(ev.time.minute, 14);
        }
    }

    #[test]
    fn hostile_user_names() {
        // A quote or a lone TAB in the user name is kept; a whole separator ends it early,
        // but the kind and time still come from the right.
        for (user, kept) in [
            ("a\"b", "a\"b"),
            ("a\tb", "a\tb"),
            ("\"", "\""),
            ("x\"\t\"y", "x"),
        ] {
            let l = line(&["192.0.2.1", user, "pw", "2026-11-27 09:14:22", "AUTH"]);
            let ev = parse_ctrl(l.as_bytes()).unwrap();
            assert_eq!(ev.user, kept.as_bytes(), "{user:?}");
            assert_eq!(ev.kind, CtrlKind::Auth);
        }
    }

    #[test]
    fn the_event_does_not_hold_the_password() {
        let l = line(&[
            "192.0.2.1",
            "admin",
            "s3cr3t-pw",
            "2026-11-27 09:14:22",
            "FAIL",
        ]);
        let ev = parse_ctrl(l.as_bytes()).unwrap();
        let shown = format!("{ev:?}");
        let pw_bytes = format!("{:?}", b"s3cr3t".as_slice());
        let pw_bytes = pw_bytes.trim_matches(|c| c == '[' || c == ']');
        assert!(
            !shown.contains("s3cr3t") && !shown.contains(pw_bytes),
            "{shown}"
        );
    }

    #[test]
    fn malformed() {
        assert_eq!(parse_ctrl(b""), Err(ParseError::Empty));
        assert_eq!(parse_ctrl(b"\r"), Err(ParseError::Empty));
        assert_eq!(parse_ctrl(b"192.0.2.1\tadmin"), Err(ParseError::NotQuoted));
        assert_eq!(
            parse_ctrl(line(&["192.0.2.1", "admin", "2026-11-27 09:14:22", "AUTH"]).as_bytes()),
            Err(ParseError::FieldCount)
        );
        assert_eq!(
            parse_ctrl(line(&["192.0.2.1", "admin", "pw", "yesterday", "AUTH"]).as_bytes()),
            Err(ParseError::BadTime)
        );
        assert_eq!(
            parse_ctrl(line(&["192.0.2.1", "admin", "pw", "2026-11-27 09:14:22", "OK"]).as_bytes()),
            Err(ParseError::BadStatus)
        );
        for l in SAMPLE.lines() {
            for i in 0..=l.len() {
                let _ = parse_ctrl(&l.as_bytes()[..i]);
                let _ = parse_ctrl(&l.as_bytes()[i..]);
            }
        }
    }
}
