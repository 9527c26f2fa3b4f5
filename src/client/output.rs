//! The end of the inbound data path: every line a person reads goes through one [`Output`], which
//! makes it safe, writes it to stdout (coloured when asked, `style.rs`; with the time before it
//! under `--timestamps`) and appends it to the chat log as plain text. Both threads print through
//! it: the receiver thread the server's lines, the main thread the client's own notices and
//! errors. It also keeps the progress line of a big file on stderr out of their way.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::render::Line;
use super::safe_text::safe;
use super::style::{paint, use_colours};
use super::{ClientError, Config, clock};

/// Clears the terminal line the cursor is on and goes back to its start.
const CLEAR_LINE: &str = "\r\x1b[2K";

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
    /// Colour what stdout shows (never the log).
    colours: bool,
    /// Put `HH:MM ` (UTC) before each line shown and logged.
    timestamps: bool,
    /// Progress lines are drawn only on a terminal.
    stderr_is_terminal: bool,
    /// The progress line now on stderr, drawn again below any line printed over it.
    progress: Option<String>,
}

impl Output {
    /// Opens the chat log (`config.log`) and decides, once, whether to colour and to show
    /// progress.
    pub(super) fn open(config: &Config) -> Result<Output, ClientError> {
        let log = match config.log.as_deref() {
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
                colours: use_colours(
                    config.color,
                    io::stdout().is_terminal(),
                    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty()),
                ),
                timestamps: config.timestamps,
                stderr_is_terminal: io::stderr().is_terminal(),
                progress: None,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, OutputState> {
        // A thread that panicked while printing leaves nothing half-done that matters here.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shows one line and appends it to the log, made safe ([`safe`]): control characters
    /// become U+FFFD, and what the line opened of bidi reordering is closed at its end.
    pub(super) fn show(&self, line: &Line) {
        let line = safe(line);
        let mut state = self.lock();
        let time = state.time();
        let plain = format!("{time}{}", line.plain());
        let mut shown = String::with_capacity(plain.len() + 2);
        if !state.at_line_start {
            shown.push('\n');
        }
        shown.push_str(&time);
        if state.colours {
            shown.push_str(&paint(&line));
        } else {
            shown.push_str(&line.plain());
        }
        shown.push('\n');
        if let Some(prompt) = state.prompt {
            shown.push_str(prompt);
        }
        state.at_line_start = state.prompt.is_none();
        // The line goes above the progress line, which is drawn again below it.
        let progress = state.progress.take();
        if progress.is_some() {
            state.write_stderr(CLEAR_LINE);
        }
        state.write_stdout(&shown);
        if let Some(progress) = progress {
            state.write_stderr(&progress);
            state.progress = Some(progress);
        }
        state.write_log(&plain);
    }

    /// Shows each line in turn.
    pub(super) fn show_all(&self, lines: &[Line]) {
        for line in lines {
            self.show(line);
        }
    }

    /// Appends a line to the log without showing it (what the user sent is already on screen).
    pub(super) fn log_only(&self, line: &Line) {
        let line = safe(line);
        let mut state = self.lock();
        let plain = format!("{}{}", state.time(), line.plain());
        state.write_log(&plain);
    }

    /// Whether progress lines are shown at all (stderr is a terminal).
    pub(super) fn shows_progress(&self) -> bool {
        self.lock().stderr_is_terminal
    }

    /// Draws `text` as the progress line on stderr, over the previous one.
    pub(super) fn progress(&self, text: &str) {
        let mut state = self.lock();
        if !state.stderr_is_terminal {
            return;
        }
        state.write_stderr(&format!("{CLEAR_LINE}{text}"));
        state.progress = Some(text.to_owned());
    }

    /// Takes the progress line away.
    pub(super) fn end_progress(&self) {
        let mut state = self.lock();
        if state.progress.take().is_some() {
            state.write_stderr(CLEAR_LINE);
        }
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
    /// `HH:MM ` now, in UTC, under `--timestamps`; else nothing.
    fn time(&self) -> String {
        if self.timestamps {
            format!("{} ", clock::hours_minutes(clock::now()))
        } else {
            String::new()
        }
    }

    fn write_stderr(&mut self, text: &str) {
        let mut stderr = io::stderr().lock();
        // The progress line is a courtesy: a stderr that is gone changes nothing.
        let _ = stderr
            .write_all(text.as_bytes())
            .and_then(|()| stderr.flush());
    }

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
