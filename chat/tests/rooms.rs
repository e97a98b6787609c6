//! Three binary clients and one text user in two rooms, on tokio and on
//! smol: announcements, room isolation, private messages, `/who` and
//! `/rooms`, leave and rejoin, nickname rules.

mod common;

use common::{TestServer, TextUser, join, until, until_message};
use proto_chat::client::{ChatClient, ClientOptions, JoinError, Update};
use proto_chat::config::Settings;
use proto_chat::protocol::{ErrorCode, Message};
use proto_core::driver::Runtime;

fn joined(room: &str, name: &str) -> Message {
    Message::Joined {
        room: room.into(),
        name: name.into(),
    }
}

fn left(room: &str, name: &str) -> Message {
    Message::Left {
        room: room.into(),
        name: name.into(),
    }
}

fn said(room: &str, from: &str, text: &str) -> Message {
    Message::Said {
        room: room.into(),
        from: from.into(),
        text: text.into(),
    }
}

fn mentions(updates: &[Update], needle: &str) -> bool {
    updates.iter().any(|u| format!("{u:?}").contains(needle))
}

async fn two_rooms<R: Runtime + Default>() {
    let server = TestServer::start::<R>(Settings::default()).await;

    // Announcements as each one arrives.
    let alice = join::<R>(&server, "alice").await;
    until_message(&alice, joined("lobby", "alice")).await;
    let bob = join::<R>(&server, "bob").await;
    until_message(&alice, joined("lobby", "bob")).await;
    let carol = join::<R>(&server, "carol").await;
    until_message(&bob, joined("lobby", "carol")).await;
    let mut dave = TextUser::<R>::join(&server, "dave").await;
    until_message(&carol, joined("lobby", "dave")).await;

    // A taken nickname (in any case) is refused with a clear error.
    let taken = ChatClient::<R>::connect(server.binary, "Alice", ClientOptions::default()).await;
    match taken {
        Err(JoinError::Refused { code, text }) => {
            assert_eq!(code, ErrorCode::NAME_TAKEN);
            assert!(text.contains("taken"), "{text}");
        }
        other => panic!("a taken nickname was not refused: {other:?}"),
    }

    // alice and bob move to "games"; the lobby hears them leave.
    alice
        .send(&Message::Join {
            room: "games".into(),
        })
        .expect("join");
    until_message(&alice, joined("games", "alice")).await;
    until_message(&carol, left("lobby", "alice")).await;
    dave.until("alice leaving", |l| l == "* alice left lobby")
        .await;
    bob.send(&Message::Join {
        room: "games".into(),
    })
    .expect("join");
    until_message(&alice, joined("games", "bob")).await;
    until_message(&carol, left("lobby", "bob")).await;

    // Room isolation: the lobby's line does not reach games, and games'
    // line does not reach the lobby. Each speaker waits for its own line
    // (the server has sent it to the room by then); the other room's
    // marker, sent after, must arrive without the line before it.
    carol.say("lobby secret").expect("say");
    until_message(&carol, said("lobby", "carol", "lobby secret")).await;
    dave.until("carol's line", |l| l == "[lobby] carol: lobby secret")
        .await;
    alice.say("games marker").expect("say");
    let at_bob = until_message(&bob, said("games", "alice", "games marker")).await;
    assert!(
        !mentions(&at_bob, "lobby secret"),
        "a lobby line reached games: {at_bob:?}"
    );
    dave.send("dave marker");
    let at_dave = dave
        .until("dave's own line", |l| l == "[lobby] dave: dave marker")
        .await;
    assert!(
        !at_dave.iter().any(|l| l.contains("games marker")),
        "a games line reached the lobby: {at_dave:?}"
    );
    let at_carol = until_message(&carol, said("lobby", "dave", "dave marker")).await;
    assert!(!mentions(&at_carol, "games marker"), "{at_carol:?}");

    // /who and /rooms, binary and text.
    alice.send(&Message::Who).expect("who");
    until_message(
        &alice,
        Message::Members {
            room: "games".into(),
            names: vec!["alice".into(), "bob".into()],
        },
    )
    .await;
    dave.send("/who");
    dave.until("/who", |l| l == "* in lobby: carol, dave").await;
    carol.send(&Message::ListRooms).expect("rooms");
    until_message(
        &carol,
        Message::Rooms {
            rooms: vec![("games".into(), 2), ("lobby".into(), 2)],
        },
    )
    .await;
    dave.send("/rooms");
    dave.until("/rooms", |l| l == "* rooms: games (2), lobby (2)")
        .await;

    // Private messages across doors and rooms; an unknown name is an error.
    dave.send("/pm alice hi from the text door");
    until_message(
        &alice,
        Message::PrivateFrom {
            from: "dave".into(),
            text: "hi from the text door".into(),
        },
    )
    .await;
    alice
        .send(&Message::Private {
            to: "dave".into(),
            text: "hi back".into(),
        })
        .expect("pm");
    dave.until("alice's pm", |l| l == "(pm from alice) hi back")
        .await;
    bob.send(&Message::Private {
        to: "zed".into(),
        text: "anyone?".into(),
    })
    .expect("pm");
    until(&bob, "the unknown-user error", |u| {
        matches!(u, Update::Message(Message::Error { code, text })
            if *code == ErrorCode::UNKNOWN_USER && text.contains("zed"))
    })
    .await;
    dave.send("/pm zed hello");
    dave.until("the unknown-user error", |l| {
        l.starts_with("! no user named \"zed\"")
    })
    .await;

    // Leave and rejoin.
    bob.send(&Message::Leave).expect("leave");
    until_message(&alice, left("games", "bob")).await;
    until_message(&carol, joined("lobby", "bob")).await;
    dave.until("bob back", |l| l == "* bob joined lobby").await;
    bob.send(&Message::Leave).expect("leave again");
    until(&bob, "already in the lobby", |u| {
        matches!(u, Update::Message(Message::Error { text, .. }) if text.contains("already in the lobby"))
    })
    .await;
    bob.send(&Message::Join {
        room: "games".into(),
    })
    .expect("rejoin");
    until_message(&alice, joined("games", "bob")).await;
    bob.say("back").expect("say");
    until_message(&alice, said("games", "bob", "back")).await;

    // The text door has no file transfer, and says so.
    dave.send("/send alice notes.txt");
    dave.until("the no-transfer notice", |l| {
        l.contains("file transfer needs the binary client")
    })
    .await;

    // Disconnects are announced to the room.
    carol.close().await;
    dave.until("carol leaving", |l| l == "* carol left lobby")
        .await;
    server.stop::<R>().await;
}

common::on_both_runtimes!(two_rooms, two_rooms);
