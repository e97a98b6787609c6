//! [`MetricsEndpoint`]: `GET /metrics` over HTTP/1.1 on a thread of its
//! own, one short connection at a time (Prometheus scrapes every few
//! seconds; nothing here is on the chat's path).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use prometheus_client::encoding::prometheus_text;
use prometheus_client::registry::Registry;

/// Longest request head read (a scrape's is a few hundred bytes).
const MAX_REQUEST: usize = 8 * 1024;
/// How long a client may take to send its request or read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);
/// How often the accept loop looks at the stop flag.
const POLL: Duration = Duration::from_millis(50);

/// The `/metrics` endpoint; it stops when dropped.
#[derive(Debug)]
pub struct MetricsEndpoint {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
}

impl MetricsEndpoint {
    /// Binds `addr` (port 0: any free port) and serves `registry` in the
    /// Prometheus text format (version 0.0.4) at `/metrics`.
    pub fn serve(addr: SocketAddr, registry: Registry) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        std::thread::Builder::new()
            .name("chat-metrics".into())
            .spawn(move || accept_loop(&listener, &registry, &flag))?;
        tracing::info!(%addr, "metrics at http://{addr}/metrics");
        Ok(Self { addr, stop })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsEndpoint {
    fn drop(&mut self) {
        self.stop.store(true, Relaxed);
    }
}

fn accept_loop(listener: &TcpListener, registry: &Registry, stop: &AtomicBool) {
    while !stop.load(Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                if let Err(err) = answer(stream, registry) {
                    tracing::debug!(error = %err, "metrics request failed");
                }
            }
            Err(err) if err.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(POLL),
            Err(err) => {
                tracing::warn!(error = %err, "metrics endpoint: accept failed");
                std::thread::sleep(POLL);
            }
        }
    }
}

/// Reads one request head and answers it: the metrics for `GET
/// /metrics`, 404 for any other path, 405 for another method.
fn answer(mut stream: TcpStream, registry: &Registry) -> std::io::Result<()> {
    stream.set_nonblocking(false)?;
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < MAX_REQUEST {
        let n = stream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (method, path) = (
        parts.next().unwrap_or_default(),
        parts.next().unwrap_or_default(),
    );
    let path = path.split(|&b| b == b'?').next().unwrap_or_default();
    let (status, body) = match (method, path) {
        (b"GET", b"/metrics") => {
            let mut body = String::new();
            match prometheus_text::encode(&mut body, registry) {
                Ok(()) => ("200 OK", body),
                Err(_) => (
                    "500 Internal Server Error",
                    "cannot encode the metrics\n".into(),
                ),
            }
        }
        (b"GET", _) => ("404 Not Found", "the metrics are at /metrics\n".into()),
        _ => ("405 Method Not Allowed", "GET /metrics\n".into()),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        prometheus_text::CONTENT_TYPE,
        body.len()
    );
    stream.write_all(response.as_bytes())?;
    stream.flush()
}
