//! The refusal message written to connections admission refuses.

use bytes::Bytes;
use proto_core::frame::LengthField;
use proto_core::hub::{AdmissionConfig, HubConfig};

use crate::harness::{EchoServer, Runtime, blocking, local};
use crate::peers::{RawOptions, RawPeer};

/// `max_sessions` 1 and a refusal message: the session at the limit
/// works; the connection over it reads exactly the framed "server full",
/// then end of stream, and is counted once as `too_many_sessions`; once
/// the first leaves, a new connection is admitted.
pub(crate) async fn refused_connection_gets_the_refusal_message<R: Runtime>() {
    let config = HubConfig::default()
        .admission(AdmissionConfig::default().max_sessions(1))
        .refusal_message(Some(Bytes::from_static(b"server full")));
    let mut server =
        EchoServer::start::<R>(local(), LengthField::laster40net(), config, true).await;
    let addr = server.addr;
    let at_limit = blocking(move || {
        let mut peer = RawPeer::connect(addr, RawOptions::default());
        peer.send(b"at the limit");
        assert_eq!(
            peer.recv().expect("read").as_deref(),
            Some(&b"at the limit"[..])
        );
        peer
    })
    .await;
    server.next_opened::<R>().await;
    let refused = blocking(move || {
        let mut peer = RawPeer::connect(addr, RawOptions::default());
        let first = peer.recv().expect("read the refusal");
        let then = peer.recv().expect("read end of stream");
        (first, then)
    })
    .await;
    assert_eq!(refused.0.as_deref(), Some(&b"server full"[..]));
    assert_eq!(refused.1, None, "end of stream after the refusal");
    let stats = server.hub.stats();
    assert_eq!(
        stats.rejected.get("too_many_sessions"),
        Some(&1),
        "{stats:?}"
    );
    assert_eq!((stats.accepted, stats.live), (1, 1), "{stats:?}");

    drop(at_limit);
    server.next_closed::<R>().await;
    let echo = blocking(move || {
        let mut peer = RawPeer::connect(addr, RawOptions::default());
        peer.send(b"admitted again");
        peer.recv().expect("read")
    })
    .await;
    assert_eq!(echo.as_deref(), Some(&b"admitted again"[..]));
    assert_eq!(
        server.hub.stats().rejected.get("too_many_sessions"),
        Some(&1)
    );
    server.assert_no_failures();
}
