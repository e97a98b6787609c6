//! The room task's side of the history: lines said are remembered in
//! memory ([`Recent`]) and queued to the store's worker thread; `/history`
//! and the lines shown on entering a room are answered from memory (see
//! [`crate::history`]).

use std::time::{SystemTime, UNIX_EPOCH};

use super::door::UserKey;
use super::state::Chat;
use crate::config::Settings;
use crate::history::{HistoryStore, Line, Recent, SqliteStore, StoreError, StoreWriter};
use crate::jobs::{JobConfig, JobQueue, JobStats, StatsHandle, WhenFull};
use crate::protocol::{ErrorCode, Message};

/// The history as the room task holds it: off, or the last lines in
/// memory and the queue to the store.
#[derive(Debug)]
pub(crate) struct History {
    recent: Recent,
    writer: Option<JobQueue<Line>>,
    on_join: usize,
}

/// Opens the SQLite file `settings.history_file` names (created on first
/// run), or `None` when it is empty (history off).
pub fn open_history(settings: &Settings) -> Result<Option<SqliteStore>, StoreError> {
    if settings.history_file.as_os_str().is_empty() {
        return Ok(None);
    }
    SqliteStore::open(&settings.history_file, settings.history_lines).map(Some)
}

impl History {
    /// No history: nothing kept, `/history` refused.
    pub(crate) fn off() -> Self {
        Self {
            recent: Recent::new(0),
            writer: None,
            on_join: 0,
        }
    }

    /// Loads the last lines of every room from `store` (blocking, once,
    /// before the server serves) and starts its writer thread. A store
    /// that cannot be read or a thread that cannot start leaves the
    /// history off, with an error logged.
    pub(crate) fn start(mut store: Box<dyn HistoryStore>, settings: &Settings) -> Self {
        let mut recent = Recent::new(settings.history_lines);
        match store.recent(settings.history_lines) {
            Ok(lines) => {
                tracing::info!(lines = lines.len(), "history loaded");
                lines.into_iter().for_each(|line| recent.push(line));
            }
            Err(err) => {
                tracing::error!(error = %err, "cannot read the history: history off");
                return Self::off();
            }
        }
        let config = JobConfig {
            name: "chat-history".into(),
            capacity: settings.history_queue,
            when_full: WhenFull::DropAndCount,
            ..JobConfig::default()
        };
        match JobQueue::start(config, StoreWriter(store)) {
            Ok(writer) => Self {
                recent,
                writer: Some(writer),
                on_join: settings.history_on_join,
            },
            Err(err) => {
                tracing::error!(error = %err, "cannot start the history writer: history off");
                Self::off()
            }
        }
    }

    /// The writer queue's counters, readable from anywhere.
    pub(crate) fn stats_handle(&self) -> Option<StatsHandle> {
        self.writer.as_ref().map(JobQueue::stats_handle)
    }

    /// Writes every queued line, then returns the writer's counters.
    pub(crate) async fn drain(self) -> Option<JobStats> {
        match self.writer {
            Some(writer) => Some(writer.drain().await),
            None => None,
        }
    }
}

impl Chat {
    /// Remembers a line said in `room` and queues it for the store (a
    /// full queue drops it, counted by the queue).
    pub(crate) fn record(&mut self, room: &str, from: &str, text: &str) {
        let Some(writer) = &self.history.writer else {
            return;
        };
        let at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let line = Line {
            room: room.to_string(),
            from: from.to_string(),
            text: text.to_string(),
            at_ms,
        };
        // A refusal is counted and logged by the queue.
        let _ = writer.try_submit(line.clone());
        self.history.recent.push(line);
    }

    /// `History { count }`: the room's last `count` lines (capped at what
    /// is kept), oldest first.
    pub(crate) fn replay(&mut self, key: UserKey, room: &str, count: u16) {
        if self.history.writer.is_none() {
            return self.tell_error(
                key,
                ErrorCode::BAD_COMMAND,
                "this server keeps no history (started without a history file)",
            );
        }
        self.tell_past(key, room, usize::from(count));
    }

    /// The last few lines of `room`, for a user entering it.
    pub(crate) fn show_recent(&mut self, key: UserKey, room: &str) {
        self.tell_past(key, room, self.history.on_join);
    }

    fn tell_past(&mut self, key: UserKey, room: &str, n: usize) {
        let past: Vec<Message> = self
            .history
            .recent
            .last(room, n)
            .map(|line| Message::Past {
                room: line.room.clone(),
                from: line.from.clone(),
                text: line.text.clone(),
                at_ms: line.at_ms,
            })
            .collect();
        for message in &past {
            self.tell(key, message);
        }
    }
}
