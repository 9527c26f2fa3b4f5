//! Securing a connection: on a TLS listener the reader's first job, before the greeting, is
//! the TLS handshake (on plain TCP there is nothing to do). It has the handshake timeout from
//! the moment the connection was accepted: a client that stops in the middle of the TLS
//! handshake is closed when a silent one would be, and one that shakes hands slowly has that
//! much less time to give its name.
//!
//! A client that does not speak TLS (a plain chat/1 client or netcat: its first bytes are a
//! name, no TLS record) is told so in one plain-text line it can show, and closed.

use std::io::Write;
use std::time::Instant;

use super::reader::{Ending, Reader};
use super::transfer::deadline;
use crate::protocol::ServerFrame;
use crate::transport::HandshakeError;

/// What a client that does not speak TLS is told, in plain text.
pub(super) const NOT_TLS: &str =
    "this server speaks TLS only: connect with TLS (chat-client --tls)";

impl Reader {
    /// The TLS handshake, by the handshake deadline. Logs why it failed, if it did.
    pub(super) fn secure(&mut self) -> Result<(), Ending> {
        let timeout = self.shared.config.handshake_timeout;
        let by = deadline(self.connected_at, timeout);
        let error = match self.stream.handshake(by) {
            Ok(()) => return Ok(()),
            Err(error) => error,
        };
        // Anyone can fail a handshake as often as they like: the log takes it within its budget.
        let logged = self.shared.log_budget.allow();
        let who = self.who();
        match error {
            HandshakeError::NotTls => {
                if logged {
                    log::warn!("{who}: not TLS (a plain-text client?): told so");
                }
                let line = ServerFrame::Error(NOT_TLS.into()).encode();
                let _ = self.stream.socket().write_all(&line);
            }
            HandshakeError::TimedOut if logged => {
                let waited = Instant::now()
                    .duration_since(self.connected_at)
                    .as_secs_f64();
                log::info!("{who}: no TLS handshake after {waited:.1} s");
            }
            error if logged => log::info!("{who}: TLS handshake failed: {error}"),
            _ => {}
        }
        Err(Ending::NotSecured)
    }
}
