//! The transport: what carries a connection's bytes, for the server and the client alike.
//!
//! Both sides run one thread that reads a connection and another that writes it, and a third
//! party that may cut it off (the server's stop, the client's end). A `TcpStream` does all of
//! that with `try_clone`; a TLS session cannot be cloned, so the two sides never touch the
//! socket directly. A [`Transport`] is a new connection; [`Transport::split`] turns it into
//!
//! - a [`ReadHalf`], for the one thread that reads: [`handshake`](ReadHalf::handshake) first
//!   (nothing to do on plain TCP), then `read`, with a read timeout;
//! - a [`WriteHalf`], for the one thread that writes: [`send`](WriteHalf::send), which waits at
//!   most the socket's write timeout and says how many bytes moved, and
//!   [`finish`](WriteHalf::finish) to say goodbye (FIN);
//! - a [`Closer`], for anyone else: `shutdown`, which wakes a blocked read or write.
//!
//! The two halves are also a std `Read` and `Write`, for code written for any stream (the
//! terminal UI's socket threads).
//!
//! Plain TCP is each half a `TcpStream`, with nothing in between: the hot path is a match and
//! the system call. With the `tls` feature, `transport/tls.rs` adds the other kind: both halves
//! share one TLS session, and that file says how the two threads share it without waiting on
//! each other.

#[cfg(feature = "tls")]
mod fingerprint;
#[cfg(feature = "tls")]
mod tls;

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[cfg(feature = "tls")]
pub use fingerprint::{Fingerprint, FingerprintError};

/// A new connection, before its two threads take their halves.
pub struct Transport {
    socket: TcpStream,
    kind: Kind,
}

/// What is between the socket and the bytes of chat/1.
enum Kind {
    Plain,
    #[cfg(feature = "tls")]
    Tls(tls::Session),
}

impl Transport {
    /// A plain TCP connection: bytes go on the wire as they are.
    pub fn plain(socket: TcpStream) -> Transport {
        Transport {
            socket,
            kind: Kind::Plain,
        }
    }

    /// The socket underneath, for its options (no delay, timeouts) and its addresses.
    pub fn socket(&self) -> &TcpStream {
        &self.socket
    }

    /// The read half, the write half and a closer of this connection.
    ///
    /// # Errors
    /// When the socket cannot be cloned (out of file descriptors).
    pub fn split(self) -> io::Result<(ReadHalf, WriteHalf, Closer)> {
        let closer = Closer(Arc::new(self.socket.try_clone()?));
        let write_socket = self.socket.try_clone()?;
        let (reading, writing) = match self.kind {
            Kind::Plain => (Reading::Plain(self.socket), Writing::Plain(write_socket)),
            #[cfg(feature = "tls")]
            Kind::Tls(session) => {
                let (reading, writing) = session.split(self.socket, write_socket);
                (Reading::Tls(reading), Writing::Tls(writing))
            }
        };
        Ok((ReadHalf(reading), WriteHalf(writing), closer))
    }
}

/// The reading side of a connection, for the one thread that reads it.
pub struct ReadHalf(Reading);

enum Reading {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(tls::TlsRead),
}

/// Why a connection could not be secured.
#[derive(Debug)]
pub enum HandshakeError {
    /// The peer does not speak TLS: its first bytes are no TLS record (a plain chat/1 peer).
    NotTls,
    /// The handshake was not over by its deadline.
    TimedOut,
    /// The peer closed the connection during the handshake.
    Closed,
    /// TLS refused the peer, or the peer refused us: a certificate not trusted, no version or
    /// cipher in common, a message that makes no sense.
    Refused(Box<dyn std::error::Error + Send + Sync>),
    /// The socket failed.
    Io(io::Error),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::NotTls => write!(f, "the peer does not speak TLS"),
            HandshakeError::TimedOut => write!(f, "the TLS handshake took too long"),
            HandshakeError::Closed => write!(f, "the connection closed during the TLS handshake"),
            HandshakeError::Refused(why) => write!(f, "{why}"),
            HandshakeError::Io(error) => write!(f, "{error}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

impl ReadHalf {
    /// Secures the connection before any chat/1 byte: the TLS handshake, over by `deadline`.
    /// Nothing to do on plain TCP. The thread that reads runs it, before the thread that
    /// writes has anything to send.
    ///
    /// # Errors
    /// When the peer is not a TLS peer, is too slow, or either side refuses the other.
    pub fn handshake(&mut self, deadline: Option<Instant>) -> Result<(), HandshakeError> {
        match &mut self.0 {
            Reading::Plain(_) => {
                let _ = deadline;
                Ok(())
            }
            #[cfg(feature = "tls")]
            Reading::Tls(tls) => tls.handshake(deadline),
        }
    }

    /// Reads what came next, as `Read::read`: 0 at the end, `WouldBlock` or `TimedOut` when the
    /// read timeout passed first, `Interrupted` when bytes came but no plaintext yet (TLS: a
    /// part of a record; read again, after a look at the deadlines).
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match &mut self.0 {
            Reading::Plain(socket) => socket.read(buf),
            #[cfg(feature = "tls")]
            Reading::Tls(tls) => tls.read(buf),
        }
    }

    /// Whether the connection is secured by TLS (else it is plain TCP), for a user to be told.
    pub fn is_tls(&self) -> bool {
        match &self.0 {
            Reading::Plain(_) => false,
            #[cfg(feature = "tls")]
            Reading::Tls(_) => true,
        }
    }

    /// How long a read waits at most; `None` for ever.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket().set_read_timeout(timeout)
    }

    /// The socket underneath: for a last word in plain text to a peer that does not speak TLS.
    pub fn socket(&self) -> &TcpStream {
        match &self.0 {
            Reading::Plain(socket) => socket,
            #[cfg(feature = "tls")]
            Reading::Tls(tls) => tls.socket(),
        }
    }

    /// The socket itself, to read and discard what a peer still sends once the conversation is
    /// over (the reader's linger).
    pub fn into_socket(self) -> TcpStream {
        match self.0 {
            Reading::Plain(socket) => socket,
            #[cfg(feature = "tls")]
            Reading::Tls(tls) => tls.into_socket(),
        }
    }
}

/// The read half as any std reader, for code written for one (the terminal UI's receiver):
/// [`ReadHalf::read`], whose `Interrupted` such code already reads again.
impl Read for ReadHalf {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        ReadHalf::read(self, buf)
    }
}

/// The writing side of a connection, for the one thread that writes it.
pub struct WriteHalf(Writing);

enum Writing {
    Plain(TcpStream),
    #[cfg(feature = "tls")]
    Tls(tls::TlsWrite),
}

impl WriteHalf {
    /// Sends as much of `slices` as the connection takes in one go, and advances them past
    /// what it took. Waits at most the socket's write timeout (then `WouldBlock` or
    /// `TimedOut`); returns how many bytes the connection took, never 0.
    ///
    /// TLS may take bytes from `slices` (encrypted) before the socket takes them: until
    /// [`has_unsent`](Self::has_unsent) is false, call it again (with no slices left, it sends
    /// what it holds).
    pub fn send(&mut self, slices: &mut &mut [IoSlice<'_>]) -> io::Result<usize> {
        match &mut self.0 {
            Writing::Plain(socket) => {
                let n = socket.write_vectored(slices)?;
                if n == 0 && !slices.is_empty() {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                IoSlice::advance_slices(slices, n);
                Ok(n)
            }
            #[cfg(feature = "tls")]
            Writing::Tls(tls) => tls.send(slices),
        }
    }

    /// True while bytes that [`send`](Self::send) took have not all reached the socket; plain
    /// TCP never holds any back.
    pub fn has_unsent(&self) -> bool {
        match &self.0 {
            Writing::Plain(_) => false,
            #[cfg(feature = "tls")]
            Writing::Tls(tls) => tls.has_unsent(),
        }
    }

    /// Sends all of `bytes`, however many calls it takes; for the client, whose writes are a
    /// line or a file at a time.
    pub fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut slice = [IoSlice::new(bytes)];
        let mut slices = if bytes.is_empty() {
            &mut slice[..0]
        } else {
            &mut slice[..]
        };
        while !slices.is_empty() || self.has_unsent() {
            match self.send(&mut slices) {
                Ok(_) => {}
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(error),
            }
        }
        Ok(())
    }

    /// Says that nothing more will be sent (TLS: `close_notify`), and shuts the sending side
    /// (FIN).
    pub fn finish(&mut self) -> io::Result<()> {
        match &mut self.0 {
            Writing::Plain(socket) => socket.shutdown(Shutdown::Write),
            #[cfg(feature = "tls")]
            Writing::Tls(tls) => tls.finish(),
        }
    }
}

/// The write half as any std writer, for code written for one (the terminal UI's writer).
/// A `write` sends all of `buf` before it returns, as [`WriteHalf::write_all`] does: TLS may
/// hold encrypted bytes back after a partial write, and a writer that then waits for its next
/// frame must not leave them behind. So `flush` has nothing left to do.
impl Write for WriteHalf {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        WriteHalf::write_all(self, buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A handle that can cut a connection off from any thread: shutting it down wakes a read or a
/// write blocked on it. Its clones share one descriptor: a server with thousands of clients
/// keeps three per connection (the two halves and this), not one more per handle.
#[derive(Clone)]
pub struct Closer(Arc<TcpStream>);

impl Closer {
    /// Shuts the connection down: `Read` wakes its reader, `Both` its writer too.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.0.shutdown(how)
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;

    use super::*;

    /// A plain connection on loopback, split, and the socket of its other end.
    fn connected() -> ((ReadHalf, WriteHalf, Closer), TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (socket, _) = listener.accept().unwrap();
        (Transport::plain(socket).split().unwrap(), peer)
    }

    #[test]
    fn the_std_reader_reads_to_the_end() {
        let ((mut reader, _writer, _closer), mut peer) = connected();
        peer.write_all(b"hello\nbye\n").unwrap();
        drop(peer);
        let mut text = String::new();
        Read::read_to_string(&mut reader, &mut text).unwrap();
        assert_eq!(text, "hello\nbye\n");
    }
}
