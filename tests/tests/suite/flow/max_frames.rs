//! Frames of exactly the codec's maximum, and one byte over.

use std::io::Write;

use bytes::Bytes;
use proto_core::frame::LengthField;
use proto_core::hub::HubConfig;
use proto_core::message::MessageFactory;
use proto_core::session::CloseReason;

use super::{HEADER, HIGH, content, raw, writer_of};
use crate::harness::{EchoServer, Runtime, blocking, local};
use crate::peers::{RawOptions, RawPeer};

/// The default codec's (laster40Net) largest payload.
const MAX_PAYLOAD: usize = 1_048_576;

/// Default codec and limits: 12 pipelined frames, four of exactly the
/// codec's maximum payload (1,048,576 bytes) and two of one less, are all
/// echoed; a frame announced one byte over closes its session with
/// `FrameTooLarge`.
pub(crate) async fn echo_of_maximum_frames_with_default_limits<R: Runtime>() {
    let codec = LengthField::laster40net();
    assert_eq!(codec.max_frame_wire_len(), Some(HEADER + MAX_PAYLOAD));
    let mut server = EchoServer::start::<R>(local(), codec, HubConfig::default(), true).await;
    let sizes = [
        MAX_PAYLOAD,
        MAX_PAYLOAD - 1,
        0,
        1,
        MAX_PAYLOAD,
        65_536,
        MAX_PAYLOAD - 1,
        12_345,
        MAX_PAYLOAD,
        7,
        HIGH + 1,
        MAX_PAYLOAD,
    ];
    let frames: Vec<Bytes> = (0u32..)
        .zip(sizes)
        .map(|(n, len)| content(n, len))
        .collect();
    let peer = raw::<R>(server.addr, None).await;
    let mut writer = writer_of(&peer);
    let sent = frames.clone();
    let wrote = blocking(move || {
        for frame in &sent {
            writer.send(frame);
        }
        writer.shutdown_write();
    });
    let read = blocking(move || {
        let mut reader = peer;
        let mut got = Vec::new();
        while let Some(frame) = reader.recv().expect("read an echo") {
            got.push(Bytes::from(frame));
        }
        got
    });
    let (got, ()) = futures::join!(read, wrote);
    assert_eq!(got.len(), frames.len(), "echoes before end of stream");
    for (n, (got, sent)) in got.iter().zip(&frames).enumerate() {
        assert!(got == sent, "echo {n} ({} bytes) differs", sent.len());
    }
    server.next_closed::<R>().await;

    // One byte over: refused from the header, before its body is buffered.
    let addr = server.addr;
    let _over = blocking(move || {
        let mut peer = RawPeer::connect(addr, RawOptions::default());
        let over = u32::try_from(MAX_PAYLOAD + 1).expect("fits");
        peer.stream
            .write_all(&over.to_le_bytes())
            .expect("write the header");
        peer
    })
    .await;
    let closed = server.next_closed::<R>().await;
    assert_eq!(
        closed.reason,
        CloseReason::FrameTooLarge {
            length: MAX_PAYLOAD as u64 + 1,
            max: MAX_PAYLOAD
        }
    );
    server.assert_no_failures();
    let stats = server.hub.stats();
    assert_eq!(stats.messages_out, frames.len() as u64, "{stats:?}");
    assert_eq!(stats.sends_rejected, 0, "{stats:?}");
}
