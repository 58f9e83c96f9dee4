//! Why a line was not an event: [`ParseError`], shared by every parser and counted by the
//! readers (`xmail_exporter_malformed_lines_total`, `report`'s `malformed`).

use std::fmt;

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
