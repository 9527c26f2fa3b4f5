//! The terminal UI's state, and every decision it takes: what a frame from the server shows and
//! changes (the conversation, who is online, a file's bar), what a key does (edit, complete,
//! scroll, send, leave), and where the conversation is (the handshake, joined, leaving). Pure but
//! for reading a file to send and a folder to complete: it never touches the terminal or the
//! socket. What it wants done comes out as [`Effect`]s (bytes for the writer thread, lines for the
//! chat log) that `event_loop.rs` carries out.
//!
//! The conversation follows the line client's (`session.rs`) step by step: the greeting, the name
//! (from `--name` or typed here), the welcome, `/files on` and its answer kept off the screen,
//! then lines and commands, then `exit`. Every line shown goes to the chat log as the line client
//! logs it, through the same `Output`.

use std::path::Path;
use std::time::Instant;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::super::clock;
use super::super::render::{Line, client_help, render};
use super::super::safe_text::{escaped, safe};
use super::super::sending::{file_command, load_file};
use super::super::{ClientError, Config, FILE_COMMAND};
use super::completion::{complete, list_folder};
use super::conversation::{Conversation, Entry};
use super::input::{Edit, Input};
use super::net::{Inbound, Outgoing, Written};
use super::roster::Roster;
use super::transfers::{Transfer, Transfers};
use crate::protocol::{
    self, COMMAND_PREFIX, ClientFrame, Command, EXIT_COMMAND, FILE_TAG, ServerFrame,
};

/// Lines the conversation keeps, and the bytes they may hold; older ones go (the chat log has
/// them all).
pub(super) const KEPT_LINES: usize = 10_000;
pub(super) const KEPT_BYTES: usize = 16 * 1024 * 1024;

/// Where the conversation is.
#[derive(Debug)]
pub(super) enum Phase {
    /// Connected without a name: waiting (until `until`) for the greeting before asking.
    Greeting { until: Instant },
    /// The input line asks for a name.
    AskName,
    /// The name was sent; waiting (until `until`) for the server to take or refuse it.
    AwaitReply { until: Instant },
    /// Welcomed, and `/files on` sent: waiting (until `until`) for its answer.
    Joining { until: Instant },
    /// Joined: lines are messages and commands.
    Joined,
    /// `exit` was sent: waiting (until `until`) for the server to close the connection.
    Leaving { until: Instant },
    /// The connection ended before the user left: why stays on screen until a key is pressed.
    Lost(ClientError),
    /// Over; the event loop stops.
    Done,
}

/// What the app wants done outside it.
#[derive(Debug)]
pub(super) enum Effect {
    /// For the writer thread.
    Send(Outgoing),
    /// For the chat log, as the line client logs it.
    Log(Line),
}

/// The terminal UI's state.
pub(super) struct App {
    config: Config,
    phase: Phase,
    /// The name joined with, once welcomed.
    name: Option<String>,
    /// Set at the welcome, when `/files on` is sent, until its answer has been kept off the
    /// screen (the user did not type it: the answer would only puzzle them).
    files_answer_pending: bool,
    pub(super) conversation: Conversation,
    pub(super) roster: Roster,
    pub(super) input: Input,
    pub(super) transfers: Transfers,
    /// What Tab found when there was more than one completion, until the next key.
    pub(super) candidates: Vec<String>,
    /// Files queued to send, oldest first: their number and the path as typed.
    sending: Vec<(u64, String)>,
    next_file: u64,
    /// Lines PageUp and PageDown move by: the conversation pane's height, set after each draw.
    page: usize,
    effects: Vec<Effect>,
    outcome: Option<Result<(), ClientError>>,
    /// Seconds since the Unix epoch now: [`clock::now`], or a fixed time in tests.
    wall_clock: fn() -> u64,
    /// What carries the connection, for the status line.
    pub(super) transport: &'static str,
    /// Whether the screen has colours (not under `--color never` or `NO_COLOR`).
    pub(super) colours: bool,
}

impl App {
    /// The state right after connecting at `now`; with `--name`, the name is sent at once.
    pub(super) fn new(config: Config, now: Instant, wall_clock: fn() -> u64) -> App {
        let until = now + config.greeting_wait;
        let name = config.name.clone();
        let mut app = App {
            config,
            phase: Phase::Greeting { until },
            name: None,
            files_answer_pending: false,
            conversation: Conversation::new(KEPT_LINES, KEPT_BYTES),
            roster: Roster::default(),
            input: Input::new(protocol::DEFAULT_MAX_LINE),
            transfers: Transfers::default(),
            candidates: Vec::new(),
            sending: Vec::new(),
            next_file: 1,
            page: 10,
            effects: Vec::new(),
            outcome: None,
            wall_clock,
            transport: "plain TCP",
            colours: true,
        };
        if let Some(name) = name {
            app.send_name(&name, now);
        }
        app
    }

    pub(super) fn phase(&self) -> &Phase {
        &self.phase
    }

    /// The name joined with, once welcomed.
    pub(super) fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }

    /// The server, as `host:port`.
    pub(super) fn server(&self) -> String {
        format!("{}:{}", self.config.host, self.config.port)
    }

    /// Whether the input line is for a username.
    pub(super) fn asks_name(&self) -> bool {
        matches!(
            self.phase,
            Phase::Greeting { .. } | Phase::AskName | Phase::AwaitReply { .. }
        )
    }

    /// When the app wants [`on_deadline`](Self::on_deadline) called.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Greeting { until }
            | Phase::AwaitReply { until }
            | Phase::Joining { until }
            | Phase::Leaving { until } => Some(until),
            _ => None,
        }
    }

    /// What the app wants done, in order; it forgets them.
    pub(super) fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// How the session ended, once it has: the event loop stops then.
    pub(super) fn outcome(&mut self) -> Option<Result<(), ClientError>> {
        self.outcome.take()
    }

    /// The conversation pane shows `rows` rows: PageUp and PageDown move by that many lines.
    pub(super) fn set_page(&mut self, rows: usize) {
        self.page = rows.max(1);
    }

    /// A report from the receiver thread.
    pub(super) fn on_inbound(&mut self, inbound: Inbound, now: Instant) {
        match inbound {
            Inbound::Frame(frame) => self.on_frame(frame, now),
            Inbound::Refused(error) => self.show(Line::error(&format!(
                "refused a frame from the server: {error}"
            ))),
            Inbound::Receiving {
                from,
                name,
                received,
                size,
            } => {
                if !self.transfers.has(Transfer::Receiving) {
                    let label = format!("receiving {name} from {from}");
                    self.transfers.start(Transfer::Receiving, label, size, now);
                }
                self.transfers.update(Transfer::Receiving, received, now);
            }
            Inbound::Saved { from, saved } => {
                self.transfers.finish(Transfer::Receiving);
                let path = if self.config.downloads == Path::new(".") {
                    saved
                } else {
                    self.config.downloads.join(saved).display().to_string()
                };
                // The line client's words (inbound.rs), with the folder: where to find it.
                self.show(Line::notification(&format!(
                    "Received file: {} (from {from})",
                    escaped(&path)
                )));
            }
            Inbound::NotSaved { from, name, error } => {
                self.transfers.finish(Transfer::Receiving);
                self.show(Line::error(&format!(
                    "could not save the file '{name}' from {from}: {error}"
                )));
            }
            Inbound::Closed(closed) => self.closed(closed.into()),
        }
    }

    /// A report from the writer thread.
    pub(super) fn on_written(&mut self, written: Written, now: Instant) {
        match written {
            Written::Progress { id, sent } => {
                self.transfers.update(Transfer::Sending(id), sent, now)
            }
            Written::FileSent { id } => {
                self.transfers.finish(Transfer::Sending(id));
                if let Some(at) = self.sending.iter().position(|(file, _)| *file == id) {
                    let (_, path) = self.sending.remove(at);
                    // The line client's words (session.rs), once the file is out whole.
                    let sent = format!("File '{}' sent.", escaped(&path));
                    self.show(Line::notification(&sent));
                }
            }
            Written::Failed => self.closed(ClientError::ConnectionLost),
        }
    }

    /// A deadline of the phase passed.
    pub(super) fn on_deadline(&mut self, now: Instant) {
        match self.phase {
            Phase::Greeting { until } if now >= until => self.phase = Phase::AskName,
            Phase::AwaitReply { until } if now >= until => self.closed(ClientError::NoReply),
            Phase::Joining { until } if now >= until => {
                log::warn!("the server did not answer /files on");
                self.phase = Phase::Joined;
            }
            Phase::Leaving { until } if now >= until => {
                log::warn!("the server did not close the connection after exit");
                self.finish(Ok(()));
            }
            _ => {}
        }
    }

    /// Text pasted into the terminal (a bracketed paste).
    pub(super) fn on_paste(&mut self, text: &str) {
        self.candidates.clear();
        self.input.apply(Edit::Paste(text.to_owned()));
    }

    /// A key pressed.
    pub(super) fn on_key(&mut self, key: KeyEvent, now: Instant) {
        if key.kind == KeyEventKind::Release {
            return;
        }
        if matches!(self.phase, Phase::Lost(_)) {
            // Any key leaves, once the user has seen why.
            return self.end_after_loss();
        }
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if key.code != KeyCode::Tab {
            self.candidates.clear();
        }
        let edit = match (key.code, ctrl) {
            (KeyCode::Char('c'), true) => return self.interrupt(now),
            // The end of input, as for the line client, on an empty line as in a shell.
            (KeyCode::Char('d'), true) if self.input.text().is_empty() => {
                return self.on_end_of_input(now);
            }
            (KeyCode::Char('w'), true) => Edit::DeleteWord,
            (KeyCode::Char('u'), true) => Edit::DeleteToStart,
            (KeyCode::Char('a'), true) => Edit::Home,
            (KeyCode::Char('e'), true) => Edit::End,
            (KeyCode::Char(_), true) => return,
            (KeyCode::Char(c), false) if !key.modifiers.contains(KeyModifiers::ALT) => {
                Edit::Insert(c)
            }
            (KeyCode::Enter, _) => return self.submit(now),
            (KeyCode::Tab, _) => return self.complete(),
            (KeyCode::PageUp, _) => return self.conversation.back(self.page),
            (KeyCode::PageDown, _) => return self.conversation.forward(self.page),
            (KeyCode::Left, _) => Edit::Left,
            (KeyCode::Right, _) => Edit::Right,
            (KeyCode::Home, _) => Edit::Home,
            (KeyCode::End, _) => Edit::End,
            (KeyCode::Backspace, _) => Edit::Backspace,
            (KeyCode::Delete, _) => Edit::Delete,
            (KeyCode::Up, _) => Edit::Older,
            (KeyCode::Down, _) => Edit::Newer,
            _ => return,
        };
        self.input.apply(edit);
    }

    fn on_frame(&mut self, frame: ServerFrame, now: Instant) {
        match &frame {
            ServerFrame::Users(names) => self.roster.set(names),
            ServerFrame::Join(name) => self.roster.join(name),
            ServerFrame::Leave(name) => self.roster.leave(name),
            _ => {}
        }
        let hidden = self.is_files_answer(&frame);
        if let Some(line) = render(&frame).filter(|_| !hidden) {
            self.show(line);
        }
        let asking = self.asks_name();
        match frame {
            ServerFrame::Info(_) if matches!(self.phase, Phase::Greeting { .. }) => {
                self.phase = Phase::AskName;
            }
            ServerFrame::Error(_) if asking => self.phase = Phase::AskName,
            ServerFrame::Welcome(name) if asking => {
                self.name = Some(name);
                self.files_answer_pending = true;
                self.send(&ClientFrame::Command(Command::Files(true)));
                let until = now + self.config.handshake_timeout;
                self.phase = Phase::Joining { until };
            }
            _ => {}
        }
    }

    /// Whether `frame` is the answer to the `/files on` sent at the welcome, to keep off the
    /// screen: the first `[INFO]` or `[ERROR]` after it. An `[INFO]` is hidden; an `[ERROR]` is
    /// shown, since it may say why the chat ends (as the line client does).
    fn is_files_answer(&mut self, frame: &ServerFrame) -> bool {
        if !self.files_answer_pending {
            return false;
        }
        let hidden = match frame {
            ServerFrame::Info(text) => {
                log::debug!("the server's answer to /files on: {text}");
                true
            }
            ServerFrame::Error(_) => false,
            _ => return false,
        };
        self.files_answer_pending = false;
        if let Phase::Joining { .. } = self.phase {
            self.phase = Phase::Joined;
        }
        hidden
    }

    /// The terminal's input ended (it was closed): leave, as the line client does at the end of
    /// its input.
    pub(super) fn on_end_of_input(&mut self, now: Instant) {
        match self.phase {
            Phase::Leaving { .. } => {}
            Phase::Lost(_) => self.end_after_loss(),
            _ => self.leave(now),
        }
    }

    /// Ctrl-C: leave as `exit` does; a second one while leaving does not wait for the server.
    fn interrupt(&mut self, now: Instant) {
        match self.phase {
            Phase::Leaving { .. } => self.finish(Ok(())),
            _ => self.leave(now),
        }
    }

    /// Enter: the line typed is a name, a message or a command.
    fn submit(&mut self, now: Instant) {
        match self.phase {
            Phase::Greeting { .. } | Phase::AskName => {
                let name = self.input.take(false);
                if name == EXIT_COMMAND {
                    self.leave(now);
                } else if !name.is_empty() {
                    self.send_name(&name, now);
                }
            }
            Phase::Joined => {
                let line = self.input.take(true);
                // What the user sends, and the answer, are at the bottom: go there.
                self.conversation.forward(usize::MAX);
                self.on_line(&line, now);
            }
            // Waiting for the server: the line stays in the input until it has answered.
            _ => {}
        }
    }

    /// Sends a name, or says why it cannot be one.
    fn send_name(&mut self, name: &str, now: Instant) {
        // Only a valid username is sent: another line could be read as another frame.
        if let Err(why) = protocol::check_username(name) {
            self.show(Line::error(&format!("bad username: {why}")));
            self.phase = Phase::AskName;
            return;
        }
        self.send(&ClientFrame::Text(name.to_owned()));
        let until = now + self.config.handshake_timeout;
        self.phase = Phase::AwaitReply { until };
    }

    /// A line once joined: as the line client's `on_command`.
    fn on_line(&mut self, line: &str, now: Instant) {
        if line == EXIT_COMMAND {
            self.leave(now);
        } else if let Some(path) = file_command(line) {
            self.send_file(path, now);
        } else if line.starts_with(FILE_TAG) {
            // Sent as typed, it would be a file header with the following lines as its content.
            self.show(Line::error(&format!(
                "to send a file, type {FILE_COMMAND} PATH"
            )));
        } else if line.chars().any(protocol::is_forbidden_control) {
            self.show(Line::error(
                "control characters are not allowed; nothing was sent",
            ));
        } else if let Some(command) = Command::parse(line) {
            match command {
                Ok(command) => self.send_command(command),
                Err(why) => self.show(Line::error(&format!("{why}; nothing was sent"))),
            }
        } else if let Some(text) = line.strip_prefix(COMMAND_PREFIX) {
            // `//text`: the message `/text`, which encodes as typed.
            self.send_message(text);
        } else if !line.is_empty() {
            self.send_message(line);
        }
    }

    fn send_message(&mut self, text: &str) {
        self.send(&ClientFrame::Text(text.to_owned()));
        // The server does not echo it back: shown here as the line client logs it.
        self.show(Line::own(text));
    }

    fn send_command(&mut self, command: Command) {
        if command == Command::Help {
            for line in client_help() {
                self.show(line);
            }
        }
        self.send(&ClientFrame::Command(command.clone()));
        if let Command::Msg { to, text } = &command {
            self.show(Line::sent_private(to, text));
        }
    }

    fn send_file(&mut self, path: &str, now: Instant) {
        if path.is_empty() {
            return self.show(Line::error(&format!("usage: {FILE_COMMAND} PATH")));
        }
        let (name, data) = match load_file(Path::new(path), self.config.max_file_size) {
            Ok(file) => file,
            Err(why) => {
                let error = format!("cannot send '{}': {why}", escaped(path));
                return self.show(Line::error(&error));
            }
        };
        let id = self.next_file;
        self.next_file += 1;
        let size = data.len() as u64;
        let bytes = ClientFrame::File {
            name: name.clone(),
            data,
        }
        .encode();
        self.transfers
            .start(Transfer::Sending(id), format!("sending {name}"), size, now);
        self.sending.push((id, path.to_owned()));
        self.effects
            .push(Effect::Send(Outgoing::File { id, bytes }));
    }

    /// Tab: completes the word before the cursor, or lists what it may become.
    fn complete(&mut self) {
        if !matches!(self.phase, Phase::Joined) {
            return;
        }
        let own = self.name.as_deref();
        let before = self.input.before_cursor();
        if let Some(completion) = complete(before, self.roster.names(), own, list_folder) {
            self.input
                .replace_before_cursor(completion.from, &completion.with);
            self.candidates = completion.candidates;
        }
    }

    /// Sends `exit` and waits for the server to close the connection.
    fn leave(&mut self, now: Instant) {
        self.send(&ClientFrame::Exit);
        let until = now + self.config.leave_timeout;
        self.phase = Phase::Leaving { until };
    }

    /// The connection ended (or the server did not answer): the end when leaving, else kept on
    /// screen as the reason.
    fn closed(&mut self, error: ClientError) {
        match self.phase {
            Phase::Leaving { .. } => self.finish(Ok(())),
            Phase::Lost(_) | Phase::Done => {}
            _ => {
                self.transfers = Transfers::default();
                self.phase = Phase::Lost(error);
            }
        }
    }

    /// The user has seen why the connection ended: the session is over, with that error.
    fn end_after_loss(&mut self) {
        if let Phase::Lost(error) = std::mem::replace(&mut self.phase, Phase::Done) {
            self.outcome = Some(Err(error));
        }
    }

    fn finish(&mut self, outcome: Result<(), ClientError>) {
        self.phase = Phase::Done;
        self.outcome = Some(outcome);
    }

    fn send(&mut self, frame: &ClientFrame) {
        self.effects
            .push(Effect::Send(Outgoing::Frame(frame.encode())));
    }

    /// Shows a line in the conversation, made safe as the line client's `Output` makes it,
    /// and logs it.
    fn show(&mut self, line: Line) {
        self.conversation.push(Entry {
            time: clock::hours_minutes((self.wall_clock)()),
            line: safe(&line),
        });
        self.effects.push(Effect::Log(line));
    }
}

#[cfg(test)]
mod tests;
