//! XMail timestamps: `YYYY-MM-DD HH:MM:SS` in the server's local time, with no zone.
//!
//! [`LocalTime::parse_xmail`] gives the same answer for the same bytes, and remembers (per
//! thread) the date and hour of the last time it parsed: XMail writes many lines per second,
//! so nearly every line only needs its minutes and seconds read. [`TimeConverter`] turns a
//! local time into Unix seconds in the configured zone and caches one hour's offset, so the
//! per-line cost is a comparison.

use std::cell::Cell;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;

/// A wall-clock time as XMail writes it, not yet placed in a time zone.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct LocalTime {
    /// Four-digit year.
    pub year: i16,
    /// 1 to 12.
    pub month: i8,
    /// 1 to 31.
    pub day: i8,
    /// 0 to 23.
    pub hour: i8,
    /// 0 to 59.
    pub minute: i8,
    /// 0 to 60 (a leap second is accepted and folded later).
    pub second: i8,
}

#[inline(always)]
fn d2(b: &[u8], i: usize) -> Option<i8> {
    let (a, c) = (b[i].wrapping_sub(b'0'), b[i + 1].wrapping_sub(b'0'));
    (a < 10 && c < 10).then(|| (a * 10 + c) as i8)
}

/// `YYYY-MM-DD HH` of the last time [`LocalTime::parse_xmail`] parsed in full, and that time.
type HourCache = ([u8; 13], LocalTime);

thread_local! {
    /// The all-zero key matches no time (a valid one has a `-` at index 4).
    static LAST_HOUR: Cell<HourCache> = const {
        Cell::new((
            [0; 13],
            LocalTime { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0 },
        ))
    };
}

impl LocalTime {
    /// Parses exactly `YYYY-MM-DD HH:MM:SS`.
    #[inline]
    pub fn parse_xmail(b: &[u8]) -> Option<LocalTime> {
        let b: &[u8; 19] = b.try_into().ok()?;
        let (key, hour) = LAST_HOUR.with(Cell::get);
        if b[..13] == key {
            // The same date and hour as a time that parsed: only `:MM:SS` is left to check.
            if b[13] != b':' || b[16] != b':' {
                return None;
            }
            let (minute, second) = (d2(b, 14)?, d2(b, 17)?);
            return (minute < 60 && second <= 60).then_some(LocalTime {
                minute,
                second,
                ..hour
            });
        }
        Self::parse_xmail_in_full(b)
    }

    #[cold]
    #[inline(never)]
    fn parse_xmail_in_full(b: &[u8; 19]) -> Option<LocalTime> {
        if b[4] != b'-' || b[7] != b'-' || b[10] != b' ' {
            return None;
        }
        let t = Self::parse_with_separators(b)?;
        let mut key = [0; 13];
        key.copy_from_slice(&b[..13]);
        LAST_HOUR.with(|c| c.set((key, t)));
        Some(t)
    }

    /// Parses `YYYY?MM?DD?HH:MM:SS` where `?` are any single separator bytes (`-`, `/`, `.`,
    /// `T`, space): the leading-timestamp forms seen in PHP and webmail logs.
    pub fn parse_loose(b: &[u8]) -> Option<LocalTime> {
        if b.len() < 19 {
            return None;
        }
        let b = &b[..19];
        let date_sep = |c: u8| matches!(c, b'-' | b'/' | b'.');
        if !date_sep(b[4]) || b[7] != b[4] || !matches!(b[10], b' ' | b'T') {
            return None;
        }
        Self::parse_with_separators(b)
    }

    fn parse_with_separators(b: &[u8]) -> Option<LocalTime> {
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let t = LocalTime {
            year: d2(b, 0)? as i16 * 100 + d2(b, 2)? as i16,
            month: d2(b, 5)?,
            day: d2(b, 8)?,
            hour: d2(b, 11)?,
            minute: d2(b, 14)?,
            second: d2(b, 17)?,
        };
        t.in_range().then_some(t)
    }

    /// Midnight of the given date.
    pub fn midnight(year: i16, month: i8, day: i8) -> Option<LocalTime> {
        let t = LocalTime {
            year,
            month,
            day,
            hour: 0,
            minute: 0,
            second: 0,
        };
        t.in_range().then_some(t)
    }

    /// The same wall-clock time as a jiff civil date and time (a leap second becomes :59),
    /// for distances between local times; `None` for an impossible date (February 30).
    pub fn civil(self) -> Option<DateTime> {
        DateTime::new(
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second.min(59),
            0,
        )
        .ok()
    }

    fn in_range(&self) -> bool {
        (1..=12).contains(&self.month)
            && (1..=31).contains(&self.day)
            && self.hour < 24
            && self.minute < 60
            && self.second <= 60
    }
}

impl std::fmt::Display for LocalTime {
    /// As XMail writes it: `YYYY-MM-DD HH:MM:SS`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}

/// Converts [`LocalTime`]s to Unix seconds in one time zone, caching the start of the last
/// hour seen (XMail lines arrive in time order, so nearly every line hits the cache).
#[derive(Clone, Debug)]
pub struct TimeConverter {
    tz: TimeZone,
    /// `(year, month, day, hour)` of the cached hour, packed; `u64::MAX` when empty.
    key: u64,
    /// Unix seconds of that hour's `HH:00:00`.
    base: i64,
}

impl TimeConverter {
    /// A converter for `tz`.
    pub fn new(tz: TimeZone) -> TimeConverter {
        TimeConverter {
            tz,
            key: u64::MAX,
            base: 0,
        }
    }

    /// Unix seconds of `t` in this converter's zone, or `None` for an impossible date
    /// (e.g. February 30).
    #[inline]
    pub fn to_unix(&mut self, t: LocalTime) -> Option<i64> {
        let key =
            (t.year as u64) << 24 | (t.month as u64) << 16 | (t.day as u64) << 8 | t.hour as u64;
        if key != self.key {
            let dt = DateTime::new(t.year, t.month, t.day, t.hour, 0, 0, 0).ok()?;
            let ts = self.tz.to_ambiguous_timestamp(dt).compatible().ok()?;
            self.key = key;
            self.base = ts.as_second();
        }
        Some(self.base + i64::from(t.minute) * 60 + i64::from(t.second.min(59)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lt(s: &str) -> Option<LocalTime> {
        LocalTime::parse_xmail(s.as_bytes())
    }

    #[test]
    fn parses_xmail_times() {
        let t = lt("2026-11-27 00:01:12").unwrap();
        assert_eq!(
            (t.year, t.month, t.day, t.hour, t.minute, t.second),
            (2026, 11, 27, 0, 1, 12)
        );
        assert_eq!(lt("2026-11-27 24:01:12"), None);
        assert_eq!(lt("2026-13-27 00:01:12"), None);
        assert_eq!(lt("2026-11-27T00:01:12"), None);
        assert_eq!(lt("2026-11-27 00:01:1"), None);
        assert_eq!(lt("2026-11-27 00:01:1x"), None);
        assert_eq!(lt(""), None);
    }

    #[test]
    fn the_hour_cache_checks_what_it_does_not_cache() {
        // Each pair: a time that fills the cache, then one of the same date and hour.
        let pairs = [
            ("2026-11-27 10:01:12", "2026-11-27 10:59:60", true),
            ("2026-11-27 10:01:12", "2026-11-27 10:60:00", false),
            ("2026-11-27 10:01:12", "2026-11-27 10:01:61", false),
            ("2026-11-27 10:01:12", "2026-11-27 10-01:12", false),
            ("2026-11-27 10:01:12", "2026-11-27 10:01-12", false),
            ("2026-11-27 10:01:12", "2026-11-27 10:0x:12", false),
            ("2026-11-27 10:01:12", "2026-11-27 10:01:1 ", false),
            ("2026-11-27 10:01:12", "2026-11-27 10:01:12x", false),
        ];
        for (first, second, ok) in pairs {
            assert!(lt(first).is_some());
            let t = lt(second);
            assert_eq!(t.is_some(), ok, "{second}");
            if let Some(t) = t {
                assert_eq!(t.to_string(), second);
            }
        }
        // A time that does not parse fills nothing: the next one is parsed in full.
        assert_eq!(lt("2026-11-27 25:01:12"), None);
        assert_eq!(lt("2026-11-27 25:01:13"), None);
        // Another date, same hour.
        let t = lt("2026-11-28 10:01:12").unwrap();
        assert_eq!((t.day, t.hour, t.minute), (28, 10, 1));
    }

    #[test]
    fn displays_as_xmail_writes() {
        assert_eq!(
            lt("2026-11-27 00:01:12").unwrap().to_string(),
            "2026-11-27 00:01:12"
        );
    }

    #[test]
    fn parses_loose_leading_times() {
        assert!(LocalTime::parse_loose(b"2026/11/27 09:12:44 rest").is_some());
        assert!(LocalTime::parse_loose(b"2026.11.27 09:12:44").is_some());
        assert!(LocalTime::parse_loose(b"2026-11-27T09:12:44").is_some());
        assert!(LocalTime::parse_loose(b"2026-11/27 09:12:44").is_none());
    }

    #[test]
    fn converts_in_zone() {
        let mut seoul = TimeConverter::new(TimeZone::get("Asia/Seoul").unwrap());
        // 2026-11-27 00:01:12 KST = 2026-11-26 15:01:12 UTC.
        assert_eq!(
            seoul.to_unix(lt("2026-11-27 00:01:12").unwrap()),
            Some(1_795_705_272)
        );
        assert_eq!(
            seoul.to_unix(lt("2026-11-27 00:59:59").unwrap()),
            Some(1_795_705_272 - 72 + 3599)
        );
        let mut utc = TimeConverter::new(TimeZone::UTC);
        assert_eq!(utc.to_unix(lt("1970-01-01 01:00:00").unwrap()), Some(3600));
        assert_eq!(utc.to_unix(lt("2026-02-30 00:00:00").unwrap()), None);
    }
}
