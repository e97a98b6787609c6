//! [`Session`]: one connection's state machine.

use std::io::{self, IoSlice};
use std::sync::Arc;
use std::time::Instant;

use bytes::{Bytes, BytesMut};

use super::control;
use super::queue::{LazyQueue, Pushed};
use super::{CloseReason, Overflow, SendError, SessionConfig, SessionStats, SharedFrame};
use crate::frame::{FrameError, FrameReader, WireBuf};
use crate::message::{MessageBuilder, MessageFactory, MessageResolver};
use inbox::Inbox;

mod flow;
mod inbox;
mod rate;
mod receive;
mod timers;

/// What a session tells its application, drained with
/// [`Session::poll_event`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionEvent {
    /// The session is open (always the first event).
    Opened,
    /// A whole message from the peer.
    Message(Bytes),
    /// The peer ended its side of the stream cleanly; comes after its last
    /// message, and nothing more is read. The session is still open for
    /// sends: answer what the peer sent. With [`SessionConfig::half_close`]
    /// off, the next [`poll_event`](Session::poll_event) closes the session
    /// gracefully with [`CloseReason::RemoteClosed`] (the answers queued by
    /// then are still written); with it on, the application
    /// [`close`](Session::close)s when done.
    EndOfStream,
    /// The session is closed (always the last event).
    Closed(CloseReason),
}

/// Lifecycle states; see the table on [`Session`].
#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Open,
    Closing {
        reason: CloseReason,
        /// When unwritten messages are dropped (`None`: never; the caller
        /// keeps the deadline).
        deadline: Option<Instant>,
    },
    Closed(CloseReason),
}

/// One connection's state machine: bytes in, events and transmits out, time
/// passed in. No I/O, no clock.
///
/// # States
///
/// | from | input | to |
/// | --- | --- | --- |
/// | open | bytes, sends, timeouts that are not due | open |
/// | open | end of stream from the peer | open, input closed: [`SessionEvent::EndOfStream`] after the last message |
/// | open, input closed, `half_close` off | the [`poll_event`](Self::poll_event) after the one that returned `EndOfStream` | closing (`RemoteClosed`), or closed if nothing is queued |
/// | open | [`close`](Self::close), [`close_until`](Self::close_until), [`send_final`](Self::send_final) | closing, or closed if nothing is queued |
/// | open | the resolver asks to close ([`ResolverAction::Close`](crate::frame::ResolverAction::Close): a WebSocket close frame or protocol error) | closing (`RemoteClosed`, or the error's reason), after the resolver's own transmits |
/// | open | a recoverable decode error under [`BadFramePolicy::Skip`](super::BadFramePolicy::Skip), within `max_skipped_frames` | open (the frame is skipped and counted) |
/// | open | fatal error: any other decode error, idle/heartbeat/frame timeout, `write_timeout` without progress (`SlowConsumer`), I/O error, overflow under `Disconnect`, [`abort`](Self::abort) | closed |
/// | closing | the queue drains ([`handle_written`](Self::handle_written)) | closed |
/// | closing | the close deadline passes (`close_timeout`, or the caller's) | closed (unwritten messages counted as dropped) |
/// | closing | fatal error (`write_timeout` without progress among them) | closed, with the first reason |
/// | closed | anything | closed (ignored) |
///
/// While closing, no new sends are accepted, queued ones are still written
/// and received messages are still delivered. The first close reason wins.
/// [`SessionEvent::Closed`] is emitted once, on entering closed. Input after end
/// of stream is ignored.
///
/// # Flow control
///
/// A driver reads at most [`read_budget`](Self::read_budget) bytes at a
/// time, and reports a write the socket took nothing of as
/// [`handle_written(0, now)`](Self::handle_written), which starts the
/// `write_timeout` clock.
///
/// # Run loop
///
/// ```
/// use std::time::{Duration, Instant};
/// use bytes::Bytes;
/// use proto_core::frame::LengthField;
/// use proto_core::session::{SessionEvent, Session, SessionConfig};
///
/// let codec = LengthField::laster40net();
/// let now = Instant::now();
/// let mut session = Session::new(codec.new_codec(), codec.new_codec(), SessionConfig::default(), now);
///
/// // A read delivered bytes: hand them in, then drain events.
/// session.handle_input(b"\x02\x00\x00\x00hi", now);
/// assert_eq!(session.poll_event(), Some(SessionEvent::Opened));
/// assert_eq!(session.poll_event(), Some(SessionEvent::Message(Bytes::from_static(b"hi"))));
///
/// // The application answers; the driver writes what the session transmits.
/// session.send(Bytes::from_static(b"yo"))?;
/// let mut slices = [std::io::IoSlice::new(&[]); 16];
/// let n = session.io_slices(&mut slices);
/// let written: usize = slices[..n].iter().map(|s| s.len()).sum(); // as if the socket took all
/// session.handle_written(written, now);
///
/// // Sleep until the next deadline, then tell the session the time.
/// if let Some(deadline) = session.poll_timeout() {
///     session.handle_timeout(deadline);
/// }
/// # Ok::<(), proto_core::session::SendError>(())
/// ```
#[derive(Debug)]
pub struct Session<R, B> {
    /// Shared by every session a hub makes (one copy, not one each).
    config: Arc<SessionConfig>,
    reader: FrameReader<R>,
    builder: B,
    queue: LazyQueue,
    state: State,
    /// `Opened` not yet polled.
    opened_pending: bool,
    /// Messages not yet polled, in order. Kept apart from `Opened` and
    /// `Closed`, which can only come first and last, so the per-message
    /// queue holds just `Bytes`.
    messages: Inbox,
    /// `Closed` not yet polled.
    closed_pending: bool,
    stats: SessionStats,
    /// When bytes last arrived (or the session opened).
    last_recv: Instant,
    /// When the partial frame at the head of the read buffer began.
    frame_started: Option<Instant>,
    /// When the last ping was sent, if nothing arrived since.
    ping_sent: Option<Instant>,
    /// Heartbeat round trips: see [`PingClock`].
    pings: PingClock,
    /// The peer ended its side of the stream.
    input_closed: bool,
    /// `EndOfStream` not yet polled.
    end_of_stream_pending: bool,
    /// `EndOfStream` was polled with `half_close` off: the next poll
    /// closes.
    close_after_end_of_stream: bool,
    /// The latest `now` the session was given (for a close made without
    /// one).
    latest: Instant,
    /// Reading is paused until the used budget falls to the low mark.
    paused: bool,
    /// Since when queued bytes wait without the socket taking any.
    stall_start: Option<Instant>,
    /// The rate limit's meters (`None`: no limit set).
    rate: Option<Box<rate::RateMeters>>,
    /// Reading is held until the peer is back within its rate (as of the
    /// last [`read_budget`](Self::read_budget)).
    rate_held: bool,
}

impl<R: MessageResolver, B: MessageBuilder> Session<R, B> {
    /// A new open session. Emits [`SessionEvent::Opened`].
    ///
    /// `config` is a [`SessionConfig`] or an `Arc` of one: sessions made
    /// from one `Arc` share it.
    pub fn new(
        resolver: R,
        builder: B,
        config: impl Into<Arc<SessionConfig>>,
        now: Instant,
    ) -> Self {
        let config = config.into();
        let queue = LazyQueue::new(config.max_queue_messages, config.queue_bytes_for(None));
        let rate = config.rate_limit.is_limited().then(Box::default);
        let mut session = Self {
            config,
            reader: FrameReader::new(resolver),
            builder,
            queue,
            state: State::Open,
            opened_pending: true,
            messages: Inbox::default(),
            closed_pending: false,
            stats: SessionStats::default(),
            last_recv: now,
            frame_started: None,
            ping_sent: None,
            pings: PingClock::default(),
            input_closed: false,
            end_of_stream_pending: false,
            close_after_end_of_stream: false,
            latest: now,
            paused: false,
            stall_start: None,
            rate,
            rate_held: false,
        };
        // A resolver may speak first (a WebSocket client's request).
        session.apply_resolver_actions(now);
        session
    }

    /// A new open session with a fresh resolver and builder from `factory`
    /// (the usual way for a server: one factory, a session per connection).
    ///
    /// An automatic queue limit is fitted to the codec's largest frame; a
    /// shared `config` whose limit is already set (see
    /// [`SessionConfig::fitted_to`]) is shared as it is.
    pub fn from_factory<F>(factory: &F, config: impl Into<Arc<SessionConfig>>, now: Instant) -> Self
    where
        F: MessageFactory<Resolver = R, Builder = B>,
    {
        let mut config = config.into();
        if config.max_queue_bytes.is_none() {
            config = Arc::new(config.fitted_to(factory));
        }
        let (resolver, builder) = factory.new_codec_pair();
        Self::new(resolver, builder, config, now)
    }

    /// The configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// The counters.
    pub fn stats(&self) -> &SessionStats {
        &self.stats
    }

    /// Whether the session is closed (the driver can drop the socket).
    pub fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed(_))
    }

    /// Whether the session is closing or closed (no new sends).
    pub fn is_closing(&self) -> bool {
        self.state != State::Open
    }

    /// The close reason once closing or closed.
    pub fn close_reason(&self) -> Option<&CloseReason> {
        match &self.state {
            State::Closing { reason, .. } | State::Closed(reason) => Some(reason),
            State::Open => None,
        }
    }

    /// Messages and wire bytes waiting in the send queue (counted against
    /// its limits).
    pub fn queued(&self) -> (usize, usize) {
        (self.queue.messages(), self.queue.bytes())
    }

    // ----- inputs -----

    /// Bytes read from the peer (copied into the read buffer).
    /// Ignored once closed, and after end of stream (nothing can follow it).
    pub fn handle_input(&mut self, bytes: &[u8], now: Instant) {
        if matches!(self.state, State::Closed(_)) || self.input_closed || bytes.is_empty() {
            return;
        }
        self.reader.extend_from_slice(bytes);
        self.received(bytes.len(), now);
    }

    /// The read buffer, for drivers that read into it directly; follow with
    /// [`handle_read`](Self::handle_read).
    pub fn read_buf(&mut self) -> &mut BytesMut {
        self.reader.read_buf()
    }

    /// Bytes received and not yet made into frames.
    pub fn buffered(&self) -> usize {
        self.reader.buffered()
    }

    /// Frees the memory an idle connection does not need: the read buffer
    /// if it holds no partial frame, the send queue (or, if something
    /// waits in it, its spare buffers) and the received-message list if
    /// it is empty.
    /// The next read or send allocates again. Drivers call it when the
    /// socket has nothing to read and nothing waits to be written, so that
    /// thousands of idle connections cost little.
    pub fn release_buffers(&mut self) {
        self.reader.release();
        self.queue.release();
        self.messages.release();
    }

    /// Takes the read buffer out (with free space, as
    /// [`read_buf`](Self::read_buf) gives it), for a driver that reads with
    /// the session out of reach (its lock released); give it back with
    /// [`handle_read_into`](Self::handle_read_into). Until then the session
    /// holds an empty buffer.
    pub fn take_read_buf(&mut self) -> BytesMut {
        std::mem::take(self.reader.read_buf())
    }

    /// Gives back the buffer [`take_read_buf`](Self::take_read_buf) took,
    /// with `n` bytes read into it appended.
    pub fn handle_read_into(&mut self, buf: BytesMut, n: usize, now: Instant) {
        self.reader.restore(buf);
        self.handle_read(n, now);
    }

    /// `n` bytes were read into [`read_buf`](Self::read_buf).
    /// Ignored once closed, and after end of stream.
    pub fn handle_read(&mut self, n: usize, now: Instant) {
        if matches!(self.state, State::Closed(_)) || self.input_closed || n == 0 {
            return;
        }
        self.received(n, now);
    }

    /// The peer closed its side: leftover bytes that make no frame are an
    /// error; otherwise the last frames are delivered, then
    /// [`SessionEvent::EndOfStream`], and nothing more is read. See
    /// [`SessionConfig::half_close`] for what follows.
    pub fn handle_eof(&mut self, now: Instant) {
        if matches!(self.state, State::Closed(_)) || self.input_closed {
            return;
        }
        self.saw(now);
        // The peer's end of stream is something received: the idle
        // deadline runs from it, so a session waiting for its application
        // to answer what the peer sent is not closed as idle at once.
        self.last_recv = now;
        loop {
            match self.reader.next_frame_eof() {
                Ok(Some(frame)) => {
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
        self.input_closed = true;
        // Nothing more will arrive: no pings (they could not be answered);
        // the idle deadline still closes a session the application forgets.
        self.ping_sent = None;
        self.frame_started = None;
        self.end_of_stream_pending = true;
    }

    /// The socket failed: the session closes at once.
    pub fn handle_io_error(&mut self, kind: io::ErrorKind) {
        self.fail(CloseReason::Io(kind));
    }

    /// Queues `payload` under the configured overflow policy.
    #[inline]
    pub fn send(&mut self, payload: Bytes) -> Result<(), SendError> {
        self.send_with(payload, self.config.overflow)
    }

    /// Queues `payload` under `policy`. Errors leave the queue unchanged,
    /// except [`Overflow::Disconnect`], which closes the session (and
    /// reports [`SendError::Closed`]).
    #[inline]
    pub fn send_with(&mut self, payload: Bytes, policy: Overflow) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::Closed);
        }
        if self.config.heartbeat.is_some() || matches!(policy, Overflow::KeepLatest(_)) {
            return self.send_other(payload, policy);
        }
        // The common case: no kind byte, encoded straight into the open
        // run. A single call site keeps the payload where the caller put
        // it (a second one, even in a branch not taken, made the compiler
        // copy it first).
        let wire = self.queue.tail_wire();
        let before = wire.len();
        let pushed = match self.builder.encode(payload, wire) {
            Ok(()) => self.queue.commit(before, policy),
            Err(err) => Err(Some(SendError::Frame(err))),
        };
        self.pushed(pushed)
    }

    /// [`send_with`](Self::send_with) with heartbeats on (a kind byte before
    /// the payload) or under `KeepLatest`, out of line.
    #[inline(never)]
    fn send_other(&mut self, payload: Bytes, policy: Overflow) -> Result<(), SendError> {
        let heartbeat = self.config.heartbeat.is_some();
        let builder = &mut self.builder;
        let pushed = if let Overflow::KeepLatest(_) = policy {
            self.queue.push(
                |wire| encode_data(builder, heartbeat, payload, wire),
                policy,
            )
        } else {
            let wire = self.queue.tail_wire();
            let before = wire.len();
            match encode_data(builder, heartbeat, payload, wire) {
                Ok(()) => self.queue.commit(before, policy),
                Err(err) => Err(Some(SendError::Frame(err))),
            }
        };
        self.pushed(pushed)
    }

    /// Queues a frame built once for many sessions (a broadcast), under the
    /// configured overflow policy. Nothing is copied: the queue shares the
    /// frame's buffers. Its full length counts against this queue's limits.
    pub fn send_shared(&mut self, frame: &SharedFrame) -> Result<(), SendError> {
        self.send_shared_with(frame, self.config.overflow)
    }

    /// [`send_shared`](Self::send_shared) under `policy`.
    pub fn send_shared_with(
        &mut self,
        frame: &SharedFrame,
        policy: Overflow,
    ) -> Result<(), SendError> {
        if self.state != State::Open {
            return Err(SendError::Closed);
        }
        if !frame.fits(&self.config) {
            return Err(SendError::IncompatibleFrame {
                heartbeats: self.config.heartbeat.is_none(),
            });
        }
        let pushed = self.queue.push(
            |wire| {
                frame.put_into(wire);
                Ok(())
            },
            policy,
        );
        self.pushed(pushed)
    }

    /// Accounts for the outcome of a push.
    #[inline]
    fn pushed(&mut self, pushed: Result<Pushed, Option<SendError>>) -> Result<(), SendError> {
        match pushed {
            Ok(Pushed::Queued) => {
                // Written only on a new high: once the queue has been as
                // full as it gets, a send reads the marks and moves on.
                let (messages, bytes) = (self.queue.messages(), self.queue.bytes());
                let stats = &mut self.stats;
                if messages > stats.queue_high_water_messages
                    || bytes > stats.queue_high_water_bytes
                {
                    stats.queue_high_water_messages = stats.queue_high_water_messages.max(messages);
                    stats.queue_high_water_bytes = stats.queue_high_water_bytes.max(bytes);
                }
                Ok(())
            }
            Ok(Pushed::Replaced) => {
                self.stats.messages_replaced += 1;
                Ok(())
            }
            Err(Some(err)) => {
                self.stats.sends_rejected += 1;
                Err(err)
            }
            Err(None) => {
                self.fail(CloseReason::SlowConsumer);
                Err(SendError::Closed)
            }
        }
    }

    /// Closes gracefully: no new sends; what is queued is still written
    /// for up to `close_timeout`. Does nothing if already closing or closed.
    pub fn close(&mut self, reason: CloseReason, now: Instant) {
        let deadline = now.checked_add(self.config.close_timeout);
        self.close_until(reason, now, deadline);
    }

    /// Closes at once, dropping what is queued. Does nothing if already
    /// closed; while closing, the first reason stays.
    pub fn abort(&mut self, reason: CloseReason) {
        self.fail(reason);
    }

    /// The socket accepted `n` bytes of what [`io_slices`](Self::io_slices)
    /// or [`transmit_chunks`](Self::transmit_chunks) offered; the rest
    /// stays queued (and a batch in flight lands).
    ///
    /// `n == 0` reports a write that took nothing (the socket was full):
    /// with bytes waiting, it starts the `write_timeout` clock if it is not
    /// running. A write that takes bytes restarts the clock at `now` if
    /// bytes still wait, and stops it if none do.
    pub fn handle_written(&mut self, n: usize, now: Instant) {
        if matches!(self.state, State::Closed(_)) {
            return;
        }
        self.saw(now);
        let n = n.min(self.queue.unwritten());
        self.stats.bytes_out += n as u64;
        self.stats.messages_out += self.queue.written(n) as u64;
        if self.queue.is_empty() {
            self.stall_start = None;
            if let State::Closing { reason, .. } = &self.state {
                let reason = reason.clone();
                self.finish(reason);
            }
        } else if n > 0 || self.stall_start.is_none() {
            self.stall_start = Some(now);
        }
    }

    // ----- outputs -----

    /// Whether [`poll_event`](Self::poll_event) has an event to return
    /// (not counting the close it may trigger after `EndOfStream`).
    #[inline]
    pub fn has_event(&self) -> bool {
        self.opened_pending
            || !self.messages.is_empty()
            || self.end_of_stream_pending
            || self.closed_pending
    }

    /// The next event, or `None`.
    #[must_use]
    #[inline]
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        if self.opened_pending {
            self.opened_pending = false;
            return Some(SessionEvent::Opened);
        }
        if let Some(message) = self.messages.pop() {
            return Some(SessionEvent::Message(message));
        }
        if self.end_of_stream_pending {
            self.end_of_stream_pending = false;
            self.close_after_end_of_stream = !self.config.half_close;
            return Some(SessionEvent::EndOfStream);
        }
        if self.close_after_end_of_stream {
            self.close_after_end_of_stream = false;
            self.close(CloseReason::RemoteClosed, self.latest);
        }
        if !std::mem::take(&mut self.closed_pending) {
            return None;
        }
        match &self.state {
            State::Closed(reason) => Some(SessionEvent::Closed(reason.clone())),
            _ => None,
        }
    }

    /// Fills `dst` with the next bytes to write, up to
    /// `max_transmit_bytes`, for one vectored write; returns the slices
    /// filled. Follow with [`handle_written`](Self::handle_written).
    #[must_use]
    pub fn io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        if matches!(self.state, State::Closed(_)) {
            return 0;
        }
        self.queue.io_slices(dst, self.config.max_transmit_bytes)
    }

    /// The same batch as [`io_slices`](Self::io_slices), appended to `dst`
    /// as shared [`Bytes`] chunks (no copy), for drivers that write with
    /// the session out of reach (its lock released) or hand owned buffers
    /// to a completion-based API, and for the simulator. Follow with
    /// [`handle_written`](Self::handle_written); until then the batch is
    /// in flight: sends made meanwhile go after it, and no message in it
    /// is replaced ([`Overflow::KeepLatest`]). A close meanwhile drops it
    /// from the queue, and `handle_written` then does nothing.
    pub fn transmit_chunks(&mut self, dst: &mut Vec<Bytes>) {
        self.transmit_chunks_up_to(dst, usize::MAX);
    }

    /// [`transmit_chunks`](Self::transmit_chunks), stopping once `dst`
    /// holds `max_chunks` (the slices of one vectored write).
    pub(crate) fn transmit_chunks_up_to(&mut self, dst: &mut Vec<Bytes>, max_chunks: usize) {
        if !matches!(self.state, State::Closed(_)) {
            self.queue
                .share_chunks(dst, self.config.max_transmit_bytes, max_chunks);
        }
    }

    /// Whether bytes wait to be written.
    pub fn wants_write(&self) -> bool {
        !matches!(self.state, State::Closed(_)) && !self.queue.is_empty()
    }

    // ----- internals -----

    /// Fatal close: straight to closed.
    fn fail(&mut self, reason: CloseReason) {
        match &self.state {
            State::Closed(_) => {}
            State::Closing { reason: first, .. } => {
                let first = first.clone();
                self.finish(first);
            }
            State::Open => self.finish(reason),
        }
    }

    /// Enters closed: drops the queue and emits the event.
    fn finish(&mut self, reason: CloseReason) {
        self.stats.messages_dropped_at_close += self.queue.clear() as u64;
        self.frame_started = None;
        self.ping_sent = None;
        self.stall_start = None;
        self.state = State::Closed(reason);
        self.closed_pending = true;
    }
}

/// Times heartbeat round trips. Pongs carry no id, and the peer answers
/// pings in order, so the `n`th pong answers the `n`th ping; one ping is
/// timed at a time (the first sent while none is being timed), which keeps
/// this a few words however many pings go unanswered.
#[derive(Debug, Default)]
struct PingClock(Option<Box<PingCounts>>);

/// [`PingClock`]'s state, boxed on the first ping: sessions without
/// heartbeats carry one null pointer.
#[derive(Debug, Default)]
struct PingCounts {
    /// Pings sent.
    sent: u64,
    /// Pongs that answered a ping (pongs beyond `sent` are ignored).
    answered: u64,
    /// The ping being timed: its number and when it was sent.
    timed: Option<(u64, Instant)>,
}

impl PingClock {
    fn ping(&mut self, now: Instant) {
        let counts = self.0.get_or_insert_with(Box::default);
        counts.sent += 1;
        if counts.timed.is_none() {
            counts.timed = Some((counts.sent, now));
        }
    }

    /// A pong arrived at `now`: the round trip of the timed ping, if this
    /// pong answers it.
    fn pong(&mut self, now: Instant) -> Option<std::time::Duration> {
        let counts = self.0.as_mut()?;
        if counts.answered == counts.sent {
            return None;
        }
        counts.answered += 1;
        let (n, sent_at) = counts.timed?;
        if n != counts.answered {
            return None;
        }
        counts.timed = None;
        Some(now.saturating_duration_since(sent_at))
    }
}

/// Encodes an application message, after the data kind byte when
/// heartbeats are on.
#[inline(always)]
fn encode_data<B: MessageBuilder>(
    builder: &mut B,
    heartbeat: bool,
    payload: Bytes,
    wire: &mut WireBuf,
) -> Result<(), FrameError> {
    if heartbeat {
        builder.encode_parts(&[control::DATA], payload, wire)
    } else {
        builder.encode(payload, wire)
    }
}

impl From<FrameError> for CloseReason {
    fn from(err: FrameError) -> Self {
        Self::from_frame_error(err)
    }
}
