//! [`WsError`]: what was wrong with a WebSocket handshake or frame, and
//! the close codes of RFC 6455 §7.4.

use std::borrow::Cow;

/// Close codes (RFC 6455 §7.4.1) that this codec sends.
pub mod close_code {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// The endpoint is going away (server shutdown, page left).
    pub const GOING_AWAY: u16 = 1001;
    /// The peer broke the protocol.
    pub const PROTOCOL_ERROR: u16 = 1002;
    /// A text message was not valid UTF-8.
    pub const INVALID_PAYLOAD: u16 = 1007;
    /// A message was larger than `max_message_size`.
    pub const MESSAGE_TOO_BIG: u16 = 1009;

    /// Whether a peer may send `code` in a close frame (§7.4: 1000–1003,
    /// 1007–1011 and 3000–4999; 1004–1006 and 1015 are never sent).
    pub fn is_sendable(code: u16) -> bool {
        matches!(code, 1000..=1003 | 1007..=1011 | 3000..=4999)
    }
}

/// What was wrong with a WebSocket opening handshake or frame, with the
/// HTTP status or close code the peer was answered with.
///
/// Every one of them ends the connection: the codec answers (an HTTP error
/// response, or a close frame with the code), asks its session to close
/// gracefully ([`ResolverAction::Close`](crate::frame::ResolverAction)),
/// and ignores what the peer sends after it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WsError {
    /// A server refused the opening handshake and answered with `status`.
    #[error("opening handshake refused with HTTP {status}: {detail}")]
    HandshakeRefused {
        /// The HTTP status sent back (400, 403, 404, 405, 426, 431).
        status: u16,
        /// What was wrong.
        detail: Cow<'static, str>,
    },
    /// A client rejected the server's handshake response.
    #[error("server's handshake response rejected: {0}")]
    BadHandshakeResponse(Cow<'static, str>),
    /// The request or response head is longer than `max_handshake_len`
    /// (noticed as soon as `max + 1` bytes hold no end of head, so how
    /// much longer is not known).
    #[error("handshake head longer than max_handshake_len {max}")]
    HandshakeTooLong {
        /// The configured `max_handshake_len`.
        max: usize,
    },
    /// The non-upgrade HTTP request was answered with a page, and the
    /// connection closes after it (not a fault of the peer).
    #[error("served an HTTP page with status {status}")]
    Served {
        /// The page's status.
        status: u16,
    },
    /// A frame broke RFC 6455 (closed with 1002 unless said otherwise).
    #[error("protocol error (close {code}): {detail}")]
    Protocol {
        /// The close code sent to the peer.
        code: u16,
        /// Which rule was broken.
        detail: &'static str,
    },
    /// A text message is not valid UTF-8 (closed with 1007).
    #[error("text message is not valid UTF-8 (close 1007)")]
    InvalidUtf8,
    /// A payload to send as text is not valid UTF-8 (nothing was written).
    #[error("payload to send as a text message is not valid UTF-8")]
    InvalidUtf8ToSend,
    /// Sends made before the opening handshake completed are held until
    /// it does; this one would hold more than `max_held_before_open`
    /// (nothing was queued).
    #[error("{length} bytes would wait for the handshake, over max_held_before_open {max}")]
    TooMuchBeforeOpen {
        /// Bytes that would be held with this frame.
        length: usize,
        /// The configured `max_held_before_open`.
        max: usize,
    },
    /// [`MessageResolver::resolve`](crate::frame::MessageResolver::resolve),
    /// the borrowed path, was used: WebSocket payloads are unmasked and
    /// reassembled in place, which only the owned `decode` path can do.
    #[error(
        "WebSocket frames are decoded on the owned path only (decode, FrameReader::next_frame)"
    )]
    BorrowedPath,
}

impl WsError {
    /// A protocol error closed with 1002.
    pub(crate) fn protocol(detail: &'static str) -> Self {
        Self::Protocol {
            code: close_code::PROTOCOL_ERROR,
            detail,
        }
    }

    /// A handshake refused with `status`.
    pub(crate) fn refused(status: u16, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::HandshakeRefused {
            status,
            detail: detail.into(),
        }
    }

    /// The close code a frame error is answered with (`None` for handshake
    /// errors, which are answered in HTTP or not at all).
    pub fn close_code(&self) -> Option<u16> {
        match self {
            Self::Protocol { code, .. } => Some(*code),
            Self::InvalidUtf8 => Some(close_code::INVALID_PAYLOAD),
            _ => None,
        }
    }
}
