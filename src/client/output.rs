//! The end of the inbound data path: every line a person reads goes through one [`Output`], which
//! writes it to stdout and appends it to the chat log. Both threads print through it: the receiver
//! thread the server's lines, the main thread the client's own notices and errors.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::ClientError;
use super::safe_text::safe_line;

/// Where everything a person reads goes: stdout, and the chat log when there is one.
///
/// One lock around both, so the receiver thread and the main thread never interleave halves of
/// lines, and the log gets each line as it is shown.
pub(super) struct Output {
    state: Mutex<OutputState>,
}

struct OutputState {
    stdout: io::Stdout,
    log: Option<File>,
    /// The prompt waiting for an answer; shown again below any line printed over it.
    prompt: Option<&'static str>,
    /// False right after a prompt, so the next line has to start on a new line first.
    at_line_start: bool,
    /// A terminal echoes the line typed, Enter included; a pipe does not.
    stdin_echoes: bool,
}

impl Output {
    pub(super) fn open(log: Option<&Path>) -> Result<Output, ClientError> {
        let log = match log {
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| ClientError::Log {
                        path: path.to_owned(),
                        source,
                    })?,
            ),
            None => None,
        };
        Ok(Output {
            state: Mutex::new(OutputState {
                stdout: io::stdout(),
                log,
                prompt: None,
                at_line_start: true,
                stdin_echoes: io::stdin().is_terminal(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, OutputState> {
        // A thread that panicked while printing leaves nothing half-done that matters here.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shows one line and appends it to the log, made safe ([`safe_line`]): control characters
    /// become U+FFFD, and what the line opened of bidi reordering is closed at its end.
    pub(super) fn line(&self, text: &str) {
        let text = safe_line(text);
        let mut state = self.lock();
        let mut shown = String::with_capacity(text.len() + 2);
        if !state.at_line_start {
            shown.push('\n');
        }
        shown.push_str(&text);
        shown.push('\n');
        if let Some(prompt) = state.prompt {
            shown.push_str(prompt);
        }
        state.at_line_start = state.prompt.is_none();
        state.write_stdout(&shown);
        state.write_log(&text);
    }

    /// Appends a line to the log without showing it (what the user sent is already on screen).
    pub(super) fn log_only(&self, text: &str) {
        let text = safe_line(text);
        self.lock().write_log(&text);
    }

    /// Shows a prompt, without a line end, unless it is already on screen.
    pub(super) fn prompt(&self, prompt: &'static str) {
        let mut state = self.lock();
        if state.prompt == Some(prompt) {
            return;
        }
        let mut shown = String::new();
        if !state.at_line_start {
            shown.push('\n');
        }
        shown.push_str(prompt);
        state.prompt = Some(prompt);
        state.at_line_start = false;
        state.write_stdout(&shown);
    }

    /// The user answered the prompt with a line.
    pub(super) fn answered(&self) {
        let mut state = self.lock();
        if state.prompt.take().is_some() {
            state.at_line_start = state.stdin_echoes;
        }
    }

    /// Takes the prompt away and ends its line, so what comes next starts on a line of its own.
    pub(super) fn close_prompt(&self) {
        let mut state = self.lock();
        state.prompt = None;
        if !state.at_line_start {
            state.write_stdout("\n");
            state.at_line_start = true;
        }
    }
}

impl OutputState {
    fn write_stdout(&mut self, text: &str) {
        let result = self
            .stdout
            .write_all(text.as_bytes())
            .and_then(|()| self.stdout.flush());
        if let Err(error) = result {
            // Nobody is left to tell when stdout itself is gone (a closed pipe): carry on.
            log::debug!("cannot write to stdout: {error}");
        }
    }

    fn write_log(&mut self, line: &str) {
        let Some(log) = &mut self.log else {
            return;
        };
        // One write per line, so a line is never split in an append-mode file.
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        if let Err(error) = log.write_all(&bytes) {
            log::warn!("cannot write the chat log, logging stops: {error}");
            self.log = None;
        }
    }
}
