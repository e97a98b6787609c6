//! The traits a user implements for their own protocol.
//!
//! They are the Rust form of laster40Net's `IMessageResolver`,
//! `IMessageBuilder` and `IMessageFactory`:
//!
//! | laster40Net | here | job |
//! | --- | --- | --- |
//! | `IMessageResolver` | [`MessageResolver`] | find whole frames in received bytes |
//! | `IMessageBuilder` | [`MessageBuilder`] | turn a payload into wire bytes |
//! | `IMessageFactory` | [`MessageFactory`] | give each session its own resolver and builder |
//!
//! A resolver is written as a pure slice parser, [`MessageResolver::resolve`]:
//! given the bytes received so far, say where the next frame is. The owned
//! decode contract ([`MessageResolver::decode`]), the drain iterator
//! ([`MessageResolver::frames`]) and the borrowed fast path
//! ([`crate::frame::for_each_frame`]) are all built on that one method, so a
//! protocol gets all three by writing one parser.
//!
//! ```
//! use bytes::{Bytes, BytesMut};
//! use proto_core::frame::FrameError;
//! use proto_core::message::{MessageResolver, Resolved};
//!
//! /// Frames are `[kind: u8][len: u8][body]`; the frame is delivered whole.
//! struct TinyTlv;
//!
//! impl MessageResolver for TinyTlv {
//!     fn resolve(&mut self, src: &[u8]) -> Result<Resolved, FrameError> {
//!         let Some(&len) = src.get(1) else { return Ok(Resolved::Incomplete) };
//!         let total = 2 + usize::from(len);
//!         if src.len() < total {
//!             return Ok(Resolved::Incomplete);
//!         }
//!         if src[0] == 0 {
//!             return Err(FrameError::malformed("kind 0 is reserved"));
//!         }
//!         Ok(Resolved::Frame { frame: 0..total, consumed: total })
//!     }
//! }
//!
//! let mut buf = BytesMut::from(&b"\x01\x02hi\x07\x00"[..]);
//! let frames: Vec<Bytes> = TinyTlv.frames(&mut buf).collect::<Result<_, _>>()?;
//! assert_eq!(frames, [&b"\x01\x02hi"[..], &b"\x07\x00"[..]]);
//! # Ok::<(), FrameError>(())
//! ```
//!
//! The traits are defined beside the built-in codecs, in [`crate::frame`],
//! and re-exported here.

pub use crate::frame::{
    Frames, MessageBuilder, MessageFactory, MessageResolver, Resolved, ResolverAction,
};
