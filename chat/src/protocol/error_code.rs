//! [`ErrorCode`]: what kind of error a [`Message::Error`](super::Message::Error) reports.

use std::fmt;

/// The code of an error reply: one byte, open-ended (a code this version
/// does not know is kept as is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ErrorCode(pub u8);

impl ErrorCode {
    /// The message could not be decoded.
    pub const MALFORMED: Self = Self(1);
    /// `Hello` must come first (and only once).
    pub const HELLO_FIRST: Self = Self(2);
    /// The nickname is in use.
    pub const NAME_TAKEN: Self = Self(3);
    /// The nickname or room name is not allowed (1–32 letters, digits,
    /// `_` or `-`).
    pub const INVALID_NAME: Self = Self(4);
    /// No user of that name.
    pub const UNKNOWN_USER: Self = Self(5);
    /// A command the server does not know, or used wrongly.
    pub const BAD_COMMAND: Self = Self(6);
    /// A file transfer was refused or broke a rule.
    pub const TRANSFER: Self = Self(7);
    /// The server is full (sent before it closes the connection).
    pub const SERVER_FULL: Self = Self(8);
    /// Too many malformed messages (sent before it closes the connection).
    pub const TOO_MANY_ERRORS: Self = Self(9);
    /// The server is shutting down (sent to everyone before it closes).
    pub const SHUTDOWN: Self = Self(10);
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match *self {
            Self::MALFORMED => "malformed",
            Self::HELLO_FIRST => "hello first",
            Self::NAME_TAKEN => "name taken",
            Self::INVALID_NAME => "invalid name",
            Self::UNKNOWN_USER => "unknown user",
            Self::BAD_COMMAND => "bad command",
            Self::TRANSFER => "transfer",
            Self::SERVER_FULL => "server full",
            Self::TOO_MANY_ERRORS => "too many errors",
            Self::SHUTDOWN => "shutdown",
            Self(n) => return write!(f, "error {n}"),
        };
        f.write_str(name)
    }
}
