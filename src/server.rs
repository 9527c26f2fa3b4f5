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
//! see messages in the same order.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
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
    /// Frames waiting in one client's outbound queue at most; past it the client is dropped.
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
            send_queue: 1024,
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
/// Read buffer of a reader thread, in bytes.
const READ_BUFFER: usize = 8 * 1024;
/// Frames a writer gathers into one write call at most.
const MAX_BATCH: usize = 256;
/// How long a writer that said goodbye waits for its client to close before cutting it off.
const LINGER: Duration = Duration::from_secs(2);
/// Stack of each client thread; they keep their buffers on the heap.
const CLIENT_STACK: usize = 128 * 1024;
/// Events waiting for the broadcaster at most; readers wait when it is full.
const EVENT_QUEUE: usize = 1024;

type ClientId = u64;

/// One encoded frame, shared by every queue it is pushed into rather than copied.
type Bytes = Arc<[u8]>;

/// What a writer takes from its client's outbound queue.
enum Outgoing {
    /// A frame to send.
    Frame(Bytes),
    /// The last frame: send it, then close the connection (the client is being dropped).
    Close(Bytes),
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
    /// A whole file from a joined client.
    File {
        id: ClientId,
        name: String,
        data: Vec<u8>,
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

/// The sending end of one client's outbound queue. The queue is a crossbeam channel whose length
/// is checked against `limit` before each push: this bounds it like `bounded(limit)` would, but an
/// idle client's queue costs no memory.
#[derive(Clone)]
struct Outbound {
    queue: Sender<Outgoing>,
    limit: usize,
}

/// The client's outbound queue is full: it has fallen `limit` frames behind.
#[derive(Debug)]
struct QueueFull;

impl Outbound {
    /// Queues a frame without ever waiting. When the queue is full the frame is not queued; the
    /// client gets `[ERROR]:send queue exceeded` as its last frame instead and must be dropped.
    fn push(&self, frame: Bytes) -> Result<(), QueueFull> {
        if self.queue.len() >= self.limit {
            self.close_with(&ServerFrame::Error("send queue exceeded".into()));
            return Err(QueueFull);
        }
        // A closed queue means the writer has ended: the client is leaving, and its reader
        // reports that to the broadcaster. Nothing to do here.
        let _ = self.queue.send(Outgoing::Frame(frame));
        Ok(())
    }

    fn push_frame(&self, frame: &ServerFrame) -> Result<(), QueueFull> {
        self.push(frame.encode().into())
    }

    /// Queues a last frame (past the limit: it says why the connection ends), after which the
    /// writer closes the connection.
    fn close_with(&self, frame: &ServerFrame) {
        let _ = self.queue.send(Outgoing::Close(frame.encode().into()));
    }
}

/// What the acceptor, the readers and the handle share.
struct Shared {
    config: Config,
    stopping: AtomicBool,
    /// Every open connection, joined or not, for `max_clients` and for shutdown.
    connections: Mutex<HashMap<ClientId, TcpStream>>,
    /// Signalled each time a connection closes.
    connection_closed: Condvar,
}

impl Shared {
    fn connections(&self) -> MutexGuard<'_, HashMap<ClientId, TcpStream>> {
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
            .wait_timeout_while(guard, timeout, |open| open.len() > n)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        guard.len() <= n
    }

    fn shutdown_sockets(&self, how: Shutdown) {
        for stream in self.connections().values() {
            let _ = stream.shutdown(how);
        }
    }
}

/// Held by both threads of a connection; when the last one ends, the connection is closed.
struct ConnectionGuard {
    id: ClientId,
    shared: Arc<Shared>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared.connections().remove(&self.id);
        self.shared.connection_closed.notify_all();
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
/// When the transcript cannot be opened or a thread cannot be started.
pub fn start(listener: TcpListener, config: Config) -> Result<ServerHandle, ServerError> {
    let addr = listener.local_addr()?;
    let transcript = Transcript::open(config.log.as_ref())?;
    let shared = Arc::new(Shared {
        config,
        stopping: AtomicBool::new(false),
        connections: Mutex::new(HashMap::new()),
        connection_closed: Condvar::new(),
    });
    let (events, event_queue) = crossbeam_channel::bounded(EVENT_QUEUE);

    let broadcaster = Broadcaster {
        clients: BTreeMap::new(),
        names: HashSet::new(),
        transcript,
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
        self.shared.connections().len()
    }

    /// Waits until at most `n` connections are open, at most `timeout`. True if that happened.
    pub fn wait_for_open_connections(&self, n: usize, timeout: Duration) -> bool {
        self.shared.wait_for_open_connections(n, timeout)
    }

    /// Blocks for as long as the server accepts connections.
    pub fn wait(self) {
        let _ = self.acceptor.join();
    }

    /// Stops the server: no more connections, `[ERROR]:server is shutting down` to everyone,
    /// then every connection closed. Returns true when every client thread ended in time.
    pub fn shutdown(self) -> bool {
        self.shared.stopping.store(true, Ordering::SeqCst);
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
/// the server is full.
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
    {
        let mut open = shared.connections();
        if open.len() >= config.max_clients {
            drop(open);
            log::warn!("server full: turned away {:?}", stream.peer_addr());
            let mut stream = stream;
            let _ = stream.write_all(&ServerFrame::Error("server full".into()).encode());
            let _ = stream.shutdown(Shutdown::Write);
            return Ok(());
        }
        open.insert(id, stream.try_clone()?);
    }
    log::debug!("connection {id} from {:?}", stream.peer_addr());
    let guard = Arc::new(ConnectionGuard {
        id,
        shared: Arc::clone(shared),
    });

    let (queue, queue_rx) = crossbeam_channel::unbounded();
    let outbound = Outbound {
        queue,
        limit: config.send_queue,
    };
    // The reader holds `reader_alive` until it ends; the writer waits on it while lingering.
    let (reader_alive, reader_done) = crossbeam_channel::bounded::<()>(0);

    let writer = Writer {
        stream: stream.try_clone()?,
        queue: queue_rx,
        reader_done,
        _guard: Arc::clone(&guard),
    };
    thread::Builder::new()
        .name(format!("client-{id}-writer"))
        .stack_size(CLIENT_STACK)
        .spawn(move || writer.run())?;

    let reader = Reader {
        id,
        stream,
        decoder: ClientFrameDecoder::new(config.max_line, config.max_file_size),
        outbound,
        events: events.clone(),
        shared: Arc::clone(shared),
        joined: false,
        buffer: vec![0; READ_BUFFER],
        _alive: reader_alive,
        _guard: guard,
    };
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
    _alive: Sender<()>,
    _guard: Arc<ConnectionGuard>,
}

impl Reader {
    fn run(mut self) {
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
        } = self;
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
        if let Err(ending) = self.handshake() {
            return ending;
        }
        self.joined = true;
        loop {
            let item = match self.read_frame(None) {
                Ok(item) => item,
                Err(ending) => return ending,
            };
            if let Err(ending) = self.handle(item) {
                return ending;
            }
        }
    }

    /// Reads usernames until one is accepted.
    fn handshake(&mut self) -> Result<(), Ending> {
        let timeout = self.shared.config.handshake_timeout;
        let deadline = Instant::now() + timeout;
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
                JoinAnswer::Welcome => {
                    // From now on a client may be quiet for as long as it likes.
                    let _ = self.stream.set_read_timeout(None);
                    return Ok(());
                }
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
    fn handle(&mut self, item: Result<ClientFrame, FrameError>) -> Result<(), Ending> {
        let event = match item {
            Ok(ClientFrame::Text(text)) => Event::Message { id: self.id, text },
            Ok(ClientFrame::File { name, data }) => Event::File {
                id: self.id,
                name,
                data,
            },
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

    /// Reads until the decoder hands out a frame or a refusal. With a deadline (the handshake),
    /// reaching it ends the connection.
    fn read_frame(
        &mut self,
        deadline: Option<Instant>,
    ) -> Result<Result<ClientFrame, FrameError>, Ending> {
        loop {
            if let Some(item) = self.decoder.next_frame() {
                return Ok(item);
            }
            if let Some(deadline) = deadline {
                let left = deadline.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    let secs = self.shared.config.handshake_timeout.as_secs_f64();
                    return Err(Ending::Error(format!("no username within {secs} s")));
                }
                self.stream
                    .set_read_timeout(Some(left))
                    .map_err(|_| Ending::Closed)?;
            }
            match self.stream.read(&mut self.buffer) {
                Ok(0) => return Err(self.closed()),
                Ok(n) => self.decoder.feed(&self.buffer[..n]),
                Err(error)
                    if matches!(
                        error.kind(),
                        io::ErrorKind::Interrupted
                            | io::ErrorKind::WouldBlock
                            | io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return Err(self.closed()),
            }
        }
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

// ---------------------------------------------------------------------------------------------
// The writer: outbound queue -> socket

struct Writer {
    stream: TcpStream,
    queue: Receiver<Outgoing>,
    reader_done: Receiver<()>,
    _guard: Arc<ConnectionGuard>,
}

impl Writer {
    fn run(mut self) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        let mut last = false;
        while !last {
            // The queue closes when the broadcaster and the reader have both let go of it.
            let Ok(first) = self.queue.recv() else { break };
            // Everything already waiting goes out in the same write call.
            let waiting = self.queue.try_iter().take(MAX_BATCH - 1);
            for item in std::iter::once(first).chain(waiting) {
                match item {
                    Outgoing::Frame(frame) => batch.push(frame),
                    Outgoing::Close(frame) => {
                        batch.push(frame);
                        last = true;
                        break;
                    }
                }
            }
            if let Err(error) = write_all_vectored(&mut self.stream, &batch) {
                // Gone, or not reading for `write_timeout`: wake the reader so it reports it.
                log::debug!("write failed: {error}");
                let _ = self.stream.shutdown(Shutdown::Both);
                return;
            }
            batch.clear();
        }
        // All said: send FIN, give the client a moment to close its end, then cut it off.
        let _ = self.stream.shutdown(Shutdown::Write);
        if let Err(RecvTimeoutError::Timeout) = self.reader_done.recv_timeout(LINGER) {
            let _ = self.stream.shutdown(Shutdown::Both);
        }
    }
}

/// Writes every frame in `frames`, in order, with as few system calls as it can.
fn write_all_vectored(stream: &mut TcpStream, frames: &[Bytes]) -> io::Result<()> {
    let mut slices: Vec<IoSlice<'_>> = frames.iter().map(|f| IoSlice::new(f)).collect();
    let mut slices = &mut slices[..];
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
}

/// Owns the list of joined clients and decides who gets what.
struct Broadcaster {
    /// Joined clients by id; ids grow, so this is the order in which they connected.
    clients: BTreeMap<ClientId, Client>,
    /// Lower-cased names of the joined clients: names are unique regardless of case.
    names: HashSet<String>,
    transcript: Transcript,
}

impl Broadcaster {
    /// The loop at the heart of the server: one event at a time, in one global order.
    fn run(mut self, events: Receiver<Event>) {
        for event in events {
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
                    let Some(from) = self.name_of(id) else {
                        continue;
                    };
                    self.transcript.record(&format!("{from}: {text}"));
                    self.broadcast(id, ServerFrame::Message { from, text });
                }
                Event::File { id, name, data } => {
                    let Some(from) = self.name_of(id) else {
                        continue;
                    };
                    log::info!("[Notification] File '{name}' transferred.");
                    let size = data.len();
                    let line = format!("[Notification] File '{name}' ({size} bytes) from {from}.");
                    self.transcript.record(&line);
                    self.broadcast(id, ServerFrame::File { from, name, data });
                }
                Event::Leave { id } => self.remove(id),
                Event::Shutdown => break,
            }
        }
        // Each writer sends what is queued, then the goodbye, then closes its connection.
        let goodbye = ServerFrame::Error("server is shutting down".into());
        for client in self.clients.values() {
            client.outbound.close_with(&goodbye);
        }
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
        let mut users: Vec<String> = self.clients.values().map(|c| c.name.clone()).collect();
        // In connection order, the new user too: who connected earlier may join later.
        users.insert(self.clients.range(..id).count(), name.clone());
        let welcome = outbound
            .push_frame(&ServerFrame::Welcome(name.clone()))
            .and_then(|()| outbound.push_frame(&ServerFrame::Users(users)));
        if welcome.is_err() {
            return JoinAnswer::QueueFull;
        }
        self.names.insert(name.to_ascii_lowercase());
        self.clients.insert(
            id,
            Client {
                name: name.clone(),
                outbound,
            },
        );
        log::info!("[+] {name} is connected.");
        self.transcript
            .record(&format!("{name} has joined the chat room."));
        self.broadcast(id, ServerFrame::Join(name));
        JoinAnswer::Welcome
    }

    /// Removes a client, if it is still here, and tells the others.
    fn remove(&mut self, id: ClientId) {
        if let Some(name) = self.forget(id) {
            self.broadcast(id, ServerFrame::Leave(name));
        }
    }

    fn forget(&mut self, id: ClientId) -> Option<String> {
        let client = self.clients.remove(&id)?;
        self.names.remove(&client.name.to_ascii_lowercase());
        log::info!("[-] {} is disconnected.", client.name);
        self.transcript
            .record(&format!("{} has left the chat.", client.name));
        Some(client.name)
    }

    /// Sends `frame` to every joined client but `from`. A client whose queue is full is dropped,
    /// and the others are told with `[LEAVE]` (which may in turn overflow someone else).
    fn broadcast(&mut self, from: ClientId, frame: ServerFrame) {
        let mut pending = VecDeque::from([(from, frame)]);
        while let Some((from, frame)) = pending.pop_front() {
            // Encoded once, shared by every queue.
            let bytes: Bytes = frame.encode().into();
            let mut overflowed = Vec::new();
            for (&id, client) in &self.clients {
                if id != from && client.outbound.push(Arc::clone(&bytes)).is_err() {
                    overflowed.push(id);
                }
            }
            for id in overflowed {
                log::warn!("dropping client {id}: send queue exceeded");
                if let Some(name) = self.forget(id) {
                    pending.push_back((id, ServerFrame::Leave(name)));
                }
            }
        }
    }
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
    fn wildcard_listener_is_woken_over_loopback() {
        let addr: SocketAddr = "0.0.0.0:4000".parse().unwrap();
        assert_eq!(wake_address(addr), "127.0.0.1:4000".parse().unwrap());
    }
}
