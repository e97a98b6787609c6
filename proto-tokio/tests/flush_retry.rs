//! A session driven over `TokioIo(BufWriter<TcpStream>)`: the buffered
//! writer holds what the driver wrote until it is flushed, and its flush
//! returns `Pending` while the socket is full. Replies still arrive
//! without a further send: the driver flushes after writing and retries a
//! flush that pended once the socket takes bytes again.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto_core::driver::AdmissionExt;
use proto_core::frame::LengthField;
use proto_core::hub::{Events, Hub, HubConfig, SessionHandle};
use proto_core::session::SessionConfig;
use proto_tokio::{TokioIo, TokioTimer};
use socket2::{Domain, Socket, Type};
use tokio::io::BufWriter;
use tokio::net::TcpListener;

/// The whole test's limit (a hang fails).
const LIMIT: Duration = Duration::from_secs(30);

/// A hub, and one session of it driven over a `BufWriter` around the
/// server's end of a loopback connection; returns the client's end
/// (blocking, with a receive buffer of `recv_buffer` bytes).
async fn buffered_session(
    config: HubConfig,
    recv_buffer: usize,
) -> (Hub<LengthField>, Events, SessionHandle, TcpStream) {
    let (hub, events) = Hub::new(LengthField::laster40net(), config).expect("hub config");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    let client = tokio::task::spawn_blocking(move || connect(addr, recv_buffer));
    let (stream, peer) = listener.accept().await.expect("accept");
    let conn = hub
        .admit(peer, Instant::now())
        .expect("admitted")
        .open(Instant::now());
    let handle = conn.handle();
    tokio::spawn(conn.drive(TokioIo(BufWriter::new(stream)), TokioTimer::new()));
    let client = client.await.expect("connect thread");
    (hub, events, handle, client)
}

fn connect(addr: SocketAddr, recv_buffer: usize) -> TcpStream {
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
    socket.set_recv_buffer_size(recv_buffer).expect("SO_RCVBUF");
    socket.connect(&addr.into()).expect("connect");
    let stream: TcpStream = socket.into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream
}

/// The next laster40Net frame's payload.
fn recv(stream: &mut TcpStream) -> io::Result<Vec<u8>> {
    let mut header = [0u8; 4];
    stream.read_exact(&mut header)?;
    let mut payload = vec![0u8; u32::from_le_bytes(header) as usize];
    stream.read_exact(&mut payload)?;
    Ok(payload)
}

fn numbered(n: u32, len: usize) -> Bytes {
    let mut out = n.to_le_bytes().to_vec();
    out.resize(len, (n % 251) as u8);
    Bytes::from(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_smaller_than_the_buffer_is_flushed() {
    tokio::time::timeout(LIMIT, async {
        let (_hub, _events, handle, mut client) =
            buffered_session(HubConfig::default(), 64 * 1024).await;
        // 5 bytes: a BufWriter (8 KiB) holds them until flushed.
        handle.send(Bytes::from_static(b"reply")).expect("send");
        let got = tokio::task::spawn_blocking(move || recv(&mut client))
            .await
            .expect("reader thread")
            .expect("the reply, within the read timeout");
        assert_eq!(got, b"reply");
    })
    .await
    .expect("the test's limit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_after_a_burst_arrive_without_a_further_send() {
    const BURST: u32 = 1024;
    const LEN: usize = 4096;
    tokio::time::timeout(LIMIT, async {
        let config =
            HubConfig::default().session(SessionConfig::default().max_queue_bytes(8 << 20));
        let (_hub, _events, handle, mut client) = buffered_session(config, 4096).await;
        // 4 MiB the client does not read yet, then a last reply: the
        // socket fills, the BufWriter's flush pends, and the last reply
        // sits in its buffer; nothing is sent afterwards.
        for n in 0..BURST {
            handle.send(numbered(n, LEN)).expect("queue the burst");
        }
        handle
            .send(Bytes::from_static(b"last"))
            .expect("queue the last");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(
            handle.queued().0 > 0,
            "the socket took the whole burst; nothing was left to retry"
        );
        let got = tokio::task::spawn_blocking(move || {
            for n in 0..BURST {
                let frame = recv(&mut client).expect("a burst message");
                assert!(frame == numbered(n, LEN), "burst message {n} differs");
            }
            recv(&mut client).expect("the last reply, within the read timeout")
        })
        .await
        .expect("reader thread");
        assert_eq!(got, b"last");
        // The driver counts the last write once back from the socket call
        // (made with the session's lock released): wait for that.
        while handle.queued() != (0, 0) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        assert_eq!(handle.stats().messages_out, u64::from(BURST) + 1);
    })
    .await
    .expect("the test's limit");
}
