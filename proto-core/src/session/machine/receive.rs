//! Receiving in a [`Session`]: frames out of the read buffer, control
//! frames answered, messages into the inbox.

use std::time::Instant;

use bytes::Bytes;

use super::Session;
use super::rate::Admit;
use crate::frame::FrameError;
use crate::message::{MessageBuilder, MessageResolver, ResolverAction};
use crate::session::control::{self, Control};
use crate::session::{BadFramePolicy, CloseReason};

impl<R: MessageResolver, B: MessageBuilder> Session<R, B> {
    pub(super) fn received(&mut self, n: usize, now: Instant) {
        self.stats.bytes_in += n as u64;
        self.last_recv = now;
        self.saw(now);
        self.ping_sent = None;
        let mut completed = false;
        loop {
            match self.reader.next_frame() {
                Ok(Some(frame)) => {
                    completed = true;
                    if !self.deliver(frame, now) {
                        return;
                    }
                }
                Ok(None) => break,
                Err(err) => {
                    if !self.skip_bad_frame(err) {
                        return;
                    }
                }
            }
        }
        self.apply_resolver_actions(now);
        // The frame deadline runs from the first byte of the frame now at
        // the head of the buffer.
        if self.reader.buffered() == 0 {
            self.frame_started = None;
        } else if completed || self.frame_started.is_none() {
            self.frame_started = Some(now);
        }
    }

    /// A decode error: under [`BadFramePolicy::Skip`], a recoverable one
    /// within `max_skipped_frames` is counted and the caller decodes again,
    /// which skips the frame (true). Anything else closes the session
    /// (false).
    #[inline(never)]
    pub(super) fn skip_bad_frame(&mut self, err: FrameError) -> bool {
        let skip = self.config.on_bad_frame == BadFramePolicy::Skip
            && err.is_recoverable()
            && self.stats.frames_skipped < self.config.max_skipped_frames;
        if skip {
            self.stats.frames_skipped += 1;
        } else {
            self.fail(CloseReason::from_frame_error(err));
        }
        skip
    }

    /// Delivers one frame; returns false if the session closed. The common
    /// case, a plain message, stays inline in the receive loop; control
    /// frames go out of line.
    #[inline(always)]
    pub(super) fn deliver(&mut self, frame: Bytes, now: Instant) -> bool {
        if self.config.heartbeat.is_none() {
            return self.deliver_data(frame, now);
        }
        self.deliver_control(frame, now)
    }

    /// Delivers an application message, within the rate limit if one is
    /// set; returns false if the session closed.
    #[inline(always)]
    fn deliver_data(&mut self, message: Bytes, now: Instant) -> bool {
        if self.rate.is_some() {
            match self.rate_admits(message.len(), now) {
                Admit::Deliver => {}
                Admit::Drop => return true,
                Admit::Close => return false,
            }
        }
        self.stats.messages_in += 1;
        self.messages.push(message);
        true
    }

    /// [`deliver`](Self::deliver) with heartbeats on: splits off the kind
    /// byte, answers pings, times pongs.
    #[inline(never)]
    fn deliver_control(&mut self, frame: Bytes, now: Instant) -> bool {
        match control::parse(frame) {
            Ok(Control::Data(message)) => return self.deliver_data(message, now),
            Ok(Control::Ping) => self.send_control(control::PONG),
            Ok(Control::Pong) => {
                if let Some(rtt) = self.pings.pong(now) {
                    self.stats.record_rtt(rtt);
                }
            }
            Err(err) => {
                self.fail(CloseReason::MalformedFrame(err));
                return false;
            }
        }
        true
    }

    /// Carries out what the resolver asked for ([`ResolverAction`]): its
    /// own transmits (a handshake answer, a WebSocket pong or close reply)
    /// are queued outside the limits, and a close is graceful, so those
    /// transmits are written first.
    pub(in crate::session) fn apply_resolver_actions(&mut self, now: Instant) {
        while let Some(action) = self.reader.resolver_mut().poll_action() {
            match action {
                ResolverAction::Transmit(bytes) => {
                    let pushed = self.queue.push_control(|wire| {
                        wire.put_bytes(bytes);
                        Ok(())
                    });
                    debug_assert!(pushed.is_ok(), "putting bytes cannot fail");
                }
                ResolverAction::Close(None) => self.close(CloseReason::RemoteClosed, now),
                ResolverAction::Close(Some(err)) => {
                    self.close(CloseReason::from_frame_error(err), now);
                }
            }
        }
    }

    pub(super) fn send_control(&mut self, kind: u8) {
        let builder = &mut self.builder;
        let pushed = self
            .queue
            .push_control(|wire| builder.encode_parts(&[kind], Bytes::new(), wire));
        // A one-byte frame the codec cannot carry: heartbeats cannot work
        // with this codec, a configuration error.
        if let Err(err) = pushed {
            self.fail(CloseReason::MalformedFrame(err));
        }
    }
}
