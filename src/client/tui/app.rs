//! The terminal UI's state, and every decision it takes: what a frame from the server shows and
//! changes (the conversation, who is online, a file's bar), what a key does (edit, complete,
//! scroll, send, leave), and where the conversation is (the handshake, joined, leaving). Pure but
//! for reading a file to send and a folder to complete: it never touches the terminal or the
//! socket. What it wants done comes out as [`Effect`]s (bytes for the writer thread, lines for the
//! chat log) that `event_loop.rs` carries out.
//!
//! The conversation follows the line client's (`session.rs` and `inbound.rs`) step by step: the
//! greeting, the name (from `--name` or typed here; a refused one asked again), the password
//! when the server asks for one (`[AUTH]`: from `--password-file`, or typed in the input line,
//! which then shows nothing of it; never shown, never logged), the welcome,
//! `/files on` and its answer kept off the screen, then lines and commands (and an empty line
//! after `Config::keepalive` without sending), then `exit`, or the server's shutdown, or a lost
//! connection. Every line shown goes to the chat log as the line client logs it, through the same
//! `Output`, and the session ends the same ways ([`Ended`], or a [`ClientError`]).

use std::time::Instant;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyEventKind, KeyModifiers};

use super::super::file_command::file_command;
use super::super::files_answer::{Answer, FilesAnswer};
use super::super::progress::SHOWN_ABOVE;
use super::super::render::{Line, client_help, render};
use super::super::safe_text::{escaped, safe};
use super::super::saving::saved_path;
use super::super::sending::prepare_file;
use super::super::session::{Ended, password_from_file, password_line};
use super::super::{ClientError, Config, FILE_COMMAND, clock};
use super::completion::{complete, list_folder};
use super::conversation::{Conversation, Entry};
use super::input::{Edit, Input};
use super::net::{Inbound, Outgoing, Written};
use super::roster::Roster;
use super::transfers::{Transfer, Transfers};
use crate::protocol::{
    self, COMMAND_PREFIX, ClientFrame, Command, EXIT_COMMAND, FILE_TAG, SHUTTING_DOWN, ServerFrame,
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
    /// The server asked for the name's password (`[AUTH]`): the input line takes it, and shows
    /// nothing of it.
    AskPassword,
    /// The name was sent; waiting (until `until`) for the server to take or refuse it.
    AwaitReply { until: Instant },
    /// Welcomed, and `/files on` sent: waiting (until `until`) for its answer.
    Joining { until: Instant },
    /// Joined: lines are messages and commands.
    Joined,
    /// `exit` was sent: waiting (until `until`) for the server to close the connection.
    Leaving { until: Instant },
    /// The server closed the connection before the user left (it shut down, or the connection
    /// was lost): how stays on the status line until a key is pressed.
    Closed(Result<Ended, ClientError>),
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
    /// Waits, from the welcome (when `/files on` is sent), for the answer to keep off the
    /// screen.
    files_answer: FilesAnswer,
    /// Why the server refused the last name, until one is welcomed: if the connection ends
    /// (or the user leaves) meanwhile, the client never joined, and says why.
    refused: Option<String>,
    /// Set by `[ERROR]:server is shutting down`: the close that follows is a clean end.
    shutting_down: bool,
    /// When the last frame was queued for the server: the keepalive counts from there.
    last_sent: Instant,
    /// The time of the event being handled.
    now: Instant,
    pub(super) conversation: Conversation,
    pub(super) roster: Roster,
    pub(super) input: Input,
    pub(super) transfers: Transfers,
    /// What Tab found when there was more than one completion, until the next key.
    pub(super) candidates: Vec<String>,
    /// Files queued to send, oldest first: their number and the line to show once sent.
    sending: Vec<(u64, Line)>,
    next_file: u64,
    /// Lines PageUp and PageDown move by: the conversation pane's height, set after each draw.
    page: usize,
    effects: Vec<Effect>,
    outcome: Option<Result<Ended, ClientError>>,
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
        // The server's line limit: a longer line would be refused.
        let limit = config.max_line;
        let mut app = App {
            config,
            phase: Phase::Greeting { until },
            name: None,
            files_answer: FilesAnswer::default(),
            refused: None,
            shutting_down: false,
            last_sent: now,
            now,
            conversation: Conversation::new(KEPT_LINES, KEPT_BYTES),
            roster: Roster::default(),
            input: Input::new(limit),
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

    /// Whether the user has not joined yet: the input line is for a username, or its password.
    pub(super) fn asks_name(&self) -> bool {
        matches!(
            self.phase,
            Phase::Greeting { .. } | Phase::AskName | Phase::AskPassword | Phase::AwaitReply { .. }
        )
    }

    /// Whether the input line takes a password: it shows nothing of what is typed.
    pub(super) fn asks_password(&self) -> bool {
        matches!(self.phase, Phase::AskPassword)
    }

    /// A line about the connection before anything arrived: a server's certificate trusted for
    /// the first time, or not checked at all (`--tls-insecure`). Shown and logged as the line
    /// client shows and logs it.
    pub(super) fn notice(&mut self, line: Line) {
        self.show(line);
    }

    /// When the app wants [`on_deadline`](Self::on_deadline) called: the phase's deadline, or
    /// once joined, when the keepalive is due.
    pub(super) fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Greeting { until }
            | Phase::AwaitReply { until }
            | Phase::Joining { until }
            | Phase::Leaving { until } => Some(until),
            Phase::Joined => {
                let every = self.config.keepalive;
                (!every.is_zero()).then(|| self.last_sent + every)
            }
            _ => None,
        }
    }

    /// What the app wants done, in order; it forgets them.
    pub(super) fn take_effects(&mut self) -> Vec<Effect> {
        std::mem::take(&mut self.effects)
    }

    /// How the session ended, once it has: the event loop stops then.
    pub(super) fn outcome(&mut self) -> Option<Result<Ended, ClientError>> {
        self.outcome.take()
    }

    /// The conversation pane shows `rows` rows: PageUp and PageDown move by that many lines.
    pub(super) fn set_page(&mut self, rows: usize) {
        self.page = rows.max(1);
    }

    /// A report from the receiver thread.
    pub(super) fn on_inbound(&mut self, inbound: Inbound, now: Instant) {
        self.now = now;
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
                    if size > SHOWN_ABOVE {
                        // As the line client: a big file is announced before it is there.
                        self.show(Line::file_arriving(&from, &name, size));
                    }
                    let label = format!("receiving {name} from {from}");
                    self.transfers.start(Transfer::Receiving, label, size, now);
                }
                self.transfers.update(Transfer::Receiving, received, now);
            }
            Inbound::Saved { from, saved, size } => {
                self.transfers.finish(Transfer::Receiving);
                let path = saved_path(&self.config.downloads, &saved);
                self.show(Line::file_received(&path, size, &from));
            }
            Inbound::NotSaved { from, name, error } => {
                self.transfers.finish(Transfer::Receiving);
                self.show(Line::error(&format!(
                    "could not save the file '{name}' from {from}: {error}"
                )));
            }
            Inbound::Closed(closed) => {
                let ended = if self.shutting_down {
                    // The server said goodbye first: however the socket then ended, that was it.
                    Ok(Ended::ServerShutDown)
                } else if let Some(why) = self.refused.take().filter(|_| self.asks_name()) {
                    // The [ERROR] was the server's last word, not a refused name.
                    Err(ClientError::NotJoined(escaped(&why)))
                } else {
                    Err(closed.into())
                };
                self.closed(ended);
            }
        }
    }

    /// A report from the writer thread.
    pub(super) fn on_written(&mut self, written: Written, now: Instant) {
        self.now = now;
        match written {
            Written::Progress { id, sent } => {
                self.transfers.update(Transfer::Sending(id), sent, now)
            }
            Written::FileSent { id } => {
                self.transfers.finish(Transfer::Sending(id));
                if let Some(at) = self.sending.iter().position(|(file, _)| *file == id) {
                    let (_, sent) = self.sending.remove(at);
                    self.show(sent);
                }
            }
            Written::Failed => self.closed(Err(ClientError::ConnectionLost)),
        }
    }

    /// A deadline of the phase passed.
    pub(super) fn on_deadline(&mut self, now: Instant) {
        self.now = now;
        if self.deadline().is_none_or(|due| now < due) {
            return;
        }
        match self.phase {
            Phase::Greeting { .. } => self.phase = Phase::AskName,
            Phase::AwaitReply { .. } => self.closed(Err(ClientError::NoReply)),
            Phase::Joining { .. } => {
                log::warn!("the server did not answer /files on");
                self.phase = Phase::Joined;
            }
            Phase::Leaving { .. } => {
                log::warn!("the server did not close the connection after exit");
                self.finish(Ok(Ended::Left));
            }
            // Nothing was sent for a while: an empty line keeps the server's idle timeout away.
            Phase::Joined => self.send(&ClientFrame::Empty),
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
        self.now = now;
        if matches!(self.phase, Phase::Closed(_)) {
            // Any key leaves, once the user has seen how it ended.
            return self.end_after_close();
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
            // A line from the history is no password, and could be sent as one unseen.
            (KeyCode::Up | KeyCode::Down, _) if self.asks_password() => return,
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
            ServerFrame::Error(text) if text == SHUTTING_DOWN => self.shutting_down = true,
            ServerFrame::Auth(_) if asking => self.give_password(now),
            ServerFrame::Error(text) if asking => {
                // A refused name, or the server's reason for closing: the close tells.
                self.refused = Some(text);
                self.phase = Phase::AskName;
            }
            ServerFrame::Welcome(name) if asking => {
                self.refused = None;
                self.name = Some(name);
                self.files_answer.sent();
                self.send(&ClientFrame::Command(Command::Files(true)));
                let until = now + self.config.handshake_timeout;
                self.phase = Phase::Joining { until };
            }
            _ => {}
        }
    }

    /// Whether `frame` is the answer to the `/files on` sent at the welcome, to keep off the
    /// screen and out of the log, as the line client does (see `files_answer.rs`). The answer
    /// ends the joining.
    fn is_files_answer(&mut self, frame: &ServerFrame) -> bool {
        let answer = self.files_answer.take(frame);
        if answer != Answer::No
            && let Phase::Joining { .. } = self.phase
        {
            self.phase = Phase::Joined;
        }
        answer == Answer::Hidden
    }

    /// The terminal's input ended (it was closed): leave, as the line client does at the end of
    /// its input.
    pub(super) fn on_end_of_input(&mut self, now: Instant) {
        self.now = now;
        match self.phase {
            Phase::Leaving { .. } | Phase::Done => {}
            Phase::Closed(_) => self.end_after_close(),
            _ => self.leave(now),
        }
    }

    /// Ctrl-C: leave as `exit` does; a second one while leaving does not wait for the server.
    fn interrupt(&mut self, now: Instant) {
        match self.phase {
            Phase::Leaving { .. } => self.finish(Ok(Ended::Left)),
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
            Phase::AskPassword => {
                let password = self.input.take(false);
                // Enter on an empty field is a slip, not a password to be refused for.
                if !password.is_empty() {
                    self.send_password(&password, now);
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

    /// The server asked for the name's password: from `--password-file`, else typed into the
    /// input line, emptied first so that nothing typed ahead becomes part of it.
    fn give_password(&mut self, now: Instant) {
        let Some(path) = self.config.password_file.clone() else {
            self.input.take(false);
            self.phase = Phase::AskPassword;
            return;
        };
        match password_from_file(&path) {
            Ok(password) => self.send_password(&password, now),
            Err(error) => self.closed(Err(error)),
        }
    }

    /// Sends the password as it is (the server takes the line after `[AUTH]` verbatim); never
    /// shown, never logged. The server answers a wrong one late, so the wait is longer.
    fn send_password(&mut self, password: &str, now: Instant) {
        self.queue(Outgoing::Frame(password_line(password)));
        let until = now + self.config.password_timeout;
        self.phase = Phase::AwaitReply { until };
    }

    /// A line once joined: as the line client's `on_command`.
    fn on_line(&mut self, line: &str, now: Instant) {
        if line == EXIT_COMMAND {
            self.leave(now);
        } else if let Some(args) = file_command(line) {
            self.send_file(args, now);
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

    /// `/file PATH [as NAME]`: `args` is what follows `/file`. The file goes to the writer
    /// thread whole; its bar moves as the writer reports, and the line saying it was sent
    /// comes once it is out.
    fn send_file(&mut self, args: &str, now: Instant) {
        let file = match prepare_file(args, self.config.max_file_size) {
            Ok(file) => file,
            Err(why) => return self.show(Line::error(&why)),
        };
        let id = self.next_file;
        self.next_file += 1;
        let size = file.data.len() as u64;
        let label = format!("sending {}", file.name);
        let bytes = ClientFrame::File {
            name: file.name,
            data: file.data,
        }
        .encode();
        self.transfers
            .start(Transfer::Sending(id), label, size, now);
        self.sending.push((id, file.sent));
        self.queue(Outgoing::File { id, bytes });
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

    /// Sends `exit` and waits for the server to close the connection. After a refused name,
    /// leaving means the client never joined, as the line client says when its input ends then.
    /// While the server waits for a password, `exit` would be taken for one (and counted as
    /// wrong against this address): closing the connection is the goodbye then.
    fn leave(&mut self, now: Instant) {
        let refused = self.refused.take().filter(|_| self.asks_name());
        if self.asks_password() {
            return self.finish(refused.map_or(Ok(Ended::Left), |why| {
                Err(ClientError::NotJoined(escaped(&why)))
            }));
        }
        self.send(&ClientFrame::Exit);
        if let Some(why) = refused {
            return self.finish(Err(ClientError::NotJoined(escaped(&why))));
        }
        let until = now + self.config.leave_timeout;
        self.phase = Phase::Leaving { until };
    }

    /// The connection ended (or the server did not answer): the end when leaving, else kept on
    /// screen until a key is pressed.
    fn closed(&mut self, ended: Result<Ended, ClientError>) {
        match self.phase {
            Phase::Leaving { .. } => self.finish(Ok(Ended::Left)),
            Phase::Closed(_) | Phase::Done => {}
            _ => {
                self.transfers = Transfers::default();
                self.phase = Phase::Closed(ended);
            }
        }
    }

    /// The user has seen how the session ended: it is over.
    fn end_after_close(&mut self) {
        if let Phase::Closed(ended) = std::mem::replace(&mut self.phase, Phase::Done) {
            self.outcome = Some(ended);
        }
    }

    fn finish(&mut self, outcome: Result<Ended, ClientError>) {
        self.phase = Phase::Done;
        self.outcome = Some(outcome);
    }

    fn send(&mut self, frame: &ClientFrame) {
        self.queue(Outgoing::Frame(frame.encode()));
    }

    fn queue(&mut self, item: Outgoing) {
        self.last_sent = self.now;
        self.effects.push(Effect::Send(item));
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
