//! LMAIL log lines (`logs/lmail-YYYYMMDDHHMM`, XMail started with `-Ll`): one line per
//! message file the local mailer picked up from the `spool/local` directory (mail that local
//! programs drop there, such as XMail's own `sendmail` replacement).
//!
//! 4 fields (`LMAILSvr.cpp`, `LMAILLogMessage`): `"SMTPDomain" "LocalFileName" "MessageID"
//! "Time"`. The message ID is `L` and a number, the same ID the SMAIL log shows for the
//! delivery. The file name (without its directory) is chosen by the local submitter, so it
//! is the one free field: the domain is taken from the left, the ID and the time from the
//! right. There is nothing to judge: a line is one message accepted for local submission;
//! counting and dating it is the metrics' business.

use super::error::ParseError;
use super::fields::{between, record, seps_from_left, seps_from_right};
use super::time::LocalTime;

/// One LMAIL log record. Every field borrows from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LmailEvent<'a> {
    /// Field 1: the SMTP domain the message was submitted under.
    pub smtp_domain: &'a [u8],
    /// Field 2: the name of the file in `spool/local`, verbatim.
    pub file_name: &'a [u8],
    /// Field 3: the message ID (`L…`).
    pub message_id: &'a [u8],
    /// Field 4: local time.
    pub time: LocalTime,
}

/// Parses one LMAIL log line (without its LF; a trailing CR is removed here).
pub fn parse_lmail(line: &[u8]) -> Result<LmailEvent<'_>, ParseError> {
    let inner = record(line)?;
    let mut left = [0usize; 1];
    if seps_from_left(inner, &mut left) < 1 {
        return Err(ParseError::FieldCount);
    }
    let mut right = [0usize; 2];
    if seps_from_right(inner, left[0] + 2, &mut right) < 2 {
        return Err(ParseError::FieldCount);
    }
    let field = |start: usize, end: usize| between(inner, start, end);
    let time =
        LocalTime::parse_xmail(field(right[0] + 2, inner.len())).ok_or(ParseError::BadTime)?;
    let message_id = field(right[1] + 2, right[0] - 1);
    if message_id.is_empty() || !message_id.iter().all(u8::is_ascii_alphanumeric) {
        return Err(ParseError::BadId);
    }
    Ok(LmailEvent {
        smtp_domain: field(0, left[0] - 1),
        file_name: field(left[0] + 2, right[1] - 1),
        message_id,
        time,
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

    /// The sample file `lmail-202611270000`.
    const SAMPLE: &str =
        "\"example.co.kr\"\t\"1795708800000.31337.mail\"\t\"L1A\"\t\"2026-11-27 07:00:00\"
\"example.co.kr\"\t\"1795719600000.31338.mail\"\t\"L1B\"\t\"2026-11-27 10:00:00\"";

    #[test]
    fn the_sample_file() {
        let evs: Vec<LmailEvent> = SAMPLE
            .lines()
            .map(|l| parse_lmail(l.as_bytes()).unwrap())
            .collect();
        assert_eq!(evs.len(), 2);
        assert_eq!(evs[0].smtp_domain, b"example.co.kr");
        assert_eq!(evs[0].file_name, b"1795708800000.31337.mail");
        assert_eq!(evs[0].message_id, b"L1A");
        assert_eq!((evs[1].time.day, evs[1].time.hour), (27, 10));
        let crlf = format!("{}\r", SAMPLE.lines().next().unwrap());
        assert_eq!(parse_lmail(crlf.as_bytes()), Ok(evs[0]));
    }

    #[test]
    fn a_file_name_full_of_separators_does_not_shift_fields() {
        for name in [
            "",
            "\"",
            "\t",
            "\"\t\"",
            "a\"\t\"L9\"\t\"2001-01-01 00:00:00",
        ] {
            let l = line(&["example.co.kr", name, "L2C", "2026-11-27 07:00:00"]);
            let ev = parse_lmail(l.as_bytes()).unwrap();
            assert_eq!(ev.file_name, name.as_bytes());
            assert_eq!(ev.message_id, b"L2C");
            assert_eq!(ev.time.year, 2026);
        }
    }

    #[test]
    fn malformed() {
        assert_eq!(parse_lmail(b""), Err(ParseError::Empty));
        assert_eq!(
            parse_lmail(b"\"example.co.kr\""),
            Err(ParseError::FieldCount)
        );
        assert_eq!(parse_lmail(b"example.co.kr\tx"), Err(ParseError::NotQuoted));
        assert_eq!(
            parse_lmail(line(&["d", "f", "2026-11-27 07:00:00"]).as_bytes()),
            Err(ParseError::FieldCount)
        );
        assert_eq!(
            parse_lmail(line(&["d", "f", "L1", "2026-11-27"]).as_bytes()),
            Err(ParseError::BadTime)
        );
        assert_eq!(
            parse_lmail(line(&["d", "f", "", "2026-11-27 07:00:00"]).as_bytes()),
            Err(ParseError::BadId)
        );
        for l in SAMPLE.lines() {
            for i in 0..=l.len() {
                let _ = parse_lmail(&l.as_bytes()[..i]);
                let _ = parse_lmail(&l.as_bytes()[i..]);
            }
        }
    }
}
