//! A small WebDriver client (W3C WebDriver over HTTP/1.1 and JSON) for
//! chromedriver: a headless Chromium session, navigation, elements, keys,
//! clicks, scripts and screenshots. Blocking, loopback only, every call
//! bounded by a read timeout.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// The key under which WebDriver names an element.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process, killed when dropped.
pub(crate) struct Driver {
    child: Child,
    addr: SocketAddr,
}

impl Driver {
    /// Starts `chromedriver` on a free loopback port and waits until it is
    /// ready.
    pub(crate) fn start(chromedriver: &str) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(chromedriver)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|err| panic!("cannot start {chromedriver}: {err}"));
        let driver = Self {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        };
        wait_for(Duration::from_secs(30), "chromedriver to be ready", || {
            driver
                .try_call("GET", "/status", None)
                .ok()
                .is_some_and(|v| v["value"]["ready"] == json!(true))
        });
        driver
    }

    /// A new headless Chromium session of the given window size.
    pub(crate) fn session(&self, chromium: &str, width: u32, height: u32) -> Session<'_> {
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": chromium,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         format!("--window-size={width},{height}")],
            },
        }}});
        let answer = self.call("POST", "/session", Some(capabilities));
        let id = answer["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {answer}"))
            .to_string();
        Session { driver: self, id }
    }

    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        let answer = self
            .try_call(method, path, body)
            .unwrap_or_else(|err| panic!("{method} {path}: {err}"));
        if answer["value"].get("error").is_some() {
            panic!("{method} {path}: {}", answer["value"]);
        }
        answer
    }

    /// One request on a connection of its own (`Connection: close`).
    fn try_call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let mut stream = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))
            .map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .map_err(|e| e.to_string())?;
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        );
        stream
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let body = read_answer(&mut stream)?;
        serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The body of an HTTP answer. chromedriver keeps the connection open
/// whatever the request says: read the head, then as many bytes as it
/// announces.
fn read_answer(stream: &mut TcpStream) -> Result<String, String> {
    let mut answer = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let mut more = |answer: &mut Vec<u8>| -> Result<(), String> {
        match stream.read(&mut buf).map_err(|e| e.to_string())? {
            0 => Err("connection closed inside the answer".into()),
            n => {
                answer.extend_from_slice(&buf[..n]);
                Ok(())
            }
        }
    };
    let head_end = loop {
        more(&mut answer)?;
        if let Some(end) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&answer[..head_end]).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse::<usize>().ok())
        .ok_or("no Content-Length")?;
    while answer.len() < head_end + length {
        more(&mut answer)?;
    }
    String::from_utf8(answer[head_end..head_end + length].to_vec()).map_err(|e| e.to_string())
}

/// A browser session, closed when dropped.
pub(crate) struct Session<'d> {
    driver: &'d Driver,
    id: String,
}

impl Session<'_> {
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Value {
        self.driver
            .call(method, &format!("/session/{}{path}", self.id), body)["value"]
            .take()
    }

    /// Opens `url`.
    pub(crate) fn go(&self, url: &str) {
        self.call("POST", "/url", Some(json!({"url": url})));
    }

    fn element(&self, css: &str) -> String {
        let found = self.call(
            "POST",
            "/element",
            Some(json!({"using": "css selector", "value": css})),
        );
        found[ELEMENT]
            .as_str()
            .unwrap_or_else(|| panic!("no element {css}: {found}"))
            .to_string()
    }

    /// Types `text` into the element `css`.
    pub(crate) fn type_into(&self, css: &str, text: &str) {
        let element = self.element(css);
        self.call(
            "POST",
            &format!("/element/{element}/value"),
            Some(json!({"text": text})),
        );
    }

    /// Clicks the element `css`.
    pub(crate) fn click(&self, css: &str) {
        let element = self.element(css);
        self.call(
            "POST",
            &format!("/element/{element}/click"),
            Some(json!({})),
        );
    }

    /// Runs `script` in the page and returns its value.
    pub(crate) fn script(&self, script: &str) -> Value {
        self.call(
            "POST",
            "/execute/sync",
            Some(json!({"script": script, "args": []})),
        )
    }

    /// The text of every element `css`, in order.
    pub(crate) fn texts(&self, css: &str) -> Vec<String> {
        let script = format!(
            "return Array.from(document.querySelectorAll({css:?})).map(e => e.textContent)"
        );
        serde_json::from_value(self.script(&script)).unwrap_or_default()
    }

    /// Waits until the texts of `css` satisfy `ok`; returns them.
    pub(crate) fn wait_texts(
        &self,
        css: &str,
        what: &str,
        ok: impl Fn(&[String]) -> bool,
    ) -> Vec<String> {
        let mut last = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            last = self.texts(css);
            if ok(&last) {
                return last;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out waiting for {what}; {css} holds {last:?}");
    }

    /// A PNG screenshot of the window.
    pub(crate) fn screenshot(&self) -> Vec<u8> {
        use base64::Engine as _;
        let png = self.call("GET", "/screenshot", None);
        base64::engine::general_purpose::STANDARD
            .decode(png.as_str().expect("a base64 screenshot"))
            .expect("valid base64")
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = self
            .driver
            .try_call("DELETE", &format!("/session/{}", self.id), None);
    }
}

/// Polls `ready` until it holds, for at most `limit`.
fn wait_for(limit: Duration, what: &str, mut ready: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !ready() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}
