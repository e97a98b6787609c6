//! The chat page in a real browser: headless Chromium, driven through
//! chromedriver's WebDriver API, joins the lobby on the web door, talks
//! with a binary client and a text (`nc`) user, sends a `/pm`, sees who is
//! there, and sees a user leave.
//!
//! Needs `chromium` and `chromedriver` (Debian: `chromium`,
//! `chromium-driver`; `.ci/run` installs them). Without them the test says
//! so on stderr and passes — unless `PROTO_REQUIRE_BROWSER` is set (CI sets
//! it), when it fails. `PROTO_SCREENSHOT=FILE` saves a screenshot of the
//! page at the end (the README's).

mod common;
#[path = "browser/webdriver.rs"]
mod webdriver;

use std::path::Path;

use common::{TestServer, TextUser, join, joined, on_tokio, until_message};
use proto_chat::config::Settings;
use proto_chat::protocol::Message;
use proto_tokio::Tokio;
use webdriver::Driver;

/// The first of `names` that exists as a file or on the `PATH`.
fn find(names: &[&str]) -> Option<String> {
    names.iter().find_map(|name| {
        if Path::new(name).is_absolute() {
            return Path::new(name).is_file().then(|| name.to_string());
        }
        std::env::var_os("PATH").and_then(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join(name))
                .find(|p| p.is_file())
                .map(|p| p.to_string_lossy().into_owned())
        })
    })
}

fn said(from: &str, text: &str) -> Message {
    Message::Said {
        room: "lobby".into(),
        from: from.into(),
        text: text.into(),
    }
}

#[test]
fn chromium_chats_with_binary_and_text_users() {
    let browser = (
        find(&["chromium", "chromium-browser", "google-chrome"]),
        find(&["chromedriver"]),
    );
    let (Some(chromium), Some(chromedriver)) = browser else {
        let required = std::env::var_os("PROTO_REQUIRE_BROWSER").is_some();
        let message = "chromium_chats_with_binary_and_text_users: SKIPPED, no chromium and chromedriver on the PATH \
                       (apt-get install chromium chromium-driver)";
        assert!(!required, "{message}, and PROTO_REQUIRE_BROWSER is set");
        eprintln!("{message}");
        return;
    };
    on_tokio(async move {
        let server = TestServer::start::<Tokio>(Settings::default()).await;
        let web = server.web.expect("the web door is open");
        let alice = join::<Tokio>(&server, "alice").await;
        let mut bob = TextUser::<Tokio>::join(&server, "bob").await;

        // The browser, on a thread of its own (WebDriver calls block),
        // joins as dora and then does what the test asks, step by step.
        let (script_tx, script_rx) = std::sync::mpsc::channel::<Step>();
        let (done_tx, done_rx) = smol::channel::unbounded::<Vec<String>>();
        let page = format!("http://{web}/");
        let browser = std::thread::spawn(move || {
            let driver = Driver::start(&chromedriver);
            let session = driver.session(&chromium, 1000, 640);
            session.go(&page);
            session.type_into("#nick", "dora");
            session.click("#connect");
            for step in script_rx {
                let seen = match step {
                    Step::Say(text) => {
                        session.type_into("#input", &text);
                        session.click("#send");
                        Vec::new()
                    }
                    Step::WaitLine(start) => session.wait_texts("#log .line", &start, |l| {
                        l.iter().any(|l| l.starts_with(&start))
                    }),
                    Step::WaitMembers(want) => {
                        session.wait_texts("#members li", "the member list", |m| {
                            let mut m = m.to_vec();
                            m.sort();
                            m == want
                        })
                    }
                    Step::Screenshot(path) => {
                        std::fs::write(&path, session.screenshot()).expect("write the screenshot");
                        Vec::new()
                    }
                };
                done_tx.send_blocking(seen).expect("the test listens");
            }
        });
        let step = |s: Step| {
            script_tx.send(s).expect("the browser thread runs");
            let done = done_rx.clone();
            async move { done.recv().await.expect("the browser thread answers") }
        };

        step(Step::WaitLine("* welcome, dora! you are session ".into())).await;
        until_message(&alice, joined("lobby", "dora")).await;
        bob.until("dora's arrival", |l| l == "* dora joined lobby")
            .await;
        step(Step::WaitMembers(vec![
            "alice".into(),
            "bob".into(),
            "dora".into(),
        ]))
        .await;

        step(Step::Say("hello from chromium".into())).await;
        until_message(&alice, said("dora", "hello from chromium")).await;
        bob.until("dora's words", |l| l == "[lobby] dora: hello from chromium")
            .await;

        alice.say("hi dora, binary here").expect("queued");
        step(Step::WaitLine("[lobby] alice: hi dora, binary here".into())).await;
        bob.send("and nc here");
        step(Step::WaitLine("[lobby] bob: and nc here".into())).await;

        step(Step::Say("/pm bob just between us".into())).await;
        bob.until("dora's pm", |l| l == "(pm from dora) just between us")
            .await;

        if let Some(path) = std::env::var_os("PROTO_SCREENSHOT") {
            step(Step::Screenshot(path.into())).await;
        }

        bob.send("/quit");
        bob.until_closed("bob's goodbye", |l| l == "* bye").await;
        step(Step::WaitLine("* bob left lobby".into())).await;
        step(Step::WaitMembers(vec!["alice".into(), "dora".into()])).await;

        drop(script_tx);
        browser.join().expect("the browser thread ends cleanly");
        server.stop::<Tokio>().await;
    });
}

/// What the browser thread does next.
enum Step {
    Say(String),
    /// Until a line of the log starts with this.
    WaitLine(String),
    WaitMembers(Vec<String>),
    Screenshot(std::path::PathBuf),
}
