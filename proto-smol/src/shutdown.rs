//! Graceful shutdown of a hub's sessions.

use std::time::Duration;

use proto_core::hub::{Hub, ShutdownReport};
use proto_core::message::MessageFactory;

/// Shuts `hub` down gracefully: its listener stops accepting (a
/// [`Server::run`](crate::Server::run) loop returns), every session is asked
/// to close with `Shutdown` after writing what it has queued, and once
/// `grace` has passed the sessions still open are closed at once (`grace`
/// is the one deadline). Returns what was flushed, dropped, refused and
/// left unread; keep handling the hub's events until their stream ends.
/// The logic is [`proto_core::driver::shutdown`]'s; this supplies
/// async-io's timer, which fires under any executor.
pub async fn shutdown<F: MessageFactory>(hub: &Hub<F>, grace: Duration) -> ShutdownReport {
    let grace = async {
        async_io::Timer::after(grace).await;
    };
    proto_core::driver::shutdown(hub, grace).await
}
