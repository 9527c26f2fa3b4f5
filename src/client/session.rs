//! The main thread's state machine, the middle of the outbound data path: it waits on stdin lines,
//! the receiver's events and a deadline, walks the handshake (greeting -> name -> (a password,
//! when the server asks for one with `[AUTH]`) -> welcome -> `/files on` and its answer), then
//! turns stdin lines into [`ClientFrame`]s, and is the only one that writes to the socket.
//!
//! Once joined, a line is the client's own command (`/file PATH [as NAME]`, `exit`), a command for
//! the server (`/users`, `/msg NAME TEXT`, `/help`, any other `/word`: sent as typed, and the
//! server answers), or a message (`//text` sends `/text`). When nothing was sent for
//! `Config::keepalive`, an empty line keeps the server's idle timeout away.
//!
//! How it ends: [`Ended`] when the user left or the server shut down, a [`ClientError`] when the
//! connection was lost or the client never joined. After the end nothing asks for input: an
//! `[ERROR]` before the welcome is taken for a refused name only if the connection stays open.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, at, never, select};

use super::file_command::file_command;
use super::inbound::{Closed, Event};
use super::output::Output;
use super::progress::Meter;
use super::render::{Line, client_help};
use super::safe_text::escaped;
use super::sending::prepare_file;
use super::stdin::StdinLine;
use super::{ClientError, Config, FILE_COMMAND, NAME_PROMPT, PASSWORD_PROMPT};
use crate::protocol::{self, COMMAND_PREFIX, ClientFrame, Command, EXIT_COMMAND, FILE_TAG};
use crate::transport::WriteHalf;

/// A file is written to the socket in pieces this big, so its progress line can follow it.
const SEND_PIECE: usize = 64 * 1024;

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
    /// The server sent an `[ERROR]` (`why`) before the welcome: a refused name, or the reason it
    /// is closing the connection (`no username within 30 s`, `server full`). Only what comes
    /// next tells the two apart, so the prompt waits (until `until`) for a close, and nothing
    /// that asks for input is shown after the end.
    Refused { until: Instant, why: String },
    /// Welcomed, and `/files on` sent: waiting (until `until`) for the server's answer to it
    /// before reading stdin, so that no command the user typed ahead is answered first and its
    /// answer taken for that one (the receiver keeps the answer off the screen).
    Joining { until: Instant },
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
            Phase::Greeting { until }
            | Phase::AwaitReply { until }
            | Phase::Refused { until, .. }
            | Phase::Joining { until }
            | Phase::Leaving { until } => Some(*until),
            Phase::AskName | Phase::AskPassword | Phase::Joined => None,
        }
    }
}

/// Whether the session goes on.
enum Flow {
    Continue,
    Done(Ended),
}

/// How a session that did not fail ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ended {
    /// The user left: `exit`, or the end of input.
    Left,
    /// The server said it is shutting down, and closed the connection.
    ServerShutDown,
}

/// How the chat log's end mark says it.
impl fmt::Display for Ended {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Ended::Left => "left",
            Ended::ServerShutDown => "the server shut down",
        })
    }
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
    /// Why the server refused the last name, while the user is asked for another: if input
    /// ends instead, the client did not join, and says why.
    refused: Option<String>,
    /// When the last bytes were written to the server: the keepalive counts from there.
    last_sent: Instant,
}

impl Session {
    pub(super) fn new(writer: WriteHalf, output: Arc<Output>, config: Config) -> Session {
        let until = Instant::now() + config.greeting_wait;
        Session {
            writer,
            output,
            config,
            phase: Phase::Greeting { until },
            refused: None,
            last_sent: Instant::now(),
        }
    }

    /// Runs until the user has left or the server has shut down (`Ok`), or the connection ended
    /// otherwise, or the user's name was refused and no other came (`Err`).
    pub(super) fn run(
        mut self,
        events: &Receiver<Event>,
        input: &Receiver<StdinLine>,
    ) -> Result<Ended, ClientError> {
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
            if let Flow::Done(ended) = flow {
                return Ok(ended);
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
        let deadline = self.deadline().map_or_else(never, at);
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
            (Event::Closed(_), Phase::Leaving { .. }) => return Ok(Flow::Done(Ended::Left)),
            (Event::Closed(Closed::ShutDown), _) => {
                self.output.close_prompt();
                return Ok(Flow::Done(Ended::ServerShutDown));
            }
            // The [ERROR] was the server's last word, not a refused name.
            (Event::Closed(_), Phase::Refused { why, .. }) => {
                return Err(ClientError::NotJoined(escaped(why)));
            }
            (Event::Closed(closed), _) => return Err(closed.into()),
            (Event::Greeted, Phase::Greeting { .. }) => self.ask_name(),
            (
                Event::Refused(why),
                Phase::Greeting { .. } | Phase::AskName | Phase::AwaitReply { .. },
            ) => {
                let until = Instant::now() + self.config.refusal_wait;
                self.phase = Phase::Refused { until, why };
            }
            (
                Event::PasswordAsked,
                Phase::Greeting { .. } | Phase::AskName | Phase::AwaitReply { .. },
            ) => self.give_password()?,
            (
                Event::Welcomed,
                Phase::Greeting { .. }
                | Phase::AskName
                | Phase::AwaitReply { .. }
                | Phase::Refused { .. },
            ) => {
                self.refused = None;
                self.output.close_prompt();
                // Files are sent only to a connection that asks for them (a netcat user would
                // get raw bytes on their terminal); this client saves them, so it asks at once.
                self.send(&ClientFrame::Command(Command::Files(true)))?;
                let until = Instant::now() + self.config.handshake_timeout;
                self.phase = Phase::Joining { until };
            }
            (Event::FilesAnswered, Phase::Joining { .. }) => self.phase = Phase::Joined,
            _ => {}
        }
        Ok(Flow::Continue)
    }

    /// When to wake up without an event or a line: the phase's deadline, or once joined, when
    /// the keepalive is due.
    fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Joined => keepalive_due(self.last_sent, self.config.keepalive),
            _ => self.phase.deadline(),
        }
    }

    fn on_deadline(&mut self) -> Result<Flow, ClientError> {
        match &mut self.phase {
            Phase::Greeting { .. } => self.ask_name(),
            // The connection is still open: it was a refused name, so ask for another.
            Phase::Refused { why, .. } => {
                self.refused = Some(std::mem::take(why));
                self.ask_name();
            }
            Phase::AwaitReply { .. } => return Err(ClientError::NoReply),
            Phase::Joining { .. } => {
                log::warn!("the server did not answer /files on");
                self.phase = Phase::Joined;
            }
            Phase::Leaving { .. } => {
                log::warn!("the server did not close the connection after exit");
                return Ok(Flow::Done(Ended::Left));
            }
            Phase::Joined => {
                // Nothing was sent for a while: an empty line keeps the idle timeout away.
                self.send(&ClientFrame::Empty)?;
            }
            Phase::AskName | Phase::AskPassword => {}
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
                // Input ended after a refusal: the user never joined, which is not a success
                // (`chat-client -n alice < /dev/null` with alice taken).
                if let Some(why) = self.refused.take() {
                    return Err(ClientError::NotJoined(escaped(&why)));
                }
                return self.leave();
            }
            StdinLine::Refused(why) => {
                self.output.answered();
                self.error(&why.to_string());
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
        let Some(path) = &self.config.password_file else {
            self.output.prompt(PASSWORD_PROMPT);
            self.phase = Phase::AskPassword;
            return Ok(());
        };
        let password = password_from_file(path)?;
        self.send_password(&password)
    }

    /// A stdin line while the server waits for a password.
    fn on_password(&mut self, line: StdinLine) -> Result<Flow, ClientError> {
        self.output.answered();
        let password = match line {
            StdinLine::End => {
                self.output.close_prompt();
                // As at the name's prompt: a name refused before, and no other accepted, is a
                // failure; else the user chose to leave.
                if let Some(why) = self.refused.take() {
                    return Err(ClientError::NotJoined(escaped(&why)));
                }
                // Without `exit`: the server takes the line after [AUTH] for the password, and
                // would count `exit` as a wrong one against this address. Closing the
                // connection is the goodbye.
                return Ok(Flow::Done(Ended::Left));
            }
            StdinLine::Refused(why) => {
                self.error(&why.to_string());
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
        self.write(&password_line(password))?;
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
        if let Some(args) = file_command(&line) {
            self.send_file(args)?;
        } else if line.starts_with(FILE_TAG) {
            // Sent as typed, it would be a file header with the following lines as its content.
            self.error(&format!("to send a file, type {FILE_COMMAND} PATH"));
        } else if line.chars().any(protocol::is_forbidden_control) {
            self.error("control characters are not allowed; nothing was sent");
        } else if let Some(command) = Command::parse(&line) {
            self.send_command(command)?;
        } else if let Some(text) = line.strip_prefix(COMMAND_PREFIX) {
            // `//text`: the message `/text`, which encodes as typed.
            self.send_message(text)?;
        } else if !line.is_empty() {
            // Empty lines are skipped: the server would ignore them anyway.
            self.send_message(&line)?;
        }
        Ok(Flow::Continue)
    }

    fn send_message(&mut self, text: &str) -> Result<(), ClientError> {
        self.send(&ClientFrame::Text(text.to_owned()))?;
        // Not shown: it is on screen as typed, and the server does not echo it back.
        self.output.log_only(&Line::own(text));
        Ok(())
    }

    /// A command for the server, as the user typed it; one the server would refuse for its form
    /// is refused here. `/help` shows the client's own commands first, and a private message is
    /// shown as sent (`-> bob: hi`): the server sends nothing back for it.
    fn send_command(
        &mut self,
        command: Result<Command, protocol::CommandError>,
    ) -> Result<(), ClientError> {
        let command = match command {
            Ok(command) => command,
            Err(why) => {
                self.error(&format!("{why}; nothing was sent"));
                return Ok(());
            }
        };
        if command == Command::Help {
            self.output.show_all(&client_help());
        }
        self.send(&ClientFrame::Command(command.clone()))?;
        if let Command::Msg { to, text } = &command {
            self.output.show(&Line::sent_private(to, text));
        }
        Ok(())
    }

    /// `/file PATH [as NAME]`: `args` is what follows `/file`.
    fn send_file(&mut self, args: &str) -> Result<(), ClientError> {
        let file = match prepare_file(args, self.config.max_file_size) {
            Ok(file) => file,
            Err(why) => {
                self.error(&why);
                return Ok(());
            }
        };
        let size = file.data.len() as u64;
        let label = format!("sending {}", file.name);
        let frame = ClientFrame::File {
            name: file.name,
            data: file.data,
        };
        self.send_with_progress(&frame.encode(), label, size)?;
        self.output.show(&file.sent);
        Ok(())
    }

    /// Writes a file frame in pieces, drawing a progress line for a big one (its `size` bytes of
    /// content are most of `bytes`).
    fn send_with_progress(
        &mut self,
        bytes: &[u8],
        label: String,
        size: u64,
    ) -> Result<(), ClientError> {
        let mut meter = self
            .output
            .shows_progress()
            .then(|| Meter::new(label, size, Instant::now()))
            .flatten();
        let Some(meter) = &mut meter else {
            return self.write(bytes);
        };
        let mut sent = 0;
        for piece in bytes.chunks(SEND_PIECE) {
            if let Err(error) = self.write(piece) {
                self.output.end_progress();
                return Err(error);
            }
            sent += piece.len() as u64;
            if let Some(line) = meter.update(sent.min(size), Instant::now()) {
                self.output.progress(&line);
            }
        }
        self.output.end_progress();
        Ok(())
    }

    /// Sends `exit` and waits for the server to close the connection.
    fn leave(&mut self) -> Result<Flow, ClientError> {
        if let Err(error) = self.writer.write_all(&ClientFrame::Exit.encode()) {
            // Leaving was the point; a connection that is gone already does not change that.
            log::info!("sending exit: {error}");
            return Ok(Flow::Done(Ended::Left));
        }
        let until = Instant::now() + self.config.leave_timeout;
        self.phase = Phase::Leaving { until };
        Ok(Flow::Continue)
    }

    fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        self.write(&frame.encode())
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.writer.write_all(bytes).map_err(|error| {
            log::info!("writing to the server failed: {error}");
            ClientError::ConnectionLost
        })?;
        self.last_sent = Instant::now();
        Ok(())
    }

    /// Shows a local error as an `[ERROR]` line.
    fn error(&self, text: &str) {
        self.output.show(&Line::error(text));
    }
}

/// When the next keepalive is due: `every` after the last bytes sent; never when `every` is zero.
fn keepalive_due(last_sent: Instant, every: Duration) -> Option<Instant> {
    (!every.is_zero()).then(|| last_sent + every)
}

/// The password in the first line of the file at `path` (`--password-file`).
///
/// # Errors
/// When the file cannot be read, or its first line is empty or holds a control character.
pub(super) fn password_from_file(path: &Path) -> Result<String, ClientError> {
    let failed = |why: String| ClientError::PasswordFile {
        path: path.to_owned(),
        why,
    };
    let text = std::fs::read_to_string(path).map_err(|error| failed(error.to_string()))?;
    let password = text.lines().next().unwrap_or_default();
    if password.is_empty() || password.chars().any(protocol::is_forbidden_control) {
        return Err(failed(
            "its first line must be the password, without control characters".into(),
        ));
    }
    Ok(password.to_owned())
}

/// The line that gives `password`: as it is, then LF. The server takes the line after
/// `[AUTH]` verbatim, so no escape applies (an `exit` or a `/...` is a password then).
pub(super) fn password_line(password: &str) -> Vec<u8> {
    let mut line = Vec::with_capacity(password.len() + 1);
    line.extend_from_slice(password.as_bytes());
    line.push(b'\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keepalive_is_due_an_interval_after_the_last_bytes_sent() {
        let sent = Instant::now();
        let minute = Duration::from_secs(60);
        assert_eq!(keepalive_due(sent, minute), Some(sent + minute));
        assert_eq!(keepalive_due(sent, Duration::ZERO), None);
    }
}
