//! File offers: refused by the receiver, refused by the server (unknown
//! name, a text-door user, over the size limit), then accepted with a
//! bare `/accept` and received intact — on smol.

mod common;

use common::{TestServer, TextUser, join, on_smol, until};
use proto_chat::client::{ChatClient, ClientOptions, Update};
use proto_chat::command::Command;
use proto_chat::config::Settings;
use proto_chat::protocol::Message;
use proto_smol::Smol;

fn failed_with(update: &Update, words: &str) -> bool {
    matches!(update, Update::TransferFailed { reason, .. } if reason.contains(words))
}

#[test]
fn offers_are_refused_or_accepted_and_delivered() {
    on_smol(async {
        let dir = std::env::temp_dir().join(format!("chat-offers-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        let small = dir.join("notes.txt");
        std::fs::write(&small, b"a small file\n".repeat(10_000)).expect("write");
        let big = dir.join("big.bin");
        std::fs::File::create(&big)
            .and_then(|f| f.set_len(2048))
            .expect("sparse file");

        let settings = Settings {
            max_file_size: 1024 * 1024,
            ..Settings::default()
        };
        let server = TestServer::start::<Smol>(settings).await;
        let alice = join::<Smol>(&server, "alice").await;
        let bob = common::within::<Smol, _>(
            common::DEADLINE,
            "bob",
            ChatClient::<Smol>::connect(
                server.binary,
                "bob",
                ClientOptions::default().downloads(dir.join("dl")),
            ),
        )
        .await
        .expect("bob joins");
        let _carol = TextUser::<Smol>::join(&server, "carol").await;

        // Refused by the server.
        alice.send_file("zed", &small).expect("offer");
        until(&alice, "unknown name", |u| {
            failed_with(u, "no user named \"zed\"")
        })
        .await;
        alice.send_file("carol", &small).expect("offer");
        until(&alice, "text door", |u| failed_with(u, "text door")).await;
        let over = dir.join("over.bin");
        std::fs::File::create(&over)
            .and_then(|f| f.set_len(1024 * 1024 + 1))
            .expect("sparse file");
        alice.send_file("bob", &over).expect("offer");
        until(&alice, "size limit", |u| {
            failed_with(u, "over the server's limit")
        })
        .await;

        // Refused by bob, with a bare /refuse.
        alice.send_file("bob", &big).expect("offer");
        until(&bob, "the offer", |u| {
            matches!(u, Update::Message(Message::OfferFrom { .. }))
        })
        .await;
        bob.command(&Command::Refuse(None)).expect("refuse");
        until(&alice, "bob's refusal", |u| {
            failed_with(u, "refused by the receiver")
        })
        .await;
        bob.command(&Command::Accept(None)).expect("accept nothing");
        until(&bob, "nothing to accept", |u| {
            failed_with(u, "no file offer is waiting")
        })
        .await;

        // Accepted with a bare /accept: delivered and verified.
        alice.send_file("bob", &small).expect("offer");
        until(&bob, "the offer", |u| {
            matches!(u, Update::Message(Message::OfferFrom { .. }))
        })
        .await;
        bob.command(&Command::Accept(None)).expect("accept");
        let got = until(&bob, "the file", |u| {
            matches!(u, Update::FileReceived { .. })
        })
        .await;
        let Some(Update::FileReceived { path, verified, .. }) = got.last() else {
            unreachable!("until returns the match last")
        };
        assert!(*verified);
        assert_eq!(
            std::fs::read(path).expect("saved"),
            std::fs::read(&small).expect("sent")
        );
        until(&alice, "sent", |u| matches!(u, Update::FileSent { .. })).await;

        server.stop::<Smol>().await;
        let _ = std::fs::remove_dir_all(&dir);
    });
}
