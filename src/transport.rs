//! The transport: what carries a connection's bytes, for the server and the client alike.
//!
//! Both sides run one thread that reads a connection and another that writes it, and a third
//! party that may cut it off (the server's stop, the client's end). A `TcpStream` does all of
//! that with `try_clone`; a TLS session cannot be cloned, so the two sides never touch the
//! socket directly. A [`Transport`] is a new connection; [`Transport::split`] turns it into
//!
//! - a [`ReadHalf`], for the one thread that reads: `read`, with a read timeout;
//! - a [`WriteHalf`], for the one thread that writes: [`send`](WriteHalf::send), which waits at
//!   most the socket's write timeout and says how many bytes moved, and
//!   [`finish`](WriteHalf::finish) to say goodbye (FIN);
//! - a [`Closer`], for anyone else: `shutdown`, which wakes a blocked read or write.
//!
//! Plain TCP is each half a `TcpStream`, with nothing in between: the hot path is a match and
//! the system call. (With the `tls` feature each half also holds the shared TLS session, in
//! `transport/tls.rs`.)

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// A new connection, before its two threads take their halves.
pub struct Transport {
    socket: TcpStream,
}

impl Transport {
    /// A plain TCP connection: bytes go on the wire as they are.
    pub fn plain(socket: TcpStream) -> Transport {
        Transport { socket }
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
        let closer = Closer(self.socket.try_clone()?);
        let writer = WriteHalf {
            socket: self.socket.try_clone()?,
        };
        let reader = ReadHalf {
            socket: self.socket,
        };
        Ok((reader, writer, closer))
    }
}

/// The reading side of a connection, for the one thread that reads it.
pub struct ReadHalf {
    socket: TcpStream,
}

impl ReadHalf {
    /// Reads what came next, as `Read::read`: 0 at the end, `WouldBlock` or `TimedOut` when the
    /// read timeout passed first.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.socket.read(buf)
    }

    /// How long a read waits at most; `None` for ever.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.socket.set_read_timeout(timeout)
    }

    /// The socket itself, to read and discard what a peer still sends once the conversation is
    /// over (the reader's linger).
    pub fn into_socket(self) -> TcpStream {
        self.socket
    }
}

/// The writing side of a connection, for the one thread that writes it.
pub struct WriteHalf {
    socket: TcpStream,
}

impl WriteHalf {
    /// Sends as much of `slices` as the connection takes in one go, and advances them past
    /// what it took. Waits at most the socket's write timeout (then `WouldBlock` or
    /// `TimedOut`); returns how many bytes the connection took, never 0.
    pub fn send(&mut self, slices: &mut &mut [IoSlice<'_>]) -> io::Result<usize> {
        let n = self.socket.write_vectored(slices)?;
        if n == 0 && !slices.is_empty() {
            return Err(io::ErrorKind::WriteZero.into());
        }
        IoSlice::advance_slices(slices, n);
        Ok(n)
    }

    /// True while bytes that [`send`](Self::send) accepted have not all reached the socket yet;
    /// plain TCP never holds any back.
    pub fn has_unsent(&self) -> bool {
        false
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

    /// Says that nothing more will be sent: shuts the sending side (FIN).
    pub fn finish(&mut self) -> io::Result<()> {
        self.socket.shutdown(Shutdown::Write)
    }
}

/// A handle that can cut a connection off from any thread: shutting it down wakes a read or a
/// write blocked on it.
pub struct Closer(TcpStream);

impl Closer {
    /// Shuts the connection down: `Read` wakes its reader, `Both` its writer too.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.0.shutdown(how)
    }

    /// Another handle on the same connection.
    ///
    /// # Errors
    /// When the socket cannot be cloned (out of file descriptors).
    pub fn try_clone(&self) -> io::Result<Closer> {
        Ok(Closer(self.0.try_clone()?))
    }
}
