//! What the readers tell the broadcaster, over one bounded channel: the broadcaster takes these
//! one at a time, and that order is the one global order every client sees.

use std::net::SocketAddr;
use std::time::Instant;

use crossbeam_channel::Sender;

use super::ClientId;
use super::console::ConsoleRequest;
use super::file_memory::FileReservation;
use super::queue::Outbound;
use crate::protocol::ServerFrame;

#[derive(Debug)]
pub(super) enum Event {
    /// A client asks to join under `name`; the answer goes to `reply`.
    Join {
        id: ClientId,
        name: String,
        /// Where it connected from, and when: for the console's `/users`.
        peer: SocketAddr,
        connected_at: Instant,
        outbound: Outbound,
        reply: Sender<JoinAnswer>,
    },
    /// A chat message from a joined client.
    Message { id: ClientId, text: String },
    /// A frame for one joined client alone (an answer its reader made, a refusal), routed in
    /// its place among the broadcaster's answers to it.
    Answer { id: ClientId, frame: ServerFrame },
    /// `/users` from a joined client: who is online, to it alone.
    Users { id: ClientId },
    /// `/files on` or `/files off` from a joined client: whether it is sent files.
    Files { id: ClientId, on: bool },
    /// `/msg TO TEXT` from a joined client: a private message.
    Private {
        id: ClientId,
        to: String,
        text: String,
    },
    /// A whole file from a joined client, with the memory reserved for it.
    File {
        id: ClientId,
        name: String,
        data: Vec<u8>,
        memory: FileReservation,
    },
    /// A joined client left (exit, closed connection, or an error).
    Leave { id: ClientId },
    /// The operator asks something at the server's console.
    Console(ConsoleRequest),
    /// The server is stopping: say goodbye to everyone.
    Shutdown,
}

/// The broadcaster's answer to a `Join`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum JoinAnswer {
    /// Joined: `[WELCOME]` and `[USERS]` are queued.
    Welcome,
    /// Someone already has this name (compared without case).
    NameTaken,
    /// The client's queue is full (it sends names faster than it reads the answers).
    QueueFull,
}
