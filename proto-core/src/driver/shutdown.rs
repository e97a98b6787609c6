//! Graceful [`shutdown`] of a hub's sessions.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

use crate::hub::{Hub, ShutdownReport};
use crate::message::MessageFactory;
use crate::session::CloseReason;

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
