//! Every limit of the server, in one struct with its defaults in one place, and the check that
//! refuses limits which cannot work together.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::AccessRules;
use crate::protocol;

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
    /// waiting in outbound queues. A file that does not fit waits (its sender is not read)
    /// until enough is freed. At least `max_file_size`.
    pub max_file_memory: u64,
    /// The longest line, in bytes, once its LF or CRLF is removed.
    pub max_line: usize,
    /// Bytes waiting in one client's outbound queue at most: a client further behind than this
    /// is dropped. A file counts only its header line and `<END>`: the bytes of files are
    /// bounded by `max_file_memory`, and a slow client gets `write_timeout` to make progress.
    pub send_queue: usize,
    /// How long a new connection has to give an accepted username.
    pub handshake_timeout: Duration,
    /// How long a joined client may send no frame before it is closed; `None` for ever.
    pub idle_timeout: Option<Duration>,
    /// How fast one client may send frames; `None` for no limit.
    pub flood_limit: Option<FloodLimit>,
    /// Apply `max_per_ip` and `flood_limit` to loopback clients too.
    pub limit_loopback: bool,
    /// How long one write to a client may make no progress before the client counts as gone.
    pub write_timeout: Duration,
    /// Where to append the transcript of the chat, if anywhere.
    pub log: Option<PathBuf>,
    /// Who may connect at all, tried before any other limit; one refused gets `[ERROR]:not
    /// allowed from your address`. No rules (the default): everyone.
    pub access: AccessRules,
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
            log: None,
            access: AccessRules::default(),
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
    /// Refuses limits that cannot work together.
    pub(super) fn check(&self) -> Result<(), ServerError> {
        let fail = |why: String| Err(ServerError::Config(why));
        if self.max_file_memory < self.max_file_size {
            return fail(format!(
                "the file memory bound ({} bytes) is smaller than the largest file ({} bytes)",
                self.max_file_memory, self.max_file_size
            ));
        }
        if self.max_clients == 0 || self.max_per_ip == 0 || self.send_queue == 0 {
            return fail("max clients, max per IP and the send queue must be at least 1".into());
        }
        if let Some(flood) = self.flood_limit
            && (flood.burst == 0 || flood.per_second.is_nan() || flood.per_second <= 0.0)
        {
            return fail("the flood burst and rate must be above 0".into());
        }
        Ok(())
    }
}
