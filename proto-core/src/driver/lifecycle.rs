//! The loops around sessions that every adapter runs the same way: accept
//! with admission, connect and reconnect with backoff, graceful shutdown.
//! Generic over the runtime's futures (accept, connect, sleep), so an
//! adapter supplies only those.

use std::collections::hash_map::RandomState;
use std::future::{Future, poll_fn};
use std::hash::BuildHasher;
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::{Backoff, Conn, Refusal};
use crate::hub::{Admission, Hub, Rejected, ShutdownReport};
use crate::message::MessageFactory;
use crate::session::CloseReason;

/// Why a client connection could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectError {
    /// No answer within the connect timeout.
    #[error("connect to {addr} timed out after {timeout:?}")]
    Timeout {
        /// The address.
        addr: SocketAddr,
        /// The configured timeout.
        timeout: Duration,
    },
    /// The connect failed (refused, unreachable, …).
    #[error("connect to {addr} failed: {source}")]
    Io {
        /// The address.
        addr: SocketAddr,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// The client's configuration does not fit together (see
    /// [`HubConfig::check`](crate::hub::HubConfig::check)).
    #[error("invalid client configuration: {0}")]
    Config(#[from] crate::session::ConfigError),
    /// The client's own hub refused the session (its admission limits
    /// allow none).
    #[error("session to {addr} refused by the client's own limits: {source}")]
    Rejected {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: Rejected,
    },
}

/// Opens a client's session to `addr` in its hub.
pub fn open_client<F>(hub: &Hub<F>, addr: SocketAddr, now: Instant) -> Result<Conn<F>, ConnectError>
where
    F: MessageFactory,
    F::Resolver: std::fmt::Debug + 'static,
    F::Builder: std::fmt::Debug + 'static,
{
    match hub.admit(addr) {
        Ok(admission) => Ok(admission.open(now)),
        Err(source) => Err(ConnectError::Rejected { addr, source }),
    }
}

/// Accepts connections until `hub` begins shutting down: each one is
/// admitted through the hub and handed to `start` with its admission.
/// A refused connection is counted and dropped, or, when the hub has a
/// [`refusal_message`](crate::hub::HubConfig::refusal_message), handed to
/// `refuse` to be told why (spawn [`Refusal::deliver`] on it). A failed
/// accept (out of file descriptors, say) is counted, logged, and followed
/// by `sleep` for `pause`: never a crash or a busy loop.
pub async fn accept_loop<F, T, A, S>(
    hub: &Hub<F>,
    pause: Duration,
    mut accept: impl FnMut() -> A,
    mut sleep: impl FnMut(Duration) -> S,
    mut start: impl FnMut(Admission<F>, T),
    mut refuse: impl FnMut(Refusal, T),
) where
    F: MessageFactory,
    A: Future<Output = io::Result<(T, SocketAddr)>>,
    S: Future<Output = ()>,
{
    loop {
        let accepted = {
            let mut accepting = pin!(accept());
            poll_fn(|cx| {
                if hub.poll_shutdown_begun(cx).is_ready() {
                    return Poll::Ready(None);
                }
                accepting.as_mut().poll(cx).map(Some)
            })
            .await
        };
        match accepted {
            None => break,
            Some(Ok((stream, peer))) => match hub.admit(peer) {
                Ok(admission) => start(admission, stream),
                Err(rejected) => {
                    tracing::debug!(%peer, %rejected, "connection refused");
                    if let Some(refusal) = hub.refusal(peer, rejected) {
                        refuse(refusal, stream);
                    }
                }
            },
            Some(Err(err)) => {
                hub.record_accept_error();
                tracing::warn!(error = %err, ?pause, "accept failed");
                sleep(pause).await;
            }
        }
    }
    tracing::info!("listener closed");
}

/// Runs a client's sessions: `first` over `stream`, then, while
/// `reconnect` allows and the session did not end by a local close or
/// shutdown, waits the backoff delay (with jitter), connects again and runs
/// a new session in the hub. Failed attempts count toward `max_attempts`;
/// a successful one starts the count again.
#[allow(clippy::too_many_arguments)]
pub async fn client_loop<F, T, C, S, D>(
    hub: Hub<F>,
    addr: SocketAddr,
    first: Conn<F>,
    stream: T,
    reconnect: Option<Backoff>,
    mut connect: impl FnMut() -> C,
    mut sleep: impl FnMut(Duration) -> S,
    mut drive: impl FnMut(Conn<F>, T) -> D,
    now: impl Fn() -> Instant,
) where
    F: MessageFactory,
    C: Future<Output = Result<T, ConnectError>>,
    S: Future<Output = ()>,
    D: Future<Output = CloseReason>,
    F::Resolver: std::fmt::Debug + 'static,
    F::Builder: std::fmt::Debug + 'static,
{
    let random = RandomState::new();
    let mut next = Some((first, stream));
    let mut attempt = 0;
    loop {
        if let Some((conn, stream)) = next.take() {
            attempt = 0;
            let reason = drive(conn, stream).await;
            if matches!(reason, CloseReason::Local | CloseReason::Shutdown) {
                break;
            }
        }
        if hub.is_shutting_down() {
            break;
        }
        let Some(delay) = reconnect.and_then(|b| b.delay(attempt, random.hash_one(attempt))) else {
            break;
        };
        attempt += 1;
        tracing::debug!(%addr, ?delay, attempt, "reconnecting");
        sleep(delay).await;
        if hub.is_shutting_down() {
            break;
        }
        match connect().await {
            Ok(stream) => match open_client(&hub, addr, now()) {
                Ok(conn) => next = Some((conn, stream)),
                Err(_) => break, // shutting down
            },
            Err(err) => tracing::debug!(error = %err, "reconnect failed"),
        }
    }
}

/// Shuts `hub` down gracefully: no new sessions; every session stops
/// reading, waits until the application is done with the events it was
/// given (so its replies are queued), writes what it has queued and closes
/// with [`CloseReason::Shutdown`]; once `grace` resolves, the sessions
/// still open are closed at once. `grace` is the one deadline: sessions'
/// own `close_timeout` does not apply. Then the hub's event stream ends
/// after its last event. Returns how many queued messages were flushed and
/// dropped, how many sends were refused and how many received messages
/// the application never took; logs at warn level if anything was lost.
///
/// The pattern for an application on the event stream: run this on a task
/// of its own and keep handling events (`Closed` included, for per-session
/// cleanup) until the stream ends.
pub async fn shutdown<F>(hub: &Hub<F>, grace: impl Future<Output = ()>) -> ShutdownReport
where
    F: MessageFactory,
{
    hub.begin_shutdown();
    let mut grace = pin!(grace);
    let drained = poll_fn(|cx| {
        if hub.poll_drained(cx).is_ready() {
            return Poll::Ready(true);
        }
        grace.as_mut().poll(cx).map(|()| false)
    })
    .await;
    if !drained {
        tracing::warn!(
            live = hub.len(),
            "shutdown grace period over; closing the rest"
        );
        hub.abort_all(CloseReason::Shutdown);
        hub.drained().await;
    }
    hub.finish_events();
    let report = hub.shutdown_report();
    if report.dropped > 0 || report.refused > 0 || report.unread > 0 {
        tracing::warn!(
            sessions = report.sessions,
            flushed = report.flushed,
            dropped = report.dropped,
            refused = report.refused,
            unread = report.unread,
            "shutdown complete, with losses"
        );
    } else {
        tracing::info!(
            sessions = report.sessions,
            flushed = report.flushed,
            "shutdown complete"
        );
    }
    report
}
