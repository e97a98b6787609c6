//! WebSocket (RFC 6455) as one more codec under the same sessions, hub,
//! limits and simulator: the opening handshake and the framing, as a
//! [`MessageResolver`](crate::frame::MessageResolver) ([`WsResolver`]) and a
//! [`MessageBuilder`](crate::frame::MessageBuilder) ([`WsBuilder`]) made by
//! a [`MessageFactory`] ([`WebSocket`]).
//! Sans-I/O like the rest of the crate: bytes in, frames and bytes out.
//!
//! ```
//! use std::time::Instant;
//! use proto_core::session::{Session, SessionConfig, SessionEvent};
//! use proto_core::ws::WebSocket;
//!
//! let now = Instant::now();
//! let mut server = Session::from_factory(&WebSocket::server(), SessionConfig::default(), now);
//! server.handle_input(
//!     b"GET /chat HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\n\
//!       Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
//!       Sec-WebSocket-Version: 13\r\n\r\n\
//!       \x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", // "Hello", masked (RFC 6455 §5.7)
//!     now,
//! );
//! assert_eq!(server.poll_event(), Some(SessionEvent::Opened));
//! assert_eq!(server.poll_event(), Some(SessionEvent::Message("Hello".into())));
//! let mut written = Vec::new();
//! server.transmit_chunks(&mut written); // the 101 answer, queued by the resolver
//! assert!(written.concat().starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
//! ```
//!
//! # How it fits the session
//!
//! A session holds a resolver (bytes → messages) and a builder (message →
//! bytes), and sends only what the application queues. WebSocket also
//! speaks on its own — the handshake answer, pongs, close replies — so the
//! resolver has one more output,
//! [`MessageResolver::poll_action`](crate::frame::MessageResolver::poll_action):
//! after every read (and
//! once at creation, for a client's request) the session drains it and
//! queues each [`ResolverAction::Transmit`](crate::frame::ResolverAction)
//! outside the queue's limits, like a heartbeat pong, and carries out a
//! [`ResolverAction::Close`](crate::frame::ResolverAction) as a graceful
//! close, so the close frame or HTTP error queued before it is written
//! first. Everything else (queue limits, back-pressure, deadlines, rate
//! limits, hub groups, broadcast) is the session's, unchanged.
//!
//! | resolver phase | input | output | next |
//! | --- | --- | --- | --- |
//! | handshake (server) | a whole GET with a valid Upgrade | transmit `101` | open |
//! | handshake (server) | a plain GET that [`WebSocket::pages`] answers | transmit the page, close | done |
//! | handshake (server) | anything else, or a head over `max_handshake_len` | transmit an HTTP error, close | done |
//! | handshake (client) | (at creation) | transmit the request | handshake |
//! | handshake (client) | a `101` whose accept key matches | — | open |
//! | handshake (client) | any other response | close | done |
//! | open | a data frame that ends a message | the message | open |
//! | open | a ping | transmit a pong with its payload | open |
//! | open | a pong | (nothing) | open |
//! | open | a close | transmit a close with its code, close (`RemoteClosed`) | done |
//! | open | a frame that breaks RFC 6455 | transmit a close with 1002, 1007 or 1009, close | done |
//! | open | the session closes gracefully (application, idle, shutdown) | the builder's goodbye: a close with 1000 (1001 at shutdown), then the TCP close | — |
//! | done | anything | ignored | done |
//!
//! The handshake happens inside the session, so the session (and the
//! application's `Opened`) starts at the TCP connection, before the
//! handshake. What the application sends before the handshake is done
//! waits in the builder (up to [`WebSocket::max_held_before_open`]; a
//! send past it is refused) and goes out right after the `101` (server)
//! or once the `101` arrived (client, as §4.1 requires): a session's
//! resolver and builder share that gate, being made together by
//! [`MessageFactory::new_codec_pair`].
//! A hub's broadcast frames do not pass the gate: add a session to groups
//! once it has spoken (its first message proves the handshake done).
//!
//! # Messages
//!
//! Messages are delivered whole (fragments reassembled) as [`Bytes`];
//! text messages are checked to be UTF-8, across fragments too. The
//! builder sends each payload as one final frame of the configured
//! [`MessageKind`]. A server's frames are not masked, so one encoded frame
//! is shared by every member of a broadcast; a client masks each frame
//! with a key drawn from a [`SplitMix64`] seeded by
//! [`WebSocket::mask_seed`] and the connection's number (the core reads no
//! system RNG: seed it from the OS for browsers' threat model, where masks
//! must be unpredictable to scripts).
//!
//! # Limits
//!
//! | limit | default | at the value | past it |
//! | --- | --- | --- | --- |
//! | `max_message_size` (whole message, fragments summed) | 1 MiB | delivered | close 1009, from the frame header, before its payload is buffered |
//! | `max_handshake_len` (request or response head) | 8 KiB | accepted | `431` (server) / refused (client) |
//! | control-frame payload (§5.5) | 125 bytes | accepted | close 1002 |
//! | length encoding (§5.2) | minimal | accepted | close 1002 |
//!
//! The borrowed decode path
//! ([`MessageResolver::resolve`](crate::frame::MessageResolver::resolve),
//! `for_each_frame`) cannot
//! unmask or reassemble, and answers [`WsError::BorrowedPath`]; sessions
//! use the owned path.

mod builder;
mod error;
mod gate;
mod handshake;
mod head;
mod resolver;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

pub use builder::WsBuilder;
pub use error::{WsError, close_code};
pub use handshake::accept_key;
pub use head::MAX_CONTROL_PAYLOAD;
pub use resolver::WsResolver;

use crate::frame::{DEFAULT_MAX_FRAME_LENGTH, MessageFactory};
use crate::rng::SplitMix64;
use gate::Gate;

/// Default `max_handshake_len`: 8 KiB.
pub const DEFAULT_MAX_HANDSHAKE_LEN: usize = 8 * 1024;

/// Default `max_held_before_open`: 64 KiB.
pub const DEFAULT_MAX_HELD_BEFORE_OPEN: usize = 64 * 1024;

/// How the builder sends messages.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum MessageKind {
    /// Binary frames (opcode 2), any payload.
    #[default]
    Binary,
    /// Text frames (opcode 1); a payload that is not UTF-8 is refused.
    Text,
}

/// A page a server answers a plain (non-upgrade) GET with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The `Content-Type` header.
    pub content_type: &'static str,
    /// The body.
    pub body: Bytes,
}

/// Which end of the connection a codec is.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Role {
    Server,
    Client { host: String, path: String },
}

type OriginCheck = Arc<dyn Fn(Option<&str>) -> bool + Send + Sync>;
type Pages = Arc<dyn Fn(&str) -> Option<Page> + Send + Sync>;

/// Configuration of WebSocket codecs, and their [`MessageFactory`]: one per
/// server (or client), a [`WsResolver`] and [`WsBuilder`] per connection.
#[derive(Clone)]
pub struct WebSocket {
    role: Role,
    max_message_size: usize,
    max_handshake_len: usize,
    max_held_before_open: usize,
    message_kind: MessageKind,
    protocols: Vec<String>,
    path: Option<String>,
    origin_check: Option<OriginCheck>,
    pages: Option<Pages>,
    mask_seed: u64,
    /// Connections made so far: each client gets its own mask stream.
    connections: Arc<AtomicU64>,
}

impl fmt::Debug for WebSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebSocket")
            .field("role", &self.role)
            .field("max_message_size", &self.max_message_size)
            .field("max_handshake_len", &self.max_handshake_len)
            .field("max_held_before_open", &self.max_held_before_open)
            .field("message_kind", &self.message_kind)
            .field("protocols", &self.protocols)
            .field("path", &self.path)
            .field("origin_check", &self.origin_check.is_some())
            .field("pages", &self.pages.is_some())
            .finish_non_exhaustive()
    }
}

impl WebSocket {
    fn new(role: Role) -> Self {
        Self {
            role,
            max_message_size: DEFAULT_MAX_FRAME_LENGTH,
            max_handshake_len: DEFAULT_MAX_HANDSHAKE_LEN,
            max_held_before_open: DEFAULT_MAX_HELD_BEFORE_OPEN,
            message_kind: MessageKind::Binary,
            protocols: Vec::new(),
            path: None,
            origin_check: None,
            pages: None,
            mask_seed: 0x5745_4253_4f43_4b45,
            connections: Arc::new(AtomicU64::new(0)),
        }
    }

    /// A server: answers the opening handshake, reads masked frames and
    /// sends unmasked ones.
    pub fn server() -> Self {
        Self::new(Role::Server)
    }

    /// A client that opens `ws://{host}{path}` (`host` as the `Host`
    /// header wants it, with the port): sends the opening handshake, reads
    /// unmasked frames and sends masked ones.
    pub fn client(host: impl Into<String>, path: impl Into<String>) -> Self {
        Self::new(Role::Client {
            host: host.into(),
            path: path.into(),
        })
    }

    /// Largest message delivered, in bytes, its fragments summed
    /// (default 1 MiB). Checked from each frame's header before its payload
    /// is buffered; a larger message closes the connection with 1009.
    pub fn max_message_size(mut self, max: usize) -> Self {
        self.max_message_size = max;
        self
    }

    /// Longest handshake head (request line or status line and headers),
    /// in bytes (default 8 KiB).
    pub fn max_handshake_len(mut self, max: usize) -> Self {
        self.max_handshake_len = max;
        self
    }

    /// Most bytes of frames a session may send before its opening
    /// handshake is done (default 64 KiB): they wait for the handshake,
    /// and a send past this is refused.
    pub fn max_held_before_open(mut self, max: usize) -> Self {
        self.max_held_before_open = max;
        self
    }

    /// How messages are sent (default [`MessageKind::Binary`]).
    pub fn message_kind(mut self, kind: MessageKind) -> Self {
        self.message_kind = kind;
        self
    }

    /// Subprotocols (`Sec-WebSocket-Protocol`): a server picks the first of
    /// these, in this order, that the client offers (none if it offers
    /// none of them); a client offers them all and refuses any other.
    pub fn protocols<I, S>(mut self, protocols: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.protocols = protocols.into_iter().map(Into::into).collect();
        self
    }

    /// The only path a server upgrades (any path by default); other paths
    /// are answered `404`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.path = Some(path.into());
        self
    }

    /// The origin check of a server: called with the request's `Origin`
    /// header (browsers always send one); `false` answers `403`.
    pub fn origin_check(
        mut self,
        check: impl Fn(Option<&str>) -> bool + Send + Sync + 'static,
    ) -> Self {
        self.origin_check = Some(Arc::new(check));
        self
    }

    /// Pages a server answers plain GETs with, by path (the query string
    /// removed); `None` answers `404`. The connection closes after the page.
    pub fn pages(mut self, pages: impl Fn(&str) -> Option<Page> + Send + Sync + 'static) -> Self {
        self.pages = Some(Arc::new(pages));
        self
    }

    /// Seed of a client's masking keys and handshake nonces; each
    /// connection draws from its own stream of it.
    pub fn mask_seed(mut self, seed: u64) -> Self {
        self.mask_seed = seed;
        self
    }

    /// A resolver and a builder for one connection, paired as a
    /// session's are ([`MessageFactory::new_codec_pair`]).
    pub fn new_codec(&self) -> (WsResolver, WsBuilder) {
        self.new_codec_pair()
    }

    /// A mask stream of its own for each codec made (a server's builder
    /// draws nothing from it).
    fn next_rng(&self) -> SplitMix64 {
        let n = self.connections.fetch_add(1, Ordering::Relaxed);
        SplitMix64::new(self.mask_seed ^ n.wrapping_mul(0x9e37_79b9_7f4a_7c15))
    }

    fn is_client(&self) -> bool {
        matches!(self.role, Role::Client { .. })
    }
}

impl MessageFactory for WebSocket {
    type Resolver = WsResolver;
    type Builder = WsBuilder;

    /// A resolver alone (it holds back no frames of a builder).
    fn new_resolver(&self) -> WsResolver {
        WsResolver::new(self.clone(), self.next_rng(), None)
    }

    /// A builder alone, as a hub's broadcast encoder: it writes every
    /// frame at once.
    fn new_builder(&self) -> WsBuilder {
        WsBuilder::new(
            self.message_kind,
            self.is_client().then(|| self.next_rng()),
            None,
        )
    }

    /// A session's pair: the builder holds what is sent before the
    /// handshake is done, and the resolver lets it out after.
    fn new_codec_pair(&self) -> (WsResolver, WsBuilder) {
        let gate = Gate::default();
        let resolver = WsResolver::new(self.clone(), self.next_rng(), Some(gate.clone()));
        let masks = self.is_client().then(|| self.next_rng());
        let builder = WsBuilder::new(
            self.message_kind,
            masks,
            Some((gate, self.max_held_before_open)),
        );
        (resolver, builder)
    }

    /// `max_message_size` plus the longest frame header (14 bytes): the
    /// builder sends a message as one frame.
    fn max_frame_wire_len(&self) -> Option<usize> {
        self.max_message_size.checked_add(head::MAX_HEAD_LEN)
    }
}

/// Four bytes of a mask stream.
fn next_mask(rng: &mut SplitMix64) -> [u8; 4] {
    let [a, b, c, d, ..] = rng.next_u64().to_le_bytes();
    [a, b, c, d]
}
