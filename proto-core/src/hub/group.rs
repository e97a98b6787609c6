//! [`Group`]: one group's members, and the list of their slots that
//! broadcasts share until the membership changes.

use std::collections::HashMap;
use std::sync::Arc;

use super::SessionId;
use super::id::IdHash;
use super::slot::SlotOps;

/// Members of one group, by id.
#[derive(Debug, Default)]
pub(crate) struct Group {
    members: HashMap<SessionId, Arc<dyn SlotOps>, IdHash>,
    /// The members' slots as one shared list, built by the first broadcast
    /// after a change: a broadcast clones one `Arc` under the registry
    /// lock, not one per member.
    snapshot: Option<Arc<[Arc<dyn SlotOps>]>>,
}

impl Group {
    /// Adds a member; returns whether it was not one already.
    pub(crate) fn insert(&mut self, slot: Arc<dyn SlotOps>) -> bool {
        let added = self.members.insert(slot.id(), slot).is_none();
        if added {
            self.snapshot = None;
        }
        added
    }

    /// Takes a member out; returns whether it was one.
    pub(crate) fn remove(&mut self, id: SessionId) -> bool {
        let removed = self.members.remove(&id).is_some();
        if removed {
            self.snapshot = None;
        }
        removed
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Member ids, in no order.
    pub(crate) fn ids(&self) -> impl Iterator<Item = SessionId> + '_ {
        self.members.keys().copied()
    }

    /// The members' slots, shared.
    pub(crate) fn slots(&mut self) -> Arc<[Arc<dyn SlotOps>]> {
        self.snapshot
            .get_or_insert_with(|| self.members.values().cloned().collect())
            .clone()
    }
}
