//! The server: it accepts connections, runs one reader and one writer thread per client, and one
//! broadcaster thread that owns the client list.
//!
//! The data flows one way:
//!
//! ```text
//!            accept.rs            reader.rs                  broadcaster.rs
//! listener ------------> socket --------------> Event ----------------------> Turn
//!          (admission.rs)   bytes -> ClientFrame     (one channel, one order)   (turn.rs: who
//!                           (handshake.rs, flood.rs,                             gets which frame)
//!                            file_memory.rs)                                        |
//!                                                                                   v
//!                      socket <-------------- writer.rs <------------- each client's queue.rs
//! ```
//!
//! The broadcaster never touches a socket and never waits for a client: it only pushes into
//! outbound queues, and a client whose queue is full is dropped. So one slow or stuck client can
//! never delay anybody else. Every order decision is the broadcaster's, which is why all clients
//! see messages in the same order. It works in turns: it routes every event already waiting,
//! then gives each client its share of the turn as one queue item, so under load each writer
//! wakes once per turn rather than once per message.
//!
//! A connection's socket is behind a [`transport`](crate::transport): the reader holds its read
//! half, the writer its write half, and the table of open connections a closer, so the same
//! threads serve plain TCP and (with the `tls` feature) TLS.
//!
//! Two optional features add to the handshake, each behind one seam: `tls` (the listener
//! speaks only TLS: `securing.rs` shakes hands before the greeting) and `accounts` (a
//! registered name must give its password: `login.rs`).
//!
//! Who may connect at all is the access rules' decision (`access.rs`, `--allow` and `--deny`),
//! taken before a connection counts against any limit.
//!
//! Every resource has a bound, all in [`Config`]: connections (in all and per address), each
//! outbound queue (counting all it keeps in memory), the time to join and to stay silent, how
//! fast a client may send (the reader sleeps when it floods, from its first byte), the bytes of
//! files held in memory (a file that does not fit is refused at once, so nobody waits for
//! room), and how long a file may take in and out. Every wait has a deadline.
//!
//! Beside the data path: commands from clients (`commands.rs`: `/users`, `/msg`, `/help`,
//! `/files`), the history a newcomer gets (`history.rs`), and the operator's console
//! (`console.rs`), which asks the broadcaster like any reader does.
//!
//! Reading order, following the data: `config.rs` (every limit), `accept.rs`, `admission.rs`
//! and `access.rs` (a connection arrives, or is turned away: `turned_away.rs`), `securing.rs`
//! (the TLS handshake, with `tls.rs`: the certificate), `reader.rs` and `handshake.rs` (bytes to
//! events), `login.rs` (a name's password, with `accounts.rs`, `passwords.rs` and
//! `password_login.rs`), `flood.rs`, `receiving.rs`, `file_memory.rs` and `transfer.rs` (what
//! slows a reader down or stops it), `commands.rs` and `event.rs` (what readers ask),
//! `broadcaster.rs`, `history.rs` and `turn.rs` (who gets what), `queue.rs` and `writer.rs` (back
//! out to the socket), `transcript.rs` and `log_budget.rs` (what is written down), `console.rs`,
//! and `stop.rs` (how it all ends).

mod accept;
mod access;
#[cfg(feature = "accounts")]
mod accounts;
mod admission;
mod broadcaster;
mod commands;
mod config;
mod console;
mod event;
mod file_memory;
mod flood;
mod handshake;
mod history;
mod log_budget;
mod login;
#[cfg(feature = "accounts")]
mod password_login;
#[cfg(feature = "accounts")]
mod passwords;
mod queue;
mod reader;
mod receiving;
mod securing;
mod stop;
#[cfg(feature = "tls")]
mod tls;
mod transcript;
mod transfer;
mod turn;
mod turned_away;
mod writer;

use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

pub use access::{AccessRules, Cidr, CidrError, Rule};
#[cfg(feature = "accounts")]
pub use accounts::{AccountFile, Accounts, AccountsError, add_account};
pub use config::{Config, FloodLimit, MIN_FLOOD_RATE, ServerError};
pub use console::{
    CONSOLE_HELP, Console, ConsoleCommand, ConsoleError, ConsoleReply, OnlineUser, show_users,
};
pub use stop::Stopper;
#[cfg(feature = "tls")]
pub use tls::{TlsError, TlsIdentity};

use admission::OpenConnections;
use broadcaster::Broadcaster;
use file_memory::FileMemory;
use log_budget::LogBudget;
use stop::Stopping;
use transcript::Transcript;

/// Each connection's id, in the order they were accepted.
type ClientId = u64;

/// The greeting every new connection gets.
const GREETING: &str =
    "Welcome to chat. Please enter your username (1-32 letters, digits, '_', '-' or '.').";
/// Events waiting for the broadcaster at most; readers wait when it is full.
const EVENT_QUEUE: usize = 1024;

/// What the acceptor, the readers, the writers and the handle share.
struct Shared {
    config: Config,
    stopping: Stopping,
    connections: OpenConnections,
    file_memory: Arc<FileMemory>,
    /// What the server's log may take, so a flood of clients cannot flood it.
    log_budget: LogBudget,
    /// Accounts and their bounds' state, when the server has accounts.
    #[cfg(feature = "accounts")]
    logins: Option<password_login::Logins>,
}

impl Shared {
    /// Whether the per-address limits (`max_per_ip`, `flood_limit`) apply to a client at `ip`.
    fn limits_apply_to(&self, ip: IpAddr) -> bool {
        self.config.limit_loopback || !ip.to_canonical().is_loopback()
    }
}

/// A running server, as returned by [`start`]. Dropping it stops the server.
pub struct ServerHandle {
    stopper: Stopper,
    acceptor: Option<JoinHandle<()>>,
    broadcaster: Option<JoinHandle<()>>,
}

/// Starts a server on an already bound listener and returns at once. Tests bind port 0 and read
/// the port from [`ServerHandle::local_addr`].
///
/// # Errors
/// When the limits contradict each other, the transcript cannot be opened or a thread cannot be
/// started.
pub fn start(listener: TcpListener, config: Config) -> Result<ServerHandle, ServerError> {
    config.check()?;
    let addr = listener.local_addr()?;
    let transcript = Transcript::open(config.log.as_ref())?;
    let shared = Arc::new(Shared {
        file_memory: Arc::new(FileMemory::new(config.max_file_memory)),
        #[cfg(feature = "accounts")]
        logins: config.accounts.clone().map(password_login::Logins::new),
        config,
        stopping: Stopping::default(),
        connections: OpenConnections::default(),
        log_budget: LogBudget::new(),
    });
    let (events, event_queue) = crossbeam_channel::bounded(EVENT_QUEUE);

    let broadcaster = Broadcaster::new(transcript, shared.config.history);
    let broadcaster = thread::Builder::new()
        .name("broadcaster".into())
        .spawn(move || broadcaster.run(event_queue))?;

    let acceptor = {
        let shared = Arc::clone(&shared);
        let events = events.clone();
        thread::Builder::new()
            .name("acceptor".into())
            .spawn(move || accept::accept_loop(listener, shared, events))?
    };
    Ok(ServerHandle {
        stopper: Stopper {
            addr,
            shared,
            events,
        },
        acceptor: Some(acceptor),
        broadcaster: Some(broadcaster),
    })
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.stopper.addr
    }

    /// A value that stops this server from anywhere (another thread, a console).
    pub fn stopper(&self) -> Stopper {
        self.stopper.clone()
    }

    /// The operator's console of this server: who is online, kick, say, shut down.
    pub fn console(&self) -> Console {
        Console {
            events: self.stopper.events.clone(),
            stopper: self.stopper.clone(),
            max_line: self.stopper.shared.config.max_line,
        }
    }

    /// How many connections are open, joined or not. A connection counts until both of its
    /// threads have ended.
    pub fn open_connections(&self) -> usize {
        self.stopper.shared.connections.count()
    }

    /// Waits until at most `n` connections are open, at most `timeout`. True if that happened.
    pub fn wait_for_open_connections(&self, n: usize, timeout: Duration) -> bool {
        self.stopper.shared.connections.wait_for_at_most(n, timeout)
    }

    /// Bytes of files now held in memory (received, or queued and not yet sent to everyone).
    pub fn file_memory_in_use(&self) -> u64 {
        self.stopper.shared.file_memory.used()
    }

    /// Blocks for as long as the server accepts connections: until a [`Stopper`] stops it. Then
    /// finishes the stop as [`shutdown`](Self::shutdown) does.
    pub fn wait(mut self) {
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        self.finish_stop();
    }

    /// Stops the server: no more connections, `[ERROR]:server is shutting down` to everyone,
    /// then every connection closed. Returns true when every client thread ended in time.
    pub fn shutdown(mut self) -> bool {
        self.stopper.stop();
        self.finish_stop()
    }

    /// After a stop was asked for: waits for the acceptor and the broadcaster, then for every
    /// connection to close, cutting off those that do not. Does nothing the second time.
    fn finish_stop(&mut self) -> bool {
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
        let Some(broadcaster) = self.broadcaster.take() else {
            return true;
        };
        let _ = broadcaster.join();
        self.close_connections()
    }

    fn close_connections(&self) -> bool {
        let connections = &self.stopper.shared.connections;
        // The goodbyes are queued and the queues closed; wake every reader so it ends too.
        connections.shutdown_all(Shutdown::Read);
        let grace = writer::LINGER + Duration::from_secs(1);
        if connections.wait_for_at_most(0, grace) {
            return true;
        }
        // Writers stuck on clients that do not read: cut them off.
        connections.shutdown_all(Shutdown::Both);
        connections.wait_for_at_most(0, grace)
    }
}

impl Drop for ServerHandle {
    /// A handle dropped without `shutdown` or `wait` stops the server the same way.
    fn drop(&mut self) {
        if self.broadcaster.is_some() {
            self.stopper.stop();
            self.finish_stop();
        }
    }
}
