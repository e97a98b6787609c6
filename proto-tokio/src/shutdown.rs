//! Graceful shutdown of a hub's sessions.

use std::time::Duration;

use proto_core::driver::Runtime;
use proto_core::hub::{Hub, ShutdownReport};
use proto_core::message::MessageFactory;

use crate::Tokio;

/// Shuts `hub` down gracefully: its listener stops accepting (a
/// [`Server::run`](crate::Server::run) loop returns), every session is asked
/// to close with `Shutdown` after writing what it has queued, and once
/// `grace` has passed the sessions still open are closed at once (`grace`
/// is the one deadline). Returns what was flushed, dropped, refused and
/// left unread; keep handling the hub's events until their stream ends.
/// The logic is [`proto_core::driver::shutdown`]'s; this supplies tokio's
/// timer.
///
/// The pattern on the event stream: shut down on a task of its own and
/// keep handling events, so that replies to what was read still go out and
/// every session's `Closed` (per-session cleanup, such as saving a player)
/// is handled; the stream ends after the last one.
///
/// ```no_run
/// use std::time::Duration;
/// use proto_core::frame::LengthField;
/// use proto_core::hub::Event;
/// use proto_tokio::{Server, ServerConfig};
///
/// # async fn run() -> std::io::Result<()> {
/// let (server, mut events) =
///     Server::bind("127.0.0.1:7000", LengthField::laster40net(), ServerConfig::default()).await?;
/// let hub = server.hub().clone();
/// tokio::spawn(server.run());
/// let stopper = tokio::spawn({
///     let hub = hub.clone();
///     async move {
///         let _ = tokio::signal::ctrl_c().await;
///         proto_tokio::shutdown(&hub, Duration::from_secs(10)).await
///     }
/// });
/// while let Some(event) = events.recv().await {
///     match event {
///         Event::Message { id, payload } => {
///             if let Err(err) = hub.send(id, payload) {
///                 tracing::warn!(%id, %err, "reply refused");
///             }
///         }
///         Event::Closed { id, reason, .. } => tracing::info!(%id, %reason, "save the player"),
///         _ => {}
///     }
/// }
/// let report = stopper.await.expect("the shutdown task");
/// assert_eq!((report.dropped, report.refused, report.unread), (0, 0, 0));
/// # Ok(()) }
/// ```
pub async fn shutdown<F: MessageFactory>(hub: &Hub<F>, grace: Duration) -> ShutdownReport {
    proto_core::driver::shutdown(hub, Tokio.sleep(grace)).await
}
