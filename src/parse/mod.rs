//! Pure parsers: one log line in bytes, one typed event out.
//!
//! Nothing here does I/O, allocates on the SMTP/SMAIL path, or panics on any input. The
//! events borrow their fields from the line.
//!
//! - [`smtp`], [`smail`], [`pop3`], [`webmail`]: one parser per log (for SMTP and SMAIL,
//!   also the fields that name a message, found without parsing, for a search);
//! - [`ctrl`], [`psync`], [`filters`], [`lmail`], [`finger`]: one parser per log the exporter
//!   does not read yet (CTRL logins, POP3 fetches, filter runs, local mail, finger queries);
//! - [`status`]: the status table, the one place an SMTP status code gets its stage;
//! - [`fields`]: splitting XMail's quoted, TAB-separated records, numbers, `domain_of`;
//! - [`error`]: why a line was not an event ([`ParseError`]);
//! - [`time`]: XMail's local times into Unix seconds in the configured zone;
//! - [`label`]: `label_enum!`, the enums whose variants are label values.
//!
//! Owns the bytes-to-event step and [`ParseCtx`], the state a file carries from line to line
//! (an SMAIL record continued on the next line, a PHP stack trace). What an event *means*
//! (received, delivered, bounced, refused) is [`crate::meaning`]'s; which counter it moves is
//! [`crate::metrics`]'s; its sentence is [`crate::explain`]'s.

pub mod ctrl;
pub mod error;
pub mod fields;
pub mod filters;
pub mod finger;
pub mod label;
pub mod lmail;
pub mod pop3;
pub mod psync;
pub mod smail;
pub mod smtp;
pub mod status;
pub mod time;
pub mod webmail;

use std::fmt;

pub use error::ParseError;
use smail::{SmailEvent, parse_smail};
use time::LocalTime;
use webmail::{Classifier, WebmailEvent, is_continuation, parse_webmail};

crate::label_enum! {
    /// The log families the exporter reads.
    pub enum LogKind: "log" {
        /// XMail `logs/smtp-YYYYMMDDHHMM`: one line per SMTP event.
        Smtp => "smtp",
        /// XMail `logs/smail-YYYYMMDDHHMM`: one line per delivery.
        Smail => "smail",
        /// Nmail `weblogs/error-YYYYMMDD.txt`: one line per webmail error.
        Webmail => "webmail",
        /// XMail `logs/pop3-YYYYMMDDHHMM`: one line per POP3 login.
        Pop3 => "pop3",
        /// XMail `logs/ctrl-YYYYMMDDHHMM` (`-Cl`): one line per CTRL (admin) login step.
        Ctrl => "ctrl",
        /// XMail `logs/psync-YYYYMMDDHHMM` (`-Yl`): one line per external POP3 account synced.
        Psync => "psync",
        /// XMail `logs/filters-YYYYMMDDHHMM` (`-Qg`): one line per filter run.
        Filters => "filters",
        /// XMail `logs/lmail-YYYYMMDDHHMM` (`-Ll`): one line per file dropped in `spool/local`.
        Lmail => "lmail",
        /// XMail `logs/finger-YYYYMMDDHHMM` (`-Fl`): one line per FINGER query.
        Finger => "finger",
    }
}

impl LogKind {
    /// Tells the kind from a file name: `smtp-`, `smail-`, `pop3-`, `ctrl-`, `psync-`,
    /// `filters-`, `lmail-` or `finger-` followed by digits only (XMail
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
        for (prefix, kind) in [
            ("pop3-", LogKind::Pop3),
            ("ctrl-", LogKind::Ctrl),
            ("psync-", LogKind::Psync),
            ("filters-", LogKind::Filters),
            ("lmail-", LogKind::Lmail),
            ("finger-", LogKind::Finger),
        ] {
            if let Some(rest) = name.strip_prefix(prefix) {
                return digits(rest, 8).then_some(kind);
            }
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
    /// A webmail error was counted in this file, so an indented or stack-trace line that
    /// follows belongs to it (see [`ParseCtx::webmail`]).
    pub webmail_error_seen: bool,
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
            webmail_error_seen: false,
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

    /// Passes over an SMAIL line a search does not want: leaves the state as
    /// [`ParseCtx::smail`] would, but parses the line only when that state can change (the
    /// line continues a record, or may leave one open: it does not end in a closing quote).
    pub fn skip_smail(&mut self, line: &[u8]) {
        let l = fields::trim_cr(line);
        // A record that ends in `"` preceded by anything but a TAB closes its last field, so
        // after it (and after any line that is not a record) no record is open.
        let closes = l.len() >= 2 && l.ends_with(b"\"") && l[l.len() - 2] != b'\t';
        if self.smail_continues || !closes {
            let _ = self.smail(line);
        }
    }

    /// Parses one line of a webmail error file, or returns `None` for a line that continues
    /// the previous error: the lines of a PHP stack trace (`Stack trace:`, `#0 /path…`,
    /// `#1 {main}`, `  thrown in /x.php on line 3`, `Next Exception: …` of a chained
    /// exception) and any other line that starts with a space or a TAB (see
    /// [`webmail::is_continuation`]).
    ///
    /// Such a line is a continuation only when an error was counted before it in this file
    /// (by this reader): at the start of a file, or when the exporter started reading in the
    /// middle of a trace, there is no error to attach it to, and it is counted as an error
    /// of its own rather than lost. Blank lines are [`ParseError::Empty`] and change nothing.
    pub fn webmail<'a>(
        &mut self,
        line: &'a [u8],
        rules: &Classifier,
    ) -> Option<Result<WebmailEvent<'a>, ParseError>> {
        if self.webmail_error_seen && is_continuation(line) {
            return None;
        }
        let parsed = parse_webmail(line, rules);
        if parsed.is_ok() {
            self.webmail_error_seen = true;
        }
        Some(parsed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::webmail::Classifier;

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
        for (name, kind) in [
            ("ctrl-202611270000", LogKind::Ctrl),
            ("psync-202611270000", LogKind::Psync),
            ("filters-202611270000", LogKind::Filters),
            ("lmail-202611270000", LogKind::Lmail),
            ("finger-202611270000", LogKind::Finger),
        ] {
            assert_eq!(LogKind::from_file_name(name), Some(kind), "{name}");
        }
        assert_eq!(LogKind::from_file_name("ctrl-202611270000.gz"), None);
        assert_eq!(LogKind::from_file_name("sendmail-202611270000"), None);
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

    #[test]
    fn skipping_an_smail_line_leaves_the_state_parsing_it_would() {
        let nine = "\"d\"\t\"sp.mail\"\t\"S1\"\t\"a@b\"\t\"c@d\"\t\"SMTP\"\t\"mx\"\t\"2026-11-27 00:01:16\"\t\"250 ok\"";
        let open = nine.replace("250 ok\"", "250-first\r");
        let open_empty = nine.replace("250 ok\"", "");
        let mut lines: Vec<String> = vec![
            nine.into(),
            open.clone(),
            open_empty,
            "250 second\"".into(),
            "250 more\r".into(),
            "\"".into(),
            "\"\"".into(),
            "\t\"".into(),
            String::new(),
        ];
        for l in [&open, nine] {
            for i in 0..=l.len() {
                lines.push(l[..i].to_string());
                lines.push(l[i..].to_string());
            }
        }
        for l in &lines {
            for continues in [false, true] {
                let mut parsed = ParseCtx::for_file(LogKind::Smail, "smail-202611270000");
                parsed.smail_continues = continues;
                let mut skipped = parsed;
                let _ = parsed.smail(l.as_bytes());
                skipped.skip_smail(l.as_bytes());
                assert_eq!(skipped, parsed, "{l:?} after continues={continues}");
            }
        }
    }

    /// A real-looking uncaught exception: one error line, then 24 lines of its trace.
    fn stack_trace() -> Vec<String> {
        let mut v = vec![
            "[28-Nov-2026 01:12:05 UTC] PHP Fatal error:  Uncaught Exception: x in /var/www/a.php:3"
                .to_string(),
            "Stack trace:".to_string(),
        ];
        for i in 0..21 {
            v.push(format!(
                "#{i} /var/www/lib/f{i}.php({}): Nmail\\Step{i}->run(Array, 'INBOX')",
                10 + i
            ));
        }
        v.push("#21 {main}".to_string());
        v.push("  thrown in /var/www/a.php on line 3".to_string());
        assert_eq!(v.len(), 25);
        v
    }

    fn webmail_errors(lines: &[String]) -> Vec<String> {
        let c = Classifier::default();
        let mut ctx = ParseCtx::for_file(LogKind::Webmail, "error-20261128.txt");
        lines
            .iter()
            .filter_map(|l| match ctx.webmail(l.as_bytes(), &c) {
                Some(Ok(ev)) => Some(ev.text.into_owned()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_php_stack_trace_is_one_webmail_error() {
        let mut lines = stack_trace();
        assert_eq!(webmail_errors(&lines).len(), 1);
        // Chained exceptions, a CRLF, a blank line and a TAB-indented line: still the same
        // error; the next line with a time stamp is the next one.
        lines.push("".into());
        lines.push("Next RuntimeException: y in /var/www/b.php:9\r".into());
        lines.push("Stack trace:\r".into());
        lines.push("#0 {main}".into());
        lines.push("\tcontinued".into());
        lines.push("[2026-11-28 10:20:31] login failed: unknown user kang".into());
        let got = webmail_errors(&lines);
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[1].contains("login failed"));
    }

    #[test]
    fn a_continuation_with_no_error_before_it_is_an_error() {
        // The file starts mid-trace (or the exporter started reading there).
        let mut lines: Vec<String> = stack_trace()[1..].to_vec();
        lines.insert(0, "".into());
        let got = webmail_errors(&lines);
        assert_eq!(got, ["Stack trace:"]);
        let indented = ["  thrown in /x.php on line 3".to_string()];
        assert_eq!(webmail_errors(&indented).len(), 1);
        // Lines that only look similar are errors of their own.
        let other = [
            "first".to_string(),
            "#hashtag".to_string(),
            "Next time: retry".to_string(),
            "Nextcloud: sync failed".to_string(),
        ];
        assert_eq!(webmail_errors(&other).len(), 4);
    }

    proptest::proptest! {
        /// Any interleaving of errors and traces: one error per line that starts an error.
        #[test]
        fn every_trace_counts_once(traces in proptest::collection::vec(0usize..30, 0..20)) {
            let mut lines = Vec::new();
            for (i, frames) in traces.iter().enumerate() {
                lines.push(format!("[2026-11-28 10:00:{:02}] PHP Fatal error:  Uncaught Exception: e{i}", i % 60));
                if *frames > 0 {
                    lines.push("Stack trace:".into());
                }
                for f in 0..*frames {
                    lines.push(format!("#{f} /var/www/x.php({f}): g()"));
                }
                if *frames > 0 {
                    lines.push("  thrown in /var/www/x.php on line 1".into());
                }
            }
            proptest::prop_assert_eq!(webmail_errors(&lines).len(), traces.len());
        }
    }
}
