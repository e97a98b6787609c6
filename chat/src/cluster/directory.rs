//! [`Directory`]: the other instances' users and rooms, as their
//! announcements and presence snapshots tell it; an instance silent for
//! the presence TTL is gone, and so are its users.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// One other instance.
#[derive(Debug)]
struct Remote {
    seen: Instant,
    /// Lower-cased name → (name, room).
    users: BTreeMap<String, (String, String)>,
}

/// How a presence snapshot changed an instance's users, `(name, room)`s.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Changes {
    pub(crate) left: Vec<(String, String)>,
    pub(crate) joined: Vec<(String, String)>,
}

/// The users of the other instances.
#[derive(Debug, Default)]
pub(crate) struct Directory {
    instances: HashMap<String, Remote>,
}

impl Directory {
    fn remote(&mut self, instance: &str, now: Instant) -> &mut Remote {
        let remote = self
            .instances
            .entry(instance.to_string())
            .or_insert_with(|| Remote {
                seen: now,
                users: BTreeMap::new(),
            });
        remote.seen = now;
        remote
    }

    /// `name` joined `room` on `instance`.
    pub(crate) fn joined(&mut self, instance: &str, name: &str, room: &str, now: Instant) {
        let remote = self.remote(instance, now);
        remote.users.insert(
            name.to_ascii_lowercase(),
            (name.to_string(), room.to_string()),
        );
    }

    /// `name` left `room` on `instance` (a later join elsewhere is kept).
    pub(crate) fn left(&mut self, instance: &str, name: &str, room: &str, now: Instant) {
        let remote = self.remote(instance, now);
        let key = name.to_ascii_lowercase();
        if remote.users.get(&key).is_some_and(|(_, r)| r == room) {
            remote.users.remove(&key);
        }
    }

    /// `instance`'s users, in full. Returns how that differs from what
    /// the directory held: the `(name, room)`s that left and those that
    /// joined since (announcements this instance missed, or an instance
    /// back after it was counted gone).
    pub(crate) fn presence(
        &mut self,
        instance: &str,
        users: Vec<(String, String)>,
        now: Instant,
    ) -> Changes {
        let remote = self.remote(instance, now);
        let users: BTreeMap<String, (String, String)> = users
            .into_iter()
            .map(|(name, room)| (name.to_ascii_lowercase(), (name, room)))
            .collect();
        let old = std::mem::replace(&mut remote.users, users);
        let new = &remote.users;
        let differs = |a: &BTreeMap<_, (String, String)>, b: &BTreeMap<_, _>| {
            a.iter()
                .filter(|(key, user)| b.get(*key) != Some(*user))
                .map(|(_, user)| user.clone())
                .collect::<Vec<_>>()
        };
        Changes {
            left: differs(&old, new),
            joined: differs(new, &old),
        }
    }

    /// `instance` is gone: its users, `(name, room)`.
    pub(crate) fn remove(&mut self, instance: &str) -> Vec<(String, String)> {
        self.instances
            .remove(instance)
            .map(|r| r.users.into_values().collect())
            .unwrap_or_default()
    }

    /// Removes the instances not heard from for `ttl`; returns them with
    /// their users.
    pub(crate) fn expire(
        &mut self,
        now: Instant,
        ttl: Duration,
    ) -> Vec<(String, Vec<(String, String)>)> {
        let gone: Vec<String> = self
            .instances
            .iter()
            .filter(|(_, r)| now.saturating_duration_since(r.seen) > ttl)
            .map(|(id, _)| id.clone())
            .collect();
        gone.into_iter()
            .map(|id| {
                let users = self.remove(&id);
                (id, users)
            })
            .collect()
    }

    /// Counts every instance as just heard from (after an outage of our
    /// own link, silence proves nothing).
    pub(crate) fn touch_all(&mut self, now: Instant) {
        self.instances.values_mut().for_each(|r| r.seen = now);
    }

    /// Whether another instance has a user called `name` (any case).
    pub(crate) fn has(&self, name: &str) -> bool {
        let key = name.to_ascii_lowercase();
        self.instances.values().any(|r| r.users.contains_key(&key))
    }

    /// The other instances' users in `room`.
    pub(crate) fn members(&self, room: &str) -> impl Iterator<Item = &str> {
        self.instances
            .values()
            .flat_map(|r| r.users.values())
            .filter(move |(_, r)| r == room)
            .map(|(name, _)| name.as_str())
    }

    /// Members per room on the other instances.
    pub(crate) fn rooms(&self) -> BTreeMap<String, u32> {
        let mut rooms = BTreeMap::new();
        for (_, room) in self.instances.values().flat_map(|r| r.users.values()) {
            *rooms.entry(room.clone()).or_default() += 1;
        }
        rooms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_instance_silent_past_the_ttl_is_gone_with_its_users() {
        let t0 = Instant::now();
        let ttl = Duration::from_secs(3);
        let mut d = Directory::default();
        d.joined("b", "Bob", "lobby", t0);
        d.presence("c", vec![("carol".into(), "games".into())], t0 + ttl);
        assert!(d.has("bob") && d.has("CAROL"));
        assert_eq!(d.members("lobby").collect::<Vec<_>>(), ["Bob"]);
        assert!(d.expire(t0 + ttl, ttl).is_empty(), "at the TTL: still here");
        let gone = d.expire(t0 + ttl + Duration::from_millis(1), ttl);
        assert_eq!(
            gone,
            [(
                "b".to_string(),
                vec![("Bob".to_string(), "lobby".to_string())]
            )]
        );
        assert!(!d.has("bob"));
        d.left("c", "carol", "lobby", t0 + ttl);
        assert!(d.has("carol"), "a leave of another room keeps the user");
        d.left("c", "carol", "games", t0 + ttl);
        assert!(!d.has("carol"));
    }

    #[test]
    fn a_presence_snapshot_reports_what_changed() {
        let t0 = Instant::now();
        let user = |name: &str, room: &str| (name.to_string(), room.to_string());
        let mut d = Directory::default();
        d.joined("b", "bob", "lobby", t0);
        d.joined("b", "bea", "games", t0);
        // The same users: nothing to announce.
        let same = d.presence("b", vec![user("bob", "lobby"), user("bea", "games")], t0);
        assert_eq!(same, Changes::default());
        // Bea moved and Bo came; bob left, all unannounced here.
        let changes = d.presence("b", vec![user("bea", "lobby"), user("bo", "lobby")], t0);
        assert_eq!(changes.left, [user("bea", "games"), user("bob", "lobby")]);
        assert_eq!(changes.joined, [user("bea", "lobby"), user("bo", "lobby")]);
        // An instance counted gone comes back: its users join again.
        d.remove("b");
        let back = d.presence("b", vec![user("bo", "lobby")], t0);
        assert_eq!(
            (back.left, back.joined),
            (vec![], vec![user("bo", "lobby")])
        );
    }
}
