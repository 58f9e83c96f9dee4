//! Rate limits, one kind for the whole program: a token bucket ([`TokenBucket`]) for the
//! web config's request limit (`rate_limit:`, kept across reloads by
//! [`crate::web::reload::WebConfigSource`]), and a [`Throttle`] over it for repeated log
//! messages (a malformed line, a file that cannot be read), which counts what it held back
//! so the next message can say so.
//!
//! Owns only the arithmetic; what is limited and what happens to a refused request or a
//! held-back message is the caller's.

use std::time::{Duration, Instant};

/// The configured limit: `burst` requests at once, refilled by one every `interval`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// One request per interval on average.
    pub interval: Duration,
    /// Requests allowed at once.
    pub burst: u32,
}

/// A token bucket for a [`RateLimit`].
#[derive(Debug)]
pub struct TokenBucket {
    limit: RateLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket.
    pub fn new(limit: RateLimit, now: Instant) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: f64::from(limit.burst),
            last: now,
        }
    }

    /// The limit this bucket applies.
    pub fn limit(&self) -> RateLimit {
        self.limit
    }

    /// Takes a token; `false` when none is left.
    pub fn take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last);
        self.last = now;
        if self.limit.interval.is_zero() {
            return true;
        }
        self.tokens = (self.tokens + elapsed.as_secs_f64() / self.limit.interval.as_secs_f64())
            .min(f64::from(self.limit.burst));
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Lets repeated log messages through at a [`RateLimit`] and counts the ones held back.
#[derive(Debug)]
pub struct Throttle {
    limit: RateLimit,
    /// Made at the first message.
    bucket: Option<TokenBucket>,
    suppressed: u64,
}

impl Throttle {
    /// A throttle that lets `burst` messages through at once and one per `interval` after.
    pub const fn new(interval: Duration, burst: u32) -> Throttle {
        Throttle {
            limit: RateLimit { interval, burst },
            bucket: None,
            suppressed: 0,
        }
    }

    /// `Some(n)` when a message may be logged now, `n` being how many were held back since
    /// the last one let through; `None` (and one more held back) otherwise.
    pub fn allow(&mut self, now: Instant) -> Option<u64> {
        let limit = self.limit;
        if self
            .bucket
            .get_or_insert_with(|| TokenBucket::new(limit, now))
            .take(now)
        {
            Some(std::mem::take(&mut self.suppressed))
        } else {
            self.suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_bucket() {
        let t0 = Instant::now();
        let limit = RateLimit {
            interval: Duration::from_secs(1),
            burst: 2,
        };
        let mut b = TokenBucket::new(limit, t0);
        assert!(b.take(t0));
        assert!(b.take(t0));
        assert!(!b.take(t0));
        assert!(b.take(t0 + Duration::from_millis(1100)));
        assert!(!b.take(t0 + Duration::from_millis(1200)));
        assert_eq!(b.limit(), limit);
    }

    #[test]
    fn throttle_counts_what_it_holds_back() {
        let t0 = Instant::now();
        let mut t = Throttle::new(Duration::from_secs(10), 2);
        assert_eq!(t.allow(t0), Some(0));
        assert_eq!(t.allow(t0), Some(0));
        assert_eq!(t.allow(t0), None);
        assert_eq!(t.allow(t0 + Duration::from_secs(1)), None);
        assert_eq!(t.allow(t0 + Duration::from_secs(11)), Some(2));
        assert_eq!(t.allow(t0 + Duration::from_secs(12)), None);
    }
}
