//! What the attack tests need beyond a polite client: sockets whose kernel buffers are shrunk
//! before they connect (a client that never reads then fills up within kilobytes, as a stalled
//! phone or a script that stopped reading would), and reads that tell a closed connection apart
//! from a line.

use std::io::{BufRead, ErrorKind};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use socket2::{Domain, Socket, Type};

use super::{TIMEOUT, TestClient};

/// What to set on a client socket before it connects; `None` leaves the kernel's default.
#[derive(Debug, Default, Clone, Copy)]
pub struct SocketOptions {
    /// `SO_RCVBUF`: a small one keeps the TCP window small from the first byte (the kernel
    /// doubles the value and keeps a floor of a few KiB).
    pub receive: Option<usize>,
    /// `SO_SNDBUF`.
    pub send: Option<usize>,
}

/// A connection to `addr` with `options` set before it connects.
pub fn connect_with(addr: SocketAddr, options: SocketOptions) -> TcpStream {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, None).expect("a socket");
    if let Some(size) = options.receive {
        socket
            .set_recv_buffer_size(size)
            .expect("set the receive buffer");
    }
    if let Some(size) = options.send {
        socket
            .set_send_buffer_size(size)
            .expect("set the send buffer");
    }
    socket.connect(&addr.into()).expect("connect to the server");
    socket.into()
}

/// A receive buffer so small that the server's writes to a client that stops reading stall
/// within a few KiB of its kernel buffers.
pub const SMALL_WINDOW: SocketOptions = SocketOptions {
    receive: Some(4 * 1024),
    send: None,
};

impl TestClient {
    /// Joins as `name` on a connection with `options` (such as [`SMALL_WINDOW`]): a test may
    /// then stop reading it. `[WELCOME]` and `[USERS]` are read.
    pub fn join_with(addr: SocketAddr, name: &str, options: SocketOptions) -> TestClient {
        let mut client = TestClient::from_stream(connect_with(addr, options));
        client.send_line(name);
        client.expect_prefix("[INFO]:");
        client.expect_line(&format!("[WELCOME]:{name}"));
        client.expect_prefix("[USERS]:");
        client
    }

    /// The next line without its LF, or `None` when the server closed the connection (an end
    /// of stream or a reset) before a whole line came. Panics on timeout.
    pub fn next_line_or_close(&mut self) -> Option<String> {
        let mut line = Vec::new();
        match self.reader.read_until(b'\n', &mut line) {
            Ok(_) if line.last() == Some(&b'\n') => {
                line.pop();
                Some(String::from_utf8(line).expect("the server sends UTF-8 lines"))
            }
            Ok(_) => None,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("timed out waiting for a line or the close (got {line:?} so far)")
            }
            Err(_) => None,
        }
    }
}

/// What came next on a connection, within a wait.
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// A whole line, without its LF.
    Line(String),
    /// The server closed the connection (an end of stream or a reset).
    Closed,
    /// Nothing whole within the wait (a line already begun may be lost: the client is not to
    /// be read again).
    TimedOut,
}

impl TestClient {
    /// What comes next within `wait`: a line, the close, or nothing.
    pub fn next_within(&mut self, wait: Duration) -> Next {
        let wait = wait.max(Duration::from_millis(1)); // a zero timeout would mean none at all
        self.stream.set_read_timeout(Some(wait)).unwrap();
        let mut line = Vec::new();
        let result = self.reader.read_until(b'\n', &mut line);
        let _ = self.stream.set_read_timeout(Some(TIMEOUT));
        match result {
            Ok(_) if line.last() == Some(&b'\n') => {
                line.pop();
                Next::Line(String::from_utf8(line).expect("the server sends UTF-8 lines"))
            }
            Ok(_) => Next::Closed,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Next::TimedOut
            }
            Err(_) => Next::Closed,
        }
    }
}
