//! What a person reads: one [`Line`] for each frame the server sends ([`render`]), and the
//! client's own lines (its errors and notices, the private messages it sent, its help). Pure: the
//! receiver and main threads print what these return through the `Output`, which makes each line
//! safe, and colours it (`style.rs`) when it goes to a terminal.
//!
//! A line keeps its parts apart (a tag, a name, the text), so the style layer can colour the name
//! without parsing text back; put together they are the plain line the chat log gets.

use super::FILE_COMMAND;
use super::{clock, progress};
use crate::protocol::{EXIT_COMMAND, SHUTTING_DOWN, ServerFrame};

/// What a line is, which decides its style.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// `[INFO] ...`: from the server, or the client's help.
    Info,
    /// `[ERROR] ...`: refused by the server or by the client.
    Error,
    /// `[NOTICE] ...`: from the server's operator.
    Notice,
    /// `[Notification] ...`: a file sent or saved.
    Notification,
    /// `alice: hi`, a live public message.
    Message,
    /// `[PM] alice: hi`, a private message received.
    Private,
    /// `-> bob: hi`, a private message this client sent.
    SentPrivate,
    /// `[history 2026-12-01 10:37 UTC] alice: hi`, a message from before this client joined.
    History,
    /// `bob has joined the chat room.` and `bob has left the chat.`
    Presence,
    /// `Me: hi`, what this client sent, for the chat log.
    Own,
}

/// One line a person reads, in parts: `tag`, then `name` (a username, coloured by the style
/// layer), then `text`. Any part may be empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Line {
    pub(super) kind: Kind,
    pub(super) tag: String,
    pub(super) name: String,
    pub(super) text: String,
}

impl Line {
    fn new(kind: Kind, tag: &str, name: &str, text: String) -> Line {
        Line {
            kind,
            tag: tag.to_owned(),
            name: name.to_owned(),
            text,
        }
    }

    /// `[INFO] <text>`.
    pub(super) fn info(text: &str) -> Line {
        Line::new(Kind::Info, "[INFO] ", "", text.to_owned())
    }

    /// `[ERROR] <text>`.
    pub(super) fn error(text: &str) -> Line {
        Line::new(Kind::Error, "[ERROR] ", "", text.to_owned())
    }

    /// `[WARNING] <text>`: something the user must know is unsafe; red, as an error.
    #[cfg(feature = "tls")]
    pub(super) fn warning(text: &str) -> Line {
        Line::new(Kind::Error, "[WARNING] ", "", text.to_owned())
    }

    /// `[Notification] <text>`.
    pub(super) fn notification(text: &str) -> Line {
        Line::new(Kind::Notification, "[Notification] ", "", text.to_owned())
    }

    /// `-> <to>: <text>`: a private message this client sent.
    pub(super) fn sent_private(to: &str, text: &str) -> Line {
        Line::new(Kind::SentPrivate, "-> ", to, format!(": {text}"))
    }

    /// `Me: <text>`: a message this client sent (the terminal shows it as typed).
    pub(super) fn own(text: &str) -> Line {
        Line::new(Kind::Own, "Me: ", "", text.to_owned())
    }

    /// `[Notification] Received file: <path> (<size>, from <from>)`: where a file from `from`
    /// was saved (`path` as [`saved_path`](super::saving::saved_path) says it) and how big it is.
    pub(super) fn file_received(path: &str, size: u64, from: &str) -> Line {
        Line::notification(&format!(
            "Received file: {path} ({}, from {from})",
            progress::size(size)
        ))
    }

    /// `[Notification] <from> is sending <name> (<size>)...`: a big file announced as its header
    /// arrives, before it is there.
    pub(super) fn file_arriving(from: &str, name: &str, size: u64) -> Line {
        Line::notification(&format!(
            "{from} is sending {name} ({})...",
            progress::size(size)
        ))
    }

    /// The line without style: what the chat log gets, and a terminal without colours.
    pub(super) fn plain(&self) -> String {
        [self.tag.as_str(), &self.name, &self.text].concat()
    }
}

/// The client's own commands, shown by `/help` before the server's list.
pub(super) fn client_help() -> Vec<Line> {
    vec![
        Line::info(&format!("{FILE_COMMAND} PATH: send a file to everyone")),
        Line::info(&format!(
            "{FILE_COMMAND} PATH as NAME: send it under another name"
        )),
        Line::info(&format!("{EXIT_COMMAND}: leave the chat")),
        Line::info("//text: send a message that starts with /"),
    ]
}

/// The line a person reads for a frame; `None` for a file, whose line says where it was saved.
pub(super) fn render(frame: &ServerFrame) -> Option<Line> {
    Some(match frame {
        ServerFrame::Info(text) => Line::info(text),
        ServerFrame::Welcome(name) => Line::info(&format!(
            "Joined as {name}. Type a message, {FILE_COMMAND} PATH to send a file, \
             /help for more, {EXIT_COMMAND} to leave."
        )),
        ServerFrame::Users(names) => Line::info(&format!("Online: {}", names.join(", "))),
        ServerFrame::Message { from, text } => {
            Line::new(Kind::Message, "", from, format!(": {text}"))
        }
        ServerFrame::Private { from, text } => {
            Line::new(Kind::Private, "[PM] ", from, format!(": {text}"))
        }
        ServerFrame::History { at, from, text } => {
            let tag = format!("[history {}] ", clock::date_time(*at));
            Line::new(Kind::History, &tag, from, format!(": {text}"))
        }
        ServerFrame::Notice(text) => Line::new(Kind::Notice, "[NOTICE] ", "", text.clone()),
        ServerFrame::Join(name) => Line::new(
            Kind::Presence,
            "",
            name,
            " has joined the chat room.".into(),
        ),
        ServerFrame::Leave(name) => {
            Line::new(Kind::Presence, "", name, " has left the chat.".into())
        }
        // The clean stop is no error of this client's: said as information.
        ServerFrame::Error(text) if text == SHUTTING_DOWN => {
            Line::info("The server is shutting down.")
        }
        ServerFrame::Error(text) => Line::error(text),
        ServerFrame::Auth(text) => Line::new(Kind::Info, "[AUTH] ", "", text.clone()),
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
                "[INFO] Joined as bob. Type a message, /file PATH to send a file, \
                 /help for more, exit to leave.",
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
            (
                ServerFrame::Error("server is shutting down".into()),
                "[INFO] The server is shutting down.",
            ),
            (
                ServerFrame::Auth("password for alice".into()),
                "[AUTH] password for alice",
            ),
        ];
        for (frame, line) in cases {
            assert_eq!(render(&frame).map(|l| l.plain()).as_deref(), Some(line));
        }
        let file = ServerFrame::File {
            from: "bob".into(),
            name: "a".into(),
            data: vec![],
        };
        assert_eq!(render(&file), None);
    }

    #[test]
    fn private_history_and_notices_are_set_apart_from_live_messages() {
        let cases = [
            (
                ServerFrame::Private {
                    from: "alice".into(),
                    text: "hi".into(),
                },
                Kind::Private,
                "[PM] alice: hi",
            ),
            (
                ServerFrame::History {
                    at: 1_796_121_420,
                    from: "alice".into(),
                    text: "hi".into(),
                },
                Kind::History,
                "[history 2026-12-01 10:37 UTC] alice: hi",
            ),
            (
                ServerFrame::Notice("back in 5".into()),
                Kind::Notice,
                "[NOTICE] back in 5",
            ),
        ];
        for (frame, kind, shown) in cases {
            let line = render(&frame).unwrap();
            assert_eq!((line.kind, line.plain().as_str()), (kind, shown));
        }
    }

    #[test]
    fn names_are_kept_apart_for_the_style_layer() {
        let line = render(&ServerFrame::Private {
            from: "alice".into(),
            text: "hi".into(),
        })
        .unwrap();
        assert_eq!((line.tag.as_str(), line.name.as_str()), ("[PM] ", "alice"));
        assert_eq!(
            render(&ServerFrame::Join("bob".into())).unwrap().name,
            "bob"
        );
        assert_eq!(render(&ServerFrame::Info("x".into())).unwrap().name, "");
    }

    #[test]
    fn own_lines_read_as_sent() {
        assert_eq!(Line::sent_private("bob", "hi").plain(), "-> bob: hi");
        assert_eq!(Line::own("hi").plain(), "Me: hi");
        assert_eq!(Line::error("x").plain(), "[ERROR] x");
        assert_eq!(Line::notification("x").plain(), "[Notification] x");
        let help: Vec<String> = client_help().iter().map(Line::plain).collect();
        assert_eq!(
            help,
            [
                "[INFO] /file PATH: send a file to everyone",
                "[INFO] /file PATH as NAME: send it under another name",
                "[INFO] exit: leave the chat",
                "[INFO] //text: send a message that starts with /",
            ]
        );
    }
}
