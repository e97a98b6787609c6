//! The rate-limiter harness: one [`RateMeter`] under an arbitrary rate and
//! sequence of charges and checks, in virtual time.

use std::time::{Duration, Instant};

use arbitrary::Arbitrary;

use proto_core::policy::{Rate, RateMeter};

/// A rate and what happens to a meter under it.
#[derive(Arbitrary, Debug, Clone, PartialEq, Eq)]
pub struct RateOps {
    /// Units a second (0 and values past the maximum are clamped).
    pub per_second: u32,
    /// The burst (0 is clamped to 1).
    pub burst: u16,
    /// The steps, in order.
    pub steps: Vec<RateStep>,
}

/// Time passes, then one operation.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateStep {
    /// Microseconds that pass first.
    pub advance_us: u16,
    /// Units charged or checked.
    pub units: u16,
    /// What is done.
    pub op: RateOp,
}

/// One operation on the meter.
#[derive(Arbitrary, Debug, Clone, Copy, PartialEq, Eq)]
pub enum RateOp {
    /// `try_take`: charged only if within the rate.
    TryTake,
    /// `take`: charged whatever the rate (a debt).
    Take,
    /// `allows`, `ready_at`, `over_until` and `is_idle` only.
    Check,
}

/// Runs the steps and asserts after each that the meter's answers agree
/// with each other: `try_take` is `allows` then `take`; `ready_at` is the
/// first instant one unit is allowed (not a nanosecond before); a meter
/// over its rate says when it is back, and an idle one is neither; an
/// allowed charge stays allowed later; and what `try_take` accepted never
/// exceeds the burst plus what the rate earned since the start (with one
/// nanosecond of rounding per charge), unless debts were taken.
pub fn run(input: RateOps, start: Instant) {
    let rate = Rate::per_second(u64::from(input.per_second)).burst(u64::from(input.burst));
    let mut meter = RateMeter::default();
    let mut now = start;
    let (mut accepted, mut charges, mut debts) = (0u128, 0u128, false);
    for step in &input.steps {
        now += Duration::from_micros(u64::from(step.advance_us));
        let units = u64::from(step.units);
        let allowed = meter.allows(&rate, units, now);
        match step.op {
            RateOp::TryTake => {
                let before = meter;
                let took = meter.try_take(&rate, units, now);
                assert_eq!(took, allowed, "try_take is allows");
                if took {
                    accepted += u128::from(units);
                    charges += 1;
                    let mut taken = before;
                    taken.take(&rate, units, now);
                    assert_eq!(meter, taken, "try_take charges as take does");
                } else {
                    assert_eq!(meter, before, "a refused charge changes nothing");
                }
            }
            RateOp::Take => {
                meter.take(&rate, units, now);
                debts = true;
            }
            RateOp::Check => {}
        }
        // Later is never worse.
        if allowed && step.op == RateOp::Check {
            assert!(meter.allows(&rate, units, now + Duration::from_millis(1)));
        }
        match meter.ready_at(&rate, now) {
            Some(at) => {
                assert!(at > now, "ready_at is in the future");
                assert!(!meter.allows(&rate, 1, now), "not ready, yet allowed");
                assert!(meter.allows(&rate, 1, at), "not allowed at ready_at");
                assert!(!meter.allows(&rate, 1, at - Duration::from_nanos(1)));
            }
            None => assert!(meter.allows(&rate, 1, now), "ready, yet refused"),
        }
        if let Some(at) = meter.over_until(&rate, now) {
            assert!(at > now, "over_until is in the future");
            assert_eq!(
                meter.over_until(&rate, at),
                None,
                "still over at over_until"
            );
        }
        if meter.is_idle(now) {
            assert_eq!(meter.ready_at(&rate, now), None, "idle, yet not ready");
            assert_eq!(meter.over_until(&rate, now), None, "idle, yet over");
        }
        if !debts {
            // Units earned: burst + rate × elapsed, plus rounding (each
            // charge's cost is rounded down to the nanosecond).
            let elapsed_ns = (now - start).as_nanos();
            let per_second = u128::from(rate.per_second_value());
            let earned = u128::from(rate.burst_value())
                + (elapsed_ns + charges) * per_second / 1_000_000_000
                + 1;
            assert!(accepted <= earned, "{accepted} accepted, {earned} earned");
        }
    }
}
