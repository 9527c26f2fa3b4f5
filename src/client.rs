//! The terminal side of the chat: what a person types becomes frames on the socket, and what the
//! server sends becomes lines a person reads, saved files and the chat log.
//!
//! Three threads, each with one job and one end:
//! - the stdin thread reads lines (at most `max_line` bytes each) into a small bounded channel;
//!   it ends at the end of input, or when the main thread is gone;
//! - the receiver thread reads the socket, feeds the bytes to a
//!   [`ServerFrameDecoder`](crate::protocol::ServerFrameDecoder), prints each frame as a line,
//!   saves received files, and tells the main thread about the handshake (greeting, welcome,
//!   refused name) and about the connection closing; it ends when the socket closes;
//! - the main thread waits on both with `select!` and is the only one that writes to the socket:
//!   stdin lines -> [`ClientFrame`](crate::protocol::ClientFrame)s (messages, commands, files)
//!   -> bytes.
//!
//! ```text
//!  stdin  --> stdin thread    --lines--> main thread --frames--> socket
//!             (stdin.rs)                 (session.rs, sending.rs)
//!                                             ^      \
//!                                             |       `--its own lines (-> bob: hi, errors)--.
//!                                             | events: greeted, welcomed, refused, closed    |
//!                                             |                                               v
//!  socket --> receiver thread --frames--+-----+--> render.rs --Lines--> Output --> stdout, log
//!             (inbound.rs)              |                               (output.rs: safe_text,
//!                                       |                                style, clock)
//!                                       +--> saving.rs --> files in the downloads folder
//! ```
//!
//! Everything shown goes through one `Output` (stdout and the chat log under one lock), so the two
//! threads never interleave halves of lines and the log gets every line as it is shown, in plain
//! text; stdout gets it coloured when it is a terminal (or `--color always`). A big file's
//! progress line goes to stderr through the same lock.
//!
//! Reading order, following the data:
//! 1. this file: [`Config`], [`run`], which connects (`open`, the one way in for both front
//!    ends: over plain TCP, or with the `tls` feature over TLS: `client/tls.rs`, which trusts a
//!    certificate as `client/known_servers.rs` remembers it), and starts the threads on the
//!    connection's halves (`crate::transport`);
//! 2. `client/stdin.rs`: the stdin thread, stdin -> bounded lines;
//! 3. `client/session.rs`: the main thread, lines -> the handshake (a password too, when the
//!    server asks for one), messages and commands -> frames -> socket;
//!    `client/file_command.rs`: what a `/file PATH [as NAME]` line asks for (quoted paths, `~`);
//!    `client/sending.rs`: -> a checked file to send;
//! 4. `client/inbound.rs`: the receiver thread, socket -> frames -> lines, files and events;
//!    `client/files_answer.rs`: the answer to the `/files on` sent at the welcome, kept off the
//!    screen;
//!    `client/render.rs`: frame -> the `Line` a person reads;
//!    `client/saving.rs`: a received file -> the downloads folder (and the temporaries a killed
//!    client left, removed at start);
//! 5. `client/output.rs`: stdout and the chat log under one lock; `client/safe_text.rs`: what
//!    makes a line safe to show (no control characters, no reordering past its end);
//!    `client/style.rs`: colours for a terminal; `client/clock.rs`: times in UTC;
//!    `client/progress.rs`: the progress line of a big file;
//! 6. `client/config.rs` and `client/error.rs`: the defaults and why the client stops.
//!
//! With the feature `tui`, `client/tui.rs` is a second front end on the same pieces
//! ([`run_tui`], `chat-client --tui`): a split screen instead of stdin and stdout.

mod clock;
mod config;
mod error;
mod file_command;
mod files_answer;
mod inbound;
#[cfg(feature = "tls")]
mod known_servers;
mod output;
mod progress;
mod render;
mod safe_text;
mod saving;
mod sending;
mod session;
mod stdin;
mod style;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "tui")]
mod tui;

use std::io;
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::sync::Arc;

pub use config::Config;
pub use error::ClientError;
#[cfg(feature = "tls")]
pub use known_servers::default_path as default_known_servers;
pub use style::ColorChoice;
#[cfg(feature = "tls")]
pub use tls::TlsTrust;
#[cfg(feature = "tui")]
pub use tui::run as run_tui;

use inbound::spawn_receiver;
use output::Output;
use render::Line;
use session::{Ended, Session};
use stdin::spawn_stdin_reader;

use crate::transport::{Closer, ReadHalf, Transport, WriteHalf};

/// What the client shows while it waits for a username.
pub const NAME_PROMPT: &str = "Enter your username: ";
/// What the client shows while it waits for a password (after `[AUTH]`). What is typed shows
/// (std cannot hide it) but is never written to the chat log.
pub const PASSWORD_PROMPT: &str = "Password: ";
/// The command that sends a file: `/file PATH`.
pub const FILE_COMMAND: &str = "/file";

/// Neither thread recurses or keeps large values on its stack (buffers live on the heap).
const THREAD_STACK: usize = 256 * 1024;

/// Connects to the server and runs the chat on this process's stdin and stdout until the user
/// leaves (`exit` or the end of input) or the server shuts down (it says so first).
///
/// The stdin thread is not joined: a blocking read of stdin cannot be interrupted, so it ends with
/// the process (or at the next line, when it finds the main thread gone).
///
/// # Errors
/// When the server cannot be reached, the log cannot be opened, the connection ends before the
/// user left, or the name was refused and input ended before another was accepted; the binary
/// prints the error as one line and exits with status 1.
pub fn run(config: Config) -> Result<(), ClientError> {
    // Before anything can arrive: the temporaries of this run must not be taken for stale ones.
    saving::remove_stale_temporaries(&config.downloads);
    let Connection {
        reader,
        writer,
        closer,
        notice,
    } = open(&config)?;
    // Opened once connected (and secured: a TLS failure is a failure to connect), so a client
    // that never got in leaves no empty log behind.
    let output = Arc::new(Output::open(&config)?);
    output.log_mark(&session_start(&config));
    if let Some(notice) = notice {
        output.show(&notice);
    }

    let input = spawn_stdin_reader(config.max_line)?;
    let (events, receiver) = spawn_receiver(reader, &config, Arc::clone(&output))?;
    let result = Session::new(writer, Arc::clone(&output), config).run(&events, &input);

    // However the session ended, end the receiver too: dropping `events` fails a send it may be
    // blocked in, and shutting the socket down wakes its blocking read.
    drop(events);
    if let Err(error) = closer.shutdown(Shutdown::Both) {
        log::debug!("shutting the socket down: {error}"); // the server may have closed it first
    }
    if receiver.join().is_err() {
        log::warn!("the receiver thread panicked");
    }
    output.close_prompt();
    log_session_end(&output, &result);
    result.map(|_ended| ())
}

/// The mark that starts a session in the chat log: the server, the name when it was given
/// (else the `Joined as` line that follows says it), and that the log's times are UTC.
fn session_start(config: &Config) -> String {
    let server = host_port(&config.host, config.port);
    match &config.name {
        Some(name) => format!("session start: server {server}, name {name} (times in UTC)"),
        None => format!("session start: server {server} (times in UTC)"),
    }
}

/// The mark that ends a session in the chat log, and before it, when the session failed, what
/// the binary prints on stderr.
fn log_session_end(output: &Output, result: &Result<Ended, ClientError>) {
    match result {
        Ok(ended) => output.log_mark(&format!("session end: {ended}")),
        Err(error) => {
            output.log_only(&Line::error(&error.to_string()));
            output.log_mark(&format!("session end: {error}"));
        }
    }
}

/// A connection to the server, ready for the chat: its halves, and what the user should be told
/// about how it is secured.
struct Connection {
    reader: ReadHalf,
    writer: WriteHalf,
    closer: Closer,
    /// A line for the user: a server trusted for the first time, or one not checked at all.
    notice: Option<Line>,
}

/// Connects to the server of `config` and secures the connection as it asks: the one way in
/// for both front ends, the line client and the terminal UI.
fn open(config: &Config) -> Result<Connection, ClientError> {
    let stream = connect(config)?;
    // Chat lines are small and typed by people: send each at once, not when a packet fills up.
    stream.set_nodelay(true).map_err(ClientError::Setup)?;
    // A server that stops reading must not hang the client for ever in the middle of a file.
    stream
        .set_write_timeout(Some(config.write_timeout))
        .map_err(ClientError::Setup)?;
    secure(stream, config)
}

/// Plain TCP, or TLS when the config asks for it (the handshake happens here, before the
/// threads start). The one place where the two kinds part.
fn secure(stream: TcpStream, config: &Config) -> Result<Connection, ClientError> {
    #[cfg(feature = "tls")]
    if let Some(trust) = &config.tls {
        return tls::secure(stream, config, trust);
    }
    let _ = config;
    let (reader, writer, closer) = Transport::plain(stream)
        .split()
        .map_err(ClientError::Setup)?;
    Ok(Connection {
        reader,
        writer,
        closer,
        notice: None,
    })
}

/// Tries each address the host resolves to, each attempt bounded by `connect_timeout`.
fn connect(config: &Config) -> Result<TcpStream, ClientError> {
    let address = host_port(&config.host, config.port);
    let error = |source| ClientError::Connect {
        address: address.clone(),
        source,
    };
    // std cannot bound name resolution; "127.0.0.1" or "localhost" resolve at once.
    let addrs = (config.host.as_str(), config.port)
        .to_socket_addrs()
        .map_err(error)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, config.connect_timeout) {
            Ok(stream) => return Ok(stream),
            Err(failed) => last = failed,
        }
    }
    Err(error(last))
}

/// `host:port` as a person writes it: an IPv6 address in brackets (`[::1]:12345`), so the port
/// cannot be read as part of it.
fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_addresses_are_bracketed_before_the_port() {
        assert_eq!(host_port("::1", 12345), "[::1]:12345");
        assert_eq!(host_port("fe80::1%eth0", 1), "[fe80::1%eth0]:1");
        assert_eq!(host_port("127.0.0.1", 12345), "127.0.0.1:12345");
        assert_eq!(host_port("localhost", 80), "localhost:80");
    }
}
