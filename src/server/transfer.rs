//! Time limits on files in transit, in both directions, as pure arithmetic on instants.
//!
//! A file holds memory from its header until the last receiver has it, so every step must keep
//! moving. Inbound, its body must keep arriving (no gap longer than `file_timeout`) and must be
//! whole within its allowance; outbound, each receiver must take it within its allowance. The
//! allowance of a file of `size` bytes is `file_timeout` plus `size / min_file_rate` seconds.
//!
//! Nothing here may overflow whatever the configuration: a deadline too far to represent is no
//! deadline at all.

use std::time::{Duration, Instant};

use super::Config;

/// How long a file of `size` bytes may take to arrive, or to be written to one receiver.
pub(super) fn file_allowance(size: u64, config: &Config) -> Duration {
    let at_min_rate = size as f64 / config.min_file_rate.max(1) as f64;
    let at_min_rate = Duration::try_from_secs_f64(at_min_rate).unwrap_or(Duration::MAX);
    config.file_timeout.saturating_add(at_min_rate)
}

/// `start + after`, or `None` ("never") when that is too far to represent.
pub(super) fn deadline(start: Instant, after: Duration) -> Option<Instant> {
    start.checked_add(after)
}

/// The earlier of two optional deadlines (`None` is never).
pub(super) fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}

/// The limits on a file being received: when it started and when its last byte came.
#[derive(Debug, Clone, Copy)]
pub(super) struct InboundFile {
    /// When it must be whole (`None`: never).
    pub(super) whole_by: Option<Instant>,
    /// When its last byte arrived.
    pub(super) last_byte: Instant,
}

/// Which limit a file broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TooSlow {
    /// No byte for `file_timeout`.
    Stalled,
    /// Not whole within its allowance.
    BelowMinRate,
}

impl InboundFile {
    /// A file of at most `size` bytes whose header arrived at `now`.
    pub(super) fn new(size: u64, now: Instant, config: &Config) -> InboundFile {
        InboundFile {
            whole_by: deadline(now, file_allowance(size, config)),
            last_byte: now,
        }
    }

    /// The next moment at which this file breaks a limit if no byte comes.
    pub(super) fn deadline(&self, config: &Config) -> Option<Instant> {
        earliest(self.whole_by, deadline(self.last_byte, config.file_timeout))
    }

    /// Which limit the file has broken at `now`, if any.
    pub(super) fn broken_at(&self, now: Instant, config: &Config) -> Option<TooSlow> {
        if self.whole_by.is_some_and(|by| now >= by) {
            Some(TooSlow::BelowMinRate)
        } else if deadline(self.last_byte, config.file_timeout).is_some_and(|by| now >= by) {
            Some(TooSlow::Stalled)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(file_timeout: u64, min_file_rate: u64) -> Config {
        Config {
            file_timeout: Duration::from_secs(file_timeout),
            min_file_rate,
            ..Config::default()
        }
    }

    #[test]
    fn a_file_is_allowed_the_timeout_plus_its_size_at_the_minimum_rate() {
        let config = config(30, 1000);
        assert_eq!(file_allowance(0, &config), Duration::from_secs(30));
        assert_eq!(file_allowance(5000, &config), Duration::from_secs(35));
    }

    #[test]
    fn extreme_limits_give_no_deadline_rather_than_an_overflow() {
        let config = Config {
            file_timeout: Duration::MAX,
            min_file_rate: 1,
            ..Config::default()
        };
        let allowance = file_allowance(u64::MAX, &config);
        assert_eq!(allowance, Duration::MAX);
        assert_eq!(deadline(Instant::now(), allowance), None);
    }

    #[test]
    fn a_body_that_stops_arriving_is_stalled_after_the_timeout() {
        let config = config(10, 1);
        let start = Instant::now();
        let mut file = InboundFile::new(1_000_000, start, &config);
        let later = start + Duration::from_secs(9);
        assert_eq!(file.broken_at(later, &config), None);
        file.last_byte = later;
        let stalled = later + Duration::from_secs(10);
        assert_eq!(file.broken_at(stalled, &config), Some(TooSlow::Stalled));
        assert_eq!(file.deadline(&config), Some(stalled));
    }

    #[test]
    fn a_body_that_trickles_is_too_slow_after_its_allowance() {
        let config = config(10, 100);
        let start = Instant::now();
        let mut file = InboundFile::new(1000, start, &config); // 10 s + 10 s
        for second in 1..20 {
            file.last_byte = start + Duration::from_secs(second);
            assert_eq!(file.broken_at(file.last_byte, &config), None);
        }
        let at = start + Duration::from_secs(20);
        assert_eq!(file.broken_at(at, &config), Some(TooSlow::BelowMinRate));
    }
}
