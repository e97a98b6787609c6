//! The `chat_server` program as a child process on free ports, killed
//! when dropped.

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};

use super::DEADLINE;

/// The server process, killed when dropped (also when a test fails).
pub struct ServerProcess {
    child: Child,
    /// The binary door.
    pub binary: SocketAddr,
}

impl ServerProcess {
    /// Starts `chat_server` on free ports, with `args` after them, and
    /// waits for its "ready" log line.
    pub fn start<S: AsRef<OsStr>>(args: &[S]) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_chat_server"))
            .args([
                "--port",
                "0",
                "--text-port",
                "0",
                "--ws-port",
                "0",
                "--run-for",
                "300",
            ])
            .args(args)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start chat_server");
        let stderr = child.stderr.take().expect("stderr piped");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            // Keeps draining the log after the ready line, so that the
            // server never blocks on a full pipe.
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("chat server ready binary=").nth(1) {
                    let addr = rest
                        .split_whitespace()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    let _ = tx.send(addr);
                }
            }
        });
        let addr = rx.recv_timeout(DEADLINE).expect("the server's ready line");
        Self {
            child,
            binary: addr.parse().expect("a socket address"),
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A `kB` field of `/proc/<pid>/status` (VmRSS, VmHWM), in bytes.
    pub fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("read /proc/<pid>/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|kb| kb * 1024)
            .unwrap_or_else(|| panic!("no {field} in /proc status"))
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
