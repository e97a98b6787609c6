//! The room task's side of the service across instances (see
//! [`crate::cluster`]): room events shared on the bus, events from other
//! instances relayed to local members, nicknames claimed in Redis,
//! `/who`, `/rooms` and `/pm` over the other instances' users, and
//! instances gone silent announced as left.

use std::time::Instant;

use super::door::UserKey;
use super::state::Chat;
use crate::cluster::{Cluster, ClusterConfig, Command, Envelope, Incoming};
use crate::config::{Settings, secs};
use crate::protocol::{ErrorCode, Message};

/// The link's configuration from `settings` (`None` without `redis`).
pub(crate) fn config(settings: &Settings) -> Option<ClusterConfig> {
    let url = settings.redis.clone()?;
    let instance = if settings.instance.is_empty() {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        format!("i{}-{nanos:08x}", std::process::id())
    } else {
        settings.instance.clone()
    };
    Some(ClusterConfig {
        url,
        prefix: settings.redis_prefix.clone(),
        instance,
        presence_ttl: secs(settings.presence_ttl),
    })
}

impl Chat {
    /// Shares a room event with the other instances (one publish,
    /// whatever the number of members).
    pub(crate) fn share(&mut self, message: &Message) {
        if let Some(cluster) = &self.cluster {
            if matches!(
                message,
                Message::Said { .. } | Message::Joined { .. } | Message::Left { .. }
            ) {
                let _ = cluster.send(Command::Publish(Envelope::Room(message.clone())));
            }
        }
    }

    /// Whether another instance has a user called `name`.
    pub(crate) fn taken_elsewhere(&self, name: &str) -> bool {
        self.cluster.as_ref().is_some_and(|c| c.directory.has(name))
    }

    /// Claims `name` for `key` across the service, reserving it here
    /// meanwhile; returns `false` when there is no cluster (welcome at
    /// once).
    pub(crate) fn claim(&mut self, key: UserKey, name: &str) -> bool {
        let Some(cluster) = &self.cluster else {
            return false;
        };
        let claim = Command::Claim {
            key,
            name: name.to_string(),
        };
        if cluster.send(claim).is_err() {
            // The link is swamped: this instance's word is enough.
            return false;
        }
        self.names.insert(name.to_ascii_lowercase(), key);
        true
    }

    /// A local user is now in `room` (for the presence snapshots).
    pub(crate) fn here(&mut self, name: &str, room: &str) {
        if let Some(cluster) = &self.cluster {
            let here = Command::Here {
                name: name.to_string(),
                room: room.to_string(),
            };
            let _ = cluster.send(here);
        }
    }

    /// A local user is gone: its nickname is released in Redis.
    pub(crate) fn release(&mut self, name: &str) {
        if let Some(cluster) = &self.cluster {
            let _ = cluster.send(Command::Release {
                name: name.to_string(),
            });
        }
    }

    /// A session closed before its nickname claim was answered: the
    /// reservation goes.
    pub(crate) fn drop_reservations(&mut self, key: UserKey) {
        if self.cluster.is_some() {
            self.names.retain(|_, k| *k != key);
        }
    }

    /// Names and per-room counts of the other instances' users.
    pub(crate) fn remote_members(&self, room: &str) -> Vec<String> {
        self.cluster
            .as_ref()
            .map(|c| c.directory.members(room).map(str::to_string).collect())
            .unwrap_or_default()
    }

    /// Members per room on the other instances.
    pub(crate) fn remote_rooms(&self) -> std::collections::BTreeMap<String, u32> {
        self.cluster
            .as_ref()
            .map(|c| c.directory.rooms())
            .unwrap_or_default()
    }

    /// A private message for a user on another instance; `false` if no
    /// instance has that user.
    pub(crate) fn pm_elsewhere(&mut self, to: &str, message: Message) -> bool {
        let Some(cluster) = &self.cluster else {
            return false;
        };
        if !cluster.directory.has(to) {
            return false;
        }
        let to = to.to_string();
        let _ = cluster.send(Command::Publish(Envelope::Private { to, message }));
        true
    }

    /// What the link reported.
    pub(crate) fn cluster_event(&mut self, incoming: Incoming) {
        let now = Instant::now();
        match incoming {
            Incoming::Bus { instance, envelope } => self.handle_envelope(&instance, envelope, now),
            Incoming::Claimed { key, name, ok } => self.claimed(key, name, ok),
            Incoming::Tick => self.expire_instances(now),
            Incoming::Up => {
                if let Some(cluster) = &mut self.cluster {
                    cluster.directory.touch_all(now);
                }
            }
        }
    }

    fn handle_envelope(&mut self, instance: &str, envelope: Envelope, now: Instant) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        let directory = &mut cluster.directory;
        match envelope {
            Envelope::Room(message) => {
                let room = match &message {
                    Message::Joined { room, name } => {
                        directory.joined(instance, name, room, now);
                        room.clone()
                    }
                    Message::Left { room, name } => {
                        directory.left(instance, name, room, now);
                        room.clone()
                    }
                    Message::Said { room, from, text } => {
                        // Each instance keeps the whole room's history.
                        let room = room.clone();
                        self.record(&room, from, text);
                        room
                    }
                    _ => return,
                };
                self.deliver(&room, &message);
            }
            Envelope::Private { to, message } => {
                if let Some(target) = self.find(&to) {
                    self.tell(target, &message);
                }
            }
            // A hello is a presence the link has answered already.
            Envelope::Presence(users) | Envelope::Hello(users) => {
                // What we missed (or all of an instance counted gone that
                // is back) is announced to the rooms here, as it happens.
                let changes = directory.presence(instance, users, now);
                for (name, room) in changes.left {
                    let left = Message::Left {
                        room: room.clone(),
                        name,
                    };
                    self.deliver(&room, &left);
                }
                for (name, room) in changes.joined {
                    let joined = Message::Joined {
                        room: room.clone(),
                        name,
                    };
                    self.deliver(&room, &joined);
                }
            }
            Envelope::Bye => {
                let users = directory.remove(instance);
                self.announce_gone(instance, users);
            }
        }
    }

    fn claimed(&mut self, key: UserKey, name: String, ok: bool) {
        let lower = name.to_ascii_lowercase();
        let waiting = self.users.contains_key(&key) && self.names.get(&lower) == Some(&key);
        if !waiting {
            // The session closed meanwhile.
            if self.names.get(&lower) == Some(&key) {
                self.names.remove(&lower);
            }
            if ok {
                self.release(&name);
            }
            return;
        }
        if ok {
            self.welcome(key, name);
        } else {
            self.names.remove(&lower);
            tracing::info!(user = %key, %name, "nickname refused: taken on another instance");
            self.refuse_name(key, &name);
        }
    }

    /// Announces the users of instances silent past the presence TTL as
    /// left.
    fn expire_instances(&mut self, now: Instant) {
        let Some(cluster) = &mut self.cluster else {
            return;
        };
        for (instance, users) in cluster.tick(now) {
            self.announce_gone(&instance, users);
        }
    }

    fn announce_gone(&mut self, instance: &str, users: Vec<(String, String)>) {
        tracing::info!(%instance, users = users.len(), "instance gone: its users left");
        for (name, room) in users {
            self.deliver(
                &room,
                &Message::Left {
                    room: room.clone(),
                    name,
                },
            );
        }
    }

    /// Starts the link for `settings.redis`, if set; logs why not if it
    /// cannot start.
    pub(crate) fn join_cluster(&mut self, config: Option<ClusterConfig>) {
        let Some(config) = config else { return };
        match Cluster::start(config, self.observed.link.clone()) {
            Ok(cluster) => self.cluster = Some(cluster),
            Err(err) => tracing::error!(error = %err, "cannot start the redis link: running alone"),
        }
    }

    /// An error for a nickname held elsewhere.
    pub(crate) fn refuse_name(&mut self, key: UserKey, name: &str) {
        let again = match key.door {
            super::Door::Text | super::Door::Web => "; your nickname?",
            super::Door::Binary => "",
        };
        self.tell_error(
            key,
            ErrorCode::NAME_TAKEN,
            format!("the nickname {name} is taken; choose another{again}"),
        );
    }
}
