//! Echo round trips over real loopback sockets, under smol and under
//! async-std.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use proto_core::driver::Runtime;
use proto_core::frame::LengthField;
use proto_core::hub::{Event, Events, Hub};
use proto_core::session::CloseReason;
use proto_smol::{Client, ClientConfig, FuturesIo, Server, ServerConfig, Smol};
use smol::future;

/// Starts an echo server on an ephemeral port; returns its address and hub.
async fn echo_server(runtime: Smol) -> (SocketAddr, Hub<LengthField>) {
    let codec = LengthField::laster40net();
    let mut server = Server::bind_on(
        runtime.clone(),
        "127.0.0.1:0",
        codec,
        ServerConfig::default(),
    )
    .await
    .expect("bind an ephemeral loopback port");
    let mut events = server.events();
    let addr = server
        .local_addr()
        .expect("a bound listener has an address");
    let hub = server.hub().clone();
    runtime.spawn(server.run());
    let replies = hub.clone();
    runtime.spawn(async move {
        while let Some(event) = events.recv().await {
            if let Event::Message { id, payload } = event {
                let _ = replies.send(id, payload);
            }
        }
    });
    (addr, hub)
}

/// The next event, or a panic after 5 s.
async fn next(events: &mut Events) -> Event {
    let timeout = async {
        async_io::Timer::after(Duration::from_secs(5)).await;
        None
    };
    future::or(events.recv(), timeout)
        .await
        .expect("an event within 5 s")
}

/// Sends three messages through `client` and expects them echoed in order.
async fn round_trip(client: &Client<LengthField>, events: &mut Events) {
    assert!(matches!(next(events).await, Event::Opened(_)));
    let sent = [&b"hello"[..], b"", &[7u8; 10_000]];
    for payload in sent {
        client
            .send(Bytes::copy_from_slice(payload))
            .expect("the session is open");
    }
    for payload in sent {
        match next(events).await {
            Event::Message { payload: got, .. } => assert_eq!(&got[..], payload),
            other => panic!(
                "expected the echo of {} bytes, got {other:?}",
                payload.len()
            ),
        }
    }
}

#[test]
fn echo_round_trip_under_smol() {
    smol::block_on(async {
        let (addr, server_hub) = echo_server(Smol::default()).await;
        let (client, mut events) =
            Client::connect(addr, LengthField::laster40net(), ClientConfig::default())
                .await
                .expect("connect to the loopback server");
        round_trip(&client, &mut events).await;

        let report = server_hub
            .shutdown(async_io::Timer::after(Duration::from_secs(2)))
            .await;
        assert_eq!(report.sessions, 1);
        assert_eq!(report.dropped, 0);
        // The server's FIN ends the client's session: EndOfStream, then,
        // once that event is handled, Closed.
        assert!(matches!(next(&mut events).await, Event::EndOfStream { .. }));
        match next(&mut events).await {
            Event::Closed { reason, .. } => assert_eq!(reason, CloseReason::RemoteClosed),
            other => panic!("expected Closed, got {other:?}"),
        }
        // A shut-down server accepts no more.
        assert!(
            Client::connect(addr, LengthField::laster40net(), ClientConfig::default())
                .await
                .is_err()
        );
    });
}

#[test]
fn echo_round_trip_under_async_std() {
    async_std::task::block_on(async {
        let runtime = Smol::new(|task| {
            async_std::task::spawn(task);
        });
        let (addr, server_hub) = echo_server(runtime.clone()).await;
        let stream = async_std::net::TcpStream::connect(addr)
            .await
            .expect("connect to the loopback server");
        let codec = LengthField::laster40net();
        let config = ClientConfig::default();
        let (client, mut events) =
            Client::from_stream_on(runtime, FuturesIo(stream), addr, codec, config)
                .expect("a fresh client hub admits its session");
        round_trip(&client, &mut events).await;

        // Closing from the client side: the server sees the peer leave.
        let report = client
            .hub()
            .shutdown(async_io::Timer::after(Duration::from_secs(2)))
            .await;
        assert_eq!(report.sessions, 1);
        server_hub.drained().await;
        assert_eq!(server_hub.stats().messages_in, 3);
    });
}

#[test]
fn connect_to_a_closed_port_fails_with_io() {
    smol::block_on(async {
        // Bind then drop, so the port is (very likely) closed.
        let addr = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("an ephemeral port");
        let err = Client::connect(addr, LengthField::laster40net(), ClientConfig::default())
            .await
            .expect_err("nothing listens");
        assert!(matches!(err, proto_smol::ConnectError::Io { .. }), "{err}");
    });
}

#[test]
fn client_reconnects_after_the_server_drops_it() {
    smol::block_on(async {
        let (addr, server_hub) = echo_server(Smol::default()).await;
        let config = ClientConfig::default().reconnect(Some(proto_core::driver::Backoff {
            initial: Duration::from_millis(10),
            max_attempts: Some(5),
            ..Default::default()
        }));
        let (client, mut events) = Client::connect(addr, LengthField::laster40net(), config)
            .await
            .expect("connect to the loopback server");
        assert!(matches!(next(&mut events).await, Event::Opened(_)));
        server_hub.abort_all(CloseReason::Local);
        assert!(matches!(next(&mut events).await, Event::EndOfStream { .. }));
        assert!(matches!(next(&mut events).await, Event::Closed { .. }));
        // A new session on a new connection, which echoes as before.
        round_trip(&client, &mut events).await;
        assert_eq!(server_hub.stats().accepted, 2);
        client
            .hub()
            .shutdown(async_io::Timer::after(Duration::from_secs(2)))
            .await;
    });
}
