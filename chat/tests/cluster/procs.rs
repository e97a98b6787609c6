//! Real processes on loopback: a throwaway `redis-server` (installed with
#![allow(unreachable_pub)]
//! apt-get when missing and running as root) and `chat_server`
//! instances. Every process is killed when its value is dropped.

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::common::DEADLINE;

/// A port below the ephemeral range whose neighbour is free too.
pub fn free_port() -> u16 {
    let random = RandomState::new();
    for draw in 0u64.. {
        let port = 20_000 + (random.hash_one(draw) % 12_000) as u16;
        let free = |p: u16| TcpListener::bind(("127.0.0.1", p)).is_ok();
        if free(port) && free(port + 1) {
            return port;
        }
    }
    unreachable!("the loop returns or runs forever")
}

/// Waits until `ready` holds, polling; panics after [`DEADLINE`].
pub fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn redis_server() -> &'static str {
    let found = || {
        Command::new("redis-server")
            .arg("--version")
            .output()
            .is_ok()
    };
    if !found() {
        // The rule: tests install the package when it is missing.
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout == b"0\n");
        assert!(
            root.unwrap_or(false),
            "redis-server is missing: apt-get install -y redis-server (.ci/run does it)"
        );
        let ok = Command::new("sh")
            .args([
                "-c",
                "apt-get update -qq && apt-get install -y -qq redis-server",
            ])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok && found(), "could not install redis-server with apt-get");
    }
    "redis-server"
}

/// A throwaway Redis: no persistence, loopback only.
pub struct Redis {
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    pub fn start() -> Self {
        let mut redis = Self {
            port: free_port(),
            child: None,
        };
        redis.restart();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// Answers PING.
    fn pong(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut buf = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    }

    /// Kills it (SIGKILL): everything it held is gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it (again) on the same port, empty.
    pub fn restart(&mut self) {
        self.kill();
        let child = Command::new(redis_server())
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        wait_until("redis to answer PING", || self.pong());
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A `chat_server` process.
pub struct Instance {
    pub binary: SocketAddr,
    pub text: SocketAddr,
    pub metrics: Option<SocketAddr>,
    child: Child,
    pub log: PathBuf,
}

/// What an instance is started with.
pub struct Options<'a> {
    pub redis: Option<&'a Redis>,
    pub name: &'a str,
    pub presence_ttl: f64,
    pub history_file: Option<PathBuf>,
    pub metrics: bool,
}

impl Default for Options<'_> {
    fn default() -> Self {
        Self {
            redis: None,
            name: "a",
            presence_ttl: 2.0,
            history_file: None,
            metrics: false,
        }
    }
}

impl Instance {
    pub fn start(options: &Options<'_>) -> Self {
        let port = free_port();
        let log = std::env::temp_dir().join(format!(
            "chat-cluster-{}-{}-{port}.log",
            std::process::id(),
            options.name
        ));
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_chat_server"));
        cmd.args([
            "--port",
            &port.to_string(),
            "--text-port",
            &(port + 1).to_string(),
        ])
        // No web door: its default port would collide between instances.
        .arg("--no-web")
        .args(["--instance", options.name])
        .args(["--presence-ttl", &options.presence_ttl.to_string()])
        .args(["--grace", "1"]);
        match &options.history_file {
            Some(file) => cmd.arg("--history-file").arg(file),
            None => cmd.arg("--no-history"),
        };
        if let Some(redis) = options.redis {
            cmd.args(["--redis", &redis.url()]);
        }
        let metrics = options.metrics.then(|| {
            let port = free_port();
            cmd.args(["--metrics", &format!("127.0.0.1:{port}")]);
            SocketAddr::from(([127, 0, 0, 1], port))
        });
        let file = std::fs::File::create(&log).expect("log file");
        let child = cmd
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("start chat_server");
        let binary = SocketAddr::from(([127, 0, 0, 1], port));
        let text = SocketAddr::from(([127, 0, 0, 1], port + 1));
        let instance = Self {
            binary,
            text,
            metrics,
            child,
            log,
        };
        wait_until("the chat server to listen", || {
            TcpStream::connect(text).is_ok()
        });
        instance
    }

    /// SIGKILL: no goodbye, no release of anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends `signal` (`STOP`, `CONT`, ...) with `kill`.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let ok = Command::new("kill")
            .args([&format!("-{signal}"), &pid])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "kill -{signal} {pid}");
    }

    /// SIGTERM, then waits for the graceful exit.
    pub fn stop(&mut self) {
        self.signal("TERM");
        let status = self.child.wait().expect("wait for chat_server");
        assert!(status.success(), "graceful exit: {status}");
    }

    /// The server's log so far (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            // The test failed: its servers' logs say why.
            let log = std::fs::read_to_string(&self.log).unwrap_or_default();
            let tail: Vec<&str> = log.lines().rev().take(60).collect();
            eprintln!("--- last lines of {} ---", self.log.display());
            for line in tail.iter().rev() {
                eprintln!("{line}");
            }
        }
        let _ = std::fs::remove_file(&self.log);
    }
}
