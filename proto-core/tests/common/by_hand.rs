//! Helpers for tests that drive one session by hand, with virtual time:
//! a session with the laster40Net codec (1 KiB frames), wire frames, its
//! events, and a socket that takes everything.
#![allow(dead_code, clippy::unwrap_used)]

use std::io::IoSlice;
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::frame::{LengthField, LengthFieldCodec, WireBuf};
use proto_core::message::MessageBuilder;
use proto_core::session::{Event, Session, SessionConfig};

pub(crate) type S = Session<LengthFieldCodec, LengthFieldCodec>;

pub(crate) fn session(config: SessionConfig, now: Instant) -> S {
    Session::from_factory(
        &LengthField::laster40net().max_frame_length(1024),
        config,
        now,
    )
}

pub(crate) fn frame(payload: &[u8]) -> Vec<u8> {
    let mut wire = WireBuf::new();
    LengthField::laster40net()
        .new_codec()
        .encode(Bytes::copy_from_slice(payload), &mut wire)
        .unwrap();
    wire.to_vec()
}

pub(crate) fn events(s: &mut S) -> Vec<Event> {
    std::iter::from_fn(|| s.poll_event()).collect()
}

/// Writes everything the session offers, as a socket taking it all.
pub(crate) fn write_all(s: &mut S, now: Instant) -> Vec<u8> {
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

pub(crate) fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}
