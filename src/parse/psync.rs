//! PSYNC log lines (`logs/psync-YYYYMMDDHHMM`, XMail 1.17+ started with `-Yl`): one line
//! per POP3 account fetched from a remote server.
//!
//! 11 fields, the time first (`PSYNCSvr.cpp`, `PSYNCLogSession`): `"Time" "LocalDomain"
//! "LocalUser" "RemoteDomain" "RemoteUser" "AuthType" "Status" "MsgsSynced" "BytesSynced"
//! "MsgsErr" "BytesErr"`. The status is `SYNC=OK`, `SYNC=EFAIL` (the fetch failed; the
//! counts are then 0) or `SYNC=ENOUSER` (the local account of the link does not exist). The
//! local domain may start with `?`, `&` or `@` for masquerading and external links.
//!
//! Every field but the counts comes from the administrator's `pop3links.tab` (a TAB-separated
//! file, so no field holds a TAB), and the remote password is not logged. To be safe all the
//! same, the time, the local domain and user and the remote domain are taken from the left,
//! the auth type, status and counts from the right, and the remote user is what lies between.
//! What a result means for the metrics is the metrics' business.

use super::error::ParseError;
use super::fields::{between, parse_u64, record, seps_from_left, seps_from_right};
use super::time::LocalTime;

crate::label_enum! {
    /// How a fetch ended.
    pub enum SyncResult: "result" {
        /// `SYNC=OK`: the remote mailbox was fetched.
        Ok => "ok",
        /// `SYNC=EFAIL`: the fetch failed (connection, login or transfer).
        Failed => "failed",
        /// `SYNC=ENOUSER`: the link's local account does not exist.
        NoUser => "no_user",
    }
}

impl SyncResult {
    fn from_field(b: &[u8]) -> Option<SyncResult> {
        match b {
            b"SYNC=OK" => Some(SyncResult::Ok),
            b"SYNC=EFAIL" => Some(SyncResult::Failed),
            b"SYNC=ENOUSER" => Some(SyncResult::NoUser),
            _ => None,
        }
    }
}

/// One PSYNC log record. Every field borrows from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PsyncEvent<'a> {
    /// Field 1: local time.
    pub time: LocalTime,
    /// Field 2: the local domain (or `?`/`&`/`@` and a domain for masquerading links).
    pub local_domain: &'a [u8],
    /// Field 3: the local user.
    pub local_user: &'a [u8],
    /// Field 4: the remote POP3 server, often `host:port`.
    pub remote_domain: &'a [u8],
    /// Field 5: the remote account name.
    pub remote_user: &'a [u8],
    /// Field 6: the authentication type (`CLR`, `APOP`, with options such as `,Leave`).
    pub auth_type: &'a [u8],
    /// Field 7: how the fetch ended.
    pub result: SyncResult,
    /// Field 8: messages fetched.
    pub msgs_synced: u64,
    /// Field 9: bytes fetched.
    pub bytes_synced: u64,
    /// Field 10: messages that could not be fetched.
    pub msgs_err: u64,
    /// Field 11: bytes of the messages that could not be fetched.
    pub bytes_err: u64,
}

/// Parses one PSYNC log line (without its LF; a trailing CR is removed here).
pub fn parse_psync(line: &[u8]) -> Result<PsyncEvent<'_>, ParseError> {
    let inner = record(line)?;
    // Left: after the time, the local domain, the local user and the remote domain.
    let mut left = [0usize; 4];
    if seps_from_left(inner, &mut left) < 4 {
        return Err(ParseError::FieldCount);
    }
    // Right, beyond the remote domain: before the 4 counts, the status and the auth type.
    let mut right = [0usize; 6];
    if seps_from_right(inner, left[3] + 2, &mut right) < 6 {
        return Err(ParseError::FieldCount);
    }
    let field = |start: usize, end: usize| between(inner, start, end);
    let time = LocalTime::parse_xmail(field(0, left[0] - 1)).ok_or(ParseError::BadTime)?;
    let result =
        SyncResult::from_field(field(right[4] + 2, right[3] - 1)).ok_or(ParseError::BadStatus)?;
    let count = |b: &[u8]| parse_u64(b).ok_or(ParseError::BadSize);
    Ok(PsyncEvent {
        time,
        local_domain: field(left[0] + 2, left[1] - 1),
        local_user: field(left[1] + 2, left[2] - 1),
        remote_domain: field(left[2] + 2, left[3] - 1),
        remote_user: field(left[3] + 2, right[5] - 1),
        auth_type: field(right[5] + 2, right[4] - 1),
        result,
        msgs_synced: count(field(right[3] + 2, right[2] - 1))?,
        bytes_synced: count(field(right[2] + 2, right[1] - 1))?,
        msgs_err: count(field(right[1] + 2, right[0] - 1))?,
        bytes_err: count(field(right[0] + 2, inner.len()))?,
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

    /// The sample file `psync-202611270000`.
    const SAMPLE: &str = "\"2026-11-27 08:00:05\"\t\"example.co.kr\"\t\"kim\"\t\"pop.gmail.com:995\"\t\"kim.backup@gmail.com\"\t\"CLR,Leave\"\t\"SYNC=OK\"\t\"3\"\t\"48211\"\t\"0\"\t\"0\"
\"2026-11-27 08:00:09\"\t\"example.co.kr\"\t\"lee\"\t\"pop.naver.com:110\"\t\"oldlee\"\t\"APOP\"\t\"SYNC=EFAIL\"\t\"0\"\t\"0\"\t\"0\"\t\"0\"
\"2026-11-27 08:10:05\"\t\"example.co.kr\"\t\"kim\"\t\"pop.gmail.com:995\"\t\"kim.backup@gmail.com\"\t\"CLR,Leave\"\t\"SYNC=OK\"\t\"0\"\t\"0\"\t\"0\"\t\"0\"
\"2026-11-27 08:10:07\"\t\"example.co.kr\"\t\"ghost\"\t\"pop.example.net:110\"\t\"ghost@example.net\"\t\"CLR\"\t\"SYNC=ENOUSER\"\t\"0\"\t\"0\"\t\"0\"\t\"0\"
\"2026-11-27 08:20:05\"\t\"example.co.kr\"\t\"kim\"\t\"pop.gmail.com:995\"\t\"kim.backup@gmail.com\"\t\"CLR,Leave\"\t\"SYNC=OK\"\t\"2\"\t\"9120\"\t\"1\"\t\"51200\"";

    #[test]
    fn the_sample_file() {
        let evs: Vec<PsyncEvent> = SAMPLE
            .lines()
            .map(|l| parse_psync(l.as_bytes()).unwrap())
            .collect();
        let results: Vec<SyncResult> = evs.iter().map(|e| e.result).collect();
        use SyncResult::*;
        assert_eq!(results, [Ok, Failed, Ok, NoUser, Ok]);
        let e = &evs[0];
        assert_eq!(
            (e.msgs_synced, e.bytes_synced, e.msgs_err, e.bytes_err),
            (3, 48211, 0, 0)
        );
        assert_eq!(e.local_domain, b"example.co.kr");
        assert_eq!(e.local_user, b"kim");
        assert_eq!(e.remote_domain, b"pop.gmail.com:995");
        assert_eq!(e.remote_user, b"kim.backup@gmail.com");
        assert_eq!(e.auth_type, b"CLR,Leave");
        assert_eq!((e.time.hour, e.time.minute, e.time.second), (8, 0, 5));
        let e = &evs[4];
        assert_eq!(
            (e.msgs_synced, e.bytes_synced, e.msgs_err, e.bytes_err),
            (2, 9120, 1, 51200)
        );
    }

    #[test]
    fn crlf() {
        let l = format!("{}\r", SAMPLE.lines().next().unwrap());
        let ev = parse_psync(l.as_bytes()).unwrap();
        assert_eq!(ev.bytes_err, 0);
        assert_eq!(ev.result, SyncResult::Ok);
    }

    #[test]
    fn a_remote_user_full_of_separators_does_not_shift_fields() {
        for user in [
            "",
            "\"",
            "\t",
            "\"\t\"",
            "a\"\t\"SYNC=OK\"\t\"9\"\t\"9\"\t\"9\"\t\"9",
        ] {
            let l = line(&[
                "2026-11-27 08:00:09",
                "example.co.kr",
                "lee",
                "pop.naver.com:110",
                user,
                "APOP",
                "SYNC=EFAIL",
                "0",
                "0",
                "0",
                "0",
            ]);
            let ev = parse_psync(l.as_bytes()).unwrap();
            assert_eq!(ev.remote_user, user.as_bytes());
            assert_eq!(ev.result, SyncResult::Failed);
            assert_eq!(ev.auth_type, b"APOP");
            assert_eq!(ev.remote_domain, b"pop.naver.com:110");
        }
    }

    #[test]
    fn malformed() {
        assert_eq!(parse_psync(b""), Err(ParseError::Empty));
        assert_eq!(parse_psync(b"SYNC=OK"), Err(ParseError::NotQuoted));
        let ok = [
            "2026-11-27 08:00:05",
            "example.co.kr",
            "kim",
            "pop.gmail.com:995",
            "kim.backup@gmail.com",
            "CLR",
            "SYNC=OK",
            "3",
            "48211",
            "0",
            "0",
        ];
        assert_eq!(
            parse_psync(line(&ok[..10]).as_bytes()),
            Err(ParseError::FieldCount)
        );
        let mut bad = ok;
        bad[0] = "2026-11-27T08:00:05";
        assert_eq!(parse_psync(line(&bad).as_bytes()), Err(ParseError::BadTime));
        let mut bad = ok;
        bad[6] = "SYNC=EWHAT";
        assert_eq!(
            parse_psync(line(&bad).as_bytes()),
            Err(ParseError::BadStatus)
        );
        for i in 7..11 {
            let mut bad = ok;
            bad[i] = "-1";
            assert_eq!(parse_psync(line(&bad).as_bytes()), Err(ParseError::BadSize));
        }
        for l in SAMPLE.lines() {
            for i in 0..=l.len() {
                let _ = parse_psync(&l.as_bytes()[..i]);
                let _ = parse_psync(&l.as_bytes()[i..]);
            }
        }
    }
}
