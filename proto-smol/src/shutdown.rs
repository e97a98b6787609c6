//! Graceful shutdown of a hub's sessions.

use std::time::Duration;

use proto_core::hub::{Hub, ShutdownReport};
use proto_core::message::MessageFactory;
use proto_core::session::CloseReason;
use smol::future;

/// Shuts `hub` down gracefully: its listener stops accepting (a
/// [`Server::run`](crate::Server::run) loop returns), every session is asked
/// to close with [`CloseReason::Shutdown`] after writing what it has
/// queued, and once `grace` has passed the sessions still open are closed
/// at once. Returns how many queued messages were flushed and how many
/// dropped (0 when `grace` and each session's `close_timeout` allow).
pub async fn shutdown<F: MessageFactory>(hub: &Hub<F>, grace: Duration) -> ShutdownReport {
    hub.begin_shutdown();
    let in_time = async {
        hub.drained().await;
        true
    };
    let late = async {
        async_io::Timer::after(grace).await;
        false
    };
    if !future::or(in_time, late).await {
        tracing::warn!(
            live = hub.len(),
            "shutdown grace period over; closing the rest"
        );
        hub.abort_all(CloseReason::Shutdown);
        hub.drained().await;
    }
    let report = hub.shutdown_report();
    tracing::info!(
        sessions = report.sessions,
        flushed = report.flushed,
        dropped = report.dropped,
        "shutdown complete"
    );
    report
}
