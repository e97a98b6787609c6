//! The codec traits: what a resolver, a builder and a factory of both must
//! do, and the decode paths derived from [`MessageResolver::resolve`].
//!
//! They live beside the codecs that implement them, so that framing depends
//! on nothing above it; the `message` module re-exports them under the paths
//! users know (`proto_core::message::MessageResolver` and the rest).

use std::fmt::Debug;
use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

use super::{FrameError, WireBuf};

/// What [`MessageResolver::resolve`] found at the start of the buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// A whole frame: `src[frame]` is delivered to the application and
    /// `src[..consumed]` is removed from the buffer.
    ///
    /// Invariant: `frame.start <= frame.end <= consumed <= src.len()`.
    Frame {
        /// The bytes delivered, as a range of the resolved slice.
        frame: Range<usize>,
        /// How many bytes, from the start, this frame occupies on the wire.
        consumed: usize,
    },
    /// Drop this many bytes (at least one) and resolve again: used while
    /// skipping an oversized frame or a bad line.
    Discard(usize),
    /// More bytes are needed before anything can be said.
    Incomplete,
}

/// What a resolver asks its session to do, besides delivering frames
/// ([`MessageResolver::poll_action`]).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ResolverAction {
    /// Write these wire bytes, already encoded, after what is queued. They
    /// are queued outside the queue's limits, like a heartbeat's pong.
    Transmit(Bytes),
    /// Close gracefully once what is queued (a close reply among it) is
    /// written: `None` when the peer closed in order, `Some(error)` when it
    /// broke the protocol.
    Close(Option<FrameError>),
}

/// Finds whole frames in a byte stream (laster40Net's `IMessageResolver`).
///
/// Implementors write [`resolve`](Self::resolve); everything else is provided.
/// A resolver may keep state between calls (a cached header, a discard
/// count), relying on the caller to consume exactly what each answer says.
/// All provided methods and [`crate::frame::for_each_frame`] do.
pub trait MessageResolver {
    /// Looks at the bytes received so far and says where the next frame is.
    ///
    /// `src` always starts at the first byte not yet consumed. Errors say what
    /// was wrong with which value and which limit; see [`FrameError`] for
    /// which errors leave the resolver able to continue.
    fn resolve(&mut self, src: &[u8]) -> Result<Resolved, FrameError>;

    /// The decode contract: removes the next whole frame from `src` and
    /// returns it as a zero-copy slice of the buffer.
    ///
    /// `Ok(None)` means more bytes are needed; nothing but skipped bytes was
    /// consumed. A frame split across any number of calls, or many frames in
    /// one buffer, decode the same.
    ///
    /// Cost per frame: the resolver, plus one reference-count increment
    /// (and one decrement when the frame is dropped); no allocation once the
    /// buffer is shared.
    // Always inlined: the frame then goes from the buffer to the caller's
    // loop in registers; behind a call, the returned `Result` makes a round
    // trip through memory that costs as much as the rest of the decode.
    #[inline(always)]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        // A whole frame is the common answer: it stays inline in the
        // caller's loop; everything else is handled out of line.
        match self.resolve(src) {
            Ok(Resolved::Frame { frame, consumed }) => take_frame(src, frame, consumed),
            answer => decode_rest(self, src, answer),
        }
    }

    /// Like [`decode`](Self::decode), called once the peer has closed its
    /// side: bytes left over that do not make a frame are an error.
    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        match self.decode(src)? {
            Some(frame) => Ok(Some(frame)),
            None if src.is_empty() => Ok(None),
            None => Err(FrameError::Truncated {
                buffered: src.len(),
            }),
        }
    }

    /// What the resolver asks of its session besides frames, drained by
    /// the session after each read (and once when it is created) until
    /// `None`: bytes to write on its own (a handshake answer, a WebSocket
    /// pong or close reply) and a graceful close. Protocols whose frames
    /// carry no conversation of their own keep the default, `None`.
    fn poll_action(&mut self) -> Option<ResolverAction> {
        None
    }

    /// Drains every whole frame in `src` as owned [`Bytes`], stopping at the
    /// first error (which the iterator yields, then ends).
    fn frames<'a>(&'a mut self, src: &'a mut BytesMut) -> Frames<'a, Self>
    where
        Self: Sized,
    {
        Frames {
            resolver: self,
            src,
            done: false,
        }
    }
}

impl<R: MessageResolver + ?Sized> MessageResolver for &mut R {
    fn resolve(&mut self, src: &[u8]) -> Result<Resolved, FrameError> {
        (**self).resolve(src)
    }

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        (**self).decode(src)
    }

    fn poll_action(&mut self) -> Option<ResolverAction> {
        (**self).poll_action()
    }
}

impl<R: MessageResolver + ?Sized> MessageResolver for Box<R> {
    fn resolve(&mut self, src: &[u8]) -> Result<Resolved, FrameError> {
        (**self).resolve(src)
    }

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        (**self).decode(src)
    }

    fn poll_action(&mut self) -> Option<ResolverAction> {
        (**self).poll_action()
    }
}

/// Iterator returned by [`MessageResolver::frames`].
#[derive(Debug)]
pub struct Frames<'a, R> {
    resolver: &'a mut R,
    src: &'a mut BytesMut,
    done: bool,
}

impl<R: MessageResolver> Iterator for Frames<'_, R> {
    type Item = Result<Bytes, FrameError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.resolver.decode(self.src) {
            Ok(Some(frame)) => Some(Ok(frame)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// Turns payloads into wire bytes (laster40Net's `IMessageBuilder`).
///
/// Implementations append to a [`WireBuf`] without copying large payloads:
/// the header goes in as a slice, the payload as the caller's [`Bytes`].
pub trait MessageBuilder {
    /// Appends the wire form of `payload` to `dst`. On error nothing is
    /// appended.
    fn encode(&mut self, payload: Bytes, dst: &mut WireBuf) -> Result<(), FrameError>;

    /// Appends one frame whose payload is `head` followed by `payload` (the
    /// session uses it to put a kind byte before a message). The default
    /// copies both into one buffer; the built-in codecs write `head` next to
    /// the frame header and queue `payload` without copying it.
    fn encode_parts(
        &mut self,
        head: &[u8],
        payload: Bytes,
        dst: &mut WireBuf,
    ) -> Result<(), FrameError> {
        if head.is_empty() {
            return self.encode(payload, dst);
        }
        let mut joined = BytesMut::with_capacity(head.len() + payload.len());
        joined.extend_from_slice(head);
        joined.extend_from_slice(&payload);
        self.encode(joined.freeze(), dst)
    }

    /// Appends the frame the protocol sends when its session begins a
    /// graceful close (a WebSocket close frame: 1000, or 1001 when
    /// `going_away`, the server shutting down), if it has one. Called once
    /// per session; the default appends nothing.
    fn encode_goodbye(&mut self, going_away: bool, dst: &mut WireBuf) -> Result<(), FrameError> {
        let _ = (going_away, dst);
        Ok(())
    }
}

impl<B: MessageBuilder + ?Sized> MessageBuilder for &mut B {
    fn encode(&mut self, payload: Bytes, dst: &mut WireBuf) -> Result<(), FrameError> {
        (**self).encode(payload, dst)
    }

    fn encode_goodbye(&mut self, going_away: bool, dst: &mut WireBuf) -> Result<(), FrameError> {
        (**self).encode_goodbye(going_away, dst)
    }

    fn encode_parts(
        &mut self,
        head: &[u8],
        payload: Bytes,
        dst: &mut WireBuf,
    ) -> Result<(), FrameError> {
        (**self).encode_parts(head, payload, dst)
    }
}

impl<B: MessageBuilder + ?Sized> MessageBuilder for Box<B> {
    fn encode(&mut self, payload: Bytes, dst: &mut WireBuf) -> Result<(), FrameError> {
        (**self).encode(payload, dst)
    }

    fn encode_goodbye(&mut self, going_away: bool, dst: &mut WireBuf) -> Result<(), FrameError> {
        (**self).encode_goodbye(going_away, dst)
    }

    fn encode_parts(
        &mut self,
        head: &[u8],
        payload: Bytes,
        dst: &mut WireBuf,
    ) -> Result<(), FrameError> {
        (**self).encode_parts(head, payload, dst)
    }
}

/// Gives every session its own resolver and builder (laster40Net's
/// `IMessageFactory`). Shared by all sessions of a server, so it is `Send +
/// Sync`; the codecs it makes are owned by one session each.
///
/// The codecs are `Debug` (a session, and the hub's slot that holds it,
/// print their state), `Send` (a session may move between threads) and
/// `'static` (sessions outlive the call that opened them). These are all
/// the bounds the hub, the drivers and the adapters put on them, so a
/// custom codec that implements this trait works with `Server::bind` and
/// the rest.
///
/// ```
/// use std::time::Instant;
/// use proto_core::bytes::Bytes;
/// use proto_core::driver::AdmissionExt;
/// use proto_core::frame::{FrameError, WireBuf};
/// use proto_core::hub::{Hub, HubConfig};
/// use proto_core::message::{MessageBuilder, MessageFactory, MessageResolver, Resolved};
///
/// /// Frames are `[len: u8][body]`.
/// #[derive(Debug, Clone, Copy)]
/// struct Tiny;
///
/// impl MessageResolver for Tiny {
///     fn resolve(&mut self, src: &[u8]) -> Result<Resolved, FrameError> {
///         let Some(&len) = src.first() else { return Ok(Resolved::Incomplete) };
///         let total = 1 + usize::from(len);
///         if src.len() < total {
///             return Ok(Resolved::Incomplete);
///         }
///         Ok(Resolved::Frame { frame: 1..total, consumed: total })
///     }
/// }
///
/// impl MessageBuilder for Tiny {
///     fn encode(&mut self, payload: Bytes, dst: &mut WireBuf) -> Result<(), FrameError> {
///         let len = u8::try_from(payload.len()).map_err(|_| FrameError::malformed("over 255 bytes"))?;
///         dst.put_slice(&[len]);
///         dst.put_bytes(payload);
///         Ok(())
///     }
/// }
///
/// impl MessageFactory for Tiny {
///     type Resolver = Tiny;
///     type Builder = Tiny;
///     fn new_resolver(&self) -> Tiny { Tiny }
///     fn new_builder(&self) -> Tiny { Tiny }
/// }
///
/// // No further bounds to satisfy: a hub opens sessions with it.
/// let (hub, _events) = Hub::new(Tiny, HubConfig::default())?;
/// let conn = hub.admit("127.0.0.1:9000".parse().unwrap(), Instant::now()).unwrap().open(Instant::now());
/// assert_eq!(conn.id().get(), 1);
/// # Ok::<(), proto_core::session::ConfigError>(())
/// ```
///
/// A codec that is not `Debug` is refused where the factory is written,
/// not later where a server is bound:
///
/// ```compile_fail
/// # use proto_core::frame::{FrameError, LengthField, LengthFieldCodec};
/// # use proto_core::message::{MessageFactory, MessageResolver, Resolved};
/// struct Opaque; // no Debug
/// impl MessageResolver for Opaque {
///     fn resolve(&mut self, _: &[u8]) -> Result<Resolved, FrameError> {
///         Ok(Resolved::Incomplete)
///     }
/// }
/// struct Factory;
/// impl MessageFactory for Factory {
///     type Resolver = Opaque; // error: `Opaque` doesn't implement `Debug`
///     type Builder = LengthFieldCodec;
///     fn new_resolver(&self) -> Opaque { Opaque }
///     fn new_builder(&self) -> LengthFieldCodec { LengthField::default().new_codec() }
/// }
/// ```
pub trait MessageFactory: Send + Sync {
    /// The resolver type each session gets.
    type Resolver: MessageResolver + Debug + Send + 'static;
    /// The builder type each session gets.
    type Builder: MessageBuilder + Debug + Send + 'static;

    /// A fresh resolver, in its initial state.
    fn new_resolver(&self) -> Self::Resolver;
    /// A fresh builder.
    fn new_builder(&self) -> Self::Builder;

    /// A resolver and a builder for one connection, made together:
    /// sessions are made with this, so a protocol whose two halves share
    /// state can pair them (a WebSocket builder holds what is sent before
    /// the handshake completes, and its resolver releases it). The default
    /// makes the two independently.
    fn new_codec_pair(&self) -> (Self::Resolver, Self::Builder) {
        (self.new_resolver(), self.new_builder())
    }

    /// The wire length (header included) of the largest frame the
    /// resolvers accept, or `None` if there is no such bound (or it is not
    /// known). Sizes the send queue
    /// ([`SessionConfig::check`](crate::session::SessionConfig::check)):
    /// an application that echoes the largest frame needs that much room.
    fn max_frame_wire_len(&self) -> Option<usize> {
        None
    }
}

/// Cuts the frame a resolver found off the front of `src`.
#[inline(always)]
fn take_frame(
    src: &mut BytesMut,
    frame: Range<usize>,
    consumed: usize,
) -> Result<Option<Bytes>, FrameError> {
    check_frame(&frame, consumed, src.len())?;
    // Truncated as `BytesMut` and advanced as `Bytes`: both are inline
    // pointer arithmetic there (`BytesMut::advance` is an out-of-line call,
    // and `Bytes::truncate` may call one), which lets the frame stay in
    // registers instead of being moved through the stack.
    let mut wire = src.split_to(consumed);
    wire.truncate(frame.end);
    let mut wire = wire.freeze();
    wire.advance(frame.start);
    Ok(Some(wire))
}

/// The rest of [`MessageResolver::decode`] after a first answer that is not
/// a frame: errors, skipped bytes, and more bytes needed.
#[inline(never)]
fn decode_rest<R: MessageResolver + ?Sized>(
    resolver: &mut R,
    src: &mut BytesMut,
    mut answer: Result<Resolved, FrameError>,
) -> Result<Option<Bytes>, FrameError> {
    loop {
        match answer? {
            Resolved::Frame { frame, consumed } => return take_frame(src, frame, consumed),
            Resolved::Discard(n) => {
                check_discard(n, src.len())?;
                src.advance(n);
            }
            Resolved::Incomplete => return Ok(None),
        }
        answer = resolver.resolve(src);
    }
}

/// Checks a resolver's answer before the buffer is cut by it, so that a buggy
/// user resolver yields an error instead of a panic.
#[inline]
pub(crate) fn check_frame(
    frame: &Range<usize>,
    consumed: usize,
    available: usize,
) -> Result<(), FrameError> {
    if frame.start <= frame.end && frame.end <= consumed && consumed <= available && consumed > 0 {
        Ok(())
    } else {
        Err(FrameError::ResolverContract {
            detail: "Resolved::Frame must satisfy start <= end <= consumed <= available and consumed > 0",
        })
    }
}

/// Checks a [`Resolved::Discard`] answer (see [`check_frame`]).
#[inline]
pub(crate) fn check_discard(n: usize, available: usize) -> Result<(), FrameError> {
    if n > 0 && n <= available {
        Ok(())
    } else {
        Err(FrameError::ResolverContract {
            detail: "Resolved::Discard must drop at least one and at most the available bytes",
        })
    }
}
