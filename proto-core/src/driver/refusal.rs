//! [`Refusal`]: a last word to a connection the hub refused.

use std::future::poll_fn;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::task::Poll;
use std::time::Duration;

use super::{Timer, Transport};
use crate::hub::{Hub, Rejected};
use crate::message::MessageFactory;
use crate::session::SharedFrame;

/// How long a refused connection may take to accept its message.
const REFUSAL_TIMEOUT: Duration = Duration::from_secs(1);

/// A connection refused by admission, with the hub's
/// [`refusal_message`](crate::hub::HubConfig::refusal_message) framed for it.
/// [`deliver`](Self::deliver) writes it and closes the connection.
#[derive(Debug)]
pub struct Refusal {
    peer: SocketAddr,
    rejected: Rejected,
    frame: SharedFrame,
}

impl Refusal {
    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// Why it was refused.
    pub fn rejected(&self) -> Rejected {
        self.rejected
    }

    /// Writes the message, then shuts the connection down; gives up after
    /// one second (a peer that does not read is not waited for).
    pub async fn deliver<T: Transport, M: Timer>(self, mut io: T, mut timer: M) {
        timer.reset(timer.now() + REFUSAL_TIMEOUT);
        let chunks = self.frame.chunks();
        let (mut chunk, mut offset) = (0, 0);
        let done = poll_fn(|cx| {
            if timer.poll_expired(cx).is_ready() {
                return Poll::Ready(false);
            }
            while chunk < chunks.len() {
                let slices: Vec<IoSlice<'_>> = std::iter::once(&chunks[chunk][offset..])
                    .chain(chunks[chunk + 1..].iter().map(|c| &c[..]))
                    .map(IoSlice::new)
                    .collect();
                match io.poll_write_vectored(cx, &slices) {
                    Poll::Ready(Ok(0)) | Poll::Ready(Err(_)) => return Poll::Ready(false),
                    Poll::Ready(Ok(mut n)) => {
                        while n > 0 && chunk < chunks.len() {
                            let left = chunks[chunk].len() - offset;
                            let k = n.min(left);
                            n -= k;
                            offset += k;
                            if offset == chunks[chunk].len() {
                                chunk += 1;
                                offset = 0;
                            }
                        }
                    }
                    Poll::Pending => return Poll::Pending,
                }
            }
            match io.poll_flush(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return Poll::Ready(false),
                Poll::Ready(Ok(())) => {}
            }
            io.poll_shutdown(cx).map(|r| r.is_ok())
        })
        .await;
        if done {
            tracing::debug!(peer = %self.peer, "refusal message delivered");
        } else {
            // The connection was already counted as refused; its message
            // was lost (no reader within the timeout, or an I/O error).
            tracing::warn!(peer = %self.peer, rejected = %self.rejected, "refusal message not delivered");
        }
    }
}

impl<F: MessageFactory> Hub<F> {
    /// The refusal for a connection from `peer`, if the hub has a refusal
    /// message (and it can be framed).
    pub(crate) fn refusal(&self, peer: SocketAddr, rejected: Rejected) -> Option<Refusal> {
        let payload = self.config().refusal_message.clone()?;
        match self.encode_shared(payload) {
            Ok(frame) => Some(Refusal {
                peer,
                rejected,
                frame,
            }),
            Err(err) => {
                tracing::warn!(error = %err, "refusal_message cannot be framed");
                None
            }
        }
    }
}
