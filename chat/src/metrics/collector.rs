//! [`ChatCollector`]: every metric, read from the hubs, the room task's
//! [`Observed`] counters and the history queue at each scrape.

use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeCounterValue, NoLabelSet};
use prometheus_client::metrics::MetricType;
use proto_core::frame::{LengthField, Line};
use proto_core::hub::{Hub, HubStats};
use proto_core::ws::WebSocket;

use super::Observed;
use crate::cluster::LinkStats;
use crate::jobs::JobStats;

type Fmt = Result<(), std::fmt::Error>;

/// Reads the chat server's state at each scrape.
#[derive(Debug)]
pub(crate) struct ChatCollector {
    pub(crate) binary: Hub<LengthField>,
    pub(crate) text: Hub<Line>,
    /// The web door's hub, when it is open.
    pub(crate) web: Option<Hub<WebSocket>>,
    pub(crate) observed: Arc<Observed>,
    /// Whether the server was started with `--redis`.
    pub(crate) redis: bool,
}

/// One metric family: a descriptor, then one sample per label set.
fn family<'a, V: Copy>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    kind: MetricType,
    samples: impl IntoIterator<Item = (Vec<(&'a str, String)>, V)>,
    mut write: impl FnMut(&mut prometheus_client::encoding::MetricEncoder<'_>, V) -> Fmt,
) -> Fmt {
    let mut metric = encoder.encode_descriptor(name, help, None, kind)?;
    for (labels, value) in samples {
        if labels.is_empty() {
            write(&mut metric, value)?;
        } else {
            write(&mut metric.encode_family(&labels)?, value)?;
        }
    }
    Ok(())
}

fn counters<'a, V: EncodeCounterValue + Copy>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Vec<(&'a str, String)>, V)>,
) -> Fmt {
    family(encoder, name, help, MetricType::Counter, samples, |m, v| {
        m.encode_counter::<NoLabelSet, V, u64>(&v, None)
    })
}

fn gauges<'a>(
    encoder: &mut DescriptorEncoder<'_>,
    name: &str,
    help: &str,
    samples: impl IntoIterator<Item = (Vec<(&'a str, String)>, i64)>,
) -> Fmt {
    family(encoder, name, help, MetricType::Gauge, samples, |m, v| {
        m.encode_gauge(&v)
    })
}

/// `door="binary"` and `door="text"` with a value from each door's stats.
fn per_door<T>(
    doors: &[(&'static str, HubStats)],
    value: impl Fn(&HubStats) -> T,
) -> Vec<(Vec<(&'static str, String)>, T)> {
    doors
        .iter()
        .map(|(door, stats)| (vec![("door", door.to_string())], value(stats)))
        .collect()
}

/// A per-door map of counts by reason, as `door` and `reason` labels.
fn per_reason(
    doors: &[(&'static str, HubStats)],
    map: impl Fn(&HubStats) -> &std::collections::BTreeMap<&'static str, u64>,
) -> Vec<(Vec<(&'static str, String)>, u64)> {
    doors
        .iter()
        .flat_map(|(door, stats)| {
            map(stats).iter().map(move |(reason, n)| {
                let labels = vec![("door", door.to_string()), ("reason", reason.to_string())];
                (labels, *n)
            })
        })
        .collect()
}

fn gauge_i64(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

fn one<V>(value: V) -> [(Vec<(&'static str, String)>, V); 1] {
    [(Vec::new(), value)]
}

impl ChatCollector {
    fn encode_sessions(
        &self,
        e: &mut DescriptorEncoder<'_>,
        doors: &[(&'static str, HubStats)],
    ) -> Fmt {
        let live = per_door(doors, |s| gauge_i64(s.live as u64));
        gauges(e, "chat_sessions_live", "Sessions open now.", live)?;
        let accepted = per_door(doors, |s| s.accepted);
        counters(
            e,
            "chat_sessions_accepted",
            "Sessions ever accepted.",
            accepted,
        )?;
        let mut refused = per_reason(doors, |s| &s.rejected);
        let full = self.observed.refused_full();
        refused.push((
            vec![("door", "any".into()), ("reason", "server_full".into())],
            full,
        ));
        counters(
            e,
            "chat_sessions_refused",
            "Connections refused, by reason.",
            refused,
        )?;
        let errors = per_door(doors, |s| s.accept_errors);
        counters(e, "chat_accept_errors", "Accept calls that failed.", errors)?;
        let closed = per_reason(doors, |s| &s.closed);
        counters(
            e,
            "chat_sessions_closed",
            "Sessions closed, by CloseReason.",
            closed,
        )
    }

    fn encode_traffic(
        &self,
        e: &mut DescriptorEncoder<'_>,
        doors: &[(&'static str, HubStats)],
    ) -> Fmt {
        counters(
            e,
            "chat_bytes_in",
            "Bytes received.",
            per_door(doors, |s| s.bytes_in),
        )?;
        counters(
            e,
            "chat_bytes_out",
            "Bytes written.",
            per_door(doors, |s| s.bytes_out),
        )?;
        let messages_in = per_door(doors, |s| s.messages_in);
        counters(e, "chat_messages_in", "Messages received.", messages_in)?;
        let messages_out = per_door(doors, |s| s.messages_out);
        counters(e, "chat_messages_out", "Messages written.", messages_out)?;
        let hw_bytes = per_door(doors, |s| gauge_i64(s.queue_high_water_bytes as u64));
        gauges(
            e,
            "chat_send_queue_high_water_bytes",
            "Largest send queue of any session, in bytes.",
            hw_bytes,
        )?;
        let hw_messages = per_door(doors, |s| gauge_i64(s.queue_high_water_messages as u64));
        gauges(
            e,
            "chat_send_queue_high_water_messages",
            "Largest send queue of any session, in messages.",
            hw_messages,
        )?;
        let mut refused: Vec<_> = doors
            .iter()
            .flat_map(|(door, s)| {
                [
                    ("queue_full", s.sends_rejected),
                    ("closed", s.sends_refused_closed),
                    ("over_budget", s.sends_over_budget),
                ]
                .map(|(why, n)| {
                    (
                        vec![("door", door.to_string()), ("reason", why.to_string())],
                        n,
                    )
                })
            })
            .collect();
        refused.push((
            vec![("door", "any".into()), ("reason", "chat".into())],
            self.observed.refused_sends(),
        ));
        counters(
            e,
            "chat_sends_refused",
            "Sends refused, by reason (chat: as the room task counted them).",
            refused,
        )?;
        let dropped = per_door(doors, |s| s.messages_dropped_at_close);
        counters(
            e,
            "chat_messages_dropped_at_close",
            "Queued messages dropped because their session closed.",
            dropped,
        )
    }

    fn encode_history(e: &mut DescriptorEncoder<'_>, h: &JobStats) -> Fmt {
        gauges(
            e,
            "chat_history_queue_depth",
            "History lines waiting for the writer.",
            one(gauge_i64(h.depth as u64)),
        )?;
        gauges(
            e,
            "chat_history_queue_high_water",
            "Most history lines ever waiting.",
            one(gauge_i64(h.depth_high_water as u64)),
        )?;
        counters(
            e,
            "chat_history_lines_queued",
            "History lines queued.",
            one(h.submitted),
        )?;
        counters(
            e,
            "chat_history_lines_dropped",
            "History lines dropped: the queue was full.",
            one(h.dropped),
        )?;
        counters(
            e,
            "chat_history_lines_written",
            "History lines written.",
            one(h.done),
        )?;
        counters(
            e,
            "chat_history_lines_failed",
            "History lines whose batch failed.",
            one(h.failed),
        )?;
        counters(
            e,
            "chat_history_batches",
            "History write batches (one transaction each).",
            one(h.batches),
        )?;
        let mut metric = e.encode_descriptor(
            "chat_history_write_latency_seconds",
            "Seconds from a line said to its batch committed.",
            None,
            MetricType::Histogram,
        )?;
        metric.encode_histogram::<NoLabelSet>(
            h.latency.sum_seconds,
            h.latency.count,
            &h.latency.per_bucket(),
            None,
        )
    }
}

impl ChatCollector {
    fn encode_link(e: &mut DescriptorEncoder<'_>, link: &LinkStats) -> Fmt {
        gauges(
            e,
            "chat_redis_up",
            "1 while the link to Redis is up.",
            one(i64::from(link.is_up())),
        )?;
        counters(
            e,
            "chat_redis_publishes",
            "Envelopes published to the other instances.",
            one(link.publishes()),
        )?;
        counters(
            e,
            "chat_redis_publishes_lost",
            "Envelopes lost: Redis was down or the link's queue full.",
            one(link.publishes_lost()),
        )?;
        counters(
            e,
            "chat_redis_receives",
            "Envelopes received from other instances.",
            one(link.receives()),
        )?;
        counters(
            e,
            "chat_redis_receives_dropped",
            "Envelopes received and dropped (room task behind, or not an envelope).",
            one(link.receives_dropped()),
        )?;
        counters(
            e,
            "chat_redis_reconnects",
            "Times the link came back after an outage.",
            one(link.reconnects()),
        )?;
        counters(
            e,
            "chat_redis_outages",
            "Outages of the link.",
            one(link.outages()),
        )
    }
}

impl Collector for ChatCollector {
    fn encode(&self, mut e: DescriptorEncoder<'_>) -> Fmt {
        let mut doors = vec![("binary", self.binary.stats()), ("text", self.text.stats())];
        doors.extend(self.web.as_ref().map(|web| ("web", web.stats())));
        self.encode_sessions(&mut e, &doors)?;
        self.encode_traffic(&mut e, &doors)?;
        let rooms = gauge_i64(self.observed.rooms());
        gauges(&mut e, "chat_rooms", "Rooms with members.", one(rooms))?;
        let members = gauge_i64(self.observed.members());
        gauges(
            &mut e,
            "chat_room_members",
            "Users in rooms, across rooms.",
            one(members),
        )?;
        if let Some(history) = self.observed.history() {
            Self::encode_history(&mut e, &history.stats())?;
        }
        if self.redis {
            Self::encode_link(&mut e, &self.observed.link)?;
        }
        Ok(())
    }
}
