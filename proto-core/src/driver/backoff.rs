//! [`Backoff`]: reconnect delays, exponential with jitter.

use std::time::Duration;

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

#[cfg(test)]
mod tests {
    use super::*;

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
