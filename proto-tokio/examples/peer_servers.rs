//! The peer servers our benchmarks measure beside ours, each as a user
//! would write it on tokio, speaking tokio-util's `LengthDelimitedCodec`
//! defaults (u32 big-endian length; `loadgen --codec tokio-util`):
//!
//! - `framed-echo`: `Framed<TcpStream, LengthDelimitedCodec>`, one task per
//!   connection, `framed.send(frame)` per message, as tokio-util's docs
//!   show;
//! - `framed-echo-batched`: the same, feeding every frame that is ready and
//!   flushing once (the faster way to write it);
//! - `raw-echo`: bytes copied back as they come (no framing: the ceiling);
//! - `broadcast`: every message to every connection through a
//!   `tokio::sync::broadcast` channel and `Framed`;
//! - `ws-echo`: a WebSocket echo server on tokio-tungstenite, as its own
//!   echo example writes it (`read.forward(write)`, which feeds what is
//!   ready and flushes once); `loadgen --codec websocket`.
//!
//! ```text
//! cargo run --release -p proto-tokio --example peer_servers -- framed-echo --addr 127.0.0.1:7100
//! ```
//!
//! Loopback only; `--run-for` stops it by itself.

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use futures::{FutureExt, SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::broadcast;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Which peer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    FramedEcho,
    FramedEchoBatched,
    RawEcho,
    Broadcast,
    WsEcho,
}

/// A peer server for the benchmarks.
#[derive(Debug, Parser)]
struct Args {
    /// Which server.
    #[arg(value_enum)]
    kind: Kind,
    /// Address to listen on (loopback).
    #[arg(long, default_value = "127.0.0.1:7100")]
    addr: SocketAddr,
    /// Runtime worker threads.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Stop after this many seconds.
    #[arg(long, default_value_t = 600)]
    run_for: u64,
}

fn main() -> std::io::Result<()> {
    let args = Args::parse();
    if !args.addr.ip().is_loopback() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{} is not a loopback address", args.addr),
        ));
    }
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()?
        .block_on(async {
            let listener = TcpListener::bind(args.addr).await?;
            let serve = serve(listener, args.kind);
            let limit = tokio::time::sleep(Duration::from_secs(args.run_for));
            tokio::select! {
                result = serve => result,
                () = limit => Ok(()),
            }
        })
}

async fn serve(listener: TcpListener, kind: Kind) -> std::io::Result<()> {
    let (tx, _) = broadcast::channel::<Bytes>(4096);
    loop {
        let (stream, _) = listener.accept().await?;
        stream.set_nodelay(true)?;
        match kind {
            Kind::FramedEcho => tokio::spawn(framed_echo(stream)),
            Kind::FramedEchoBatched => tokio::spawn(framed_echo_batched(stream)),
            Kind::RawEcho => tokio::spawn(raw_echo(stream)),
            Kind::Broadcast => tokio::spawn(broadcast_member(stream, tx.clone())),
            Kind::WsEcho => tokio::spawn(ws_echo(stream)),
        };
    }
}

async fn framed_echo(stream: TcpStream) {
    let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
    while let Some(Ok(frame)) = framed.next().await {
        if framed.send(frame.freeze()).await.is_err() {
            return;
        }
    }
}

async fn framed_echo_batched(stream: TcpStream) {
    let (mut sink, mut frames) = Framed::new(stream, LengthDelimitedCodec::new()).split();
    while let Some(Ok(frame)) = frames.next().await {
        if sink.feed(frame.freeze()).await.is_err() {
            return;
        }
        while let Some(Some(Ok(frame))) = frames.next().now_or_never() {
            if sink.feed(frame.freeze()).await.is_err() {
                return;
            }
        }
        if sink.flush().await.is_err() {
            return;
        }
    }
}

async fn ws_echo(stream: TcpStream) {
    let Ok(ws) = tokio_tungstenite::accept_async(stream).await else {
        return;
    };
    let (write, read) = ws.split();
    // Data messages back; control frames are answered by tungstenite.
    let data = read.filter(|m| {
        std::future::ready(!matches!(m, Ok(m) if m.is_close() || m.is_ping() || m.is_pong()))
    });
    let _ = data.forward(write).await;
}

async fn raw_echo(mut stream: TcpStream) {
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match stream.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if stream.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

async fn broadcast_member(stream: TcpStream, tx: broadcast::Sender<Bytes>) {
    let mut rx = tx.subscribe();
    let (mut sink, mut frames) = Framed::new(stream, LengthDelimitedCodec::new()).split();
    loop {
        tokio::select! {
            frame = frames.next() => match frame {
                Some(Ok(frame)) => {
                    let _ = tx.send(frame.freeze());
                }
                _ => return,
            },
            message = rx.recv() => match message {
                Ok(message) => {
                    if sink.send(message).await.is_err() {
                        return;
                    }
                }
                // A member that fell behind loses messages: the benchmark
                // counts them as lost.
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
