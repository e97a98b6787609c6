//! Peers that are not our adapters: a blocking std socket speaking the
//! laster40Net wire format by hand (for misbehaving peers: one that never
//! reads, one that resets, one that half-closes), and tokio-util's
//! `Framed<TcpStream, LengthDelimitedCodec>` as an independent
//! implementation of the tokio-util wire format. Each runs on threads of
//! its own, so it works the same whichever runtime the server is on.

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use socket2::{Domain, Socket, Type};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

use crate::harness::{Rng, Runtime, blocking};

/// A blocking peer on a std socket, framing by hand: a `u32`
/// little-endian payload length, then the payload (laster40Net).
#[derive(Debug)]
pub(crate) struct RawPeer {
    pub(crate) stream: TcpStream,
}

/// Options of a [`RawPeer`]'s socket.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct RawOptions {
    /// Bind to this local IP first (e.g. 127.0.0.2).
    pub(crate) local_ip: Option<[u8; 4]>,
    /// A small receive buffer, so that a peer that does not read fills up
    /// quickly.
    pub(crate) recv_buffer: Option<usize>,
    /// `SO_LINGER` 0: closing sends RST instead of FIN.
    pub(crate) linger_zero: bool,
}

impl RawPeer {
    pub(crate) fn connect(addr: SocketAddr, options: RawOptions) -> Self {
        let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
        if let Some(ip) = options.local_ip {
            socket
                .bind(&SocketAddr::from((ip, 0)).into())
                .expect("bind the local address");
        }
        if let Some(size) = options.recv_buffer {
            socket.set_recv_buffer_size(size).expect("SO_RCVBUF");
        }
        if options.linger_zero {
            socket.set_linger(Some(Duration::ZERO)).expect("SO_LINGER");
        }
        socket
            .connect_timeout(&addr.into(), Duration::from_secs(5))
            .expect("connect");
        let stream: TcpStream = socket.into();
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        stream.set_nodelay(true).expect("nodelay");
        Self { stream }
    }

    pub(crate) fn send(&mut self, payload: &[u8]) {
        let len = u32::try_from(payload.len()).expect("payload under 4 GiB");
        let mut wire = len.to_le_bytes().to_vec();
        wire.extend_from_slice(payload);
        self.stream.write_all(&wire).expect("write a frame");
    }

    /// The next frame, or `None` at a clean end of stream.
    pub(crate) fn recv(&mut self) -> io::Result<Option<Vec<u8>>> {
        let mut header = [0u8; 4];
        let mut filled = 0;
        while filled < 4 {
            match self.stream.read(&mut header[filled..])? {
                0 if filled == 0 => return Ok(None),
                0 => return Err(io::ErrorKind::UnexpectedEof.into()),
                n => filled += n,
            }
        }
        let mut payload = vec![0u8; u32::from_le_bytes(header) as usize];
        self.stream.read_exact(&mut payload)?;
        Ok(Some(payload))
    }

    pub(crate) fn shutdown_write(&self) {
        self.stream
            .shutdown(Shutdown::Write)
            .expect("shutdown(Write)");
    }
}

/// A listener on 127.0.0.1 with the given backlog that never accepts.
pub(crate) fn stuck_listener(backlog: i32) -> (Socket, SocketAddr) {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket
        .bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into())
        .expect("bind");
    socket.listen(backlog).expect("listen");
    let addr = socket
        .local_addr()
        .expect("local addr")
        .as_socket()
        .expect("an inet address");
    (socket, addr)
}

/// Connects to `addr` until a connect attempt times out (the listener's
/// accept queue is full and the kernel drops further SYNs); returns the
/// connections that made it. Panics if the queue never fills.
pub(crate) fn fill_accept_queue(addr: SocketAddr) -> Vec<TcpStream> {
    let mut held = Vec::new();
    for _ in 0..64 {
        match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            Ok(stream) => held.push(stream),
            Err(err) if err.kind() == io::ErrorKind::TimedOut => return held,
            Err(err) => panic!("filling the accept queue: {err}"),
        }
    }
    panic!("64 connections and the accept queue is not full: SYNs are not dropped here")
}

/// A current-thread tokio runtime for a tokio-util peer's thread.
fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// tokio-util's client: sends `frames` random payloads (0..=`max_len`
/// bytes) through `Framed<TcpStream, LengthDelimitedCodec>`, `window` at a
/// time, and checks each echo. Blocking.
pub(crate) fn tokio_util_echo_client(
    addr: SocketAddr,
    frames: usize,
    window: usize,
    max_len: usize,
    seed: u64,
) -> Result<(), String> {
    tokio_runtime().block_on(async move {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
        let mut rng = Rng::new(seed);
        let mut done = 0;
        while done < frames {
            let batch: Vec<Bytes> = (0..window.min(frames - done))
                .map(|_| rng.payload(max_len))
                .collect();
            for payload in &batch {
                framed
                    .feed(payload.clone())
                    .await
                    .map_err(|e| format!("send: {e}"))?;
            }
            SinkExt::<Bytes>::flush(&mut framed)
                .await
                .map_err(|e| format!("flush: {e}"))?;
            for expected in batch {
                let got = tokio::time::timeout(Duration::from_secs(10), framed.next())
                    .await
                    .map_err(|_| format!("no echo #{done} within 10 s"))?
                    .ok_or_else(|| format!("end of stream before echo #{done}"))?
                    .map_err(|e| format!("decode echo #{done}: {e}"))?;
                if got != expected {
                    return Err(format!(
                        "echo #{done} differs: {} bytes, expected {}",
                        got.len(),
                        expected.len()
                    ));
                }
                done += 1;
            }
        }
        Ok(())
    })
}

/// A tokio-util echo server on its own thread: every connection is a
/// `Framed<TcpStream, LengthDelimitedCodec>` that sends back each frame.
/// Runs until the process ends; returns its address.
pub(crate) fn tokio_util_echo_server() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        tokio_runtime().block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let mut framed = Framed::new(stream, LengthDelimitedCodec::new());
                    while let Some(Ok(frame)) = framed.next().await {
                        if framed.send(frame.freeze()).await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
    });
    addr
}

/// A raw peer on a blocking thread.
pub(crate) async fn raw<R: Runtime>(addr: SocketAddr, recv_buffer: Option<usize>) -> RawPeer {
    blocking(move || {
        RawPeer::connect(
            addr,
            RawOptions {
                recv_buffer,
                ..RawOptions::default()
            },
        )
    })
    .await
}
