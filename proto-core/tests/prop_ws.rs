//! Property tests of the WebSocket codec through a server session: a
//! client's stream (handshake, fragmented messages, masks, pings between
//! fragments) decodes to the same messages and pongs under any chunking;
//! and arbitrary bytes after the handshake give the same events and the
//! same answer under any chunking, without a panic.
#![allow(clippy::unwrap_used)]

use bytes::Bytes;
use proptest::prelude::*;
use proto_core::session::SessionEvent;
use proto_core::ws::WebSocket;
use proto_testkit::chunk::{chunkings, read_sizes};
use proto_testkit::ws::{WireFrame, fragments, opcode, run_chunks, upgrade_request};

/// A message a client sends: text or binary, its fragment sizes, masks,
/// and a ping after its first fragment if `ping` is set.
#[derive(Debug, Clone)]
struct Sent {
    text: bool,
    payload: Vec<u8>,
    sizes: Vec<usize>,
    mask: [u8; 4],
    ping: Option<Vec<u8>>,
}

fn sent() -> impl Strategy<Value = Sent> {
    (
        prop_oneof![
            any::<String>().prop_map(|s| (true, s.into_bytes())),
            prop::collection::vec(any::<u8>(), 0..300).prop_map(|b| (false, b)),
        ],
        prop::collection::vec(0usize..40, 1..4),
        any::<[u8; 4]>(),
        prop::option::of(prop::collection::vec(any::<u8>(), 0..=125)),
    )
        .prop_map(|((text, payload), sizes, mask, ping)| Sent {
            text,
            payload,
            sizes,
            mask,
            ping,
        })
}

/// The client's whole stream and the pong payloads it asks for.
fn stream(messages: &[Sent]) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut bytes = upgrade_request("/", &[]);
    let mut pings = Vec::new();
    for m in messages {
        let kind = if m.text { opcode::TEXT } else { opcode::BINARY };
        let mut frames = fragments(kind, &m.payload, &m.sizes, Some(m.mask));
        if let Some(ping) = &m.ping {
            frames.insert(1, WireFrame::new(opcode::PING, ping.clone(), Some(m.mask)));
            pings.push(ping.clone());
        }
        bytes.extend(frames.iter().flat_map(WireFrame::encode));
    }
    (bytes, pings)
}

fn run(chunks: &[&[u8]]) -> (Vec<SessionEvent>, Vec<u8>) {
    run_chunks(&WebSocket::server().max_message_size(4096), chunks)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn any_chunking_decodes_the_messages_and_answers_the_pings(
        messages in prop::collection::vec(sent(), 0..6),
        sizes in read_sizes(),
    ) {
        let (bytes, pings) = stream(&messages);
        let mut want: Vec<SessionEvent> = vec![SessionEvent::Opened];
        want.extend(messages.iter().map(|m| SessionEvent::Message(Bytes::from(m.payload.clone()))));
        for (name, chunks) in chunkings(&bytes, &sizes) {
            let (seen, out) = run(&chunks);
            prop_assert_eq!(&seen, &want, "{}", name);
            let (_, frames) = proto_testkit::ws::split_head(&out);
            let pongs: Vec<Vec<u8>> = proto_testkit::ws::parse_frames(frames)
                .into_iter()
                .map(|f| {
                    assert_eq!((f.opcode, f.mask, f.fin), (opcode::PONG, None, true));
                    f.payload
                })
                .collect();
            prop_assert_eq!(&pongs, &pings, "{}", name);
        }
    }

    #[test]
    fn arbitrary_bytes_after_the_handshake_give_one_outcome_under_any_chunking(
        tail in prop::collection::vec(
            prop_oneof![3 => prop::sample::select(vec![0x81u8, 0x82, 0x80, 0x01, 0x89, 0x88, 0x7e, 0x7f, 0xfe, 0xff, 0x00]), 1 => any::<u8>()],
            0..200,
        ),
        sizes in read_sizes(),
    ) {
        let mut bytes = upgrade_request("/", &[]);
        bytes.extend_from_slice(&tail);
        let outcomes: Vec<_> = chunkings(&bytes, &sizes).iter().map(|(_, chunks)| run(chunks)).collect();
        prop_assert_eq!(&outcomes[0], &outcomes[1]);
        prop_assert_eq!(&outcomes[0], &outcomes[2]);
    }
}
