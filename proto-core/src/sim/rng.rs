//! The simulator's seeded random numbers (SplitMix64: small, fast, and the
//! same sequence for the same seed on every platform).

use std::time::Duration;

/// A seeded generator. Not for cryptography.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
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
