//! The request rate limit of `rate_limit:`: a token bucket. Owned by
//! [`super::WebConfigSource`], which keeps one bucket across reloads that do not change the
//! limit; the HTTP side only asks whether a request may pass.

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
}
