//! The broadcast mode against a minimal fan-out server written here:
//! every delivery is counted, with several senders whose schedules end at
//! different moments.

use std::process::Command;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::net::tcp::OwnedWriteHalf;

type Members = Arc<Mutex<Vec<(usize, Arc<tokio::sync::Mutex<OwnedWriteHalf>>)>>>;

/// Serves on a thread of its own: every byte a member sends goes to every
/// member, forwarded raw and in order under one lock. A member that ends
/// its stream is dropped, as a server without half-close does.
fn fan_out_server() -> std::net::SocketAddr {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let listener = runtime
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        runtime.block_on(async move {
            let members: Members = Arc::default();
            let order = Arc::new(tokio::sync::Mutex::new(()));
            for id in 0.. {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (mut read, write) = stream.into_split();
                members
                    .lock()
                    .expect("members")
                    .push((id, Arc::new(tokio::sync::Mutex::new(write))));
                let (members, order) = (members.clone(), order.clone());
                tokio::spawn(async move {
                    let mut buf = vec![0u8; 64 * 1024];
                    loop {
                        let n = match read.read(&mut buf).await {
                            Ok(0) | Err(_) => {
                                members.lock().expect("members").retain(|m| m.0 != id);
                                return;
                            }
                            Ok(n) => n,
                        };
                        let _order = order.lock().await;
                        let all = members.lock().expect("members").clone();
                        for (_, member) in all {
                            let _ = member.lock().await.write_all(&buf[..n]).await;
                        }
                    }
                });
            }
        });
    });
    addr
}

fn run(senders: usize) -> serde_json::Value {
    let addr = fan_out_server();
    let out = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["broadcast", "--members", "6", "--senders"])
        .arg(senders.to_string())
        .args(["--rate", "50", "--seconds", "1", "--codec", "tokio-util"])
        .args(["--json", "--quiet", "--addr"])
        .arg(addr.to_string())
        .output()
        .expect("loadgen runs");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("one JSON report on stdout");
    assert!(
        out.status.success(),
        "loadgen failed: {report} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    report
}

/// Senders whose schedules end at different moments keep their streams
/// open until every delivery is in: none is lost to an early FIN (with
/// three senders, three deliveries used to be counted lost).
#[test]
fn several_senders_lose_nothing() {
    for senders in [1, 3] {
        let report = run(senders);
        assert_eq!(report["lost"], 0, "{senders} senders: {report}");
        assert_eq!(report["errors"], 0, "{senders} senders: {report}");
        assert!(
            report["messages"].as_u64().expect("messages") >= 6 * senders as u64 * 10,
            "{senders} senders: 50 a second each for what is left of a second after \
             connecting, to 6 members: {report}"
        );
    }
}
