//! A producer paced by `send_async`.

use std::time::Duration;

use proto_core::session::CloseReason;

use super::{HEADER, HIGH, echo_server_default, produce, raw, read_numbered};
use crate::harness::{Runtime, WAIT, within};

/// The server pushes 8 MiB as 512 payloads of 16 KiB with `send_async` to
/// a raw peer that reads slowly (about a second in all): no send fails,
/// every byte arrives in order, and the session's queue never held more
/// than high water + one frame.
pub(crate) async fn send_async_paces_a_producer<R: Runtime>() {
    const PUSHES: u32 = 512;
    const LEN: usize = 16 * 1024;
    let mut server = echo_server_default::<R>(false).await;
    let peer = raw::<R>(server.addr, Some(16 * 1024)).await;
    let handle = server.next_opened::<R>().await;
    let done_rx = produce::<R>(handle, PUSHES, LEN, true);
    let read = read_numbered(peer, LEN, 8, Duration::from_millis(15)).await;
    within::<R, _>(WAIT, "the producer", done_rx)
        .await
        .expect("producer task")
        .unwrap_or_else(|err| panic!("{err}"));
    assert_eq!(read, PUSHES, "pushes read before end of stream");
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.reason, CloseReason::Local);
    assert_eq!(closed.stats.messages_out, u64::from(PUSHES));
    assert_eq!(closed.stats.sends_rejected, 0);
    assert!(
        closed.stats.queue_high_water_bytes <= HIGH + HEADER + LEN,
        "queue reached {} bytes, over high water + one frame",
        closed.stats.queue_high_water_bytes
    );
    assert_eq!(
        server.hub.stats().queue_high_water_bytes,
        closed.stats.queue_high_water_bytes
    );
}
