//! Flow control on real sockets: back-pressure from the application's
//! events and the send queue (pipelined echoes are never refused), the
//! write-stall deadline, end of stream in both `half_close` modes, the
//! shutdown's grace as its one deadline and its report, the refusal
//! message, a last word with `close_after`, and a producer paced by
//! `send_async`. Each behaviour is written once over the [`Runtime`];
//! `main.rs` runs it on every runtime.

mod close_after;
mod end_of_stream;
mod max_frames;
mod own_client;
mod pipelining;
mod refusal;
mod send_async;
mod shutdown;
mod write_stall;

pub(crate) use close_after::close_after_sends_a_last_word;
pub(crate) use end_of_stream::half_close_clients_get_every_reply;
pub(crate) use max_frames::echo_of_maximum_frames_with_default_limits;
pub(crate) use own_client::our_client_pipelining_large_messages_gets_every_echo;
pub(crate) use pipelining::pipelined_echo_loses_nothing;
pub(crate) use refusal::refused_connection_gets_the_refusal_message;
pub(crate) use send_async::send_async_paces_a_producer;
pub(crate) use shutdown::shutdown_grace_is_the_one_deadline;
pub(crate) use shutdown::shutdown_report_counts_exactly;
pub(crate) use shutdown::shutdown_stream_ends_after_every_closed;
pub(crate) use write_stall::never_reading_clients_are_closed_by_write_stall;

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use proto_core::hub::{HubConfig, SessionHandle};
use proto_core::session::SessionConfig;

use crate::harness::{Runtime, blocking, numbered};
use crate::peers::{RawOptions, RawPeer};

/// The default back-pressure high water mark (`SessionConfig::default`).
const HIGH: usize = 64 * 1024;
/// Wire bytes of a laster40Net frame's header.
const HEADER: usize = 4;

fn hub_with(session: SessionConfig) -> HubConfig {
    HubConfig::default().session(session)
}

/// `len` bytes whose content depends on `n` (any `len`, 0 included).
fn content(n: u32, len: usize) -> Bytes {
    numbered(n, len.max(4)).slice(..len)
}

/// A raw peer on a blocking thread.
async fn raw<R: Runtime>(addr: SocketAddr, recv_buffer: Option<usize>) -> RawPeer {
    blocking(move || {
        RawPeer::connect(
            addr,
            RawOptions {
                recv_buffer,
                ..RawOptions::default()
            },
        )
    })
    .await
}

/// A second handle on `peer`'s socket, for a writer thread.
fn writer_of(peer: &RawPeer) -> RawPeer {
    RawPeer {
        stream: peer.stream.try_clone().expect("clone the socket"),
    }
}

/// Waits until the send queue behind `handle` stops draining (the peer's
/// socket buffers are full: no change for 250 ms); returns the messages
/// left queued, which must be some.
async fn queue_stuck<R: Runtime>(handle: &SessionHandle) -> usize {
    let mut last = handle.queued();
    let mut still = 0;
    while still < 5 {
        R::sleep(Duration::from_millis(50)).await;
        let now = handle.queued();
        still = if now == last { still + 1 } else { 0 };
        last = now;
    }
    assert!(last.0 > 0, "the socket buffers took everything");
    last.0
}
