//! The terminal UI's two socket threads, so that the thread that draws never waits on the
//! network:
//!
//! - the receiver: socket bytes -> [`ServerFrameDecoder`] -> [`Inbound`] reports for the main
//!   thread: each frame, how far the file now arriving has come, and each file saved (it saves
//!   files itself with the line client's [`save_file`], so 64 MiB never cross a channel);
//! - the writer: what the main thread queues ([`Outgoing`]: whole frames, files) -> the socket,
//!   in order, a file in pieces with a [`Written`] report after each, so its bar moves. A
//!   message typed while a file goes out waits behind it: frames never interleave.
//!
//! Each thread ends with its connection: the receiver when the socket closes (the main thread
//! shuts it down to end it), the writer when its queue is dropped or a write fails.
//!
//! They take any std `Read` and `Write`: the connection's read and write halves
//! (`crate::transport`, plain TCP or TLS alike), and in the tests a byte slice and a `Vec`.

use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, bounded};

use super::super::inbound::Closed;
use super::super::saving::save_file;
use super::super::{ClientError, Config, THREAD_STACK};
use crate::protocol::{FrameError, ServerFrame, ServerFrameDecoder};

/// Reports waiting for the main thread. When it falls behind (a flood of messages), the
/// receiver waits, and TCP makes the server wait for it.
const INBOUND_QUEUE: usize = 256;
/// What may wait for the writer: frames typed while a file goes out. Past that, a line typed is
/// refused rather than kept.
pub(super) const OUTGOING_QUEUE: usize = 64;
/// How much the receiver asks the socket for at once.
const READ_BUFFER: usize = 64 * 1024;
/// A file is written in pieces this big, each followed by a report.
const SEND_PIECE: usize = 64 * 1024;
/// Progress is reported at most this often: a fast transfer should not spend its time drawing.
const REPORT_EVERY: Duration = Duration::from_millis(100);

/// What the receiver thread tells the main thread.
#[derive(Debug)]
pub(super) enum Inbound {
    /// A frame, file frames aside (they arrive as `Saved` or `NotSaved`).
    Frame(ServerFrame),
    /// A frame the decoder refused and skipped whole; the connection carries on.
    Refused(FrameError),
    /// How far the file now arriving has come.
    Receiving {
        from: String,
        name: String,
        received: u64,
        size: u64,
    },
    /// A file of `size` bytes arrived and was saved under `saved` in the downloads folder.
    Saved {
        from: String,
        saved: String,
        size: u64,
    },
    /// A file arrived and could not be saved.
    NotSaved {
        from: String,
        name: String,
        error: io::Error,
    },
    /// The connection ended; the receiver ends right after this.
    Closed(Closed),
}

/// What the main thread gives the writer thread.
#[derive(Debug)]
pub(super) enum Outgoing {
    /// The bytes of one frame.
    Frame(Vec<u8>),
    /// The bytes of a file frame, reported on as they go (`id` names it in the reports).
    File { id: u64, bytes: Vec<u8> },
}

/// What the writer thread tells the main thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Written {
    /// `sent` bytes of file `id` are out.
    Progress { id: u64, sent: u64 },
    /// File `id` is out whole.
    FileSent { id: u64 },
    /// A write failed: the connection is lost, and the writer has ended.
    Failed,
}

/// Starts the receiver thread on `stream`; its reports arrive on the returned channel.
pub(super) fn spawn_receiver(
    stream: impl Read + Send + 'static,
    config: &Config,
) -> Result<(Receiver<Inbound>, JoinHandle<()>), ClientError> {
    let (reports, inbound) = bounded(INBOUND_QUEUE);
    let mut receiver = Receiving {
        decoder: ServerFrameDecoder::new(config.max_received_line, config.max_file_size),
        downloads: config.downloads.clone(),
        reports,
        reported: None,
    };
    let handle = thread::Builder::new()
        .name("chat-tui-receiver".to_owned())
        .stack_size(THREAD_STACK)
        .spawn(move || {
            let closed = receiver.read_until_closed(stream);
            // The main thread may be gone already: then nobody needs to hear about it.
            let _ = receiver.reports.send(Inbound::Closed(closed));
        })
        .map_err(ClientError::Setup)?;
    Ok((inbound, handle))
}

/// The receiver thread's state.
struct Receiving {
    decoder: ServerFrameDecoder,
    downloads: PathBuf,
    reports: Sender<Inbound>,
    /// When the file now arriving was last reported on.
    reported: Option<Instant>,
}

impl Receiving {
    fn read_until_closed(&mut self, mut stream: impl Read) -> Closed {
        let mut buf = vec![0; READ_BUFFER];
        loop {
            let n = match stream.read(&mut buf) {
                Ok(0) => return Closed::ByServer,
                Ok(n) => n,
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Closed::Failed(error),
            };
            self.decoder.feed(&buf[..n]);
            while let Some(result) = self.decoder.next_frame() {
                let report = match result {
                    Ok(ServerFrame::File { from, name, data }) => {
                        self.reported = None;
                        self.save(from, name, &data)
                    }
                    Ok(frame) => Inbound::Frame(frame),
                    Err(error) if error.is_fatal() => return Closed::OutOfStep(error),
                    Err(error) => Inbound::Refused(error),
                };
                if self.reports.send(report).is_err() {
                    return Closed::ByServer; // the main thread is gone: nobody is listening
                }
            }
            self.report_progress();
        }
    }

    fn save(&self, from: String, name: String, data: &[u8]) -> Inbound {
        match save_file(&self.downloads, &name, data) {
            Ok(saved) => Inbound::Saved {
                from,
                saved,
                size: data.len() as u64,
            },
            Err(error) => Inbound::NotSaved { from, name, error },
        }
    }

    /// Reports how far the file now arriving has come: as soon as it starts, then at most every
    /// [`REPORT_EVERY`].
    fn report_progress(&mut self) {
        let Some(file) = self.decoder.file_progress() else {
            return;
        };
        let now = Instant::now();
        if self
            .reported
            .is_some_and(|at| now.saturating_duration_since(at) < REPORT_EVERY)
        {
            return;
        }
        self.reported = Some(now);
        let _ = self.reports.send(Inbound::Receiving {
            from: file.from.to_owned(),
            name: file.name.to_owned(),
            received: file.received,
            size: file.size,
        });
    }
}

/// The writer thread, as the main thread holds it.
pub(super) struct Writer {
    /// What to write, in order; dropping it ends the thread once all is written.
    pub(super) queue: Sender<Outgoing>,
    pub(super) reports: Receiver<Written>,
    pub(super) handle: JoinHandle<()>,
}

/// Starts the writer thread on `stream`: it writes what is queued, in order, and reports.
pub(super) fn spawn_writer(stream: impl Write + Send + 'static) -> Result<Writer, ClientError> {
    let (queue, outgoing) = bounded(OUTGOING_QUEUE);
    // Reports are few: one per piece of a file at most every REPORT_EVERY, and the main thread
    // reads them as they come. Unbounded would do; bounded keeps the promise in the type.
    let (reports, written) = bounded(INBOUND_QUEUE);
    let handle = thread::Builder::new()
        .name("chat-tui-writer".to_owned())
        .stack_size(THREAD_STACK)
        .spawn(move || write_all_queued(stream, &outgoing, &reports))
        .map_err(ClientError::Setup)?;
    Ok(Writer {
        queue,
        reports: written,
        handle,
    })
}

/// Writes until the queue is dropped (the main thread is done) or a write fails.
fn write_all_queued(
    mut stream: impl Write,
    outgoing: &Receiver<Outgoing>,
    reports: &Sender<Written>,
) {
    for item in outgoing {
        let result = match item {
            Outgoing::Frame(bytes) => stream.write_all(&bytes),
            Outgoing::File { id, bytes } => write_file(&mut stream, id, &bytes, reports),
        };
        if let Err(error) = result {
            log::info!("writing to the server failed: {error}");
            let _ = reports.send(Written::Failed);
            return;
        }
    }
}

fn write_file(
    stream: &mut impl Write,
    id: u64,
    bytes: &[u8],
    reports: &Sender<Written>,
) -> io::Result<()> {
    let mut sent = 0;
    let mut reported = Instant::now();
    for piece in bytes.chunks(SEND_PIECE) {
        stream.write_all(piece)?;
        sent += piece.len() as u64;
        if reported.elapsed() >= REPORT_EVERY {
            reported = Instant::now();
            let _ = reports.send(Written::Progress { id, sent });
        }
    }
    let _ = reports.send(Written::FileSent { id });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_writer_writes_in_order_and_reports_each_file_sent() {
        let (queue, outgoing) = bounded(8);
        let (reports, written) = bounded(8);
        queue.send(Outgoing::Frame(b"a\n".to_vec())).unwrap();
        let file = vec![b'x'; 3 * SEND_PIECE];
        queue.send(Outgoing::File { id: 7, bytes: file }).unwrap();
        queue.send(Outgoing::Frame(b"b\n".to_vec())).unwrap();
        drop(queue);
        let mut out = Vec::new();
        write_all_queued(&mut out, &outgoing, &reports);
        let mut expected = b"a\n".to_vec();
        expected.extend_from_slice(&[b'x'; 3 * SEND_PIECE]);
        expected.extend_from_slice(b"b\n");
        assert!(out == expected, "the frames in the order queued");
        let last = written.try_iter().last();
        assert_eq!(last, Some(Written::FileSent { id: 7 }));
    }

    /// A stream that takes `room` bytes, then fails.
    struct Failing {
        room: usize,
    }

    impl Write for Failing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.room == 0 {
                return Err(io::Error::from(io::ErrorKind::BrokenPipe));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_is_reported_and_ends_the_writer() {
        let (queue, outgoing) = bounded(8);
        let (reports, written) = bounded(8);
        queue.send(Outgoing::Frame(b"hello\n".to_vec())).unwrap();
        queue.send(Outgoing::Frame(b"never\n".to_vec())).unwrap();
        write_all_queued(Failing { room: 3 }, &outgoing, &reports);
        assert_eq!(written.try_iter().collect::<Vec<_>>(), [Written::Failed]);
        assert_eq!(
            outgoing.len(),
            1,
            "nothing more was taken after the failure"
        );
    }

    #[test]
    fn received_files_are_saved_and_frames_passed_on() {
        let dir = std::env::temp_dir().join(format!("chat-tui-net-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let config = Config {
            downloads: dir.clone(),
            ..Config::default()
        };
        let bytes: &[u8] = b"[JOIN]:bob\n[FILE]:bob:n.txt:2\nhi<END>\n\x1b\nbob: x\n";
        let (inbound, handle) = spawn_receiver(bytes, &config).unwrap();
        handle.join().unwrap();
        let reports: Vec<Inbound> = inbound.try_iter().collect();
        assert!(matches!(&reports[0], Inbound::Frame(ServerFrame::Join(name)) if name == "bob"));
        let saved = reports.iter().find_map(|report| match report {
            Inbound::Saved { from, saved, .. } => Some((from.as_str(), saved.as_str())),
            _ => None,
        });
        assert_eq!(saved, Some(("bob", "received_n.txt")));
        assert_eq!(std::fs::read(dir.join("received_n.txt")).unwrap(), b"hi");
        assert!(reports.iter().any(|r| matches!(r, Inbound::Refused(_))));
        assert!(matches!(
            reports.last(),
            Some(Inbound::Closed(Closed::ByServer))
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
