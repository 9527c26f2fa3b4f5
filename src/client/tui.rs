//! The terminal UI (`chat-client --tui`, feature `tui`): the same chat as the line client on a
//! split screen, drawn with ratatui. The conversation scrolls above, who is online is at the
//! side, a bar moves for each file on its way, the line being typed is edited below without
//! anything arriving in the middle of it, and a status line says where and who you are.
//!
//! ```text
//!  terminal --keys thread (event_loop.rs)---------.
//!                                                 v
//!  socket --receiver thread (net.rs)--> Inbound --> main thread: App (app.rs) --> Screen
//!             saves files (saving.rs)                 |   (view.rs draws, screen.rs owns the
//!                                                     |    terminal)
//!                                  Outgoing <---------+--> Output: the chat log (output.rs)
//!  socket <--writer thread (net.rs)----'
//! ```
//!
//! It is the line client's front end swapped, not a second client: it connects the same way
//! (`open` in `client.rs`: plain TCP, or TLS with `--tls`, the certificate trusted by the same
//! rules, the handshake over before the screen is taken), its socket threads read and write the
//! connection's halves (`crate::transport`), the frames are decoded by the same
//! [`ServerFrameDecoder`](crate::protocol::ServerFrameDecoder), each becomes the same
//! [`Line`](super::render::Line) (`render.rs`), made safe by the same
//! [`safe`](super::safe_text::safe) before it is styled, in the same colours (`style.rs`);
//! files are checked, sent and saved by the same `sending.rs` and `saving.rs`, and the chat log
//! is written by the same `Output`, line for line as the line client writes it.
//!
//! Reading order:
//! 1. this file: [`run`], which connects, starts the threads and takes the terminal;
//! 2. `tui/app.rs`: the state and every decision, pure: frames and keys in, effects out;
//!    `tui/input.rs`: the line being typed; `tui/completion.rs`: Tab;
//!    `tui/conversation.rs`, `tui/roster.rs`, `tui/transfers.rs`: what the panes show;
//! 3. `tui/view.rs`: the app drawn into a frame;
//! 4. `tui/net.rs`: the receiver and writer threads; `tui/event_loop.rs`: the main thread;
//!    `tui/screen.rs`: the terminal taken and given back, on a panic too.

mod app;
mod completion;
mod conversation;
mod event_loop;
mod input;
mod net;
mod roster;
mod screen;
#[cfg(test)]
mod testing;
mod transfers;
mod view;

use std::io::{self, IsTerminal};
use std::net::Shutdown;
use std::time::Instant;

use super::output::Output;
use super::style::use_colours;
use super::{ClientError, Config, Connection, clock, log_session_end, open, saving, session_start};
use app::App;
use event_loop::Channels;
use screen::Screen;

/// Connects to the server and runs the chat in the terminal UI until the user leaves (`exit`,
/// Ctrl-C or Ctrl-D), or the server shuts down or the connection ends and the user has seen it.
/// The terminal is given back as it was before this returns; the chat log gets the same session
/// marks as from the line client.
///
/// # Errors
/// As [`run`](super::run), and when stdin or stdout is not a terminal.
pub fn run(config: Config) -> Result<(), ClientError> {
    if !io::stdin().is_terminal() || !io::stdout().is_terminal() {
        return Err(ClientError::Setup(io::Error::other(
            "--tui needs a terminal: stdin and stdout must be one",
        )));
    }
    // Before anything can arrive: the temporaries of this run must not be taken for stale ones.
    saving::remove_stale_temporaries(&config.downloads);
    // The line client's way in: TLS when asked, trusted by the same rules, the handshake over
    // before the screen is taken (a refused certificate is an error printed as it would be).
    let Connection {
        reader,
        writer,
        closer,
        notice,
    } = open(&config)?;
    let transport = if reader.is_tls() { "TLS" } else { "plain TCP" };
    // Only its chat log is used: the screen is the app's.
    let output = Output::open(&config)?;
    output.log_mark(&session_start(&config));

    let (inbound, receiver) = net::spawn_receiver(reader, &config)?;
    let writer = net::spawn_writer(writer)?;
    let channels = Channels {
        keys: event_loop::spawn_keys()?,
        inbound,
        written: writer.reports,
        outgoing: writer.queue,
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty());
    let colours = use_colours(config.color, true, no_color);
    let mut app = App::new(config, Instant::now(), clock::now);
    app.colours = colours;
    app.transport = transport;
    if let Some(notice) = notice {
        app.notice(notice);
    }
    let result = match Screen::enter() {
        Ok(mut screen) => event_loop::run(&mut app, &mut screen, &channels, &output),
        Err(error) => Err(ClientError::Setup(error)),
    }; // the screen is dropped here: the terminal is given back before anything is printed

    // However it ended, end both socket threads: the writer once its queue is dropped (or its
    // write fails when the socket is shut down), the receiver when its read is woken.
    drop(channels);
    if let Err(error) = closer.shutdown(Shutdown::Both) {
        log::debug!("shutting the socket down: {error}"); // the server may have closed it first
    }
    for (thread, handle) in [("receiver", receiver), ("writer", writer.handle)] {
        if handle.join().is_err() {
            log::warn!("the terminal UI's {thread} thread panicked");
        }
    }
    log_session_end(&output, &result);
    result.map(|_ended| ())
}
