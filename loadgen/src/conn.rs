//! Connections: spread over 127.0.0.x source addresses, with the open-file
//! limit raised as far as the hard limit allows.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

use crate::wire::Codec;

/// Connections per source address (the local ports of one address run
/// out near 28,000).
const PER_SOURCE: usize = 20_000;

/// Refuses any target that is not on this machine: the load generator
/// sends only to loopback addresses.
pub(crate) fn check_loopback(addr: SocketAddr) -> Result<(), String> {
    if addr.ip().is_loopback() {
        Ok(())
    } else {
        Err(format!(
            "{addr} is not a loopback address: loadgen only loads servers on this machine (127.0.0.0/8 or ::1)"
        ))
    }
}

/// Raises the soft open-file limit to the hard one; says clearly when even
/// that is too low for `connections`.
pub(crate) fn raise_fd_limit(connections: usize) -> Result<u64, String> {
    let (soft, hard) = rlimit::Resource::NOFILE
        .get()
        .map_err(|err| format!("cannot read the open-file limit: {err}"))?;
    if soft < hard {
        rlimit::Resource::NOFILE
            .set(hard, hard)
            .map_err(|err| format!("cannot raise the open-file limit to {hard}: {err}"))?;
    }
    let needed = connections as u64 + 64;
    if hard < needed {
        return Err(format!(
            "{connections} connections need about {needed} open files, but this process may open at most {hard} (hard limit): run several loadgen processes, each with fewer connections"
        ));
    }
    Ok(hard)
}

/// Connects connection number `n` to `target` as [`connect_tcp`] does,
/// then opens the WebSocket for [`Codec::Websocket`].
pub(crate) async fn connect(target: SocketAddr, n: usize, codec: Codec) -> io::Result<TcpStream> {
    let mut stream = connect_tcp(target, n).await?;
    if codec == Codec::Websocket {
        open_websocket(&mut stream, target).await?;
    }
    Ok(stream)
}

/// The client's opening handshake (RFC 6455 §4.1): the request, then the
/// server's `101` head, and nothing after it (an echo server speaks only
/// when spoken to).
async fn open_websocket(stream: &mut TcpStream, target: SocketAddr) -> io::Result<()> {
    let request = format!(
        "GET / HTTP/1.1\r\nHost: {target}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await?;
    let mut head = Vec::with_capacity(256);
    while !head.ends_with(b"\r\n\r\n") {
        let mut byte = [0u8; 1];
        if stream.read(&mut byte).await? == 0 || head.len() > 8192 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "no WebSocket handshake answer",
            ));
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head);
    // The accept key of the RFC's sample key (§1.3).
    if !head.starts_with("HTTP/1.1 101") || !head.contains("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!("WebSocket upgrade refused: {head}"),
        ));
    }
    Ok(())
}

/// Connects connection number `n` to `target`, from 127.0.0.(1 + n / 20,000)
/// when the target is IPv4 loopback, with TCP_NODELAY.
async fn connect_tcp(target: SocketAddr, n: usize) -> io::Result<TcpStream> {
    let stream = match target.ip() {
        // The first PER_SOURCE connections come from the kernel's own
        // choice of address and port: binding to a source address with
        // port 0 makes the kernel search the bound ports for a free one,
        // which with thousands of sockets in TIME_WAIT from earlier runs
        // costs more than the load itself (the load generator then
        // measures its own connects). Only beyond that are source
        // addresses bound.
        IpAddr::V4(ip) if ip.is_loopback() && n >= PER_SOURCE => {
            let socket = TcpSocket::new_v4()?;
            let host = 1 + (n / PER_SOURCE) as u8;
            let source = SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, host)), 0);
            socket.bind(source)?;
            socket.connect(target).await?
        }
        _ => TcpStream::connect(target).await?,
    };
    stream.set_nodelay(true)?;
    Ok(stream)
}
