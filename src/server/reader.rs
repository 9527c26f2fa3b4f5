//! The reader: one thread per client, from its socket to the broadcaster.
//!
//! Socket bytes go into a [`ClientFrameDecoder`]; each frame that comes out becomes an
//! [`Event`] for the broadcaster, or an `[ERROR]` answer in the client's own queue. The reader
//! also enforces what is about one client alone: the handshake (`handshake.rs`), the idle
//! timeout, flood control (it sleeps when the client floods) and the file memory a file needs
//! before its body is read.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::admission::ConnectionGuard;
use super::event::Event;
use super::file_memory::FileReservation;
use super::flood::TokenBucket;
use super::queue::{Outbound, QueueFull};
use super::{ClientId, Shared};
use crate::protocol::{ClientFrame, ClientFrameDecoder, FrameError, ServerFrame};

/// Read buffer of a reader thread, in bytes: small, since it is for chat lines.
pub(super) const READ_BUFFER: usize = 2 * 1024;
/// Bytes of a file body read in one call at most; they go straight into the file's buffer.
const BODY_READ: usize = 1024 * 1024;

/// Why a reader stopped reading.
#[derive(Debug)]
pub(super) enum Ending {
    /// The client closed the connection, or it broke.
    Closed,
    /// The client sent `exit`.
    Exit,
    /// No frame came within the time allowed (handshake or idle).
    TimedOut,
    /// The server closes the connection and says why with `[ERROR]:<why>`.
    Error(String),
    /// The client's own queue overflowed; it has already been told.
    QueueFull,
}

impl From<QueueFull> for Ending {
    fn from(_: QueueFull) -> Ending {
        Ending::QueueFull
    }
}

/// A frame from the client, or the reason one was refused.
pub(super) type Item = Result<ClientFrame, FrameError>;

pub(super) struct Reader {
    pub(super) id: ClientId,
    pub(super) stream: TcpStream,
    pub(super) decoder: ClientFrameDecoder,
    /// This client's own queue, for the handshake and for `[ERROR]` answers.
    pub(super) outbound: Outbound,
    pub(super) events: Sender<Event>,
    pub(super) shared: Arc<Shared>,
    pub(super) joined: bool,
    /// Where socket reads land before the decoder takes them.
    pub(super) buffer: Vec<u8>,
    /// Flood control, when it applies to this client.
    pub(super) flood: Option<TokenBucket>,
    /// Memory reserved for the file being received, if any.
    pub(super) file_memory: Option<FileReservation>,
    /// Held until the reader ends; the writer waits on it while lingering.
    pub(super) _alive: Sender<()>,
    pub(super) _guard: Arc<ConnectionGuard>,
}

impl Reader {
    /// Boxed, so the thread's stack holds a pointer rather than the whole reader: an idle
    /// connection's stack stays a page smaller.
    pub(super) fn run(mut self: Box<Self>) {
        let ending = self.serve();
        log::debug!("connection {}: reader ends: {ending:?}", self.id);
        if self.joined {
            let _ = self.events.send(Event::Leave { id: self.id });
        }
        if let Ending::Error(why) = &ending {
            self.outbound.close_with(&ServerFrame::Error(why.clone()));
        }
        // Dropping our end of the queue lets the writer finish once the broadcaster has let go.
        let Reader {
            stream, outbound, ..
        } = *self;
        drop(outbound);
        if !matches!(ending, Ending::Closed) {
            drain(stream);
        }
    }

    fn serve(&mut self) -> Ending {
        if let Err(full) = self
            .outbound
            .push_frame(&ServerFrame::Info(super::GREETING.into()))
        {
            return full.into();
        }
        let config = &self.shared.config;
        let (handshake_timeout, idle_timeout) = (config.handshake_timeout, config.idle_timeout);
        match self.handshake() {
            Ok(()) => {}
            Err(Ending::TimedOut) => {
                let secs = handshake_timeout.as_secs_f64();
                return Ending::Error(format!("no username within {secs} s"));
            }
            Err(ending) => return ending,
        }
        self.joined = true;
        // From now on the socket's read timeout is the idle timeout.
        if self.stream.set_read_timeout(idle_timeout).is_err() {
            return Ending::Closed;
        }
        loop {
            let deadline = idle_timeout.map(|idle| Instant::now() + idle);
            let item = match self.read_frame(deadline) {
                Ok(item) => item,
                Err(Ending::TimedOut) => {
                    let secs = idle_timeout.unwrap_or_default().as_secs_f64();
                    return Ending::Error(format!("idle for {secs} s"));
                }
                Err(ending) => return ending,
            };
            self.slow_down_if_flooding();
            if let Err(ending) = self.handle(item) {
                return ending;
            }
        }
    }

    /// Flood control: a client over its rate waits here, so its frames wait, while everyone
    /// else's reader carries on.
    fn slow_down_if_flooding(&mut self) {
        if let Some(bucket) = &mut self.flood {
            let wait = bucket.take(Instant::now());
            if !wait.is_zero() {
                thread::sleep(wait);
            }
        }
    }

    /// Acts on one frame (or one refusal) from a joined client.
    fn handle(&mut self, item: Item) -> Result<(), Ending> {
        let event = match item {
            Ok(ClientFrame::Text(text)) => Event::Message { id: self.id, text },
            // Commands are not carried out yet: relayed as the message they were before.
            Ok(ClientFrame::Command(command)) => Event::Message {
                id: self.id,
                text: command.to_string(),
            },
            Ok(ClientFrame::File { name, data }) => {
                // The reservation was made when the header arrived (see `read_frame`), unless
                // the whole file came in one read.
                let mut memory = match self.file_memory.take() {
                    Some(memory) => memory,
                    None => self.reserve(data.len() as u64)?,
                };
                memory.shrink_to(data.len() as u64);
                Event::File {
                    id: self.id,
                    name,
                    data,
                    memory,
                }
            }
            Ok(ClientFrame::Empty) => return Ok(()),
            Ok(ClientFrame::Exit) => return Err(Ending::Exit),
            Err(error) => return self.refuse_frame(error),
        };
        // A full event queue makes this reader wait: the broadcaster is behind, so the fair
        // answer is to slow down whoever is sending.
        self.events.send(event).map_err(|_| Ending::Closed)
    }

    /// Answers a refused frame; a fatal one ends the connection.
    pub(super) fn refuse_frame(&mut self, error: FrameError) -> Result<(), Ending> {
        if error.is_fatal() {
            return Err(Ending::Error(error.to_string()));
        }
        self.refuse(error.to_string())
    }

    pub(super) fn refuse(&mut self, why: String) -> Result<(), Ending> {
        Ok(self.outbound.push_frame(&ServerFrame::Error(why))?)
    }

    /// Reads until the decoder hands out a frame or a refusal, or until `deadline`. The socket's
    /// read timeout must already be set when there is a deadline.
    pub(super) fn read_frame(&mut self, deadline: Option<Instant>) -> Result<Item, Ending> {
        loop {
            if let Some(item) = self.decoder.next_frame() {
                if !matches!(item, Ok(ClientFrame::File { .. }))
                    && self.decoder.file_in_progress().is_none()
                {
                    self.file_memory = None; // a refused file gives its memory back
                }
                return Ok(item);
            }
            // Bytes that do not make a frame do not count: a client dripping half a line
            // still reaches its deadline.
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return Err(Ending::TimedOut);
            }
            self.reserve_file_memory()?;
            match self.receive() {
                Ok(0) => return Err(self.closed()),
                Ok(_) => {}
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    // The read timed out: the deadline is reached, or it moved since the
                    // timeout was set.
                    let Some(deadline) = deadline else { continue };
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        return Err(Ending::TimedOut);
                    }
                    self.stream
                        .set_read_timeout(Some(left))
                        .map_err(|_| Ending::Closed)?;
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(self.closed()),
            }
        }
    }

    /// Reads what the client sent next: straight into the body of a file being received, or
    /// into the read buffer for the decoder. Returns how many bytes came (0: the end).
    fn receive(&mut self) -> io::Result<usize> {
        let Reader {
            stream,
            decoder,
            buffer,
            ..
        } = self;
        if let Some(read) = decoder.fill_body(BODY_READ, |body| stream.read(body)) {
            return read;
        }
        let n = stream.read(buffer)?;
        decoder.feed(&buffer[..n]);
        Ok(n)
    }

    /// Before the body of a file is read, takes its size from the server-wide file budget,
    /// waiting (and so not reading this client) until there is room.
    fn reserve_file_memory(&mut self) -> Result<(), Ending> {
        if self.file_memory.is_some() {
            return Ok(());
        }
        if let Some(size) = self.decoder.file_in_progress() {
            self.file_memory = Some(self.reserve(size)?);
        }
        Ok(())
    }

    fn reserve(&self, size: u64) -> Result<FileReservation, Ending> {
        let shared = &self.shared;
        let reservation = shared.file_memory.reserve(size, &shared.stopping);
        reservation.ok_or(Ending::Closed) // the server is stopping
    }

    /// The connection stopped giving bytes. During a shutdown, a client that has not joined yet
    /// is told why (the broadcaster tells the joined ones).
    fn closed(&self) -> Ending {
        if self.shared.stopping.load(Ordering::SeqCst) && !self.joined {
            Ending::Error("server is shutting down".into())
        } else {
            Ending::Closed
        }
    }
}

/// Reads and discards what the client still sends until it closes. Closing a socket with unread
/// bytes makes the kernel send a reset, which can destroy our last `[ERROR]` before the client
/// reads it. The writer cuts this short after `LINGER`.
fn drain(mut stream: TcpStream) {
    let _ = stream.set_read_timeout(None);
    let mut sink = [0u8; 1024];
    while let Ok(n) = stream.read(&mut sink) {
        if n == 0 {
            break;
        }
    }
}
