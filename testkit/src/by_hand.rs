//! Helpers for tests that drive one session by hand, with virtual time:
//! a session with the laster40Net codec (1 KiB frames), wire frames, its
//! events, and a socket that takes everything (these two for any codec).

use std::io::IoSlice;
use std::time::{Duration, Instant};

use proto_core::frame::{LengthField, LengthFieldCodec, MessageBuilder, MessageResolver};
use proto_core::session::{Session, SessionConfig, SessionEvent};

/// The session every helper drives.
pub type S = Session<LengthFieldCodec, LengthFieldCodec>;

/// A session with the laster40Net codec and 1 KiB frames.
pub fn session(config: SessionConfig, now: Instant) -> S {
    Session::from_factory(
        &LengthField::laster40net().max_frame_length(1024),
        config,
        now,
    )
}

/// `payload` as a laster40Net frame.
pub use crate::mock::frame;

/// The events the session has ready.
pub fn events<R: MessageResolver, B: MessageBuilder>(s: &mut Session<R, B>) -> Vec<SessionEvent> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Writes everything the session offers, as a socket taking it all.
pub fn write_all<R: MessageResolver, B: MessageBuilder>(
    s: &mut Session<R, B>,
    now: Instant,
) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let mut slices = [IoSlice::new(&[]); 64];
        let n = s.io_slices(&mut slices);
        if n == 0 {
            return out;
        }
        let mut len = 0;
        for slice in &slices[..n] {
            out.extend_from_slice(slice);
            len += slice.len();
        }
        s.handle_written(len, now);
    }
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
