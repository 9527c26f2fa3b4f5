//! The writer: one thread per client, from its outbound queue to its socket.
//!
//! It sends everything already waiting in one vectored write (a turn's frames and a file's
//! bytes go out as they are, never copied into one buffer). It ends when the queue closes (the
//! broadcaster and the reader have both let go), after a `Close` item, or when a write fails.

use std::io::{self, IoSlice, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};

use super::ClientId;
use super::admission::ConnectionGuard;
use super::queue::{Inbox, Outgoing};

/// How long a writer that said goodbye waits for its client to close before cutting it off.
pub(super) const LINGER: Duration = Duration::from_secs(2);
/// Queue items a writer gathers into one write call at most.
const MAX_ITEMS_PER_WRITE: usize = 64;

pub(super) struct Writer {
    pub(super) id: ClientId,
    pub(super) stream: TcpStream,
    pub(super) inbox: Inbox,
    /// Closed when the reader ends; the writer waits on it while lingering.
    pub(super) reader_done: Receiver<()>,
    pub(super) _guard: Arc<ConnectionGuard>,
}

impl Writer {
    pub(super) fn run(mut self) {
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
                    // Gone, or not reading for `write_timeout`: wake the reader so it reports it.
                    log::debug!("write failed: {error}");
                    let _ = self.stream.shutdown(Shutdown::Both);
                    return;
                }
            };
            self.inbox.written(written);
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
                Outgoing::Turn { turn, share, bytes } => {
                    for frame in turn.frames_for(self.id, share.range.clone()) {
                        frame.add_to(&mut slices);
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
