//! The web door: the chat page (HTML and JavaScript embedded in the
//! binary, no build step, nothing fetched from elsewhere) at `/`, and its
//! WebSocket at `/ws`, which speaks the text door's lines, one per text
//! message (chat/PROTOCOL.md).

use std::net::IpAddr;

use bytes::Bytes;
use proto_core::ws::{MessageKind, Page, WebSocket};

use super::MAX_LINE;

/// The chat page.
pub const PAGE: &str = include_str!("web/index.html");

/// The WebSocket path the page connects to.
pub const WS_PATH: &str = "/ws";

/// The web door's codec: text messages of at most [`MAX_LINE`] bytes on
/// `/ws`, the page at `/` (and `/index.html`); anything else is a 404.
/// Browsers' upgrades are accepted from pages of `host` or `localhost`
/// (any port) only, so that another site open in the same browser cannot
/// talk to the chat as its user; clients without an `Origin` are let in.
pub fn web_codec(host: IpAddr) -> WebSocket {
    WebSocket::server()
        .origin_check(move |origin| origin.is_none_or(|origin| origin_is_local(origin, host)))
        .path(WS_PATH)
        .message_kind(MessageKind::Text)
        .max_message_size(MAX_LINE)
        .pages(|path| {
            matches!(path, "/" | "/index.html").then(|| Page {
                content_type: "text/html; charset=utf-8",
                body: Bytes::from_static(PAGE.as_bytes()),
            })
        })
}

/// Whether a browser's `Origin` is a page of `host` or `localhost`.
fn origin_is_local(origin: &str, host: IpAddr) -> bool {
    let Some(rest) = origin
        .strip_prefix("http://")
        .or_else(|| origin.strip_prefix("https://"))
    else {
        return false;
    };
    // `host[:port]`, an IPv6 host in brackets.
    let name = match rest.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => rest.split(':').next().unwrap_or_default(),
    };
    name == "localhost"
        || name
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip == host || (ip.is_loopback() && host.is_loopback()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lets_in_local_pages_only() {
        let host: IpAddr = [127, 0, 0, 1].into();
        for ok in [
            "http://127.0.0.1:7002",
            "http://localhost:7002",
            "http://localhost",
            "http://[::1]:80",
        ] {
            assert!(origin_is_local(ok, host), "{ok}");
        }
        for bad in [
            "http://evil.example",
            "null",
            "http://127.0.0.2.evil:1",
            "file://",
        ] {
            assert!(!origin_is_local(bad, host), "{bad}");
        }
    }
}
