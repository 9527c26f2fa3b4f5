//! The writer: one thread per client, from its outbound queue to its socket.
//!
//! It sends everything already waiting in one vectored write (a turn's frames and a file's
//! bytes go out as they are, never copied into one buffer). It ends when the queue closes (the
//! broadcaster and the reader have both let go), after a `Close` item, or when a write fails.
//!
//! What counts as progress: each write call waits at most `WRITE_SLICE` (a second), and any
//! byte the client's connection accepts is progress. A client that accepts no byte for
//! `write_timeout` is gone, so a client that reads nothing is dropped within `write_timeout`
//! plus a second of its last accepted byte. A write that holds file bytes must also be done
//! within the file's allowance (`transfer.rs`): a receiver too slow to take a file at
//! `min_file_rate` is dropped rather than hold the file's memory for everyone.

use std::fmt;
use std::io::{self, IoSlice};
use std::net::{Shutdown, SocketAddr};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::admission::ConnectionGuard;
use super::queue::{Inbox, Outgoing};
use super::transfer::{deadline, file_allowance};
use super::turn::Encoded;
use super::{ClientId, Config};
use crate::transport::{Closer, WriteHalf};

/// How long a writer that said goodbye waits for its client to close before cutting it off.
pub(super) const LINGER: Duration = Duration::from_secs(2);
/// How long one write call waits at most before the writer looks at its limits again.
pub(super) const WRITE_SLICE: Duration = Duration::from_secs(1);
/// See `write_all`: how much earlier than `write_timeout` a stall may be judged.
const SLICE_SLACK: Duration = Duration::from_millis(50);
/// Queue items a writer gathers into one write call at most.
const MAX_ITEMS_PER_WRITE: usize = 64;

pub(super) struct Writer {
    pub(super) id: ClientId,
    pub(super) peer: SocketAddr,
    pub(super) stream: WriteHalf,
    /// Cuts the connection off when the client is gone or too slow, so the reader wakes too.
    pub(super) closer: Closer,
    pub(super) inbox: Inbox,
    /// Closed when the reader ends; the writer waits on it while lingering.
    pub(super) reader_done: Receiver<()>,
    /// The connection, shared with the reader; also how the writer reaches the config.
    pub(super) guard: Arc<ConnectionGuard>,
}

/// Why a write failed.
#[derive(Debug)]
enum WriteError {
    /// The client accepted no byte for `write_timeout`.
    Stalled(Duration),
    /// A write holding file bytes took longer than their allowance.
    TooSlowForFiles { bytes: u64 },
    /// The connection is gone.
    Io(io::Error),
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WriteError::Stalled(time) => {
                write!(f, "accepted nothing for {} s", time.as_secs_f64())
            }
            WriteError::TooSlowForFiles { bytes } => {
                write!(f, "too slow to take {bytes} bytes of files")
            }
            WriteError::Io(error) => write!(f, "{error}"),
        }
    }
}

/// Shuts the socket down if the writer panics, so the reader wakes up and the client leaves
/// the chat (see `Departure` in `reader.rs`) instead of staying joined with nobody writing.
struct ShutdownOnPanic(Closer);

impl Drop for ShutdownOnPanic {
    fn drop(&mut self) {
        if thread::panicking() {
            let _ = self.0.shutdown(Shutdown::Both);
        }
    }
}

impl Writer {
    pub(super) fn run(mut self) {
        let _shutdown_on_panic = ShutdownOnPanic(self.closer.clone());
        let mut last = false;
        while !last {
            // The queue closes when the broadcaster and the reader have both let go of it.
            let Ok(first) = self.inbox.queue.recv() else {
                break;
            };
            // Everything already waiting goes out in the same write call. The list is made anew
            // each time, so an idle writer holds no buffer.
            let mut items = vec![first];
            items.extend(self.inbox.queue.try_iter().take(MAX_ITEMS_PER_WRITE - 1));
            let (written, closing) = match self.write(&items) {
                Ok(done) => done,
                Err(error) => {
                    // Gone or too slow: wake the reader so it reports it.
                    let shared = &self.guard.shared;
                    if !matches!(error, WriteError::Io(_)) && shared.log_budget.allow() {
                        log::warn!("connection {} ({}): dropped: {error}", self.id, self.peer);
                    }
                    let _ = self.closer.shutdown(Shutdown::Both);
                    return;
                }
            };
            self.inbox.written(written);
            last = closing;
        }
        // All said: send FIN, give the client a moment to close its end, then cut it off.
        let _ = self.stream.finish();
        if let Err(RecvTimeoutError::Timeout) = self.reader_done.recv_timeout(LINGER) {
            let _ = self.closer.shutdown(Shutdown::Both);
        }
    }

    /// Writes the frames of `items` meant for this client, up to and including a `Close`.
    /// Returns how many queued bytes that accounts for, and whether a `Close` was among them.
    fn write(&mut self, items: &[Outgoing]) -> Result<(usize, bool), WriteError> {
        let mut slices = Vec::new();
        let mut written = 0;
        let mut file_bytes = 0;
        let mut closing = false;
        for item in items {
            match item {
                Outgoing::Frame(line) => {
                    slices.push(IoSlice::new(line));
                    written += line.len();
                }
                Outgoing::Turn { turn, share, bytes } => {
                    share.for_each_frame(turn, self.id, |frame| {
                        if let Encoded::File { data, .. } = frame {
                            file_bytes += data.len() as u64;
                        }
                        frame.add_to(&mut slices);
                    });
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
        let config: &Config = &self.guard.shared.config;
        let whole_by = if file_bytes > 0 {
            deadline(Instant::now(), file_allowance(file_bytes, config))
        } else {
            None
        };
        write_all(
            &mut self.stream,
            &mut slices,
            config.write_timeout,
            whole_by,
        )
        .map_err(|error| match error {
            WriteError::TooSlowForFiles { .. } => WriteError::TooSlowForFiles { bytes: file_bytes },
            error => error,
        })?;
        Ok((written, closing))
    }
}

/// Writes every slice, in order, with as few system calls as it can. Fails when the client
/// accepts no byte for `stall`, or when `whole_by` passes first.
fn write_all(
    stream: &mut WriteHalf,
    mut slices: &mut [IoSlice<'_>],
    stall: Duration,
    whole_by: Option<Instant>,
) -> Result<(), WriteError> {
    let mut last_progress = Instant::now();
    // A TLS connection may hold back bytes it has encrypted: they must go out too.
    while !slices.is_empty() || stream.has_unsent() {
        match stream.send(&mut slices) {
            Ok(_) => last_progress = Instant::now(),
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                // A whole slice went by without a byte accepted. The socket's clock is coarser
                // than ours (a slice can end a few milliseconds short of a second): a stall
                // within `SLICE_SLACK` of the timeout counts as the timeout, rather than a
                // whole slice more.
                if last_progress.elapsed() + SLICE_SLACK >= stall {
                    return Err(WriteError::Stalled(stall));
                }
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(WriteError::Io(error)),
        }
        let done = slices.is_empty() && !stream.has_unsent();
        if !done && whole_by.is_some_and(|by| Instant::now() >= by) {
            return Err(WriteError::TooSlowForFiles { bytes: 0 });
        }
    }
    Ok(())
}
