//! Out of file descriptors: the listener logs, pauses and retries — no
//! crash, no busy loop — and accepts again once descriptors are free.
//!
//! Alone in its test binary: it lowers the process's descriptor limit.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use proto_core::frame::LengthField;
use proto_core::hub::{Event, Hub};
use proto_tokio::{Server, ServerConfig};
use rlimit::Resource;
use socket2::{Domain, Socket, Type};

const PAUSE: Duration = Duration::from_millis(200);

fn highest_open_fd() -> u64 {
    std::fs::read_dir("/proc/self/fd")
        .expect("/proc/self/fd is readable on Linux")
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
        .max()
        .expect("some descriptor is open")
}

fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts an echo server on a runtime of its own thread.
fn start_server() -> (SocketAddr, Hub<LengthField>) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let config = ServerConfig::default().accept_error_pause(PAUSE);
            let mut server = Server::bind("127.0.0.1:0", LengthField::laster40net(), config)
                .await
                .expect("bind");
            let mut events = server.events();
            let hub = server.hub().clone();
            tx.send((server.local_addr().expect("addr"), hub.clone()))
                .expect("test waits");
            tokio::spawn(server.run());
            while let Some(event) = events.recv().await {
                if let Event::Message { id, payload } = event {
                    let _ = hub.send(id, payload);
                }
            }
        });
    });
    rx.recv().expect("server started")
}

#[test]
fn accept_errors_pause_then_recover() {
    let (addr, hub) = start_server();
    let clients: Vec<Socket> = (0..3)
        .map(|_| Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket"))
        .collect();

    let (soft, hard) = rlimit::getrlimit(Resource::NOFILE).expect("getrlimit");
    // No descriptor above the highest open one can be made: accept fails
    // with EMFILE.
    rlimit::setrlimit(Resource::NOFILE, highest_open_fd() + 1, hard).expect("setrlimit");
    // Fill the gaps below it.
    let mut fillers = Vec::new();
    while let Ok(file) = std::fs::File::open("/dev/null") {
        fillers.push(file);
    }
    for client in &clients {
        client
            .connect(&addr.into())
            .expect("the kernel completes the handshake");
    }
    let start = Instant::now();
    std::thread::sleep(Duration::from_millis(1000));
    let errors = hub.stats().accept_errors;
    let elapsed = start.elapsed();
    drop(fillers);
    rlimit::setrlimit(Resource::NOFILE, soft, hard).expect("restore the limit");

    // A pause of 200 ms allows about 5 attempts a second; a busy loop
    // would make thousands.
    let most = elapsed.as_millis() / PAUSE.as_millis() + 2;
    assert!(
        errors >= 2,
        "accept kept failing, yet only {errors} errors were counted"
    );
    assert!(
        u128::from(errors) <= most,
        "{errors} accept errors in {elapsed:?}: not pausing {PAUSE:?} between attempts"
    );

    // Descriptors are free again: the waiting connections are accepted and
    // served.
    wait_until("all three are accepted", || hub.len() == 3);
    let mut stream: TcpStream = clients.into_iter().next().expect("three clients").into();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(b"\x02\x00\x00\x00hi").expect("write");
    let mut echo = [0u8; 6];
    stream.read_exact(&mut echo).expect("echo");
    assert_eq!(&echo, b"\x02\x00\x00\x00hi");
}
