//! [`Console`]: typed lines in, printed lines out, independently.

use std::io::{self, IsTerminal, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use rustyline::error::ReadlineError;
use rustyline::{DefaultEditor, ExternalPrinter};

/// What the person at the console did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A line (without its line ending).
    Line(String),
    /// Ctrl-C.
    Interrupted,
    /// Ctrl-D, or the end of standard input.
    Eof,
}

type Sink = Box<dyn ExternalPrinter + Send>;

/// Prints lines above the one being typed (rustyline's external printer),
/// or plainly to stdout when stdin is not a terminal. Cheap to clone; usable
/// from any thread.
#[derive(Clone)]
pub struct Printer {
    sink: Option<Arc<Mutex<Sink>>>,
}

impl std::fmt::Debug for Printer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Printer")
            .field("external", &self.sink.is_some())
            .finish()
    }
}

impl Printer {
    /// A printer to plain stdout (for scripts and tests).
    pub fn stdout() -> Self {
        Self { sink: None }
    }

    /// Prints `line` (a line ending is added).
    pub fn print(&self, line: impl Into<String>) {
        let mut line = line.into();
        if let Some(sink) = &self.sink {
            line.push('\n');
            let mut sink = sink.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = sink.print(line);
            return;
        }
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    }
}

/// A line editor on a thread of its own: typed lines arrive through
/// [`next`](Self::next) while other tasks print through
/// [`printer`](Self::printer) without breaking the line being typed.
///
/// The editor reads a line only when [`next`](Self::next) asks for one,
/// so once the program stops asking (it is quitting) the terminal is left
/// alone and what is typed next goes to the shell.
#[derive(Debug)]
pub struct Console {
    input: smol::channel::Receiver<Input>,
    /// Asks the editor thread for a line.
    wanted: smol::channel::Sender<()>,
    /// A line was asked for and has not arrived yet.
    asked: AtomicBool,
    printer: Printer,
    /// The terminal's settings at start (`stty -g`), put back on
    /// [`restore`](Self::restore): the editor thread may still hold the
    /// terminal in raw mode when the program ends.
    saved_tty: Option<String>,
}

impl Console {
    /// Starts the editor thread with `prompt`.
    pub fn start(prompt: &str) -> io::Result<Self> {
        let mut editor = DefaultEditor::new().map_err(io::Error::other)?;
        let terminal = io::stdin().is_terminal();
        let printer = match editor.create_external_printer() {
            Ok(sink) if terminal => Printer {
                sink: Some(Arc::new(Mutex::new(Box::new(sink) as Sink))),
            },
            _ => Printer::stdout(),
        };
        let saved_tty = terminal.then(stty_settings).flatten();
        let (tx, rx) = smol::channel::unbounded();
        let (wanted, asks) = smol::channel::unbounded::<()>();
        let prompt = prompt.to_string();
        std::thread::Builder::new()
            .name("console".into())
            .spawn(move || {
                while asks.recv_blocking().is_ok() {
                    let input = match editor.readline(&prompt) {
                        Ok(line) => {
                            let _ = editor.add_history_entry(line.as_str());
                            Input::Line(line)
                        }
                        Err(ReadlineError::Interrupted) => Input::Interrupted,
                        Err(_) => Input::Eof,
                    };
                    let end = input == Input::Eof;
                    if tx.send_blocking(input).is_err() || end {
                        break;
                    }
                }
            })?;
        Ok(Self {
            input: rx,
            wanted,
            asked: AtomicBool::new(false),
            printer,
            saved_tty,
        })
    }

    /// The next input; [`Input::Eof`] once the editor has ended. Safe to
    /// cancel (drop) and call again: the line asked for is not lost.
    pub async fn next(&self) -> Input {
        if !self.asked.swap(true, Ordering::AcqRel) && self.wanted.try_send(()).is_err() {
            return Input::Eof;
        }
        let input = self.input.recv().await.unwrap_or(Input::Eof);
        self.asked.store(false, Ordering::Release);
        input
    }

    /// Prints above the line being typed.
    pub fn printer(&self) -> &Printer {
        &self.printer
    }

    /// Puts the terminal back as it was at start (call before exiting).
    pub fn restore(&self) {
        if let Some(saved) = &self.saved_tty {
            if self.asked.load(Ordering::Acquire) {
                // The editor is still on its prompt line: end it, so that
                // what follows starts on a line of its own. The editor
                // thread prints the last messages (and redraws its prompt
                // after them) on its own time, with no way to wait for
                // it: give it a moment first.
                std::thread::sleep(std::time::Duration::from_millis(100));
                let _ = write!(io::stdout(), "\r\n");
                let _ = io::stdout().flush();
            }
            let _ = Command::new("stty")
                .arg(saved)
                .stdin(Stdio::inherit())
                .status();
        }
    }
}

/// The terminal's settings, as `stty -g` prints them.
fn stty_settings() -> Option<String> {
    let out = Command::new("stty")
        .arg("-g")
        .stdin(Stdio::inherit())
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}
