//! A 64 MiB file between two clients through the `chat_server` binary
//! (a child process, so that its memory can be read): it arrives with
//! the same SHA-256, a third client keeps chatting meanwhile, and the
//! server's peak RSS stays far below the file's size.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::process::ServerProcess;
use common::{DEADLINE, on_tokio, until, until_message, within};
use proto_chat::client::{ChatClient, ClientOptions, Update};
use proto_chat::protocol::Message;
use proto_tokio::Tokio;
use sha2::{Digest, Sha256};

const FILE_SIZE: usize = 64 << 20;

/// Writes `size` pseudo-random bytes to `path`; returns their SHA-256.
fn write_file(path: &std::path::Path, size: usize) -> [u8; 32] {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path).expect("create file"));
    let mut hasher = Sha256::new();
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut block = vec![0u8; 1 << 16];
    for _ in 0..size / block.len() {
        for word in block.chunks_exact_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes());
        }
        hasher.update(&block);
        file.write_all(&block).expect("write file");
    }
    file.flush().expect("flush");
    hasher.finalize().into()
}

fn sha256_of(path: &std::path::Path) -> [u8; 32] {
    let mut file = std::fs::File::open(path).expect("open received file");
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).expect("read received file");
        if n == 0 {
            return hasher.finalize().into();
        }
        hasher.update(&buf[..n]);
    }
}

#[test]
fn large_file_arrives_intact_in_bounded_server_memory_while_others_chat() {
    let dir = std::env::temp_dir().join(format!("chat-transfer-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    let source = dir.join("big.bin");
    let digest = write_file(&source, FILE_SIZE);
    let server = ServerProcess::start::<&str>(&[]);
    let rss_before = server.memory("VmRSS");

    on_tokio(async {
        let connect = |name: &'static str, options: ClientOptions| async move {
            within::<Tokio, _>(
                DEADLINE,
                name,
                ChatClient::<Tokio>::connect(server.binary, name, options),
            )
            .await
            .expect("join")
        };
        let alice = connect("alice", ClientOptions::default()).await;
        let bob = connect(
            "bob",
            ClientOptions::default()
                .downloads(dir.join("downloads"))
                .auto_accept(true),
        )
        .await;
        let carol = connect("carol", ClientOptions::default()).await;

        // The server's resident memory, sampled through the transfer.
        let done = Arc::new(AtomicBool::new(false));
        let peak_rss = Arc::new(AtomicU64::new(rss_before));
        let pid = server.pid();
        let sampler = {
            let (done, peak) = (done.clone(), peak_rss.clone());
            tokio::spawn(async move {
                while !done.load(Ordering::Relaxed) {
                    let status =
                        std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
                    if let Some(kb) = status
                        .lines()
                        .find_map(|l| l.strip_prefix("VmRSS:"))
                        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
                    {
                        peak.fetch_max(kb * 1024, Ordering::Relaxed);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        // carol chats throughout: each line's round trip through the server.
        let chatter = {
            let done = done.clone();
            tokio::spawn(async move {
                let mut rtts = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    let text = format!("line {}", rtts.len());
                    let start = Instant::now();
                    carol.say(&text).expect("say");
                    until_message(
                        &carol,
                        Message::Said {
                            room: "lobby".into(),
                            from: "carol".into(),
                            text,
                        },
                    )
                    .await;
                    rtts.push(start.elapsed());
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                rtts
            })
        };

        let start = Instant::now();
        alice.send_file("bob", &source).expect("offer");
        let received = until(&bob, "the file at bob", |u| {
            matches!(u, Update::FileReceived { .. })
        })
        .await;
        let Some(Update::FileReceived {
            path,
            verified,
            from,
            ..
        }) = received.last().cloned()
        else {
            unreachable!("until returns the match last")
        };
        until(&alice, "the sender's completion", |u| {
            matches!(u, Update::FileSent { .. })
        })
        .await;
        let elapsed = start.elapsed();
        done.store(true, Ordering::Relaxed);
        let mut rtts = chatter.await.expect("chatter");
        sampler.await.expect("sampler");

        assert_eq!(from, "alice");
        assert!(verified, "bob's client found a SHA-256 mismatch");
        assert_eq!(path, dir.join("downloads").join("alice").join("big.bin"));
        assert_eq!(
            sha256_of(&path),
            digest,
            "the saved file differs from the sent one"
        );
        let progress = received
            .iter()
            .filter(|u| matches!(u, Update::Progress { .. }))
            .count();
        assert_eq!(
            progress,
            FILE_SIZE / (64 << 10),
            "one progress update per chunk"
        );

        rtts.sort_unstable();
        assert!(
            rtts.len() >= 5,
            "carol chatted only {} times during the transfer",
            rtts.len()
        );
        let p50 = rtts[rtts.len() / 2];
        let max = *rtts.last().expect("some round trips");
        let hwm = server.memory("VmHWM");
        let peak = peak_rss.load(Ordering::Relaxed);
        eprintln!(
            "64 MiB in {elapsed:.2?}; carol's round trips during it: {} lines, p50 {p50:.2?}, max {max:.2?}; \
             server RSS before {:.1} MiB, sampled peak {:.1} MiB, VmHWM {:.1} MiB",
            rtts.len(),
            rss_before as f64 / 1048576.0,
            peak as f64 / 1048576.0,
            hwm as f64 / 1048576.0,
        );
        assert!(
            p50 < Duration::from_millis(250),
            "chat latency p50 {p50:?} during the transfer"
        );
        assert!(
            max < Duration::from_secs(2),
            "chat latency max {max:?} during the transfer"
        );
        assert!(
            hwm < (FILE_SIZE / 2) as u64,
            "server peak RSS {hwm} bytes is not well below the file's {FILE_SIZE}"
        );
    });
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
