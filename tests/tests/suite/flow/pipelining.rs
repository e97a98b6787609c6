//! Pipelined echoes on the event stream: back-pressure instead of refusals.

use std::time::Duration;

use bytes::Bytes;
use proto_core::frame::LengthField;
use proto_core::hub::HubConfig;

use super::{HEADER, HIGH, content, raw, writer_of};
use crate::harness::{EchoServer, Rng, Runtime, blocking, eventually, local};

/// Frames of the pipelined echo, and the codec's (and their) largest size.
const PIPELINED: u32 = 5_000;
const PIPELINED_MAX: usize = 16 * 1024;

/// Frame `n` of the pipelined echo: random sizes 0..=16 KiB from `rng`,
/// and every 500th exactly 16 KiB (the codec's maximum).
fn pipelined_frame(rng: &mut Rng, n: u32) -> Bytes {
    if n % 500 == 7 {
        content(n, PIPELINED_MAX)
    } else {
        rng.payload(PIPELINED_MAX)
    }
}

/// An echo server on the event stream (`max_frame_length` 16 KiB, default
/// limits) and a raw client that writes 5,000 frames (0..=16 KiB, ten of
/// exactly 16,384 bytes) without waiting for replies, while its reader
/// starts slowly: back-pressure stops the server reading instead of its
/// queue overflowing, so every echo arrives in order, none is refused, and
/// the queue never holds more than high water + one frame.
pub(crate) async fn pipelined_echo_loses_nothing<R: Runtime>() {
    const SEED: u64 = 0x5eed;
    let codec = LengthField::laster40net().max_frame_length(PIPELINED_MAX);
    let server = EchoServer::start::<R>(local(), codec, HubConfig::default(), true).await;
    let peer = raw::<R>(server.addr, None).await;
    let mut writer = writer_of(&peer);
    let wrote = blocking(move || {
        let mut rng = Rng::new(SEED);
        for n in 0..PIPELINED {
            writer.send(&pipelined_frame(&mut rng, n));
        }
        writer.shutdown_write();
    });
    let read = blocking(move || {
        let mut reader = peer;
        let mut rng = Rng::new(SEED);
        for n in 0..PIPELINED {
            // Slow at first: the server must stop reading, not refuse.
            if n < 2_000 && n % 250 == 0 {
                std::thread::sleep(Duration::from_millis(25));
            }
            let expected = pipelined_frame(&mut rng, n);
            match reader.recv() {
                Ok(Some(got)) if got == expected => {}
                Ok(Some(got)) => {
                    return Err(format!(
                        "echo {n}: {} bytes differ from the {} sent",
                        got.len(),
                        expected.len()
                    ));
                }
                other => return Err(format!("echo {n} lost: {other:?}")),
            }
        }
        match reader.recv() {
            Ok(None) => Ok(()),
            other => Err(format!("after the last echo: {other:?}")),
        }
    });
    let (read, ()) = futures::join!(read, wrote);
    read.unwrap_or_else(|err| panic!("{err}"));
    eventually::<R>("the session to close", || server.hub.is_empty()).await;
    server.assert_no_failures();
    let stats = server.hub.stats();
    assert_eq!(stats.messages_in, u64::from(PIPELINED), "{stats:?}");
    assert_eq!(stats.messages_out, u64::from(PIPELINED), "{stats:?}");
    assert_eq!(stats.sends_rejected, 0, "{stats:?}");
    assert_eq!(stats.sends_refused_closed, 0, "{stats:?}");
    assert!(
        stats.queue_high_water_bytes <= HIGH + HEADER + PIPELINED_MAX,
        "queue reached {} bytes, over high water + one frame",
        stats.queue_high_water_bytes
    );
}
