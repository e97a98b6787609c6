//! Room history: the [`HistoryStore`] trait, its SQLite implementation
//! ([`SqliteStore`], the embedded default: one file, created on first
//! run), and [`Recent`], the last lines of each room in memory.
//!
//! The chat server keeps the last `history_lines` lines of each room in
//! [`Recent`] (loaded from the store when it starts) and answers
//! `/history` and the lines shown on joining from there, so no request
//! ever waits for the disk. Each line said is also queued, through a
//! bounded [`JobQueue`](crate::jobs::JobQueue), to a worker thread that
//! appends batches to the store in one transaction each
//! ([`StoreWriter`]).
//!
//! ## What a crash loses
//!
//! A line is on disk once its batch's transaction commits. A process
//! killed at any moment loses the lines still waiting in the queue and
//! the batch being written (SQLite's journal rolls a half-written
//! transaction back), never a committed one nor the file's consistency.
//! A graceful shutdown drains the queue first and loses nothing. A full
//! queue drops lines and counts them (`history_dropped` in the server's
//! report and metrics).

mod recent;
mod sqlite;

pub use recent::Recent;
pub use sqlite::SqliteStore;

use crate::jobs::BatchWorker;

/// One line said in a room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The room.
    pub room: String,
    /// Who said it.
    pub from: String,
    /// What.
    pub text: String,
    /// When the server received it, in milliseconds since the Unix epoch.
    pub at_ms: u64,
}

/// A store's error, for the log.
pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// Where room history is kept. Both calls may block: the server calls
/// [`recent`](Self::recent) once, before it serves, and
/// [`append`](Self::append) only on the history worker's thread.
///
/// [`SqliteStore`] is the embedded default. A server database
/// (PostgreSQL, say) can replace it by implementing these two calls
/// without touching the chat: `append` as one multi-row `INSERT` in a
/// transaction (plus the same trimming to `keep` lines per room, or a
/// periodic job), `recent` as a window query over an index on
/// `(room, id)`; a connection pool is not needed, since one worker thread
/// writes. Not built here.
pub trait HistoryStore: Send + 'static {
    /// Appends `lines` (in the order said), all or none.
    fn append(&mut self, lines: &[Line]) -> Result<(), StoreError>;

    /// The last `per_room` lines of every room, oldest first within each
    /// room.
    fn recent(&mut self, per_room: usize) -> Result<Vec<Line>, StoreError>;
}

impl HistoryStore for Box<dyn HistoryStore> {
    fn append(&mut self, lines: &[Line]) -> Result<(), StoreError> {
        (**self).append(lines)
    }

    fn recent(&mut self, per_room: usize) -> Result<Vec<Line>, StoreError> {
        (**self).recent(per_room)
    }
}

/// A [`HistoryStore`] as the job queue's worker: each batch is one
/// [`append`](HistoryStore::append).
#[derive(Debug)]
pub struct StoreWriter<S>(pub S);

impl<S: HistoryStore> BatchWorker<Line> for StoreWriter<S> {
    fn run(&mut self, batch: &[Line]) -> Result<(), StoreError> {
        self.0.append(batch)
    }
}
