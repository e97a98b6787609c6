//! `loadgen`: load for echo and broadcast servers on this machine, every
//! reply verified (content, order, once), with latency percentiles from
//! hdrhistogram. Modes: closed-loop `echo`, open-loop `rate`, `idle`
//! connections (with the server's memory per connection), `broadcast`
//! fan-out, and `hostile`: the `rate` load beside clients that attack the
//! server (silent, garbage, oversized frames, one byte a second, never
//! reading, connecting in a loop), each expected to be closed by it. Loopback only, bounded in time; it stops by itself and exits
//! non-zero if anything was lost, corrupt or failed.
//!
//! ```text
//! cargo run --release -p proto-loadgen -- echo --addr 127.0.0.1:7000 --connections 50 --window 16 --seconds 5
//! cargo run --release -p proto-loadgen -- rate --connections 10000 --rate 10 --seconds 10
//! cargo run --release -p proto-loadgen -- idle --connections 10000 --server-pid 1234
//! cargo run --release -p proto-loadgen -- broadcast --members 1000 --senders 1 --rate 1000
//! cargo run --release -p proto-loadgen -- hostile --legit 50 --rate 100 --silent 1000 --max-frame 1048576
//! ```

mod conn;
mod modes;
mod report;
mod wire;

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use clap::{Args, Parser, Subcommand};

use modes::Common;
use report::Report;
use wire::Codec;

/// Load for an echo or broadcast server on this machine.
#[derive(Debug, Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    mode: Mode,
}

#[derive(Debug, Subcommand)]
enum Mode {
    /// Closed loop: each connection keeps `--window` messages in flight.
    Echo {
        #[command(flatten)]
        common: CommonArgs,
        /// Connections.
        #[arg(long, default_value_t = 50)]
        connections: usize,
        /// Messages in flight per connection.
        #[arg(long, default_value_t = 16)]
        window: usize,
    },
    /// Open loop: each connection sends `--rate` messages a second.
    Rate {
        #[command(flatten)]
        common: CommonArgs,
        /// Connections.
        #[arg(long, default_value_t = 100)]
        connections: usize,
        /// Messages a second per connection.
        #[arg(long, default_value_t = 10.0)]
        rate: f64,
    },
    /// Connections that echo once and then sit idle.
    Idle {
        #[command(flatten)]
        common: CommonArgs,
        /// Connections.
        #[arg(long, default_value_t = 1000)]
        connections: usize,
        /// The server's process id, to read its memory per connection.
        #[arg(long)]
        server_pid: Option<u32>,
    },
    /// `--legit` connections at `--rate` messages a second (as `rate`),
    /// while hostile connections attack the server; each hostile one must
    /// be closed by the server before the run ends (plus 10 s).
    Hostile {
        #[command(flatten)]
        common: CommonArgs,
        /// Legitimate connections.
        #[arg(long, default_value_t = 50)]
        legit: usize,
        /// Messages a second per legitimate connection.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
        /// Connections that send nothing (closed by the idle timeout).
        #[arg(long, default_value_t = 0)]
        silent: usize,
        /// Connections that send random bytes announcing a 4 GiB frame.
        #[arg(long, default_value_t = 0)]
        garbage: usize,
        /// Connections that announce a frame one byte over `--max-frame`.
        #[arg(long, default_value_t = 0)]
        oversize: usize,
        /// Connections that send one byte a second (slowloris).
        #[arg(long, default_value_t = 0)]
        trickle: usize,
        /// Connections that send large messages and never read.
        #[arg(long, default_value_t = 0)]
        never_read: usize,
        /// Connections opened and closed in a loop.
        #[arg(long, default_value_t = 0)]
        churn: usize,
        /// The server's largest frame, in payload bytes.
        #[arg(long, default_value_t = 1 << 20)]
        max_frame: usize,
    },
    /// Fan-out through a server that sends each message to every session.
    Broadcast {
        #[command(flatten)]
        common: CommonArgs,
        /// Connections (members of the broadcast).
        #[arg(long, default_value_t = 1000)]
        members: usize,
        /// Members that send.
        #[arg(long, default_value_t = 1)]
        senders: usize,
        /// Messages a second per sender.
        #[arg(long, default_value_t = 100.0)]
        rate: f64,
    },
}

#[derive(Debug, Args)]
struct CommonArgs {
    /// The server (a loopback address).
    #[arg(long, default_value = "127.0.0.1:7000")]
    addr: SocketAddr,
    /// How frame lengths are written.
    #[arg(long, value_enum, default_value = "laster40net")]
    codec: Codec,
    /// Payload bytes per message (at least 20).
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Seconds of load, warm-up included.
    #[arg(long, default_value_t = 5.0)]
    seconds: f64,
    /// Seconds at the start left out of the figures.
    #[arg(long, default_value_t = 1.0)]
    warmup: f64,
    /// A name for the server in the report.
    #[arg(long, default_value = "server")]
    label: String,
    /// Worker threads of the load generator.
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// One JSON object per run instead of a table row.
    #[arg(long)]
    json: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let common = match &cli.mode {
        Mode::Echo { common, .. }
        | Mode::Rate { common, .. }
        | Mode::Idle { common, .. }
        | Mode::Broadcast { common, .. }
        | Mode::Hostile { common, .. } => common,
    };
    match run(&cli.mode, common) {
        Ok(report) => {
            report.print(common.json);
            if report.clean() {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(err) => {
            eprintln!("loadgen: {err}");
            ExitCode::from(2)
        }
    }
}

fn run(mode: &Mode, args: &CommonArgs) -> Result<Report, String> {
    conn::check_loopback(args.addr)?;
    if !(args.seconds > 0.0 && args.seconds <= 3600.0) {
        return Err(format!("--seconds {} must be in (0, 3600]", args.seconds));
    }
    let connections = match mode {
        Mode::Echo { connections, .. }
        | Mode::Rate { connections, .. }
        | Mode::Idle { connections, .. } => *connections,
        Mode::Broadcast { members, .. } => *members,
        Mode::Hostile {
            legit,
            silent,
            garbage,
            oversize,
            trickle,
            never_read,
            ..
        } => legit + silent + garbage + oversize + trickle + never_read + 1,
    };
    conn::raise_fd_limit(connections)?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads.max(1))
        .enable_all()
        .build()
        .map_err(|err| format!("cannot start the runtime: {err}"))?;
    let start = Instant::now();
    let seconds = Duration::from_secs_f64(args.seconds);
    let common = Common {
        target: args.addr,
        codec: args.codec,
        size: args.size.max(wire::HEADER),
        start,
        warmup: Duration::from_secs_f64(args.warmup.clamp(0.0, args.seconds / 2.0)),
        stop: start + seconds,
        progress: Arc::new(AtomicU64::new(0)),
    };
    let bar = progress(&common, args);
    let measured = common.measured_secs();
    let report = runtime.block_on(async {
        match mode {
            Mode::Echo {
                connections,
                window,
                ..
            } => {
                let (tally, failed, lost) = modes::echo::run(&common, *connections, *window).await;
                let mut r =
                    Report::new("echo", &args.label, *connections, measured).with_tally(&tally);
                r.failed_connections = failed;
                r.lost = lost;
                r
            }
            Mode::Rate {
                connections, rate, ..
            } => {
                let (tally, failed, lost) = modes::rate::run(&common, *connections, *rate).await;
                let mut r =
                    Report::new("rate", &args.label, *connections, measured).with_tally(&tally);
                r.failed_connections = failed;
                r.lost = lost;
                r
            }
            Mode::Idle {
                connections,
                server_pid,
                ..
            } => {
                let idle = modes::idle::run(&common, *connections, *server_pid).await;
                let mut r = Report::new("idle", &args.label, *connections, measured)
                    .with_tally(&idle.tally);
                r.failed_connections = idle.failed;
                r.rss_per_connection = idle.rss_per_connection;
                r
            }
            Mode::Hostile {
                legit,
                rate,
                silent,
                garbage,
                oversize,
                trickle,
                never_read,
                churn,
                max_frame,
                ..
            } => {
                let attack = modes::hostile::Attack {
                    silent: *silent,
                    garbage: *garbage,
                    oversize: *oversize,
                    trickle: *trickle,
                    never_read: *never_read,
                    churn: *churn,
                    max_frame: *max_frame,
                };
                let run = modes::hostile::run(&common, *legit, *rate, attack).await;
                let mut r =
                    Report::new("hostile", &args.label, *legit, measured).with_tally(&run.tally);
                r.failed_connections = run.failed;
                r.lost = run.lost;
                r.hostile = Some(run.kinds);
                r
            }
            Mode::Broadcast {
                members,
                senders,
                rate,
                ..
            } => {
                let fanout = modes::broadcast::run(&common, *members, *senders, *rate).await;
                let mut r = Report::new("broadcast", &args.label, *members, measured)
                    .with_tally(&fanout.tally);
                r.failed_connections = fanout.failed;
                r.lost = fanout.lost;
                r
            }
        }
    });
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    Ok(report)
}

/// A progress bar on stderr for runs of more than a few seconds, when
/// stderr is a terminal.
fn progress(c: &Common, args: &CommonArgs) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if args.quiet || args.json || args.seconds < 3.0 || !std::io::stderr().is_terminal() {
        return None;
    }
    let total = (c.stop - c.start).as_millis() as u64;
    let bar = indicatif::ProgressBar::new(total);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{bar:40} {elapsed}/{duration} {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let (bar2, c2) = (bar.clone(), c.clone());
    std::thread::spawn(move || {
        while !bar2.is_finished() && Instant::now() < c2.stop {
            bar2.set_position(c2.start.elapsed().as_millis() as u64);
            bar2.set_message(format!("{} replies", c2.progress.load(Ordering::Relaxed)));
            std::thread::sleep(Duration::from_millis(200));
        }
    });
    Some(bar)
}
