//! [`Command`]: the slash commands, parsed once for both the text door
//! (server side) and the terminal client.

use crate::protocol::Message;

/// A typed line: a slash command, or text for the current room.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Text for the current room (a line not starting with `/`).
    Say(String),
    /// `/join ROOM`.
    Join(String),
    /// `/leave`: back to the lobby.
    Leave,
    /// `/rooms`.
    Rooms,
    /// `/who`.
    Who,
    /// `/history [N]`: the room's last N lines (default
    /// [`DEFAULT_HISTORY`]).
    History(u16),
    /// `/pm NAME TEXT`.
    Pm {
        /// The recipient.
        to: String,
        /// The line.
        text: String,
    },
    /// `/send NAME PATH` (binary client only).
    Send {
        /// The recipient.
        to: String,
        /// The file.
        path: String,
    },
    /// `/accept [ID]` (binary client only): without an id, the latest
    /// offer still waiting.
    Accept(Option<u64>),
    /// `/refuse [ID]` (binary client only): without an id, the latest
    /// offer still waiting.
    Refuse(Option<u64>),
    /// `/help`.
    Help,
    /// `/quit`.
    Quit,
}

/// Lines `/history` asks for without a number.
pub const DEFAULT_HISTORY: u16 = 20;

/// One line per command, for `/help`.
pub const HELP: &[&str] = &[
    "/join ROOM       move to ROOM (created on demand)",
    "/leave           back to the lobby",
    "/rooms           list the rooms",
    "/who             who is in this room",
    "/history [N]     the room's last N lines (default 20)",
    "/pm NAME TEXT    a private message",
    "/send NAME PATH  offer a file (binary client only)",
    "/accept [ID]     take a file offered to you (the latest without ID; binary client only)",
    "/refuse [ID]     turn a file down (the latest without ID; binary client only)",
    "/quit            leave the chat",
    "anything else is said to the room",
];

impl Command {
    /// Parses a typed line; the error says what is wrong, for the person
    /// who typed it.
    pub fn parse(line: &str) -> Result<Self, String> {
        let line = line.trim_end_matches(['\r', '\n']);
        let Some(rest) = line.strip_prefix('/') else {
            return Ok(Self::Say(line.to_string()));
        };
        let (name, args) = rest.split_once(' ').unwrap_or((rest, ""));
        let args = args.trim();
        let one = |usage: &str| {
            if args.is_empty() || args.contains(' ') {
                Err(format!("usage: {usage}"))
            } else {
                Ok(args.to_string())
            }
        };
        let two = |usage: &str| match args.split_once(' ') {
            Some((a, b)) if !b.trim().is_empty() => Ok((a.to_string(), b.trim().to_string())),
            _ => Err(format!("usage: {usage}")),
        };
        let id = |usage: &str| {
            if args.is_empty() {
                return Ok(None);
            }
            one(usage)?
                .parse::<u64>()
                .map(Some)
                .map_err(|_| format!("usage: {usage} (ID is a number)"))
        };
        let none = |cmd: Command| {
            if args.is_empty() {
                Ok(cmd)
            } else {
                Err(format!("/{name} takes no arguments"))
            }
        };
        match name {
            "join" => one("/join ROOM").map(Self::Join),
            "leave" => none(Self::Leave),
            "rooms" => none(Self::Rooms),
            "who" => none(Self::Who),
            "history" => {
                if args.is_empty() {
                    return Ok(Self::History(DEFAULT_HISTORY));
                }
                one("/history [N]")?
                    .parse::<u16>()
                    .map(Self::History)
                    .map_err(|_| "usage: /history [N] (N is a number up to 65535)".to_string())
            }
            "pm" | "msg" => two("/pm NAME TEXT").map(|(to, text)| Self::Pm { to, text }),
            "send" => two("/send NAME PATH").map(|(to, path)| Self::Send { to, path }),
            "accept" => id("/accept [ID]").map(Self::Accept),
            "refuse" => id("/refuse [ID]").map(Self::Refuse),
            "help" => Ok(Self::Help),
            "quit" | "exit" => Ok(Self::Quit),
            _ => Err(format!("unknown command /{name} (/help lists them)")),
        }
    }

    /// The request a command sends to the server, for the commands that
    /// are one message (`None` for `/send`, `/accept`, `/refuse`,
    /// `/help`, `/quit`, which the client handles itself).
    pub fn request(&self) -> Option<Message> {
        Some(match self {
            Self::Say(text) => Message::Say { text: text.clone() },
            Self::Join(room) => Message::Join { room: room.clone() },
            Self::Leave => Message::Leave,
            Self::Rooms => Message::ListRooms,
            Self::Who => Message::Who,
            Self::History(count) => Message::History { count: *count },
            Self::Pm { to, text } => Message::Private {
                to: to.clone(),
                text: text.clone(),
            },
            _ => return None,
        })
    }
}

/// Whether `name` may be a nickname or a room name: 1 to 32 ASCII
/// letters, digits, `_` or `-`.
pub fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_command() {
        assert_eq!(
            Command::parse("hi there"),
            Ok(Command::Say("hi there".into()))
        );
        assert_eq!(
            Command::parse("/join games"),
            Ok(Command::Join("games".into()))
        );
        assert_eq!(
            Command::parse("/pm bob hello you"),
            Ok(Command::Pm {
                to: "bob".into(),
                text: "hello you".into()
            })
        );
        assert_eq!(Command::parse("/accept 42"), Ok(Command::Accept(Some(42))));
        assert_eq!(Command::parse("/refuse"), Ok(Command::Refuse(None)));
        assert_eq!(Command::parse("/quit\r"), Ok(Command::Quit));
        assert_eq!(Command::parse("/history"), Ok(Command::History(20)));
        assert_eq!(Command::parse("/history 5"), Ok(Command::History(5)));
        assert!(Command::parse("/history x").is_err());
        assert!(Command::parse("/history 65536").is_err());
        assert!(Command::parse("/join").is_err());
        assert!(Command::parse("/join a b").is_err());
        assert!(Command::parse("/pm bob").is_err());
        assert!(Command::parse("/who x").is_err());
        assert!(Command::parse("/nope").is_err());
    }

    #[test]
    fn names_are_short_and_plain() {
        assert!(valid_name("alice_2-x"));
        assert!(!valid_name(""));
        assert!(!valid_name("a b"));
        assert!(!valid_name(&"a".repeat(33)));
        assert!(!valid_name("ünï"));
    }
}
