//! Connections turned away at the door (the access rules, a full server, too many from one
//! address) get one `[ERROR]` that says why, and then the same goodbye as any other: the server
//! shuts its sending side and reads what the client still sends for up to `LINGER`, so that a
//! reset does not destroy the `[ERROR]` before the client reads it (closing a socket with unread
//! bytes makes the kernel send one, and a client that sent its name at once has some).
//!
//! One thread does that for every such connection, so that a flood of them costs one thread,
//! not one each, and never holds up the acceptor: it holds `MAX_LINGERING` at most, and when it
//! is full a refused connection is closed at once (its `[ERROR]` may then be lost). It ends when
//! the acceptor lets go of it and the last one is done.
//!
//! It is handed the bare socket (the read half's, once the `[ERROR]` went out through the write
//! half): what it reads is dropped unread, so no TLS is needed to read it. A connection to a
//! TLS listener is refused before any handshake, so it is told nothing, and not handed over: it
//! gets its FIN and is closed, with no `[ERROR]` for a reset to destroy.

use std::io::{self, Read};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};

use super::writer::LINGER;

/// Turned-away connections lingering at once at most.
const MAX_LINGERING: usize = 64;
/// How often the lingering connections are read.
const POLL: Duration = Duration::from_millis(20);

/// The acceptor's side: hands over a connection that was told why it is turned away.
pub(super) struct TurnedAway {
    handed_over: Sender<TcpStream>,
}

impl TurnedAway {
    pub(super) fn start() -> io::Result<TurnedAway> {
        let (handed_over, arrivals) = crossbeam_channel::bounded(MAX_LINGERING);
        thread::Builder::new()
            .name("turned-away".into())
            .stack_size(64 * 1024)
            .spawn(move || linger(&arrivals))?;
        Ok(TurnedAway { handed_over })
    }

    /// Lets `stream`, whose `[ERROR]` is written and whose sending side is shut, linger; or
    /// closes it at once when too many already do.
    pub(super) fn hand_over(&self, stream: TcpStream) {
        if stream.set_nonblocking(true).is_err() {
            return;
        }
        match self.handed_over.try_send(stream) {
            Ok(()) | Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {}
        }
    }
}

/// Reads and drops what the lingering connections send until each closes or has lingered for
/// `LINGER`; takes new ones as they come, `MAX_LINGERING` at most.
fn linger(arrivals: &Receiver<TcpStream>) {
    let mut lingering: Vec<(TcpStream, Instant)> = Vec::new();
    let mut sink = [0u8; 1024];
    loop {
        let arrival = if lingering.is_empty() {
            arrivals.recv().map_err(|_| RecvTimeoutError::Disconnected)
        } else if lingering.len() < MAX_LINGERING {
            arrivals.recv_timeout(POLL)
        } else {
            thread::sleep(POLL);
            Err(RecvTimeoutError::Timeout)
        };
        match arrival {
            Ok(stream) => lingering.push((stream, Instant::now() + LINGER)),
            Err(RecvTimeoutError::Disconnected) if lingering.is_empty() => return,
            Err(_) => {}
        }
        let now = Instant::now();
        lingering.retain_mut(|(stream, until)| now < *until && still_open(stream, &mut sink));
    }
}

/// Reads what `stream` has for us; false once it is closed (or broken).
fn still_open(stream: &mut TcpStream, sink: &mut [u8]) -> bool {
    loop {
        match stream.read(sink) {
            Ok(0) => return false,
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => return true,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}
