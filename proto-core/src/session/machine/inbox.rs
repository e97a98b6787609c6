//! [`Inbox`]: the messages a session received and the application has not
//! polled yet.

use bytes::Bytes;

use crate::session::message_cost;

/// Messages received and not yet polled: pushed onto `incoming`, popped
/// from the end of `outgoing`, which holds the older ones in reverse order.
/// When `outgoing` runs dry, the two swap and the new `outgoing` is
/// reversed. A push and a pop cost less than a ring buffer's, the reversal
/// a few instructions a message. Each keeps its capacity, so neither
/// allocates once grown (together, up to twice the largest backlog), until
/// [`release`](Self::release) frees them: the two lists are boxed, so an
/// idle session holds one null pointer.
///
/// Keeps the summed [`message_cost`] of what it holds, for the read
/// budget: one addition a push, one subtraction a pop.
#[derive(Debug, Default)]
pub(super) struct Inbox {
    lists: Option<Box<Lists>>,
    cost: usize,
}

/// [`Inbox`]'s two lists.
#[derive(Debug, Default)]
struct Lists {
    incoming: Vec<Bytes>,
    outgoing: Vec<Bytes>,
}

impl Inbox {
    #[inline]
    pub(super) fn push(&mut self, message: Bytes) {
        // Saturating: the messages live in memory, so their lengths sum to
        // less than `usize::MAX`, but their allowances might not.
        self.cost = self.cost.saturating_add(message_cost(message.len()));
        self.lists
            .get_or_insert_with(Box::default)
            .incoming
            .push(message);
    }

    #[inline]
    pub(super) fn pop(&mut self) -> Option<Bytes> {
        let lists = self.lists.as_mut()?;
        let message = match lists.outgoing.pop() {
            Some(message) => message,
            None => lists.refill()?,
        };
        self.cost = self.cost.saturating_sub(message_cost(message.len()));
        Some(message)
    }

    /// Whether no message waits.
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.lists
            .as_ref()
            .is_none_or(|l| l.incoming.is_empty() && l.outgoing.is_empty())
    }

    /// Frees the two lists if no message waits (for idle sessions); the
    /// next push allocates again.
    pub(super) fn release(&mut self) {
        if self.is_empty() {
            self.lists = None;
        }
    }

    /// The summed [`message_cost`] of the messages held.
    #[inline]
    pub(super) fn cost(&self) -> usize {
        self.cost
    }
}

impl Lists {
    /// Moves the incoming messages to `outgoing` and pops the oldest.
    #[inline(never)]
    fn refill(&mut self) -> Option<Bytes> {
        if self.incoming.is_empty() {
            return None;
        }
        std::mem::swap(&mut self.incoming, &mut self.outgoing);
        self.outgoing.reverse();
        self.outgoing.pop()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::Inbox;

    #[test]
    fn inbox_is_first_in_first_out_however_pushes_and_pops_interleave() {
        let mut inbox = Inbox::default();
        let (mut next_in, mut next_out) = (0u32, 0u32);
        // Bursts of pushes and pops of varying sizes.
        for round in 0..200u32 {
            for _ in 0..(round * 7) % 13 {
                inbox.push(Bytes::from(next_in.to_le_bytes().to_vec()));
                next_in += 1;
            }
            for _ in 0..(round * 5) % 11 {
                match inbox.pop() {
                    Some(m) => {
                        assert_eq!(m, Bytes::from(next_out.to_le_bytes().to_vec()));
                        next_out += 1;
                    }
                    None => assert_eq!(next_out, next_in),
                }
            }
        }
        while let Some(m) = inbox.pop() {
            assert_eq!(m, Bytes::from(next_out.to_le_bytes().to_vec()));
            next_out += 1;
        }
        assert_eq!(next_out, next_in);
    }

    #[test]
    fn inbox_cost_is_the_sum_of_its_messages_costs() {
        let mut inbox = Inbox::default();
        assert_eq!(inbox.cost(), 0);
        inbox.push(Bytes::from_static(b""));
        inbox.push(Bytes::from_static(b"hello"));
        assert_eq!(inbox.cost(), 2 * crate::session::MESSAGE_COST + 5);
        inbox.pop();
        inbox.push(Bytes::from_static(b"abc"));
        assert_eq!(inbox.cost(), 2 * crate::session::MESSAGE_COST + 8);
        while inbox.pop().is_some() {}
        assert_eq!(inbox.cost(), 0);
    }
}
