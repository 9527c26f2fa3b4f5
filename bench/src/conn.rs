//! One bench client's connection: it joins under a name and hands out the server's lines from
//! big reads (64 KiB at a time), so that reading costs the bench little next to the server.
//! Every wait has a deadline; a read waits at most `POLL` before the deadline is checked again.
//! With `--tls` (feature `tls`), some connections speak TLS: `tls.rs` shakes hands, and the
//! lines go through the session.

use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long one blocking read waits before its caller looks at the deadline again.
pub const POLL: Duration = Duration::from_millis(200);
/// How long a connect or a write may take.
const CONNECT_TIME: Duration = Duration::from_secs(10);
const WRITE_TIME: Duration = Duration::from_secs(30);
/// Size of a connection's read buffer; it grows only for a longer line.
const READ_BUFFER: usize = 64 * 1024;

/// Where a bench client connects: the server's address, and whether it speaks only TLS.
#[derive(Clone, Copy, Debug)]
pub struct Endpoint {
    pub addr: SocketAddr,
    pub tls: bool,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let over = if self.tls { " over TLS" } else { "" };
        write!(f, "{}{over}", self.addr)
    }
}

pub struct Conn {
    pub stream: TcpStream,
    /// What is between the socket and the lines.
    wire: Wire,
    buf: Vec<u8>,
    /// The unread bytes are `buf[start..end]`.
    start: usize,
    end: usize,
}

impl Conn {
    /// Connects with a read buffer of `buffer` bytes (many idle clients need small ones).
    pub fn connect_with(endpoint: Endpoint, buffer: usize) -> Result<Conn, String> {
        let addr = endpoint.addr;
        let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIME)
            .map_err(|e| format!("connect to {addr}: {e}"))?;
        // Small writes must not wait for delayed ACKs, as in the server.
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(POLL))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(WRITE_TIME))
            .map_err(|e| e.to_string())?;
        let wire = if endpoint.tls {
            Wire::secure(&mut stream)?
        } else {
            Wire::Plain
        };
        Ok(Conn {
            stream,
            wire,
            buf: vec![0; buffer],
            start: 0,
            end: 0,
        })
    }

    /// Connects and joins as `name`: sends the name and waits for `[WELCOME]`. Lines after it
    /// (`[USERS]`, `[JOIN]`s) stay buffered for the caller.
    pub fn join(addr: Endpoint, name: &str, deadline: Instant) -> Result<Conn, String> {
        Conn::join_with(addr, name, deadline, READ_BUFFER)
    }

    /// As `join`, with a read buffer of `buffer` bytes.
    pub fn join_with(
        addr: Endpoint,
        name: &str,
        deadline: Instant,
        buffer: usize,
    ) -> Result<Conn, String> {
        let mut conn = Conn::connect_with(addr, buffer)?;
        conn.send(format!("{name}\n").as_bytes())?;
        let welcome = format!("[WELCOME]:{name}");
        loop {
            let line = conn.line(deadline)?;
            if line == welcome.as_bytes() {
                return Ok(conn);
            }
            if !line.starts_with(b"[INFO]:") {
                return Err(format!("{name} was not welcomed: {}", show(line)));
            }
        }
    }

    pub fn send(&mut self, bytes: &[u8]) -> Result<(), String> {
        self.wire
            .write_all(&mut self.stream, bytes)
            .map_err(|e| format!("write: {e}"))
    }

    /// A whole line (without its LF) from what has been read already, if there is one.
    pub fn buffered_line(&mut self) -> Option<&[u8]> {
        let unread = &self.buf[self.start..self.end];
        let len = unread.iter().position(|&b| b == b'\n')?;
        let line = self.start..self.start + len;
        self.start += len + 1;
        Some(&self.buf[line])
    }

    /// Reads once. False when nothing came within `POLL` (or, on a non-blocking socket, nothing
    /// was there); an error when the connection closed or broke.
    pub fn fill(&mut self) -> Result<bool, String> {
        if self.start == self.end {
            (self.start, self.end) = (0, 0);
        } else if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                (self.start, self.end) = (0, self.end - self.start);
            } else {
                // One line fills the whole buffer: make room for the rest of it.
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        match self.wire.read(&mut self.stream, &mut self.buf[self.end..]) {
            Ok(0) => Err("the server closed the connection".into()),
            Ok(n) => {
                self.end += n;
                Ok(true)
            }
            Err(e) if is_no_data(&e) => Ok(false),
            Err(e) => Err(format!("read: {e}")),
        }
    }

    /// The next line, waiting for it until `deadline`.
    pub fn line(&mut self, deadline: Instant) -> Result<&[u8], String> {
        // Looks for the line first and borrows it only once found (a borrow returned from
        // inside the loop would outlive the `fill` that follows).
        loop {
            if self.buf[self.start..self.end].contains(&b'\n') {
                break;
            }
            self.fill_before(deadline)?;
        }
        Ok(self.buffered_line().unwrap_or_default())
    }

    /// Reads once, waiting until `deadline` for something to come.
    pub fn fill_before(&mut self, deadline: Instant) -> Result<(), String> {
        while !self.fill()? {
            if Instant::now() >= deadline {
                return Err("timed out waiting for the server".into());
            }
        }
        Ok(())
    }

    /// Fills `out` with the next bytes of the stream (after whatever is buffered), by `deadline`.
    pub fn read_exact(&mut self, out: &mut [u8], deadline: Instant) -> Result<(), String> {
        let buffered = (self.end - self.start).min(out.len());
        out[..buffered].copy_from_slice(&self.buf[self.start..self.start + buffered]);
        self.start += buffered;
        let mut done = buffered;
        while done < out.len() {
            match self.wire.read(&mut self.stream, &mut out[done..]) {
                Ok(0) => return Err("the server closed the connection".into()),
                Ok(n) => done += n,
                Err(e) if is_no_data(&e) => {
                    if Instant::now() >= deadline {
                        return Err("timed out waiting for the server".into());
                    }
                }
                Err(e) => return Err(format!("read: {e}")),
            }
        }
        Ok(())
    }
}

/// What is between the socket and the chat lines: nothing, or a TLS session.
enum Wire {
    Plain,
    #[cfg(feature = "tls")]
    Tls(Box<rustls::ClientConnection>),
}

impl Wire {
    /// Shakes hands over `stream`.
    fn secure(stream: &mut TcpStream) -> Result<Wire, String> {
        #[cfg(feature = "tls")]
        return crate::tls::handshake(stream).map(Wire::Tls);
        #[cfg(not(feature = "tls"))]
        {
            let _ = stream;
            Err("this chat-bench was built without TLS (--features tls)".into())
        }
    }

    fn read(&mut self, stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Wire::Plain => stream.read(buf),
            #[cfg(feature = "tls")]
            Wire::Tls(session) => rustls::Stream::new(session.as_mut(), stream).read(buf),
        }
    }

    fn write_all(&mut self, stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
        match self {
            Wire::Plain => stream.write_all(bytes),
            #[cfg(feature = "tls")]
            Wire::Tls(session) => {
                let mut tls = rustls::Stream::new(session.as_mut(), stream);
                tls.write_all(bytes)?;
                tls.flush()
            }
        }
    }
}

/// A read that found nothing: a timeout, a non-blocking socket with nothing to read, or a signal.
pub fn is_no_data(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
    )
}

/// A line as text for an error message, cut short.
pub fn show(line: &[u8]) -> String {
    let text = String::from_utf8_lossy(&line[..line.len().min(120)]);
    format!("{text:?}")
}

/// The decimal number that `bytes` is, if it is one (and fits).
pub fn number(bytes: &[u8]) -> Option<u64> {
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    bytes.iter().try_fold(0u64, |n, &b| {
        b.is_ascii_digit().then(|| n * 10 + u64::from(b - b'0'))
    })
}

/// How many names in a `[USERS]:a,b,c` line are of this run (start with `tag`).
pub fn users_listed(line: &[u8], tag: &str) -> Option<usize> {
    let names = line.strip_prefix(b"[USERS]:")?;
    let ours = names
        .split(|&b| b == b',')
        .filter(|name| name.starts_with(tag.as_bytes()));
    Some(ours.count())
}

/// Whether `line` is `<kind><name>` (e.g. `[JOIN]:u7`) with a name of this run.
pub fn about_ours(line: &[u8], kind: &str, tag: &str) -> bool {
    line.strip_prefix(kind.as_bytes())
        .is_some_and(|name| name.starts_with(tag.as_bytes()))
}

impl Conn {
    /// Reads until this client has seen `others` other users of this run online (`[USERS]`
    /// lists those who came before it, a `[JOIN]` each one after). From then on a joined
    /// client hears only chat. Users of other runs (a running server) may come and go.
    pub fn await_others(
        &mut self,
        tag: &str,
        others: usize,
        deadline: Instant,
    ) -> Result<(), String> {
        self.await_others_and(tag, others, false, deadline)
    }

    /// Asks the server for files (`/files on`: it sends files only to connections that ask),
    /// then waits as `await_others` does, and for the server's answer too: once this returns,
    /// a file shared from now on comes to this connection.
    pub fn await_others_taking_files(
        &mut self,
        tag: &str,
        others: usize,
        deadline: Instant,
    ) -> Result<(), String> {
        self.send(b"/files on\n")?;
        self.await_others_and(tag, others, true, deadline)
    }

    fn await_others_and(
        &mut self,
        tag: &str,
        others: usize,
        files_on: bool,
        deadline: Instant,
    ) -> Result<(), String> {
        let mut seen = 0;
        let mut answered = !files_on;
        while seen < others || !answered {
            let line = self.line(deadline)?;
            if let Some(listed) = users_listed(line, tag) {
                seen += listed.saturating_sub(1);
            } else if about_ours(line, "[JOIN]:", tag) {
                seen += 1;
            } else if files_on && line.starts_with(b"[INFO]:files on") {
                answered = true;
            } else if !line.starts_with(b"[JOIN]:") && !line.starts_with(b"[LEAVE]:")
                || about_ours(line, "[LEAVE]:", tag)
            {
                return Err(format!("unexpected line while others join: {}", show(line)));
            }
        }
        Ok(())
    }
}
