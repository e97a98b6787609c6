//! [`Recent`]: the last lines of each room, in memory.

use std::collections::{HashMap, VecDeque};

use super::Line;

/// The last `per_room` lines of each room.
#[derive(Debug, Clone)]
pub struct Recent {
    per_room: usize,
    rooms: HashMap<String, VecDeque<Line>>,
}

impl Recent {
    /// Empty, keeping `per_room` lines per room.
    pub fn new(per_room: usize) -> Self {
        Self {
            per_room,
            rooms: HashMap::new(),
        }
    }

    /// Lines kept per room.
    pub fn per_room(&self) -> usize {
        self.per_room
    }

    /// Adds a line to its room, forgetting the room's oldest past
    /// `per_room`.
    pub fn push(&mut self, line: Line) {
        let lines = self.rooms.entry(line.room.clone()).or_default();
        lines.push_back(line);
        while lines.len() > self.per_room {
            lines.pop_front();
        }
    }

    /// The last `n` lines of `room` (fewer if it has fewer), oldest first.
    pub fn last(&self, room: &str, n: usize) -> impl Iterator<Item = &Line> {
        let lines = self.rooms.get(room);
        let len = lines.map_or(0, VecDeque::len);
        lines.into_iter().flatten().skip(len.saturating_sub(n))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(room: &str, text: &str) -> Line {
        Line {
            room: room.into(),
            from: "a".into(),
            text: text.into(),
            at_ms: 0,
        }
    }

    #[test]
    fn keeps_per_room_lines_and_forgets_the_one_over() {
        let mut recent = Recent::new(3);
        for text in ["1", "2", "3"] {
            recent.push(line("r", text));
        }
        recent.push(line("other", "x"));
        let texts = |r: &Recent, n| r.last("r", n).map(|l| l.text.clone()).collect::<Vec<_>>();
        assert_eq!(
            texts(&recent, 10),
            ["1", "2", "3"],
            "at the limit: all kept"
        );
        recent.push(line("r", "4"));
        assert_eq!(
            texts(&recent, 10),
            ["2", "3", "4"],
            "one over: the oldest goes"
        );
        assert_eq!(texts(&recent, 2), ["3", "4"]);
        assert_eq!(recent.last("none", 5).count(), 0);
    }
}
