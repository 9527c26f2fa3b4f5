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
    /// The TLS handshake failed: the certificate is not trusted, or the server refused us.
    Tls { address: String, why: String },
    /// TLS was asked for, and the server answered in plain text.
    NotTls { address: String },
    /// The server shows another certificate than the one `known_servers` remembers for it.
    FingerprintChanged {
        address: String,
        file: PathBuf,
        line: usize,
        remembered: String,
        presented: String,
    },
    /// The `known_servers` file cannot be read, written, or has a bad line for the server.
    KnownServers { path: PathBuf, why: String },
    /// The password file cannot be read, or its first line cannot be a password.
    PasswordFile { path: PathBuf, why: String },
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
            ClientError::Tls { address, why } => {
                write!(f, "cannot connect to {address} over TLS: {why}")
            }
            ClientError::NotTls { address } => write!(
                f,
                "{address} does not speak TLS: it answered in plain text (a server without \
                 TLS? then leave out --tls)"
            ),
            ClientError::FingerprintChanged {
                address,
                file,
                line,
                remembered,
                presented,
            } => write!(
                f,
                "THE CERTIFICATE OF {address} HAS CHANGED. Someone may be in the middle, \
                 reading everything; or the server has a new certificate.\n  \
                 remembered: {remembered}\n  presented:  {presented}\n\
                 Nothing was sent. If the change is known to be right, remove line {line} of \
                 {} and connect again.",
                file.display()
            ),
            ClientError::KnownServers { path, why } => {
                write!(f, "known servers file {}: {why}", path.display())
            }
            ClientError::PasswordFile { path, why } => {
                write!(f, "password file {}: {why}", path.display())
            }
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
            ClientError::NoReply
            | ClientError::NotJoined(_)
            | ClientError::ConnectionLost
            | ClientError::Tls { .. }
            | ClientError::NotTls { .. }
            | ClientError::FingerprintChanged { .. }
            | ClientError::KnownServers { .. }
            | ClientError::PasswordFile { .. } => None,
        }
    }
}
