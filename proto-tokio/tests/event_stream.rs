//! A server has one event stream: `Server::events` takes it; a server run
//! without taking it discards its sessions' messages and counts them.

use std::time::Duration;

use proto_core::frame::LengthField;
use proto_tokio::{Server, ServerConfig};
use tokio::io::AsyncWriteExt;

#[tokio::test]
#[should_panic(expected = "Server::events called twice")]
async fn taking_the_event_stream_twice_panics() {
    let mut server = Server::bind(
        "127.0.0.1:0",
        LengthField::laster40net(),
        ServerConfig::default(),
    )
    .await
    .expect("bind");
    let _first = server.events();
    let _second = server.events();
}

#[tokio::test]
async fn run_without_the_event_stream_counts_what_it_discards() {
    let server = Server::bind(
        "127.0.0.1:0",
        LengthField::laster40net(),
        ServerConfig::default(),
    )
    .await
    .expect("bind");
    let addr = server.local_addr().expect("addr");
    let hub = server.hub().clone();
    tokio::spawn(server.run());
    let mut peer = tokio::net::TcpStream::connect(addr).await.expect("connect");
    // Two laster40net frames: a 4-byte little-endian length, then the body.
    for body in [&b"one"[..], b"two"] {
        let mut frame = (body.len() as u32).to_le_bytes().to_vec();
        frame.extend_from_slice(body);
        peer.write_all(&frame).await.expect("write");
    }
    let counted = async {
        while hub.stats().messages_unread < 2 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), counted)
        .await
        .expect("both messages counted as unread");
    assert_eq!(hub.stats().messages_unread, 2);
}
