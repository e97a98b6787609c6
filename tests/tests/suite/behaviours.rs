//! The behaviours, each written once as an async body generic over the
//! [`Runtime`]: bulk echo, graceful shutdown, reset and half-close, wire and
//! cross-runtime interop here; limits, connecting and heartbeats in their
//! own files. `main.rs` instantiates every one on every runtime.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::channel::mpsc;
use proto_core::driver::ClientConfig;
use proto_core::frame::LengthField;
use proto_core::hub::{HubConfig, SessionHandle};
use proto_core::session::{CloseReason, SessionConfig};

use crate::harness::{
    Connected, EchoServer, Runtime, WAIT, blocking, echo_through, eventually, expect_message,
    local, numbered, within,
};
use crate::peers::{RawOptions, RawPeer, raw};

pub(crate) fn codec() -> LengthField {
    LengthField::laster40net()
}

pub(crate) async fn connect<R: Runtime>(addr: SocketAddr) -> Connected {
    R::connect(addr, codec(), ClientConfig::default())
        .await
        .unwrap_or_else(|err| panic!("connect to {addr}: {err:?}"))
}

/// A client's round trip through an echo server: send `text`, expect it back.
pub(crate) async fn round_trip<R: Runtime>(
    client: &mut Connected,
    handle: &SessionHandle,
    text: &'static str,
) {
    handle
        .send(Bytes::from_static(text.as_bytes()))
        .expect("send");
    let echo = expect_message::<R>(&mut client.events, handle.id()).await;
    assert_eq!(echo, text.as_bytes(), "the echo of {text:?}");
}

/// Whether `reason` is how a client sees a server drop its connection.
pub(crate) fn dropped_by_server(reason: &CloseReason) -> bool {
    matches!(reason, CloseReason::RemoteClosed | CloseReason::Io(_))
}

// ----- bulk echo -----

/// Connections and frames per connection of the bulk echo.
pub(crate) const ECHO_CONNECTIONS: usize = 100;
pub(crate) const ECHO_FRAMES: usize = 10_000;
/// Unanswered frames per connection (pipelining; well under the default
/// queue limit of 1024 so no echo is refused).
const ECHO_WINDOW: usize = 64;
/// Largest random payload of the bulk echo.
const ECHO_MAX_LEN: usize = 64;

/// 100 concurrent connections each echo 10,000 random frames (0..=64
/// bytes), pipelined; every echo arrives intact and in order, and the
/// server counts exactly what was sent.
pub(crate) async fn echo_many_connections<R: Runtime>() {
    let server = EchoServer::start::<R>(local(), codec(), HubConfig::default(), true).await;
    let (done_tx, mut done_rx) = mpsc::unbounded();
    for conn in 0..ECHO_CONNECTIONS {
        let (addr, done_tx) = (server.addr, done_tx.clone());
        R::spawn(async move {
            let result = match R::connect(addr, codec(), ClientConfig::default()).await {
                Ok(client) => {
                    echo_through::<R>(client, ECHO_FRAMES, ECHO_WINDOW, ECHO_MAX_LEN, conn as u64)
                        .await
                }
                Err(err) => Err(format!("connect: {err:?}")),
            };
            let _ = done_tx.unbounded_send((conn, result));
        });
    }
    drop(done_tx);
    let mut finished = 0;
    while let Some((conn, result)) = done_rx.next().await {
        if let Err(err) = result {
            panic!("connection {conn}: {err}");
        }
        finished += 1;
    }
    assert_eq!(finished, ECHO_CONNECTIONS);
    server.assert_no_failures();
    let total = (ECHO_CONNECTIONS * ECHO_FRAMES) as u64;
    eventually::<R>("every server session to close", || server.hub.is_empty()).await;
    let stats = server.hub.stats();
    assert_eq!(stats.accepted, ECHO_CONNECTIONS as u64);
    assert_eq!(stats.messages_in, total, "{stats:?}");
    assert_eq!(stats.messages_out, total, "{stats:?}");
    assert_eq!(
        stats.closed.get("remote_closed"),
        Some(&(ECHO_CONNECTIONS as u64)),
        "{stats:?}"
    );
}

// ----- graceful shutdown -----

/// Two peers that do not read yet; 8 MiB queued for each, more than the
/// socket buffers hold. Shutdown flushes everything: the report counts
/// what was queued as flushed and nothing dropped, each peer reads every
/// message in order and then end of stream, and the listener is closed.
pub(crate) async fn graceful_shutdown_flushes<R: Runtime>() {
    const MESSAGES: u32 = 8 * 1024;
    const LEN: usize = 1024;
    let config = HubConfig::default().session(
        SessionConfig::default()
            .max_queue_messages(100_000)
            .max_queue_bytes(32 << 20)
            .close_timeout(Duration::from_secs(20)),
    );
    let mut server = EchoServer::start::<R>(local(), codec(), config, false).await;
    let addr = server.addr;
    let mut peers = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..2 {
        let options = RawOptions {
            recv_buffer: Some(4096),
            ..RawOptions::default()
        };
        peers.push(blocking(move || RawPeer::connect(addr, options)).await);
        handles.push(server.next_opened::<R>().await);
    }
    for handle in &handles {
        for n in 0..MESSAGES {
            handle.send(numbered(n, LEN)).expect("queue");
        }
    }
    // Wait until the socket buffers are full and the queues stop moving.
    let queued = || handles.iter().map(|h| h.queued().0 as u64).sum::<u64>();
    let mut last = queued();
    loop {
        R::sleep(Duration::from_millis(50)).await;
        let now = queued();
        if now == last {
            break;
        }
        last = now;
    }
    assert!(
        last > 0,
        "the socket buffers took everything; nothing left to flush"
    );

    let (report_tx, report_rx) = futures::channel::oneshot::channel();
    let hub = server.hub.clone();
    R::spawn(async move {
        let _ = report_tx.send(R::shutdown(hub, Duration::from_secs(20)).await);
    });
    eventually::<R>("shutdown to begin", || server.hub.is_shutting_down()).await;

    let mut readers = Vec::new();
    for mut peer in peers {
        readers.push(blocking(move || {
            let mut got = 0u32;
            while let Some(frame) = peer.recv().expect("read") {
                assert_eq!(frame, numbered(got, LEN), "message {got}");
                got += 1;
            }
            got
        }));
    }
    for reader in readers {
        assert_eq!(reader.await, MESSAGES, "messages read before end of stream");
    }
    let report = within::<R, _>(WAIT, "the shutdown report", report_rx)
        .await
        .expect("shutdown task");
    assert_eq!(report.sessions, 2);
    assert_eq!(report.dropped, 0, "{report:?}");
    assert_eq!(report.flushed, last, "{report:?}");
    for _ in 0..2 {
        let closed = server.next_closed::<R>().await;
        assert_eq!(closed.reason, CloseReason::Shutdown);
        assert_eq!(closed.stats.messages_out, u64::from(MESSAGES));
        assert_eq!(closed.stats.messages_dropped_at_close, 0);
    }
    // The listener is closed: new connections are refused.
    let mut refused = false;
    for _ in 0..200 {
        if std::net::TcpStream::connect(addr).is_err() {
            refused = true;
            break;
        }
        R::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused, "the listener still accepts after shutdown");
}

// ----- peer reset and half-close -----

/// A peer that closes with `SO_LINGER` 0 (RST): the session closes with an
/// I/O error (connection reset).
pub(crate) async fn peer_reset<R: Runtime>() {
    let mut server = EchoServer::start::<R>(local(), codec(), HubConfig::default(), true).await;
    let addr = server.addr;
    let peer = blocking(move || {
        let mut peer = RawPeer::connect(
            addr,
            RawOptions {
                linger_zero: true,
                ..RawOptions::default()
            },
        );
        peer.send(b"before the reset");
        let echo = peer.recv().expect("read").expect("an echo");
        assert_eq!(echo, b"before the reset");
        peer
    })
    .await;
    let handle = server.next_opened::<R>().await;
    drop(peer); // RST
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.id, handle.id());
    assert!(
        matches!(
            closed.reason,
            CloseReason::Io(
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            )
        ),
        "closed with {}, expected a connection reset",
        closed.reason
    );
    assert_eq!(server.hub.stats().closed.get("io"), Some(&1));
    server.assert_no_failures();
}

/// The peer sends some messages, then shuts down its write side while 8
/// MiB of replies are queued for it: the server receives every message,
/// closes with `RemoteClosed` but keeps flushing; the peer reads every
/// reply, then end of stream. (Back-pressure is off: with it, a server
/// holding 8 MiB for a peer reads nothing more from it until the peer
/// reads.)
pub(crate) async fn half_close_flushes_replies<R: Runtime>() {
    const REPLIES: u32 = 4 * 1024;
    const LEN: usize = 2048;
    let config = HubConfig::default().session(
        SessionConfig::default()
            .backpressure(None)
            .max_queue_messages(100_000)
            .max_queue_bytes(32 << 20)
            .close_timeout(Duration::from_secs(20)),
    );
    let mut server = EchoServer::start::<R>(local(), codec(), config, false).await;
    let addr = server.addr;
    let peer = raw::<R>(addr, Some(4096)).await;
    let handle = server.next_opened::<R>().await;
    for n in 0..REPLIES {
        handle.send(numbered(n, LEN)).expect("queue a reply");
    }
    let peer = blocking(move || {
        let mut peer = peer;
        for n in 0..3 {
            peer.send(&numbered(n, 16));
        }
        peer.shutdown_write();
        peer
    })
    .await;
    eventually::<R>("the server to see end of stream", || handle.is_closing()).await;
    assert!(
        handle.queued().0 > 0,
        "nothing left queued at end of stream; the test proves nothing"
    );
    let got = blocking(move || {
        let mut peer = peer;
        let mut got = 0u32;
        while let Some(frame) = peer.recv().expect("read") {
            assert_eq!(frame, numbered(got, LEN), "reply {got}");
            got += 1;
        }
        got
    })
    .await;
    assert_eq!(got, REPLIES, "replies read before end of stream");
    let closed = server.next_closed::<R>().await;
    assert_eq!(closed.reason, CloseReason::RemoteClosed);
    assert_eq!(closed.stats.messages_in, 3);
    assert_eq!(closed.stats.messages_out, u64::from(REPLIES));
    assert_eq!(closed.stats.messages_dropped_at_close, 0);
    assert_eq!(server.received(handle.id()), 3);
}

/// With `half_close` on, a peer that sends its requests and then shuts its
/// side down (as `nc -N` does) still gets every reply: the session stays
/// open after end of stream until the application closes it.
pub(crate) async fn half_close_request_gets_its_replies<R: Runtime>() {
    let config = HubConfig::default().session(SessionConfig::default().half_close(true));
    let mut server = EchoServer::start::<R>(local(), codec(), config, true).await;
    let addr = server.addr;
    let got = blocking(move || {
        let mut peer = RawPeer::connect(addr, RawOptions::default());
        for n in 0..3 {
            peer.send(&numbered(n, 32));
        }
        peer.shutdown_write();
        let mut got = Vec::new();
        while let Some(frame) = peer.recv().expect("read") {
            got.push(frame);
        }
        got
    })
    .await;
    let expected: Vec<Vec<u8>> = (0..3).map(|n| numbered(n, 32).to_vec()).collect();
    assert_eq!(got, expected, "every reply, then end of stream");
    let closed = server.next_closed::<R>().await;
    assert_eq!(
        closed.reason,
        CloseReason::RemoteClosed,
        "closed by the application, for the peer's end of stream"
    );
    assert_eq!(closed.stats.messages_in, 3);
    assert_eq!(closed.stats.messages_out, 3);
    server.assert_no_failures();
}

// ----- wire interop with tokio-util -----

/// Our server with `LengthField::tokio_util()` echoes 1,000 random frames
/// (up to 70,000 bytes, so some span many reads) to a tokio-util
/// `Framed<TcpStream, LengthDelimitedCodec>` client.
pub(crate) async fn tokio_util_client_to_our_server<R: Runtime>() {
    let server = EchoServer::start::<R>(
        local(),
        LengthField::tokio_util(),
        HubConfig::default(),
        true,
    )
    .await;
    let addr = server.addr;
    blocking(move || super::peers::tokio_util_echo_client(addr, 1_000, 8, 70_000, 7))
        .await
        .unwrap_or_else(|err| panic!("tokio-util client: {err}"));
    // The client has every echo; the session counts its last write once
    // the driver is back from the socket call, and closes at the client's
    // end of stream: the counts are exact from then on.
    eventually::<R>("the server session to close", || server.hub.is_empty()).await;
    server.assert_no_failures();
    let stats = server.hub.stats();
    assert_eq!(stats.messages_in, 1_000);
    assert_eq!(stats.messages_out, 1_000);
}

/// Our client with `LengthField::tokio_util()` against a tokio-util
/// `Framed` echo server: 1,000 random frames up to 70,000 bytes.
pub(crate) async fn our_client_to_tokio_util_server<R: Runtime>() {
    let addr = super::peers::tokio_util_echo_server();
    let client = R::connect(addr, LengthField::tokio_util(), ClientConfig::default())
        .await
        .expect("connect");
    echo_through::<R>(client, 1_000, 8, 70_000, 11)
        .await
        .unwrap_or_else(|err| panic!("{err}"));
}

// ----- cross-runtime interop -----

/// A server on runtime `S` (on a thread of its own) and clients on `R`:
/// 10 connections echo 1,000 random frames each.
pub(crate) async fn cross_runtime<S: Runtime, R: Runtime>() {
    let (addr_tx, addr_rx) = futures::channel::oneshot::channel();
    let (stop_tx, stop_rx) = futures::channel::oneshot::channel::<()>();
    let server_thread = std::thread::spawn(move || {
        S::block_on(async move {
            let server = EchoServer::start::<S>(local(), codec(), HubConfig::default(), true).await;
            let _ = addr_tx.send(server.addr);
            let _ = stop_rx.await;
            let report = S::shutdown(server.hub.clone(), Duration::from_secs(5)).await;
            server.assert_no_failures();
            (server.hub.stats(), report)
        })
    });
    let addr = within::<R, _>(WAIT, "the server to bind", addr_rx)
        .await
        .expect("server thread");
    let (done_tx, mut done_rx) = mpsc::unbounded();
    for conn in 0..10u64 {
        let done_tx = done_tx.clone();
        R::spawn(async move {
            let result = match R::connect(addr, codec(), ClientConfig::default()).await {
                Ok(client) => echo_through::<R>(client, 1_000, 16, 512, conn).await,
                Err(err) => Err(format!("connect: {err:?}")),
            };
            let _ = done_tx.unbounded_send(result);
        });
    }
    drop(done_tx);
    let mut finished = 0;
    while let Some(result) = within::<R, _>(WAIT * 2, "the clients", done_rx.next()).await {
        result.unwrap_or_else(|err| panic!("client: {err}"));
        finished += 1;
    }
    assert_eq!(finished, 10);
    let _ = stop_tx.send(());
    let (stats, report) = blocking(move || server_thread.join().expect("server thread")).await;
    assert_eq!(stats.accepted, 10, "{stats:?}");
    assert_eq!(stats.messages_in, 10_000, "{stats:?}");
    assert_eq!(report.dropped, 0);
}
