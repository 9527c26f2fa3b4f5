//! What a person reads for each frame the server sends: one line per frame, as the original app
//! showed it. Pure: the receiver thread prints what [`render`] returns.

use super::FILE_COMMAND;
use crate::protocol::{EXIT_COMMAND, ServerFrame};

/// The line a person reads for a frame; `None` for a file, whose line says where it was saved.
pub(super) fn render(frame: &ServerFrame) -> Option<String> {
    Some(match frame {
        ServerFrame::Info(text) => format!("[INFO] {text}"),
        ServerFrame::Welcome(name) => format!(
            "[INFO] Joined as {name}. Type a message, {FILE_COMMAND} PATH to send a file, \
             {EXIT_COMMAND} to leave."
        ),
        ServerFrame::Users(names) => format!("[INFO] Online: {}", names.join(", ")),
        ServerFrame::Message { from, text } => format!("{from}: {text}"),
        ServerFrame::Private { from, text } => format!("[PM] {from}: {text}"),
        ServerFrame::History { from, text, .. } => format!("[history] {from}: {text}"),
        ServerFrame::Notice(text) => format!("[NOTICE] {text}"),
        ServerFrame::Join(name) => format!("{name} has joined the chat room."),
        ServerFrame::Leave(name) => format!("{name} has left the chat."),
        ServerFrame::Error(text) => format!("[ERROR] {text}"),
        ServerFrame::Auth(text) => format!("[AUTH] {text}"),
        ServerFrame::File { .. } => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_render_as_the_seed_lines() {
        let cases = [
            (ServerFrame::Info("hi there".into()), "[INFO] hi there"),
            (
                ServerFrame::Welcome("bob".into()),
                "[INFO] Joined as bob. Type a message, /file PATH to send a file, exit to leave.",
            ),
            (
                ServerFrame::Users(vec!["alice".into(), "bob".into()]),
                "[INFO] Online: alice, bob",
            ),
            (
                ServerFrame::Message {
                    from: "bob".into(),
                    text: "hi: you".into(),
                },
                "bob: hi: you",
            ),
            (
                ServerFrame::Join("bob".into()),
                "bob has joined the chat room.",
            ),
            (ServerFrame::Leave("bob".into()), "bob has left the chat."),
            (
                ServerFrame::Error("server full".into()),
                "[ERROR] server full",
            ),
        ];
        for (frame, line) in cases {
            assert_eq!(render(&frame).as_deref(), Some(line), "{frame:?}");
        }
        let file = ServerFrame::File {
            from: "bob".into(),
            name: "a".into(),
            data: vec![],
        };
        assert_eq!(render(&file), None);
    }
}
