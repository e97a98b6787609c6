//! Pure policies with time passed in: the rate limits that the session
//! (messages and bytes a peer may send) and the hub's admission (new
//! connections an address may open) enforce.
//!
//! A limit is a [`Rate`] (units per second on average, with a burst) and a
//! [`RateMeter`] per thing limited: one instant of state, checked with the
//! generic cell rate algorithm (the token bucket's twin: a meter accepts
//! exactly what a bucket of `burst` tokens refilled at the rate would).
//!
//! ```
//! use std::time::{Duration, Instant};
//! use proto_core::policy::{Rate, RateMeter};
//!
//! let rate = Rate::per_second(10).burst(3);
//! let mut meter = RateMeter::default();
//! let t0 = Instant::now();
//! // A burst of 3 at once, and not one more.
//! assert!((0..3).all(|_| meter.try_take(&rate, 1, t0)));
//! assert!(!meter.try_take(&rate, 1, t0));
//! // A tenth of a second later, one more unit has come back.
//! let later = t0 + Duration::from_millis(100);
//! assert_eq!(meter.ready_at(&rate, t0), Some(later));
//! assert!(meter.try_take(&rate, 1, later));
//! ```

mod rate;

pub use rate::{MAX_PER_SECOND, Rate, RateMeter};
