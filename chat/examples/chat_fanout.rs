//! Room fan-out across chat server instances: `--members` binary clients
//! spread round-robin over the `--server` addresses, all in the lobby;
//! one of them (on the first server) says `--messages` lines at
//! `--rate` per second; every member times each line from its send to
//! its arrival. Prints deliveries per second, latency percentiles, lines
//! lost and lines out of order.
//!
//! ```text
//! chat_server --port 7000 --text-port 7001 --max-clients 2000 --no-history --redis redis://127.0.0.1:6379 &
//! chat_server --port 7100 --text-port 7101 --ws-port 7102 --max-clients 2000 --no-history --redis redis://127.0.0.1:6379 &
//! cargo run --release -p proto-chat --example chat_fanout -- --server 127.0.0.1:7000 --server 127.0.0.1:7100
//! ```
#![allow(clippy::print_stdout)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use clap::Parser;
use proto_chat::client::{ChatClient, ClientOptions, Update};
use proto_chat::protocol::Message;
use proto_tokio::Tokio;

#[derive(Debug, Parser)]
struct Args {
    /// A server's binary door (repeat for each instance).
    #[arg(long = "server", required = true)]
    servers: Vec<SocketAddr>,
    /// Room members, spread round-robin over the servers.
    #[arg(long, default_value_t = 1000)]
    members: usize,
    /// Lines the sender says.
    #[arg(long, default_value_t = 1000)]
    messages: usize,
    /// Lines per second.
    #[arg(long, default_value_t = 100.0)]
    rate: f64,
    /// Seconds a member waits for its next line before giving up.
    #[arg(long, default_value_t = 30.0)]
    drain: f64,
}

/// What one member saw: the latency of each line (µs) and lines out of
/// order.
struct Seen {
    latencies: Vec<u64>,
    out_of_order: u64,
}

async fn member(
    client: ChatClient<Tokio>,
    start: Instant,
    expected: usize,
    idle: Duration,
) -> Seen {
    let mut seen = Seen {
        latencies: Vec::with_capacity(expected),
        out_of_order: 0,
    };
    let mut last = None;
    while seen.latencies.len() < expected {
        let Ok(Some(update)) = tokio::time::timeout(idle, client.next()).await else {
            break;
        };
        let Update::Message(Message::Said { from, text, .. }) = update else {
            continue; // join announcements while the room fills
        };
        let Some((seq, sent_us)) = parse(&from, &text) else {
            continue;
        };
        let now_us = start.elapsed().as_micros() as u64;
        seen.latencies.push(now_us.saturating_sub(sent_us));
        if last.is_some_and(|l| seq <= l) {
            seen.out_of_order += 1;
        }
        last = Some(seq);
    }
    seen
}

/// `b{seq} {sent_us}` from the sender `m0`.
fn parse(from: &str, text: &str) -> Option<(u64, u64)> {
    let (seq, sent) = text.strip_prefix('b')?.split_once(' ')?;
    (from == "m0").then_some(())?;
    Some((seq.parse().ok()?, sent.parse().ok()?))
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len().max(1)) - 1;
    sorted.get(i).copied().unwrap_or(0)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let start = Instant::now();
    let idle = Duration::from_secs_f64(args.drain);
    let mut sender = None;
    let mut tasks = Vec::with_capacity(args.members);
    for n in 0..args.members {
        let addr = args.servers[n % args.servers.len()];
        let client = ChatClient::<Tokio>::connect(addr, &format!("m{n}"), ClientOptions::default())
            .await
            .unwrap_or_else(|err| panic!("member {n} could not join {addr}: {err}"));
        if n == 0 {
            sender = Some(client);
        } else {
            tasks.push(tokio::spawn(member(client, start, args.messages, idle)));
        }
    }
    let sender = sender.expect("at least one member");
    // Wait until the sender's /who lists every member (presence crosses
    // instances on its refresh).
    let ready = Instant::now();
    loop {
        sender.send(&Message::Who).expect("queued");
        let mut listed = 0;
        while let Some(update) = sender.next().await {
            if let Update::Message(Message::Members { names, .. }) = update {
                listed = names.len();
                break;
            }
        }
        if listed >= args.members {
            break;
        }
        assert!(
            ready.elapsed() < Duration::from_secs(120),
            "only {listed} members listed"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let send_for = Duration::from_secs_f64(args.messages as f64 / args.rate);
    let first = Instant::now();
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    for seq in 0..args.messages {
        let due = first + interval.mul_f64(seq as f64);
        tokio::time::sleep_until(due.into()).await;
        let sent_us = start.elapsed().as_micros();
        sender.say(&format!("b{seq} {sent_us}")).expect("queued");
    }
    let mut latencies = Vec::new();
    let mut out_of_order = 0;
    for task in tasks {
        let seen = task.await.expect("member task");
        latencies.extend(seen.latencies);
        out_of_order += seen.out_of_order;
    }
    let elapsed = first.elapsed();
    let last = latencies.len();
    latencies.sort_unstable();
    let expected = (args.members - 1) * args.messages;
    // Deliveries per second over the sending period (the offered load is
    // rate × receivers; a server that keeps up delivers all of it).
    let window = send_for.as_secs_f64() + percentile(&latencies, 1.0) as f64 / 1e6;
    println!(
        "servers {} members {} lines {} at {}/s: deliveries {last} of {expected} ({:.0}/s), \
         p50 {} µs p99 {} µs max {} µs, out of order {out_of_order}, run {:.1} s",
        args.servers.len(),
        args.members,
        args.messages,
        args.rate,
        last as f64 / window,
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99),
        percentile(&latencies, 1.0),
        elapsed.as_secs_f64()
    );
    if last < expected || out_of_order > 0 {
        std::process::exit(1);
    }
}
