//! [`Inbox`]: the messages a session received and the application has not
//! polled yet.

use bytes::Bytes;

/// Messages received and not yet polled: pushed onto `incoming`, popped
/// from the end of `outgoing`, which holds the older ones in reverse order.
/// When `outgoing` runs dry, the two swap and the new `outgoing` is
/// reversed. A push and a pop cost less than a ring buffer's, the reversal
/// a few instructions a message. Each keeps its capacity, so neither
/// allocates once grown (together, up to twice the largest backlog).
#[derive(Debug, Default)]
pub(super) struct Inbox {
    incoming: Vec<Bytes>,
    outgoing: Vec<Bytes>,
}

impl Inbox {
    #[inline]
    pub(super) fn push(&mut self, message: Bytes) {
        self.incoming.push(message);
    }

    #[inline]
    pub(super) fn pop(&mut self) -> Option<Bytes> {
        if let Some(message) = self.outgoing.pop() {
            return Some(message);
        }
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
}
