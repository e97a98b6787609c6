//! TCP keepalive through the runtime seam, as the server and client set it
//! on their sockets (`ServerConfig::keepalive`, `ClientConfig::keepalive`).
#![allow(clippy::unwrap_used)]

use std::time::Duration;

use proto_core::driver::{DEFAULT_KEEPALIVE, Runtime, ServerConfig};
use proto_tokio::Tokio;
use socket2::SockRef;
use tokio::net::TcpListener;

#[tokio::test]
async fn keepalive_is_set_with_its_idle_time_and_cleared() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stream = Tokio.connect(listener.local_addr().unwrap()).await.unwrap();
    let socket = SockRef::from(&stream.0);
    assert!(!socket.keepalive().unwrap(), "off on a new socket");
    Tokio
        .set_keepalive(&stream, Some(Duration::from_secs(7)))
        .unwrap();
    assert!(socket.keepalive().unwrap());
    assert_eq!(socket.tcp_keepalive_time().unwrap(), Duration::from_secs(7));
    Tokio.set_keepalive(&stream, None).unwrap();
    assert!(!socket.keepalive().unwrap());
    assert_eq!(ServerConfig::default().keepalive, Some(DEFAULT_KEEPALIVE));
}
