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

use std::time::Duration;

use bytes::Bytes;
use futures::channel::oneshot;
use proto_core::frame::LengthField;
use proto_core::hub::{HubConfig, SessionHandle};
use proto_core::session::SessionConfig;

use crate::harness::{EchoServer, Runtime, Served, blocking, local, numbered};
use crate::peers::{RawPeer, raw};

/// The default back-pressure high water mark (`SessionConfig::default`).
const HIGH: usize = 64 * 1024;
/// Wire bytes of a laster40Net frame's header.
const HEADER: usize = 4;

fn hub_with(session: SessionConfig) -> HubConfig {
    HubConfig::default().session(session)
}

/// Serves the laster40Net codec under the default hub config on a local
/// address.
async fn serve_default<R: Runtime>() -> Served {
    R::serve(local(), LengthField::laster40net(), HubConfig::default())
        .await
        .expect("bind")
}

/// An [`EchoServer`] (echoing if `echo`) on the laster40Net codec under
/// the default hub config.
async fn echo_server_default<R: Runtime>(echo: bool) -> EchoServer {
    EchoServer::start::<R>(
        local(),
        LengthField::laster40net(),
        HubConfig::default(),
        echo,
    )
    .await
}

/// Spawns a producer that sends `count` numbered payloads of `len` bytes
/// through `send_async`, then closes the session if `close`; the receiver
/// gets its result.
fn produce<R: Runtime>(
    handle: SessionHandle,
    count: u32,
    len: usize,
    close: bool,
) -> oneshot::Receiver<Result<(), String>> {
    let (done_tx, done_rx) = oneshot::channel();
    R::spawn(async move {
        let mut result = Ok(());
        for n in 0..count {
            if let Err(err) = handle.send_async(numbered(n, len)).await {
                result = Err(format!("send_async {n}: {err}"));
                break;
            }
        }
        if close {
            handle.close();
        }
        let _ = done_tx.send(result);
    });
    done_rx
}

/// Reads numbered frames of `len` bytes until end of stream on a blocking
/// thread, checking each and pausing `pause` after every `every`; returns
/// how many.
async fn read_numbered(peer: RawPeer, len: usize, every: u32, pause: Duration) -> u32 {
    blocking(move || {
        let mut peer = peer;
        let mut got = 0u32;
        while let Some(frame) = peer.recv().expect("read a push") {
            assert!(frame == numbered(got, len), "push {got} differs");
            got += 1;
            if got % every == 0 {
                std::thread::sleep(pause);
            }
        }
        got
    })
    .await
}

/// `len` bytes whose content depends on `n` (any `len`, 0 included).
fn content(n: u32, len: usize) -> Bytes {
    numbered(n, len.max(4)).slice(..len)
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
