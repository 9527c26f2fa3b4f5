//! What the server does with a command from a client (a line starting with `/`), decided here
//! and carried out by the reader: some are answered at once from the client's own reader
//! (`/help`, an unknown command), the others need the list of who is online and go to the
//! broadcaster as events, in the one global order (`/users`, `/msg`).

use super::ClientId;
use super::event::Event;
use crate::protocol::{Command, ServerFrame};

/// The answer to `/help`, one `[INFO]` line each.
pub(super) const HELP: &[&str] = &[
    "Commands:",
    "/users - who is online",
    "/msg NAME TEXT - a private message to NAME alone",
    "/files on|off - receive the files others share, or only hear of them (off at first)",
    "/help - this list",
    "//TEXT - a message that starts with /",
    "exit - leave the chat",
];

/// What to do with a command.
#[derive(Debug)]
pub(super) enum Action {
    /// Ask the broadcaster.
    Ask(Event),
    /// Answer the client at once with these frames.
    Answer(Vec<ServerFrame>),
}

/// What client `id`'s command means for the server.
pub(super) fn act_on(id: ClientId, command: Command) -> Action {
    match command {
        Command::Users => Action::Ask(Event::Users { id }),
        Command::Msg { to, text } => Action::Ask(Event::Private { id, to, text }),
        Command::Files(on) => Action::Ask(Event::Files { id, on }),
        Command::Help => Action::Answer(
            HELP.iter()
                .map(|line| ServerFrame::Info((*line).to_owned()))
                .collect(),
        ),
        Command::Unknown(_) => Action::Answer(vec![ServerFrame::Error(format!(
            "unknown command {} (try /help)",
            command.word()
        ))]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(command: Command) -> Vec<ServerFrame> {
        match act_on(7, command) {
            Action::Answer(frames) => frames,
            Action::Ask(event) => panic!("asked the broadcaster: {event:?}"),
        }
    }

    #[test]
    fn users_and_msg_go_to_the_broadcaster() {
        assert!(matches!(
            act_on(7, Command::Users),
            Action::Ask(Event::Users { id: 7 })
        ));
        let msg = Command::Msg {
            to: "bob".into(),
            text: "hi".into(),
        };
        match act_on(7, msg) {
            Action::Ask(Event::Private { id: 7, to, text }) => {
                assert_eq!((to.as_str(), text.as_str()), ("bob", "hi"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn files_go_to_the_broadcaster() {
        assert!(matches!(
            act_on(7, Command::Files(true)),
            Action::Ask(Event::Files { id: 7, on: true })
        ));
    }

    #[test]
    fn help_lists_every_command_one_per_line() {
        let frames = answer(Command::Help);
        assert_eq!(frames.len(), HELP.len());
        for word in [
            "/users",
            "/msg NAME TEXT",
            "/files on|off",
            "/help",
            "//TEXT",
            "exit",
        ] {
            let listed = frames
                .iter()
                .any(|frame| matches!(frame, ServerFrame::Info(line) if line.starts_with(word)));
            assert!(listed, "{word} is not in /help");
        }
    }

    #[test]
    fn an_unknown_command_is_named_in_the_error() {
        assert_eq!(
            answer(Command::Unknown("/who is there".into())),
            [ServerFrame::Error(
                "unknown command /who (try /help)".into()
            )]
        );
    }
}
