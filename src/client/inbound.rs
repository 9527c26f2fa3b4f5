//! The receiver thread, the inbound data path: socket bytes -> [`ServerFrameDecoder`] -> frames
//! -> lines on the [`Output`] (through [`render`]), files in the downloads folder (through
//! [`save_file`]), and the few events the main thread needs: the handshake (greeted, welcomed,
//! refused) and the connection closing. It ends when the socket closes.

use std::io;
use std::path::PathBuf;
use std::sync::Arc;
use std::thread::{self, JoinHandle};

use crossbeam_channel::{Receiver, Sender, bounded};

use super::output::Output;
use super::render::render;
use super::saving::save_file;
use super::{ClientError, Config, THREAD_STACK};
use crate::protocol::{FrameError, ServerFrame, ServerFrameDecoder};
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
    /// An `[ERROR]` frame before the welcome: the name was refused, so ask again.
    Refused,
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
    stream: ReadHalf,
    decoder: ServerFrameDecoder,
    output: Arc<Output>,
    downloads: PathBuf,
    events: Sender<Event>,
    /// Set at `[WELCOME]`; after it the main thread needs no more handshake events.
    joined: bool,
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
        decoder: ServerFrameDecoder::new(config.max_line, config.max_file_size),
        output,
        downloads: config.downloads.clone(),
        events,
        joined: false,
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
                    Err(error) => self
                        .output
                        .line(&format!("[ERROR] refused a frame from the server: {error}")),
                }
            }
        }
    }

    fn handle(&mut self, frame: ServerFrame) {
        if let Some(line) = render(&frame) {
            self.output.line(&line);
        }
        match frame {
            ServerFrame::File { from, name, data } => self.save(&from, &name, &data),
            ServerFrame::Info(_) => self.tell(Event::Greeted),
            ServerFrame::Error(_) => self.tell(Event::Refused),
            ServerFrame::Auth(_) => self.tell(Event::PasswordAsked),
            ServerFrame::Welcome(_) => {
                self.tell(Event::Welcomed);
                self.joined = true;
            }
            _ => {}
        }
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
            Ok(saved) => self.output.line(&format!(
                "[Notification] Received file: {saved} (from {from})"
            )),
            Err(error) => self.output.line(&format!(
                "[ERROR] could not save the file '{name}' from {from}: {error}"
            )),
        }
    }
}
