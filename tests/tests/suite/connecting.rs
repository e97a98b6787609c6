//! Connecting: the connect timeout, a refused connect, and reconnecting
//! after the server restarts.

use std::time::{Duration, Instant};

use proto_core::driver::{Backoff, ClientConfig};
use proto_core::hub::HubConfig;
use proto_core::session::CloseReason;

use crate::harness::{
    ConnectFailure, EchoServer, Runtime, blocking, expect_closed, expect_opened, local,
};
use crate::peers::{fill_accept_queue, stuck_listener};

use crate::behaviours::{codec, round_trip};

// ----- connect timeout, refusal, reconnect -----

/// A listener with backlog 1 whose accept queue is full drops SYNs: a
/// connect with a 200 ms timeout fails with `Timeout`, not before 200 ms.
pub(crate) async fn connect_timeout<R: Runtime>() {
    let (listener, addr) = stuck_listener(1);
    let held = blocking(move || fill_accept_queue(addr)).await;
    let timeout = Duration::from_millis(200);
    let settings = ClientConfig::default().connect_timeout(timeout);
    let start = Instant::now();
    let result = R::connect(addr, codec(), settings).await;
    let took = start.elapsed();
    assert_eq!(result.err(), Some(ConnectFailure::Timeout));
    assert!(
        took >= timeout,
        "timed out after {took:?}, before {timeout:?}"
    );
    drop((held, listener));
}

/// Nothing listens: the connect fails at once with `ConnectionRefused`.
pub(crate) async fn connect_refused<R: Runtime>() {
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr"); // the listener is closed again here
    let result = R::connect(addr, codec(), ClientConfig::default()).await;
    assert_eq!(
        result.err(),
        Some(ConnectFailure::Io(std::io::ErrorKind::ConnectionRefused))
    );
}

/// The server goes away and comes back on the same port: a client with a
/// reconnect backoff opens a new session (a new `Opened`, a new id) that
/// works.
pub(crate) async fn reconnects_after_server_restart<R: Runtime>() {
    let mut first = EchoServer::start::<R>(local(), codec(), HubConfig::default(), true).await;
    let addr = first.addr;
    let settings = ClientConfig::default().reconnect(Some(Backoff {
        initial: Duration::from_millis(20),
        max: Duration::from_millis(100),
        jitter: 0.5,
        max_attempts: Some(500),
    }));
    let mut client = R::connect(addr, codec(), settings).await.expect("connect");
    let before = expect_opened::<R>(&mut client.events).await;
    first.next_opened::<R>().await;
    round_trip::<R>(&mut client, &before, "before the restart").await;

    let report = R::shutdown(first.hub.clone(), Duration::from_secs(5)).await;
    assert_eq!(report.sessions, 1);
    let reason = expect_closed::<R>(&mut client.events, before.id()).await;
    assert_eq!(reason, CloseReason::RemoteClosed);
    // Let a few reconnect attempts fail against the closed port.
    R::sleep(Duration::from_millis(200)).await;

    let mut second = EchoServer::start::<R>(addr, codec(), HubConfig::default(), true).await;
    assert_eq!(second.addr, addr);
    let after = expect_opened::<R>(&mut client.events).await;
    assert_ne!(after.id(), before.id());
    second.next_opened::<R>().await;
    round_trip::<R>(&mut client, &after, "after the restart").await;
    assert_eq!(second.hub.stats().accepted, 1);

    // Shutting the client's hub down ends it for good.
    R::shutdown(client.hub.clone(), Duration::from_secs(5)).await;
    let reason = expect_closed::<R>(&mut client.events, after.id()).await;
    assert_eq!(reason, CloseReason::Shutdown);
    let closed = second.next_closed::<R>().await;
    assert_eq!(closed.reason, CloseReason::RemoteClosed);
    first.assert_no_failures();
    second.assert_no_failures();
}
