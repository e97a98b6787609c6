//! What a session's life needs around its driver: opening a client's
//! session (and why a connect fails), and graceful shutdown.

use std::future::{Future, poll_fn};
use std::io;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use super::Conn;
use crate::hub::{Hub, Rejected, ShutdownReport};
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
pub(super) fn open_client<F>(
    hub: &Hub<F>,
    addr: SocketAddr,
    now: Instant,
) -> Result<Conn<F>, ConnectError>
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

/// Shuts `hub` down gracefully: no new sessions (a
/// [`Server::run`](super::Server::run) loop returns); every session stops
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
