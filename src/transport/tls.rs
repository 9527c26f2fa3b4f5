//! TLS under the transport (feature `tls`): one rustls session, shared by the thread that reads
//! a connection and the thread that writes it.
//!
//! ## Two threads, one session, no waiting on each other
//!
//! The session (`rustls::Connection`: the keys, the record numbers, the buffers) sits behind
//! one mutex, and the rule is: **nobody holds the lock across a socket call**.
//!
//! - The reader reads raw bytes from the socket with no lock held. Then, under the lock, it
//!   hands them to the session (`read_tls`), which decrypts them (`process_new_packets`), and
//!   takes the plaintext out (`reader().read`).
//! - The writer, under the lock, hands plaintext to the session (`writer().write_vectored`,
//!   which encrypts it) and takes the TLS records out into a buffer of its own (`write_tls`).
//!   With no lock held, it writes that buffer to the socket.
//!
//! Why this cannot deadlock: there is one lock, and a thread holding it only works in memory
//! (no socket call, no channel, no other lock), so it gives the lock back after a bounded time
//! whatever the peer does. A thread blocked on the socket (a reader waiting for bytes, a writer
//! waiting for a slow client) holds nothing the other one needs: a stuck writer never delays
//! the reader, and an idle reader never delays the writer.
//!
//! Order: TLS records must leave in the order the session made them. Only the writer takes
//! records out of the session, and it sends them in order. The few records the reader's
//! decrypting makes (a TLS 1.3 key update's answer) wait in the session and go out with the
//! writer's next send, which is all RFC 8446 asks: the answer before our next data.
//!
//! The handshake runs on the reader's thread, before anything is queued for the writer (the
//! server queues its greeting only after it); meanwhile the writer refuses to send.

use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, Connection, ServerConfig, ServerConnection};

use super::{HandshakeError, Kind, Transport};

/// Raw bytes read from the socket at once: a whole TLS record fits (16 KiB and its overhead).
const RAW_READ: usize = 17 * 1024;
/// Encrypted bytes the writer holds back at most before it encrypts more.
const HOLD_BACK: usize = 64 * 1024;
/// The first byte of a TLS record carrying a handshake message, and of one carrying an alert.
const HANDSHAKE_RECORD: u8 = 0x16;
const ALERT_RECORD: u8 = 0x15;

/// A TLS session before the connection is split (boxed: a session is some kilobytes).
pub(super) struct Session(Box<Connection>);

type Shared = Arc<Mutex<Connection>>;

fn lock(session: &Shared) -> MutexGuard<'_, Connection> {
    // A thread that panicked under the lock leaves a session that fails its next call, which
    // ends the connection; it does not take the other thread down with it.
    session
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn tls_error(error: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, error)
}

impl Transport {
    /// The server's side of a TLS connection; the handshake comes with
    /// [`ReadHalf::handshake`](super::ReadHalf::handshake).
    ///
    /// # Errors
    /// When rustls cannot start a session with `config`.
    pub fn tls_server(socket: TcpStream, config: Arc<ServerConfig>) -> io::Result<Transport> {
        let session = ServerConnection::new(config).map_err(tls_error)?;
        Ok(Transport {
            socket,
            kind: Kind::Tls(Session(Box::new(session.into()))),
        })
    }

    /// The client's side of a TLS connection to `server` (the name or address its
    /// certificate must be for).
    ///
    /// # Errors
    /// When rustls cannot start a session with `config`.
    pub fn tls_client(
        socket: TcpStream,
        config: Arc<ClientConfig>,
        server: ServerName<'static>,
    ) -> io::Result<Transport> {
        let session = ClientConnection::new(config, server).map_err(tls_error)?;
        Ok(Transport {
            socket,
            kind: Kind::Tls(Session(Box::new(session.into()))),
        })
    }
}

impl Session {
    pub(super) fn split(self, read: TcpStream, write: TcpStream) -> (TlsRead, TlsWrite) {
        let session = Arc::new(Mutex::new(*self.0));
        let reading = TlsRead {
            socket: read,
            session: Arc::clone(&session),
            raw: vec![0; RAW_READ],
            start: 0,
            end: 0,
        };
        let writing = TlsWrite {
            socket: write,
            session,
            unsent: Vec::new(),
            sent: 0,
        };
        (reading, writing)
    }
}

/// The reading side: raw bytes from the socket, plaintext out of the session.
pub(super) struct TlsRead {
    socket: TcpStream,
    session: Shared,
    /// Raw bytes read from the socket; `raw[start..end]` are not yet handed to the session.
    raw: Vec<u8>,
    start: usize,
    end: usize,
}

impl TlsRead {
    pub(super) fn socket(&self) -> &TcpStream {
        &self.socket
    }

    pub(super) fn into_socket(self) -> TcpStream {
        self.socket
    }

    /// Plaintext, as `Read::read`: what the session has decrypted, else what the next bytes from
    /// the socket decrypt to. The socket's read timeout applies as on plain TCP.
    ///
    /// One socket read at most: when its bytes are only a part of a record, there is no
    /// plaintext yet, and the answer is `Interrupted` ("read again"), so that the caller looks
    /// at its deadlines between two reads, as it does on plain TCP. Else a client dripping a
    /// record a byte at a time would keep the reader here past every deadline.
    pub(super) fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if let Some(result) = self.decrypted(out) {
            return result;
        }
        // Nothing to hand out: wait for the socket, with no lock held.
        let n = self.socket.read(&mut self.raw)?;
        (self.start, self.end) = (0, n);
        if n == 0 {
            // Tell the session the stream ended, so that it says whether that was clean.
            let _ = lock(&self.session).read_tls(&mut io::empty());
        }
        self.decrypted(out)
            .unwrap_or_else(|| Err(io::ErrorKind::Interrupted.into()))
    }

    /// Under the lock: hands the raw bytes to the session until it has plaintext for `out`.
    /// `None` when it needs more bytes from the socket.
    fn decrypted(&mut self, out: &mut [u8]) -> Option<io::Result<usize>> {
        let mut session = lock(&self.session);
        loop {
            match session.reader().read(out) {
                Ok(n) => return Some(Ok(n)), // 0: the peer said close_notify
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed without close_notify: for a chat, that is an end like any.
                Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Some(Ok(0)),
                Err(error) => return Some(Err(error)),
            }
            if self.start == self.end {
                return None;
            }
            if let Err(error) = feed(&mut session, &self.raw, &mut self.start, self.end) {
                return Some(Err(tls_error(error)));
            }
        }
    }

    /// The handshake, driven from this side: what the session has to say goes out through this
    /// half's socket (the writer's thread has nothing to send yet), what comes in is fed to it,
    /// until the session is secured or `deadline` passes.
    pub(super) fn handshake(&mut self, deadline: Option<Instant>) -> Result<(), HandshakeError> {
        let mut first_read = true;
        loop {
            let (output, secured) = {
                let mut session = lock(&self.session);
                let mut output = Vec::new();
                take_output(&mut session, &mut output).map_err(HandshakeError::Io)?;
                (output, !session.is_handshaking())
            };
            (&self.socket)
                .write_all(&output)
                .map_err(HandshakeError::Io)?;
            if secured {
                self.socket
                    .set_read_timeout(None)
                    .map_err(HandshakeError::Io)?;
                return Ok(());
            }
            let n = match self.read_before(deadline) {
                Ok(0) => return Err(HandshakeError::Closed),
                Ok(n) => n,
                Err(error) => return Err(error),
            };
            // A plain chat/1 peer speaks first in text: its first byte is no TLS record's.
            if first_read && !matches!(self.raw[0], HANDSHAKE_RECORD | ALERT_RECORD) {
                return Err(HandshakeError::NotTls);
            }
            first_read = false;
            (self.start, self.end) = (0, n);
            let fed = {
                let mut session = lock(&self.session);
                feed(&mut session, &self.raw, &mut self.start, self.end)
            };
            if let Err(error) = fed {
                self.send_alert();
                return Err(HandshakeError::Refused(Box::new(error)));
            }
        }
    }

    /// One read from the socket into `raw`, waiting no later than `deadline`.
    fn read_before(&mut self, deadline: Option<Instant>) -> Result<usize, HandshakeError> {
        loop {
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(HandshakeError::TimedOut);
                }
                // A timeout of zero means "for ever" to the socket: wait a moment instead.
                let left = left.max(Duration::from_millis(1));
                self.socket
                    .set_read_timeout(Some(left))
                    .map_err(HandshakeError::Io)?;
            }
            match self.socket.read(&mut self.raw) {
                Ok(n) => return Ok(n),
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                            | io::ErrorKind::Interrupted
                    ) => {} // the loop looks at the deadline again
                Err(error) => return Err(HandshakeError::Io(error)),
            }
        }
    }

    /// Tells the peer why the handshake failed, if the session has an alert for it; best effort.
    fn send_alert(&self) {
        let mut output = Vec::new();
        let _ = take_output(&mut lock(&self.session), &mut output);
        let _ = (&self.socket).write_all(&output);
    }
}

/// Hands `raw[*start..end]` to the session and has it decrypt them, until all are taken or its
/// plaintext buffer is full (the rest waits for the next call).
fn feed(
    session: &mut Connection,
    raw: &[u8],
    start: &mut usize,
    end: usize,
) -> Result<(), rustls::Error> {
    while *start < end {
        match session.read_tls(&mut &raw[*start..end]) {
            // It takes nothing more once the peer said close_notify: the rest is dropped.
            Ok(0) => *start = end,
            Ok(n) => *start += n,
            // Its plaintext buffer is full: the reader takes some out first.
            Err(_) => return Ok(()),
        }
        session.process_new_packets()?;
    }
    Ok(())
}

/// Moves every TLS record the session has made into `output`.
fn take_output(session: &mut Connection, output: &mut Vec<u8>) -> io::Result<()> {
    while session.wants_write() {
        session.write_tls(output)?;
    }
    Ok(())
}

/// The writing side: plaintext into the session, TLS records out to the socket.
pub(super) struct TlsWrite {
    socket: TcpStream,
    session: Shared,
    /// TLS records taken from the session; `unsent[sent..]` have not reached the socket yet.
    unsent: Vec<u8>,
    sent: usize,
}

impl TlsWrite {
    /// Encrypts what fits of `slices` (when little is held back), then makes one socket write
    /// of what is held back, with no lock held. Returns how many bytes the socket took.
    pub(super) fn send(&mut self, slices: &mut &mut [IoSlice<'_>]) -> io::Result<usize> {
        if !slices.is_empty() && self.unsent.len() - self.sent < HOLD_BACK {
            let mut session = lock(&self.session);
            if session.is_handshaking() {
                return Err(io::Error::new(
                    io::ErrorKind::NotConnected,
                    "the TLS handshake is not over",
                ));
            }
            let n = session.writer().write_vectored(slices)?;
            IoSlice::advance_slices(slices, n);
            take_output(&mut session, &mut self.unsent)?;
        }
        if self.sent == self.unsent.len() {
            return Err(io::ErrorKind::WriteZero.into()); // nothing to send: a caller's mistake
        }
        let n = self.socket.write(&self.unsent[self.sent..])?;
        if n == 0 {
            return Err(io::ErrorKind::WriteZero.into());
        }
        self.sent += n;
        if self.sent == self.unsent.len() {
            self.sent = 0;
            self.unsent.clear();
            // A connection that sent a file does not keep a file's worth of buffer when idle.
            if self.unsent.capacity() > 2 * HOLD_BACK {
                self.unsent = Vec::new();
            }
        }
        Ok(n)
    }

    pub(super) fn has_unsent(&self) -> bool {
        self.sent < self.unsent.len()
    }

    /// `close_notify` (once the handshake is over: before, there is no session to close), then
    /// FIN. Best effort: a peer that takes nothing gets its FIN after one write timeout.
    pub(super) fn finish(&mut self) -> io::Result<()> {
        {
            let mut session = lock(&self.session);
            if !session.is_handshaking() {
                session.send_close_notify();
                take_output(&mut session, &mut self.unsent)?;
            }
        }
        let result = (&self.socket).write_all(&self.unsent[self.sent..]);
        self.sent = self.unsent.len();
        let shutdown = self.socket.shutdown(Shutdown::Write);
        result.and(shutdown)
    }
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::thread;

    use rustls::RootCertStore;
    use rustls::pki_types::PrivatePkcs8KeyDer;

    use super::super::{ReadHalf, WriteHalf};
    use super::*;

    /// Both ends of a TLS connection on loopback, shaken hands: the server's halves, then the
    /// client's.
    fn secured() -> ((ReadHalf, WriteHalf), (ReadHalf, WriteHalf)) {
        let made = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
        let cert = made.cert.der().clone();
        let key = PrivatePkcs8KeyDer::from(made.signing_key.serialize_der());
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key.into())
            .unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(cert).unwrap();
        let client = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();

        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let socket = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (accepted, _) = listener.accept().unwrap();
        let server_side = thread::spawn(move || {
            let transport = Transport::tls_server(accepted, Arc::new(server)).unwrap();
            let (mut reader, writer, _) = transport.split().unwrap();
            reader.handshake(None).unwrap();
            (reader, writer)
        });
        let name = ServerName::try_from("localhost").unwrap();
        let transport = Transport::tls_client(socket, Arc::new(client), name).unwrap();
        let (mut reader, writer, _) = transport.split().unwrap();
        reader.handshake(None).unwrap();
        (server_side.join().unwrap(), (reader, writer))
    }

    #[test]
    fn one_write_through_the_std_writer_leaves_no_record_behind() {
        let ((mut server, _server_writes), (_client_reads, mut client)) = secured();
        // Many records, and more than the session encrypts ahead of the socket at once.
        let data: Vec<u8> = (0..=255u8).cycle().take(3 << 20).collect();
        let expected = data.clone();
        // The half comes back, not closed: the session tickets it never read would make a
        // reset that destroys what the server has yet to read.
        let sending = thread::spawn(move || (Write::write(&mut client, &data).unwrap(), client));
        let mut received = vec![0u8; expected.len()];
        // Records left behind would keep the read waiting: it fails instead.
        server
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Read::read_exact(&mut server, &mut received).unwrap();
        let (written, _client) = sending.join().unwrap();
        assert_eq!(written, expected.len(), "all the plaintext taken");
        assert!(received == expected, "the bytes differ");
    }
}
