//! The main thread of the terminal UI: it waits on the keys, the receiver's and the writer's
//! reports and the app's deadline, hands each to the [`App`], carries out what the app wants
//! (bytes to the writer, lines to the chat log) and draws the screen, until the app is done.
//!
//! ```text
//!  terminal --keys thread--> Event ----.
//!  socket --receiver thread--> Inbound -+--> App --Effect--> writer thread --> socket
//!  writer thread ------------> Written -'      \--Effect--> Output (the chat log)
//!                                               `--view--> Screen
//! ```
//!
//! It draws once nothing more is waiting, so a burst of messages is one redraw, not hundreds;
//! but at least every [`DRAW_EVERY`], so a flood cannot freeze the screen.

use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, at, bounded, never, select};
use ratatui::crossterm::event::{self, Event};

use super::super::inbound::Closed;
use super::super::output::Output;
use super::super::session::Ended;
use super::super::{ClientError, THREAD_STACK};
use super::app::{App, Effect};
use super::net::{Inbound, Outgoing, Written};
use super::screen::Screen;

/// The longest the screen goes without a redraw while events keep coming.
const DRAW_EVERY: Duration = Duration::from_millis(100);
/// Terminal events read ahead of the main thread (keys, pastes, resizes).
const KEY_QUEUE: usize = 64;

/// The channels the main thread waits on and writes to.
pub(super) struct Channels {
    pub(super) keys: Receiver<Event>,
    pub(super) inbound: Receiver<Inbound>,
    pub(super) written: Receiver<Written>,
    pub(super) outgoing: Sender<Outgoing>,
}

/// Starts the thread that reads the terminal's events. It is not joined: a blocking read of the
/// terminal cannot be interrupted, so it ends with the process (or at the next event, when it
/// finds the main thread gone).
pub(super) fn spawn_keys() -> Result<Receiver<Event>, ClientError> {
    let (events, keys) = bounded(KEY_QUEUE);
    thread::Builder::new()
        .name("chat-tui-keys".to_owned())
        .stack_size(THREAD_STACK)
        .spawn(move || {
            loop {
                match event::read() {
                    Ok(event) => {
                        if events.send(event).is_err() {
                            return;
                        }
                    }
                    Err(error) => {
                        log::warn!("cannot read the terminal: {error}");
                        return;
                    }
                }
            }
        })
        .map_err(ClientError::Setup)?;
    Ok(keys)
}

/// Runs the app until it is done; returns how it ended.
pub(super) fn run(
    app: &mut App,
    screen: &mut Screen,
    channels: &Channels,
    output: &Output,
) -> Result<Ended, ClientError> {
    // A channel whose sender is gone is swapped for one that never fires, so the loop does not
    // spin on it while the app shows why the chat ended.
    let (no_keys, no_reports, no_writes) = (never(), never(), never());
    let (mut keys, mut inbound, mut written) =
        (&channels.keys, &channels.inbound, &channels.written);
    let mut drawn: Option<Instant> = None;
    loop {
        carry_out(app, channels, output);
        if let Some(outcome) = app.outcome() {
            return outcome;
        }
        let waiting = !keys.is_empty() || !inbound.is_empty() || !written.is_empty();
        if !waiting || drawn.is_none_or(|at| at.elapsed() >= DRAW_EVERY) {
            let rows = screen.draw(app).map_err(ClientError::Setup)?;
            app.set_page(rows);
            drawn = Some(Instant::now());
        }
        let deadline = app.deadline().map_or_else(never, at);
        select! {
            recv(keys) -> event => match event {
                Ok(Event::Key(key)) => app.on_key(key, Instant::now()),
                Ok(Event::Paste(text)) => app.on_paste(&text),
                // A resize needs only the redraw that follows; the rest is not asked for.
                Ok(_) => {}
                Err(_) => {
                    // The terminal is gone: leave, as the line client does at the end of input.
                    keys = &no_keys;
                    app.on_end_of_input(Instant::now());
                }
            },
            recv(inbound) -> report => {
                // A receiver that vanished without a word (it panicked) closed the connection.
                let report = report.unwrap_or(Inbound::Closed(Closed::ByServer));
                if let Inbound::Closed(_) = report {
                    inbound = &no_reports;
                }
                app.on_inbound(report, Instant::now());
            }
            recv(written) -> report => {
                let report = report.unwrap_or(Written::Failed);
                if report == Written::Failed {
                    written = &no_writes;
                }
                app.on_written(report, Instant::now());
            }
            recv(deadline) -> _ => app.on_deadline(Instant::now()),
        }
    }
}

/// Does what the app asked for: bytes to the writer thread, lines to the chat log.
fn carry_out(app: &mut App, channels: &Channels, output: &Output) {
    for effect in app.take_effects() {
        match effect {
            // Waits when the writer is that far behind (a big file going out and many lines
            // typed meanwhile); a write that makes no progress fails within the write timeout.
            Effect::Send(item) => {
                if channels.outgoing.send(item).is_err() {
                    app.on_written(Written::Failed, Instant::now());
                }
            }
            Effect::Log(line) => output.log_only(&line),
        }
    }
}
