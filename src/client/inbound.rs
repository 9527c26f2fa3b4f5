//! The receiver thread, the inbound data path: socket bytes -> [`ServerFrameDecoder`] -> frames
//! -> lines on the [`Output`] (through [`render`]), files in the downloads folder (through
//! [`save_file`]), and the few events the main thread needs: the handshake (greeted, welcomed,
//! refused) and the connection closing. It ends when the socket closes.

use std::io::{self, Read};
use std::net::TcpStream;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Instant;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::output::Output;
use super::progress::Meter;
use super::render::{Line, render};
use super::saving::save_file;
use super::{ClientError, Config, THREAD_STACK};
use crate::protocol::{FrameError, ServerFrame, ServerFrameDecoder};

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
    /// An `[ERROR]` frame before the welcome: the name was refused, so ask again.
    Refused,
    /// The connection ended; the receiver thread ends right after sending this.
    Closed(Closed),
}

/// How the connection ended, as the receiver saw it.
#[derive(Debug)]
pub(super) enum Closed {
    /// The server closed it.
    ByServer,
    /// Reading failed (reset, or shut down by the main thread).
    Failed(io::Error),
    /// The server sent bytes that put the stream out of step.
    OutOfStep(FrameError),
}

impl From<Closed> for ClientError {
    fn from(closed: Closed) -> ClientError {
        match closed {
            Closed::ByServer => ClientError::ConnectionLost,
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
    stream: TcpStream,
    decoder: ServerFrameDecoder,
    output: Arc<Output>,
    downloads: PathBuf,
    events: Sender<Event>,
    /// Set at `[WELCOME]`; after it the main thread needs no more handshake events.
    joined: bool,
    /// Set at `[WELCOME]`, when the main thread sends `/files on`, until the server's `[INFO]`
    /// answer to it has been taken off the screen.
    files_answer_pending: bool,
    /// The progress of a big file being received, while its progress line is shown.
    meter: Option<Meter>,
}

/// Starts the receiver thread on a clone of `stream`. Returns the channel of its events and its
/// handle, to join once the socket is shut down.
pub(super) fn spawn_receiver(
    stream: &TcpStream,
    config: &Config,
    output: Arc<Output>,
) -> Result<(Receiver<Event>, JoinHandle<()>), ClientError> {
    let (events, main_events) = bounded(EVENT_QUEUE);
    let incoming = Incoming {
        stream: stream.try_clone().map_err(ClientError::Setup)?,
        decoder: ServerFrameDecoder::new(config.max_line, config.max_file_size),
        output,
        downloads: config.downloads.clone(),
        events,
        joined: false,
        files_answer_pending: false,
        meter: None,
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
        let closed = self.read_until_closed();
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

    /// Draws the progress line of a big file being received.
    fn show_progress(&mut self) {
        let Some(file) = self.decoder.file_progress() else {
            return self.end_progress();
        };
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
            self.end_progress();
        }
        let hidden = self.is_files_answer(&frame);
        if let Some(line) = render(&frame).filter(|_| !hidden) {
            self.output.show(&line);
        }
        match frame {
            ServerFrame::File { from, name, data } => self.save(&from, &name, &data),
            ServerFrame::Info(_) => self.tell(Event::Greeted),
            ServerFrame::Error(_) => self.tell(Event::Refused),
            ServerFrame::Welcome(_) => {
                self.tell(Event::Welcomed);
                self.joined = true;
                self.files_answer_pending = true;
            }
            _ => {}
        }
    }

    /// Whether `frame` is the server's answer to the `/files on` the main thread sends right
    /// after the welcome, to keep off the screen: the user did not type that command, so its
    /// answer would only puzzle them. The answer is the first `[INFO]` or `[ERROR]` after the
    /// welcome: the main thread sends nothing else until it has heard of it. An `[INFO]` is kept
    /// off the screen and the log; an `[ERROR]` (a server that does not know `/files`, or one
    /// that is closing the connection) is shown, since it may say why the chat ends.
    fn is_files_answer(&mut self, frame: &ServerFrame) -> bool {
        if !self.files_answer_pending {
            return false;
        }
        let hidden = match frame {
            ServerFrame::Info(text) => {
                log::debug!("the server's answer to /files on: {text}");
                true
            }
            ServerFrame::Error(_) => false,
            _ => return false,
        };
        self.files_answer_pending = false;
        // Fails only when the main thread is gone, and then nobody is waiting for it.
        let _ = self.events.send(Event::FilesAnswered);
        hidden
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
            Ok(saved) => self.output.show(&Line::notification(&format!(
                "Received file: {saved} (from {from})"
            ))),
            Err(error) => self.output.show(&Line::error(&format!(
                "could not save the file '{name}' from {from}: {error}"
            ))),
        }
    }
}
