//! [`WsResolver`]: the opening handshake, then frames into messages, with
//! the codec's own answers (pongs, close replies) handed to the session as
//! [`ResolverAction`]s. The phase table is in the [module docs](super).

use std::collections::VecDeque;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use bytes::{Buf, Bytes, BytesMut};

use super::gate::Gate;
use super::handshake::{self, Answer};
use super::head::{self, Head, Opcode};
use super::{Role, WebSocket, WsError, close_code, next_mask};
use crate::frame::{FrameError, MessageResolver, Resolved, ResolverAction};
use crate::rng::SplitMix64;

/// Where the connection is (the module docs' table).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Phase {
    /// Server: waiting for the request. Client: waiting for the answer to
    /// the request keyed `key`.
    Handshake {
        key: Option<String>,
    },
    Open,
    /// Closed or failed: everything received is dropped.
    Done,
}

/// A message being reassembled from fragments.
#[derive(Debug, Default)]
struct Partial {
    /// The kind of the message under way, if one is.
    kind: Option<Opcode>,
    bytes: BytesMut,
    /// Bytes at the start of `bytes` known to be valid UTF-8 (text only).
    utf8_checked: usize,
}

/// The WebSocket resolver of one connection: see the [module docs](super)
/// for its phases and limits. Decodes on the owned path only
/// ([`MessageResolver::decode`], as sessions do).
#[derive(Debug)]
pub struct WsResolver {
    config: WebSocket,
    phase: Phase,
    partial: Partial,
    actions: VecDeque<ResolverAction>,
    /// A client's mask stream (its pongs and close replies are masked).
    masks: Option<SplitMix64>,
    protocol: Option<String>,
    /// Shared with the builder, which holds what is sent before the
    /// handshake is done.
    gate: Option<Gate>,
    pings: u64,
    pongs: u64,
}

/// One step of [`WsResolver::decode_open`].
enum Step {
    Message(Bytes),
    /// A control frame was handled; decode on.
    Again,
}

impl WsResolver {
    pub(super) fn new(config: WebSocket, mut rng: SplitMix64, gate: Option<Gate>) -> Self {
        let mut actions = VecDeque::new();
        let (phase, masks) = match &config.role {
            Role::Server => (Phase::Handshake { key: None }, None),
            Role::Client { host, path } => {
                let mut nonce = [0; 16];
                nonce[..8].copy_from_slice(&rng.next_u64().to_le_bytes());
                nonce[8..].copy_from_slice(&rng.next_u64().to_le_bytes());
                let key = BASE64.encode(nonce);
                actions.push_back(ResolverAction::Transmit(handshake::client_request(
                    host, path, &key, &config,
                )));
                (Phase::Handshake { key: Some(key) }, Some(rng))
            }
        };
        Self {
            config,
            phase,
            partial: Partial::default(),
            actions,
            masks,
            protocol: None,
            gate,
            pings: 0,
            pongs: 0,
        }
    }

    /// Whether the handshake is done and frames flow.
    pub fn is_open(&self) -> bool {
        self.phase == Phase::Open
    }

    /// The subprotocol agreed in the handshake, if any.
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }

    /// Pings answered and pongs received so far.
    pub fn pings_and_pongs(&self) -> (u64, u64) {
        (self.pings, self.pongs)
    }

    /// Handles the handshake phase; returns whether to decode on.
    fn decode_handshake(&mut self, src: &mut BytesMut) -> bool {
        let Phase::Handshake { key } = &self.phase else {
            return true;
        };
        match key {
            None => match handshake::answer_request(src, &self.config) {
                None => false,
                Some((consumed, answer)) => {
                    src.advance(consumed);
                    match answer {
                        Answer::Upgrade { response, protocol } => {
                            self.actions.push_back(ResolverAction::Transmit(response));
                            self.opened(protocol);
                        }
                        Answer::Page { response, status } => {
                            self.actions.push_back(ResolverAction::Transmit(response));
                            self.finish(Some(WsError::Served { status }));
                        }
                        Answer::Refused { response, error } => {
                            self.actions.push_back(ResolverAction::Transmit(response));
                            self.finish(Some(error));
                        }
                    }
                    true
                }
            },
            Some(key) => match handshake::check_response(src, key, &self.config) {
                Ok(None) => false,
                Ok(Some((consumed, protocol))) => {
                    src.advance(consumed);
                    self.opened(protocol);
                    true
                }
                Err(error) => {
                    self.finish(Some(error));
                    true
                }
            },
        }
    }

    /// The handshake is done: frames flow, and those the builder held go
    /// out first.
    fn opened(&mut self, protocol: Option<String>) {
        self.protocol = protocol;
        self.phase = Phase::Open;
        if let Some(held) = self.gate.as_ref().map(Gate::open) {
            if !held.is_empty() {
                self.actions.push_back(ResolverAction::Transmit(held));
            }
        }
    }

    /// The next message or control frame of the open phase; `Ok(None)`
    /// until a whole frame is buffered.
    fn decode_open(&mut self, src: &mut BytesMut) -> Result<Option<Step>, FrameError> {
        let Some(head) = head::parse(src)? else {
            return Ok(None);
        };
        self.check_head(&head)?;
        // Bounded: a control frame by 125, a data frame by max_message_size.
        let Ok(wire_len) = usize::try_from(head.len).map(|len| len + head.head_len) else {
            return Err(self.too_large(head.len));
        };
        if src.len() < wire_len {
            return Ok(None);
        }
        let mut payload = src.split_to(wire_len);
        payload.advance(head.head_len);
        if let Some(key) = head.mask {
            head::apply_mask(&mut payload, key);
        }
        match head.opcode {
            Opcode::Ping => {
                self.pings += 1;
                self.reply(Opcode::Pong, &payload);
                Ok(Some(Step::Again))
            }
            Opcode::Pong => {
                self.pongs += 1;
                Ok(Some(Step::Again))
            }
            Opcode::Close => {
                self.peer_closed(&payload)?;
                Ok(Some(Step::Again))
            }
            Opcode::Text | Opcode::Binary | Opcode::Continuation => self
                .data(head, payload)
                .map(|message| Some(message.map_or(Step::Again, Step::Message))),
        }
    }

    /// The rules that need the role and the message under way: masking
    /// (§5.1), fragment order (§5.4), and `max_message_size`, checked from
    /// the header before the payload is buffered.
    fn check_head(&self, head: &Head) -> Result<(), FrameError> {
        match (&self.config.role, head.mask) {
            (Role::Server, None) => return Err(WsError::protocol("client frame not masked").into()),
            (Role::Client { .. }, Some(_)) => {
                return Err(WsError::protocol("server frame masked").into());
            }
            _ => {}
        }
        if head.opcode.is_control() {
            return Ok(());
        }
        match (head.opcode, self.partial.kind) {
            (Opcode::Continuation, None) => {
                return Err(
                    WsError::protocol("continuation frame without a message under way").into(),
                );
            }
            (Opcode::Text | Opcode::Binary, Some(_)) => {
                return Err(
                    WsError::protocol("new message before the fragmented one ended").into(),
                );
            }
            _ => {}
        }
        let total = (self.partial.bytes.len() as u64).saturating_add(head.len);
        if total > self.config.max_message_size as u64 {
            return Err(self.too_large(total));
        }
        Ok(())
    }

    fn too_large(&self, length: u64) -> FrameError {
        FrameError::FrameTooLarge {
            length,
            max: self.config.max_message_size,
        }
    }

    /// A data frame's payload: the whole message once it ends.
    fn data(&mut self, head: Head, payload: BytesMut) -> Result<Option<Bytes>, FrameError> {
        let kind = self.partial.kind.unwrap_or(head.opcode);
        if head.fin && self.partial.kind.is_none() {
            // Unfragmented, the common case: no copy.
            if kind == Opcode::Text && std::str::from_utf8(&payload).is_err() {
                return Err(WsError::InvalidUtf8.into());
            }
            return Ok(Some(payload.freeze()));
        }
        let partial = &mut self.partial;
        partial.kind = Some(kind);
        partial.bytes.extend_from_slice(&payload);
        if kind == Opcode::Text {
            partial.utf8_checked = check_utf8(&partial.bytes, partial.utf8_checked, head.fin)?;
        }
        if !head.fin {
            return Ok(None);
        }
        let message = std::mem::take(&mut partial.bytes).freeze();
        *partial = Partial::default();
        Ok(Some(message))
    }

    /// A close frame from the peer (§5.5.1): answered with its code, then
    /// the session closes.
    fn peer_closed(&mut self, payload: &[u8]) -> Result<(), FrameError> {
        let code = match payload {
            [] => None,
            [_] => return Err(WsError::protocol("close frame with a one-byte body").into()),
            [a, b, reason @ ..] => {
                let code = u16::from_be_bytes([*a, *b]);
                if !close_code::is_sendable(code) {
                    return Err(
                        WsError::protocol("close frame with a code that may not be sent").into(),
                    );
                }
                if std::str::from_utf8(reason).is_err() {
                    return Err(WsError::InvalidUtf8.into());
                }
                Some(code)
            }
        };
        let body = code.map(u16::to_be_bytes);
        self.reply(Opcode::Close, body.as_ref().map_or(&[][..], |b| &b[..]));
        self.finish(None);
        Ok(())
    }

    /// Queues a control frame of ours, masked if we are a client.
    fn reply(&mut self, opcode: Opcode, payload: &[u8]) {
        let mask = self.masks.as_mut().map(next_mask);
        let frame = head::frame_bytes(opcode, payload, mask);
        self.actions.push_back(ResolverAction::Transmit(frame));
    }

    /// A frame broke the protocol: a close frame with its code goes out,
    /// then the session closes with the error.
    fn fail(&mut self, error: FrameError) {
        let code = match &error {
            FrameError::WebSocket(ws) => ws.close_code(),
            FrameError::FrameTooLarge { .. } => Some(close_code::MESSAGE_TOO_BIG),
            _ => Some(close_code::PROTOCOL_ERROR),
        };
        if let Some(code) = code {
            self.reply(Opcode::Close, &code.to_be_bytes());
        }
        if let Some(gate) = &self.gate {
            gate.close();
        }
        self.phase = Phase::Done;
        self.actions.push_back(ResolverAction::Close(Some(error)));
    }

    /// Ends the connection with `error` (`None`: an orderly close); the
    /// builder sends no close frame after this.
    fn finish(&mut self, error: Option<WsError>) {
        if let Some(gate) = &self.gate {
            gate.close();
        }
        self.phase = Phase::Done;
        self.actions
            .push_back(ResolverAction::Close(error.map(FrameError::from)));
    }
}

/// Checks `bytes[from..]` as UTF-8 and returns how far it is valid; a
/// sequence cut at the end is valid until the message's last fragment.
fn check_utf8(bytes: &[u8], from: usize, last: bool) -> Result<usize, WsError> {
    match std::str::from_utf8(&bytes[from..]) {
        Ok(_) => Ok(bytes.len()),
        Err(e) if e.error_len().is_none() && !last => Ok(from + e.valid_up_to()),
        Err(_) => Err(WsError::InvalidUtf8),
    }
}

impl MessageResolver for WsResolver {
    /// The borrowed path cannot unmask or reassemble: always
    /// [`WsError::BorrowedPath`].
    fn resolve(&mut self, _src: &[u8]) -> Result<Resolved, FrameError> {
        Err(WsError::BorrowedPath.into())
    }

    /// The owned decode path. Never returns an error for the peer's bytes:
    /// a protocol error is answered (a close frame or an HTTP error) and
    /// turned into [`ResolverAction::Close`], after which everything
    /// received is dropped.
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        loop {
            match self.phase {
                Phase::Handshake { .. } => {
                    if !self.decode_handshake(src) {
                        return Ok(None);
                    }
                }
                Phase::Open => match self.decode_open(src) {
                    Ok(Some(Step::Message(message))) => return Ok(Some(message)),
                    Ok(Some(Step::Again)) => {}
                    Ok(None) => return Ok(None),
                    Err(error) => self.fail(error),
                },
                Phase::Done => {
                    src.clear();
                    return Ok(None);
                }
            }
        }
    }

    fn poll_action(&mut self) -> Option<ResolverAction> {
        self.actions.pop_front()
    }
}
