//! Flood control for one client: a token bucket.
//!
//! The bucket holds up to `burst` tokens and refills at `per_second`. Each frame takes a token; a
//! frame that finds none waits until one has grown back. The reader sleeps for that wait, so a
//! flooding client slows down itself and nobody else. Pure arithmetic on instants: the tests
//! pass the clock in.

use std::time::{Duration, Instant};

use super::FloodLimit;

pub(super) struct TokenBucket {
    limit: FloodLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub(super) fn new(limit: FloodLimit, now: Instant) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: f64::from(limit.burst),
            last: now,
        }
    }

    /// Takes one token if one is there at `now`; never owes one. For a budget that is either
    /// spent or not (the log's), rather than a pace.
    pub(super) fn try_take(&mut self, now: Instant) -> bool {
        let grown = now.saturating_duration_since(self.last).as_secs_f64() * self.limit.per_second;
        self.tokens = (self.tokens + grown).min(f64::from(self.limit.burst));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket is full at `now`: the client has been quiet long enough to send a
    /// whole burst again.
    pub(super) fn is_full(&self, now: Instant) -> bool {
        let grown = now.saturating_duration_since(self.last).as_secs_f64() * self.limit.per_second;
        self.tokens + grown >= f64::from(self.limit.burst)
    }

    /// The limit this bucket keeps.
    pub(super) fn limit(&self) -> FloodLimit {
        self.limit
    }

    /// Takes `tokens` tokens (bytes skipped unread cost a fraction of a frame each) at `now`;
    /// returns how long the client must wait. A wait too long to represent is `Duration::MAX`:
    /// the reader never sleeps past its own deadline anyway.
    pub(super) fn take_many(&mut self, now: Instant, tokens: f64) -> Duration {
        let grown = now.saturating_duration_since(self.last).as_secs_f64() * self.limit.per_second;
        self.tokens = (self.tokens + grown).min(f64::from(self.limit.burst)) - tokens;
        self.last = now;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            // The tokens are owed; after the wait they will have grown back.
            let wait = -self.tokens / self.limit.per_second;
            Duration::try_from_secs_f64(wait).unwrap_or(Duration::MAX)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    impl TokenBucket {
        /// Takes one token, for a frame.
        fn take(&mut self, now: Instant) -> Duration {
            self.take_many(now, 1.0)
        }
    }

    #[test]
    fn token_bucket_lets_a_burst_through_then_paces_frames() {
        let limit = FloodLimit {
            burst: 3,
            per_second: 2.0,
        };
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit, start);
        for _ in 0..3 {
            assert_eq!(bucket.take(start), Duration::ZERO);
        }
        // The fourth frame at once waits for one token: half a second.
        assert_eq!(bucket.take(start), Duration::from_millis(500));
        // It waited; the frame after it waits another half second.
        let later = start + Duration::from_millis(500);
        assert_eq!(bucket.take(later), Duration::from_millis(500));
        // After a long pause the bucket is full again, but no fuller than the burst.
        let much_later = later + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(bucket.take(much_later), Duration::ZERO);
        }
        assert!(bucket.take(much_later) > Duration::ZERO);
    }

    #[test]
    fn try_take_spends_what_is_there_and_never_owes() {
        let limit = FloodLimit {
            burst: 2,
            per_second: 1.0,
        };
        let now = Instant::now();
        let mut bucket = TokenBucket::new(limit, now);
        assert!(bucket.try_take(now));
        assert!(bucket.try_take(now));
        assert!(!bucket.try_take(now));
        assert!(!bucket.try_take(now));
        // Nothing was owed: one second later there is one token again.
        assert!(bucket.try_take(now + Duration::from_secs(1)));
    }

    #[test]
    fn a_bucket_is_full_again_after_a_quiet_spell() {
        let limit = FloodLimit {
            burst: 2,
            per_second: 1.0,
        };
        let now = Instant::now();
        let mut bucket = TokenBucket::new(limit, now);
        assert!(bucket.is_full(now));
        bucket.take_many(now, 1.0);
        assert!(!bucket.is_full(now));
        assert!(bucket.is_full(now + Duration::from_secs(1)));
    }

    #[test]
    fn a_rate_too_small_to_wait_for_gives_the_longest_wait_not_a_panic() {
        let limit = FloodLimit {
            burst: 1,
            per_second: 1e-20,
        };
        let now = Instant::now();
        let mut bucket = TokenBucket::new(limit, now);
        assert_eq!(bucket.take(now), Duration::ZERO);
        assert_eq!(bucket.take(now), Duration::MAX);
    }

    #[test]
    fn skipped_bytes_cost_a_share_of_a_token() {
        let limit = FloodLimit {
            burst: 2,
            per_second: 1.0,
        };
        let now = Instant::now();
        let mut bucket = TokenBucket::new(limit, now);
        assert_eq!(bucket.take_many(now, 1.5), Duration::ZERO);
        assert_eq!(bucket.take_many(now, 1.5), Duration::from_secs(1));
    }
}
