//! The web door, on tokio and on smol: the page is served at `/`, and a
//! WebSocket user (speaking as the page does) shares rooms with a binary
//! client and a text user — messages both ways, `/pm`, presence, leaving.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{TestServer, TextUser, WebUser, join, joined, until_message};
use proto_chat::config::Settings;
use proto_chat::protocol::Message;
use proto_chat::server::PAGE;
use proto_core::driver::Runtime;

/// What a blocking `GET path` on the web door answers, whole.
fn http_get(addr: std::net::SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(addr).expect("connect to the web door");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").expect("request");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .expect("the answer, then the close");
    String::from_utf8(answer).expect("a text answer")
}

async fn three_doors<R: Runtime + Default>() {
    let server = TestServer::start::<R>(Settings::default()).await;
    let web = server.web.expect("the web door is open by default");

    let page = smol::unblock(move || http_get(web, "/")).await;
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{page}");
    assert!(page.ends_with(PAGE) && PAGE.contains("new WebSocket("));
    let missing = smol::unblock(move || http_get(web, "/nothing")).await;
    assert!(missing.starts_with("HTTP/1.1 404 "), "{missing}");

    let alice = join::<R>(&server, "alice").await;
    let mut bob = TextUser::<R>::join(&server, "bob").await;
    let mut carol = WebUser::<R>::join(&server, "carol").await;
    until_message(&alice, joined("lobby", "carol")).await;
    bob.until("carol's arrival", |l| l == "* carol joined lobby")
        .await;

    // Messages from each door reach the others.
    carol.send("hello from the browser");
    until_message(
        &alice,
        Message::Said {
            room: "lobby".into(),
            from: "carol".into(),
            text: "hello from the browser".into(),
        },
    )
    .await;
    bob.until("carol's words", |l| {
        l == "[lobby] carol: hello from the browser"
    })
    .await;
    alice.say("hi carol").expect("queued");
    carol
        .until("alice's words", |l| l == "[lobby] alice: hi carol")
        .await;
    bob.send("hey all");
    carol
        .until("bob's words", |l| l == "[lobby] bob: hey all")
        .await;

    // Private messages and presence.
    carol.send("/pm bob just you");
    bob.until("carol's pm", |l| l == "(pm from carol) just you")
        .await;
    carol.send("/who");
    carol
        .until("the member list", |l| {
            l.starts_with("* in lobby: ") && l.contains("alice") && l.contains("bob")
        })
        .await;

    // Rooms are shared across doors.
    carol.send("/join den");
    carol.until("the move", |l| l == "* carol joined den").await;
    bob.send("/join den");
    carol.until("bob in den", |l| l == "* bob joined den").await;
    bob.send("den talk");
    carol
        .until("den talk", |l| l == "[den] bob: den talk")
        .await;

    // A user leaving is seen.
    bob.send("/quit");
    bob.until_closed("bob's goodbye", |l| l == "* bye").await;
    carol
        .until("bob's departure", |l| l == "* bob left den")
        .await;
    carol.send("/leave");
    until_message(&alice, joined("lobby", "carol")).await;
    carol.send("/quit");
    carol.until_closed("the goodbye", |l| l == "* bye").await;
    until_message(
        &alice,
        Message::Left {
            room: "lobby".into(),
            name: "carol".into(),
        },
    )
    .await;
    server.stop::<R>().await;
}

common::on_both_runtimes!(web_user_talks_with_binary_and_text_users, three_doors);
