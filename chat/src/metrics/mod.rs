//! Prometheus metrics for the chat server (`chat_server --metrics ADDR`):
//! `GET http://ADDR/metrics` answers in the Prometheus text format,
//! through the `prometheus-client` crate.
//!
//! Everything is read at scrape time — the hubs' [`HubStats`], the room
//! task's [`Observed`] counters (atomics) and the history queue's
//! [`JobStats`](crate::jobs::JobStats) — so serving metrics adds nothing
//! to the message path. The families (`door` is `binary`, `text` or `web`, the last while the web door is open):
//!
//! | metric | type | labels |
//! | --- | --- | --- |
//! | `chat_sessions_live` | gauge | door |
//! | `chat_sessions_accepted_total` | counter | door |
//! | `chat_sessions_refused_total` | counter | door, reason (`too_many_sessions`, `too_many_from_ip`, `shutting_down`; `server_full` across both doors) |
//! | `chat_accept_errors_total` | counter | door |
//! | `chat_sessions_closed_total` | counter | door, reason (`CloseReason::label`) |
//! | `chat_bytes_in_total`, `chat_bytes_out_total`, `chat_messages_in_total`, `chat_messages_out_total` | counter | door |
//! | `chat_send_queue_high_water_bytes`, `chat_send_queue_high_water_messages` | gauge | door |
//! | `chat_sends_refused_total` | counter | door, reason (`queue_full`, `closed`, `over_budget`; `chat` as the room task counted them) |
//! | `chat_messages_dropped_at_close_total` | counter | door |
//! | `chat_rooms`, `chat_room_members` | gauge | |
//! | `chat_history_queue_depth`, `chat_history_queue_high_water` | gauge | |
//! | `chat_history_lines_{queued,dropped,written,failed}_total`, `chat_history_batches_total` | counter | |
//! | `chat_history_write_latency_seconds` | histogram | |
//! | `chat_redis_up` (with `--redis`) | gauge | |
//! | `chat_redis_{publishes,publishes_lost,receives,receives_dropped,reconnects,outages}_total` | counter | |
//!
//! [`HubStats`]: proto_core::hub::HubStats

mod collector;
mod http;
mod observed;

pub use http::MetricsEndpoint;
pub use observed::Observed;

pub(crate) use collector::ChatCollector;

use prometheus_client::registry::Registry;

/// A registry holding the chat's collector.
pub(crate) fn registry(collector: ChatCollector) -> Registry {
    let mut registry = Registry::default();
    registry.register_collector(Box::new(collector));
    registry
}
