//! Broadcast: frame once, queue the same bytes on many sessions.

use std::sync::Arc;

use bytes::Bytes;

use super::{Hub, SessionId, SlotOps, lock};
use crate::frame::FrameError;
use crate::message::MessageFactory;
use crate::session::SendError;

/// What a broadcast did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BroadcastReport {
    /// Sessions that queued the message.
    pub delivered: usize,
    /// Sessions that refused it (queue full, closing, or not live), with
    /// why. Under the `Disconnect` policy a full queue also closes that
    /// session.
    pub failed: Vec<(SessionId, SendError)>,
}

impl<F: MessageFactory> Hub<F> {
    /// Sends `payload` to every live session. It is framed once; every
    /// queue shares the same bytes, and each is charged their length.
    pub fn broadcast(&self, payload: Bytes) -> Result<BroadcastReport, FrameError> {
        let slots = lock(&self.inner.registry).slots();
        self.broadcast_slots(payload, &slots, None, Vec::new())
    }

    /// Sends `payload` to every member of `group` (none if it does not
    /// exist), framed once.
    pub fn broadcast_group(
        &self,
        group: &str,
        payload: Bytes,
    ) -> Result<BroadcastReport, FrameError> {
        self.broadcast_members(group, None, payload)
    }

    /// Sends `payload` to every member of `group` except `except` (the
    /// sender of a chat line, say), framed once, without building a member
    /// list.
    pub fn broadcast_group_except(
        &self,
        group: &str,
        except: SessionId,
        payload: Bytes,
    ) -> Result<BroadcastReport, FrameError> {
        self.broadcast_members(group, Some(except), payload)
    }

    fn broadcast_members(
        &self,
        group: &str,
        except: Option<SessionId>,
        payload: Bytes,
    ) -> Result<BroadcastReport, FrameError> {
        let slots = match lock(&self.inner.registry).groups.get_mut(group) {
            Some(members) => members.slots(),
            None => return Ok(BroadcastReport::default()),
        };
        self.broadcast_slots(payload, &slots, except, Vec::new())
    }

    /// Sends `payload` to each of `ids`, framed once. Ids that are not live
    /// are reported as failed with [`SendError::Closed`].
    pub fn broadcast_to(
        &self,
        ids: &[SessionId],
        payload: Bytes,
    ) -> Result<BroadcastReport, FrameError> {
        let mut missing = Vec::new();
        let slots: Vec<_> = {
            let registry = lock(&self.inner.registry);
            ids.iter()
                .filter_map(|id| {
                    let slot = registry.sessions.get(id).cloned();
                    if slot.is_none() {
                        missing.push((*id, SendError::Closed));
                    }
                    slot
                })
                .collect()
        };
        self.broadcast_slots(payload, &slots, None, missing)
    }

    /// Sends `payload`, framed once, to each of `slots` but `except`.
    fn broadcast_slots(
        &self,
        payload: Bytes,
        slots: &[Arc<dyn SlotOps>],
        except: Option<SessionId>,
        failed: Vec<(SessionId, SendError)>,
    ) -> Result<BroadcastReport, FrameError> {
        let mut report = BroadcastReport {
            delivered: 0,
            failed,
        };
        if slots.is_empty() {
            return Ok(report);
        }
        let frame = self.encode_shared(payload)?;
        for slot in slots.iter().filter(|s| Some(s.id()) != except) {
            match slot.send_shared(&frame) {
                Ok(()) => report.delivered += 1,
                Err(err) => report.failed.push((slot.id(), err)),
            }
        }
        Ok(report)
    }
}
