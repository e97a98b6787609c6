//! The opening handshake of RFC 6455 §4: a server's answer to an HTTP/1.1
//! Upgrade request, and a client's request and its check of the answer.
//! Parsed with `httparse`; the accept key is SHA-1 (`sha1_smol`) in base64
//! (`base64`), as §4.2.2 defines it.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::Bytes;

use super::{Page, WebSocket, WsError};

/// The GUID of §1.3 that every accept key is derived with.
const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// Most headers a handshake may carry; more is refused with 431.
const MAX_HEADERS: usize = 32;

/// The `Sec-WebSocket-Accept` value for a `Sec-WebSocket-Key` (§4.2.2:
/// base64 of the SHA-1 of the key and the GUID).
///
/// ```
/// // The example of RFC 6455 §1.3.
/// assert_eq!(
///     proto_core::ws::accept_key("dGhlIHNhbXBsZSBub25jZQ=="),
///     "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
/// );
/// ```
pub fn accept_key(key: &str) -> String {
    let mut sha1 = sha1_smol::Sha1::new();
    sha1.update(key.as_bytes());
    sha1.update(GUID.as_bytes());
    BASE64.encode(sha1.digest().bytes())
}

/// A server's answer to a whole request head.
#[derive(Debug)]
pub(crate) enum Answer {
    /// `101 Switching Protocols`: frames follow.
    Upgrade {
        response: Bytes,
        protocol: Option<String>,
    },
    /// A page for a plain GET; the connection closes after it.
    Page { response: Bytes, status: u16 },
    /// An HTTP error; the connection closes after it.
    Refused { response: Bytes, error: WsError },
}

/// Answers the request head at the start of `src`: `None` while it is
/// incomplete (and within `max_handshake_len`), else how many bytes it took
/// and the answer.
pub(crate) fn answer_request(src: &[u8], config: &WebSocket) -> Option<(usize, Answer)> {
    let max = config.max_handshake_len;
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut request = httparse::Request::new(&mut headers);
    // Only the first `max` bytes are parsed, so that which fault is found
    // (a bad byte, or a head too long) does not depend on the reads.
    let consumed = match request.parse(&src[..src.len().min(max)]) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if src.len() <= max => return None,
        Ok(httparse::Status::Partial) => return Some((src.len(), too_long(max))),
        Err(httparse::Error::TooManyHeaders) => {
            return Some((
                src.len(),
                refuse(431, format!("more than {MAX_HEADERS} headers")),
            ));
        }
        Err(err) => return Some((src.len(), refuse(400, format!("bad request head: {err}")))),
    };
    let headers = Headers(request.headers);
    Some((consumed, answer(&request, &headers, config)))
}

fn answer(
    request: &httparse::Request<'_, '_>,
    headers: &Headers<'_, '_>,
    config: &WebSocket,
) -> Answer {
    if request.method != Some("GET") {
        return refuse(405, "only GET opens a WebSocket or fetches a page");
    }
    if request.version != Some(1) {
        return refuse(400, "HTTP/1.1 is required");
    }
    let path = request.path.unwrap_or("/");
    let route = path.split('?').next().unwrap_or(path);
    if !headers.has_token("upgrade", "websocket") {
        return match config.pages.as_ref().and_then(|pages| pages(route)) {
            Some(page) => serve(&page),
            None => refuse(404, format!("no page at {route}")),
        };
    }
    if config.path.as_deref().is_some_and(|want| want != route) {
        return refuse(404, format!("no WebSocket endpoint at {route}"));
    }
    if !headers.has_token("connection", "upgrade") {
        return refuse(400, "Connection header without the Upgrade token");
    }
    if headers.get("host").is_none() {
        return refuse(400, "no Host header");
    }
    if headers.get("sec-websocket-version").map(str::trim) != Some("13") {
        return refuse(426, "Sec-WebSocket-Version must be 13");
    }
    let Some(key) = headers.get("sec-websocket-key").map(str::trim) else {
        return refuse(400, "no Sec-WebSocket-Key header");
    };
    if BASE64.decode(key).map(|nonce| nonce.len()) != Ok(16) {
        return refuse(400, "Sec-WebSocket-Key is not 16 bytes in base64");
    }
    if let Some(check) = &config.origin_check {
        if !check(headers.get("origin")) {
            return refuse(403, "origin not allowed");
        }
    }
    // Our first protocol, in our order of preference, that the client offers.
    let protocol = config
        .protocols
        .iter()
        .find(|ours| headers.has_token("sec-websocket-protocol", ours))
        .cloned();
    let mut response = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n",
        accept_key(key)
    );
    if let Some(protocol) = &protocol {
        let _ = write!(response, "Sec-WebSocket-Protocol: {protocol}\r\n");
    }
    response.push_str("\r\n");
    Answer::Upgrade {
        response: Bytes::from(response),
        protocol,
    }
}

fn too_long(max: usize) -> Answer {
    let error = WsError::HandshakeTooLong { max };
    Answer::Refused {
        response: http_error(431, &error.to_string()),
        error,
    }
}

fn refuse(status: u16, detail: impl Into<std::borrow::Cow<'static, str>>) -> Answer {
    let error = WsError::refused(status, detail);
    let detail = match &error {
        WsError::HandshakeRefused { detail, .. } => detail.to_string(),
        other => other.to_string(),
    };
    Answer::Refused {
        response: http_error(status, &detail),
        error,
    }
}

fn serve(page: &Page) -> Answer {
    let mut response = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: {}\r\nContent-Length: {}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n",
        page.content_type,
        page.body.len()
    )
    .into_bytes();
    response.extend_from_slice(&page.body);
    Answer::Page {
        response: Bytes::from(response),
        status: 200,
    }
}

/// A plain-text HTTP error response that closes the connection.
fn http_error(status: u16, detail: &str) -> Bytes {
    let reason = match status {
        400 => "Bad Request",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        426 => "Upgrade Required",
        431 => "Request Header Fields Too Large",
        _ => "Error",
    };
    let version = if status == 426 {
        "Sec-WebSocket-Version: 13\r\n"
    } else {
        ""
    };
    Bytes::from(format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\n{version}Connection: close\r\n\r\n{detail}\n",
        detail.len() + 1
    ))
}

/// A client's request head (§4.1) with its `Sec-WebSocket-Key`.
pub(crate) fn client_request(host: &str, path: &str, key: &str, config: &WebSocket) -> Bytes {
    let mut request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
    );
    if !config.protocols.is_empty() {
        let _ = write!(
            request,
            "Sec-WebSocket-Protocol: {}\r\n",
            config.protocols.join(", ")
        );
    }
    request.push_str("\r\n");
    Bytes::from(request)
}

/// Checks the server's response head at the start of `src` (§4.1, the
/// client's checks): `Ok(None)` while incomplete, else the bytes it took
/// and the protocol the server chose.
pub(crate) fn check_response(
    src: &[u8],
    key: &str,
    config: &WebSocket,
) -> Result<Option<(usize, Option<String>)>, WsError> {
    let max = config.max_handshake_len;
    let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut headers);
    let bad = |detail: String| WsError::BadHandshakeResponse(detail.into());
    // As in `answer_request`: the first `max` bytes only.
    let consumed = match response.parse(&src[..src.len().min(max)]) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if src.len() <= max => return Ok(None),
        Ok(httparse::Status::Partial) => return Err(WsError::HandshakeTooLong { max }),
        Err(err) => return Err(bad(format!("bad response head: {err}"))),
    };
    if response.code != Some(101) {
        return Err(bad(format!("status {:?}, expected 101", response.code)));
    }
    let headers = Headers(response.headers);
    if !headers.has_token("upgrade", "websocket") || !headers.has_token("connection", "upgrade") {
        return Err(bad("no Upgrade: websocket and Connection: Upgrade".into()));
    }
    if headers.get("sec-websocket-accept").map(str::trim) != Some(accept_key(key).as_str()) {
        return Err(bad("Sec-WebSocket-Accept does not match our key".into()));
    }
    let protocol = headers
        .get("sec-websocket-protocol")
        .map(|p| p.trim().to_owned());
    if protocol
        .as_ref()
        .is_some_and(|p| !config.protocols.contains(p))
    {
        return Err(bad("server chose a subprotocol we did not offer".into()));
    }
    Ok(Some((consumed, protocol)))
}

/// The headers of a parsed head, looked up by case-insensitive name.
struct Headers<'a, 'b>(&'a [httparse::Header<'b>]);

impl Headers<'_, '_> {
    /// The first value of `name` that is valid UTF-8.
    fn get<'a>(&'a self, name: &'a str) -> Option<&'a str> {
        self.values(name).next()
    }

    fn values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |h| h.name.eq_ignore_ascii_case(name))
            .filter_map(|h| std::str::from_utf8(h.value).ok())
    }

    /// Whether any `name` header lists `token` (comma-separated, any case).
    fn has_token(&self, name: &str, token: &str) -> bool {
        self.values(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }
}
