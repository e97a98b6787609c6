//! [`SqliteStore`]: room history in one SQLite file.

use std::collections::BTreeSet;
use std::path::Path;

use rusqlite::{Connection, params};

use super::{HistoryStore, Line, StoreError};

/// Room history in a SQLite file (created, with its table, on first
/// use), trimmed to the last `keep` lines of each room on every append.
///
/// Journal mode WAL, `synchronous = NORMAL`: a committed batch survives
/// the process being killed; after a power loss the last batches
/// committed may be gone, but the file stays consistent.
#[derive(Debug)]
pub struct SqliteStore {
    db: Connection,
    keep: usize,
}

impl SqliteStore {
    /// Opens (or creates) the history file at `path`, keeping `keep`
    /// lines per room.
    pub fn open(path: &Path, keep: usize) -> Result<Self, StoreError> {
        let db = Connection::open(path)?;
        db.pragma_update(None, "journal_mode", "WAL")?;
        db.pragma_update(None, "synchronous", "NORMAL")?;
        db.execute_batch(
            "CREATE TABLE IF NOT EXISTS history (
                 id INTEGER PRIMARY KEY AUTOINCREMENT,
                 room TEXT NOT NULL,
                 sender TEXT NOT NULL,
                 text TEXT NOT NULL,
                 at_ms INTEGER NOT NULL
             );
             CREATE INDEX IF NOT EXISTS history_by_room ON history (room, id);",
        )?;
        Ok(Self { db, keep })
    }

    /// Lines stored for `room` (for tests and tools).
    pub fn count(&self, room: &str) -> Result<usize, StoreError> {
        let n: i64 = self.db.query_row(
            "SELECT COUNT(*) FROM history WHERE room = ?1",
            [room],
            |row| row.get(0),
        )?;
        Ok(usize::try_from(n)?)
    }
}

impl HistoryStore for SqliteStore {
    fn append(&mut self, lines: &[Line]) -> Result<(), StoreError> {
        let tx = self.db.transaction()?;
        {
            let mut insert = tx.prepare_cached(
                "INSERT INTO history (room, sender, text, at_ms) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for line in lines {
                let at = i64::try_from(line.at_ms)?;
                insert.execute(params![line.room, line.from, line.text, at])?;
            }
            let mut trim = tx.prepare_cached(
                "DELETE FROM history WHERE room = ?1 AND id <= (
                     SELECT id FROM history WHERE room = ?1 ORDER BY id DESC LIMIT 1 OFFSET ?2)",
            )?;
            let rooms: BTreeSet<&str> = lines.iter().map(|l| l.room.as_str()).collect();
            for room in rooms {
                trim.execute(params![room, i64::try_from(self.keep)?])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn recent(&mut self, per_room: usize) -> Result<Vec<Line>, StoreError> {
        let mut query = self.db.prepare(
            "SELECT room, sender, text, at_ms FROM (
                 SELECT *, ROW_NUMBER() OVER (PARTITION BY room ORDER BY id DESC) AS nth
                 FROM history)
             WHERE nth <= ?1 ORDER BY id",
        )?;
        let rows = query.query_map([i64::try_from(per_room)?], |row| {
            Ok(Line {
                room: row.get(0)?,
                from: row.get(1)?,
                text: row.get(2)?,
                at_ms: u64::try_from(row.get::<_, i64>(3)?).unwrap_or(0),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(room: &str, n: usize) -> Line {
        Line {
            room: room.into(),
            from: "alice".into(),
            text: format!("line {n}"),
            at_ms: 1_700_000_000_000 + n as u64,
        }
    }

    fn temp_file(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("chat-sqlite-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        dir.join("history.sqlite3")
    }

    #[test]
    fn keeps_the_last_lines_of_each_room_across_reopening() {
        let path = temp_file("reopen");
        let mut store = SqliteStore::open(&path, 3).expect("created on first use");
        store
            .append(&(0..3).map(|n| line("games", n)).collect::<Vec<_>>())
            .expect("append");
        assert_eq!(
            store.count("games").expect("count"),
            3,
            "at the limit: all kept"
        );
        store
            .append(&[line("games", 3), line("lobby", 9)])
            .expect("append");
        assert_eq!(
            store.count("games").expect("count"),
            3,
            "one over: the oldest goes"
        );
        drop(store);
        let mut store = SqliteStore::open(&path, 3).expect("reopen");
        let recent = store.recent(2).expect("recent");
        let texts: Vec<(&str, &str)> = recent
            .iter()
            .map(|l| (l.room.as_str(), l.text.as_str()))
            .collect();
        assert_eq!(
            texts,
            [
                ("games", "line 2"),
                ("games", "line 3"),
                ("lobby", "line 9")
            ]
        );
        assert_eq!(recent[1], line("games", 3));
        let _ = std::fs::remove_dir_all(path.parent().expect("dir"));
    }
}
