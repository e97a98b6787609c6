//! [`Gate`]: frames a session sends before its opening handshake is done
//! wait here, and the resolver lets them through after the handshake
//! (RFC 6455 §4.1: a client "MUST wait for a response from the server
//! before sending any further data"; a server's frames must follow its
//! `101`).

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::{Bytes, BytesMut};

use super::WsError;

/// Shared by the resolver and the builder of one connection (both owned
/// by one session, so the lock is never contended).
#[derive(Debug, Clone, Default)]
pub(crate) struct Gate(Arc<Mutex<Held>>);

#[derive(Debug, Default)]
struct Held {
    open: bool,
    bytes: BytesMut,
    /// A close frame was sent (or the connection ends without one).
    closed: bool,
}

impl Gate {
    fn lock(&self) -> MutexGuard<'_, Held> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Holds `frame` if the handshake is not done (refused past `max`
    /// bytes held) and says whether it did; once the gate is open, the
    /// caller writes its frames itself.
    pub(crate) fn hold(&self, frame: impl FnOnce() -> Bytes, max: usize) -> Result<bool, WsError> {
        let mut held = self.lock();
        if held.open {
            return Ok(false);
        }
        let frame = frame();
        let length = held.bytes.len() + frame.len();
        if length > max {
            return Err(WsError::TooMuchBeforeOpen { length, max });
        }
        held.bytes.extend_from_slice(&frame);
        Ok(true)
    }

    /// Notes that no close frame is to be sent any more (one was sent,
    /// or the connection ends without WebSocket framing).
    pub(crate) fn close(&self) {
        self.lock().closed = true;
    }

    /// Whether the builder may send its goodbye close frame: the
    /// handshake is done and no close frame went out yet. Notes that one
    /// goes out now.
    pub(crate) fn take_goodbye(&self) -> bool {
        let mut held = self.lock();
        let allowed = held.open && !held.closed;
        held.closed = true;
        allowed
    }

    /// Opens the gate for good and takes what was held.
    pub(crate) fn open(&self) -> Bytes {
        let mut held = self.lock();
        held.open = true;
        std::mem::take(&mut held.bytes).freeze()
    }
}
