//! FINGER log lines (`logs/finger-YYYYMMDDHHMM`, XMail started with `-Fl`): one line per
//! finger query.
//!
//! 5 fields (`FINGSvr.cpp`, `FINGLogSession`): `"LocalHost" "LocalDomain" "PeerIP"
//! "Time" "Query"`. The query is the line the client sent, verbatim: client text that may
//! hold `"` or TAB. It is the last field, so the first four are taken from the left and the
//! query is everything after them. A line is one query; counting and dating it is the
//! metrics' business, and the query itself is not a label value.

use super::error::ParseError;
use super::fields::{between, record, seps_from_left};
use super::time::LocalTime;

/// One FINGER log record. Every field borrows from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FingerEvent<'a> {
    /// Field 1: the server's host name.
    pub local_host: &'a [u8],
    /// Field 2: the server's domain.
    pub local_domain: &'a [u8],
    /// Field 3: the client's IP.
    pub peer_ip: &'a [u8],
    /// Field 4: local time.
    pub time: LocalTime,
    /// Field 5: the query, verbatim (client text).
    pub query: &'a [u8],
}

/// Parses one FINGER log line (without its LF; a trailing CR is removed here).
pub fn parse_finger(line: &[u8]) -> Result<FingerEvent<'_>, ParseError> {
    let inner = record(line)?;
    let mut left = [0usize; 4];
    if seps_from_left(inner, &mut left) < 4 {
        return Err(ParseError::FieldCount);
    }
    let field = |start: usize, end: usize| between(inner, start, end);
    let time =
        LocalTime::parse_xmail(field(left[2] + 2, left[3] - 1)).ok_or(ParseError::BadTime)?;
    Ok(FingerEvent {
        local_host: field(0, left[0] - 1),
        local_domain: field(left[0] + 2, left[1] - 1),
        peer_ip: field(left[1] + 2, left[2] - 1),
        time,
        query: field(left[3] + 2, inner.len()),
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

    /// The sample file `finger-202611270000`.
    const SAMPLE: &str = "\"mail.example.co.kr\"\t\"example.co.kr\"\t\"198.51.100.9\"\t\"2026-11-27 04:44:44\"\t\"kim@example.co.kr\"
\"mail.example.co.kr\"\t\"example.co.kr\"\t\"198.51.100.9\"\t\"2026-11-27 04:44:45\"\t\"root@example.co.kr\"";

    #[test]
    fn the_sample_file() {
        let evs: Vec<FingerEvent> = SAMPLE
            .lines()
            .map(|l| parse_finger(l.as_bytes()).unwrap())
            .collect();
        assert_eq!(evs[0].local_host, b"mail.example.co.kr");
        assert_eq!(evs[0].local_domain, b"example.co.kr");
        assert_eq!(evs[0].peer_ip, b"198.51.100.9");
        assert_eq!(evs[0].query, b"kim@example.co.kr");
        assert_eq!(evs[1].query, b"root@example.co.kr");
        assert_eq!((evs[1].time.minute, evs[1].time.second), (44, 45));
        let crlf = format!("{}\r", SAMPLE.lines().nth(1).unwrap());
        assert_eq!(parse_finger(crlf.as_bytes()), Ok(evs[1]));
    }

    #[test]
    fn hostile_queries_are_kept_verbatim() {
        for q in [
            "",
            "\"",
            "\t",
            "\"\t\"",
            "/W kim",
            "a\"\t\"b\"\t\"2001-01-01 00:00:00\"\t\"",
        ] {
            let l = line(&[
                "mail.example.co.kr",
                "example.co.kr",
                "198.51.100.9",
                "2026-11-27 04:44:44",
                q,
            ]);
            let ev = parse_finger(l.as_bytes()).unwrap();
            assert_eq!(ev.query, q.as_bytes());
            assert_eq!(ev.peer_ip, b"198.51.100.9");
            assert_eq!(ev.time.year, 2026);
        }
    }

    #[test]
    fn malformed() {
        assert_eq!(parse_finger(b""), Err(ParseError::Empty));
        assert_eq!(
            parse_finger(b"kim@example.co.kr"),
            Err(ParseError::NotQuoted)
        );
        assert_eq!(
            parse_finger(line(&["h", "d", "198.51.100.9", "2026-11-27 04:44:44"]).as_bytes()),
            Err(ParseError::FieldCount)
        );
        assert_eq!(
            parse_finger(line(&["h", "d", "198.51.100.9", "04:44:44", "q"]).as_bytes()),
            Err(ParseError::BadTime)
        );
        for l in SAMPLE.lines() {
            for i in 0..=l.len() {
                let _ = parse_finger(&l.as_bytes()[..i]);
                let _ = parse_finger(&l.as_bytes()[i..]);
            }
        }
    }
}
