//! The virtual [`Clock`] and its [`MockTimer`].

use std::rc::Rc;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use proto_core::driver::Timer;

use super::lock;

#[derive(Debug)]
struct ClockState {
    now: Instant,
    /// Tasks waiting for time to pass, with the time each waits for, if it
    /// said.
    wakers: Vec<(Option<Instant>, Waker)>,
}

/// A virtual clock shared by every [`MockTimer`] of a test.
#[derive(Debug, Clone)]
pub struct Clock(Arc<Mutex<ClockState>>);

impl Clock {
    /// A clock that reads `start`.
    pub fn new(start: Instant) -> Self {
        Self(Arc::new(Mutex::new(ClockState {
            now: start,
            wakers: Vec::new(),
        })))
    }

    /// The time now.
    pub fn now(&self) -> Instant {
        lock(&self.0).now
    }

    /// Moves time forward and wakes every timer waiting on it.
    pub fn advance(&self, by: Duration) {
        let wakers = {
            let mut s = lock(&self.0);
            s.now += by;
            std::mem::take(&mut s.wakers)
        };
        for (_, w) in wakers {
            w.wake();
        }
    }

    /// Wakes `waker` at the next [`advance`](Self::advance); `at` is the
    /// time it waits for (reported by [`next_wake`](Self::next_wake)).
    pub fn wake_at(&self, at: Option<Instant>, waker: &Waker) {
        lock(&self.0).wakers.push((at, waker.clone()));
    }

    /// The earliest time a waiting task waits for: where a run that moves
    /// time from event to event goes next.
    pub fn next_wake(&self) -> Option<Instant> {
        lock(&self.0).wakers.iter().filter_map(|&(at, _)| at).min()
    }
}

/// Called at every `Timer::now`, i.e. at the start of every driver turn.
pub type Observer = Rc<dyn Fn()>;

/// A timer on a [`Clock`].
#[allow(missing_debug_implementations)] // the observer is a closure
pub struct MockTimer {
    clock: Clock,
    deadline: Option<Instant>,
    /// Every deadline the driver armed, in order.
    pub resets: Arc<Mutex<Vec<Instant>>>,
    /// Called at every `Timer::now`.
    pub on_now: Option<Observer>,
}

impl MockTimer {
    /// A timer on `clock` with no deadline.
    pub fn new(clock: Clock) -> Self {
        Self {
            clock,
            deadline: None,
            resets: Arc::default(),
            on_now: None,
        }
    }
}

impl Timer for MockTimer {
    fn now(&self) -> Instant {
        if let Some(observe) = &self.on_now {
            observe();
        }
        self.clock.now()
    }

    fn reset(&mut self, deadline: Instant) {
        lock(&self.resets).push(deadline);
        self.deadline = Some(deadline);
    }

    fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        // Checked and registered under one lock, so that an `advance` from
        // another thread cannot fall between the two.
        let mut s = lock(&self.clock.0);
        match self.deadline {
            Some(d) if s.now >= d => Poll::Ready(()),
            deadline => {
                s.wakers.push((deadline, cx.waker().clone()));
                Poll::Pending
            }
        }
    }
}
