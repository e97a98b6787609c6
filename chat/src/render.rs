//! [`render`]: server messages as lines for people (the text door sends
//! them; the terminal client prints them).

use crate::protocol::Message;

/// A line of text for a server message, or `None` for the transfer
/// messages (the client shows those as progress). Never holds a line
/// ending (the text door's codec could not send it).
pub fn render(message: &Message) -> Option<String> {
    let line = match message {
        Message::Welcome {
            session,
            name,
            room,
        } => format!(
            "* welcome, {name}! you are session {session}, in room {room} (/help lists commands)"
        ),
        Message::Error { code, text } => format!("! {text} ({code})"),
        Message::Said { room, from, text } => format!("[{room}] {from}: {text}"),
        Message::Joined { room, name } => format!("* {name} joined {room}"),
        Message::Left { room, name } => format!("* {name} left {room}"),
        Message::Rooms { rooms } => {
            let list: Vec<String> = rooms.iter().map(|(r, n)| format!("{r} ({n})")).collect();
            format!("* rooms: {}", list.join(", "))
        }
        Message::Members { room, names } => format!("* in {room}: {}", names.join(", ")),
        Message::Past {
            room,
            from,
            text,
            at_ms,
        } => {
            let secs = at_ms / 1000 % 86_400;
            let (h, m, s) = (secs / 3600, secs / 60 % 60, secs % 60);
            format!("[{room}] ({h:02}:{m:02}:{s:02} UTC) {from}: {text}")
        }
        Message::PrivateFrom { from, text } => format!("(pm from {from}) {text}"),
        Message::OfferFrom {
            id,
            from,
            file,
            size,
        } => format!("* {from} offers {file} ({size} bytes): /accept {id} or /refuse {id}"),
        Message::Refuse { id, reason } => format!("* transfer {id} refused: {reason}"),
        Message::Cancel { id, reason } => format!("* transfer {id} cancelled: {reason}"),
        _ => return None,
    };
    Some(line.replace(['\r', '\n'], " "))
}
