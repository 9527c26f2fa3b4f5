//! The main thread's state machine, the middle of the outbound data path: it waits on stdin lines,
//! the receiver's events and a deadline, walks the handshake (greeting -> name -> welcome), then
//! turns stdin lines into [`ClientFrame`]s, and is the only one that writes to the socket.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use crossbeam_channel::{Receiver, at, never, select};

use super::inbound::{Closed, Event};
use super::output::Output;
use super::safe_text::escaped;
use super::sending::{file_command, load_file};
use super::stdin::StdinLine;
use super::{ClientError, Config, FILE_COMMAND, NAME_PROMPT, PASSWORD_PROMPT};
use crate::protocol::{self, ClientFrame, EXIT_COMMAND, FILE_TAG};
use crate::transport::WriteHalf;

/// Where the main thread is in the conversation.
#[derive(Debug)]
enum Phase {
    /// Connected without a name: waiting (until `until`) for the greeting before asking for one,
    /// so the prompt comes after the server's `[INFO]` line rather than before it.
    Greeting { until: Instant },
    /// The prompt is shown; the next stdin line is the name.
    AskName,
    /// The server asked for the name's password (`[AUTH]`); the next stdin line is it.
    AskPassword,
    /// The name was sent. Stdin is not read until the answer, so a line typed ahead is neither
    /// taken as a second name nor sent as a message before the user has joined.
    AwaitReply { until: Instant },
    /// Joined: stdin lines are messages and commands.
    Joined,
    /// `exit` was sent: waiting (until `until`) for the server to close the connection, so that
    /// nothing it still had queued for us is lost.
    Leaving { until: Instant },
}

impl Phase {
    fn reads_stdin(&self) -> bool {
        matches!(
            self,
            Phase::Greeting { .. } | Phase::AskName | Phase::AskPassword | Phase::Joined
        )
    }

    fn deadline(&self) -> Option<Instant> {
        match self {
            Phase::Greeting { until } | Phase::AwaitReply { until } | Phase::Leaving { until } => {
                Some(*until)
            }
            Phase::AskName | Phase::AskPassword | Phase::Joined => None,
        }
    }
}

/// Whether the session goes on.
enum Flow {
    Continue,
    Done,
}

/// What woke the main thread up.
enum Happened {
    Event(Event),
    Input(StdinLine),
    Deadline,
}

/// The main thread's state; it alone writes to the socket.
pub(super) struct Session {
    writer: WriteHalf,
    output: Arc<Output>,
    config: Config,
    phase: Phase,
}

impl Session {
    pub(super) fn new(writer: WriteHalf, output: Arc<Output>, config: Config) -> Session {
        let until = Instant::now() + config.greeting_wait;
        Session {
            writer,
            output,
            config,
            phase: Phase::Greeting { until },
        }
    }

    /// Runs until the user has left (`Ok`) or the connection ended before that (`Err`).
    pub(super) fn run(
        mut self,
        events: &Receiver<Event>,
        input: &Receiver<StdinLine>,
    ) -> Result<(), ClientError> {
        if let Some(name) = self.config.name.clone() {
            self.send_name(&name)?;
        }
        loop {
            // First wait, then act: the select only borrows the channels, the handlers change
            // the session.
            let flow = match self.wait(events, input) {
                Happened::Event(event) => self.on_event(event)?,
                Happened::Input(line) => self.on_input(line)?,
                Happened::Deadline => self.on_deadline()?,
            };
            if let Flow::Done = flow {
                return Ok(());
            }
        }
    }

    fn wait(&self, events: &Receiver<Event>, input: &Receiver<StdinLine>) -> Happened {
        // Lines that have no use in this phase stay queued in the stdin channel (it is bounded,
        // so the stdin thread waits too).
        let no_input = never();
        let input = if self.phase.reads_stdin() {
            input
        } else {
            &no_input
        };
        let deadline = self.phase.deadline().map_or_else(never, at);
        select! {
            // A receiver that vanished without a word (it panicked) closed the connection too.
            recv(events) -> event => Happened::Event(event.unwrap_or(Event::Closed(Closed::ByServer))),
            recv(input) -> line => Happened::Input(line.unwrap_or(StdinLine::End)),
            recv(deadline) -> _ => Happened::Deadline,
        }
    }

    fn on_event(&mut self, event: Event) -> Result<Flow, ClientError> {
        match (event, &self.phase) {
            // Once we said exit, how the connection ends no longer matters.
            (Event::Closed(_), Phase::Leaving { .. }) => return Ok(Flow::Done),
            (Event::Closed(closed), _) => return Err(closed.into()),
            (Event::Greeted, Phase::Greeting { .. }) => self.ask_name(),
            (
                Event::Refused,
                Phase::Greeting { .. } | Phase::AskName | Phase::AwaitReply { .. },
            ) => {
                self.ask_name();
            }
            (
                Event::PasswordAsked,
                Phase::Greeting { .. } | Phase::AskName | Phase::AwaitReply { .. },
            ) => self.give_password()?,
            (
                Event::Welcomed,
                Phase::Greeting { .. } | Phase::AskName | Phase::AwaitReply { .. },
            ) => {
                self.output.close_prompt();
                self.phase = Phase::Joined;
            }
            _ => {}
        }
        Ok(Flow::Continue)
    }

    fn on_deadline(&mut self) -> Result<Flow, ClientError> {
        match self.phase {
            Phase::Greeting { .. } => self.ask_name(),
            Phase::AwaitReply { .. } => return Err(ClientError::NoReply),
            Phase::Leaving { .. } => {
                log::warn!("the server did not close the connection after exit");
                return Ok(Flow::Done);
            }
            Phase::AskName | Phase::AskPassword | Phase::Joined => {}
        }
        Ok(Flow::Continue)
    }

    fn on_input(&mut self, line: StdinLine) -> Result<Flow, ClientError> {
        match self.phase {
            Phase::Joined => self.on_command(line),
            Phase::AskPassword => self.on_password(line),
            _ => self.on_name(line),
        }
    }

    /// A stdin line while the client has no name yet.
    fn on_name(&mut self, line: StdinLine) -> Result<Flow, ClientError> {
        let name = match line {
            StdinLine::End => {
                self.output.close_prompt();
                return self.leave();
            }
            StdinLine::Refused(why) => {
                self.output.answered();
                self.error(&why);
                self.ask_name();
                return Ok(Flow::Continue);
            }
            StdinLine::Text(name) => name,
        };
        self.output.answered();
        if name == EXIT_COMMAND {
            return self.leave();
        }
        if name.is_empty() {
            self.ask_name();
            return Ok(Flow::Continue);
        }
        self.send_name(&name)?;
        Ok(Flow::Continue)
    }

    /// Sends a name, or asks for another one when it breaks the rules.
    fn send_name(&mut self, name: &str) -> Result<(), ClientError> {
        // Only a valid username is sent: another line could be read as another frame (after a
        // `[FILE]:` header the server would take the next lines as a file).
        if let Err(why) = protocol::check_username(name) {
            self.error(&format!("bad username: {why}"));
            self.ask_name();
            return Ok(());
        }
        self.send(&ClientFrame::Text(name.to_owned()))?;
        let until = Instant::now() + self.config.handshake_timeout;
        self.phase = Phase::AwaitReply { until };
        Ok(())
    }

    /// The server asked for the password: from the password file, or typed.
    fn give_password(&mut self) -> Result<(), ClientError> {
        let Some(path) = self.config.password_file.clone() else {
            self.output.prompt(PASSWORD_PROMPT);
            self.phase = Phase::AskPassword;
            return Ok(());
        };
        let failed = |why: String| ClientError::PasswordFile {
            path: path.clone(),
            why,
        };
        let text = std::fs::read_to_string(&path).map_err(|error| failed(error.to_string()))?;
        let password = text.lines().next().unwrap_or_default();
        if password.is_empty() || password.chars().any(protocol::is_forbidden_control) {
            return Err(failed(
                "its first line must be the password, without control characters".into(),
            ));
        }
        self.send_password(password)
    }

    /// A stdin line while the server waits for a password.
    fn on_password(&mut self, line: StdinLine) -> Result<Flow, ClientError> {
        self.output.answered();
        let password = match line {
            StdinLine::End => {
                self.output.close_prompt();
                return self.leave();
            }
            StdinLine::Refused(why) => {
                self.error(&why);
                self.output.prompt(PASSWORD_PROMPT);
                return Ok(Flow::Continue);
            }
            StdinLine::Text(password) => password,
        };
        if password.chars().any(protocol::is_forbidden_control) {
            self.error("a password cannot hold control characters; type it again");
            self.output.prompt(PASSWORD_PROMPT);
            return Ok(Flow::Continue);
        }
        self.send_password(&password)?;
        Ok(Flow::Continue)
    }

    /// Sends the password as it is: the server takes the line after `[AUTH]` verbatim (an
    /// `exit` or a `/...` is a password then). Never shown, never logged.
    fn send_password(&mut self, password: &str) -> Result<(), ClientError> {
        let mut line = Vec::with_capacity(password.len() + 1);
        line.extend_from_slice(password.as_bytes());
        line.push(b'\n');
        self.writer.write_all(&line).map_err(|error| {
            log::info!("writing to the server failed: {error}");
            ClientError::ConnectionLost
        })?;
        let until = Instant::now() + self.config.password_timeout;
        self.phase = Phase::AwaitReply { until };
        Ok(())
    }

    fn ask_name(&mut self) {
        self.output.prompt(NAME_PROMPT);
        self.phase = Phase::AskName;
    }

    /// A stdin line once joined: a command or a message.
    fn on_command(&mut self, line: StdinLine) -> Result<Flow, ClientError> {
        let line = match line {
            StdinLine::End => return self.leave(),
            StdinLine::Refused(why) => {
                self.error(&format!("{why}; nothing was sent"));
                return Ok(Flow::Continue);
            }
            StdinLine::Text(line) => line,
        };
        if line == EXIT_COMMAND {
            return self.leave();
        }
        if let Some(path) = file_command(&line) {
            self.send_file(path)?;
        } else if line.starts_with(FILE_TAG) {
            // Sent as typed, it would be a file header with the following lines as its content.
            self.error(&format!("to send a file, type {FILE_COMMAND} PATH"));
        } else if line.chars().any(protocol::is_forbidden_control) {
            self.error("control characters are not allowed; nothing was sent");
        } else if !line.is_empty() {
            // Empty lines are skipped: the server would ignore them anyway.
            self.send(&ClientFrame::Text(line.clone()))?;
            // Not shown: it is on screen as typed, and the server does not echo it back.
            self.output.log_only(&format!("Me: {line}"));
        }
        Ok(Flow::Continue)
    }

    fn send_file(&mut self, path: &str) -> Result<(), ClientError> {
        if path.is_empty() {
            self.error(&format!("usage: {FILE_COMMAND} PATH"));
            return Ok(());
        }
        let (name, data) = match load_file(Path::new(path), self.config.max_file_size) {
            Ok(file) => file,
            Err(why) => {
                self.error(&format!("cannot send '{}': {why}", escaped(path)));
                return Ok(());
            }
        };
        self.send(&ClientFrame::File { name, data })?;
        self.output
            .line(&format!("[Notification] File '{}' sent.", escaped(path)));
        Ok(())
    }

    /// Sends `exit` and waits for the server to close the connection.
    fn leave(&mut self) -> Result<Flow, ClientError> {
        if let Err(error) = self.writer.write_all(&ClientFrame::Exit.encode()) {
            // Leaving was the point; a connection that is gone already does not change that.
            log::info!("sending exit: {error}");
            return Ok(Flow::Done);
        }
        let until = Instant::now() + self.config.leave_timeout;
        self.phase = Phase::Leaving { until };
        Ok(Flow::Continue)
    }

    fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        self.writer.write_all(&frame.encode()).map_err(|error| {
            log::info!("writing to the server failed: {error}");
            ClientError::ConnectionLost
        })
    }

    /// Shows a local error as an `[ERROR]` line.
    fn error(&self, text: &str) {
        self.output.line(&format!("[ERROR] {text}"));
    }
}
