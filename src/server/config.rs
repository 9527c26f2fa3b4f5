//! Every limit of the server, in one struct with its defaults in one place, and the check that
//! refuses limits which cannot work together.

use std::fmt;
use std::io;
use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use super::AccessRules;
use crate::protocol;
use crate::transport::Transport;

/// The slowest flood rate the server accepts, in frames a second: one frame every 1000 s.
pub const MIN_FLOOD_RATE: f64 = 0.001;

/// Every limit of the server, with its default in one place (`Config::default`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Open connections at most, joined or not; one more gets `[ERROR]:server full`.
    pub max_clients: usize,
    /// Open connections from one IP address at most; one more gets `[ERROR]:too many
    /// connections from your address`. Loopback is exempt unless `limit_loopback`.
    pub max_per_ip: usize,
    /// The largest file a client may send, in bytes.
    pub max_file_size: u64,
    /// Bytes of files held in memory at most, server-wide: files being received plus files
    /// waiting in outbound queues. A file that does not fit is refused (its bytes are skipped)
    /// and its sender may try again later; nobody waits for room. At least `max_file_size`.
    pub max_file_memory: u64,
    /// The longest line, in bytes, once its LF or CRLF is removed.
    pub max_line: usize,
    /// Bytes one client's outbound queue may keep alive at most: a client further behind than
    /// this is dropped. Each queued turn counts every frame it holds (the client's own too,
    /// since the queue keeps them in memory); a file counts only its header line and `<END>`:
    /// the bytes of files are bounded by `max_file_memory` and `min_file_rate` instead.
    pub send_queue: usize,
    /// How long a new connection has to give an accepted username.
    pub handshake_timeout: Duration,
    /// How long a joined client may send no frame before it is closed; `None` for ever.
    pub idle_timeout: Option<Duration>,
    /// How fast one client may send frames; `None` for no limit.
    pub flood_limit: Option<FloodLimit>,
    /// Apply `max_per_ip` and `flood_limit` to loopback clients too.
    pub limit_loopback: bool,
    /// How long a client may accept none of the bytes written to it before it counts as gone.
    pub write_timeout: Duration,
    /// How long a file's body may go without a byte from its sender before the file is given
    /// up (and the connection closed); also the grace before `min_file_rate` applies.
    pub file_timeout: Duration,
    /// The slowest a file may move, in bytes a second, on average after `file_timeout`: from
    /// its sender (header to `<END>`) and to each receiver. A sender too slow is closed, a
    /// receiver too slow dropped, so no one holds a file's memory for longer than
    /// `file_timeout` plus its size over this rate.
    pub min_file_rate: u64,
    /// Where to append the transcript of the chat, if anywhere.
    pub log: Option<PathBuf>,
    /// How many of the last public messages a newcomer gets right after `[USERS]`; 0 for none.
    pub history: usize,
    /// Who may connect at all, tried before any other limit; one refused gets `[ERROR]:not
    /// allowed from your address`. No rules (the default): everyone.
    pub access: AccessRules,
    /// The server's certificate: when set, the listener speaks only TLS, and the TLS handshake
    /// counts against `handshake_timeout`. None (the default): plain TCP.
    #[cfg(feature = "tls")]
    pub tls: Option<super::TlsIdentity>,
    /// Registered names and their passwords, and how signing in is bounded: a registered name
    /// must give its password. None (the default): every name is a guest's. Without TLS the
    /// server refuses to start with accounts unless `allow_plaintext_passwords`.
    #[cfg(feature = "accounts")]
    pub accounts: Option<super::Accounts>,
    /// For tests only: a reader that gets this exact message from a joined client panics, to
    /// show that a panicked client thread still leaves the chat consistent.
    #[doc(hidden)]
    pub test_panic_on: Option<String>,
}

/// A token bucket: a client may send `burst` frames at once, then `per_second` frames a second.
/// A client over it is slowed down (its frames wait), never dropped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloodLimit {
    pub burst: u32,
    pub per_second: f64,
}

impl Default for FloodLimit {
    fn default() -> FloodLimit {
        // As ergo's "fakelag": 5 at once, then 2 a second.
        FloodLimit {
            burst: 5,
            per_second: 2.0,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_clients: 1024,
            max_per_ip: 16,
            max_file_size: protocol::DEFAULT_MAX_FILE_SIZE,
            max_file_memory: 256 * 1024 * 1024,
            max_line: protocol::DEFAULT_MAX_LINE,
            send_queue: 1024 * 1024,
            handshake_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(30 * 60)),
            flood_limit: Some(FloodLimit::default()),
            limit_loopback: false,
            write_timeout: Duration::from_secs(30),
            file_timeout: Duration::from_secs(30),
            min_file_rate: 256 * 1024,
            log: None,
            history: 20,
            access: AccessRules::default(),
            #[cfg(feature = "tls")]
            tls: None,
            #[cfg(feature = "accounts")]
            accounts: None,
            test_panic_on: None,
        }
    }
}

/// Why the server could not start.
#[derive(Debug)]
pub enum ServerError {
    /// The transcript file could not be opened.
    Log { path: PathBuf, source: io::Error },
    /// Two limits contradict each other.
    Config(String),
    /// The listener or a thread could not be set up.
    Io(io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Log { path, source } => {
                write!(f, "cannot open the log file {}: {source}", path.display())
            }
            ServerError::Config(why) => write!(f, "{why}"),
            ServerError::Io(source) => write!(f, "{source}"),
        }
    }
}

impl std::error::Error for ServerError {}

impl From<io::Error> for ServerError {
    fn from(source: io::Error) -> ServerError {
        ServerError::Io(source)
    }
}

impl Config {
    /// A new connection's transport: plain TCP, or a TLS session when the server has a
    /// certificate. The one place where the two kinds part.
    pub(super) fn transport(&self, socket: TcpStream) -> io::Result<Transport> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            return tls.transport(socket);
        }
        Ok(Transport::plain(socket))
    }

    /// True when the listener speaks only TLS.
    pub fn speaks_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// Refuses limits that cannot work together.
    pub(super) fn check(&self) -> Result<(), ServerError> {
        let fail = |why: String| Err(ServerError::Config(why));
        #[cfg(feature = "accounts")]
        if let Some(accounts) = &self.accounts {
            if !self.speaks_tls() && !accounts.allow_plaintext_passwords {
                return fail(
                    "accounts without TLS would carry passwords in plain text: serve TLS, or \
                     allow plain-text passwords (for a lab that shows why)"
                        .into(),
                );
            }
            if accounts.max_password_checks == 0
                || accounts.wrong_password_delay > accounts.max_wrong_password_delay
            {
                return fail(
                    "password checks must be at least 1, and the first wrong password's delay \
                     at most the longest"
                        .into(),
                );
            }
        }
        if self.max_file_memory < self.max_file_size {
            return fail(format!(
                "the file memory bound ({} bytes) is smaller than the largest file ({} bytes)",
                self.max_file_memory, self.max_file_size
            ));
        }
        if self.max_clients == 0 || self.max_per_ip == 0 || self.send_queue == 0 {
            return fail("max clients, max per IP and the send queue must be at least 1".into());
        }
        if self.max_line == 0 || self.min_file_rate == 0 {
            return fail("the line limit and the minimum file rate must be at least 1".into());
        }
        let timeouts = [
            self.handshake_timeout,
            self.write_timeout,
            self.file_timeout,
        ];
        if timeouts.iter().any(Duration::is_zero) || self.idle_timeout == Some(Duration::ZERO) {
            return fail("timeouts must be above 0 (no idle timeout is None)".into());
        }
        if let Some(flood) = self.flood_limit
            && (flood.burst == 0 || flood.per_second.is_nan() || flood.per_second < MIN_FLOOD_RATE)
        {
            return fail(format!(
                "the flood burst must be at least 1 and the rate at least {MIN_FLOOD_RATE} a \
                 second (a slower rate would put a client to sleep for ever)"
            ));
        }
        Ok(())
    }
}
