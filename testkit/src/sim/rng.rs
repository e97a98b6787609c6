//! The simulator's draws from its seeded [`SplitMix64`].

use std::time::Duration;

pub(crate) use proto_core::rng::SplitMix64 as Rng;

/// Ranged draws. Not for cryptography.
pub(crate) trait Draw {
    /// A number in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize;

    /// A duration in `min..=max`.
    fn duration(&mut self, min: Duration, max: Duration) -> Duration;
}

impl Draw for Rng {
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    fn duration(&mut self, min: Duration, max: Duration) -> Duration {
        let span = max.saturating_sub(min).as_nanos();
        if span == 0 {
            return min;
        }
        let pick = u128::from(self.next_u64()) % (span + 1);
        min + Duration::from_nanos(u64::try_from(pick).unwrap_or(u64::MAX))
    }
}
