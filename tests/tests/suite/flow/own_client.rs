//! Both ends of our own: our client pipelining large messages.

use proto_core::driver::ClientConfig;
use proto_core::frame::LengthField;
use proto_core::hub::Event;

use super::{echo_server_default, produce};
use crate::harness::{Runtime, WAIT, expect_opened, next_event, numbered, within};

/// Our client pipelines 2,000 messages of 60 KB (120 MB, far more than the
/// kernels' buffers hold) to our echo server, both with default settings,
/// sending with `send_async` on one task while the application reads the
/// echoes on another: every echo arrives. (A client that paused its reads
/// while its own send queue was full would deadlock with a server that
/// pauses its reads while its replies wait: the client adapters' default
/// `backpressure_counts_sends(false)` is what keeps the client reading.)
pub(crate) async fn our_client_pipelining_large_messages_gets_every_echo<R: Runtime>() {
    const N: u32 = 2000;
    const LEN: usize = 60_000;
    let server = echo_server_default::<R>(true).await;
    let mut client = R::connect(
        server.addr,
        LengthField::laster40net(),
        ClientConfig::default(),
    )
    .await
    .expect("connect");
    let handle = expect_opened::<R>(&mut client.events).await;
    let done_rx = produce::<R>(handle, N, LEN, false);
    for n in 0..N {
        match next_event::<R>(&mut client.events, "an echo").await {
            Event::Message { payload, .. } => assert_eq!(payload, numbered(n, LEN), "echo {n}"),
            other => panic!("expected echo {n}, got {other:?}"),
        }
    }
    within::<R, _>(WAIT, "the sender", done_rx)
        .await
        .expect("sender task")
        .expect("every send taken");
    server.assert_no_failures();
    assert_eq!(server.hub.stats().sends_rejected, 0);
}
