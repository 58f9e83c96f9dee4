//! A time range of log lines, as a person writes it (`--since`, `--until`, the desk's
//! `since=`/`until=`): local times as XMail writes them, both ends included.
//!
//! Owns reading the bounds and the two tests every reader of a range makes: is a line's time
//! inside ([`TimeRange::contains`]), and can a file whose name starts at a date hold lines of
//! it ([`TimeRange::may_hold`]). Which files a command reads, and what a line outside the
//! range still means, are the callers' ([`crate::trace`], [`crate::summary`]).

use anyhow::Context;
use jiff::SignedDuration;

use crate::parse::time::LocalTime;

/// Local times (as XMail writes them) a line must lie between, both ends included.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeRange {
    /// No line before this.
    pub since: Option<LocalTime>,
    /// No line after this.
    pub until: Option<LocalTime>,
}

impl TimeRange {
    /// Reads `YYYY-MM-DD` or `YYYY-MM-DD HH:MM[:SS]` bounds; a bare date `until` means the
    /// end of that day. The error says which bound is wrong and how to write it.
    pub fn parse(since: Option<&str>, until: Option<&str>) -> anyhow::Result<TimeRange> {
        Ok(TimeRange {
            since: since.map(|s| parse_bound(s, false)).transpose()?,
            until: until.map(|s| parse_bound(s, true)).transpose()?,
        })
    }

    /// Is `t` inside?
    pub fn contains(&self, t: LocalTime) -> bool {
        self.since.is_none_or(|s| t >= s) && self.until.is_none_or(|u| t <= u)
    }

    /// Can a file whose name starts at `date` (midnight) hold lines of the range? A file
    /// named for the day before `since` can (it runs into the next day), one after `until`
    /// cannot.
    pub fn may_hold(&self, date: LocalTime) -> bool {
        let day = |t: LocalTime| (t.year, t.month, t.day);
        let Some(start) = date.civil() else {
            return true;
        };
        let after_since = self.since.is_none_or(|s| {
            day(date) >= day(s)
                || s.civil().is_some_and(|s| {
                    s.date().duration_since(start.date()) <= SignedDuration::from_hours(24)
                })
        });
        let before_until = self.until.is_none_or(|u| day(date) <= day(u));
        after_since && before_until
    }
}

/// Parses `YYYY-MM-DD` or `YYYY-MM-DD HH:MM[:SS]`; `end` makes a bare date mean its last
/// second and a time without seconds its last second.
pub fn parse_bound(s: &str, end: bool) -> anyhow::Result<LocalTime> {
    let s = s.trim();
    let full = match s.len() {
        10 => format!("{s} {}", if end { "23:59:59" } else { "00:00:00" }),
        16 => format!("{s}:{}", if end { "59" } else { "00" }),
        _ => s.to_string(),
    };
    LocalTime::parse_xmail(full.as_bytes())
        .with_context(|| format!("bad time {s:?}: write YYYY-MM-DD or \"YYYY-MM-DD HH:MM:SS\""))
}
