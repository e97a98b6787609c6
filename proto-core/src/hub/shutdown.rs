//! [`Hub::shutdown`]: the graceful end of a hub's sessions.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::task::Poll;

use super::{Hub, ShutdownReport};
use crate::message::MessageFactory;
use crate::session::CloseReason;

impl<F: MessageFactory> Hub<F> {
    /// Shuts the hub down gracefully, the one way to do it: no new
    /// sessions (a [`Server::run`](crate::driver::Server::run) loop
    /// returns); every session stops reading, waits until the application
    /// is done with the events it was given (so its replies are queued),
    /// writes what it has queued and closes with
    /// [`CloseReason::Shutdown`]; once `grace` resolves, the sessions still
    /// open are closed at once. `grace` is the one deadline (sessions' own
    /// `close_timeout` does not apply): the runtime's timer
    /// (`tokio::time::sleep(d)`, `async_io::Timer::after(d)`,
    /// [`Runtime::sleep`](crate::driver::Runtime::sleep)), a second
    /// Ctrl-C, or anything else. Then the hub's event stream ends after
    /// its last event.
    ///
    /// Returns how many queued messages were flushed and dropped, how many
    /// sends were refused and how many received messages the application
    /// never took; logs at warn level if anything was lost.
    ///
    /// The pattern for an application on the event stream: run this on a
    /// task of its own and keep handling events (`Closed` included, for
    /// per-session cleanup) until the stream ends.
    ///
    /// Its steps are public for those who drive time themselves (the
    /// simulator, say): [`begin_shutdown`](Self::begin_shutdown), then
    /// [`drained`](Self::drained) or, when the grace period is over,
    /// [`abort_all`](Self::abort_all).
    pub async fn shutdown<G: Future>(&self, grace: G) -> ShutdownReport {
        self.begin_shutdown();
        let mut grace = pin!(grace);
        let drained = poll_fn(|cx| {
            if self.poll_drained(cx).is_ready() {
                return Poll::Ready(true);
            }
            grace.as_mut().poll(cx).map(|_| false)
        })
        .await;
        if !drained {
            tracing::warn!(
                live = self.len(),
                "shutdown grace period over; closing the rest"
            );
            self.abort_all(CloseReason::Shutdown);
            self.drained().await;
        }
        self.finish_events();
        let report = self.shutdown_report();
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
}
