//! Heartbeats on a real socket: a live peer that only answers pings stays
//! open, a peer that went silent is closed at its heartbeat deadline, and
//! pings and pongs never reach the application.

use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::driver::ClientConfig;
use proto_core::frame::LengthField;
use proto_core::hub::HubConfig;
use proto_core::session::{CloseReason, Heartbeat, SessionConfig};

use crate::harness::{EchoServer, Runtime, blocking, expect_message, expect_opened, local};
use crate::peers::{RawOptions, RawPeer};

/// Generous against a loaded CI machine: a live peer is closed only if its
/// driver is starved for a whole second.
const HEARTBEAT: Heartbeat = Heartbeat {
    interval: Duration::from_millis(200),
    timeout: Duration::from_millis(1000),
};

pub(crate) async fn heartbeats_keep_live_peers_and_close_silent_ones<R: Runtime>() {
    let config = HubConfig::default().session(SessionConfig::default().heartbeat(Some(HEARTBEAT)));
    let mut server =
        EchoServer::start::<R>(local(), LengthField::laster40net(), config.clone(), true).await;
    let addr = server.addr;

    // Our client with the same settings: it answers pings (and sends its
    // own), but the application sends nothing.
    let settings = ClientConfig::default().hub(config);
    let mut live = R::connect(addr, LengthField::laster40net(), settings)
        .await
        .unwrap_or_else(|err| panic!("connect: {err:?}"));
    let live_handle = expect_opened::<R>(&mut live.events).await;
    let live_id = server.next_opened::<R>().await.id();

    // A peer that connects and then neither reads nor writes.
    let connected_at = Instant::now();
    let silent = blocking(move || RawPeer::connect(addr, RawOptions::default())).await;
    let silent_id = server.next_opened::<R>().await.id();

    let closed = server.next_closed::<R>().await;
    let lived = connected_at.elapsed();
    assert_eq!(closed.id, silent_id, "the first session to close");
    assert_eq!(closed.reason, CloseReason::HeartbeatTimeout);
    assert!(
        lived >= HEARTBEAT.interval + HEARTBEAT.timeout,
        "closed after {lived:?}, before interval + timeout"
    );

    // The live one outlives several heartbeat periods with no application
    // traffic, and neither side's application saw a ping or a pong.
    R::sleep((HEARTBEAT.interval + HEARTBEAT.timeout) * 2).await;
    assert!(
        server.hub.get(live_id).is_some(),
        "a peer answering pings was closed"
    );
    assert_eq!(
        server.received(live_id),
        0,
        "a control frame reached the server's application"
    );
    assert!(
        live.events.try_recv().is_none(),
        "a control frame reached the client's application"
    );
    let stats = server
        .hub
        .get(live_id)
        .map(|h| h.stats())
        .unwrap_or_default();
    assert!(stats.bytes_in > 0, "the live peer sent pings or pongs");

    // Application messages still flow, framed with the data kind byte.
    live_handle
        .send(Bytes::from_static(b"still here"))
        .expect("send");
    let echo = expect_message::<R>(&mut live.events, live_handle.id()).await;
    assert_eq!(echo, &b"still here"[..]);
    server.assert_no_failures();
    drop(silent);
}
