//! What the client can be told: the server to reach, the name, where files and the log go, and
//! every bound and timeout, each with its default in one place. The binary turns its options into
//! a [`Config`]; [`run`](super::run) hands parts of it to each thread.

use std::path::PathBuf;
use std::time::Duration;

use super::ColorChoice;
use crate::protocol;

/// Everything the client can be told; every bound has its default in [`Config::default`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's host name or address.
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// The username to join with; `None` asks for one on stdin.
    pub name: Option<String>,
    /// The folder received files are saved in (created when missing).
    pub downloads: PathBuf,
    /// The chat log, appended to; `None` writes no log.
    pub log: Option<PathBuf>,
    /// The largest file sent or received, in bytes.
    pub max_file_size: u64,
    /// The server's line limit, in bytes (its `--max-line`): a longer line typed is refused
    /// before it is sent, naming the limit. The client cannot learn a server's own limit, so it
    /// assumes chat/1's default.
    pub max_line: usize,
    /// The longest line accepted from the server, in bytes. Longer than the server's own limit,
    /// because the server's lines carry a name prefix and a server may raise its limit.
    pub max_received_line: usize,
    /// How long one attempt to connect may take.
    pub connect_timeout: Duration,
    /// How long a write to the server may make no progress before the connection counts as lost.
    pub write_timeout: Duration,
    /// How long to wait for the server's greeting before asking for a name anyway.
    pub greeting_wait: Duration,
    /// How long to wait for the server to accept or refuse a name.
    pub handshake_timeout: Duration,
    /// How long, after an `[ERROR]` before the welcome, to wait for the server to close the
    /// connection before taking the error for a refused name and asking for another. A server
    /// that ends the connection closes it right after its `[ERROR]`.
    pub refusal_wait: Duration,
    /// How long to wait, after sending `exit`, for the server to close the connection.
    pub leave_timeout: Duration,
    /// Once joined, an empty line is sent when nothing was sent for this long, so that a user
    /// who only reads is not closed at the server's idle timeout (30 min by default): the
    /// server ignores an empty line but counts it as a frame. Zero sends none.
    pub keepalive: Duration,
    /// When to colour what is shown (never the chat log).
    pub color: ColorChoice,
    /// Put the time, `HH:MM` in UTC, before each line shown (the chat log always has the date
    /// and time to the second).
    pub timestamps: bool,
    /// A file whose first line is the password to give when the server asks for one
    /// (`[AUTH]`); `None`: ask on stdin.
    pub password_file: Option<PathBuf>,
    /// How long to wait for the server to accept or refuse a password: a server answers a
    /// wrong one only after a delay that grows up to a minute.
    pub password_timeout: Duration,
    /// TLS, and which server certificates to trust; `None` (the default): plain TCP. The
    /// handshake must be over within `connect_timeout`.
    #[cfg(feature = "tls")]
    pub tls: Option<super::TlsTrust>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            host: crate::DEFAULT_HOST.to_owned(),
            port: crate::DEFAULT_PORT,
            name: None,
            downloads: PathBuf::from("."),
            log: Some(PathBuf::from("chat_log.txt")),
            max_file_size: protocol::DEFAULT_MAX_FILE_SIZE,
            max_line: protocol::DEFAULT_MAX_LINE,
            max_received_line: 64 * 1024,
            connect_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(30),
            greeting_wait: Duration::from_secs(1),
            handshake_timeout: Duration::from_secs(10),
            refusal_wait: Duration::from_millis(500),
            leave_timeout: Duration::from_secs(5),
            keepalive: Duration::from_secs(60),
            color: ColorChoice::Auto,
            timestamps: false,
            password_file: None,
            password_timeout: Duration::from_secs(75),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}
