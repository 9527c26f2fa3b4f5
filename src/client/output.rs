//! The end of the inbound data path: every line a person reads goes through one [`Output`], which
//! makes it safe, writes it to stdout (coloured when asked, `style.rs`; with the time before it
//! under `--timestamps`) and appends it to the chat log as plain text, after the date and time in
//! UTC to the second (`2026-12-01 10:37:46 bob: hi`), whether or not the screen shows times. Both
//! threads print through it: the receiver thread the server's lines, the main thread the
//! client's own notices and errors. It also keeps the progress line of a big file on stderr out of
//! their way, and writes the marks where a session starts and ends in the log.

use std::fs::{File, OpenOptions};
use std::io::{self, IsTerminal, Write};
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::render::Line;
use super::safe_text::{escaped, safe};
use super::style::{paint, use_colours};
use super::{ClientError, Config, clock};

/// Clears the terminal line the cursor is on and goes back to its start.
const CLEAR_LINE: &str = "\r\x1b[2K";
/// What starts a session mark in the chat log. No line shown can start so: every other line
/// starts with a name (which cannot hold `=`), a tag or an arrow.
const MARK: &str = "=== ";

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
    /// Put `HH:MM ` (UTC) before each line shown.
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
        let plain = line.plain();
        let mut shown = String::with_capacity(time.len() + plain.len() + 2);
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
        self.lock().write_log(&line.plain());
    }

    /// Writes a session mark in the log: `=== <text>`, its control and invisible characters
    /// escaped (it may hold a host name or an error from the command line).
    pub(super) fn log_mark(&self, text: &str) {
        self.lock().write_log(&format!("{MARK}{}", escaped(text)));
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

    /// Forgets the prompt on screen without ending its line: what is shown next starts on a new
    /// line, and the prompt is not drawn again below it.
    pub(super) fn drop_prompt(&self) {
        self.lock().prompt = None;
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

    /// Appends `line` to the log after the date and time now (UTC, to the second).
    fn write_log(&mut self, line: &str) {
        let Some(log) = &mut self.log else {
            return;
        };
        let stamp = clock::log_stamp(clock::now());
        // One write per line, so a line is never split in an append-mode file.
        let mut bytes = Vec::with_capacity(stamp.len() + line.len() + 2);
        bytes.extend_from_slice(stamp.as_bytes());
        bytes.push(b' ');
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        if let Err(error) = log.write_all(&bytes) {
            log::warn!("cannot write the chat log, logging stops: {error}");
            self.log = None;
        }
    }
}
