//! Filter log lines (`logs/filters-YYYYMMDDHHMM`, XMail 1.21+ started with `-Qg`): one line
//! per filter command XMail ran, or skipped, for a message.
//!
//! 10 fields (`Filter.cpp`, `FilLogFilter`, used by the SMAIL filters and, through
//! `SMTPLogFilter` in `SMTPSvr.cpp`, by the SMTP ones): `"Sender" "Recipient" "LocalIP"
//! "RemoteIP" "Time" "Type" "Info" "ExecResult" "ExitCode" "ExecString"`.
//!
//! - **Type** is the stage: `in` or `out` for the SMAIL filters (`filters.in.tab`,
//!   `filters.out.tab`), `post-rcpt`, `pre-data` or `post-data` for the SMTP ones.
//! - **Recipient** is `*` for an SMTP filter run on a message with several recipients.
//! - **Info** is empty, or why the command was skipped (`EXCL` for `!aex` on an
//!   authenticated session, `WLISTED` for `!wlex` on a white-listed peer).
//! - **ExecResult** and **ExitCode** are `%d` integers, so they may be negative: ExecResult is
//!   0 when the command ran, `-1` (with ExitCode `-1`) when a pre-exec option skipped it, and
//!   another negative XMail error code when it could not be run; ExitCode is the command's
//!   exit status.
//! - **ExecString** is the command's argv after macro substitution, each argument followed
//!   by `;` (1.23+). Macros such as `@@FROM` put client text in it, so it may hold `"` or TAB.
//!   It is the last field: the first nine are taken from the left and the command line is
//!   everything after them. The addresses cannot hold a TAB (XMail checks them before a
//!   message is spooled), so nothing before the command line can shift.
//!
//! What a run did ([`FilterOutcome`], from [`FilterEvent::outcome`]) follows XMail's own
//! reading of the exit code (`Filter.cpp` `FilApplyFilter` with the codes of `Filter.h`;
//! `SMTPSvr.cpp`, the filter loop above `SMTPFilterMessage`, with `SMTP_FILTER_REJECT_CODE`):
//!
//! | ExecResult | ExitCode (after masking bit 16) | Stage | Outcome |
//! |---|---|---|---|
//! | `-1` | any | any | `skipped` (a pre-exec option) |
//! | other non-zero | any | any | `error` (the command could not be run) |
//! | `0` | `4` | `in`, `out` | `rejected`: dropped, no notification, not kept |
//! | `0` | `5` | `in`, `out` | `rejected`: dropped, no notification, kept in the error spool unless `RemoveSpoolErrors` |
//! | `0` | `6` | `in`, `out` | `rejected`: dropped, the sender gets a bounce |
//! | `0` | `7` | `in`, `out` | `modified`: the filter rewrote the message |
//! | `0` | `3` | `post-rcpt`, `pre-data`, `post-data` | `rejected`: the SMTP command is refused |
//! | `0` | anything else | any | `passed` |
//!
//! Bit 16 (`FILTER_FLAGS_BREAK`, `SMTP_FILTER_FL_BREAK`) added to an exit code tells XMail
//! to stop running the filters after this one; it is masked off before reading the code. A
//! SMAIL `modified` run whose rewritten message XMail cannot reload is an error XMail only
//! reports elsewhere; this log still says `7`.

use super::error::ParseError;
use super::fields::{between, record, seps_from_left};
use super::time::LocalTime;

crate::label_enum! {
    /// When a filter ran: the log's Type field.
    pub enum FilterStage: "stage" {
        /// `in`: SMAIL inbound filter (`filters.in.tab`), before local delivery.
        In => "in",
        /// `out`: SMAIL outbound filter (`filters.out.tab`), before remote delivery.
        Out => "out",
        /// `post-rcpt`: SMTP filter after each `RCPT TO`.
        PostRcpt => "post-rcpt",
        /// `pre-data`: SMTP filter on `DATA`, before the message is received.
        PreData => "pre-data",
        /// `post-data`: SMTP filter after the message is received.
        PostData => "post-data",
    }
}

impl FilterStage {
    /// A filter of the SMTP server (`post-rcpt`, `pre-data`, `post-data`), as opposed to
    /// the SMAIL `in`/`out` filters.
    pub fn is_smtp(self) -> bool {
        matches!(
            self,
            FilterStage::PostRcpt | FilterStage::PreData | FilterStage::PostData
        )
    }

    fn from_field(b: &[u8]) -> Option<FilterStage> {
        match b {
            b"in" => Some(FilterStage::In),
            b"out" => Some(FilterStage::Out),
            b"post-rcpt" => Some(FilterStage::PostRcpt),
            b"pre-data" => Some(FilterStage::PreData),
            b"post-data" => Some(FilterStage::PostData),
            _ => None,
        }
    }
}

crate::label_enum! {
    /// What one filter run did to the message (see the module's table).
    pub enum FilterOutcome: "outcome" {
        /// The filter let the message through unchanged.
        Passed => "passed",
        /// A SMAIL filter rewrote the message (exit code 7).
        Modified => "modified",
        /// The filter refused the message (SMAIL 4, 5, 6; SMTP 3).
        Rejected => "rejected",
        /// The command could not be run (ExecResult non-zero, not -1).
        Error => "error",
        /// A pre-exec option skipped the command (ExecResult -1).
        Skipped => "skipped",
    }
}

/// The flag a filter adds to its exit code to stop the filters after it.
pub const FILTER_FLAG_BREAK: i32 = 16;

/// What a run did, from its stage, ExecResult and ExitCode (see the module's table).
pub fn classify(stage: FilterStage, exec_result: i32, exit_code: i32) -> FilterOutcome {
    if exec_result == -1 {
        return FilterOutcome::Skipped;
    }
    if exec_result != 0 {
        return FilterOutcome::Error;
    }
    let code = exit_code & !FILTER_FLAG_BREAK;
    if stage.is_smtp() {
        if code == 3 {
            FilterOutcome::Rejected
        } else {
            FilterOutcome::Passed
        }
    } else {
        match code {
            4..=6 => FilterOutcome::Rejected,
            7 => FilterOutcome::Modified,
            _ => FilterOutcome::Passed,
        }
    }
}

/// One filter log record. Every field borrows from the line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FilterEvent<'a> {
    /// Field 1: the sender (the account's address when it is local).
    pub sender: &'a [u8],
    /// Field 2: the recipient, or `*` for an SMTP filter on several recipients.
    pub recipient: &'a [u8],
    /// Field 3: the server's IP the message came in on.
    pub local_ip: &'a [u8],
    /// Field 4: the client's IP.
    pub remote_ip: &'a [u8],
    /// Field 5: local time.
    pub time: LocalTime,
    /// Field 6: when the filter ran.
    pub stage: FilterStage,
    /// Field 7: why the command was skipped, else empty.
    pub info: &'a [u8],
    /// Field 8: 0 if the command ran, -1 if skipped, another XMail error code if it failed.
    pub exec_result: i32,
    /// Field 9: the command's exit code, flags included.
    pub exit_code: i32,
    /// Field 10: the command line, arguments each followed by `;`, verbatim.
    pub command: &'a [u8],
}

impl FilterEvent<'_> {
    /// What this run did to the message.
    pub fn outcome(&self) -> FilterOutcome {
        classify(self.stage, self.exec_result, self.exit_code)
    }

    /// The filter asked XMail to stop running the filters after it (bit 16 of a code of a
    /// command that ran).
    pub fn breaks(&self) -> bool {
        self.exec_result == 0 && self.exit_code & FILTER_FLAG_BREAK != 0
    }
}

/// Parses a `%d` integer: an optional `-`, then 1 to 10 digits, within `i32`.
fn parse_i32(b: &[u8]) -> Option<i32> {
    let (neg, digits) = match b {
        [b'-', rest @ ..] => (true, rest),
        _ => (false, b),
    };
    if digits.is_empty() || digits.len() > 10 {
        return None;
    }
    let mut n: i64 = 0;
    for &c in digits {
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + i64::from(d);
    }
    i32::try_from(if neg { -n } else { n }).ok()
}

/// Parses one filter log line (without its LF; a trailing CR is removed here).
pub fn parse_filter(line: &[u8]) -> Result<FilterEvent<'_>, ParseError> {
    let inner = record(line)?;
    let mut s = [0usize; 9];
    if seps_from_left(inner, &mut s) < 9 {
        return Err(ParseError::FieldCount);
    }
    let field = |start: usize, end: usize| between(inner, start, end);
    let time = LocalTime::parse_xmail(field(s[3] + 2, s[4] - 1)).ok_or(ParseError::BadTime)?;
    let stage = FilterStage::from_field(field(s[4] + 2, s[5] - 1)).ok_or(ParseError::BadStatus)?;
    let exec_result = parse_i32(field(s[6] + 2, s[7] - 1)).ok_or(ParseError::BadSize)?;
    let exit_code = parse_i32(field(s[7] + 2, s[8] - 1)).ok_or(ParseError::BadSize)?;
    Ok(FilterEvent {
        sender: field(0, s[0] - 1),
        recipient: field(s[0] + 2, s[1] - 1),
        local_ip: field(s[1] + 2, s[2] - 1),
        remote_ip: field(s[2] + 2, s[3] - 1),
        time,
        stage,
        info: field(s[5] + 2, s[6] - 1),
        exec_result,
        exit_code,
        command: field(s[8] + 2, inner.len()),
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

    /// The sample file `filters-202611270000`.
    const SAMPLE: &str = "\"bob@partner.example.com\"\t\"kim@example.co.kr\"\t\"192.0.2.10\"\t\"203.0.113.9\"\t\"2026-11-27 00:18:01\"\t\"post-rcpt\"\t\"\"\t\"0\"\t\"0\"\t\"/var/MailRoot/filters/check-rcpt.sh;kim@example.co.kr;\"
\"bob@partner.example.com\"\t\"kim@example.co.kr\"\t\"192.0.2.10\"\t\"203.0.113.9\"\t\"2026-11-27 00:18:02\"\t\"post-data\"\t\"\"\t\"0\"\t\"0\"\t\"/var/MailRoot/filters/spamassassin.sh;/var/MailRoot/spool/temp/a1.xtmp;\"
\"bob@partner.example.com\"\t\"kim@example.co.kr\"\t\"192.0.2.10\"\t\"203.0.113.9\"\t\"2026-11-27 00:18:03\"\t\"in\"\t\"\"\t\"0\"\t\"0\"\t\"/var/MailRoot/filters/clamav.sh;kim@example.co.kr;\"
\"spam@bulk.example\"\t\"kim@example.co.kr\"\t\"192.0.2.10\"\t\"198.51.100.200\"\t\"2026-11-27 02:40:10\"\t\"post-data\"\t\"\"\t\"0\"\t\"3\"\t\"/var/MailRoot/filters/spamassassin.sh;/var/MailRoot/spool/temp/b7.xtmp;\"
\"friend@virus.example\"\t\"lee@example.co.kr\"\t\"192.0.2.10\"\t\"198.51.100.201\"\t\"2026-11-27 03:05:44\"\t\"in\"\t\"\"\t\"0\"\t\"4\"\t\"/var/MailRoot/filters/clamav.sh;lee@example.co.kr;\"
\"kim@example.co.kr\"\t\"partner1@partner.example.com\"\t\"192.0.2.10\"\t\"127.0.0.1\"\t\"2026-11-27 10:02:31\"\t\"out\"\t\"\"\t\"0\"\t\"0\"\t\"/var/MailRoot/filters/disclaimer.sh;partner1@partner.example.com;\"
\"newsletter@lists.example\"\t\"*\"\t\"192.0.2.10\"\t\"203.0.113.77\"\t\"2026-11-27 11:00:00\"\t\"pre-data\"\t\"\"\t\"0\"\t\"0\"\t\"/var/MailRoot/filters/greylist.sh;\"
\"trusted@partner.example.com\"\t\"lee@example.co.kr\"\t\"192.0.2.10\"\t\"192.0.2.44\"\t\"2026-11-27 11:30:00\"\t\"in\"\t\"wlex\"\t\"-1\"\t\"0\"\t\"/var/MailRoot/filters/clamav.sh;lee@example.co.kr;\"
\"kim@example.co.kr\"\t\"lee@example.co.kr\"\t\"192.0.2.10\"\t\"127.0.0.1\"\t\"2026-11-27 13:00:00\"\t\"in\"\t\"\"\t\"-17\"\t\"0\"\t\"/var/MailRoot/filters/missing.sh;lee@example.co.kr;\"";

    #[test]
    fn the_sample_file() {
        let evs: Vec<FilterEvent> = SAMPLE
            .lines()
            .map(|l| parse_filter(l.as_bytes()).unwrap())
            .collect();
        use FilterOutcome::*;
        use FilterStage::*;
        let got: Vec<(FilterStage, FilterOutcome)> =
            evs.iter().map(|e| (e.stage, e.outcome())).collect();
        assert_eq!(
            got,
            [
                (PostRcpt, Passed),
                (PostData, Passed),
                (In, Passed),
                (PostData, Rejected),
                (In, Rejected),
                (Out, Passed),
                (PreData, Passed),
                (In, Skipped),
                (In, Error),
            ]
        );
        let e = &evs[6];
        assert_eq!(e.sender, b"newsletter@lists.example");
        assert_eq!(e.recipient, b"*");
        assert_eq!(e.local_ip, b"192.0.2.10");
        assert_eq!(e.remote_ip, b"203.0.113.77");
        assert_eq!(e.command, b"/var/MailRoot/filters/greylist.sh;");
        assert_eq!((e.time.hour, e.time.minute), (11, 0));
        assert_eq!(evs[7].info, b"wlex");
        assert_eq!((evs[8].exec_result, evs[8].exit_code), (-17, 0));
        let crlf = format!("{}\r", SAMPLE.lines().nth(4).unwrap());
        assert_eq!(parse_filter(crlf.as_bytes()), Ok(evs[4]));
    }

    #[test]
    fn what_xmail_writes_for_a_skipped_command() {
        // `FilApplyFilter`: ExecResult -1, ExitCode -1, Info the reason.
        let l = line(&[
            "a@b.example",
            "c@d.example",
            "192.0.2.10",
            "192.0.2.44",
            "2026-11-27 11:30:00",
            "in",
            "WLISTED",
            "-1",
            "-1",
            "/f.sh;",
        ]);
        let ev = parse_filter(l.as_bytes()).unwrap();
        assert_eq!(ev.outcome(), FilterOutcome::Skipped);
        assert!(!ev.breaks());
    }

    #[test]
    fn exit_codes_per_stage() {
        use FilterOutcome::*;
        use FilterStage::*;
        for stage in [In, Out] {
            let want = [
                (0, Passed),
                (1, Passed),
                (3, Passed),
                (4, Rejected),
                (5, Rejected),
                (6, Rejected),
                (7, Modified),
                (8, Passed),
                (16, Passed),
                (16 + 4, Rejected),
                (16 + 6, Rejected),
                (16 + 7, Modified),
                (-1, Passed),
            ];
            for (code, outcome) in want {
                assert_eq!(classify(stage, 0, code), outcome, "{stage:?} {code}");
            }
        }
        for stage in [PostRcpt, PreData, PostData] {
            let want = [
                (0, Passed),
                (3, Rejected),
                (16 + 3, Rejected),
                (4, Passed),
                (6, Passed),
                (7, Passed),
                (16, Passed),
            ];
            for (code, outcome) in want {
                assert_eq!(classify(stage, 0, code), outcome, "{stage:?} {code}");
            }
        }
        for stage in FilterStage::ALL {
            assert_eq!(classify(stage, -1, -1), Skipped);
            assert_eq!(classify(stage, -1, 6), Skipped);
            assert_eq!(classify(stage, -17, 0), Error);
            assert_eq!(classify(stage, 5, 3), Error);
        }
    }

    #[test]
    fn a_command_line_full_of_separators_does_not_shift_fields() {
        for cmd in [
            "",
            "\"",
            "\t",
            "\"\t\"",
            "/f.sh;x\"\t\"in\"\t\"\"\t\"0\"\t\"7\"\t\";",
            "/f.sh;\"\t\"",
        ] {
            let l = line(&[
                "a@b.example",
                "*",
                "192.0.2.10",
                "192.0.2.44",
                "2026-11-27 11:30:00",
                "post-data",
                "",
                "0",
                "19",
                cmd,
            ]);
            let ev = parse_filter(l.as_bytes()).unwrap();
            assert_eq!(ev.command, cmd.as_bytes());
            assert_eq!(ev.stage, FilterStage::PostData);
            assert_eq!(ev.outcome(), FilterOutcome::Rejected);
            assert!(ev.breaks());
        }
    }

    #[test]
    fn integers() {
        assert_eq!(parse_i32(b"0"), Some(0));
        assert_eq!(parse_i32(b"-1"), Some(-1));
        assert_eq!(parse_i32(b"2147483647"), Some(i32::MAX));
        assert_eq!(parse_i32(b"-2147483648"), Some(i32::MIN));
        assert_eq!(parse_i32(b"2147483648"), None);
        assert_eq!(parse_i32(b"99999999999"), None);
        assert_eq!(parse_i32(b"-"), None);
        assert_eq!(parse_i32(b""), None);
        assert_eq!(parse_i32(b"+1"), None);
        assert_eq!(parse_i32(b" 1"), None);
    }

    #[test]
    fn malformed() {
        assert_eq!(parse_filter(b""), Err(ParseError::Empty));
        assert_eq!(parse_filter(b"\r"), Err(ParseError::Empty));
        assert_eq!(parse_filter(b"a@b\t*"), Err(ParseError::NotQuoted));
        let ok = [
            "a@b.example",
            "c@d.example",
            "192.0.2.10",
            "192.0.2.44",
            "2026-11-27 11:30:00",
            "in",
            "",
            "0",
            "0",
            "/f.sh;",
        ];
        assert_eq!(
            parse_filter(line(&ok[..9]).as_bytes()),
            Err(ParseError::FieldCount)
        );
        let mut bad = ok;
        bad[4] = "2026-11-27";
        assert_eq!(
            parse_filter(line(&bad).as_bytes()),
            Err(ParseError::BadTime)
        );
        let mut bad = ok;
        bad[5] = "IN";
        assert_eq!(
            parse_filter(line(&bad).as_bytes()),
            Err(ParseError::BadStatus)
        );
        for i in [7, 8] {
            let mut bad = ok;
            bad[i] = "x";
            assert_eq!(
                parse_filter(line(&bad).as_bytes()),
                Err(ParseError::BadSize)
            );
        }
        for l in SAMPLE.lines() {
            for i in 0..=l.len() {
                let _ = parse_filter(&l.as_bytes()[..i]);
                let _ = parse_filter(&l.as_bytes()[i..]);
            }
        }
    }
}
