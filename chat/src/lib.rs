//! # proto-chat — a chat server and client on proto-core
//!
//! A library written once against the driver's
//! [`Runtime`](proto_core::driver::Runtime) trait (tokio or smol), and two
//! thin binaries, `chat_server` and `chat_client`:
//!
//! ```text
//! cargo run --release -p proto-chat --bin chat_server            # 127.0.0.1:7000 (binary), :7001 (text)
//! cargo run --release -p proto-chat --bin chat_client -- --name alice
//! nc 127.0.0.1 7001                                              # the text door
//! ```
//!
//! - [`protocol`]: the typed binary protocol — a kind byte and fields in
//!   each length-field frame, parsed with `nom`, documented with byte
//!   examples in `chat/PROTOCOL.md`.
//! - [`server`]: [`ChatServer`](server::ChatServer) — the binary door
//!   (heartbeats on), the text door (lines, an idle timeout, no heartbeat
//!   bytes) and the room task.
//! - [`client`]: [`ChatClient`](client::ChatClient) — connect, chat, send
//!   and receive files, as [`Update`](client::Update)s.
//! - [`command`]: the slash commands, parsed once for the text door and
//!   the terminal client; [`render`]: server messages as lines.
//! - [`config`]: [`Settings`](config::Settings) from defaults, a TOML file
//!   and flags; with `tls_cert` and `tls_key` ([`Settings::tls`](config::Settings::tls))
//!   the program binds every door on a TLS runtime
//!   ([`ChatServer::bind_on`](server::ChatServer::bind_on)), and
//!   `chat_client --tls-ca` connects through one
//!   ([`ChatClient::connect_on`](client::ChatClient::connect_on)).
//! - [`jobs`]: [`JobQueue`](jobs::JobQueue), blocking work behind a
//!   bounded queue on a thread of its own (the history writer uses it);
//!   [`history`]: room history behind a storage trait, SQLite by default;
//!   [`metrics`]: Prometheus metrics at `/metrics`; [`cluster`]: one
//!   service over several instances, through Redis.
//!
//! ## Why one task owns the rooms
//!
//! Both doors' hubs deliver their sessions' events to [`Events`] streams,
//! and one task consumes both and owns every piece of chat state — users,
//! nicknames, rooms, transfers — in plain maps. No locks: admission across
//! both doors (the client limit), nickname uniqueness and room membership
//! are decided in one place, in event order. The cost is a hop between
//! tasks per message, which a chat (unlike an echo) needs anyway: a line
//! goes to other sessions. Room messages are encoded once per door and
//! framed once per door by the hubs' group broadcast, and the event
//! stream's back-pressure paces every peer to what this task keeps up
//! with.
//!
//! ## Memory during file transfers
//!
//! The server relays a transfer's frames unchanged (chunk data is a slice
//! of the received frame) and allows a sender at most `transfer_window`
//! chunks (64 KiB each) relayed and not acknowledged by the receiver, so
//! a transfer costs the server at most `transfer_window` × 64 KiB,
//! whatever the file's size.
//!
//! [`Events`]: proto_core::hub::Events
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod client;
pub mod cluster;
pub mod command;
pub mod config;
#[cfg(feature = "fuzz")]
pub mod fuzz;
pub mod history;
pub mod jobs;
pub mod metrics;
pub mod protocol;
pub mod render;
pub mod server;

/// The default credit window: chunks a sender may have unacknowledged.
pub const DEFAULT_WINDOW: u32 = 8;
