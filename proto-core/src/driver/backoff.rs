//! [`Backoff`]: reconnect delays, exponential with jitter; [`Retries`]:
//! one client's run of them, jitter drawn from a seed.

use std::time::Duration;

use crate::rng::SplitMix64;

/// Reconnect delays: `initial`, doubling up to `max`, each scaled by a
/// random factor in `[1 - jitter, 1]` so that many clients dropped at once
/// do not reconnect in step. `max_attempts` bounds the retries in a row
/// (`None`: forever).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    /// The first delay.
    pub initial: Duration,
    /// The largest delay.
    pub max: Duration,
    /// Fraction of each delay that is random, in `0.0..=1.0`.
    pub jitter: f64,
    /// Failed attempts in a row before giving up (`None`: never give up).
    pub max_attempts: Option<u32>,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(10),
            jitter: 0.5,
            max_attempts: None,
        }
    }
}

impl Backoff {
    /// The delay before retry number `attempt` (0-based), given a random
    /// number `random` (any `u64`; the client draws one per attempt from
    /// its seeded [`SplitMix64`](crate::rng::SplitMix64)).
    /// Returns `None` once `max_attempts` retries have been made.
    pub fn delay(&self, attempt: u32, random: u64) -> Option<Duration> {
        if self.max_attempts.is_some_and(|max| attempt >= max) {
            return None;
        }
        let doubled = self
            .initial
            .saturating_mul(1u32.checked_shl(attempt.min(31)).unwrap_or(u32::MAX));
        let base = doubled.min(self.max);
        let jitter = self.jitter.clamp(0.0, 1.0);
        // `random` as a fraction in [0, 1).
        let unit = (random >> 11) as f64 / (1u64 << 53) as f64;
        Some(base.mul_f64(1.0 - jitter * unit))
    }
}

/// One client's reconnect attempts: [`Backoff::delay`] for each, with the
/// jitter drawn from a [`SplitMix64`] seeded from the client's config, so
/// the same seed waits the same delays.
#[derive(Debug, Clone)]
pub(crate) struct Retries {
    backoff: Backoff,
    /// Failed attempts in a row.
    attempt: u32,
    jitter: SplitMix64,
}

impl Retries {
    pub(crate) fn new(backoff: Backoff, seed: u64) -> Self {
        Self {
            backoff,
            attempt: 0,
            jitter: SplitMix64::new(seed),
        }
    }

    /// The delay before the next attempt, which it counts; `None` once
    /// `max_attempts` attempts in a row have been made.
    pub(crate) fn next_delay(&mut self) -> Option<Duration> {
        let delay = self.backoff.delay(self.attempt, self.jitter.next_u64())?;
        self.attempt += 1;
        Some(delay)
    }

    /// Attempts made in a row so far.
    pub(crate) fn attempts(&self) -> u32 {
        self.attempt
    }

    /// A connection was made: the count starts again.
    pub(crate) fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delays(seed: u64, n: usize) -> Vec<Option<Duration>> {
        let backoff = Backoff {
            max_attempts: Some(4),
            ..Backoff::default()
        };
        let mut retries = Retries::new(backoff, seed);
        (0..n).map(|_| retries.next_delay()).collect()
    }

    #[test]
    fn jitter_is_drawn_from_the_seed() {
        assert_eq!(delays(7, 4), delays(7, 4));
        assert_ne!(delays(7, 4), delays(8, 4));
    }

    #[test]
    fn gives_up_after_max_attempts_until_reset() {
        let got = delays(1, 5);
        assert!(got[..4].iter().all(Option::is_some));
        assert_eq!(got[4], None);

        let backoff = Backoff {
            jitter: 0.0,
            max_attempts: Some(2),
            ..Backoff::default()
        };
        let mut retries = Retries::new(backoff, 1);
        assert_eq!(retries.next_delay(), Some(backoff.initial));
        assert_eq!(retries.attempts(), 1);
        retries.reset();
        assert_eq!(retries.next_delay(), Some(backoff.initial));
        assert_eq!(retries.next_delay(), Some(backoff.initial * 2));
        assert_eq!(retries.next_delay(), None);
    }

    #[test]
    fn doubles_up_to_max_within_jitter() {
        let b = Backoff {
            initial: Duration::from_millis(100),
            max: Duration::from_millis(1000),
            jitter: 0.5,
            max_attempts: Some(6),
        };
        assert_eq!(b.delay(0, 0), Some(Duration::from_millis(100)));
        assert_eq!(b.delay(3, 0), Some(Duration::from_millis(800)));
        assert_eq!(b.delay(4, 0), Some(Duration::from_millis(1000)));
        let low = b.delay(2, u64::MAX).expect("attempt 2 of 6");
        assert!(low >= Duration::from_millis(200) && low < Duration::from_millis(201));
        assert_eq!(b.delay(5, 0), Some(Duration::from_millis(1000))); // the last allowed
        assert_eq!(b.delay(6, 0), None); // one past max_attempts
    }
}
