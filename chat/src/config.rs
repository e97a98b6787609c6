//! [`Settings`]: the chat server's configuration — embedded defaults, an
//! optional TOML file (`--config FILE`), and command-line flags
//! ([`ServerArgs`]) that override the file.
//!
//! `chat/chat.example.toml` lists every key with its default (a test
//! checks that it matches [`Settings::default`]).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use proto_cli::tls::{self, TlsError, rustls};
use serde::Deserialize;

/// Everything the chat server can be told. `Default` is the embedded
/// configuration: loopback, ports 7000 and 7001, 200 clients.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// The address both doors listen on.
    pub host: IpAddr,
    /// The binary door's port (0: any free port).
    pub port: u16,
    /// The text door's port (0: any free port).
    pub text_port: u16,
    /// The web door's port (0: any free port): the chat page at `/` and
    /// its WebSocket at `/ws`.
    pub ws_port: u16,
    /// Whether the web door is open.
    pub web: bool,
    /// Most clients at once, across both doors; the next is told the
    /// server is full and closed.
    pub max_clients: usize,
    /// Seconds without receiving anything before the server pings a
    /// binary client.
    pub heartbeat_interval: f64,
    /// Seconds a binary client has to answer a ping before it is dropped.
    pub heartbeat_timeout: f64,
    /// Seconds a text user may stay silent before being dropped (text
    /// users get no heartbeat bytes).
    pub text_idle_timeout: f64,
    /// Seconds a new connection has to choose a nickname before it is
    /// closed (it holds one of the `max_clients` places meanwhile).
    pub hello_timeout: f64,
    /// Largest file a transfer may announce, in bytes.
    pub max_file_size: u64,
    /// Chunks a sender may have unacknowledged per transfer: the server
    /// relays at most `transfer_window` × 64 KiB per transfer at a time.
    pub transfer_window: u32,
    /// Malformed messages in a row a client may send; one more and it is
    /// disconnected.
    pub max_malformed: u32,
    /// Messages a second a binary client may send on average, with
    /// bursts of twice that (0: no limit). Past it the server stops
    /// reading from that client until it is back within the rate: nothing
    /// is lost, the flood just slows down (file chunks count too: 500 a
    /// second is 32 MB/s of transfer).
    pub binary_rate: u32,
    /// Messages a second a text or web user may send on average, with
    /// bursts of twice that (0: no limit), as for `binary_rate`.
    pub text_rate: u32,
    /// Seconds queued messages may take to flush on shutdown.
    pub grace: f64,
    /// The SQLite file that keeps room history (created on first run);
    /// empty: no history. The `chat_server` program opens it; a
    /// [`ChatServer`](crate::server::ChatServer) built in code keeps
    /// history only when given a store.
    pub history_file: PathBuf,
    /// Lines kept per room (on disk and in memory); `/history N` shows
    /// at most this many.
    pub history_lines: usize,
    /// Lines of a room's history shown to a user entering it.
    pub history_on_join: usize,
    /// Lines that may wait for the history writer; past that, lines are
    /// not stored (counted, and logged).
    pub history_queue: usize,
    /// Where to serve Prometheus metrics (`GET /metrics`); none by
    /// default.
    pub metrics: Option<SocketAddr>,
    /// The Redis that joins instances into one service
    /// (`redis://127.0.0.1:6379`); none: this server runs alone.
    pub redis: Option<String>,
    /// Prefix of the service's Redis channel and keys.
    pub redis_prefix: String,
    /// This instance's id in the service; empty: one is made up from the
    /// process id and the time.
    pub instance: String,
    /// Seconds an instance that stopped refreshing its presence (killed,
    /// cut off) keeps its users; then the others announce them as left.
    pub presence_ttl: f64,
    /// The server's certificate chain (PEM, its own certificate first).
    /// With [`tls_key`](Self::tls_key), every door is served over TLS:
    /// binary clients, text users (`openssl s_client`, `ncat --ssl`) and
    /// the web door (`https://`, `wss://`); none by default.
    pub tls_cert: Option<PathBuf>,
    /// The private key of [`tls_cert`](Self::tls_cert) (PEM: PKCS#8,
    /// PKCS#1 or SEC1).
    pub tls_key: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 7000,
            text_port: 7001,
            ws_port: 7002,
            web: true,
            max_clients: 200,
            heartbeat_interval: 15.0,
            heartbeat_timeout: 10.0,
            text_idle_timeout: 600.0,
            hello_timeout: 60.0,
            max_file_size: 1 << 30,
            transfer_window: crate::DEFAULT_WINDOW,
            max_malformed: 5,
            binary_rate: 500,
            text_rate: 20,
            grace: 5.0,
            history_file: PathBuf::from("chat-history.sqlite3"),
            history_lines: 100,
            history_on_join: 5,
            history_queue: 1024,
            metrics: None,
            redis: None,
            redis_prefix: "chat".into(),
            instance: String::new(),
            presence_ttl: 10.0,
            tls_cert: None,
            tls_key: None,
        }
    }
}

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML for these settings.
    #[error("config file {path}: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The error.
        #[source]
        source: toml::de::Error,
    },
    /// A value is out of range.
    #[error("invalid setting: {0}")]
    Invalid(String),
    /// The TLS certificate or key cannot be used (the error names the
    /// file).
    #[error(transparent)]
    Tls(#[from] TlsError),
}

impl Settings {
    /// Settings from a TOML file; keys it does not set keep their defaults.
    pub fn from_file(path: &Path) -> Result<Self, SettingsError> {
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_toml(&text).map_err(|source| SettingsError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Settings from TOML text.
    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// The binary door's address.
    pub fn binary_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }

    /// The text door's address.
    pub fn text_addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.text_port)
    }

    /// The web door's address, if it is open.
    pub fn web_addr(&self) -> Option<SocketAddr> {
        self.web.then(|| SocketAddr::new(self.host, self.ws_port))
    }

    /// The TLS configuration of every door, read from
    /// [`tls_cert`](Self::tls_cert) and [`tls_key`](Self::tls_key);
    /// `None` when they are not set (plain TCP). An unreadable file, one
    /// that is not PEM, or a key that does not fit the certificate is an
    /// error that names the file.
    pub fn tls(&self) -> Result<Option<Arc<rustls::ServerConfig>>, SettingsError> {
        self.check_tls_pair()?;
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => Ok(Some(tls::server_config(cert, key)?)),
            _ => Ok(None),
        }
    }

    /// A TLS certificate comes with its key, and a key with its
    /// certificate.
    fn check_tls_pair(&self) -> Result<(), SettingsError> {
        if self.tls_cert.is_some() == self.tls_key.is_some() {
            return Ok(());
        }
        let (given, missing) = match self.tls_cert {
            Some(_) => ("tls_cert (--tls-cert)", "tls_key (--tls-key)"),
            None => ("tls_key (--tls-key)", "tls_cert (--tls-cert)"),
        };
        Err(SettingsError::Invalid(format!(
            "{given} is set but {missing} is not: TLS needs both the certificate and its key"
        )))
    }

    /// Checks the values: durations positive and finite, limits at
    /// least 1, a TLS certificate with its key.
    pub fn check(&self) -> Result<(), SettingsError> {
        let durations = [
            ("heartbeat_interval", self.heartbeat_interval),
            ("heartbeat_timeout", self.heartbeat_timeout),
            ("text_idle_timeout", self.text_idle_timeout),
            ("hello_timeout", self.hello_timeout),
            ("grace", self.grace),
            ("presence_ttl", self.presence_ttl),
        ];
        for (name, secs) in durations {
            if !(secs.is_finite() && secs > 0.0 && secs < 1e9) {
                return Err(SettingsError::Invalid(format!(
                    "{name} = {secs}: must be a positive number of seconds"
                )));
            }
        }
        if self.max_clients == 0 || self.transfer_window == 0 || self.history_queue == 0 {
            return Err(SettingsError::Invalid(
                "max_clients, transfer_window and history_queue must be at least 1".into(),
            ));
        }
        self.check_tls_pair()
    }
}

/// Seconds as a [`Duration`] (for checked settings).
pub(crate) fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// The chat server's command line. Every flag overrides the same key of
/// the config file, which overrides the embedded default.
#[derive(Debug, Clone, Default, clap::Parser)]
#[command(
    name = "chat_server",
    version,
    about = "A chat server: binary clients on one port, nc/telnet users on another, browsers on a third, in the same rooms",
    after_help = "TLS: with --tls-cert and --tls-key every door is served over TLS and nothing in the clear: \
binary clients need chat_client --tls-ca, text users `openssl s_client -quiet -connect HOST:PORT` \
(or `ncat --ssl`) instead of nc, browsers https:// (the page's WebSocket is then wss://). \
Only --metrics stays plain HTTP, and a --redis link is not encrypted: keep both on loopback or a private network."
)]
pub struct ServerArgs {
    /// The async runtime to run on.
    #[arg(long, value_enum, default_value = "tokio")]
    pub runtime: proto_cli::RuntimeKind,
    /// A TOML config file (every key: chat/chat.example.toml); flags
    /// override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address both doors listen on [default: 127.0.0.1].
    #[arg(long)]
    pub host: Option<IpAddr>,
    /// Binary door port [default: 7000].
    #[arg(long)]
    pub port: Option<u16>,
    /// Text door port, for nc and telnet [default: 7001].
    #[arg(long)]
    pub text_port: Option<u16>,
    /// Web door port: the chat page and its WebSocket [default: 7002].
    #[arg(long)]
    pub ws_port: Option<u16>,
    /// Keep the web door closed.
    #[arg(long)]
    pub no_web: bool,
    /// Most clients at once, across both doors [default: 200].
    #[arg(long)]
    pub max_clients: Option<usize>,
    /// Seconds of quiet before a binary client is pinged [default: 15].
    #[arg(long)]
    pub heartbeat_interval: Option<f64>,
    /// Seconds a binary client has to answer a ping [default: 10].
    #[arg(long)]
    pub heartbeat_timeout: Option<f64>,
    /// Seconds of silence before a text user is dropped [default: 600].
    #[arg(long)]
    pub text_idle_timeout: Option<f64>,
    /// Seconds a new connection has to choose a nickname [default: 60].
    #[arg(long)]
    pub hello_timeout: Option<f64>,
    /// Largest file a transfer may announce, in bytes [default: 1 GiB].
    #[arg(long)]
    pub max_file_size: Option<u64>,
    /// Chunks (64 KiB) a sender may have unacknowledged per transfer
    /// [default: 8].
    #[arg(long)]
    pub transfer_window: Option<u32>,
    /// Malformed messages in a row before a client is disconnected
    /// [default: 5].
    #[arg(long)]
    pub max_malformed: Option<u32>,
    /// Messages a second a binary client may send, bursts of twice that
    /// (0: no limit) [default: 500].
    #[arg(long)]
    pub binary_rate: Option<u32>,
    /// Messages a second a text or web user may send, bursts of twice
    /// that (0: no limit) [default: 20].
    #[arg(long)]
    pub text_rate: Option<u32>,
    /// Seconds queued messages may take to flush on shutdown [default: 5].
    #[arg(long)]
    pub grace: Option<f64>,
    /// SQLite file for room history, created on first run [default:
    /// chat-history.sqlite3].
    #[arg(long, value_name = "PATH")]
    pub history_file: Option<PathBuf>,
    /// Keep no room history (as `history_file = ""` in the file).
    #[arg(long, conflicts_with = "history_file")]
    pub no_history: bool,
    /// Lines of history kept per room [default: 100].
    #[arg(long)]
    pub history_lines: Option<usize>,
    /// Lines of history shown on entering a room [default: 5].
    #[arg(long)]
    pub history_on_join: Option<usize>,
    /// Lines that may wait for the history writer [default: 1024].
    #[arg(long)]
    pub history_queue: Option<usize>,
    /// Serve Prometheus metrics at http://ADDR/metrics (for example
    /// 127.0.0.1:9100) [default: off].
    #[arg(long, value_name = "ADDR")]
    pub metrics: Option<SocketAddr>,
    /// Join the instances using this Redis into one chat service
    /// (redis://127.0.0.1:6379) [default: run alone].
    #[arg(long, value_name = "URL")]
    pub redis: Option<String>,
    /// Prefix of the service's Redis channel and keys [default: chat].
    #[arg(long)]
    pub redis_prefix: Option<String>,
    /// This instance's id in the service [default: made up].
    #[arg(long)]
    pub instance: Option<String>,
    /// Seconds before a silent instance's users are announced as left
    /// [default: 10].
    #[arg(long)]
    pub presence_ttl: Option<f64>,
    /// Serve every door over TLS with this certificate chain (PEM, the
    /// server's own certificate first; needs --tls-key): see "TLS" below
    /// [default: no TLS].
    #[arg(long, value_name = "PATH")]
    pub tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM: PKCS#8, PKCS#1 or SEC1).
    #[arg(long, value_name = "PATH")]
    pub tls_key: Option<PathBuf>,
    /// Shut down by itself after this many seconds (for scripts).
    #[arg(long)]
    pub run_for: Option<f64>,
}

impl ServerArgs {
    /// The settings: the file's (or the defaults), then each flag given.
    pub fn settings(&self) -> Result<Settings, SettingsError> {
        let mut s = match &self.config {
            Some(path) => Settings::from_file(path)?,
            None => Settings::default(),
        };
        macro_rules! apply {
            ($($field:ident),*) => {
                $(if let Some(v) = self.$field { s.$field = v; })*
            };
        }
        apply!(
            host,
            port,
            text_port,
            ws_port,
            max_clients,
            heartbeat_interval,
            heartbeat_timeout,
            text_idle_timeout,
            hello_timeout,
            max_file_size,
            transfer_window,
            max_malformed,
            binary_rate,
            text_rate,
            grace,
            history_lines,
            history_on_join,
            history_queue,
            presence_ttl
        );
        if self.redis.is_some() {
            s.redis.clone_from(&self.redis);
        }
        if let Some(prefix) = &self.redis_prefix {
            s.redis_prefix.clone_from(prefix);
        }
        if let Some(instance) = &self.instance {
            s.instance.clone_from(instance);
        }
        if let Some(path) = &self.history_file {
            s.history_file = path.clone();
        }
        if self.tls_cert.is_some() {
            s.tls_cert.clone_from(&self.tls_cert);
        }
        if self.tls_key.is_some() {
            s.tls_key.clone_from(&self.tls_key);
        }
        if self.no_history {
            s.history_file = PathBuf::new();
        }
        if self.metrics.is_some() {
            s.metrics = self.metrics;
        }
        if self.no_web {
            s.web = false;
        }
        s.check()?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = std::env::temp_dir().join(format!("chat-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let file = dir.join("chat.toml");
        std::fs::write(&file, "port = 9000\nmax_clients = 3\n").expect("write config");
        let args = ServerArgs::parse_from([
            "chat_server",
            "--config",
            file.to_str().expect("utf-8 path"),
            "--max-clients",
            "7",
        ]);
        let s = args.settings().expect("settings");
        assert_eq!((s.port, s.max_clients, s.text_port), (9000, 7, 7001));
        std::fs::remove_dir_all(&dir).expect("clean up");
    }

    #[test]
    fn example_file_holds_the_defaults() {
        let example = Settings::from_toml(include_str!("../chat.example.toml"));
        assert_eq!(example.expect("the example parses"), Settings::default());
    }

    #[test]
    fn rejects_unknown_keys_and_bad_durations() {
        assert!(Settings::from_toml("prot = 1").is_err());
        let s = Settings {
            grace: -1.0,
            ..Settings::default()
        };
        assert!(s.check().is_err());
    }
}
