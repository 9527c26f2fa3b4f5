//! A client's outbound queue: what the server has for the client and has not yet written.
//!
//! It is an unbounded crossbeam channel plus a count of the bytes in it, checked against the
//! limit (`send_queue`) before each push: this bounds it as a bounded channel would, but an idle
//! client's queue costs no memory, and the broadcaster never waits on it. A client too far
//! behind is told why and dropped instead.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crossbeam_channel::{Receiver, Sender};

use super::turn::{Bytes, Share, Turn};
use crate::protocol::ServerFrame;

/// What a writer takes from its client's outbound queue.
pub(super) enum Outgoing {
    /// A frame for this client alone (the greeting, answers, errors).
    Frame(Bytes),
    /// This client's share of one broadcaster turn; `bytes` is what it counts for in the queue.
    Turn {
        turn: Arc<Turn>,
        share: Share,
        bytes: usize,
    },
    /// The last frame: send it, then close the connection (the client is being dropped).
    Close(Bytes),
}

/// The sending end of one client's outbound queue; readers and the broadcaster hold clones.
#[derive(Clone)]
pub(super) struct Outbound {
    queue: Sender<Outgoing>,
    /// Bytes queued and not yet written; the writer takes away what it wrote.
    queued: Arc<AtomicUsize>,
    limit: usize,
}

/// The receiving end, for the writer.
pub(super) struct Inbox {
    pub(super) queue: Receiver<Outgoing>,
    queued: Arc<AtomicUsize>,
}

/// The client's outbound queue is full: it has fallen more than `limit` bytes behind.
#[derive(Debug)]
pub(super) struct QueueFull;

/// A new outbound queue holding at most about `limit` bytes.
pub(super) fn outbound_queue(limit: usize) -> (Outbound, Inbox) {
    let (queue, receiver) = crossbeam_channel::unbounded();
    let queued = Arc::new(AtomicUsize::new(0));
    let inbox = Inbox {
        queue: receiver,
        queued: Arc::clone(&queued),
    };
    (
        Outbound {
            queue,
            queued,
            limit,
        },
        inbox,
    )
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let queued = self.queued.load(Ordering::Relaxed);
        write!(f, "Outbound {{ queued: {queued}, limit: {} }}", self.limit)
    }
}

impl Outbound {
    /// Queues `item`, which holds `bytes` bytes, without ever waiting. When the client is
    /// already more than `limit` bytes behind, nothing is queued; the client gets
    /// `[ERROR]:send queue exceeded` as its last frame instead and must be dropped.
    pub(super) fn push(&self, item: Outgoing, bytes: usize) -> Result<(), QueueFull> {
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

    pub(super) fn push_frame(&self, frame: &ServerFrame) -> Result<(), QueueFull> {
        let bytes: Bytes = frame.encode().into();
        let len = bytes.len();
        self.push(Outgoing::Frame(bytes), len)
    }

    /// Queues a client's share of a turn. It counts for what it keeps in memory: the whole turn.
    pub(super) fn push_share(&self, turn: &Arc<Turn>, share: Share) -> Result<(), QueueFull> {
        let bytes = share.kept_alive;
        let turn = Arc::clone(turn);
        self.push(Outgoing::Turn { turn, share, bytes }, bytes)
    }

    /// Queues a last frame (past the limit: it says why the connection ends), after which the
    /// writer closes the connection.
    pub(super) fn close_with(&self, frame: &ServerFrame) {
        let bytes: Bytes = frame.encode().into();
        self.queued.fetch_add(bytes.len(), Ordering::Relaxed);
        let _ = self.queue.send(Outgoing::Close(bytes));
    }
}

impl Inbox {
    /// The writer wrote `bytes` of what was queued.
    pub(super) fn written(&self, bytes: usize) {
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
    }
}
