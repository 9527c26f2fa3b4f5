//! What the client can be told: the server to reach, the name, where files and the log go, and
//! every bound and timeout, each with its default in one place. The binary turns its options into
//! a [`Config`]; [`run`](super::run) hands parts of it to each thread.

use std::path::PathBuf;
use std::time::Duration;

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
    /// The longest line read from the server or from stdin, in bytes. Longer than the server's
    /// own limit, because the server's lines carry a name prefix and a server may raise its limit.
    pub max_line: usize,
    /// How long one attempt to connect may take.
    pub connect_timeout: Duration,
    /// How long a write to the server may make no progress before the connection counts as lost.
    pub write_timeout: Duration,
    /// How long to wait for the server's greeting before asking for a name anyway.
    pub greeting_wait: Duration,
    /// How long to wait for the server to accept or refuse a name.
    pub handshake_timeout: Duration,
    /// How long to wait, after sending `exit`, for the server to close the connection.
    pub leave_timeout: Duration,
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
            max_line: 64 * 1024,
            connect_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(30),
            greeting_wait: Duration::from_secs(1),
            handshake_timeout: Duration::from_secs(10),
            leave_timeout: Duration::from_secs(5),
            password_file: None,
            password_timeout: Duration::from_secs(75),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}
