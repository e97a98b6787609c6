//! TCP keepalive through the runtime seam, as the server and client set it
//! on their sockets (`ServerConfig::keepalive`, `ClientConfig::keepalive`).
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::time::Duration;

use proto_core::driver::Runtime;
use proto_smol::Smol;
use socket2::SockRef;

#[test]
fn keepalive_is_set_with_its_idle_time_and_cleared() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    smol::block_on(async {
        let stream = Smol::default().connect(addr).await.unwrap();
        let socket = SockRef::from(stream.get_ref());
        assert!(!socket.keepalive().unwrap(), "off on a new socket");
        Smol::default()
            .set_keepalive(&stream, Some(Duration::from_secs(7)))
            .unwrap();
        assert!(socket.keepalive().unwrap());
        assert_eq!(socket.tcp_keepalive_time().unwrap(), Duration::from_secs(7));
        Smol::default().set_keepalive(&stream, None).unwrap();
        assert!(!socket.keepalive().unwrap());
    });
}
