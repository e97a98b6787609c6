//! The simulator's seeded random numbers, drawn from [`SplitMix64`].

use std::time::Duration;

use proto_core::rng::SplitMix64;

/// A seeded generator. Not for cryptography.
#[derive(Debug, Clone)]
pub(crate) struct Rng(SplitMix64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(SplitMix64::new(seed))
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub(crate) fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }

    /// A duration in `min..=max`.
    pub(crate) fn duration(&mut self, min: Duration, max: Duration) -> Duration {
        let span = max.saturating_sub(min).as_nanos();
        if span == 0 {
            return min;
        }
        let pick = u128::from(self.next_u64()) % (span + 1);
        min + Duration::from_nanos(u64::try_from(pick).unwrap_or(u64::MAX))
    }
}
