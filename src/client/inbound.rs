//! The receiver thread, the inbound data path: socket bytes -> [`ServerFrameDecoder`] -> frames
//! -> lines on the [`Output`] (through [`render`]), files in the downloads folder (through
//! [`save_file`]), and the few events the main thread needs: the handshake (greeted, a password
//! asked for, welcomed, refused), the answer to the `/files on` it sends after the welcome (which is not shown), and
//! the connection closing (after the server's shutdown notice, or not). It ends when the socket
//! closes.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::files_answer::{Answer, FilesAnswer};
use super::output::Output;
use super::progress::{self, Meter};
use super::render::{Line, render};
use super::saving::{save_file, saved_path};
use super::{ClientError, Config, THREAD_STACK};
use crate::protocol::{FrameError, SHUTTING_DOWN, ServerFrame, ServerFrameDecoder};
use crate::transport::ReadHalf;

/// Handshake events waiting for the main thread; there are only a few per connection.
const EVENT_QUEUE: usize = 16;
/// How much the receiver asks the socket for at once.
const READ_BUFFER: usize = 64 * 1024;

/// What the receiver thread tells the main thread.
#[derive(Debug)]
pub(super) enum Event {
    /// An `[INFO]` frame before the welcome: the server greeted us, so it is time to ask a name.
    Greeted,
    /// `[WELCOME]`: the name was accepted.
    Welcomed,
    /// The server answered the `/files on` sent after the welcome (its answer is not shown).
    FilesAnswered,
    /// An `[ERROR]` frame before the welcome, and its text: the name was refused, or the
    /// server is about to close the connection (the close follows at once then).
    Refused(String),
    /// `[AUTH]`: the name is registered; the server waits for its password.
    PasswordAsked,
    /// The connection ended; the receiver thread ends right after sending this.
    Closed(Closed),
}

/// How the connection ended, as the receiver saw it.
#[derive(Debug)]
pub(super) enum Closed {
    /// The server closed it.
    ByServer,
    /// The server closed it after saying it is shutting down: a clean end, not a lost
    /// connection.
    ShutDown,
    /// Reading failed (reset, or shut down by the main thread).
    Failed(io::Error),
    /// The server sent bytes that put the stream out of step.
    OutOfStep(FrameError),
}

impl From<Closed> for ClientError {
    fn from(closed: Closed) -> ClientError {
        match closed {
            Closed::ByServer | Closed::ShutDown => ClientError::ConnectionLost,
            Closed::Failed(error) => {
                log::info!("reading from the server failed: {error}");
                ClientError::ConnectionLost
            }
            Closed::OutOfStep(error) => ClientError::Protocol(error),
        }
    }
}

/// The receiver thread's state: socket bytes -> frames -> lines, files and events.
struct Incoming {
    stream: ReadHalf,
    decoder: ServerFrameDecoder,
    output: Arc<Output>,
    downloads: PathBuf,
    events: Sender<Event>,
    /// Set at `[WELCOME]`; after it the main thread needs no more handshake events.
    joined: bool,
    /// Set by `[ERROR]:server is shutting down`: the close that follows is the server's clean
    /// stop.
    shutting_down: bool,
    /// Waits, from `[WELCOME]` (when the main thread sends `/files on`), for the answer to keep
    /// off the screen.
    files_answer: FilesAnswer,
    /// The progress of a big file being received, while its progress line is shown.
    meter: Option<Meter>,
    /// Whether the big file now arriving has been announced (`bob is sending big.iso ...`).
    announced: bool,
}

/// Starts the receiver thread on the reading half of the connection. Returns the channel of its
/// events and its handle, to join once the socket is shut down.
pub(super) fn spawn_receiver(
    stream: ReadHalf,
    config: &Config,
    output: Arc<Output>,
) -> Result<(Receiver<Event>, JoinHandle<()>), ClientError> {
    let (events, main_events) = bounded(EVENT_QUEUE);
    let incoming = Incoming {
        stream,
        decoder: ServerFrameDecoder::new(config.max_received_line, config.max_file_size),
        output,
        downloads: config.downloads.clone(),
        events,
        joined: false,
        shutting_down: false,
        files_answer: FilesAnswer::default(),
        meter: None,
        announced: false,
    };
    let handle = thread::Builder::new()
        .name("chat-receiver".to_owned())
        .stack_size(THREAD_STACK)
        .spawn(move || incoming.run())
        .map_err(ClientError::Setup)?;
    Ok((main_events, handle))
}

impl Incoming {
    fn run(mut self) {
        let closed = match self.read_until_closed() {
            // The server said goodbye first: however the socket then ended, that was the end.
            Closed::ByServer | Closed::Failed(_) if self.shutting_down => Closed::ShutDown,
            closed => closed,
        };
        // The main thread may be gone already (it shuts the socket down to end us): then nobody
        // needs to hear about it.
        let _ = self.events.send(Event::Closed(closed));
    }

    fn read_until_closed(&mut self) -> Closed {
        let mut buf = vec![0; READ_BUFFER];
        loop {
            let n = match self.stream.read(&mut buf) {
                Ok(0) => return Closed::ByServer,
                Ok(n) => n,
                // TLS: a part of a record came, no plaintext yet.
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Closed::Failed(error),
            };
            self.decoder.feed(&buf[..n]);
            while let Some(result) = self.decoder.next_frame() {
                match result {
                    Ok(frame) => self.handle(frame),
                    Err(error) if error.is_fatal() => return Closed::OutOfStep(error),
                    // The decoder skipped the bad frame whole: say so and read on.
                    Err(error) => self.output.show(&Line::error(&format!(
                        "refused a frame from the server: {error}"
                    ))),
                }
            }
            self.show_progress();
        }
    }

    /// Announces a big file as its header arrives, and draws its progress line while it
    /// arrives.
    fn show_progress(&mut self) {
        let Some(file) = self.decoder.file_progress() else {
            self.announced = false;
            return self.end_progress();
        };
        if !self.announced && file.size > progress::SHOWN_ABOVE {
            // A line of its own, on any output: a big file takes a while, and the user should
            // know something is coming before it is there.
            self.announced = true;
            self.output
                .show(&Line::file_arriving(file.from, file.name, file.size));
        }
        if self.meter.is_none() && self.output.shows_progress() {
            let label = format!("receiving {} from {}", file.name, file.from);
            self.meter = Meter::new(label, file.size, Instant::now());
        }
        if let Some(line) = self
            .meter
            .as_mut()
            .and_then(|meter| meter.update(file.received, Instant::now()))
        {
            self.output.progress(&line);
        }
    }

    fn end_progress(&mut self) {
        if self.meter.take().is_some() {
            self.output.end_progress();
        }
    }

    fn handle(&mut self, frame: ServerFrame) {
        if matches!(frame, ServerFrame::File { .. }) {
            self.announced = false;
            self.end_progress();
        }
        if let ServerFrame::Error(text) = &frame {
            self.shutting_down = text == SHUTTING_DOWN;
            if !self.joined {
                // The prompt is not drawn again below the error: if the connection closes next,
                // no more input is wanted; if not, the main thread asks again.
                self.output.drop_prompt();
            }
        }
        let hidden = self.is_files_answer(&frame);
        if let Some(line) = render(&frame).filter(|_| !hidden) {
            self.output.show(&line);
        }
        match frame {
            ServerFrame::File { from, name, data } => self.save(&from, &name, &data),
            ServerFrame::Info(_) => self.tell(Event::Greeted),
            // The close follows, and says the rest.
            ServerFrame::Error(_) if self.shutting_down => {}
            ServerFrame::Error(text) => self.tell(Event::Refused(text)),
            ServerFrame::Auth(_) => self.tell(Event::PasswordAsked),
            ServerFrame::Welcome(_) => {
                self.tell(Event::Welcomed);
                self.joined = true;
                self.files_answer.sent();
            }
            _ => {}
        }
    }

    /// Whether `frame` is the server's answer to the `/files on` the main thread sent, to keep
    /// off the screen (see `files_answer.rs`). The main thread hears when it has come.
    fn is_files_answer(&mut self, frame: &ServerFrame) -> bool {
        let answer = self.files_answer.take(frame);
        if answer != Answer::No {
            // Fails only when the main thread is gone, and then nobody is waiting for it.
            let _ = self.events.send(Event::FilesAnswered);
        }
        answer == Answer::Hidden
    }

    /// Passes a handshake event to the main thread, until the name is accepted.
    fn tell(&self, event: Event) {
        if !self.joined {
            // Fails only when the main thread is gone, and then nobody is waiting for it.
            let _ = self.events.send(event);
        }
    }

    fn save(&self, from: &str, name: &str, data: &[u8]) {
        match save_file(&self.downloads, name, data) {
            Ok(saved) => self.output.show(&Line::file_received(
                &saved_path(&self.downloads, &saved),
                data.len() as u64,
                from,
            )),
            Err(error) => self.output.show(&Line::error(&format!(
                "could not save the file '{name}' from {from}: {error}"
            ))),
        }
    }
}
