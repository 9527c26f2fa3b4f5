//! The server: it accepts connections, runs one reader and one writer thread per client, and one
//! broadcaster thread that owns the client list.
//!
//! The data flows one way:
//!
//! ```text
//! socket -> reader (bytes -> ClientFrame -> Event) -> broadcaster (who gets what)
//!        -> each client's outbound queue -> writer -> socket
//! ```
//!
//! The broadcaster never touches a socket and never waits for a client: it only pushes into
//! outbound queues, and a client whose queue is full is dropped. So one slow or stuck client can
//! never delay anybody else. Every order decision is the broadcaster's, which is why all clients
//! see messages in the same order. It works in turns: it routes every event already waiting,
//! then gives each client its share of the turn as one queue item, so under load each writer
//! wakes once per turn rather than once per message.
//!
//! Every resource has a bound, all in [`Config`]: connections (in all and per address), each
//! outbound queue, the time to join and to stay silent, how fast a client may send (the reader
//! sleeps when it floods), and the bytes of files held in memory (a reader waits for room
//! before it reads a file's body).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};

use crate::protocol::{
    self, ClientFrame, ClientFrameDecoder, FrameError, MAX_USERNAME_LEN, ServerFrame,
};

/// Every limit of the server, with its default in one place (`Config::default`).
#[derive(Debug, Clone)]
pub struct Config {
    /// Open connections at most, joined or not; one more gets `[ERROR]:server full`.
    pub max_clients: usize,
    /// Open connections from one IP address at most; one more gets `[ERROR]:too many
    /// connections from your address`. Loopback is exempt unless `limit_loopback`.
    pub max_per_ip: usize,
    /// The largest file a client may send, in bytes.
    pub max_file_size: u64,
    /// Bytes of files held in memory at most, server-wide: files being received plus files
    /// waiting in outbound queues. A file that does not fit waits (its sender is not read)
    /// until enough is freed. At least `max_file_size`.
    pub max_file_memory: u64,
    /// The longest line, in bytes, once its LF or CRLF is removed.
    pub max_line: usize,
    /// Bytes waiting in one client's outbound queue at most: a client further behind than this
    /// is dropped. A file counts only its header line and `<END>`: the bytes of files are
    /// bounded by `max_file_memory`, and a slow client gets `write_timeout` to make progress.
    pub send_queue: usize,
    /// How long a new connection has to give an accepted username.
    pub handshake_timeout: Duration,
    /// How long a joined client may send no frame before it is closed; `None` for ever.
    pub idle_timeout: Option<Duration>,
    /// How fast one client may send frames; `None` for no limit.
    pub flood_limit: Option<FloodLimit>,
    /// Apply `max_per_ip` and `flood_limit` to loopback clients too.
    pub limit_loopback: bool,
    /// How long one write to a client may make no progress before the client counts as gone.
    pub write_timeout: Duration,
    /// Where to append the transcript of the chat, if anywhere.
    pub log: Option<PathBuf>,
}

/// A token bucket: a client may send `burst` frames at once, then `per_second` frames a second.
/// A client over it is slowed down (its frames wait), never dropped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloodLimit {
    pub burst: u32,
    pub per_second: f64,
}

impl Default for FloodLimit {
    fn default() -> FloodLimit {
        // As ergo's "fakelag": 5 at once, then 2 a second.
        FloodLimit {
            burst: 5,
            per_second: 2.0,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_clients: 1024,
            max_per_ip: 16,
            max_file_size: protocol::DEFAULT_MAX_FILE_SIZE,
            max_file_memory: 256 * 1024 * 1024,
            max_line: protocol::DEFAULT_MAX_LINE,
            send_queue: 1024 * 1024,
            handshake_timeout: Duration::from_secs(30),
            idle_timeout: Some(Duration::from_secs(30 * 60)),
            flood_limit: Some(FloodLimit::default()),
            limit_loopback: false,
            write_timeout: Duration::from_secs(30),
            log: None,
        }
    }
}

/// Why the server could not start.
#[derive(Debug)]
pub enum ServerError {
    /// The transcript file could not be opened.
    Log { path: PathBuf, source: io::Error },
    /// Two limits contradict each other.
    Config(String),
    /// The listener or a thread could not be set up.
    Io(io::Error),
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerError::Log { path, source } => {
                write!(f, "cannot open the log file {}: {source}", path.display())
            }
            ServerError::Config(why) => write!(f, "{why}"),
            ServerError::Io(source) => write!(f, "{source}"),
        }
    }
}

impl std::error::Error for ServerError {}

impl From<io::Error> for ServerError {
    fn from(source: io::Error) -> ServerError {
        ServerError::Io(source)
    }
}

/// The greeting every new connection gets.
const GREETING: &str =
    "Welcome to chat. Please enter your username (1-32 letters, digits, '_', '-' or '.').";
/// Read buffer of a reader thread, in bytes: small, since it is for chat lines.
const READ_BUFFER: usize = 2 * 1024;
/// Bytes of a file body read in one call at most; they go straight into the file's buffer.
const BODY_READ: usize = 1024 * 1024;
/// Queue items a writer gathers into one write call at most.
const MAX_ITEMS_PER_WRITE: usize = 64;
/// Events the broadcaster routes in one turn at most.
const MAX_TURN: usize = 256;
/// How long a turn that holds a join waits for more events before it ends. Every turn wakes
/// every writer, and joins come in storms (a class logging in at once): gathering them into
/// fewer turns is worth delaying a `[JOIN]` notice by a millisecond. A newcomer's own
/// `[WELCOME]` is not delayed.
const JOIN_GATHER: Duration = Duration::from_millis(1);
/// How long a turn waits for more events before it ends while a burst is on (the turn, or the
/// one before it, holds two events or more). Under a burst, bigger turns mean fewer wakes of
/// every writer; a lone message in a quiet chat does not wait at all.
const BURST_GATHER: Duration = Duration::from_micros(50);
/// How long a writer that said goodbye waits for its client to close before cutting it off.
const LINGER: Duration = Duration::from_secs(2);
/// Stack of each client thread; they keep their buffers on the heap.
const CLIENT_STACK: usize = 128 * 1024;
/// Events waiting for the broadcaster at most; readers wait when it is full.
const EVENT_QUEUE: usize = 1024;

type ClientId = u64;

/// An encoded line frame.
type Bytes = Arc<[u8]>;

/// One encoded frame, shared by every queue it is pushed into rather than copied.
enum Encoded {
    /// A line frame, LF included.
    Line(Bytes),
    /// A file frame: its header line and its bytes (then `<END>`), kept apart so that the
    /// bytes, which may be megabytes, are never copied.
    File { header: Bytes, data: Vec<u8> },
}

impl Encoded {
    fn new(frame: ServerFrame) -> Encoded {
        match frame {
            ServerFrame::File { from, name, data } => Encoded::File {
                header: protocol::file_header(&from, &name, data.len()).into(),
                data,
            },
            frame => Encoded::Line(frame.encode().into()),
        }
    }

    /// What it counts for in an outbound queue: a line its length; a file only its header and
    /// `<END>`, since the bytes of files are bounded by `max_file_memory` instead, and a client
    /// on a slow link must not be dropped just because it receives a big file.
    fn queued_len(&self) -> usize {
        match self {
            Encoded::Line(line) => line.len(),
            Encoded::File { header, .. } => header.len() + protocol::END_LINE.len(),
        }
    }

    /// Adds its parts to `slices`, to be written in that order.
    fn add_to<'a>(&'a self, slices: &mut Vec<IoSlice<'a>>) {
        match self {
            Encoded::Line(line) => slices.push(IoSlice::new(line)),
            Encoded::File { header, data } => slices.extend([
                IoSlice::new(header),
                IoSlice::new(data),
                IoSlice::new(protocol::END_LINE),
            ]),
        }
    }
}

/// What a writer takes from its client's outbound queue.
enum Outgoing {
    /// A frame for this client alone (the greeting, answers, errors).
    Frame(Bytes),
    /// This client's share of one broadcaster turn: the frames in `range`, except its own.
    /// `bytes` is how many bytes that is.
    Turn {
        turn: Arc<Turn>,
        range: Range<usize>,
        bytes: usize,
    },
    /// The last frame: send it, then close the connection (the client is being dropped).
    Close(Bytes),
}

/// Everything the broadcaster routed in one turn, shared by every writer. Packing a turn into one
/// queue item means each writer wakes once per turn, not once per message.
struct Turn {
    /// Each frame with the client it came from; it is not sent back to them.
    frames: Vec<(ClientId, Encoded)>,
    /// The memory of the files among `frames`, given back when the last writer lets go.
    _files: Vec<FileReservation>,
}

/// What a reader tells the broadcaster.
enum Event {
    /// A client asks to join under `name`; the answer goes to `reply`.
    Join {
        id: ClientId,
        name: String,
        outbound: Outbound,
        reply: Sender<JoinAnswer>,
    },
    /// A chat message from a joined client.
    Message { id: ClientId, text: String },
    /// A whole file from a joined client, with the memory reserved for it.
    File {
        id: ClientId,
        name: String,
        data: Vec<u8>,
        memory: FileReservation,
    },
    /// A joined client left (exit, closed connection, or an error).
    Leave { id: ClientId },
    /// The server is stopping: say goodbye to everyone.
    Shutdown,
}

/// The broadcaster's answer to a `Join`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum JoinAnswer {
    /// Joined: `[WELCOME]` and `[USERS]` are queued.
    Welcome,
    /// Someone already has this name (compared without case).
    NameTaken,
    /// The client's queue is full (it sends names faster than it reads the answers).
    QueueFull,
}

/// The sending end of one client's outbound queue. The queue is an unbounded crossbeam channel
/// plus a count of the bytes in it, checked against `limit` before each push: this bounds it
/// like a bounded channel would, but an idle client's queue costs no memory.
#[derive(Clone)]
struct Outbound {
    queue: Sender<Outgoing>,
    /// Bytes queued and not yet written; the writer takes away what it wrote.
    queued: Arc<AtomicUsize>,
    limit: usize,
}

/// The client's outbound queue is full: it has fallen more than `limit` bytes behind.
#[derive(Debug)]
struct QueueFull;

impl Outbound {
    /// Queues `item`, which holds `bytes` bytes, without ever waiting. When the client is
    /// already more than `limit` bytes behind, nothing is queued; the client gets
    /// `[ERROR]:send queue exceeded` as its last frame instead and must be dropped.
    fn push(&self, item: Outgoing, bytes: usize) -> Result<(), QueueFull> {
        if self.queued.load(Ordering::Relaxed) > self.limit {
            self.close_with(&ServerFrame::Error("send queue exceeded".into()));
            return Err(QueueFull);
        }
        self.queued.fetch_add(bytes, Ordering::Relaxed);
        // A closed queue means the writer has ended: the client is leaving, and its reader
        // reports that to the broadcaster. Nothing to do here.
        let _ = self.queue.send(item);
        Ok(())
    }

    fn push_frame(&self, frame: &ServerFrame) -> Result<(), QueueFull> {
        let bytes: Bytes = frame.encode().into();
        let len = bytes.len();
        self.push(Outgoing::Frame(bytes), len)
    }

    /// Queues a last frame (past the limit: it says why the connection ends), after which the
    /// writer closes the connection.
    fn close_with(&self, frame: &ServerFrame) {
        let bytes: Bytes = frame.encode().into();
        self.queued.fetch_add(bytes.len(), Ordering::Relaxed);
        let _ = self.queue.send(Outgoing::Close(bytes));
    }
}

/// What the acceptor, the readers and the handle share.
struct Shared {
    config: Config,
    stopping: AtomicBool,
    connections: Mutex<Connections>,
    /// Signalled each time a connection closes.
    connection_closed: Condvar,
    file_memory: Arc<FileMemory>,
}

/// Every open connection, joined or not, for the connection limits and for shutdown.
#[derive(Default)]
struct Connections {
    streams: HashMap<ClientId, TcpStream>,
    per_ip: HashMap<IpAddr, usize>,
}

impl Shared {
    fn connections(&self) -> MutexGuard<'_, Connections> {
        // A thread that panicked while holding the lock leaves the map itself intact.
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until at most `n` connections are open, at most `timeout`. True if that happened.
    fn wait_for_open_connections(&self, n: usize, timeout: Duration) -> bool {
        let guard = self.connections();
        let (guard, _) = self
            .connection_closed
            .wait_timeout_while(guard, timeout, |open| open.streams.len() > n)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.streams.len() <= n
    }

    fn shutdown_sockets(&self, how: Shutdown) {
        for stream in self.connections().streams.values() {
            let _ = stream.shutdown(how);
        }
    }

    /// Whether the per-address limits (`max_per_ip`, `flood_limit`) apply to a client at `ip`.
    fn limits_apply_to(&self, ip: IpAddr) -> bool {
        self.config.limit_loopback || !ip.to_canonical().is_loopback()
    }
}

/// Held by both threads of a connection; when the last one ends, the connection is closed.
struct ConnectionGuard {
    id: ClientId,
    ip: IpAddr,
    shared: Arc<Shared>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut open = self.shared.connections();
        open.streams.remove(&self.id);
        if let Some(count) = open.per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.per_ip.remove(&self.ip);
            }
        }
        drop(open);
        self.shared.connection_closed.notify_all();
    }
}

// ---------------------------------------------------------------------------------------------
// The bound on file bytes in memory

/// The server-wide budget of `max_file_memory` bytes for files. A reader reserves a file's size
/// before reading its body; the reservation travels with the file to the broadcaster and into
/// the turn that carries it, and is given back when the last writer has sent it.
struct FileMemory {
    limit: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// Bytes taken from the file budget; given back on drop.
struct FileReservation {
    size: u64,
    memory: Arc<FileMemory>,
}

impl FileMemory {
    fn used(&self) -> MutexGuard<'_, u64> {
        self.used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits until `size` bytes fit in the budget and takes them. `None` if the server stops
    /// first. `size` is at most `max_file_size`, which `start` checks fits in the budget.
    fn reserve(self: &Arc<Self>, size: u64, stopping: &AtomicBool) -> Option<FileReservation> {
        let mut used = self.used();
        while *used + size > self.limit {
            if stopping.load(Ordering::SeqCst) {
                return None;
            }
            // Woken when memory is freed; the timeout only re-checks `stopping`.
            used = self
                .freed
                .wait_timeout(used, Duration::from_millis(200))
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        *used += size;
        Some(FileReservation {
            size,
            memory: Arc::clone(self),
        })
    }
}

impl FileReservation {
    /// Gives back what a file turned out not to need (a text-form file reserves the most a
    /// file may be).
    fn shrink_to(&mut self, size: u64) {
        if size < self.size {
            *self.memory.used() -= self.size - size;
            self.size = size;
            self.memory.freed.notify_all();
        }
    }
}

impl Drop for FileReservation {
    fn drop(&mut self) {
        *self.memory.used() -= self.size;
        self.memory.freed.notify_all();
    }
}

/// A running server, as returned by [`start`].
pub struct ServerHandle {
    addr: SocketAddr,
    shared: Arc<Shared>,
    events: Sender<Event>,
    acceptor: JoinHandle<()>,
    broadcaster: JoinHandle<()>,
}

/// Starts a server on an already bound listener and returns at once. Tests bind port 0 and read
/// the port from [`ServerHandle::local_addr`].
///
/// # Errors
/// When the limits contradict each other, the transcript cannot be opened or a thread cannot be
/// started.
pub fn start(listener: TcpListener, config: Config) -> Result<ServerHandle, ServerError> {
    check_config(&config)?;
    let addr = listener.local_addr()?;
    let transcript = Transcript::open(config.log.as_ref())?;
    let file_memory = Arc::new(FileMemory {
        limit: config.max_file_memory,
        used: Mutex::new(0),
        freed: Condvar::new(),
    });
    let shared = Arc::new(Shared {
        config,
        stopping: AtomicBool::new(false),
        connections: Mutex::new(Connections::default()),
        connection_closed: Condvar::new(),
        file_memory,
    });
    let (events, event_queue) = crossbeam_channel::bounded(EVENT_QUEUE);

    let broadcaster = Broadcaster {
        clients: BTreeMap::new(),
        names: HashSet::new(),
        transcript,
        turn: TurnBuilder::default(),
    };
    let broadcaster = thread::Builder::new()
        .name("broadcaster".into())
        .spawn(move || broadcaster.run(event_queue))?;

    let acceptor = {
        let shared = Arc::clone(&shared);
        let events = events.clone();
        thread::Builder::new()
            .name("acceptor".into())
            .spawn(move || accept_loop(listener, shared, events))?
    };
    Ok(ServerHandle {
        addr,
        shared,
        events,
        acceptor,
        broadcaster,
    })
}

/// Refuses limits that cannot work together.
fn check_config(config: &Config) -> Result<(), ServerError> {
    let fail = |why: String| Err(ServerError::Config(why));
    if config.max_file_memory < config.max_file_size {
        return fail(format!(
            "the file memory bound ({} bytes) is smaller than the largest file ({} bytes)",
            config.max_file_memory, config.max_file_size
        ));
    }
    if config.max_clients == 0 || config.max_per_ip == 0 || config.send_queue == 0 {
        return fail("max clients, max per IP and the send queue must be at least 1".into());
    }
    if let Some(flood) = config.flood_limit
        && (flood.burst == 0 || flood.per_second.is_nan() || flood.per_second <= 0.0)
    {
        return fail("the flood burst and rate must be above 0".into());
    }
    Ok(())
}

/// Runs a server on an already bound listener until it is stopped (which, from the command line,
/// means until the process is killed).
///
/// # Errors
/// As [`start`].
pub fn run(listener: TcpListener, config: Config) -> Result<(), ServerError> {
    start(listener, config)?.wait();
    Ok(())
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// How many connections are open, joined or not. A connection counts until both of its
    /// threads have ended.
    pub fn open_connections(&self) -> usize {
        self.shared.connections().streams.len()
    }

    /// Waits until at most `n` connections are open, at most `timeout`. True if that happened.
    pub fn wait_for_open_connections(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_for_open_connections(n, timeout)
    }

    /// Bytes of files now held in memory (received, or queued and not yet sent to everyone).
    pub fn file_memory_in_use(&self) -> u64 {
        *self.shared.file_memory.used()
    }

    /// Blocks for as long as the server accepts connections.
    pub fn wait(self) {
        let _ = self.acceptor.join();
    }

    /// Stops the server: no more connections, `[ERROR]:server is shutting down` to everyone,
    /// then every connection closed. Returns true when every client thread ended in time.
    pub fn shutdown(self) -> bool {
        self.shared.stopping.store(true, Ordering::SeqCst);
        self.shared.file_memory.freed.notify_all();
        // A blocking accept() cannot be interrupted; a connection to ourselves wakes it up.
        let _ = TcpStream::connect(wake_address(self.addr));
        let _ = self.acceptor.join();
        let _ = self.events.send(Event::Shutdown);
        let _ = self.broadcaster.join();

        // The goodbyes are queued and the queues closed; wake every reader so it ends too.
        self.shared.shutdown_sockets(Shutdown::Read);
        let grace = LINGER + Duration::from_secs(1);
        if self.shared.wait_for_open_connections(0, grace) {
            return true;
        }
        // Writers stuck on clients that do not read: cut them off.
        self.shared.shutdown_sockets(Shutdown::Both);
        self.shared.wait_for_open_connections(0, grace)
    }
}

/// Where to connect to reach a listener bound to `addr` (a wildcard address is reached over
/// loopback).
fn wake_address(addr: SocketAddr) -> SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into()),
            SocketAddr::V6(_) => addr.set_ip(std::net::Ipv6Addr::LOCALHOST.into()),
        }
    }
    addr
}

// ---------------------------------------------------------------------------------------------
// Accepting

fn accept_loop(listener: TcpListener, shared: Arc<Shared>, events: Sender<Event>) {
    let mut next_id: ClientId = 1;
    for stream in listener.incoming() {
        if shared.stopping.load(Ordering::SeqCst) {
            break;
        }
        let stream = match stream {
            Ok(stream) => stream,
            Err(error) => {
                // Usually out of file descriptors: wait a moment instead of spinning.
                log::warn!("accept failed: {error}");
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        };
        let id = next_id;
        next_id += 1;
        if let Err(error) = open_connection(id, stream, &shared, &events) {
            log::warn!("connection {id} could not be set up: {error}");
        }
    }
}

/// Registers a new connection and starts its reader and writer threads, or turns it away when
/// a connection limit is reached.
fn open_connection(
    id: ClientId,
    stream: TcpStream,
    shared: &Arc<Shared>,
    events: &Sender<Event>,
) -> io::Result<()> {
    let config = &shared.config;
    // Small frames must not wait for delayed ACKs.
    stream.set_nodelay(true)?;
    stream.set_write_timeout(Some(config.write_timeout))?;
    let ip = stream.peer_addr()?.ip();
    let limited = shared.limits_apply_to(ip);
    {
        let mut open = shared.connections();
        let from_ip = open.per_ip.get(&ip).copied().unwrap_or(0);
        let refusal = if open.streams.len() >= config.max_clients {
            Some("server full")
        } else if limited && from_ip >= config.max_per_ip {
            Some("too many connections from your address")
        } else {
            None
        };
        if let Some(why) = refusal {
            drop(open);
            log::warn!("{why}: turned away {ip}");
            let mut stream = stream;
            let _ = stream.write_all(&ServerFrame::Error(why.into()).encode());
            let _ = stream.shutdown(Shutdown::Write);
            return Ok(());
        }
        open.streams.insert(id, stream.try_clone()?);
        *open.per_ip.entry(ip).or_default() += 1;
    }
    log::debug!("connection {id} from {ip}");
    let guard = Arc::new(ConnectionGuard {
        id,
        ip,
        shared: Arc::clone(shared),
    });

    let (queue, queue_rx) = crossbeam_channel::unbounded();
    let outbound = Outbound {
        queue,
        queued: Arc::new(AtomicUsize::new(0)),
        limit: config.send_queue,
    };
    // The reader holds `reader_alive` until it ends; the writer waits on it while lingering.
    let (reader_alive, reader_done) = crossbeam_channel::bounded::<()>(0);

    let writer = Writer {
        id,
        stream: stream.try_clone()?,
        queue: queue_rx,
        queued: Arc::clone(&outbound.queued),
        reader_done,
        _guard: Arc::clone(&guard),
    };
    thread::Builder::new()
        .name(format!("client-{id}-writer"))
        .stack_size(CLIENT_STACK)
        .spawn(move || writer.run())?;

    let flood = match config.flood_limit {
        Some(limit) if limited => Some(TokenBucket::new(limit, Instant::now())),
        _ => None,
    };
    let reader = Box::new(Reader {
        id,
        stream,
        decoder: ClientFrameDecoder::new(config.max_line, config.max_file_size),
        outbound,
        events: events.clone(),
        shared: Arc::clone(shared),
        joined: false,
        buffer: vec![0; READ_BUFFER],
        flood,
        file_memory: None,
        _alive: reader_alive,
        _guard: guard,
    });
    thread::Builder::new()
        .name(format!("client-{id}-reader"))
        .stack_size(CLIENT_STACK)
        .spawn(move || reader.run())?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The reader: socket bytes -> frames -> events

/// Why a reader stopped reading.
#[derive(Debug)]
enum Ending {
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
type Item = Result<ClientFrame, FrameError>;

struct Reader {
    id: ClientId,
    stream: TcpStream,
    decoder: ClientFrameDecoder,
    /// This client's own queue, for the handshake and for `[ERROR]` answers.
    outbound: Outbound,
    events: Sender<Event>,
    shared: Arc<Shared>,
    joined: bool,
    /// Where socket reads land before the decoder takes them.
    buffer: Vec<u8>,
    /// Flood control, when it applies to this client.
    flood: Option<TokenBucket>,
    /// Memory reserved for the file being received, if any.
    file_memory: Option<FileReservation>,
    _alive: Sender<()>,
    _guard: Arc<ConnectionGuard>,
}

impl Reader {
    /// Boxed, so the thread's stack holds a pointer rather than the whole reader: an idle
    /// connection's stack stays a page smaller.
    fn run(mut self: Box<Self>) {
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
            .push_frame(&ServerFrame::Info(GREETING.into()))
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

    /// Reads usernames until one is accepted.
    fn handshake(&mut self) -> Result<(), Ending> {
        let timeout = self.shared.config.handshake_timeout;
        let deadline = Instant::now() + timeout;
        self.stream
            .set_read_timeout(Some(timeout))
            .map_err(|_| Ending::Closed)?;
        loop {
            let name = match self.read_frame(Some(deadline))? {
                Ok(ClientFrame::Text(name)) => name,
                Ok(ClientFrame::Empty) => continue,
                Ok(ClientFrame::Exit) => return Err(Ending::Exit),
                Ok(ClientFrame::File { .. }) => {
                    self.refuse("send your username before anything else".into())?;
                    continue;
                }
                Err(error) => {
                    self.refuse_frame(error)?;
                    continue;
                }
            };
            if let Err(why) = protocol::check_username(&name) {
                let rule = format!("1-{MAX_USERNAME_LEN} letters, digits, '_', '-' or '.'");
                self.refuse(format!("username refused: {why}; use {rule}"))?;
                continue;
            }
            match self.ask_to_join(&name)? {
                JoinAnswer::Welcome => return Ok(()),
                JoinAnswer::NameTaken => self.refuse(format!("username '{name}' is taken"))?,
                JoinAnswer::QueueFull => return Err(Ending::QueueFull),
            }
        }
    }

    /// Asks the broadcaster, which owns the list of names, whether `name` is free.
    fn ask_to_join(&mut self, name: &str) -> Result<JoinAnswer, Ending> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let join = Event::Join {
            id: self.id,
            name: name.to_owned(),
            outbound: self.outbound.clone(),
            reply,
        };
        let shutting_down = || Ending::Error("server is shutting down".into());
        self.events.send(join).map_err(|_| shutting_down())?;
        answer.recv().map_err(|_| shutting_down())
    }

    /// Acts on one frame (or one refusal) from a joined client.
    fn handle(&mut self, item: Item) -> Result<(), Ending> {
        let event = match item {
            Ok(ClientFrame::Text(text)) => Event::Message { id: self.id, text },
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
    fn refuse_frame(&mut self, error: FrameError) -> Result<(), Ending> {
        if error.is_fatal() {
            return Err(Ending::Error(error.to_string()));
        }
        self.refuse(error.to_string())
    }

    fn refuse(&mut self, why: String) -> Result<(), Ending> {
        Ok(self.outbound.push_frame(&ServerFrame::Error(why))?)
    }

    /// Reads until the decoder hands out a frame or a refusal, or until `deadline`. The socket's
    /// read timeout must already be set when there is a deadline.
    fn read_frame(&mut self, deadline: Option<Instant>) -> Result<Item, Ending> {
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

/// Flood control for one client: a token bucket holding up to `burst` tokens, refilled at
/// `per_second`. Each frame takes a token; a frame with none waits until one has grown back.
struct TokenBucket {
    limit: FloodLimit,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    fn new(limit: FloodLimit, now: Instant) -> TokenBucket {
        TokenBucket {
            limit,
            tokens: f64::from(limit.burst),
            last: now,
        }
    }

    /// Takes a token for a frame arriving at `now`; returns how long the frame must wait.
    fn take(&mut self, now: Instant) -> Duration {
        let grown = now.saturating_duration_since(self.last).as_secs_f64() * self.limit.per_second;
        self.tokens = (self.tokens + grown).min(f64::from(self.limit.burst)) - 1.0;
        self.last = now;
        if self.tokens >= 0.0 {
            Duration::ZERO
        } else {
            // The token is owed; after the wait it will have grown back.
            Duration::from_secs_f64(-self.tokens / self.limit.per_second)
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

// ---------------------------------------------------------------------------------------------
// The writer: outbound queue -> socket

struct Writer {
    id: ClientId,
    stream: TcpStream,
    queue: Receiver<Outgoing>,
    /// Shared with the `Outbound`: bytes queued and not yet written.
    queued: Arc<AtomicUsize>,
    reader_done: Receiver<()>,
    _guard: Arc<ConnectionGuard>,
}

impl Writer {
    fn run(mut self) {
        let mut last = false;
        while !last {
            // The queue closes when the broadcaster and the reader have both let go of it.
            let Ok(first) = self.queue.recv() else { break };
            // Everything already waiting goes out in the same write call. The list is made anew
            // each time, so an idle writer holds no buffer.
            let mut items = vec![first];
            items.extend(self.queue.try_iter().take(MAX_ITEMS_PER_WRITE - 1));
            let (written, closing) = match self.write(&items) {
                Ok(done) => done,
                Err(error) => {
                    // Gone, or not reading for `write_timeout`: wake the reader so it reports it.
                    log::debug!("write failed: {error}");
                    let _ = self.stream.shutdown(Shutdown::Both);
                    return;
                }
            };
            self.queued.fetch_sub(written, Ordering::Relaxed);
            last = closing;
        }
        // All said: send FIN, give the client a moment to close its end, then cut it off.
        let _ = self.stream.shutdown(Shutdown::Write);
        if let Err(RecvTimeoutError::Timeout) = self.reader_done.recv_timeout(LINGER) {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }

    /// Writes the frames of `items` meant for this client, up to and including a `Close`.
    /// Returns how many queued bytes that accounts for, and whether a `Close` was among them.
    fn write(&mut self, items: &[Outgoing]) -> io::Result<(usize, bool)> {
        let mut slices = Vec::new();
        let mut written = 0;
        let mut closing = false;
        for item in items {
            match item {
                Outgoing::Frame(line) => {
                    slices.push(IoSlice::new(line));
                    written += line.len();
                }
                Outgoing::Turn { turn, range, bytes } => {
                    let frames = &turn.frames[range.clone()];
                    for (from, frame) in frames {
                        if *from != self.id {
                            frame.add_to(&mut slices);
                        }
                    }
                    written += bytes;
                }
                Outgoing::Close(line) => {
                    slices.push(IoSlice::new(line));
                    written += line.len();
                    closing = true;
                    break;
                }
            }
        }
        write_all_vectored(&mut self.stream, &mut slices)?;
        Ok((written, closing))
    }
}

/// Writes every slice, in order, with as few system calls as it can.
fn write_all_vectored(stream: &mut TcpStream, mut slices: &mut [IoSlice<'_>]) -> io::Result<()> {
    while !slices.is_empty() {
        match stream.write_vectored(slices) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => IoSlice::advance_slices(&mut slices, n),
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The broadcaster: events -> outbound queues

struct Client {
    name: String,
    outbound: Outbound,
    /// Where this client's share of the turn being built starts (it may join mid-turn).
    since: usize,
}

/// The turn being built: the frames routed so far, and what each client's share will be.
#[derive(Default)]
struct TurnBuilder {
    frames: Vec<(ClientId, Encoded)>,
    /// `ends[i]`: what `frames[..=i]` count for in a queue (see `Encoded::queued_len`), so any
    /// share's count is one subtraction.
    ends: Vec<usize>,
    files: Vec<FileReservation>,
    /// How many bytes of this turn each client sent (they are not sent back to it).
    sent: HashMap<ClientId, usize>,
    /// Clients that left during the turn, with their share so far.
    departed: Vec<(ClientId, Outbound, Range<usize>)>,
}

/// Owns the list of joined clients and decides who gets what.
struct Broadcaster {
    /// Joined clients by id; ids grow, so this is the order in which they connected.
    clients: BTreeMap<ClientId, Client>,
    /// Lower-cased names of the joined clients: names are unique regardless of case.
    names: HashSet<String>,
    transcript: Transcript,
    turn: TurnBuilder,
}

impl Broadcaster {
    /// The loop at the heart of the server. It takes events one at a time, in one global order,
    /// routing each frame into the current turn; when no more events are waiting (or the turn is
    /// full), every client gets its share of the turn in one queue item.
    fn run(mut self, events: Receiver<Event>) {
        // Whether the last turn held more than one event: a burst is on.
        let mut burst = false;
        'events: while let Ok(event) = events.recv() {
            // A turn with a join, or during a burst, waits a moment for more events (see
            // `JOIN_GATHER` and `BURST_GATHER`); a lone message in a quiet chat goes out at once.
            let started = Instant::now();
            let mut gather_until = None;
            let mut handled = 0;
            let mut next = Some(event);
            while let Some(event) = next {
                let wait = match event {
                    Event::Join { .. } => Some(JOIN_GATHER),
                    _ if burst || handled > 0 => Some(BURST_GATHER),
                    _ => None,
                };
                gather_until = gather_until.max(wait.map(|wait| started + wait));
                handled += 1;
                if !self.handle(event) {
                    break 'events;
                }
                next = match (self.turn.frames.len() < MAX_TURN, gather_until) {
                    (false, _) => None,
                    (true, None) => events.try_recv().ok(),
                    (true, Some(until)) => events.recv_deadline(until).ok(),
                };
            }
            burst = handled > 1;
            self.end_turn();
        }
        self.end_turn();
        // Each writer sends what is queued, then the goodbye, then closes its connection.
        let goodbye = ServerFrame::Error("server is shutting down".into());
        for client in self.clients.values() {
            client.outbound.close_with(&goodbye);
        }
    }

    /// Routes one event. False for `Shutdown`.
    fn handle(&mut self, event: Event) -> bool {
        match event {
            Event::Join {
                id,
                name,
                outbound,
                reply,
            } => {
                let answer = self.join(id, name, outbound);
                let _ = reply.send(answer);
            }
            Event::Message { id, text } => {
                if let Some(from) = self.name_of(id) {
                    self.transcript.record(&format!("{from}: {text}"));
                    self.route(id, ServerFrame::Message { from, text });
                }
            }
            Event::File {
                id,
                name,
                data,
                memory,
            } => {
                if let Some(from) = self.name_of(id) {
                    log::info!("[Notification] File '{name}' transferred.");
                    let size = data.len();
                    let line = format!("[Notification] File '{name}' ({size} bytes) from {from}.");
                    self.transcript.record(&line);
                    self.route(id, ServerFrame::File { from, name, data });
                    self.turn.files.push(memory);
                }
            }
            Event::Leave { id } => self.remove(id),
            Event::Shutdown => return false,
        }
        true
    }

    fn name_of(&self, id: ClientId) -> Option<String> {
        // None when the client was dropped while its frame was on the way.
        self.clients.get(&id).map(|client| client.name.clone())
    }

    /// Adds a client under `name` unless the name is taken in any case.
    fn join(&mut self, id: ClientId, name: String, outbound: Outbound) -> JoinAnswer {
        if self.names.contains(&name.to_ascii_lowercase()) {
            return JoinAnswer::NameTaken;
        }
        let mut users: Vec<&str> = self.clients.values().map(|c| c.name.as_str()).collect();
        // In connection order, the new user too: who connected earlier may join later.
        users.insert(self.clients.range(..id).count(), &name);
        let users = users.into_iter().map(String::from).collect();
        let welcome = outbound
            .push_frame(&ServerFrame::Welcome(name.clone()))
            .and_then(|()| outbound.push_frame(&ServerFrame::Users(users)));
        if welcome.is_err() {
            return JoinAnswer::QueueFull;
        }
        self.names.insert(name.to_ascii_lowercase());
        let since = self.turn.frames.len();
        let client = Client {
            name: name.clone(),
            outbound,
            since,
        };
        self.clients.insert(id, client);
        log::info!("[+] {name} is connected.");
        self.transcript
            .record(&format!("{name} has joined the chat room."));
        self.route(id, ServerFrame::Join(name));
        JoinAnswer::Welcome
    }

    /// Removes a client, if it is still here, and tells the others. It still gets what was
    /// routed to it earlier in this turn.
    fn remove(&mut self, id: ClientId) {
        if let Some(client) = self.forget(id) {
            let share = client.since..self.turn.frames.len();
            self.turn.departed.push((id, client.outbound, share));
            self.route(id, ServerFrame::Leave(client.name));
        }
    }

    fn forget(&mut self, id: ClientId) -> Option<Client> {
        let client = self.clients.remove(&id)?;
        self.names.remove(&client.name.to_ascii_lowercase());
        log::info!("[-] {} is disconnected.", client.name);
        self.transcript
            .record(&format!("{} has left the chat.", client.name));
        Some(client)
    }

    /// Adds `frame` to this turn, for every joined client but `from`. Encoded once, shared by
    /// every queue.
    fn route(&mut self, from: ClientId, frame: ServerFrame) {
        let turn = &mut self.turn;
        let frame = Encoded::new(frame);
        let len = frame.queued_len();
        turn.ends.push(turn.ends.last().copied().unwrap_or(0) + len);
        turn.frames.push((from, frame));
        *turn.sent.entry(from).or_default() += len;
    }

    /// Gives every client its share of the turn in one queue item. A client whose queue would
    /// overflow is dropped, and the others are told with `[LEAVE]` in a new turn (which may in
    /// turn overflow someone else).
    fn end_turn(&mut self) {
        while !self.turn.frames.is_empty() {
            let built = std::mem::take(&mut self.turn);
            let len = built.frames.len();
            let turn = Arc::new(Turn {
                frames: built.frames,
                _files: built.files,
            });
            let mut overflowed = Vec::new();
            let bytes_before = |i: usize| if i == 0 { 0 } else { built.ends[i - 1] };
            for (&id, client) in &mut self.clients {
                let share = client.since..len;
                client.since = 0;
                // What the client sent in this turn came after it joined, so is in its share.
                let own = built.sent.get(&id).copied().unwrap_or(0);
                let bytes = bytes_before(len) - bytes_before(share.start) - own;
                if bytes > 0 && share_to(&client.outbound, &turn, share, bytes).is_err() {
                    overflowed.push(id);
                }
            }
            for (id, outbound, share) in built.departed {
                let bytes: usize = turn.frames[share.clone()]
                    .iter()
                    .filter(|(from, _)| *from != id)
                    .map(|(_, frame)| frame.queued_len())
                    .sum();
                if bytes > 0 {
                    let _ = share_to(&outbound, &turn, share, bytes);
                }
            }
            for id in overflowed {
                log::warn!("dropping client {id}: send queue exceeded");
                if let Some(client) = self.forget(id) {
                    self.route(id, ServerFrame::Leave(client.name));
                }
            }
        }
    }
}

/// Queues a client's share of a turn.
fn share_to(
    outbound: &Outbound,
    turn: &Arc<Turn>,
    range: Range<usize>,
    bytes: usize,
) -> Result<(), QueueFull> {
    let turn = Arc::clone(turn);
    outbound.push(Outgoing::Turn { turn, range, bytes }, bytes)
}

// ---------------------------------------------------------------------------------------------
// The transcript

/// The chat's transcript (`--log`): one timestamped line per join, leave, message and file,
/// written with one system call each, so a killed server loses none it has relayed.
struct Transcript {
    file: Option<File>,
}

impl Transcript {
    fn open(path: Option<&PathBuf>) -> Result<Transcript, ServerError> {
        let file = match path {
            None => None,
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| ServerError::Log {
                        path: path.clone(),
                        source,
                    })?,
            ),
        };
        Ok(Transcript { file })
    }

    fn record(&mut self, line: &str) {
        let Some(file) = &mut self.file else { return };
        let line = format!("{} {line}\n", utc_timestamp(SystemTime::now()));
        if let Err(error) = file.write_all(line.as_bytes()) {
            log::warn!("cannot write the transcript: {error}");
        }
    }
}

/// Formats a time as `2026-11-26T10:37:46Z` (UTC), without a date crate.
fn utc_timestamp(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (rest / 3600, rest / 60 % 60, rest % 60);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_dates() {
        let at = |secs| utc_timestamp(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_689_466), "2026-11-26T10:37:46Z");
    }

    #[test]
    fn token_bucket_lets_a_burst_through_then_paces_frames() {
        let limit = FloodLimit {
            burst: 3,
            per_second: 2.0,
        };
        let start = Instant::now();
        let mut bucket = TokenBucket::new(limit, start);
        for _ in 0..3 {
            assert_eq!(bucket.take(start), Duration::ZERO);
        }
        // The fourth frame at once waits for one token: half a second.
        assert_eq!(bucket.take(start), Duration::from_millis(500));
        // It waited; the frame after it waits another half second.
        let later = start + Duration::from_millis(500);
        assert_eq!(bucket.take(later), Duration::from_millis(500));
        // After a long pause the bucket is full again, but no fuller than the burst.
        let much_later = later + Duration::from_secs(60);
        for _ in 0..3 {
            assert_eq!(bucket.take(much_later), Duration::ZERO);
        }
        assert!(bucket.take(much_later) > Duration::ZERO);
    }

    #[test]
    fn wildcard_listener_is_woken_over_loopback() {
        let addr: SocketAddr = "0.0.0.0:4000".parse().unwrap();
        assert_eq!(wake_address(addr), "127.0.0.1:4000".parse().unwrap());
    }
}
