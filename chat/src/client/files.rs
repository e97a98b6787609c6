//! The client's side of file transfers: reading a file into chunks under
//! the credit window, writing received chunks under the downloads folder,
//! SHA-256 on both sides.

use std::collections::HashMap;
use std::fs::File;
use std::hash::{BuildHasher, Hasher};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use bytes::BytesMut;
use proto_core::hub::SessionHandle;
use sha2::{Digest, Sha256};

use super::Update;
use crate::command::valid_name;
use crate::protocol::{MAX_CHUNK, Message, encode_chunk_header};

/// A file being sent.
#[derive(Debug)]
struct Outgoing {
    to: String,
    file: File,
    size: u64,
    accepted: bool,
    /// Bytes read and sent.
    sent: u64,
    /// Bytes the receiver acknowledged.
    acked: u64,
    /// Chunk sizes sent and not acknowledged, oldest first.
    in_flight: std::collections::VecDeque<u64>,
    next_seq: u32,
    hasher: Sha256,
    done_sent: bool,
}

/// A file being received.
#[derive(Debug)]
struct Incoming {
    from: String,
    name: String,
    size: u64,
    /// Set once accepted.
    file: Option<(File, PathBuf)>,
    received: u64,
    next_seq: u32,
    hasher: Sha256,
    /// When the offer came, among all offers (the latest wins `/accept`).
    order: u64,
}

/// Every transfer of one client.
#[derive(Debug)]
pub(crate) struct Files {
    downloads: PathBuf,
    window: u32,
    outgoing: HashMap<u64, Outgoing>,
    incoming: HashMap<u64, Incoming>,
    ids: std::collections::hash_map::RandomState,
    counter: u64,
}

/// What a transfer step tells the person.
type Updates = Vec<Update>;

impl Files {
    pub(crate) fn new(downloads: PathBuf, window: u32) -> Self {
        Self {
            downloads,
            window: window.max(1),
            outgoing: HashMap::new(),
            incoming: HashMap::new(),
            ids: Default::default(),
            counter: 0,
        }
    }

    /// A fresh random transfer id.
    fn new_id(&mut self) -> u64 {
        self.counter += 1;
        let mut h = self.ids.build_hasher();
        h.write_u64(self.counter);
        h.write_u128(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos()),
        );
        h.finish()
    }

    /// Offers `path` to `to`.
    pub(crate) fn offer(&mut self, handle: &SessionHandle, to: &str, path: &Path) -> Updates {
        let opened = File::open(path).and_then(|f| Ok((f.metadata()?.len(), f)));
        let name = path.file_name().map(|n| n.to_string_lossy().to_string());
        let id = self.new_id();
        let (size, file, name) = match (opened, name) {
            (Ok((size, file)), Some(name)) => (size, file, name),
            (Err(err), _) => {
                return vec![failed(id, format!("cannot read {}: {err}", path.display()))];
            }
            (_, None) => return vec![failed(id, format!("{} is not a file", path.display()))],
        };
        let offer = Message::Offer {
            id,
            to: to.to_string(),
            file: name,
            size,
        };
        if let Err(err) = handle.send(offer.encode()) {
            return vec![failed(id, format!("not sent: {err}"))];
        }
        self.outgoing.insert(
            id,
            Outgoing {
                to: to.to_string(),
                file,
                size,
                accepted: false,
                sent: 0,
                acked: 0,
                in_flight: Default::default(),
                next_seq: 0,
                hasher: Sha256::new(),
                done_sent: false,
            },
        );
        vec![Update::Offered {
            id,
            to: to.into(),
            size,
        }]
    }

    /// Remembers an offer made to us (`/accept` or `/refuse` decides).
    pub(crate) fn offered(&mut self, id: u64, from: String, name: String, size: u64) {
        self.counter += 1;
        let order = self.counter;
        self.incoming.insert(
            id,
            Incoming {
                from,
                name,
                size,
                file: None,
                received: 0,
                next_seq: 0,
                hasher: Sha256::new(),
                order,
            },
        );
    }

    /// The latest offer made to us that is still waiting for an answer.
    pub(crate) fn latest_offer(&self) -> Option<u64> {
        self.incoming
            .iter()
            .filter(|(_, t)| t.file.is_none())
            .max_by_key(|(_, t)| t.order)
            .map(|(id, _)| *id)
    }

    /// Takes an offered file: creates `downloads/<sender>/<file>`.
    pub(crate) fn accept(&mut self, handle: &SessionHandle, id: u64) -> Updates {
        let Some(t) = self.incoming.get_mut(&id) else {
            return vec![failed(id, "no such offer".into())];
        };
        if t.file.is_some() {
            return vec![failed(id, "already accepted".into())];
        }
        let dir = self.downloads.join(if valid_name(&t.from) {
            &t.from
        } else {
            "unknown"
        });
        let safe = Path::new(&t.name)
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .filter(|n| n != "..")
            .unwrap_or_else(|| format!("file-{id}"));
        let path = dir.join(safe);
        let created = std::fs::create_dir_all(&dir).and_then(|()| File::create(&path));
        match created {
            Ok(file) => {
                t.file = Some((file, path));
                let _ = handle.send(Message::Accept { id }.encode());
                vec![]
            }
            Err(err) => {
                self.incoming.remove(&id);
                let reason = format!("cannot write {}: {err}", path.display());
                let _ = handle.send(
                    Message::Refuse {
                        id,
                        reason: reason.clone(),
                    }
                    .encode(),
                );
                vec![failed(id, reason)]
            }
        }
    }

    /// Turns an offered file down.
    pub(crate) fn refuse(&mut self, handle: &SessionHandle, id: u64) -> Updates {
        if self.incoming.remove(&id).is_none() {
            return vec![failed(id, "no such offer".into())];
        }
        let reason = "refused by the receiver".to_string();
        let _ = handle.send(Message::Refuse { id, reason }.encode());
        vec![]
    }

    /// A transfer message from the server.
    pub(crate) fn handle(&mut self, handle: &SessionHandle, message: Message) -> Updates {
        match message {
            Message::Accept { id } => match self.outgoing.get_mut(&id) {
                Some(t) => {
                    t.accepted = true;
                    self.pump(handle, id)
                }
                None => vec![],
            },
            Message::Refuse { id, reason } | Message::Cancel { id, reason } => {
                let known =
                    self.outgoing.remove(&id).is_some() | self.incoming.remove(&id).is_some();
                if known {
                    vec![failed(id, reason)]
                } else {
                    vec![]
                }
            }
            Message::Ack { id, .. } => {
                let Some(t) = self.outgoing.get_mut(&id) else {
                    return vec![];
                };
                t.acked += t.in_flight.pop_front().unwrap_or(0);
                let mut updates = vec![Update::Progress {
                    id,
                    outgoing: true,
                    done: t.acked,
                    total: t.size,
                }];
                updates.extend(self.pump(handle, id));
                updates
            }
            Message::Chunk { id, seq, data } => self.chunk(handle, id, seq, &data),
            Message::Done { id, sha256 } => {
                let Some(t) = self.incoming.remove(&id) else {
                    return vec![];
                };
                let Some((_, path)) = t.file else {
                    return vec![failed(id, "done before accepted".into())];
                };
                let ours: [u8; 32] = t.hasher.finalize().into();
                let verified = ours == sha256 && t.received == t.size;
                vec![Update::FileReceived {
                    id,
                    from: t.from,
                    path,
                    verified,
                }]
            }
            _ => vec![],
        }
    }

    /// A received chunk: in order, within the size, written, hashed, acked.
    fn chunk(&mut self, handle: &SessionHandle, id: u64, seq: u32, data: &[u8]) -> Updates {
        let Some(t) = self.incoming.get_mut(&id) else {
            return vec![];
        };
        let problem = match &mut t.file {
            None => Some("chunk before accept".to_string()),
            Some(_) if seq != t.next_seq => Some(format!("chunk {seq}, expected {}", t.next_seq)),
            Some(_) if t.received + data.len() as u64 > t.size => {
                Some("more bytes than offered".to_string())
            }
            Some((file, path)) => file
                .write_all(data)
                .err()
                .map(|err| format!("cannot write {}: {err}", path.display())),
        };
        if let Some(reason) = problem {
            self.incoming.remove(&id);
            return cancel(handle, id, reason);
        }
        t.hasher.update(data);
        t.received += data.len() as u64;
        t.next_seq += 1;
        let _ = handle.send(Message::Ack { id, seq }.encode());
        vec![Update::Progress {
            id,
            outgoing: false,
            done: t.received,
            total: t.size,
        }]
    }

    /// Sends chunks while the window allows, then `Done`.
    fn pump(&mut self, handle: &SessionHandle, id: u64) -> Updates {
        let Some(t) = self.outgoing.get_mut(&id) else {
            return vec![];
        };
        while t.accepted && t.sent < t.size && t.in_flight.len() < self.window as usize {
            let n = (t.size - t.sent).min(MAX_CHUNK as u64) as usize;
            let mut frame = BytesMut::with_capacity(13 + n);
            encode_chunk_header(&mut frame, id, t.next_seq);
            let header = frame.len();
            // The file's bytes are read straight into the frame.
            frame.resize(header + n, 0);
            let read = t.file.read_exact(&mut frame[header..]);
            if let Err(err) = read {
                self.outgoing.remove(&id);
                return cancel(handle, id, format!("cannot read the file: {err}"));
            }
            t.hasher.update(&frame[header..]);
            if let Err(err) = handle.send(frame.freeze()) {
                self.outgoing.remove(&id);
                return vec![failed(id, format!("not sent: {err}"))];
            }
            t.sent += n as u64;
            t.next_seq += 1;
            t.in_flight.push_back(n as u64);
        }
        if t.accepted && t.sent == t.size && !t.done_sent {
            t.done_sent = true;
            let sha256: [u8; 32] = t.hasher.clone().finalize().into();
            let _ = handle.send(Message::Done { id, sha256 }.encode());
        }
        if t.done_sent && t.in_flight.is_empty() {
            let to = t.to.clone();
            self.outgoing.remove(&id);
            return vec![Update::FileSent { id, to }];
        }
        vec![]
    }
}

/// Calls transfer `id` off: tells the other side (through the server),
/// and the person.
fn cancel(handle: &SessionHandle, id: u64, reason: String) -> Updates {
    let cancel = Message::Cancel {
        id,
        reason: reason.clone(),
    };
    let _ = handle.send(cancel.encode());
    vec![failed(id, reason)]
}

fn failed(id: u64, reason: String) -> Update {
    Update::TransferFailed { id, reason }
}
