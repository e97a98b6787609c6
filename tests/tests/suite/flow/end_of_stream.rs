//! End of stream in both `half_close` modes: every reply is written.

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use futures::channel::mpsc;
use futures::future::join_all;
use proto_core::frame::LengthField;
use proto_core::hub::{Event, HubConfig};
use proto_core::session::{CloseReason, SessionConfig};

use super::hub_with;
use crate::harness::{Runtime, Served, TestHub, WAIT, blocking, local, numbered, within};
use crate::peers::{RawOptions, RawPeer};

/// Clients of the half-close behaviour, and the frames each sends.
const HALF_CLOSERS: usize = 100;
const HALF_CLOSE_FRAMES: u32 = 5;

/// A server that sends "welcome" on `Opened`, echoes every message, and on
/// `EndOfStream` closes the session if `close_at_eof` (else does nothing).
/// Returns its address and a channel of `(id, reason)` for every close.
async fn welcome_echo_server<R: Runtime>(
    config: HubConfig,
    close_at_eof: bool,
) -> (
    SocketAddr,
    TestHub,
    mpsc::UnboundedReceiver<CloseReason>,
    Arc<std::sync::Mutex<Vec<String>>>,
) {
    let Served {
        addr,
        hub,
        mut events,
    } = R::serve(local(), LengthField::laster40net(), config)
        .await
        .expect("bind");
    let (closed_tx, closed) = mpsc::unbounded();
    let failures = Arc::new(std::sync::Mutex::new(Vec::new()));
    let errors = failures.clone();
    let server = hub.clone();
    R::spawn(async move {
        let fail = |what: String| errors.lock().expect("failures").push(what);
        while let Some(event) = events.recv().await {
            match event {
                Event::Opened(handle) => {
                    if let Err(err) = handle.send(Bytes::from_static(b"welcome")) {
                        fail(format!("welcome to {}: {err}", handle.id()));
                    }
                }
                Event::Message { id, payload } => {
                    if let Err(err) = server.send(id, payload) {
                        fail(format!("echo on {id}: {err}"));
                    }
                }
                Event::EndOfStream { id } => {
                    if close_at_eof {
                        server.close(id, CloseReason::Local);
                    }
                }
                Event::Closed { reason, .. } => {
                    let _ = closed_tx.unbounded_send(reason);
                }
                other => fail(format!("unknown event {other:?}")),
            }
        }
    });
    (addr, hub, closed, failures)
}

/// 100 raw clients each send 5 frames and shut their side down, then read
/// to end of stream: each gets the welcome sent on `Opened` and all 5
/// echoes. With `half_close` off the sessions close themselves
/// (`RemoteClosed`) once the application is done with their events; with
/// it on, the application closes them at `EndOfStream` (`Local`).
pub(crate) async fn half_close_clients_get_every_reply<R: Runtime>(half_close: bool) {
    let config = hub_with(SessionConfig::default().half_close(half_close));
    let (addr, hub, mut closed, failures) = welcome_echo_server::<R>(config, half_close).await;
    let clients = (0..HALF_CLOSERS as u32).map(|c| {
        blocking(move || {
            let mut peer = RawPeer::connect(addr, RawOptions::default());
            for k in 0..HALF_CLOSE_FRAMES {
                peer.send(&numbered(c * HALF_CLOSE_FRAMES + k, 32));
            }
            peer.shutdown_write();
            let mut got = Vec::new();
            while let Some(frame) = peer.recv().expect("read a reply") {
                got.push(frame);
            }
            got
        })
    });
    let replies = join_all(clients).await;
    let mut complete = 0;
    for (c, got) in (0u32..).zip(&replies) {
        let mut expected = vec![b"welcome".to_vec()];
        expected.extend(
            (0..HALF_CLOSE_FRAMES).map(|k| numbered(c * HALF_CLOSE_FRAMES + k, 32).to_vec()),
        );
        if *got == expected {
            complete += 1;
        } else {
            eprintln!("client {c} got {} replies: {got:?}", got.len());
        }
    }
    assert_eq!(complete, HALF_CLOSERS, "clients with every reply");
    let reason = if half_close {
        CloseReason::Local
    } else {
        CloseReason::RemoteClosed
    };
    for _ in 0..HALF_CLOSERS {
        use futures::StreamExt;
        let got = within::<R, _>(WAIT, "a session to close", closed.next())
            .await
            .expect("server loop");
        assert_eq!(got, reason);
    }
    let failures = failures.lock().expect("failures");
    assert!(failures.is_empty(), "server failures: {failures:?}");
    assert!(hub.is_empty());
}
