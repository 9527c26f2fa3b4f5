//! The terminal side of the chat: what a person types becomes frames on the socket, and what the
//! server sends becomes lines a person reads, saved files and the chat log.
//!
//! Three threads, each with one job and one end:
//! - the stdin thread reads lines (at most `max_line` bytes each) into a small bounded channel;
//!   it ends at the end of input, or when the main thread is gone;
//! - the receiver thread reads the socket, feeds the bytes to a [`ServerFrameDecoder`], prints
//!   each frame as a line, saves received files, and tells the main thread about the handshake
//!   (greeting, welcome, refused name) and about the connection closing; it ends when the socket
//!   closes;
//! - the main thread waits on both with `select!` and is the only one that writes to the socket:
//!   stdin lines -> [`ClientFrame`]s -> bytes.
//!
//! Everything shown goes through one `Output` (stdout and the chat log under one lock), so the two
//! threads never interleave halves of lines and the log gets every line as it is shown.

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, IsTerminal, Read, Write};
use std::net::{Shutdown, TcpStream, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender, at, bounded, never, select};

use crate::protocol::{
    self, ClientFrame, EXIT_COMMAND, FILE_TAG, FrameError, NameError, ServerFrame,
    ServerFrameDecoder,
};

/// What the client shows while it waits for a username.
pub const NAME_PROMPT: &str = "Enter your username: ";
/// The command that sends a file: `/file PATH`.
pub const FILE_COMMAND: &str = "/file";

/// Stdin lines read ahead of the main thread. Small: a person types slowly, and a pasted flood
/// should wait in the pipe, not in memory.
const INPUT_QUEUE: usize = 8;
/// Handshake events waiting for the main thread; there are only a few per connection.
const EVENT_QUEUE: usize = 16;
/// How much the receiver asks the socket for at once.
const READ_BUFFER: usize = 64 * 1024;
/// Neither thread recurses or keeps large values on its stack (buffers live on the heap).
const THREAD_STACK: usize = 256 * 1024;
/// How many `-N` suffixes (and temporary names) are tried before saving a file gives up.
const MAX_NAME_TRIES: u32 = 1000;

/// Everything the client can be told; every bound has its default in [`Config::default`].
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's host name or address.
    pub host: String,
    /// The server's port.
    pub port: u16,
    /// The username to join with; `None` asks for one on stdin.
    pub name: Option<String>,
    /// The folder received files are saved in (created when missing).
    pub downloads: PathBuf,
    /// The chat log, appended to; `None` writes no log.
    pub log: Option<PathBuf>,
    /// The largest file sent or received, in bytes.
    pub max_file_size: u64,
    /// The longest line read from the server or from stdin, in bytes. Longer than the server's
    /// own limit, because the server's lines carry a name prefix and a server may raise its limit.
    pub max_line: usize,
    /// How long one attempt to connect may take.
    pub connect_timeout: Duration,
    /// How long a write to the server may make no progress before the connection counts as lost.
    pub write_timeout: Duration,
    /// How long to wait for the server's greeting before asking for a name anyway.
    pub greeting_wait: Duration,
    /// How long to wait for the server to accept or refuse a name.
    pub handshake_timeout: Duration,
    /// How long to wait, after sending `exit`, for the server to close the connection.
    pub leave_timeout: Duration,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            host: "127.0.0.1".to_owned(),
            port: 12345,
            name: None,
            downloads: PathBuf::from("."),
            log: Some(PathBuf::from("chat_log.txt")),
            max_file_size: protocol::DEFAULT_MAX_FILE_SIZE,
            max_line: 64 * 1024,
            connect_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(30),
            greeting_wait: Duration::from_secs(1),
            handshake_timeout: Duration::from_secs(10),
            leave_timeout: Duration::from_secs(5),
        }
    }
}

/// Why the client stopped before the user left.
#[derive(Debug)]
pub enum ClientError {
    /// The server could not be reached.
    Connect { address: String, source: io::Error },
    /// The chat log could not be opened for appending.
    Log { path: PathBuf, source: io::Error },
    /// A thread or the socket could not be set up.
    Setup(io::Error),
    /// The server did not accept or refuse the username in time.
    NoReply,
    /// The server closed the connection, or the connection failed, before the user left.
    ConnectionLost,
    /// The server sent bytes that put the stream out of step, so the client closed it.
    Protocol(FrameError),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { address, source } => {
                write!(f, "cannot connect to {address}: {source}")
            }
            ClientError::Log { path, source } => {
                write!(f, "cannot open the chat log {}: {source}", path.display())
            }
            ClientError::Setup(source) => write!(f, "cannot start the client: {source}"),
            ClientError::NoReply => write!(f, "the server did not answer the username"),
            ClientError::ConnectionLost => write!(f, "connection lost"),
            ClientError::Protocol(error) => write!(f, "the server broke the protocol: {error}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Connect { source, .. }
            | ClientError::Log { source, .. }
            | ClientError::Setup(source) => Some(source),
            ClientError::Protocol(error) => Some(error),
            ClientError::NoReply | ClientError::ConnectionLost => None,
        }
    }
}

/// Connects to the server and runs the chat on this process's stdin and stdout until the user
/// leaves (`exit` or the end of input).
///
/// The stdin thread is not joined: a blocking read of stdin cannot be interrupted, so it ends with
/// the process (or at the next line, when it finds the main thread gone).
///
/// # Errors
/// When the server cannot be reached, the log cannot be opened, or the connection ends before the
/// user left; the binary prints the error as one line and exits with status 1.
pub fn run(config: Config) -> Result<(), ClientError> {
    let stream = connect(&config)?;
    // Opened once connected, so a client that never got in leaves no empty log behind.
    let output = Arc::new(Output::open(config.log.as_deref())?);
    // Chat lines are small and typed by people: send each at once, not when a packet fills up.
    stream.set_nodelay(true).map_err(ClientError::Setup)?;
    // A server that stops reading must not hang the client for ever in the middle of a file.
    stream
        .set_write_timeout(Some(config.write_timeout))
        .map_err(ClientError::Setup)?;

    let input = spawn_stdin_reader(config.max_line)?;
    let (events, receiver) = spawn_receiver(&stream, &config, Arc::clone(&output))?;
    let writer = stream.try_clone().map_err(ClientError::Setup)?;
    let result = Session::new(writer, Arc::clone(&output), config).run(&events, &input);

    // However the session ended, end the receiver too: dropping `events` fails a send it may be
    // blocked in, and shutting the socket down wakes its blocking read.
    drop(events);
    if let Err(error) = stream.shutdown(Shutdown::Both) {
        log::debug!("shutting the socket down: {error}"); // the server may have closed it first
    }
    if receiver.join().is_err() {
        log::warn!("the receiver thread panicked");
    }
    output.close_prompt();
    result
}

/// Tries each address the host resolves to, each attempt bounded by `connect_timeout`.
fn connect(config: &Config) -> Result<TcpStream, ClientError> {
    let address = format!("{}:{}", config.host, config.port);
    let error = |source| ClientError::Connect {
        address: address.clone(),
        source,
    };
    // std cannot bound name resolution; "127.0.0.1" or "localhost" resolve at once.
    let addrs = (config.host.as_str(), config.port)
        .to_socket_addrs()
        .map_err(error)?;
    let mut last = io::Error::new(io::ErrorKind::NotFound, "the host has no address");
    for addr in addrs {
        match TcpStream::connect_timeout(&addr, config.connect_timeout) {
            Ok(stream) => return Ok(stream),
            Err(failed) => last = failed,
        }
    }
    Err(error(last))
}

// ---------------------------------------------------------------------------------------------
// Output: stdout and the chat log
// ---------------------------------------------------------------------------------------------

/// Where everything a person reads goes: stdout, and the chat log when there is one.
///
/// One lock around both, so the receiver thread and the main thread never interleave halves of
/// lines, and the log gets each line as it is shown.
struct Output {
    state: Mutex<OutputState>,
}

struct OutputState {
    stdout: io::Stdout,
    log: Option<File>,
    /// The prompt waiting for an answer; shown again below any line printed over it.
    prompt: Option<&'static str>,
    /// False right after a prompt, so the next line has to start on a new line first.
    at_line_start: bool,
    /// A terminal echoes the line typed, Enter included; a pipe does not.
    stdin_echoes: bool,
}

impl Output {
    fn open(log: Option<&Path>) -> Result<Output, ClientError> {
        let log = match log {
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| ClientError::Log {
                        path: path.to_owned(),
                        source,
                    })?,
            ),
            None => None,
        };
        Ok(Output {
            state: Mutex::new(OutputState {
                stdout: io::stdout(),
                log,
                prompt: None,
                at_line_start: true,
                stdin_echoes: io::stdin().is_terminal(),
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, OutputState> {
        // A thread that panicked while printing leaves nothing half-done that matters here.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Shows one line and appends it to the log. Control characters become U+FFFD.
    fn line(&self, text: &str) {
        let text = sanitize(text);
        let mut state = self.lock();
        let mut shown = String::with_capacity(text.len() + 2);
        if !state.at_line_start {
            shown.push('\n');
        }
        shown.push_str(&text);
        shown.push('\n');
        if let Some(prompt) = state.prompt {
            shown.push_str(prompt);
        }
        state.at_line_start = state.prompt.is_none();
        state.write_stdout(&shown);
        state.write_log(&text);
    }

    /// Appends a line to the log without showing it (what the user sent is already on screen).
    fn log_only(&self, text: &str) {
        let text = sanitize(text);
        self.lock().write_log(&text);
    }

    /// Shows a prompt, without a line end, unless it is already on screen.
    fn prompt(&self, prompt: &'static str) {
        let mut state = self.lock();
        if state.prompt == Some(prompt) {
            return;
        }
        let mut shown = String::new();
        if !state.at_line_start {
            shown.push('\n');
        }
        shown.push_str(prompt);
        state.prompt = Some(prompt);
        state.at_line_start = false;
        state.write_stdout(&shown);
    }

    /// The user answered the prompt with a line.
    fn answered(&self) {
        let mut state = self.lock();
        if state.prompt.take().is_some() {
            state.at_line_start = state.stdin_echoes;
        }
    }

    /// Takes the prompt away and ends its line, so what comes next starts on a line of its own.
    fn close_prompt(&self) {
        let mut state = self.lock();
        state.prompt = None;
        if !state.at_line_start {
            state.write_stdout("\n");
            state.at_line_start = true;
        }
    }
}

impl OutputState {
    fn write_stdout(&mut self, text: &str) {
        let result = self
            .stdout
            .write_all(text.as_bytes())
            .and_then(|()| self.stdout.flush());
        if let Err(error) = result {
            // Nobody is left to tell when stdout itself is gone (a closed pipe): carry on.
            log::debug!("cannot write to stdout: {error}");
        }
    }

    fn write_log(&mut self, line: &str) {
        let Some(log) = &mut self.log else {
            return;
        };
        // One write per line, so a line is never split in an append-mode file.
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line.as_bytes());
        bytes.push(b'\n');
        if let Err(error) = log.write_all(&bytes) {
            log::warn!("cannot write the chat log, logging stops: {error}");
            self.log = None;
        }
    }
}

/// Replaces control characters but TAB with U+FFFD, so no text can move the cursor, recolour or
/// retitle the terminal. The decoder already refuses such lines; this is the second lock.
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| {
            if protocol::is_forbidden_control(c) {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// The stdin thread
// ---------------------------------------------------------------------------------------------

/// One line of input, as the stdin thread hands it over.
#[derive(Debug, PartialEq, Eq)]
enum StdinLine {
    /// A line, without its LF or CRLF.
    Text(String),
    /// A line that cannot be used, and why (for the user).
    Refused(String),
    /// The end of input.
    End,
}

fn spawn_stdin_reader(max_line: usize) -> Result<Receiver<StdinLine>, ClientError> {
    let (lines, input) = bounded(INPUT_QUEUE);
    thread::Builder::new()
        .name("chat-stdin".to_owned())
        .stack_size(THREAD_STACK)
        .spawn(move || read_stdin(max_line, &lines))
        .map_err(ClientError::Setup)?;
    Ok(input)
}

fn read_stdin(max_line: usize, lines: &Sender<StdinLine>) {
    let mut stdin = io::stdin().lock();
    loop {
        let line = read_input_line(&mut stdin, max_line).unwrap_or_else(|error| {
            log::warn!("cannot read stdin: {error}");
            StdinLine::End
        });
        let end = line == StdinLine::End;
        // A failed send means the main thread is gone: nobody needs more lines.
        if lines.send(line).is_err() || end {
            return;
        }
    }
}

/// Reads one line of at most `max` bytes. A longer line is read to its end and refused, so the
/// memory used stays bounded whatever is piped in.
fn read_input_line(reader: &mut impl BufRead, max: usize) -> io::Result<StdinLine> {
    let mut bytes = Vec::new();
    // Room for a whole line, its CR LF, and one byte more to tell a full line from a long one.
    let limit = max as u64 + 2;
    if reader.take(limit).read_until(b'\n', &mut bytes)? == 0 {
        return Ok(StdinLine::End);
    }
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
        if bytes.last() == Some(&b'\r') {
            bytes.pop();
        }
    } else if bytes.len() as u64 == limit {
        reader.skip_until(b'\n')?;
        return Ok(too_long(max));
    }
    if bytes.len() > max {
        return Ok(too_long(max));
    }
    Ok(match String::from_utf8(bytes) {
        Ok(text) => StdinLine::Text(text),
        Err(_) => StdinLine::Refused("the line is not valid UTF-8".to_owned()),
    })
}

fn too_long(max: usize) -> StdinLine {
    StdinLine::Refused(format!("the line is longer than {max} bytes"))
}

// ---------------------------------------------------------------------------------------------
// The receiver thread
// ---------------------------------------------------------------------------------------------

/// What the receiver thread tells the main thread.
#[derive(Debug)]
enum Event {
    /// An `[INFO]` frame before the welcome: the server greeted us, so it is time to ask a name.
    Greeted,
    /// `[WELCOME]`: the name was accepted.
    Welcomed,
    /// An `[ERROR]` frame before the welcome: the name was refused, so ask again.
    Refused,
    /// The connection ended; the receiver thread ends right after sending this.
    Closed(Closed),
}

/// How the connection ended, as the receiver saw it.
#[derive(Debug)]
enum Closed {
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
}

fn spawn_receiver(
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

/// The line a person reads for a frame; `None` for a file, whose line says where it was saved.
fn render(frame: &ServerFrame) -> Option<String> {
    Some(match frame {
        ServerFrame::Info(text) => format!("[INFO] {text}"),
        ServerFrame::Welcome(name) => format!(
            "[INFO] Joined as {name}. Type a message, {FILE_COMMAND} PATH to send a file, \
             {EXIT_COMMAND} to leave."
        ),
        ServerFrame::Users(names) => format!("[INFO] Online: {}", names.join(", ")),
        ServerFrame::Message { from, text } => format!("{from}: {text}"),
        ServerFrame::Join(name) => format!("{name} has joined the chat room."),
        ServerFrame::Leave(name) => format!("{name} has left the chat."),
        ServerFrame::Error(text) => format!("[ERROR] {text}"),
        ServerFrame::File { .. } => return None,
    })
}

// ---------------------------------------------------------------------------------------------
// Saving received files
// ---------------------------------------------------------------------------------------------

/// Saves a received file in `folder` as `received_<name>`, or the next free `-N` name, and
/// returns the name used. Never overwrites a file and never leaves a partial one behind.
///
/// The bytes go to a hidden temporary file first, which is then hard-linked to the final name:
/// a link fails with `AlreadyExists` instead of replacing a file, so trying the next name is safe
/// even if another program creates files in the folder meanwhile. `name` has passed
/// [`protocol::check_file_name`], so joining it onto `folder` stays inside `folder`.
fn save_file(folder: &Path, name: &str, data: &[u8]) -> io::Result<String> {
    fs::create_dir_all(folder)?;
    let (temp_path, mut temp) = create_temp_file(folder, name)?;
    let saved = temp
        .write_all(data)
        .and_then(|()| link_to_free_name(&temp_path, folder, name));
    drop(temp);
    // The temporary name was only a step: it goes whether the link worked or not.
    if let Err(error) = fs::remove_file(&temp_path) {
        log::warn!("cannot remove {}: {error}", temp_path.display());
    }
    saved
}

/// Creates `.received_<name>.<pid>-<n>.part` with `create_new`, so it is never someone else's.
fn create_temp_file(folder: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    for n in 0..MAX_NAME_TRIES {
        let path = folder.join(format!(".received_{name}.{pid}-{n}.part"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(no_free_name())
}

fn link_to_free_name(temp_path: &Path, folder: &Path, name: &str) -> io::Result<String> {
    for n in 0..MAX_NAME_TRIES {
        let candidate = received_name(name, n);
        match fs::hard_link(temp_path, folder.join(&candidate)) {
            Ok(()) => return Ok(candidate),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(no_free_name())
}

fn no_free_name() -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, "no free file name left")
}

/// `received_<name>` for `n == 0`, else with `-<n>` before the extension:
/// `received_notes-1.txt`. A leading dot is not an extension: `received_.profile-1`.
fn received_name(name: &str, n: u32) -> String {
    if n == 0 {
        return format!("received_{name}");
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("received_{}-{n}{}", &name[..dot], &name[dot..]),
        _ => format!("received_{name}-{n}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Sending files
// ---------------------------------------------------------------------------------------------

/// Why `/file PATH` sent nothing.
#[derive(Debug)]
enum LoadError {
    /// The path ends in `..` or `/`, or is a root.
    NoFileName,
    /// The file's name is not valid UTF-8, so it cannot go in a header.
    NameNotUtf8,
    /// The file's name breaks the protocol's rules.
    BadName(NameError),
    /// Not a regular file (a folder, a device, a pipe).
    NotAFile,
    /// Larger than `max_file_size`.
    TooLarge { size: u64, limit: u64 },
    /// Opening or reading it failed.
    Read(io::Error),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NoFileName => write!(f, "the path does not end in a file name"),
            LoadError::NameNotUtf8 => write!(f, "its name is not valid UTF-8"),
            LoadError::BadName(why) => write!(f, "bad file name: {why}"),
            LoadError::NotAFile => write!(f, "it is not a regular file"),
            LoadError::TooLarge { size, limit } => {
                write!(f, "file too large: {size} bytes, the limit is {limit}")
            }
            LoadError::Read(error) => write!(f, "{error}"),
        }
    }
}

/// Reads a file to send: its base name (checked as the server will check it) and its bytes.
fn load_file(path: &Path, limit: u64) -> Result<(String, Vec<u8>), LoadError> {
    let name = path
        .file_name()
        .ok_or(LoadError::NoFileName)?
        .to_str()
        .ok_or(LoadError::NameNotUtf8)?;
    protocol::check_file_name(name).map_err(LoadError::BadName)?;
    let file = File::open(path).map_err(LoadError::Read)?;
    let metadata = file.metadata().map_err(LoadError::Read)?;
    if !metadata.is_file() {
        return Err(LoadError::NotAFile);
    }
    if metadata.len() > limit {
        return Err(LoadError::TooLarge {
            size: metadata.len(),
            limit,
        });
    }
    // Read at most one byte past the limit: a file that grew since its size was looked at is
    // still caught, and never read whole.
    let mut data = Vec::with_capacity(metadata.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(LoadError::Read)?;
    if data.len() as u64 > limit {
        return Err(LoadError::TooLarge {
            size: data.len() as u64,
            limit,
        });
    }
    Ok((name.to_owned(), data))
}

/// The PATH of a `/file PATH` line (empty for a bare `/file`); `None` for any other line.
fn file_command(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(FILE_COMMAND)?;
    if rest.is_empty() || rest.starts_with(char::is_whitespace) {
        Some(rest.trim())
    } else {
        None // `/filex` is a message like any other
    }
}

// ---------------------------------------------------------------------------------------------
// The main thread
// ---------------------------------------------------------------------------------------------

/// Where the main thread is in the conversation.
#[derive(Debug)]
enum Phase {
    /// Connected without a name: waiting (until `until`) for the greeting before asking for one,
    /// so the prompt comes after the server's `[INFO]` line rather than before it.
    Greeting { until: Instant },
    /// The prompt is shown; the next stdin line is the name.
    AskName,
    /// The name was sent. Stdin is not read until the answer, so a line typed ahead is neither
    /// taken as a second name nor sent as a message before the user has joined.
    AwaitReply { until: Instant },
    /// Joined: stdin lines are messages and commands.
    Joined,
    /// `exit` was sent: waiting (until `until`) for the server to close the connection, so that
    /// nothing it still had queued for us is lost.
    Leaving { until: Instant },
}

impl Phase {
    fn reads_stdin(&self) -> bool {
        matches!(
            self,
            Phase::Greeting { .. } | Phase::AskName | Phase::Joined
        )
    }

    fn deadline(&self) -> Option<Instant> {
        match self {
            Phase::Greeting { until } | Phase::AwaitReply { until } | Phase::Leaving { until } => {
                Some(*until)
            }
            Phase::AskName | Phase::Joined => None,
        }
    }
}

/// Whether the session goes on.
enum Flow {
    Continue,
    Done,
}

/// What woke the main thread up.
enum Happened {
    Event(Event),
    Input(StdinLine),
    Deadline,
}

/// The main thread's state; it alone writes to the socket.
struct Session {
    writer: TcpStream,
    output: Arc<Output>,
    config: Config,
    phase: Phase,
}

impl Session {
    fn new(writer: TcpStream, output: Arc<Output>, config: Config) -> Session {
        let until = Instant::now() + config.greeting_wait;
        Session {
            writer,
            output,
            config,
            phase: Phase::Greeting { until },
        }
    }

    fn run(
        mut self,
        events: &Receiver<Event>,
        input: &Receiver<StdinLine>,
    ) -> Result<(), ClientError> {
        if let Some(name) = self.config.name.clone() {
            self.send_name(&name)?;
        }
        loop {
            // First wait, then act: the select only borrows the channels, the handlers change
            // the session.
            let flow = match self.wait(events, input) {
                Happened::Event(event) => self.on_event(event)?,
                Happened::Input(line) => self.on_input(line)?,
                Happened::Deadline => self.on_deadline()?,
            };
            if let Flow::Done = flow {
                return Ok(());
            }
        }
    }

    fn wait(&self, events: &Receiver<Event>, input: &Receiver<StdinLine>) -> Happened {
        // Lines that have no use in this phase stay queued in the stdin channel (it is bounded,
        // so the stdin thread waits too).
        let no_input = never();
        let input = if self.phase.reads_stdin() {
            input
        } else {
            &no_input
        };
        let deadline = self.phase.deadline().map_or_else(never, at);
        select! {
            // A receiver that vanished without a word (it panicked) closed the connection too.
            recv(events) -> event => Happened::Event(event.unwrap_or(Event::Closed(Closed::ByServer))),
            recv(input) -> line => Happened::Input(line.unwrap_or(StdinLine::End)),
            recv(deadline) -> _ => Happened::Deadline,
        }
    }

    fn on_event(&mut self, event: Event) -> Result<Flow, ClientError> {
        match (event, &self.phase) {
            // Once we said exit, how the connection ends no longer matters.
            (Event::Closed(_), Phase::Leaving { .. }) => return Ok(Flow::Done),
            (Event::Closed(closed), _) => return Err(closed.into()),
            (Event::Greeted, Phase::Greeting { .. }) => self.ask_name(),
            (
                Event::Refused,
                Phase::Greeting { .. } | Phase::AskName | Phase::AwaitReply { .. },
            ) => {
                self.ask_name();
            }
            (
                Event::Welcomed,
                Phase::Greeting { .. } | Phase::AskName | Phase::AwaitReply { .. },
            ) => {
                self.output.close_prompt();
                self.phase = Phase::Joined;
            }
            _ => {}
        }
        Ok(Flow::Continue)
    }

    fn on_deadline(&mut self) -> Result<Flow, ClientError> {
        match self.phase {
            Phase::Greeting { .. } => self.ask_name(),
            Phase::AwaitReply { .. } => return Err(ClientError::NoReply),
            Phase::Leaving { .. } => {
                log::warn!("the server did not close the connection after exit");
                return Ok(Flow::Done);
            }
            Phase::AskName | Phase::Joined => {}
        }
        Ok(Flow::Continue)
    }

    fn on_input(&mut self, line: StdinLine) -> Result<Flow, ClientError> {
        match self.phase {
            Phase::Joined => self.on_command(line),
            _ => self.on_name(line),
        }
    }

    /// A stdin line while the client has no name yet.
    fn on_name(&mut self, line: StdinLine) -> Result<Flow, ClientError> {
        let name = match line {
            StdinLine::End => {
                self.output.close_prompt();
                return self.leave();
            }
            StdinLine::Refused(why) => {
                self.output.answered();
                self.error(&why);
                self.ask_name();
                return Ok(Flow::Continue);
            }
            StdinLine::Text(name) => name,
        };
        self.output.answered();
        if name == EXIT_COMMAND {
            return self.leave();
        }
        if name.is_empty() {
            self.ask_name();
            return Ok(Flow::Continue);
        }
        self.send_name(&name)?;
        Ok(Flow::Continue)
    }

    /// Sends a name, or asks for another one when it breaks the rules.
    fn send_name(&mut self, name: &str) -> Result<(), ClientError> {
        // Only a valid username is sent: another line could be read as another frame (after a
        // `[FILE]:` header the server would take the next lines as a file).
        if let Err(why) = protocol::check_username(name) {
            self.error(&format!("bad username: {why}"));
            self.ask_name();
            return Ok(());
        }
        self.send(&ClientFrame::Text(name.to_owned()))?;
        let until = Instant::now() + self.config.handshake_timeout;
        self.phase = Phase::AwaitReply { until };
        Ok(())
    }

    fn ask_name(&mut self) {
        self.output.prompt(NAME_PROMPT);
        self.phase = Phase::AskName;
    }

    /// A stdin line once joined: a command or a message.
    fn on_command(&mut self, line: StdinLine) -> Result<Flow, ClientError> {
        let line = match line {
            StdinLine::End => return self.leave(),
            StdinLine::Refused(why) => {
                self.error(&format!("{why}; nothing was sent"));
                return Ok(Flow::Continue);
            }
            StdinLine::Text(line) => line,
        };
        if line == EXIT_COMMAND {
            return self.leave();
        }
        if let Some(path) = file_command(&line) {
            self.send_file(path)?;
        } else if line.starts_with(FILE_TAG) {
            // Sent as typed, it would be a file header with the following lines as its content.
            self.error(&format!("to send a file, type {FILE_COMMAND} PATH"));
        } else if line.chars().any(protocol::is_forbidden_control) {
            self.error("control characters are not allowed; nothing was sent");
        } else if !line.is_empty() {
            // Empty lines are skipped: the server would ignore them anyway.
            self.send(&ClientFrame::Text(line.clone()))?;
            // Not shown: it is on screen as typed, and the server does not echo it back.
            self.output.log_only(&format!("Me: {line}"));
        }
        Ok(Flow::Continue)
    }

    fn send_file(&mut self, path: &str) -> Result<(), ClientError> {
        if path.is_empty() {
            self.error(&format!("usage: {FILE_COMMAND} PATH"));
            return Ok(());
        }
        let (name, data) = match load_file(Path::new(path), self.config.max_file_size) {
            Ok(file) => file,
            Err(why) => {
                self.error(&format!("cannot send '{path}': {why}"));
                return Ok(());
            }
        };
        self.send(&ClientFrame::File { name, data })?;
        self.output
            .line(&format!("[Notification] File '{path}' sent."));
        Ok(())
    }

    /// Sends `exit` and waits for the server to close the connection.
    fn leave(&mut self) -> Result<Flow, ClientError> {
        if let Err(error) = self.writer.write_all(&ClientFrame::Exit.encode()) {
            // Leaving was the point; a connection that is gone already does not change that.
            log::info!("sending exit: {error}");
            return Ok(Flow::Done);
        }
        let until = Instant::now() + self.config.leave_timeout;
        self.phase = Phase::Leaving { until };
        Ok(Flow::Continue)
    }

    fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        self.writer.write_all(&frame.encode()).map_err(|error| {
            log::info!("writing to the server failed: {error}");
            ClientError::ConnectionLost
        })
    }

    /// Shows a local error as an `[ERROR]` line.
    fn error(&self, text: &str) {
        self.output.line(&format!("[ERROR] {text}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_render_as_the_seed_lines() {
        let cases = [
            (ServerFrame::Info("hi there".into()), "[INFO] hi there"),
            (
                ServerFrame::Welcome("bob".into()),
                "[INFO] Joined as bob. Type a message, /file PATH to send a file, exit to leave.",
            ),
            (
                ServerFrame::Users(vec!["alice".into(), "bob".into()]),
                "[INFO] Online: alice, bob",
            ),
            (
                ServerFrame::Message {
                    from: "bob".into(),
                    text: "hi: you".into(),
                },
                "bob: hi: you",
            ),
            (
                ServerFrame::Join("bob".into()),
                "bob has joined the chat room.",
            ),
            (ServerFrame::Leave("bob".into()), "bob has left the chat."),
            (
                ServerFrame::Error("server full".into()),
                "[ERROR] server full",
            ),
        ];
        for (frame, line) in cases {
            assert_eq!(render(&frame).as_deref(), Some(line), "{frame:?}");
        }
        let file = ServerFrame::File {
            from: "bob".into(),
            name: "a".into(),
            data: vec![],
        };
        assert_eq!(render(&file), None);
    }

    #[test]
    fn sanitize_replaces_control_characters_but_tab() {
        assert_eq!(sanitize("a\tb"), "a\tb");
        assert_eq!(
            sanitize("\x1b[2J\x07\r\u{9b}x"),
            "\u{fffd}[2J\u{fffd}\u{fffd}\u{fffd}x"
        );
    }

    #[test]
    fn received_names_number_before_the_extension() {
        let cases = [
            ("notes.txt", 0, "received_notes.txt"),
            ("notes.txt", 1, "received_notes-1.txt"),
            ("notes.txt", 2, "received_notes-2.txt"),
            ("a.tar.gz", 1, "received_a.tar-1.gz"),
            ("README", 3, "received_README-3"),
            (".profile", 1, "received_.profile-1"),
        ];
        for (name, n, expected) in cases {
            assert_eq!(received_name(name, n), expected);
        }
    }

    #[test]
    fn file_command_takes_the_path_after_a_space() {
        let cases = [
            ("/file notes.txt", Some("notes.txt")),
            ("/file   a b.txt  ", Some("a b.txt")),
            ("/file", Some("")),
            ("/filex", None),
            ("hello /file x", None),
        ];
        for (line, expected) in cases {
            assert_eq!(file_command(line), expected, "{line}");
        }
    }

    fn input_lines(bytes: &[u8], max: usize) -> Vec<StdinLine> {
        let mut reader = io::BufReader::with_capacity(4, bytes);
        let mut lines = Vec::new();
        loop {
            let line = read_input_line(&mut reader, max).unwrap();
            if line == StdinLine::End {
                return lines;
            }
            lines.push(line);
        }
    }

    fn text(s: &str) -> StdinLine {
        StdinLine::Text(s.to_owned())
    }

    #[test]
    fn input_lines_are_bounded_and_long_ones_skipped_whole() {
        let long = || StdinLine::Refused("the line is longer than 5 bytes".to_owned());
        let cases: &[(&[u8], Vec<StdinLine>)] = &[
            (b"hi\nyou\n", vec![text("hi"), text("you")]),
            (b"crlf\r\n\n", vec![text("crlf"), text("")]),
            (b"12345\n12345\r\n", vec![text("12345"), text("12345")]),
            (b"123456\nok\n", vec![long(), text("ok")]),
            (b"1234567890abc\nok\n", vec![long(), text("ok")]),
            (b"no end", vec![long()]),
            (b"last", vec![text("last")]),
            (
                b"\xff\n",
                vec![StdinLine::Refused("the line is not valid UTF-8".to_owned())],
            ),
            (b"", vec![]),
        ];
        for (bytes, expected) in cases {
            assert_eq!(&input_lines(bytes, 5), expected, "{bytes:?}");
        }
    }

    /// A fresh empty folder under the system's temporary folder.
    fn temp_folder(test: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("chat-client-unit-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        path
    }

    fn entries(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn saved_files_never_overwrite_and_leave_no_temporary() {
        let folder = temp_folder("save");
        let downloads = folder.join("new");
        assert_eq!(
            save_file(&downloads, "n.txt", b"one").unwrap(),
            "received_n.txt"
        );
        assert_eq!(
            save_file(&downloads, "n.txt", b"two").unwrap(),
            "received_n-1.txt"
        );
        assert_eq!(entries(&downloads), ["received_n-1.txt", "received_n.txt"]);
        assert_eq!(fs::read(downloads.join("received_n.txt")).unwrap(), b"one");
        assert_eq!(
            fs::read(downloads.join("received_n-1.txt")).unwrap(),
            b"two"
        );
        fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn files_to_send_are_checked_before_reading() {
        let folder = temp_folder("load");
        let path = folder.join("data.bin");
        fs::write(&path, b"12345").unwrap();
        assert_eq!(
            load_file(&path, 5).unwrap(),
            ("data.bin".to_owned(), b"12345".to_vec())
        );
        assert!(matches!(
            load_file(&path, 4),
            Err(LoadError::TooLarge { size: 5, limit: 4 })
        ));
        assert!(matches!(load_file(&folder, 5), Err(LoadError::NotAFile)));
        assert!(matches!(
            load_file(Path::new("/"), 5),
            Err(LoadError::NoFileName)
        ));
        assert!(matches!(
            load_file(&folder.join("missing"), 5),
            Err(LoadError::Read(_))
        ));
        fs::remove_dir_all(&folder).unwrap();
    }
}
