//! Pure parsers: one log line in bytes, one typed event out.
//!
//! Nothing here does I/O, allocates on the SMTP/SMAIL path, or panics on any input. The
//! events borrow their fields from the line. What an event *means* for the metrics is decided
//! in [`crate::metrics`]; what a status code means is decided in [`status`].

pub mod fields;
pub mod pop3;
pub mod smail;
pub mod smtp;
pub mod status;
pub mod time;
pub mod webmail;

use std::fmt;

use smail::{SmailEvent, parse_smail};
use time::LocalTime;

/// The log families the exporter reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogKind {
    /// XMail `logs/smtp-YYYYMMDDHHMM`: one line per SMTP event.
    Smtp,
    /// XMail `logs/smail-YYYYMMDDHHMM`: one line per delivery.
    Smail,
    /// Nmail `weblogs/error-YYYYMMDD.txt`: one line per webmail error.
    Webmail,
    /// XMail `logs/pop3-YYYYMMDDHHMM`: one line per POP3 login.
    Pop3,
}

impl LogKind {
    /// How many kinds there are.
    pub const COUNT: usize = 4;

    /// Every kind, in label order.
    pub const ALL: [LogKind; LogKind::COUNT] = [
        LogKind::Smtp,
        LogKind::Smail,
        LogKind::Webmail,
        LogKind::Pop3,
    ];

    /// The value of the `log` label.
    pub fn as_str(self) -> &'static str {
        match self {
            LogKind::Smtp => "smtp",
            LogKind::Smail => "smail",
            LogKind::Webmail => "webmail",
            LogKind::Pop3 => "pop3",
        }
    }

    /// Index into per-kind arrays.
    pub fn index(self) -> usize {
        self as usize
    }

    /// Tells the kind from a file name: `smtp-`, `smail-` or `pop3-` followed by digits only (XMail
    /// writes `YYYYMMDDHHMM`), or `error-YYYYMMDD.txt`. Anything else, including compressed
    /// copies such as `smtp-202611270000.gz`, is not a log this exporter reads.
    pub fn from_file_name(name: &str) -> Option<LogKind> {
        fn digits(s: &str, min: usize) -> bool {
            s.len() >= min && s.bytes().all(|b| b.is_ascii_digit())
        }
        if let Some(rest) = name.strip_prefix("smtp-") {
            return digits(rest, 8).then_some(LogKind::Smtp);
        }
        if let Some(rest) = name.strip_prefix("smail-") {
            return digits(rest, 8).then_some(LogKind::Smail);
        }
        if let Some(rest) = name.strip_prefix("pop3-") {
            return digits(rest, 8).then_some(LogKind::Pop3);
        }
        if let Some(rest) = name.strip_prefix("error-") {
            let date = rest.strip_suffix(".txt")?;
            return (date.len() == 8 && digits(date, 8)).then_some(LogKind::Webmail);
        }
        None
    }
}

impl fmt::Display for LogKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Per-file state the parsers need beyond one line. The tailer keeps one per followed file
/// and hands it back with every line; only the parsers' side reads or changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParseCtx {
    /// What the file holds.
    pub kind: LogKind,
    /// The previous SMAIL record's remote reply has not ended yet (it had a CRLF inside).
    pub smail_continues: bool,
    /// The date in the file name, used for webmail lines without a timestamp of their own.
    pub file_date: Option<LocalTime>,
}

impl ParseCtx {
    /// The state for a new file of `kind` named `file_name`.
    pub fn for_file(kind: LogKind, file_name: &str) -> ParseCtx {
        let digits = file_name
            .split_once('-')
            .map(|(_, rest)| rest)
            .unwrap_or("")
            .as_bytes();
        let file_date = (digits.len() >= 8 && digits[..8].iter().all(u8::is_ascii_digit))
            .then(|| {
                let n = |r: std::ops::Range<usize>| -> i16 {
                    digits[r]
                        .iter()
                        .fold(0i16, |a, &d| a * 10 + i16::from(d - b'0'))
                };
                LocalTime::midnight(n(0..4), n(4..6) as i8, n(6..8) as i8)
            })
            .flatten();
        ParseCtx {
            kind,
            smail_continues: false,
            file_date,
        }
    }

    /// Parses one line of an SMAIL file, or returns `None` for a line that continues the
    /// previous record's remote reply (XMail writes a reply's CRLF as is).
    pub fn smail<'a>(&mut self, line: &'a [u8]) -> Option<Result<SmailEvent<'a>, ParseError>> {
        if self.smail_continues && line.first() != Some(&b'"') {
            self.smail_continues = !fields::trim_cr(line).ends_with(b"\"");
            return None;
        }
        let parsed = parse_smail(line);
        self.smail_continues = parsed.as_ref().is_ok_and(|ev| ev.continues);
        Some(parsed)
    }
}

/// Why a line was not an event. Small and `Copy`: it is returned on the hot path.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParseError {
    /// The line is empty (or only a CR).
    Empty,
    /// The line does not start and end with a double quote.
    NotQuoted,
    /// Too few `"<TAB>"` separated fields.
    FieldCount,
    /// The time field is not `YYYY-MM-DD HH:MM:SS`.
    BadTime,
    /// The SMTP size field is not a number.
    BadSize,
    /// The SMTP status is not of the form `STAGE=CODE`.
    BadStatus,
    /// The SMAIL message ID or delivery type is empty or not ASCII letters and digits.
    BadId,
    /// The line is longer than the tailer's limit (decided by the reader, not a parser).
    TooLong,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ParseError::Empty => "empty line",
            ParseError::NotQuoted => "line is not a quoted, TAB-separated record",
            ParseError::FieldCount => "wrong number of fields",
            ParseError::BadTime => "time field is not YYYY-MM-DD HH:MM:SS",
            ParseError::BadSize => "size field is not a number",
            ParseError::BadStatus => "status field is not STAGE=CODE",
            ParseError::BadId => "message ID or delivery type is malformed",
            ParseError::TooLong => "line is longer than the limit",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_from_file_names() {
        assert_eq!(
            LogKind::from_file_name("smtp-202611270000"),
            Some(LogKind::Smtp)
        );
        assert_eq!(
            LogKind::from_file_name("smail-200704170000"),
            Some(LogKind::Smail)
        );
        assert_eq!(
            LogKind::from_file_name("error-20261127.txt"),
            Some(LogKind::Webmail)
        );
        assert_eq!(LogKind::from_file_name("smtp-202611270000.gz"), None);
        assert_eq!(
            LogKind::from_file_name("pop3-202611270000"),
            Some(LogKind::Pop3)
        );
        assert_eq!(LogKind::from_file_name("ctrl-202611270000"), None);
        assert_eq!(LogKind::from_file_name("smmail-202611270000"), None);
        assert_eq!(LogKind::from_file_name("error-2026112.txt"), None);
        assert_eq!(LogKind::from_file_name("error-20261127.log"), None);
        assert_eq!(LogKind::from_file_name("smtp-"), None);
    }

    #[test]
    fn file_dates() {
        let d = ParseCtx::for_file(LogKind::Webmail, "error-20261127.txt")
            .file_date
            .unwrap();
        assert_eq!((d.year, d.month, d.day, d.hour), (2026, 11, 27, 0));
        assert_eq!(
            ParseCtx::for_file(LogKind::Webmail, "error-20261399.txt").file_date,
            None
        );
        assert_eq!(ParseCtx::for_file(LogKind::Smtp, "x").file_date, None);
    }
}
