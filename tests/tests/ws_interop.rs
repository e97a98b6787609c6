//! Interop of the WebSocket codec with tungstenite, an independent
//! implementation, over real loopback sockets on tokio and on smol: a
//! tungstenite client against our server (text, binary, fragments, a large
//! message, ping, the close handshake) and our client against a tungstenite
//! server (echo, messages sent before the server's answer arrived).
#![allow(clippy::unwrap_used)]

use std::future::Future;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use proto_core::hub::{Event, Events, Hub};
use proto_core::message::MessageFactory;
use proto_core::ws::WebSocket;
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::Frame;
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::{Message, WebSocket as Tungstenite};

const TIMEOUT: Duration = Duration::from_secs(20);

/// Echoes every message back to its session.
async fn echo<F: MessageFactory>(hub: Hub<F>, mut events: Events) {
    while let Some(event) = events.recv().await {
        if let Event::Message { id, payload } = event {
            let _ = hub.send(id, payload);
        }
    }
}

/// The next data or control message, skipping nothing.
fn read(ws: &mut Tungstenite<TcpStream>) -> Message {
    ws.read().expect("a message before the timeout")
}

/// A tungstenite client's whole conversation with our echo server.
fn tungstenite_client(addr: SocketAddr) {
    let stream = TcpStream::connect(addr).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    let (mut ws, response) = tungstenite::client(format!("ws://{addr}/chat"), stream).unwrap();
    assert_eq!(response.status(), 101);

    ws.send(Message::text("héllo")).unwrap();
    assert_eq!(
        read(&mut ws),
        Message::binary(Bytes::from("héllo".as_bytes()))
    );

    let big: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    ws.send(Message::binary(big.clone())).unwrap();
    assert_eq!(read(&mut ws), Message::binary(big));

    // A text message in three fragments.
    for (part, opcode, fin) in [
        ("frag", OpCode::Data(Data::Text), false),
        ("ment", OpCode::Data(Data::Continue), false),
        ("ed", OpCode::Data(Data::Continue), true),
    ] {
        ws.write(Message::Frame(Frame::message(
            Bytes::from(part),
            opcode,
            fin,
        )))
        .unwrap();
    }
    ws.flush().unwrap();
    assert_eq!(
        read(&mut ws),
        Message::binary(Bytes::from_static(b"fragmented"))
    );

    ws.send(Message::Ping(Bytes::from_static(b"are you there")))
        .unwrap();
    assert_eq!(
        read(&mut ws),
        Message::Pong(Bytes::from_static(b"are you there"))
    );

    ws.close(Some(CloseFrame {
        code: CloseCode::Away,
        reason: "bye".into(),
    }))
    .unwrap();
    match read(&mut ws) {
        Message::Close(Some(frame)) => assert_eq!(frame.code, CloseCode::Away),
        other => panic!("expected the close reply, got {other:?}"),
    }
    // The server closes the connection after its reply.
    assert!(matches!(
        ws.read(),
        Err(tungstenite::Error::ConnectionClosed)
    ));
}

/// A tungstenite echo server for one connection, on a thread; joining
/// the thread gives the code of the close frame it received, if any.
fn tungstenite_server() -> (SocketAddr, std::thread::JoinHandle<Option<u16>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        while let Ok(message) = ws.read() {
            match message {
                Message::Close(frame) => return frame.map(|f| u16::from(f.code)),
                m if m.is_text() || m.is_binary() => ws.send(m).unwrap(),
                _ => {}
            }
        }
        None
    });
    (addr, server)
}

/// What our client must see from the tungstenite echo server: the
/// messages it sent at once (before the handshake answer), echoed.
async fn expect_echoes(mut events: Events, sent: &[&str]) -> Events {
    let mut echoed = Vec::new();
    while echoed.len() < sent.len() {
        match events.recv().await.expect("events until the echoes") {
            Event::Message { payload, .. } => echoed.push(payload),
            Event::Closed { reason, .. } => panic!("closed early: {reason}"),
            _ => {}
        }
    }
    assert_eq!(echoed, sent);
    events
}

fn with_timeout<T>(what: &str, future: impl Future<Output = T>) -> T {
    futures::executor::block_on(async {
        smol::future::or(async { Some(future.await) }, async {
            async_io::Timer::after(TIMEOUT * 2).await;
            None
        })
        .await
    })
    .unwrap_or_else(|| panic!("{what} timed out"))
}

/// Runs `future` on a tokio runtime of two threads, within a deadline.
fn on_tokio<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
        .block_on(async {
            tokio::time::timeout(TIMEOUT * 2, future)
                .await
                .expect("in time")
        })
}

#[test]
fn tungstenite_client_talks_to_our_server_on_tokio() {
    on_tokio(async {
        let mut server =
            proto_tokio::Server::bind("127.0.0.1:0", WebSocket::server(), Default::default())
                .await
                .unwrap();
        let events = server.events();
        let addr = server.local_addr().unwrap();
        tokio::spawn(echo(server.hub().clone(), events));
        tokio::spawn(server.run());
        tokio::task::spawn_blocking(move || tungstenite_client(addr))
            .await
            .unwrap();
    });
}

#[test]
fn tungstenite_client_talks_to_our_server_on_smol() {
    with_timeout("smol server", async {
        let mut server =
            proto_smol::Server::bind("127.0.0.1:0", WebSocket::server(), Default::default())
                .await
                .unwrap();
        let events = server.events();
        let addr = server.local_addr().unwrap();
        smol::spawn(echo(server.hub().clone(), events)).detach();
        smol::spawn(server.run()).detach();
        smol::unblock(move || tungstenite_client(addr)).await;
    });
}

#[test]
fn our_client_talks_to_a_tungstenite_server_on_tokio() {
    let (addr, server) = tungstenite_server();
    on_tokio(async {
        let codec = WebSocket::client(addr.to_string(), "/");
        let (client, events) = proto_tokio::Client::connect(addr, codec, Default::default())
            .await
            .unwrap();
        for text in ["one", "two"] {
            client.send(Bytes::from(text)).unwrap();
        }
        let mut events = expect_echoes(events, &["one", "two"]).await;
        // A graceful close of ours says goodbye with 1000.
        let id = client.hub().sessions()[0];
        client
            .hub()
            .close(id, proto_core::session::CloseReason::Local);
        while !matches!(events.recv().await, Some(Event::Closed { .. }) | None) {}
    });
    assert_eq!(server.join().unwrap(), Some(1000));
}

#[test]
fn our_client_talks_to_a_tungstenite_server_on_smol() {
    let (addr, _) = tungstenite_server();
    with_timeout("smol client", async {
        // The message waits for the handshake: room for it.
        let codec = WebSocket::client(addr.to_string(), "/").max_held_before_open(128 * 1024);
        let (client, events) = proto_smol::Client::connect(addr, codec, Default::default())
            .await
            .unwrap();
        client.send(Bytes::from(vec![b'x'; 70_000])).unwrap();
        let mut events = events;
        match events.recv().await {
            Some(Event::Opened(_)) => {}
            other => panic!("{other:?}"),
        }
        match events.recv().await {
            Some(Event::Message { payload, .. }) => assert_eq!(payload, vec![b'x'; 70_000]),
            other => panic!("{other:?}"),
        }
    });
}
