//! Why the client stopped before the user left: the one error [`run`](super::run) returns, with a
//! `Display` the binary prints as a single line.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::protocol::FrameError;

/// Why the client stopped before the user left.
#[derive(Debug)]
pub enum ClientError {
    /// The server could not be reached.
    Connect { address: String, source: io::Error },
    /// The chat log could not be opened for appending.
    Log { path: PathBuf, source: io::Error },
    /// A thread or the socket could not be set up.
    Setup(io::Error),
    /// The server did not accept or refuse the username in time.
    NoReply,
    /// The client never joined: the server refused the name and input ended before another
    /// was accepted, or the server closed the connection after an `[ERROR]` before the
    /// welcome. The server's reason, made safe to print.
    NotJoined(String),
    /// The server closed the connection, or the connection failed, before the user left.
    ConnectionLost,
    /// The server sent bytes that put the stream out of step, so the client closed it.
    Protocol(FrameError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { address, source } => {
                write!(f, "cannot connect to {address}: {source}")?;
                if source.kind() == io::ErrorKind::ConnectionRefused {
                    // Nothing listens there: most often, the server is not started yet.
                    write!(f, "; is chat-server running on that host and port?")?;
                }
                Ok(())
            }
            ClientError::Log { path, source } => {
                write!(f, "cannot open the chat log {}: {source}", path.display())
            }
            ClientError::Setup(source) => write!(f, "cannot start the client: {source}"),
            ClientError::NoReply => write!(f, "the server did not answer the username"),
            ClientError::NotJoined(why) => write!(f, "not joined: {why}"),
            ClientError::ConnectionLost => write!(f, "connection lost"),
            ClientError::Protocol(error) => write!(f, "the server broke the protocol: {error}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Connect { source, .. }
            | ClientError::Log { source, .. }
            | ClientError::Setup(source) => Some(source),
            ClientError::Protocol(error) => Some(error),
            ClientError::NoReply | ClientError::NotJoined(_) | ClientError::ConnectionLost => None,
        }
    }
}
