//! The protocol's examples: every kind round-trips, bad input is an
//! error, and `chat/PROTOCOL.md` shows exactly the bytes the encoder
//! writes.

use bytes::Bytes;

use super::*;

/// One example of each kind, as `PROTOCOL.md` shows them.
pub(super) fn examples() -> Vec<Message> {
    vec![
        Message::Hello {
            name: "alice".into(),
        },
        Message::Say { text: "hi!".into() },
        Message::Join {
            room: "games".into(),
        },
        Message::Leave,
        Message::ListRooms,
        Message::Who,
        Message::Private {
            to: "bob".into(),
            text: "psst".into(),
        },
        Message::Offer {
            id: 7,
            to: "bob".into(),
            file: "a.txt".into(),
            size: 5,
        },
        Message::History { count: 20 },
        Message::Welcome {
            session: 1,
            name: "alice".into(),
            room: "lobby".into(),
        },
        Message::Error {
            code: ErrorCode::NAME_TAKEN,
            text: "taken".into(),
        },
        Message::Said {
            room: "lobby".into(),
            from: "bob".into(),
            text: "hi".into(),
        },
        Message::Joined {
            room: "lobby".into(),
            name: "bob".into(),
        },
        Message::Left {
            room: "lobby".into(),
            name: "bob".into(),
        },
        Message::Rooms {
            rooms: vec![("games".into(), 2), ("lobby".into(), 1)],
        },
        Message::Members {
            room: "games".into(),
            names: vec!["alice".into(), "bob".into()],
        },
        Message::PrivateFrom {
            from: "alice".into(),
            text: "psst".into(),
        },
        Message::OfferFrom {
            id: 7,
            from: "alice".into(),
            file: "a.txt".into(),
            size: 5,
        },
        Message::Past {
            room: "lobby".into(),
            from: "bob".into(),
            text: "hi".into(),
            at_ms: 1_700_000_000_000,
        },
        Message::Accept { id: 7 },
        Message::Refuse {
            id: 7,
            reason: "no".into(),
        },
        Message::Chunk {
            id: 7,
            seq: 0,
            data: Bytes::from_static(b"hello"),
        },
        Message::Ack { id: 7, seq: 0 },
        Message::Done {
            id: 7,
            sha256: [0xab; 32],
        },
        Message::Cancel {
            id: 7,
            reason: "left".into(),
        },
    ]
}

/// Bytes as `PROTOCOL.md` writes them: two hex digits each, 16 per line.
pub(super) fn hex(bytes: &[u8]) -> String {
    bytes
        .chunks(16)
        .map(|line| {
            line.iter()
                .map(|b| format!("{b:02x}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The block `PROTOCOL.md` holds for `message`: its Rust form, then its
/// bytes.
fn doc_block(message: &Message) -> String {
    format!("```text\n{message:?}\n{}\n```", hex(&message.encode()))
}

/// When an example changes, the failure message is the block to paste
/// into `PROTOCOL.md`.
#[test]
fn protocol_md_shows_the_bytes_the_encoder_writes() {
    let doc = include_str!("../../PROTOCOL.md");
    for message in examples() {
        let block = doc_block(&message);
        assert!(
            doc.contains(&block),
            "PROTOCOL.md lacks, or has other bytes for, this example:\n{block}"
        );
    }
}

#[test]
fn every_kind_round_trips() {
    for message in examples() {
        assert_eq!(Message::decode(&message.encode()), Ok(message));
    }
}

#[test]
fn chunk_data_shares_the_frame() {
    let frame = Message::Chunk {
        id: 1,
        seq: 2,
        data: Bytes::from_static(b"data"),
    }
    .encode();
    let Ok(Message::Chunk { data, .. }) = Message::decode(&frame) else {
        panic!("not a chunk")
    };
    assert_eq!(data.as_ptr(), frame[13..].as_ptr(), "the data was copied");
}

#[test]
fn rejects_bad_frames_with_a_reason() {
    let cases: [(&[u8], DecodeError); 5] = [
        (b"", DecodeError::Empty),
        (b"\x7f", DecodeError::UnknownKind(0x7f)),
        (b"\x01\x05\x00ali", DecodeError::Fields { kind: 1, len: 6 }),
        (b"\x04\x00", DecodeError::Fields { kind: 4, len: 2 }),
        (
            b"\x01\x02\x00\xff\xfe",
            DecodeError::Fields { kind: 1, len: 5 },
        ),
    ];
    for (bytes, err) in cases {
        assert_eq!(Message::decode(&Bytes::copy_from_slice(bytes)), Err(err));
    }
    let mut big = Message::Chunk {
        id: 1,
        seq: 0,
        data: Bytes::new(),
    }
    .encode()
    .to_vec();
    big.resize(big.len() + MAX_CHUNK + 1, 0);
    assert_eq!(
        Message::decode(&Bytes::from(big)),
        Err(DecodeError::ChunkTooLarge {
            len: MAX_CHUNK + 1,
            max: MAX_CHUNK
        })
    );
}

#[test]
fn protocol_md_shows_the_wire_frame() {
    use proto_core::frame::WireBuf;
    use proto_core::message::{MessageBuilder, MessageFactory};

    let hello = Message::Hello {
        name: "alice".into(),
    }
    .encode();
    let mut payload = vec![0x00]; // the heartbeat layer's data byte
    payload.extend_from_slice(&hello);
    let mut wire = WireBuf::new();
    crate::server::binary_codec()
        .new_builder()
        .encode(Bytes::from(payload), &mut wire)
        .expect("encode");
    let block = format!("```text\n{}\n```", hex(&wire.to_vec()));
    assert!(
        include_str!("../../PROTOCOL.md").contains(&block),
        "{block}"
    );
}

#[test]
fn fuzz_seeds_decode_and_re_encode_the_same() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../fuzz/corpus/chat_decode");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).expect("the chat_decode seeds") {
        let bytes = Bytes::from(std::fs::read(entry.expect("entry").path()).expect("seed"));
        let message = Message::decode(&bytes).expect("every seed is a valid message");
        assert_eq!(message.encode(), bytes);
        seen += 1;
    }
    assert_eq!(seen, examples().len());
}
