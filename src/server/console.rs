//! The operator's console: commands typed at the server, one per line.
//!
//! `/users` (who is online, from where, for how long), `/kick NAME [REASON]`, `/say TEXT` (a
//! notice to everyone that no user can forge), `/shutdown` (the clean stop) and `/help`. What a
//! line means is [`ConsoleCommand::parse`], pure; a [`Console`] carries it out by asking the
//! broadcaster, which owns the list of clients, and returns the lines to show the operator.
//! `chat-server` runs it on its standard input; tests drive it directly.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crossbeam_channel::Sender;

use super::event::Event;
use super::stop::Stopper;
use crate::protocol::{self, MAX_USERNAME_LEN};

/// The answer to the console's `/help`.
pub const CONSOLE_HELP: &[&str] = &[
    "/users              who is online, from where, for how long",
    "/kick NAME [REASON] disconnect NAME, telling them why",
    "/say TEXT           a notice to everyone",
    "/shutdown           stop the server cleanly (so does Ctrl-D at a terminal)",
    "/help               this list",
];

/// A command typed at the console.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleCommand {
    Users,
    Kick {
        name: String,
        reason: Option<String>,
    },
    Say(String),
    Shutdown,
    Help,
}

/// Why a console line was not carried out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConsoleError {
    /// Not a console command.
    Unknown(String),
    /// A known command used wrongly; the text says how to use it.
    Usage(&'static str),
    /// Text with a control character, which chat/1 cannot carry.
    ControlCharacter,
    /// `/kick` of a name nobody online has.
    NoSuchUser(String),
}

impl fmt::Display for ConsoleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConsoleError::Unknown(word) => write!(f, "unknown command {word} (try /help)"),
            ConsoleError::Usage(usage) => write!(f, "usage: {usage}"),
            ConsoleError::ControlCharacter => write!(f, "control characters are not allowed"),
            ConsoleError::NoSuchUser(name) => write!(f, "no such user: {name}"),
        }
    }
}

impl std::error::Error for ConsoleError {}

impl ConsoleCommand {
    /// What a console line means. An empty line is `None`: nothing to do.
    ///
    /// # Errors
    /// An unknown command, a known one used wrongly, or text chat/1 cannot carry.
    pub fn parse(line: &str) -> Option<Result<ConsoleCommand, ConsoleError>> {
        let line = line.trim();
        if line.is_empty() {
            return None;
        }
        if line.chars().any(protocol::is_forbidden_control) {
            return Some(Err(ConsoleError::ControlCharacter));
        }
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        let rest = rest.trim();
        let no_args = |command| {
            if rest.is_empty() {
                Ok(command)
            } else {
                Err(ConsoleError::Usage(match command {
                    ConsoleCommand::Users => "/users",
                    ConsoleCommand::Shutdown => "/shutdown",
                    _ => "/help",
                }))
            }
        };
        Some(match word {
            "/users" => no_args(ConsoleCommand::Users),
            "/shutdown" => no_args(ConsoleCommand::Shutdown),
            "/help" => no_args(ConsoleCommand::Help),
            "/say" if rest.is_empty() => Err(ConsoleError::Usage("/say TEXT")),
            "/say" => Ok(ConsoleCommand::Say(rest.to_owned())),
            "/kick" => {
                let (name, reason) = rest.split_once(' ').unwrap_or((rest, ""));
                let reason = reason.trim();
                if name.is_empty() || name.len() > MAX_USERNAME_LEN {
                    Err(ConsoleError::Usage("/kick NAME [REASON]"))
                } else {
                    Ok(ConsoleCommand::Kick {
                        name: name.to_owned(),
                        reason: (!reason.is_empty()).then(|| reason.to_owned()),
                    })
                }
            }
            word => Err(ConsoleError::Unknown(word.to_owned())),
        })
    }
}

/// Someone online, as the console's `/users` shows them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnlineUser {
    pub name: String,
    pub address: SocketAddr,
    pub connected_for: Duration,
}

/// `/kick` found nobody by that name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum KickError {
    NoSuchUser(String),
}

/// What the console asks of the broadcaster.
#[derive(Debug)]
pub(super) enum ConsoleRequest {
    Users {
        reply: Sender<Vec<OnlineUser>>,
    },
    Kick {
        name: String,
        reason: Option<String>,
        /// The name as the user has it, or why nobody was kicked.
        reply: Sender<Result<String, KickError>>,
    },
    Say {
        text: String,
    },
}

/// What a console line did: the lines to show, and whether the server is now stopping.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleReply {
    pub lines: Vec<String>,
    pub stopping: bool,
}

/// The console of a running server ([`ServerHandle::console`](super::ServerHandle::console)).
#[derive(Clone)]
pub struct Console {
    pub(super) events: Sender<Event>,
    pub(super) stopper: Stopper,
    pub(super) max_line: usize,
}

impl Console {
    /// Carries out one console line and returns what to show.
    pub fn execute(&self, line: &str) -> ConsoleReply {
        let reply = |lines: Vec<String>| ConsoleReply {
            lines,
            stopping: false,
        };
        let command = match ConsoleCommand::parse(line) {
            None => return reply(Vec::new()),
            Some(Err(error)) => return reply(vec![error.to_string()]),
            Some(Ok(command)) => command,
        };
        match command {
            ConsoleCommand::Users => reply(show_users(&self.users())),
            ConsoleCommand::Kick { name, reason } => match self.kick(&name, reason.as_deref()) {
                Ok(name) => reply(vec![format!("{name} was removed")]),
                Err(error) => reply(vec![error.to_string()]),
            },
            ConsoleCommand::Say(text) => match self.say(&text) {
                Ok(()) => reply(Vec::new()),
                Err(error) => reply(vec![error.to_string()]),
            },
            ConsoleCommand::Help => reply(CONSOLE_HELP.iter().map(|l| (*l).to_owned()).collect()),
            ConsoleCommand::Shutdown => {
                self.stopper.stop();
                ConsoleReply {
                    lines: vec!["shutting down".to_owned()],
                    stopping: true,
                }
            }
        }
    }

    /// Who is online, in the order they connected.
    pub fn users(&self) -> Vec<OnlineUser> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let request = Event::Console(ConsoleRequest::Users { reply });
        if self.events.send(request).is_err() {
            return Vec::new(); // stopped
        }
        answer.recv().unwrap_or_default()
    }

    /// Disconnects the user called `name` (compared without case); they get
    /// `[ERROR]:removed by the server[: REASON]` as their last frame. Returns their name.
    ///
    /// # Errors
    /// Nobody online has that name, or the reason holds a control character.
    pub fn kick(&self, name: &str, reason: Option<&str>) -> Result<String, ConsoleError> {
        if reason.is_some_and(|reason| reason.chars().any(protocol::is_forbidden_control)) {
            return Err(ConsoleError::ControlCharacter);
        }
        let reason = reason.map(|reason| self.fit(reason));
        let (reply, answer) = crossbeam_channel::bounded(1);
        let request = ConsoleRequest::Kick {
            name: name.to_owned(),
            reason,
            reply,
        };
        let no_such_user = || ConsoleError::NoSuchUser(name.to_owned());
        self.events
            .send(Event::Console(request))
            .map_err(|_| no_such_user())?;
        match answer.recv() {
            Ok(Ok(name)) => Ok(name),
            Ok(Err(KickError::NoSuchUser(_))) | Err(_) => Err(no_such_user()),
        }
    }

    /// Sends every joined user a notice, `[NOTICE]:<text>`.
    ///
    /// # Errors
    /// The text holds a control character.
    pub fn say(&self, text: &str) -> Result<(), ConsoleError> {
        if text.chars().any(protocol::is_forbidden_control) {
            return Err(ConsoleError::ControlCharacter);
        }
        let text = self.fit(text);
        let _ = self
            .events
            .send(Event::Console(ConsoleRequest::Say { text }));
        Ok(())
    }

    /// Asks the server to stop, as `/shutdown` does.
    pub fn shutdown(&self) {
        self.stopper.stop();
    }

    /// `text`, cut (at a character boundary) so that its frame fits in a line.
    fn fit(&self, text: &str) -> String {
        let room = self
            .max_line
            .saturating_sub("[ERROR]:removed by the server: ".len());
        let mut end = text.len().min(room);
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text[..end].to_owned()
    }
}

/// The lines of the console's `/users`: one per user, with address and time online.
pub fn show_users(users: &[OnlineUser]) -> Vec<String> {
    if users.is_empty() {
        return vec!["nobody is online".to_owned()];
    }
    let mut lines = vec![format!("{} online:", users.len())];
    for user in users {
        let name = &user.name;
        let address = user.address;
        let time = show_duration(user.connected_for);
        lines.push(format!(
            "  {name:<width$}  {address}  {time}",
            width = MAX_USERNAME_LEN.min(16)
        ));
    }
    lines
}

/// `1h 02m`, `3m 05s`, `12s`.
fn show_duration(time: Duration) -> String {
    let secs = time.as_secs();
    let (hours, minutes, seconds) = (secs / 3600, secs / 60 % 60, secs % 60);
    if hours > 0 {
        format!("{hours}h {minutes:02}m")
    } else if minutes > 0 {
        format!("{minutes}m {seconds:02}s")
    } else {
        format!("{seconds}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(line: &str) -> Result<ConsoleCommand, ConsoleError> {
        ConsoleCommand::parse(line).expect("a command")
    }

    #[test]
    fn console_lines_parse_to_commands() {
        assert_eq!(parse("/users"), Ok(ConsoleCommand::Users));
        assert_eq!(parse("  /shutdown  "), Ok(ConsoleCommand::Shutdown));
        assert_eq!(parse("/help"), Ok(ConsoleCommand::Help));
        assert_eq!(
            parse("/say back in 5 minutes"),
            Ok(ConsoleCommand::Say("back in 5 minutes".into()))
        );
        assert_eq!(
            parse("/kick bob"),
            Ok(ConsoleCommand::Kick {
                name: "bob".into(),
                reason: None
            })
        );
        assert_eq!(
            parse("/kick bob  spamming the room"),
            Ok(ConsoleCommand::Kick {
                name: "bob".into(),
                reason: Some("spamming the room".into())
            })
        );
        assert_eq!(ConsoleCommand::parse("   "), None);
    }

    #[test]
    fn bad_console_lines_say_what_is_wrong() {
        assert_eq!(parse("/who"), Err(ConsoleError::Unknown("/who".into())));
        assert_eq!(parse("hello"), Err(ConsoleError::Unknown("hello".into())));
        assert_eq!(
            parse("/kick"),
            Err(ConsoleError::Usage("/kick NAME [REASON]"))
        );
        assert_eq!(parse("/say"), Err(ConsoleError::Usage("/say TEXT")));
        assert_eq!(parse("/users now"), Err(ConsoleError::Usage("/users")));
        assert_eq!(parse("/say \u{1b}[2J"), Err(ConsoleError::ControlCharacter));
        assert_eq!(
            ConsoleError::Unknown("/who".into()).to_string(),
            "unknown command /who (try /help)"
        );
    }

    #[test]
    fn users_show_with_their_address_and_time_online() {
        let users = [OnlineUser {
            name: "alice".into(),
            address: "127.0.0.1:50000".parse().unwrap(),
            connected_for: Duration::from_secs(3725),
        }];
        let lines = show_users(&users);
        assert_eq!(lines[0], "1 online:");
        assert!(lines[1].contains("alice"), "{lines:?}");
        assert!(lines[1].contains("127.0.0.1:50000"), "{lines:?}");
        assert!(lines[1].ends_with("1h 02m"), "{lines:?}");
        assert_eq!(show_users(&[]), ["nobody is online"]);
    }

    #[test]
    fn durations_show_their_two_largest_units() {
        assert_eq!(show_duration(Duration::from_secs(12)), "12s");
        assert_eq!(show_duration(Duration::from_secs(185)), "3m 05s");
        assert_eq!(show_duration(Duration::from_secs(7260)), "2h 01m");
    }
}
