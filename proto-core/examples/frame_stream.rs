//! Frames a stream of messages with a chosen wire format, cuts the bytes into
//! random reads as a socket would, and unframes them again — checking that
//! every message comes back intact and in order.
//!
//! ```text
//! cargo run -p proto-core --example frame_stream -- --preset laster40net --messages 100000
//! ```
#![allow(clippy::print_stdout)]

use std::process::ExitCode;
use std::time::Instant;

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use proto_core::frame::{FrameReader, LengthField, Line, WireBuf};
use proto_core::message::{MessageBuilder, MessageResolver};

/// Wire formats to try.
#[derive(Debug, Clone, Copy, ValueEnum)]
enum Preset {
    /// laster40Net's SimpleBinaryMessage: u32 little-endian payload length.
    Laster40net,
    /// Netty's LengthFieldPrepender(4): u32 big-endian payload length.
    Netty,
    /// tokio-util's LengthDelimitedCodec defaults.
    TokioUtil,
    /// Text lines ended by `\n`.
    Line,
}

/// Frame and unframe a stream of random messages.
#[derive(Debug, Parser)]
struct Args {
    /// Wire format.
    #[arg(long, value_enum, default_value = "laster40net")]
    preset: Preset,
    /// How many messages to send.
    #[arg(long, default_value_t = 100_000)]
    messages: usize,
    /// Largest message payload in bytes.
    #[arg(long, default_value_t = 512)]
    max_payload: usize,
    /// Largest single read in bytes (reads are cut at random below it).
    #[arg(long, default_value_t = 4096)]
    max_read: usize,
    /// Seed of the random generator: the same seed gives the same run.
    #[arg(long, default_value_t = 42)]
    seed: u64,
}

/// xorshift64*: enough randomness for message sizes and read splits.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1) as u64) as usize
    }
}

fn run<C: MessageBuilder + MessageResolver>(
    mut builder: C,
    resolver: C,
    args: &Args,
    text: bool,
) -> Result<(), String> {
    let mut rng = Rng(args.seed | 1);
    let payloads: Vec<Bytes> = (0..args.messages)
        .map(|i| {
            let len = rng.below(args.max_payload + 1);
            let byte = |k: usize| {
                if text {
                    b'a' + ((i + k) % 26) as u8
                } else {
                    (i + k) as u8
                }
            };
            (0..len).map(byte).collect::<Vec<u8>>().into()
        })
        .collect();

    let started = Instant::now();
    let mut wire = WireBuf::new();
    for payload in &payloads {
        builder
            .encode(payload.clone(), &mut wire)
            .map_err(|e| format!("encode: {e}"))?;
    }
    let bytes = wire.to_vec();

    let mut reader = FrameReader::new(resolver);
    let (mut at, mut reads, mut next) = (0, 0, 0);
    while at < bytes.len() {
        let n = (1 + rng.below(args.max_read)).min(bytes.len() - at);
        reader.extend_from_slice(&bytes[at..at + n]);
        at += n;
        reads += 1;
        while let Some(frame) = reader.next_frame().map_err(|e| format!("decode: {e}"))? {
            if payloads.get(next) != Some(&frame) {
                return Err(format!("message {next} came back different"));
            }
            next += 1;
        }
    }
    let elapsed = started.elapsed();
    if next != payloads.len() || reader.buffered() != 0 {
        return Err(format!(
            "{next} of {} messages decoded, {} bytes left over",
            payloads.len(),
            reader.buffered()
        ));
    }
    println!(
        "{:?}: {} messages, {} wire bytes in {} random reads: all decoded intact and in order ({:.1?}, {:.0} messages/s)",
        args.preset,
        next,
        bytes.len(),
        reads,
        elapsed,
        next as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}

fn main() -> ExitCode {
    let args = Args::parse();
    let result = match args.preset {
        Preset::Laster40net => {
            let c = LengthField::laster40net();
            run(c.new_codec(), c.new_codec(), &args, false)
        }
        Preset::Netty => {
            let c = LengthField::netty();
            run(c.new_codec(), c.new_codec(), &args, false)
        }
        Preset::TokioUtil => {
            let c = LengthField::tokio_util();
            run(c.new_codec(), c.new_codec(), &args, false)
        }
        Preset::Line => {
            let c = Line::default().max_line_length(args.max_payload);
            run(c.new_codec(), c.new_codec(), &args, true)
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("frame_stream: {e}");
            ExitCode::FAILURE
        }
    }
}
