//! A last word with `close_after`.

use std::time::Duration;

use bytes::Bytes;
use proto_core::frame::LengthField;
use proto_core::session::{CloseReason, SendError, SessionConfig, WaterMarks};

use super::{echo_server_default, hub_with, raw};
use crate::harness::{EchoServer, Runtime, blocking, local, numbered};

/// `close_after("bye")` on `Opened`: the peer reads "bye", then end of
/// stream. And with the send queue at its limit (a peer that does not read
/// yet, sends refused with `QueueFull`): the last word is still queued, and
/// the peer reads every message queued before it, then "bye", then end of
/// stream.
pub(crate) async fn close_after_sends_a_last_word<R: Runtime>() {
    let bye = Bytes::from_static(b"bye");
    let mut server = echo_server_default::<R>(false).await;
    let peer = raw::<R>(server.addr, None).await;
    let handle = server.next_opened::<R>().await;
    handle
        .close_after(bye.clone(), CloseReason::Local)
        .expect("close_after");
    let got = blocking(move || {
        let mut peer = peer;
        (peer.recv().expect("read"), peer.recv().expect("read"))
    })
    .await;
    assert_eq!(got, (Some(b"bye".to_vec()), None));
    assert_eq!(server.next_closed::<R>().await.reason, CloseReason::Local);

    // The queue at its limit: 16 KiB, frames up to 1 KiB, high water 8 KiB.
    let config = hub_with(
        SessionConfig::default()
            .backpressure(Some(WaterMarks {
                low: 4 * 1024,
                high: 8 * 1024,
            }))
            .max_queue_bytes(16 * 1024),
    );
    let codec = LengthField::laster40net().max_frame_length(1024);
    let mut server = EchoServer::start::<R>(local(), codec, config, false).await;
    let peer = raw::<R>(server.addr, Some(4096)).await;
    let handle = server.next_opened::<R>().await;
    let mut sent = 0u32;
    let mut full_at = None;
    // Fill until refused, until the socket buffers take no more.
    loop {
        match handle.send(numbered(sent, 1000)) {
            Ok(()) => sent += 1,
            Err(SendError::QueueFull { .. }) => {
                let now = handle.queued();
                if full_at == Some(now) {
                    break;
                }
                full_at = Some(now);
                R::sleep(Duration::from_millis(50)).await;
            }
            Err(err) => panic!("filling the queue: {err}"),
        }
        assert!(sent < 100_000, "100 MB queued to a peer that does not read");
    }
    // A window that is closed still takes a trickle now and then: top the
    // queue up to its limit once more, and say the last word at once.
    loop {
        match handle.send(numbered(sent, 1000)) {
            Ok(()) => sent += 1,
            Err(SendError::QueueFull { .. }) => break,
            Err(err) => panic!("filling the queue: {err}"),
        }
    }
    handle
        .close_after(bye, CloseReason::Local)
        .expect("a last word on a full queue");
    let got = blocking(move || {
        let mut peer = peer;
        let mut got = Vec::new();
        while let Some(frame) = peer.recv().expect("read") {
            got.push(frame);
        }
        got
    })
    .await;
    assert_eq!(got.len(), sent as usize + 1, "messages then the last word");
    for (n, frame) in (0u32..).zip(&got[..sent as usize]) {
        assert!(*frame == numbered(n, 1000), "message {n} differs");
    }
    assert_eq!(got.last().map(Vec::as_slice), Some(&b"bye"[..]));
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.reason, CloseReason::Local);
    assert_eq!(closed.stats.messages_out, u64::from(sent) + 1);
    assert_eq!(closed.stats.messages_dropped_at_close, 0);
}
