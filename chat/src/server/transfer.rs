//! File transfers through the server: offers checked, then every transfer
//! message relayed as the frame it came in (no re-encoding, no copy),
//! under a credit window: a sender may have at most `transfer_window`
//! chunks relayed and not yet acknowledged by the receiver, so the server
//! holds at most `transfer_window` × 64 KiB per transfer, whatever the
//! file's size.
//!
//! | state | from sender | from receiver |
//! | --- | --- | --- |
//! | offered | `Cancel` | `Accept` → accepted, `Refuse` → gone |
//! | accepted | `Chunk` (window, size), `Done` (all bytes) → done, `Cancel` | `Ack`, `Cancel` |
//! | done | `Cancel` | `Ack` (the last one ends it), `Cancel` |

use std::collections::HashMap;

use bytes::Bytes;

use super::door::UserKey;
use super::state::Chat;
use crate::protocol::{ErrorCode, Message};

/// One transfer the server relays.
#[derive(Debug)]
pub(crate) struct Transfer {
    from: UserKey,
    to: UserKey,
    size: u64,
    accepted: bool,
    /// Bytes relayed so far.
    relayed: u64,
    /// Chunks relayed and not acknowledged.
    in_flight: u32,
    /// `Done` was relayed.
    done: bool,
}

/// Transfers by id.
#[derive(Debug, Default)]
pub(crate) struct Transfers {
    by_id: HashMap<u64, Transfer>,
}

impl Chat {
    /// `Offer`: checked (recipient, door, size, id), then passed on.
    pub(crate) fn offer(&mut self, key: UserKey, id: u64, to: &str, file: String, size: u64) {
        let refuse = |chat: &mut Self, reason: String| {
            tracing::info!(user = %key, id, %reason, "file offer refused");
            chat.tell(key, &Message::Refuse { id, reason });
        };
        let Some(target) = self.find(to) else {
            return refuse(self, format!("no user named {to:?}"));
        };
        if target == key {
            return refuse(self, "that is you".into());
        }
        if target.door.is_lines() {
            return refuse(
                self,
                format!("{to} is on the text door, which has no file transfer"),
            );
        }
        if size > self.settings.max_file_size {
            return refuse(
                self,
                format!(
                    "{size} bytes is over the server's limit of {}",
                    self.settings.max_file_size
                ),
            );
        }
        if self.transfers.by_id.contains_key(&id) {
            return refuse(self, format!("transfer id {id} is in use"));
        }
        let from = self.name_of(key).unwrap_or_default().to_string();
        tracing::info!(user = %key, to = %target, id, size, "file offered");
        self.transfers.by_id.insert(
            id,
            Transfer {
                from: key,
                to: target,
                size,
                accepted: false,
                relayed: 0,
                in_flight: 0,
                done: false,
            },
        );
        self.tell(
            target,
            &Message::OfferFrom {
                id,
                from,
                file,
                size,
            },
        );
    }

    /// A transfer message from `key`: checked against the transfer's state
    /// and relayed to the other party as `raw`.
    pub(crate) fn relay(&mut self, key: UserKey, message: Message, raw: Bytes) {
        let id = match &message {
            Message::Accept { id }
            | Message::Refuse { id, .. }
            | Message::Chunk { id, .. }
            | Message::Ack { id, .. }
            | Message::Done { id, .. }
            | Message::Cancel { id, .. } => *id,
            _ => return,
        };
        let window = self.settings.transfer_window;
        let Some(t) = self.transfers.by_id.get_mut(&id) else {
            return self.tell_error(key, ErrorCode::TRANSFER, format!("no transfer {id}"));
        };
        let (sender, receiver) = (key == t.from, key == t.to);
        if !sender && !receiver {
            return self.tell_error(key, ErrorCode::TRANSFER, format!("no transfer {id}"));
        }
        let verdict: Result<(UserKey, bool), String> = match &message {
            Message::Accept { .. } if receiver && !t.accepted => {
                t.accepted = true;
                Ok((t.from, false))
            }
            Message::Refuse { .. } if receiver && !t.accepted => Ok((t.from, true)),
            Message::Cancel { .. } if sender => Ok((t.to, true)),
            Message::Cancel { .. } if receiver => Ok((t.from, true)),
            Message::Chunk { data, .. } if sender && t.accepted && !t.done => {
                let len = data.len() as u64;
                if t.in_flight >= window {
                    Err(format!("more than {window} chunks unacknowledged"))
                } else if t.relayed + len > t.size {
                    Err(format!("more than the {} bytes offered", t.size))
                } else {
                    t.in_flight += 1;
                    t.relayed += len;
                    Ok((t.to, false))
                }
            }
            Message::Ack { .. } if receiver && t.in_flight > 0 => {
                t.in_flight -= 1;
                Ok((t.from, t.done && t.in_flight == 0))
            }
            Message::Done { .. } if sender && t.accepted && !t.done => {
                if t.relayed == t.size {
                    t.done = true;
                    Ok((t.to, t.in_flight == 0))
                } else {
                    Err(format!("done after {} of {} bytes", t.relayed, t.size))
                }
            }
            _ => Err(format!(
                "kind 0x{:02x} does not fit transfer {id} now",
                message.kind()
            )),
        };
        match verdict {
            Ok((other, finished)) => {
                if !self.send_raw(other, raw) {
                    self.cancel(id, "the other side cannot take it");
                } else if finished {
                    tracing::info!(id, "transfer ended");
                    self.transfers.by_id.remove(&id);
                }
            }
            Err(reason) => {
                tracing::info!(user = %key, id, %reason, "transfer rule broken");
                self.cancel(id, &reason);
            }
        }
    }

    /// Ends transfer `id`, telling both parties.
    fn cancel(&mut self, id: u64, reason: &str) {
        if let Some(t) = self.transfers.by_id.remove(&id) {
            let cancel = Message::Cancel {
                id,
                reason: reason.to_string(),
            };
            self.tell(t.from, &cancel);
            self.tell(t.to, &cancel);
        }
    }

    /// Ends every transfer `key` takes part in (it left).
    pub(crate) fn cancel_transfers_of(&mut self, key: UserKey, reason: &str) {
        let ids: Vec<u64> = self
            .transfers
            .by_id
            .iter()
            .filter(|(_, t)| t.from == key || t.to == key)
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.cancel(id, reason);
        }
    }
}
