//! [`Rate`] and [`RateMeter`]: a rate limit and its state.

use std::time::{Duration, Instant};

/// The highest rate a [`Rate`] expresses, per second: one unit a
/// nanosecond (a meter's clock ticks in nanoseconds).
pub const MAX_PER_SECOND: u64 = 1_000_000_000;

/// The longest a single charge can put a meter ahead of the clock (absurd
/// costs are clamped to it rather than overflowing an `Instant`).
const MAX_COST: Duration = Duration::from_secs(365 * 24 * 3600);

/// An average rate with a burst allowance: `per_second` units a second,
/// and up to `burst` at once after a quiet spell.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    per_second: u64,
    burst: u64,
}

impl Rate {
    /// `per_second` units a second (clamped to `1..=MAX_PER_SECOND`), with
    /// a burst of one second's worth; change it with [`burst`](Self::burst).
    pub const fn per_second(per_second: u64) -> Self {
        let per_second = if per_second == 0 {
            1
        } else if per_second > MAX_PER_SECOND {
            MAX_PER_SECOND
        } else {
            per_second
        };
        Self {
            per_second,
            burst: per_second,
        }
    }

    /// Up to `burst` units at once (at least 1). A single charge larger
    /// than the burst is never within the rate.
    pub const fn burst(mut self, burst: u64) -> Self {
        self.burst = if burst == 0 { 1 } else { burst };
        self
    }

    /// Units a second.
    pub const fn per_second_value(&self) -> u64 {
        self.per_second
    }

    /// Units at once.
    pub const fn burst_value(&self) -> u64 {
        self.burst
    }

    /// The time `units` take at this rate (rounded down to the
    /// nanosecond, and clamped to a year).
    fn cost(&self, units: u64) -> Duration {
        let nanos = u128::from(units) * 1_000_000_000 / u128::from(self.per_second);
        u64::try_from(nanos)
            .map_or(MAX_COST, Duration::from_nanos)
            .min(MAX_COST)
    }
}

/// The state of one rate limit: the instant at which everything charged
/// so far would have been paid for at the rate (the "theoretical arrival
/// time"). A charge is within the rate when, after it, that instant is at
/// most a burst's worth of time ahead of now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RateMeter {
    paid_until: Option<Instant>,
}

impl RateMeter {
    /// Whether `units` at `now` are within `rate` (nothing is charged).
    pub fn allows(&self, rate: &Rate, units: u64, now: Instant) -> bool {
        self.after(rate, units, now)
            .is_some_and(|after| after.saturating_duration_since(now) <= rate.cost(rate.burst))
    }

    /// Charges `units` at `now` if they are within `rate`; returns whether
    /// they were.
    pub fn try_take(&mut self, rate: &Rate, units: u64, now: Instant) -> bool {
        let allowed = self.allows(rate, units, now);
        if allowed {
            self.take(rate, units, now);
        }
        allowed
    }

    /// Charges `units` at `now` whether or not they are within `rate`: a
    /// debt that [`ready_at`](Self::ready_at) then makes the caller wait
    /// out (the pause policy).
    pub fn take(&mut self, rate: &Rate, units: u64, now: Instant) {
        if let Some(after) = self.after(rate, units, now) {
            self.paid_until = Some(after);
        }
    }

    /// When one more unit will be within `rate`: `None` if it is at `now`.
    pub fn ready_at(&self, rate: &Rate, now: Instant) -> Option<Instant> {
        let paid_until = self.paid_until?;
        // One unit is allowed once `paid_until + cost(1) - t <= cost(burst)`.
        let slack = rate.cost(rate.burst).saturating_sub(rate.cost(1));
        let at = paid_until.checked_sub(slack).unwrap_or(paid_until);
        (at > now).then_some(at)
    }

    /// When the meter is back within `rate` after charges taken past it
    /// with [`take`](Self::take): `None` if it is at `now` (at most a
    /// burst's worth is charged ahead of the clock).
    pub fn over_until(&self, rate: &Rate, now: Instant) -> Option<Instant> {
        let paid_until = self.paid_until?;
        let at = paid_until
            .checked_sub(rate.cost(rate.burst))
            .unwrap_or(paid_until);
        (at > now).then_some(at)
    }

    /// Whether everything charged is paid for by `now`: the meter is then
    /// as good as a new one.
    pub fn is_idle(&self, now: Instant) -> bool {
        self.paid_until.is_none_or(|paid| paid <= now)
    }

    /// The paid-until instant after charging `units` at `now` (`None` only
    /// past the end of `Instant`'s range).
    fn after(&self, rate: &Rate, units: u64, now: Instant) -> Option<Instant> {
        let from = self.paid_until.map_or(now, |paid| paid.max(now));
        from.checked_add(rate.cost(units))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_passes_whole_and_the_next_unit_waits_one_interval() {
        let t0 = Instant::now();
        for (per_second, burst) in [(1, 1), (3, 3), (10, 4), (1000, 1), (7, 20)] {
            let rate = Rate::per_second(per_second).burst(burst);
            let mut meter = RateMeter::default();
            for i in 0..burst {
                assert!(
                    meter.try_take(&rate, 1, t0),
                    "{per_second}/s burst {burst}: unit {i}"
                );
            }
            assert!(
                !meter.try_take(&rate, 1, t0),
                "{per_second}/s burst {burst}: one over"
            );
            let ready = meter.ready_at(&rate, t0).expect("past the burst");
            assert!(!meter.allows(&rate, 1, ready - Duration::from_nanos(1)));
            assert!(meter.try_take(&rate, 1, ready));
        }
    }

    #[test]
    fn a_steady_sender_at_the_rate_is_never_refused() {
        let t0 = Instant::now();
        let rate = Rate::per_second(3).burst(1);
        let mut meter = RateMeter::default();
        let interval = Duration::from_nanos(333_333_334);
        for i in 0..1000 {
            assert!(meter.try_take(&rate, 1, t0 + interval * i), "unit {i}");
        }
    }

    #[test]
    fn a_charge_larger_than_the_burst_never_passes_but_can_be_taken_as_debt() {
        let t0 = Instant::now();
        let rate = Rate::per_second(100).burst(50);
        let mut meter = RateMeter::default();
        assert!(meter.allows(&rate, 50, t0));
        assert!(!meter.allows(&rate, 51, t0));
        meter.take(&rate, 150, t0);
        // 150 units at 100/s: paid until t0 + 1.5 s; one unit is allowed
        // once that is within the burst (0.5 s) less one unit's time, and
        // the meter is back within the rate once it is within the burst.
        let expected = t0 + Duration::from_millis(1500) - Duration::from_millis(490);
        assert_eq!(meter.ready_at(&rate, t0), Some(expected));
        assert_eq!(meter.ready_at(&rate, expected), None);
        let within = t0 + Duration::from_millis(1000);
        assert_eq!(meter.over_until(&rate, t0), Some(within));
        assert_eq!(meter.over_until(&rate, within), None);
    }

    #[test]
    fn out_of_range_settings_are_clamped() {
        assert_eq!(Rate::per_second(0).per_second_value(), 1);
        assert_eq!(
            Rate::per_second(u64::MAX).per_second_value(),
            MAX_PER_SECOND
        );
        assert_eq!(Rate::per_second(5).burst(0).burst_value(), 1);
        let rate = Rate::per_second(1).burst(u64::MAX);
        let mut meter = RateMeter::default();
        let t0 = Instant::now();
        // Clamped costs: no overflow, whatever the charge.
        meter.take(&rate, u64::MAX, t0);
        meter.take(&rate, u64::MAX, t0);
        // Each charge is clamped to a year, and so is the burst's slack.
        let slack = MAX_COST - Duration::from_secs(1);
        assert_eq!(meter.ready_at(&rate, t0), Some(t0 + MAX_COST * 2 - slack));
    }
}
