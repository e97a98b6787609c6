//! A deterministic in-memory [`Transport`](proto_core::driver::Transport)
//! ([`MockIo`], steered through its [`IoCtl`]), a virtual [`Clock`] with its
//! [`Timer`](proto_core::driver::Timer) ([`MockTimer`]), and [`Net`], a
//! harness that drives hub sessions over them on a `LocalPool`; [`Ev`] is
//! an event in short.
//!
//! Sessions use the laster40Net codec ([`codec`]): a 4-byte little-endian
//! length, then the payload.

mod clock;
mod ctl;
mod event;
mod net;
mod transport;

pub use clock::{Clock, MockTimer, Observer};
pub use event::{Ev, ev, evs};
pub use net::{Done, Net, Peer, spawn_drive};
pub use transport::{FlushMode, IoCtl, IoState, MockIo, Op, WriteHook, WriteMode, mock_io};

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard, PoisonError};

use bytes::BytesMut;
use proto_core::frame::LengthField;
use proto_core::message::{MessageFactory, MessageResolver};

/// Locks `m`, through a poisoning panic (a test that panicked already
/// failed).
pub fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The codec every test uses: a 4-byte little-endian length, then the payload.
pub fn codec() -> LengthField {
    LengthField::laster40net()
}

/// `payload` as a frame on the wire.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// Wire length of a frame carrying `payload_len` bytes.
pub fn frame_len(payload_len: usize) -> usize {
    4 + payload_len
}

/// Decodes a whole byte stream into payloads; panics on leftovers.
pub fn decode_all(wire: &[u8]) -> Vec<Vec<u8>> {
    let mut codec = codec().new_resolver();
    let mut buf = BytesMut::from(wire);
    let mut out = Vec::new();
    while let Some(frame) = codec.decode(&mut buf).expect("mock output is well framed") {
        out.push(frame.to_vec());
    }
    assert!(
        buf.is_empty(),
        "{} bytes of a partial frame left",
        buf.len()
    );
    out
}

/// A peer address `10.0.0.<host>:<port>`.
pub fn addr(host: u8, port: u16) -> SocketAddr {
    SocketAddr::from(([10, 0, 0, host], port))
}
