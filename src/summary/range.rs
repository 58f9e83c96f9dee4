//! What `report --since/--until` means for the summary: which bounds are accepted
//! ([`parse_range`]), which files can hold lines of the range, judged by the times in their
//! names ([`file_may_hold`]), and on which day a line without a time of its own falls.
//!
//! The range is `trace`'s [`TimeRange`], with its syntax: `YYYY-MM-DD`, `"YYYY-MM-DD HH:MM"`
//! or `"YYYY-MM-DD HH:MM:SS"`, local times as XMail writes them, both ends included, a bare
//! `until` date meaning the end of that day. Which lines count is the accumulator's
//! ([`super::Summary::with_range`]; the rules are in the [module documentation](super)).

use crate::parse::LogKind;
use crate::parse::time::LocalTime;
use crate::read::range::TimeRange;

/// Reads `since` and `until` as [`TimeRange::parse`] does, and refuses what cannot be meant:
/// a date that does not exist (`2026-02-30`) and an `until` before `since`. Each error is one
/// line that names the value and how to write it.
pub fn parse_range(since: Option<&str>, until: Option<&str>) -> anyhow::Result<TimeRange> {
    let range = TimeRange::parse(since, until)?;
    for (typed, bound) in [(since, range.since), (until, range.until)] {
        if let (Some(typed), Some(t)) = (typed, bound)
            && t.civil().is_none()
        {
            anyhow::bail!(
                "bad time {:?}: there is no such date (write YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\")",
                typed.trim()
            );
        }
    }
    if let (Some(s), Some(u)) = (range.since, range.until)
        && u < s
    {
        anyhow::bail!("the range is empty: until {u} is before since {s}");
    }
    Ok(range)
}

/// Does the range leave lines out (a bound is given)?
pub fn is_bounded(range: &TimeRange) -> bool {
    range.since.is_some() || range.until.is_some()
}

/// The calendar day of `t`.
fn day(t: LocalTime) -> (i16, i8, i8) {
    (t.year, t.month, t.day)
}

/// Is the day of `date` one of the days the range touches?
pub fn holds_day(range: &TimeRange, date: LocalTime) -> bool {
    range.since.is_none_or(|s| day(date) >= day(s))
        && range.until.is_none_or(|u| day(date) <= day(u))
}

/// Can a log file of `kind` hold lines of the range? `start` is the date its name gives
/// (`None`: no date, read it), `next` the date of the next file of the same kind in the same
/// directory, where the file's period ends (`None`: the last one, its period is open).
///
/// XMail starts a file per period (a day by default, any number of hours with `-Mr`) named
/// for the period's start, and a line can land in the previous file just after the
/// boundary: a file holds lines from the day of its name to the day the next file starts.
/// It is skipped when it starts after the day of `until`, or when the next file started
/// before the day of `since`. A webmail file (`error-YYYYMMDD.txt`) may also hold lines of
/// the next day once its UTC stamps are moved to the configured zone, so it is read up to
/// the day after `until`.
pub fn file_may_hold(
    range: &TimeRange,
    kind: LogKind,
    start: Option<LocalTime>,
    next: Option<LocalTime>,
) -> bool {
    let Some(start) = start else {
        return true;
    };
    let before_until = range.until.is_none_or(|u| {
        if day(start) <= day(u) {
            return true;
        }
        kind == LogKind::Webmail
            && start
                .civil()
                .and_then(|s| s.date().yesterday().ok())
                .is_none_or(|y| (y.year(), y.month(), y.day()) <= day(u))
    });
    let after_since = range
        .since
        .is_none_or(|s| next.is_none_or(|n| day(n) >= day(s)));
    before_until && after_since
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::range::parse_bound;

    fn midnight(date: &str) -> LocalTime {
        parse_bound(date, false).unwrap()
    }

    fn range(since: Option<&str>, until: Option<&str>) -> TimeRange {
        parse_range(since, until).unwrap()
    }

    #[test]
    fn bounds_that_cannot_be_meant_are_refused() {
        let err = |s: Option<&str>, u: Option<&str>| parse_range(s, u).unwrap_err().to_string();
        assert!(err(Some("yesterday"), None).contains("bad time \"yesterday\""));
        assert!(err(None, Some("2026-02-30")).contains("no such date"));
        assert!(err(Some("2026-13-01"), None).contains("bad time"));
        assert_eq!(
            err(Some("2026-11-28"), Some("2026-11-27 12:00")),
            "the range is empty: until 2026-11-27 12:00:59 is before since 2026-11-28 00:00:00"
        );
        // One day, and one second, are ranges.
        let r = range(Some("2026-11-27"), Some("2026-11-27"));
        assert_eq!(r.until.unwrap().to_string(), "2026-11-27 23:59:59");
        range(Some("2026-11-27 10:00:00"), Some("2026-11-27 10:00:00"));
        assert!(!is_bounded(&range(None, None)));
        assert!(is_bounded(&range(None, Some("2026-11-27"))));
    }

    #[test]
    fn days_of_the_range() {
        let r = range(Some("2026-11-27 10:00"), Some("2026-11-28 01:00"));
        assert!(!holds_day(&r, midnight("2026-11-26")));
        assert!(holds_day(&r, midnight("2026-11-27")));
        assert!(holds_day(&r, midnight("2026-11-28")));
        assert!(!holds_day(&r, midnight("2026-11-29")));
        assert!(holds_day(&range(None, None), midnight("1999-01-01")));
    }

    #[test]
    fn files_that_can_hold_the_range() {
        let r = range(Some("2026-11-27 10:00"), Some("2026-11-28"));
        let d = |s: &str| Some(midnight(s));
        let smtp = |start: &str, next: Option<&str>| {
            file_may_hold(&r, LogKind::Smtp, d(start), next.and_then(d))
        };
        // Day files: the day before `since` runs into it, two days before cannot.
        assert!(!smtp("2026-11-25", Some("2026-11-26")));
        assert!(smtp("2026-11-26", Some("2026-11-27")));
        assert!(smtp("2026-11-27", Some("2026-11-28")));
        assert!(smtp("2026-11-28", Some("2026-11-29")));
        assert!(!smtp("2026-11-29", None));
        // A week-long period (XMail's -Mr 168) that started before the range runs into it.
        assert!(smtp("2026-11-21", Some("2026-11-28")));
        assert!(smtp("2026-11-21", None));
        // A file without a date in its name is read.
        assert!(file_may_hold(&r, LogKind::Smtp, None, None));
        // Webmail: UTC stamps can move into the next day.
        let web = |start: &str| file_may_hold(&r, LogKind::Webmail, d(start), None);
        assert!(web("2026-11-29"));
        assert!(!web("2026-11-30"));
        // Across a month end.
        let r = range(None, Some("2026-11-30 23:00"));
        assert!(file_may_hold(&r, LogKind::Webmail, d("2026-12-01"), None));
        assert!(!file_may_hold(&r, LogKind::Webmail, d("2026-12-02"), None));
        let r = range(Some("2026-12-01"), None);
        assert!(file_may_hold(
            &r,
            LogKind::Smtp,
            d("2026-11-30"),
            d("2026-12-01")
        ));
        assert!(!file_may_hold(
            &r,
            LogKind::Smtp,
            d("2026-11-29"),
            d("2026-11-30")
        ));
    }
}
