//! Commands: a line a client sends that starts with one `/` asks the server for something instead
//! of being a chat message (`//text` is the message `/text`). This file says what such a line
//! means; the client decoder hands the result out as `ClientFrame::Command`, and the server acts
//! on it. Pure: a line in, a [`Command`] or a [`CommandError`] out.
//!
//! A command line is the command word, then its arguments separated by spaces:
//! `/users`, `/help`, `/msg NAME TEXT`, `/files on`, `/files off`. The line has passed every rule
//! of chat/1 before it gets here (length, UTF-8, no control characters).

use std::fmt;

use super::names::{NameError, check_username};

/// What starts a command line.
pub const COMMAND_PREFIX: char = '/';

/// A command a client sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `/users`: who is online, as `[USERS]` to the asker alone.
    Users,
    /// `/msg NAME TEXT`: a private message for NAME alone.
    Msg { to: String, text: String },
    /// `/help`: the server's commands, as `[INFO]` lines.
    Help,
    /// `/files on` or `/files off`: whether this connection is sent `[FILE]` frames.
    Files(bool),
    /// Any other line starting with one `/`, kept whole as sent. The server answers that it does
    /// not know it ([`word`](Command::word) says which word to name).
    Unknown(String),
}

/// Why a line naming a known command was refused: it does not fit the command's form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandError {
    /// `/msg` without a name, or a name without text.
    MsgUsage,
    /// `/msg NAME TEXT` whose NAME breaks the username rules: nobody can have that name.
    BadRecipient(NameError),
    /// `/files` without `on` or `off`.
    FilesUsage,
    /// `/users` or `/help` followed by something: they take nothing.
    TakesNothing(&'static str),
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CommandError::MsgUsage => write!(f, "usage: /msg NAME TEXT"),
            CommandError::BadRecipient(why) => write!(f, "bad username after /msg: {why}"),
            CommandError::FilesUsage => write!(f, "usage: /files on|off"),
            CommandError::TakesNothing(word) => write!(f, "usage: {word} (nothing after it)"),
        }
    }
}

impl std::error::Error for CommandError {}

impl Command {
    /// What `line` means if it is a command: `None` for a line that is not one (it does not start
    /// with `/`, or starts with `//`, the escape for a message starting with `/`).
    ///
    /// Spaces separate the command word and its arguments; more than one is the same as one, and
    /// spaces at the end are ignored, except in the TEXT of `/msg`, which is the rest of the line
    /// as sent. The word is compared exactly: `/USERS` is an unknown command.
    ///
    /// # Errors
    /// A known command word with arguments that do not fit it.
    pub fn parse(line: &str) -> Option<Result<Command, CommandError>> {
        let rest = line.strip_prefix(COMMAND_PREFIX)?;
        if rest.starts_with(COMMAND_PREFIX) {
            return None;
        }
        let (word, args) = rest.split_once(' ').unwrap_or((rest, ""));
        let args = args.trim_start_matches(' ');
        let no_args = |command| {
            if args.trim_end_matches(' ').is_empty() {
                Ok(command)
            } else {
                Err(CommandError::TakesNothing(command_word(&command)))
            }
        };
        Some(match word {
            "users" => no_args(Command::Users),
            "help" => no_args(Command::Help),
            "msg" => parse_msg(args),
            "files" => match args.trim_end_matches(' ') {
                "on" => Ok(Command::Files(true)),
                "off" => Ok(Command::Files(false)),
                _ => Err(CommandError::FilesUsage),
            },
            _ => Ok(Command::Unknown(line.to_owned())),
        })
    }

    /// The command word, `/` included (`/msg`; for an unknown command, what it was sent as, up to
    /// the first space): what an answer names.
    pub fn word(&self) -> &str {
        match self {
            Command::Unknown(line) => line.split(' ').next().unwrap_or(line),
            known => command_word(known),
        }
    }
}

/// The word of a known command.
fn command_word(command: &Command) -> &'static str {
    match command {
        Command::Users => "/users",
        Command::Msg { .. } => "/msg",
        Command::Help => "/help",
        Command::Files(_) => "/files",
        Command::Unknown(_) => "",
    }
}

/// `NAME TEXT`, the spaces before NAME already gone.
fn parse_msg(args: &str) -> Result<Command, CommandError> {
    let (to, text) = args.split_once(' ').ok_or(CommandError::MsgUsage)?;
    let text = text.trim_start_matches(' ');
    if to.is_empty() || text.is_empty() {
        return Err(CommandError::MsgUsage);
    }
    check_username(to).map_err(CommandError::BadRecipient)?;
    Ok(Command::Msg {
        to: to.to_owned(),
        text: text.to_owned(),
    })
}

/// The line a command is sent as, without its LF: what [`Command::parse`] reads back as the same
/// command. An unknown command is its line as it was sent.
impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Users | Command::Help => f.write_str(self.word()),
            Command::Msg { to, text } => write!(f, "/msg {to} {text}"),
            Command::Files(on) => write!(f, "/files {}", if *on { "on" } else { "off" }),
            Command::Unknown(line) => f.write_str(line),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(to: &str, text: &str) -> Command {
        Command::Msg {
            to: to.into(),
            text: text.into(),
        }
    }

    #[test]
    fn command_lines_parse_to_commands() {
        let cases = [
            ("/users", Command::Users),
            ("/users  ", Command::Users),
            ("/help", Command::Help),
            ("/msg bob hi there", msg("bob", "hi there")),
            ("/msg   bob   hi  ", msg("bob", "hi  ")),
            ("/msg bob /users", msg("bob", "/users")),
            ("/msg bob a\tb", msg("bob", "a\tb")),
            ("/files on", Command::Files(true)),
            ("/files off ", Command::Files(false)),
            ("/x", Command::Unknown("/x".into())),
            ("/", Command::Unknown("/".into())),
            ("/USERS", Command::Unknown("/USERS".into())),
            ("/usersx", Command::Unknown("/usersx".into())),
            (
                "/file notes.txt",
                Command::Unknown("/file notes.txt".into()),
            ),
            ("/msg\tbob hi", Command::Unknown("/msg\tbob hi".into())),
        ];
        for (line, command) in cases {
            assert_eq!(Command::parse(line), Some(Ok(command)), "{line:?}");
        }
    }

    #[test]
    fn lines_without_one_slash_are_not_commands() {
        for line in ["hello", "", "//users", "//", " /users", "a /users"] {
            assert_eq!(Command::parse(line), None, "{line:?}");
        }
    }

    #[test]
    fn malformed_commands_are_refused() {
        let cases = [
            ("/msg", CommandError::MsgUsage),
            ("/msg ", CommandError::MsgUsage),
            ("/msg bob", CommandError::MsgUsage),
            ("/msg bob ", CommandError::MsgUsage),
            ("/msg bob    ", CommandError::MsgUsage),
            (
                "/msg b@d hi",
                CommandError::BadRecipient(NameError::BadCharacter('@')),
            ),
            (
                "/msg [PM]:x hi",
                CommandError::BadRecipient(NameError::BadCharacter('[')),
            ),
            ("/files", CommandError::FilesUsage),
            ("/files maybe", CommandError::FilesUsage),
            ("/files ON", CommandError::FilesUsage),
            ("/users bob", CommandError::TakesNothing("/users")),
            ("/help me", CommandError::TakesNothing("/help")),
        ];
        for (line, error) in cases {
            assert_eq!(Command::parse(line), Some(Err(error)), "{line:?}");
        }
    }

    #[test]
    fn refusals_read_as_usage() {
        assert_eq!(CommandError::MsgUsage.to_string(), "usage: /msg NAME TEXT");
        assert_eq!(
            CommandError::BadRecipient(NameError::BadCharacter('@')).to_string(),
            "bad username after /msg: it contains '@'"
        );
        assert_eq!(CommandError::FilesUsage.to_string(), "usage: /files on|off");
        assert_eq!(
            CommandError::TakesNothing("/users").to_string(),
            "usage: /users (nothing after it)"
        );
    }

    #[test]
    fn the_word_is_what_an_answer_names() {
        assert_eq!(Command::Unknown("/x y z".into()).word(), "/x");
        assert_eq!(Command::Unknown("/".into()).word(), "/");
        assert_eq!(msg("bob", "hi").word(), "/msg");
        assert_eq!(Command::Files(true).word(), "/files");
    }

    #[test]
    fn commands_print_as_the_line_that_parses_back() {
        for command in [
            Command::Users,
            Command::Help,
            msg("bob", "hi  there "),
            Command::Files(true),
            Command::Files(false),
            Command::Unknown("/x  y".into()),
        ] {
            let line = command.to_string();
            assert_eq!(Command::parse(&line), Some(Ok(command)), "{line:?}");
        }
        assert_eq!(msg("bob", "hi").to_string(), "/msg bob hi");
    }
}
