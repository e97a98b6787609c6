//! The terminal chat client; `--help` lists the options. Incoming
//! messages are printed above the line being typed; `/help` lists the
//! commands; `/quit`, Ctrl-C or Ctrl-D exits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use proto_chat::client::{ChatClient, ClientOptions, JoinError, Update};
use proto_chat::command::{Command, HELP};
use proto_chat::protocol::ErrorCode;
use proto_chat::render::render;
use proto_cli::tls::rustls::{self, pki_types::ServerName};
use proto_cli::tls::{self, TlsError};
use proto_cli::{Console, Input, Main, Printer, RuntimeKind, TlsRuntime};
use proto_core::driver::Runtime;

/// Chat with the chat server's binary door.
#[derive(Debug, Parser)]
#[command(name = "chat_client", version)]
struct Args {
    /// The async runtime to run on.
    #[arg(long, value_enum, default_value = "tokio")]
    runtime: RuntimeKind,
    /// The server's binary door.
    #[arg(long, default_value = "127.0.0.1:7000")]
    addr: SocketAddr,
    /// Your nickname (asked for if not given).
    #[arg(long)]
    name: Option<String>,
    /// Received files are saved as DOWNLOADS/SENDER/FILE.
    #[arg(long, default_value = "downloads")]
    downloads: PathBuf,
    /// Connect over TLS (to a chat_server given --tls-cert), trusting only
    /// the CA certificates in PATH (PEM; the server's own certificate, if
    /// self-signed). A server certificate not signed by them is refused
    /// and the client exits with an error.
    #[arg(long, value_name = "PATH")]
    tls_ca: Option<PathBuf>,
    /// The name the server's certificate must carry (a DNS name or an IP
    /// address), with --tls-ca [default: the host of --addr].
    #[arg(long, value_name = "NAME", requires = "tls_ca")]
    tls_name: Option<String>,
}

fn main() -> ExitCode {
    proto_cli::init_logging("warn");
    let args = Args::parse();
    proto_cli::block_on(args.runtime, args).unwrap_or_else(|err| {
        tracing::error!("cannot start the runtime: {err}");
        ExitCode::FAILURE
    })
}

impl Main for Args {
    type Output = ExitCode;

    async fn run<R: TlsRuntime>(self) -> ExitCode {
        let tls = match self.tls() {
            Ok(tls) => tls,
            Err(err) => {
                tracing::error!("{err}");
                return ExitCode::from(2);
            }
        };
        let console = match Console::start("> ") {
            Ok(console) => console,
            Err(err) => {
                tracing::error!("no console: {err}");
                return ExitCode::FAILURE;
            }
        };
        let runtime = R::default();
        let code = match tls {
            Some((config, name)) => {
                session(runtime.tls_client(config, name), &self, &console).await
            }
            None => session(runtime, &self, &console).await,
        };
        console.restore();
        code
    }
}

/// A client's TLS configuration and the server name it expects.
type Tls = (Arc<rustls::ClientConfig>, ServerName<'static>);

impl Args {
    /// What `--tls-ca` and `--tls-name` ask for (`None`: plain TCP).
    fn tls(&self) -> Result<Option<Tls>, TlsError> {
        let Some(ca) = &self.tls_ca else {
            return Ok(None);
        };
        let host = self.addr.ip().to_string();
        let name = tls::server_name(self.tls_name.as_deref().unwrap_or(&host))?;
        Ok(Some((tls::client_config(ca)?, name)))
    }
}

/// Joins (asking for another nickname while the one given is taken), then
/// chats until `/quit`, Ctrl-C or the server goes away.
async fn session<R: Runtime>(runtime: R, args: &Args, console: &Console) -> ExitCode {
    let out = console.printer();
    let mut name = args.name.clone();
    let options = ClientOptions::default().downloads(&args.downloads);
    let client = loop {
        let chosen = match name.take() {
            Some(name) => name,
            None => {
                out.print("your nickname?");
                match console.next().await {
                    Input::Line(line) => line.trim().to_string(),
                    _ => return ExitCode::SUCCESS,
                }
            }
        };
        let connecting =
            ChatClient::connect_on(runtime.clone(), args.addr, &chosen, options.clone());
        match connecting.await {
            Ok(client) => break client,
            Err(JoinError::Refused { code, text })
                if code == ErrorCode::NAME_TAKEN || code == ErrorCode::INVALID_NAME =>
            {
                out.print(format!("! {text}"));
            }
            Err(err) => {
                out.print(format!("! {err}"));
                if matches!(err, JoinError::NoWelcome(_)) && args.tls_ca.is_none() {
                    out.print("! (if the server runs with --tls-cert, connect with --tls-ca)");
                }
                return ExitCode::FAILURE;
            }
        }
    };
    out.print(format!(
        "* connected to {} as {} (session {}); /help lists commands",
        args.addr,
        client.name(),
        client.session()
    ));
    let mut progress = HashMap::new();
    let code = loop {
        let typed = async { Ok(console.next().await) };
        let update = async { Err(client.next().await) };
        match smol::future::or(typed, update).await {
            Ok(Input::Line(line)) => match Command::parse(&line) {
                Ok(Command::Quit) => break ExitCode::SUCCESS,
                Ok(Command::Help) => HELP.iter().for_each(|h| out.print(*h)),
                Ok(Command::Say(text)) if text.trim().is_empty() => {}
                Ok(command) => {
                    if let Command::Pm { to, text } = &command {
                        out.print(format!("(pm to {to}) {text}"));
                    }
                    if let Err(err) = client.command(&command) {
                        out.print(format!("! not sent: {err}"));
                    }
                }
                Err(why) => out.print(format!("! {why}")),
            },
            Ok(Input::Interrupted | Input::Eof) => break ExitCode::SUCCESS,
            Err(Some(Update::Disconnected(reason))) => {
                out.print(format!(
                    "! the server closed the connection ({reason}); exiting"
                ));
                break ExitCode::FAILURE;
            }
            Err(Some(update)) => show(out, &update, &mut progress),
            Err(None) => {
                out.print("! connection lost; exiting");
                break ExitCode::FAILURE;
            }
        }
    };
    client.close().await;
    code
}

/// Prints an update; progress every 10 %.
fn show(out: &Printer, update: &Update, progress: &mut HashMap<(u64, bool), u64>) {
    match update {
        Update::Message(message) => {
            if let Some(line) = render(message) {
                out.print(line);
            }
        }
        Update::Offered { id, to, size } => {
            out.print(format!(
                "* offered {size} bytes to {to} (transfer {id}); waiting for them"
            ));
        }
        Update::Progress {
            id,
            outgoing,
            done,
            total,
        } => {
            let percent = if *total == 0 { 100 } else { done * 100 / total };
            let step = percent / 10;
            let last = progress.entry((*id, *outgoing)).or_insert(u64::MAX);
            if *last != step {
                *last = step;
                let verb = if *outgoing { "sent" } else { "received" };
                out.print(format!(
                    "* transfer {id}: {percent}% {verb} ({done} of {total} bytes)"
                ));
            }
        }
        Update::FileSent { id, to } => out.print(format!("* transfer {id}: {to} has every byte")),
        Update::FileReceived {
            id,
            from,
            path,
            verified,
        } => {
            let check = if *verified {
                "SHA-256 verified"
            } else {
                "SHA-256 MISMATCH: the file is damaged"
            };
            out.print(format!(
                "* transfer {id}: file from {from} saved as {} ({check})",
                path.display()
            ));
        }
        Update::TransferFailed { id, reason } => {
            out.print(format!("! transfer {id} failed: {reason}"));
        }
        _ => {}
    }
}
