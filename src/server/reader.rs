//! The reader: one thread per client, from its socket to the broadcaster.
//!
//! Socket bytes go into a [`ClientFrameDecoder`]; each frame that comes out becomes an
//! [`Event`] for the broadcaster, or an `[ERROR]` answer in the client's own queue. The reader
//! also enforces what is about one client alone: the handshake (`handshake.rs`), the idle
//! timeout, flood control (it sleeps when the client floods, skipped bytes included) and the
//! file being received (`receiving.rs`: its memory and its time limits).
//!
//! Every wait has a deadline: a read waits at most until the handshake, idle or file deadline,
//! whichever comes first, and a flooding client's pause never outlasts it.

use std::io::{self, Read};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::Sender;

use super::admission::ConnectionGuard;
use super::commands::{self, Action};
use super::event::Event;
use super::file_memory::FileReservation;
use super::flood::TokenBucket;
use super::queue::{Outbound, QueueFull};
use super::receiving::ReceivingFile;
use super::transfer::{self, deadline};
use super::{ClientId, Shared};
use crate::protocol::{self, ClientFrame, ClientFrameDecoder, FrameError, ServerFrame};
use crate::transport::ReadHalf;

/// Read buffer of a reader thread, in bytes: small, since it is for chat lines.
pub(super) const READ_BUFFER: usize = 2 * 1024;
/// Bytes of a file body read in one call at most; they go straight into the file's buffer.
const BODY_READ: usize = 1024 * 1024;
/// How far past a deadline a read may wait before the reader sees it.
const TIMEOUT_SLACK: Duration = Duration::from_millis(10);
/// Refusals logged per connection at most; the rest are counted, and the count is logged at
/// the end.
const LOGGED_REFUSALS: u32 = 3;

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
    /// The TLS handshake failed (`securing.rs` logged why).
    NotSecured,
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
    pub(super) stream: ReadHalf,
    /// Where the client connected from, and when.
    pub(super) peer: SocketAddr,
    pub(super) connected_at: Instant,
    pub(super) decoder: ClientFrameDecoder,
    /// This client's own queue, for the handshake and for `[ERROR]` answers.
    pub(super) outbound: Outbound,
    pub(super) events: Sender<Event>,
    pub(super) shared: Arc<Shared>,
    /// Where socket reads land before the decoder takes them.
    pub(super) buffer: Vec<u8>,
    /// Flood control, when it applies to this client.
    pub(super) flood: Option<TokenBucket>,
    /// Whether the client was told it is being slowed down since it was last quiet.
    pub(super) told_paced: bool,
    /// The accepted username, once joined: for the log.
    pub(super) name: Option<String>,
    /// Frames and names refused so far; only the first few are logged.
    pub(super) refusals: u32,
    /// The file being received, if any: its memory and its time limits.
    pub(super) file: Option<ReceivingFile>,
    /// The socket's read timeout now: a read waits at most this long.
    pub(super) read_timeout: Option<Duration>,
    /// Tells the broadcaster that this client left, however the reader ends.
    pub(super) departure: Departure,
    /// Held until the reader ends; the writer waits on it while lingering.
    pub(super) _alive: Sender<()>,
    pub(super) _guard: Arc<ConnectionGuard>,
}

/// Sends `Leave` for a joined client when dropped, so that even a reader that panics leaves
/// the chat consistent: the others are told, the name is free, and the broadcaster lets go of
/// the client's queue, which ends its writer.
pub(super) struct Departure {
    pub(super) id: ClientId,
    pub(super) events: Sender<Event>,
    pub(super) joined: bool,
}

impl Departure {
    /// Tells the broadcaster the client left, with the frame that says why, if any: the
    /// broadcaster sends it after what it routed to the client before, then the connection
    /// closes. False when the client had not joined: nobody else knows of it.
    fn leave(&mut self, last_words: Option<ServerFrame>) -> bool {
        if !std::mem::take(&mut self.joined) {
            return false;
        }
        let _ = self.events.send(Event::Leave {
            id: self.id,
            last_words,
        });
        true
    }
}

impl Drop for Departure {
    fn drop(&mut self) {
        self.leave(None);
    }
}

impl Reader {
    /// Boxed, so the thread's stack holds a pointer rather than the whole reader: an idle
    /// connection's stack stays a page smaller.
    pub(super) fn run(mut self: Box<Self>) {
        let ending = self.serve();
        self.log_ending(&ending);
        let last_words = match &ending {
            Ending::Error(why) => Some(ServerFrame::Error(why.clone())),
            _ => None,
        };
        // A joined client's last words go through the broadcaster, after everything routed to
        // it before its [LEAVE]; a client that never joined has nothing else coming.
        if !self.departure.leave(last_words.clone())
            && let Some(last_words) = &last_words
        {
            self.outbound.close_with(last_words);
        }
        // Dropping our end of the queue lets the writer finish once the broadcaster has let go.
        let Reader {
            stream, outbound, ..
        } = *self;
        drop(outbound);
        if !matches!(ending, Ending::Closed) {
            drain(stream.into_socket());
        }
    }

    fn serve(&mut self) -> Ending {
        if let Err(ending) = self.secure() {
            return ending;
        }
        if let Err(full) = self
            .outbound
            .push_frame(&ServerFrame::Info(super::GREETING.into()))
        {
            return full.into();
        }
        // Until the name is accepted, files are refused and skipped unread.
        self.decoder.set_files_allowed(false);
        match self.handshake() {
            Ok(()) => {}
            Err(Ending::TimedOut) => {
                let secs = self.shared.config.handshake_timeout.as_secs_f64();
                return Ending::Error(format!("no username within {secs} s"));
            }
            Err(ending) => return ending,
        }
        self.departure.joined = true;
        self.decoder.set_files_allowed(true);
        let idle_timeout = self.shared.config.idle_timeout;
        loop {
            let idle_deadline = idle_timeout.and_then(|idle| deadline(Instant::now(), idle));
            let (item, memory) = match self.read_frame(idle_deadline) {
                Ok(received) => received,
                Err(Ending::TimedOut) => {
                    let secs = idle_timeout.unwrap_or_default().as_secs_f64();
                    return Ending::Error(format!("idle for {secs} s"));
                }
                Err(ending) => return ending,
            };
            self.pace(1.0, idle_deadline);
            if let Err(ending) = self.handle(item, memory) {
                return ending;
            }
        }
    }

    /// Flood control: a client over its allowance waits here (never past `deadline`), so its
    /// frames wait, while everyone else's reader carries on. A frame costs one token. The first
    /// time it has to wait after a quiet spell, the client is told why its lines are slow.
    pub(super) fn pace(&mut self, tokens: f64, deadline: Option<Instant>) {
        let Some(bucket) = &mut self.flood else {
            return;
        };
        let now = Instant::now();
        if bucket.is_full(now) {
            self.told_paced = false; // quiet long enough: it gets a whole burst again
        }
        let mut wait = bucket.take_many(now, tokens);
        if let Some(deadline) = deadline {
            wait = wait.min(deadline.saturating_duration_since(now));
        }
        if wait.is_zero() {
            return;
        }
        if !std::mem::replace(&mut self.told_paced, true) {
            let limit = bucket.limit();
            let lines = if limit.burst == 1 { "line" } else { "lines" };
            let notice = format!(
                "you are sending faster than this server allows ({} {lines} at once, then {} a \
                 second): your lines are slowed down to that pace, none is lost",
                limit.burst, limit.per_second
            );
            // A full queue or a stopping server ends the connection at its next frame anyway.
            let _ = self.answer(ServerFrame::Info(notice));
        }
        self.shared.stopping.sleep(wait);
    }

    /// Acts on one frame (or one refusal) from a joined client.
    fn handle(&mut self, item: Item, memory: Option<FileReservation>) -> Result<(), Ending> {
        let event = match item {
            Ok(ClientFrame::Text(text)) => {
                if self.shared.config.test_panic_on.as_ref() == Some(&text) {
                    panic!("the test hook panics the reader of connection {}", self.id);
                }
                Event::Message { id: self.id, text }
            }
            Ok(ClientFrame::Command(command)) => match commands::act_on(self.id, command) {
                Action::Ask(event) => event,
                Action::Answer(frames) => {
                    for frame in frames {
                        self.answer(frame)?;
                    }
                    return Ok(());
                }
            },
            Ok(ClientFrame::File { name, data }) => {
                let size = data.len() as u64;
                // A file that came whole in one read was never reserved: reserve it now.
                let memory = memory.or_else(|| self.shared.file_memory.try_reserve(size));
                let Some(mut memory) = memory else {
                    return self.refuse(super::receiving::NO_ROOM.into());
                };
                memory.shrink_to(size);
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
        self.refusals += 1;
        if self.refusals <= LOGGED_REFUSALS && self.shared.log_budget.allow() {
            log::info!("{}: refused: {why}", self.who());
        }
        self.answer(ServerFrame::Error(why))
    }

    /// Sends this client a frame of its own (an answer, a refusal, a notice). Once it has
    /// joined, the frame goes through the broadcaster like the answers to `/users` or `/msg`,
    /// so that the client gets every answer in the order of what it sent; before, there is
    /// nothing else it could come out of order with.
    pub(super) fn answer(&mut self, frame: ServerFrame) -> Result<(), Ending> {
        if self.departure.joined {
            let event = Event::Answer { id: self.id, frame };
            return self.events.send(event).map_err(|_| Ending::Closed);
        }
        Ok(self.outbound.push_frame(&frame)?)
    }

    /// Who this connection is, for the log: `alice (127.0.0.1:50312)`, or its number before it
    /// has a name.
    pub(super) fn who(&self) -> String {
        match &self.name {
            Some(name) => format!("{name} ({})", self.peer),
            None => format!("connection {} ({})", self.id, self.peer),
        }
    }

    /// Says in the log why the connection ends, when that is news: a timeout, an error, a
    /// refused frame count. Leaving and closing are the broadcaster's `[-]` lines.
    fn log_ending(&self, ending: &Ending) {
        let who = self.who();
        if self.refusals > LOGGED_REFUSALS && self.shared.log_budget.allow() {
            log::info!("{who}: {} frames or names refused in all", self.refusals);
        }
        match ending {
            Ending::Error(why) if self.shared.log_budget.allow() => {
                log::info!("{who}: closed: {why}");
            }
            ending => log::debug!("{who}: reader ends: {ending:?}"),
        }
    }

    /// Reads until the decoder hands out a frame or a refusal, or until `deadline` (or the
    /// deadline of a file being received) passes. A file comes with the memory reserved for it.
    pub(super) fn read_frame(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<(Item, Option<FileReservation>), Ending> {
        let mut woke_early = false;
        loop {
            if let Some(item) = self.decoder.next_frame() {
                let memory = self.file_done(&item);
                return Ok((item, memory));
            }
            // Bytes skipped unread cost flood allowance too: a line's worth, a frame.
            let skipped = self.decoder.take_discarded();
            if skipped > 0 {
                let max_line = self.shared.config.max_line.max(1) as f64;
                self.pace(skipped as f64 / max_line, deadline);
            }
            self.keep_file_in_budget()?;
            let now = Instant::now();
            self.check_file_limits(now)?;
            // Bytes that do not make a frame do not count: a client dripping half a line
            // still reaches its deadline.
            let deadline = transfer::earliest(deadline, self.file_deadline());
            if deadline.is_some_and(|deadline| now >= deadline) {
                return Err(Ending::TimedOut);
            }
            self.arm_read_timeout(deadline.map(|deadline| deadline - now), woke_early)?;
            woke_early = false;
            match self.receive() {
                Ok(0) => return Err(self.closed()),
                Ok(_) => self.file_bytes_arrived(),
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    woke_early = true; // the loop looks at the deadlines again
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return Err(self.closed()),
            }
        }
    }

    /// Makes sure a read waits no longer than `left` (`None`: no limit), give or take
    /// `TIMEOUT_SLACK`. The socket's timeout is changed only when it is too long by more than
    /// that, or when a read just timed out (`woke_early`): the idle deadline moves with every
    /// frame, and a busy connection must not pay a system call per read for it.
    fn arm_read_timeout(&mut self, left: Option<Duration>, woke_early: bool) -> Result<(), Ending> {
        // A timeout of zero means "for ever" to the socket: wait a moment instead.
        let wanted = left.map(|left| left.max(Duration::from_millis(1)));
        let too_long = match (self.read_timeout, wanted) {
            (_, None) => false,
            (None, Some(_)) => true,
            (Some(armed), Some(wanted)) => armed > wanted + TIMEOUT_SLACK,
        };
        if !(too_long || woke_early) || self.read_timeout == wanted {
            return Ok(());
        }
        self.stream
            .set_read_timeout(wanted)
            .map_err(|_| Ending::Closed)?;
        self.read_timeout = wanted;
        Ok(())
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

    /// The connection stopped giving bytes. During a shutdown, a client that has not joined yet
    /// is told why (the broadcaster tells the joined ones).
    fn closed(&self) -> Ending {
        if self.shared.stopping.is_set() && !self.departure.joined {
            Ending::Error(protocol::SHUTTING_DOWN.into())
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
