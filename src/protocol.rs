//! The chat/1 wire protocol: bytes in, typed frames out, and frames back to bytes.
//!
//! This is the first step of the data flow: a reader thread feeds the bytes it read, in whatever
//! pieces TCP delivered them, into a decoder and takes out whole frames. The module knows nothing
//! of sockets, clocks or logging, so it is tested with plain byte slices; `docs/PROTOCOL.md` is the
//! description of the same rules for people.
//!
//! Framing: every frame starts with one line ended by LF (a CR just before the LF is dropped). Only
//! file frames carry bytes after their header line. Two decoders share the line splitting:
//! [`ClientFrameDecoder`] reads what clients send (the server uses it) and [`ServerFrameDecoder`]
//! reads what the server sends (the client uses it).

use std::fmt;

/// The longest line accepted by default, in bytes, once its LF or CRLF is removed.
pub const DEFAULT_MAX_LINE: usize = 4096;
/// The largest file accepted by default, in bytes (64 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;
/// The longest username, in characters (all of them ASCII).
pub const MAX_USERNAME_LEN: usize = 32;
/// The longest file name, in bytes: `received_`, a suffix and this still fit in 255 bytes.
pub const MAX_FILE_NAME_LEN: usize = 200;
/// The line that ends a file.
pub const END_MARKER: &str = "<END>";
/// What a client sends to leave.
pub const EXIT_COMMAND: &str = "exit";
/// The tag that starts a file header, in both directions.
pub const FILE_TAG: &str = "[FILE]:";

/// A frame a client sends to the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// A line of text: the username during the handshake, a chat message after it.
    Text(String),
    /// An empty line. It means nothing, but it shows the client is still there.
    Empty,
    /// `exit`: the client leaves.
    Exit,
    /// A whole file, sent in the sized or in the text form; always encoded in the sized form.
    File { name: String, data: Vec<u8> },
}

/// A frame the server sends to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerFrame {
    /// `[INFO]:<text>`: information for people.
    Info(String),
    /// `[WELCOME]:<name>`: the name was accepted.
    Welcome(String),
    /// `[USERS]:<name>,<name>,...`: who is online, the new user included.
    Users(Vec<String>),
    /// `<from>: <text>`: a chat message.
    Message { from: String, text: String },
    /// `[JOIN]:<name>`: someone else joined.
    Join(String),
    /// `[LEAVE]:<name>`: someone else left.
    Leave(String),
    /// `[FILE]:<from>:<name>:<size>`, the bytes, `<END>`: a file from another user.
    File {
        from: String,
        name: String,
        data: Vec<u8>,
    },
    /// `[ERROR]:<text>`: the last frame was refused, or why the connection is being closed.
    Error(String),
}

/// Why a frame was refused. Only [`FrameError::is_fatal`] errors end a connection: after the
/// others the decoder has skipped the bad frame whole and is in step again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameError {
    /// A line longer than the limit; the rest of it, up to the next LF, is skipped.
    LineTooLong { limit: usize },
    /// A line that is not valid UTF-8.
    InvalidUtf8,
    /// A line with a control character (C0 but TAB, DEL, C1, a lone CR).
    ControlCharacter,
    /// A username that breaks the naming rules (in a frame from the server).
    BadUsername(NameError),
    /// A file name that breaks the naming rules; the file is skipped.
    BadFileName(NameError),
    /// A file larger than the limit; the file is skipped.
    FileTooLarge { size: u64, limit: u64 },
    /// A file header whose size is not a decimal number: the end of the frame is unknown.
    BadFileSize,
    /// A sized file's bytes not followed by `<END>`: the stream is out of step.
    MissingEnd,
    /// A line from the server that is no chat/1 frame.
    UnknownFrame,
}

impl FrameError {
    /// True when the stream cannot be kept in step, so the connection has to be closed.
    pub fn is_fatal(&self) -> bool {
        matches!(self, FrameError::BadFileSize | FrameError::MissingEnd)
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::LineTooLong { .. } => write!(f, "line too long"),
            FrameError::InvalidUtf8 => write!(f, "invalid UTF-8"),
            FrameError::ControlCharacter => write!(f, "control characters are not allowed"),
            FrameError::BadUsername(why) => write!(f, "bad username: {why}"),
            FrameError::BadFileName(why) => write!(f, "bad file name: {why}"),
            FrameError::FileTooLarge { size, limit } => {
                write!(f, "file too large: {size} bytes, the limit is {limit}")
            }
            FrameError::BadFileSize => write!(f, "bad file size: not a decimal number"),
            FrameError::MissingEnd => write!(f, "the file's bytes were not followed by <END>"),
            FrameError::UnknownFrame => write!(f, "unrecognised frame"),
        }
    }
}

impl std::error::Error for FrameError {}

/// Why a username or a file name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// No characters at all.
    Empty,
    /// Longer than the limit (characters for usernames, bytes for file names).
    TooLong { limit: usize },
    /// A character the rules do not allow (the first one found).
    BadCharacter(char),
    /// `.` or `..`, which name folders, not files.
    Reserved,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(f, "it is empty"),
            NameError::TooLong { limit } => write!(f, "it is longer than {limit}"),
            NameError::BadCharacter(c) if c.is_control() => {
                write!(
                    f,
                    "it contains the control character U+{:04X}",
                    u32::from(*c)
                )
            }
            NameError::BadCharacter(c) => write!(f, "it contains '{c}'"),
            NameError::Reserved => write!(f, "'.' and '..' are not file names"),
        }
    }
}

impl std::error::Error for NameError {}

/// Checks a username: 1-32 ASCII letters, digits, `_`, `-` or `.`.
///
/// ASCII only, as IRC servers default to, so that look-alike letters cannot impersonate anyone.
///
/// # Errors
/// Says which rule the name breaks.
pub fn check_username(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(NameError::BadCharacter(c));
    }
    if name.len() > MAX_USERNAME_LEN {
        return Err(NameError::TooLong {
            limit: MAX_USERNAME_LEN,
        });
    }
    Ok(())
}

/// Checks a file name: 1-200 bytes of UTF-8 without `/`, `\`, `:` or control characters (NUL
/// included), and not `.` or `..`. A name that passes cannot leave the folder it is saved in.
///
/// # Errors
/// Says which rule the name breaks.
pub fn check_file_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '/' | '\\' | ':') || c.is_control())
    {
        return Err(NameError::BadCharacter(c));
    }
    if name.len() > MAX_FILE_NAME_LEN {
        return Err(NameError::TooLong {
            limit: MAX_FILE_NAME_LEN,
        });
    }
    if name == "." || name == ".." {
        return Err(NameError::Reserved);
    }
    Ok(())
}

/// True when `c` may not be relayed: C0 controls but TAB, DEL, and C1 controls.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// Refuses text that holds a forbidden control character.
fn check_text(text: &str) -> Result<(), FrameError> {
    if text.chars().any(is_forbidden_control) {
        Err(FrameError::ControlCharacter)
    } else {
        Ok(())
    }
}

impl ClientFrame {
    /// The bytes of this frame on the wire. Files are always sent in the sized form.
    ///
    /// A `Text` must hold no LF, and not be `exit`, empty or a `[FILE]:` header, or it will be
    /// read back as another frame; the client refuses such lines before they get here.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ClientFrame::Text(text) => line(text),
            ClientFrame::Empty => b"\n".to_vec(),
            ClientFrame::Exit => line(EXIT_COMMAND),
            ClientFrame::File { name, data } => {
                file_frame(&format!("{FILE_TAG}{name}:{}", data.len()), data)
            }
        }
    }
}

impl ServerFrame {
    /// The bytes of this frame on the wire.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            ServerFrame::Info(text) => line(&format!("[INFO]:{text}")),
            ServerFrame::Welcome(name) => line(&format!("[WELCOME]:{name}")),
            ServerFrame::Users(names) => line(&format!("[USERS]:{}", names.join(","))),
            ServerFrame::Message { from, text } => line(&format!("{from}: {text}")),
            ServerFrame::Join(name) => line(&format!("[JOIN]:{name}")),
            ServerFrame::Leave(name) => line(&format!("[LEAVE]:{name}")),
            ServerFrame::File { from, name, data } => {
                let mut out = file_header(from, name, data.len());
                out.extend_from_slice(data);
                out.extend_from_slice(END_LINE);
                out
            }
            ServerFrame::Error(text) => line(&format!("[ERROR]:{text}")),
        }
    }
}

/// The line after the bytes of a file frame.
pub const END_LINE: &[u8] = b"<END>\n";

/// The first line of a file frame from the server, `[FILE]:<from>:<name>:<size>` LF. The frame
/// goes on with the `size` bytes and [`END_LINE`]. A server relaying a big file can send the
/// three parts as they are, rather than copy the bytes into one buffer with `encode`.
pub fn file_header(from: &str, name: &str, size: usize) -> Vec<u8> {
    line(&format!("{FILE_TAG}{from}:{name}:{size}"))
}

fn line(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 1);
    out.extend_from_slice(text.as_bytes());
    out.push(b'\n');
    out
}

fn file_frame(header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(header.len() + data.len() + END_MARKER.len() + 2);
    out.extend_from_slice(header.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(data);
    out.extend_from_slice(END_MARKER.as_bytes());
    out.push(b'\n');
    out
}

/// Splits the size off a file header's fields: it is the field after the last `:`.
/// `None` means there is no `:` at all (the text form of a client's file).
///
/// # Errors
/// `BadFileSize` when the size is not a decimal number that fits in 64 bits.
fn split_size(fields: &str) -> Option<Result<(&str, u64), FrameError>> {
    let (rest, size) = fields.rsplit_once(':')?;
    let digits_only = !size.is_empty() && size.bytes().all(|b| b.is_ascii_digit());
    Some(match size.parse::<u64>() {
        Ok(size) if digits_only => Ok((rest, size)),
        _ => Err(FrameError::BadFileSize),
    })
}

fn check_size(size: u64, limit: u64) -> Result<(), FrameError> {
    if size > limit {
        Err(FrameError::FileTooLarge { size, limit })
    } else {
        Ok(())
    }
}

/// What the line splitter found next.
#[derive(Debug)]
enum Unit {
    /// A whole line, LF and CR removed, checked for length and UTF-8.
    Line(String),
    /// A sized body and its `<END>`: the bytes, or `None` when the body was skipped.
    Body(Option<Vec<u8>>),
}

/// Where the line splitter is in the stream.
#[derive(Debug)]
enum Mode {
    /// Looking for the next LF.
    Lines,
    /// Dropping the rest of an over-long line, up to and including its LF.
    DiscardLine,
    /// Taking `remaining` more bytes of a sized body (`data` is `None` when skipping it).
    Body {
        remaining: u64,
        data: Option<Vec<u8>>,
    },
    /// Expecting `<END>` (then an optional CR, then LF) after a body; `matched` bytes seen so far.
    End {
        matched: usize,
        data: Option<Vec<u8>>,
    },
    /// A fatal error happened: nothing more is decoded.
    Broken,
}

/// The part both decoders share: it cuts the byte stream into lines and sized bodies, keeping at
/// most one line (plus the last piece fed) in memory.
#[derive(Debug)]
struct LineSplitter {
    /// Bytes fed but not yet taken; the untaken ones start at `start`.
    buf: Vec<u8>,
    start: usize,
    /// How far past `start` the search for LF has already looked.
    searched: usize,
    max_line: usize,
    mode: Mode,
}

/// Bodies are allocated as they arrive, never all at once from a size a peer announced.
const BODY_INITIAL_CAPACITY: u64 = 64 * 1024;

impl LineSplitter {
    fn new(max_line: usize) -> LineSplitter {
        LineSplitter {
            buf: Vec::new(),
            start: 0,
            searched: 0,
            max_line,
            mode: Mode::Lines,
        }
    }

    fn feed(&mut self, bytes: &[u8]) {
        if matches!(self.mode, Mode::Broken) {
            return;
        }
        // Drop what was taken, so the buffer holds only the unfinished line and the new bytes.
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.extend_from_slice(bytes);
    }

    fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// While a kept sized body is being taken and every fed byte has been taken: lets `fill`
    /// write up to `max` more bytes of it straight into the body, and returns what `fill` did.
    fn fill_body<E>(
        &mut self,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Option<Result<usize, E>> {
        if self.buffered() > 0 {
            return None;
        }
        let Mode::Body {
            remaining,
            data: Some(data),
        } = &mut self.mode
        else {
            return None;
        };
        let want = (*remaining).min(max as u64) as usize;
        if want == 0 {
            return None;
        }
        let start = data.len();
        data.resize(start + want, 0);
        let result = fill(&mut data[start..]);
        let filled = result.as_ref().map_or(0, |&n| n.min(want));
        data.truncate(start + filled);
        *remaining -= filled as u64;
        Some(result)
    }

    /// Starts taking a sized body of `size` bytes: kept when `keep`, else skipped.
    fn expect_body(&mut self, size: u64, keep: bool) {
        let data = keep.then(|| Vec::with_capacity(size.min(BODY_INITIAL_CAPACITY) as usize));
        self.mode = Mode::Body {
            remaining: size,
            data,
        };
    }

    fn next_unit(&mut self) -> Option<Result<Unit, FrameError>> {
        loop {
            let pending = &self.buf[self.start..];
            match &mut self.mode {
                Mode::Broken => return None,
                Mode::Lines => {
                    let Some(i) = pending[self.searched..].iter().position(|&b| b == b'\n') else {
                        self.searched = pending.len();
                        // One byte of slack for a CR that may come right before the LF.
                        if pending.len() > self.max_line + 1 {
                            self.start = self.buf.len();
                            self.searched = 0;
                            self.mode = Mode::DiscardLine;
                            return Some(Err(FrameError::LineTooLong {
                                limit: self.max_line,
                            }));
                        }
                        return None;
                    };
                    let end = self.searched + i;
                    let mut bytes = &pending[..end];
                    if let [rest @ .., b'\r'] = bytes {
                        bytes = rest;
                    }
                    let result = if bytes.len() > self.max_line {
                        Err(FrameError::LineTooLong {
                            limit: self.max_line,
                        })
                    } else {
                        match std::str::from_utf8(bytes) {
                            Ok(text) => Ok(Unit::Line(text.to_owned())),
                            Err(_) => Err(FrameError::InvalidUtf8),
                        }
                    };
                    self.start += end + 1;
                    self.searched = 0;
                    return Some(result);
                }
                Mode::DiscardLine => match pending.iter().position(|&b| b == b'\n') {
                    Some(i) => {
                        self.start += i + 1;
                        self.mode = Mode::Lines;
                    }
                    None => {
                        self.start = self.buf.len();
                        return None;
                    }
                },
                Mode::Body { remaining, data } => {
                    let take = (*remaining).min(pending.len() as u64) as usize;
                    if let Some(data) = data {
                        data.extend_from_slice(&pending[..take]);
                    }
                    self.start += take;
                    *remaining -= take as u64;
                    if *remaining > 0 {
                        return None;
                    }
                    let data = data.take();
                    self.mode = Mode::End { matched: 0, data };
                }
                Mode::End { matched, data } => {
                    // "<END>", then LF or CR LF; any other byte means the stream is out of step.
                    let marker = END_MARKER.as_bytes();
                    for &byte in pending {
                        self.start += 1;
                        let ok = match *matched {
                            m if m < marker.len() => byte == marker[m],
                            m if m == marker.len() => byte == b'\n' || byte == b'\r',
                            _ => byte == b'\n', // after the CR
                        };
                        if !ok {
                            self.mode = Mode::Broken;
                            return Some(Err(FrameError::MissingEnd));
                        }
                        if byte == b'\n' {
                            let data = data.take();
                            self.mode = Mode::Lines;
                            return Some(Ok(Unit::Body(data)));
                        }
                        *matched += 1;
                    }
                    return None;
                }
            }
        }
    }

    fn break_stream(&mut self) {
        self.mode = Mode::Broken;
    }
}

/// A text-form file being collected: lines up to `<END>`.
#[derive(Debug)]
struct TextFile {
    name: String,
    data: Vec<u8>,
    /// Set once the file was refused: the rest of its lines are skipped silently.
    refused: bool,
}

/// Decodes the frames a client sends (the server's side of the connection).
///
/// Feed it bytes with [`feed`](Self::feed), then call [`next_frame`](Self::next_frame) until it
/// returns `None` ("need more bytes"). It keeps at most about `max_line` bytes plus the last piece
/// fed, and a file being received (at most `max_file_size` bytes).
#[derive(Debug)]
pub struct ClientFrameDecoder {
    lines: LineSplitter,
    max_file_size: u64,
    /// The name and size of the sized file whose body is being taken.
    sized_file: Option<(String, u64)>,
    /// The text-form file being collected, if any.
    text_file: Option<TextFile>,
}

impl ClientFrameDecoder {
    /// A decoder that refuses lines over `max_line` bytes and files over `max_file_size` bytes.
    pub fn new(max_line: usize, max_file_size: u64) -> ClientFrameDecoder {
        ClientFrameDecoder {
            lines: LineSplitter::new(max_line),
            max_file_size,
            sized_file: None,
            text_file: None,
        }
    }

    /// Adds bytes read from the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.lines.feed(bytes);
    }

    /// How many fed bytes are waiting to be decoded (files being collected not counted).
    pub fn buffered(&self) -> usize {
        self.lines.buffered()
    }

    /// Instead of [`feed`](Self::feed), for the body of a sized file: when a kept body is being
    /// taken and nothing else is waiting, `fill` gets a slice of up to `max` bytes inside the
    /// body and returns how many it filled (a reader reads the socket straight into it, saving
    /// a copy). Returns what `fill` returned, or `None` (without calling it) when `feed` is the
    /// way in.
    pub fn fill_body<E>(
        &mut self,
        max: usize,
        fill: impl FnOnce(&mut [u8]) -> Result<usize, E>,
    ) -> Option<Result<usize, E>> {
        self.lines.fill_body(max, fill)
    }

    /// The most bytes the file now being received can come to: its announced size, or
    /// `max_file_size` for a text-form file. `None` when no file is being kept. The server uses it
    /// to reserve memory for a file before reading its body.
    pub fn file_in_progress(&self) -> Option<u64> {
        match (&self.sized_file, &self.text_file) {
            (Some((_, size)), _) => Some(*size),
            (None, Some(file)) if !file.refused => Some(self.max_file_size),
            _ => None,
        }
    }

    /// The next whole frame, an error for a refused one, or `None` when more bytes are needed.
    /// After a fatal error it returns `None` for good.
    pub fn next_frame(&mut self) -> Option<Result<ClientFrame, FrameError>> {
        loop {
            let result = match self.lines.next_unit()? {
                Ok(Unit::Body(data)) => {
                    let name = self.sized_file.take();
                    match (name, data) {
                        (Some((name, _)), Some(data)) => Some(Ok(ClientFrame::File { name, data })),
                        _ => None, // a refused file, skipped whole
                    }
                }
                Ok(Unit::Line(text)) if self.text_file.is_some() => self.text_file_line(Ok(text)),
                Err(error) if self.text_file.is_some() => self.text_file_line(Err(error)),
                Ok(Unit::Line(text)) => self.frame_from_line(text),
                Err(error) => Some(Err(error)),
            };
            if let Some(result) = result {
                return Some(result);
            }
        }
    }

    /// The frame a line stands for. `None` for a file header that was accepted: the file is
    /// handed out once its content and `<END>` have arrived.
    fn frame_from_line(&mut self, text: String) -> Option<Result<ClientFrame, FrameError>> {
        if let Some(fields) = text.strip_prefix(FILE_TAG) {
            return self.file_header(fields).err().map(Err);
        }
        Some(if text.is_empty() {
            Ok(ClientFrame::Empty)
        } else if text == EXIT_COMMAND {
            Ok(ClientFrame::Exit)
        } else {
            check_text(&text).map(|()| ClientFrame::Text(text))
        })
    }

    /// Starts a file from its header fields (`<name>:<size>` or `<name>`).
    fn file_header(&mut self, fields: &str) -> Result<(), FrameError> {
        match split_size(fields) {
            Some(Err(error)) => {
                self.lines.break_stream();
                Err(error)
            }
            Some(Ok((name, size))) => {
                let check = check_file_name(name)
                    .map_err(FrameError::BadFileName)
                    .and_then(|()| check_size(size, self.max_file_size));
                self.lines.expect_body(size, check.is_ok());
                check?;
                self.sized_file = Some((name.to_owned(), size));
                Ok(())
            }
            None => {
                let check = check_file_name(fields).map_err(FrameError::BadFileName);
                self.text_file = Some(TextFile {
                    name: fields.to_owned(),
                    data: Vec::new(),
                    refused: check.is_err(),
                });
                check
            }
        }
    }

    /// Takes one line of a text-form file. Returns what to hand out, if anything: the file at its
    /// `<END>`, or the first error that refuses it.
    fn text_file_line(
        &mut self,
        line: Result<String, FrameError>,
    ) -> Option<Result<ClientFrame, FrameError>> {
        let max_file_size = self.max_file_size;
        let file = self.text_file.as_mut()?;
        let line = match line {
            Ok(text) if text == END_MARKER => {
                let file = self.text_file.take()?;
                return (!file.refused).then_some(Ok(ClientFrame::File {
                    name: file.name,
                    data: file.data,
                }));
            }
            Ok(text) => check_text(&text).map(|()| text),
            Err(error) => Err(error),
        };
        if file.refused {
            return None;
        }
        let size = file.data.len() as u64 + line.as_ref().map_or(0, |t| t.len() as u64 + 1);
        let line = line.and_then(|text| check_size(size, max_file_size).map(|()| text));
        match line {
            Ok(text) => {
                file.data.extend_from_slice(text.as_bytes());
                file.data.push(b'\n');
                None
            }
            Err(error) => {
                file.refused = true;
                file.data = Vec::new();
                Some(Err(error))
            }
        }
    }
}

/// Decodes the frames the server sends (the client's side of the connection).
///
/// It trusts nothing: names are checked as the server checks them, so a hostile server cannot
/// make a client write outside its folder or print control characters.
#[derive(Debug)]
pub struct ServerFrameDecoder {
    lines: LineSplitter,
    max_file_size: u64,
    /// The sender and name of the sized file whose body is being taken.
    file: Option<(String, String)>,
}

impl ServerFrameDecoder {
    /// A decoder that refuses lines over `max_line` bytes and files over `max_file_size` bytes.
    pub fn new(max_line: usize, max_file_size: u64) -> ServerFrameDecoder {
        ServerFrameDecoder {
            lines: LineSplitter::new(max_line),
            max_file_size,
            file: None,
        }
    }

    /// Adds bytes read from the connection.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.lines.feed(bytes);
    }

    /// How many fed bytes are waiting to be decoded (files being collected not counted).
    pub fn buffered(&self) -> usize {
        self.lines.buffered()
    }

    /// The next whole frame, an error for a refused one, or `None` when more bytes are needed.
    /// After a fatal error it returns `None` for good.
    pub fn next_frame(&mut self) -> Option<Result<ServerFrame, FrameError>> {
        loop {
            match self.lines.next_unit()? {
                Ok(Unit::Body(data)) => {
                    if let (Some((from, name)), Some(data)) = (self.file.take(), data) {
                        return Some(Ok(ServerFrame::File { from, name, data }));
                    }
                    // A refused file, skipped whole: nothing to hand out.
                }
                Ok(Unit::Line(text)) => {
                    if let Some(fields) = text.strip_prefix(FILE_TAG) {
                        if let Err(error) = self.file_header(fields) {
                            return Some(Err(error));
                        }
                    } else {
                        return Some(frame_from_server_line(&text));
                    }
                }
                Err(error) => return Some(Err(error)),
            }
        }
    }

    /// Starts a file from its header fields `<from>:<name>:<size>`, or refuses it and skips it.
    /// An accepted file is handed out once its bytes and `<END>` have arrived.
    fn file_header(&mut self, fields: &str) -> Result<(), FrameError> {
        let (rest, size) = match split_size(fields) {
            Some(Ok(parts)) => parts,
            Some(Err(error)) => {
                self.lines.break_stream();
                return Err(error);
            }
            // No size at all: no bytes follow that would need skipping, so it is only a bad line.
            None => return Err(FrameError::UnknownFrame),
        };
        let (from, name) = rest.split_once(':').unwrap_or(("", rest));
        let check = check_username(from)
            .map_err(FrameError::BadUsername)
            .and_then(|()| check_file_name(name).map_err(FrameError::BadFileName))
            .and_then(|()| check_size(size, self.max_file_size));
        self.lines.expect_body(size, check.is_ok());
        check?;
        self.file = Some((from.to_owned(), name.to_owned()));
        Ok(())
    }
}

/// The frame a line from the server stands for (file headers aside).
fn frame_from_server_line(text: &str) -> Result<ServerFrame, FrameError> {
    check_text(text)?;
    let username = |name: &str| match check_username(name) {
        Ok(()) => Ok(name.to_owned()),
        Err(why) => Err(FrameError::BadUsername(why)),
    };
    if let Some(rest) = text.strip_prefix("[INFO]:") {
        return Ok(ServerFrame::Info(rest.to_owned()));
    }
    if let Some(rest) = text.strip_prefix("[ERROR]:") {
        return Ok(ServerFrame::Error(rest.to_owned()));
    }
    if let Some(name) = text.strip_prefix("[WELCOME]:") {
        return username(name).map(ServerFrame::Welcome);
    }
    if let Some(name) = text.strip_prefix("[JOIN]:") {
        return username(name).map(ServerFrame::Join);
    }
    if let Some(name) = text.strip_prefix("[LEAVE]:") {
        return username(name).map(ServerFrame::Leave);
    }
    if let Some(list) = text.strip_prefix("[USERS]:") {
        let names = list.split(',').filter(|name| !name.is_empty());
        return names
            .map(username)
            .collect::<Result<_, _>>()
            .map(ServerFrame::Users);
    }
    match text.split_once(": ") {
        Some((from, text)) if check_username(from).is_ok() => Ok(ServerFrame::Message {
            from: from.to_owned(),
            text: text.to_owned(),
        }),
        _ => Err(FrameError::UnknownFrame),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMIT: usize = 64;
    const FILE_LIMIT: u64 = 1000;

    /// What a decoder handed out, in order.
    type Decoded<F> = Vec<Result<F, FrameError>>;

    /// Decodes everything a client sent, fed all at once.
    fn client_frames(bytes: &[u8]) -> Decoded<ClientFrame> {
        let mut decoder = ClientFrameDecoder::new(LIMIT, FILE_LIMIT);
        decoder.feed(bytes);
        std::iter::from_fn(|| decoder.next_frame()).collect()
    }

    /// Decodes everything a client sent, fed one byte at a time.
    fn client_frames_bytewise(bytes: &[u8]) -> Decoded<ClientFrame> {
        let mut decoder = ClientFrameDecoder::new(LIMIT, FILE_LIMIT);
        let mut out = Vec::new();
        for byte in bytes {
            decoder.feed(std::slice::from_ref(byte));
            out.extend(std::iter::from_fn(|| decoder.next_frame()));
        }
        out
    }

    fn server_frames(bytes: &[u8]) -> Decoded<ServerFrame> {
        let mut decoder = ServerFrameDecoder::new(LIMIT, FILE_LIMIT);
        decoder.feed(bytes);
        std::iter::from_fn(|| decoder.next_frame()).collect()
    }

    fn server_frames_bytewise(bytes: &[u8]) -> Decoded<ServerFrame> {
        let mut decoder = ServerFrameDecoder::new(LIMIT, FILE_LIMIT);
        let mut out = Vec::new();
        for byte in bytes {
            decoder.feed(std::slice::from_ref(byte));
            out.extend(std::iter::from_fn(|| decoder.next_frame()));
        }
        out
    }

    fn text(s: &str) -> Result<ClientFrame, FrameError> {
        Ok(ClientFrame::Text(s.to_owned()))
    }

    fn file(name: &str, data: &[u8]) -> Result<ClientFrame, FrameError> {
        Ok(ClientFrame::File {
            name: name.to_owned(),
            data: data.to_vec(),
        })
    }

    #[test]
    fn client_lines_decode_to_frames() {
        let cases: &[(&[u8], Decoded<ClientFrame>)] = &[
            (b"alice\n", vec![text("alice")]),
            (b"hello there\n", vec![text("hello there")]),
            (b"tab\tinside\n", vec![text("tab\tinside")]),
            (b"caf\xc3\xa9\n", vec![text("café")]),
            (b"\n", vec![Ok(ClientFrame::Empty)]),
            (b"exit\n", vec![Ok(ClientFrame::Exit)]),
            (b"exit now\n", vec![text("exit now")]),
            (b"[JOIN]:bob\n", vec![text("[JOIN]:bob")]),
            (b"no newline yet", vec![]),
        ];
        for (bytes, expected) in cases {
            assert_eq!(&client_frames(bytes), expected, "input {bytes:?}");
        }
    }

    #[test]
    fn crlf_and_lf_end_a_line_alike() {
        assert_eq!(
            client_frames(b"hi\r\nexit\r\n\r\n"),
            client_frames(b"hi\nexit\n\n")
        );
    }

    #[test]
    fn two_lines_in_one_read_are_two_frames() {
        assert_eq!(client_frames(b"one\ntwo\n"), vec![text("one"), text("two")]);
    }

    #[test]
    fn file_in_progress_tells_how_big_the_file_being_received_can_be() {
        let mut decoder = ClientFrameDecoder::new(64, 1000);
        assert_eq!(decoder.file_in_progress(), None);
        decoder.feed(b"[FILE]:a.bin:10\n12345");
        assert_eq!(decoder.next_frame(), None);
        assert_eq!(decoder.file_in_progress(), Some(10));
        decoder.feed(b"67890<END>\n[FILE]:b.txt\nline\n");
        assert!(matches!(
            decoder.next_frame(),
            Some(Ok(ClientFrame::File { .. }))
        ));
        assert_eq!(decoder.next_frame(), None);
        assert_eq!(decoder.file_in_progress(), Some(1000));
        decoder.feed(b"<END>\n[FILE]:big.bin:5000\n");
        assert!(matches!(
            decoder.next_frame(),
            Some(Ok(ClientFrame::File { .. }))
        ));
        assert!(matches!(
            decoder.next_frame(),
            Some(Err(FrameError::FileTooLarge { .. }))
        ));
        assert_eq!(
            decoder.file_in_progress(),
            None,
            "a refused file is not kept"
        );
    }

    #[test]
    fn body_filled_in_place_decodes_like_fed_bytes() {
        let mut decoder = ClientFrameDecoder::new(64, 1000);
        let nothing = |_: &mut [u8]| -> Result<usize, ()> { panic!("not in a body") };
        assert!(decoder.fill_body(100, nothing).is_none());
        decoder.feed(b"[FILE]:a.bin:10\n123");
        assert_eq!(decoder.next_frame(), None);
        // Four bytes at most, though seven are missing.
        let filled = decoder.fill_body(4, |room: &mut [u8]| {
            assert_eq!(room.len(), 4);
            room.copy_from_slice(b"4567");
            Ok::<usize, ()>(4)
        });
        assert_eq!(filled, Some(Ok(4)));
        // A short fill keeps only what was filled.
        let filled = decoder.fill_body(100, |room: &mut [u8]| {
            assert_eq!(room.len(), 3);
            room[0] = b'8';
            Ok::<usize, ()>(1)
        });
        assert_eq!(filled, Some(Ok(1)));
        decoder.feed(b"90<END>\nhi\n");
        assert!(decoder.fill_body(100, nothing).is_none(), "fed bytes wait");
        let file = ClientFrame::File {
            name: "a.bin".into(),
            data: b"1234567890".to_vec(),
        };
        assert_eq!(decoder.next_frame(), Some(Ok(file)));
        assert_eq!(
            decoder.next_frame(),
            Some(Ok(ClientFrame::Text("hi".into())))
        );
    }

    #[test]
    fn sized_file_is_binary_safe() {
        let data = b"\x00\xff<END>\n<END>\r\nmore\n";
        let mut bytes = format!("[FILE]:a.bin:{}\n", data.len()).into_bytes();
        bytes.extend_from_slice(data);
        bytes.extend_from_slice(b"<END>\nafter\n");
        assert_eq!(
            client_frames(&bytes),
            vec![file("a.bin", data), text("after")]
        );
    }

    #[test]
    fn sized_file_end_may_have_crlf() {
        assert_eq!(
            client_frames(b"[FILE]:x:2\nab<END>\r\nnext\n"),
            vec![file("x", b"ab"), text("next")]
        );
    }

    #[test]
    fn empty_sized_file_is_a_file() {
        assert_eq!(
            client_frames(b"[FILE]:empty.txt:0\n<END>\n"),
            vec![file("empty.txt", b"")]
        );
    }

    #[test]
    fn text_form_file_collects_lines_up_to_end() {
        let bytes = b"[FILE]:notes.txt\nline one\n\nline three\r\n<END>\nhi\n";
        assert_eq!(
            client_frames(bytes),
            vec![file("notes.txt", b"line one\n\nline three\n"), text("hi")]
        );
    }

    #[test]
    fn text_form_file_may_be_empty() {
        assert_eq!(client_frames(b"[FILE]:e\n<END>\n"), vec![file("e", b"")]);
    }

    #[test]
    fn every_frame_decodes_the_same_one_byte_at_a_time() {
        let mut bytes = Vec::new();
        bytes.extend_from_slice(b"alice\r\nhi\n\nexit\n[FILE]:t.txt\na\n\nb\n<END>\n");
        bytes.extend_from_slice(b"[FILE]:b.bin:7\n<END>\n\x00<END>\n");
        bytes.extend_from_slice(&[b'x'; 100]); // too long
        bytes.extend_from_slice(b"\nbad \xff\n[FILE]:../x:3\nabc<END>\nok\n");
        let whole = client_frames(&bytes);
        assert_eq!(whole.len(), 10, "{whole:?}");
        assert_eq!(client_frames_bytewise(&bytes), whole);
    }

    #[test]
    fn line_over_the_limit_is_refused_and_the_next_line_is_read() {
        let mut bytes = vec![b'x'; LIMIT + 1];
        bytes.extend_from_slice(b"\nnext\n");
        assert_eq!(
            client_frames(&bytes),
            vec![Err(FrameError::LineTooLong { limit: LIMIT }), text("next")]
        );
    }

    #[test]
    fn line_at_the_limit_is_accepted_with_or_without_cr() {
        let line = "y".repeat(LIMIT);
        assert_eq!(
            client_frames(format!("{line}\n").as_bytes()),
            vec![text(&line)]
        );
        assert_eq!(
            client_frames(format!("{line}\r\n").as_bytes()),
            vec![text(&line)]
        );
    }

    #[test]
    fn endless_line_is_refused_once_and_memory_stays_bounded() {
        let mut decoder = ClientFrameDecoder::new(LIMIT, FILE_LIMIT);
        let mut errors = 0;
        for _ in 0..10_000 {
            decoder.feed(&[b'z'; 100]);
            while let Some(frame) = decoder.next_frame() {
                assert_eq!(frame, Err(FrameError::LineTooLong { limit: LIMIT }));
                errors += 1;
            }
            assert!(decoder.buffered() <= LIMIT + 1 + 100);
        }
        decoder.feed(b"\nstill here\n");
        assert_eq!(decoder.next_frame(), Some(text("still here")));
        assert_eq!(errors, 1);
    }

    #[test]
    fn invalid_utf8_is_refused_and_the_next_line_is_read() {
        assert_eq!(
            client_frames(b"\xc3\x28\nfine\n"),
            vec![Err(FrameError::InvalidUtf8), text("fine")]
        );
    }

    #[test]
    fn control_characters_in_a_message_are_refused() {
        for bad in [
            &b"esc \x1b[31m red\n"[..],
            b"bell \x07\n",
            b"nul \x00\n",
            b"lone \rcr\n",
            b"del \x7f\n",
            b"osc \xc2\x9d0;title\n",
        ] {
            assert_eq!(
                client_frames(bad),
                vec![Err(FrameError::ControlCharacter)],
                "{bad:?}"
            );
        }
    }

    #[test]
    fn usernames_follow_the_rules() {
        for good in ["a", "alice", "Bob_2", "x-y.z", &"n".repeat(32)] {
            assert_eq!(check_username(good), Ok(()), "{good}");
        }
        let bad: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            (&"n".repeat(33), NameError::TooLong { limit: 32 }),
            ("al ice", NameError::BadCharacter(' ')),
            ("a:b", NameError::BadCharacter(':')),
            ("[JOIN]", NameError::BadCharacter('[')),
            ("a,b", NameError::BadCharacter(',')),
            ("аlice", NameError::BadCharacter('а')), // Cyrillic a
            ("é", NameError::BadCharacter('é')),
        ];
        for (name, why) in bad {
            assert_eq!(check_username(name).as_ref(), Err(why), "{name}");
        }
    }

    #[test]
    fn file_names_follow_the_rules() {
        for good in [
            "a",
            "notes.txt",
            ".hidden",
            "a b.txt",
            "ünï.txt",
            &"f".repeat(200),
        ] {
            assert_eq!(check_file_name(good), Ok(()), "{good}");
        }
        let bad: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            (".", NameError::Reserved),
            ("..", NameError::Reserved),
            ("../x", NameError::BadCharacter('/')),
            ("a/b", NameError::BadCharacter('/')),
            ("a\\b", NameError::BadCharacter('\\')),
            ("x:y", NameError::BadCharacter(':')),
            ("nul\0", NameError::BadCharacter('\0')),
            ("esc\x1b", NameError::BadCharacter('\x1b')),
            (&"f".repeat(201), NameError::TooLong { limit: 200 }),
        ];
        for (name, why) in bad {
            assert_eq!(check_file_name(name).as_ref(), Err(why), "{name:?}");
        }
    }

    #[test]
    fn refused_sized_file_is_skipped_whole() {
        for name in ["../x", "a/b", "a\\b", "..", "x:y", ""] {
            let bytes = format!("[FILE]:{name}:6\n<END>\n<END>\nnext\n");
            let frames = client_frames(bytes.as_bytes());
            assert!(
                matches!(frames[0], Err(FrameError::BadFileName(_))),
                "{name}: {frames:?}"
            );
            assert_eq!(frames[1..], [text("next")], "{name}");
        }
    }

    #[test]
    fn refused_text_file_is_skipped_up_to_end() {
        let frames = client_frames(b"[FILE]:../etc/passwd\nroot\n\nx\n<END>\nnext\n");
        assert!(
            matches!(frames[0], Err(FrameError::BadFileName(_))),
            "{frames:?}"
        );
        assert_eq!(frames[1..], [text("next")]);
    }

    #[test]
    fn sized_file_over_the_limit_is_refused_and_skipped() {
        let mut bytes = format!("[FILE]:big:{}\n", FILE_LIMIT + 1).into_bytes();
        bytes.extend(std::iter::repeat_n(b'b', FILE_LIMIT as usize + 1));
        bytes.extend_from_slice(b"<END>\nnext\n");
        let expected = vec![
            Err(FrameError::FileTooLarge {
                size: FILE_LIMIT + 1,
                limit: FILE_LIMIT,
            }),
            text("next"),
        ];
        assert_eq!(client_frames(&bytes), expected);
        assert_eq!(client_frames_bytewise(&bytes), expected);
    }

    #[test]
    fn text_file_over_the_limit_is_refused_once_and_skipped() {
        let mut bytes = b"[FILE]:big\n".to_vec();
        for _ in 0..40 {
            bytes.extend_from_slice(&[b'q'; 50]);
            bytes.push(b'\n');
        }
        bytes.extend_from_slice(b"<END>\nnext\n");
        let frames = client_frames(&bytes);
        assert!(
            matches!(frames[0], Err(FrameError::FileTooLarge { .. })),
            "{frames:?}"
        );
        assert_eq!(frames[1..], [text("next")]);
    }

    #[test]
    fn bad_line_inside_a_text_file_refuses_the_file() {
        let frames = client_frames(b"[FILE]:t\nok\nbad \x1b\nmore\n<END>\nnext\n");
        assert_eq!(
            frames,
            vec![Err(FrameError::ControlCharacter), text("next")]
        );
    }

    #[test]
    fn size_that_is_not_a_number_is_fatal() {
        for header in [
            "[FILE]:x:abc\n",
            "[FILE]:x:\n",
            "[FILE]:x:+5\n",
            "[FILE]:x:-1\n",
        ] {
            let frames = client_frames(format!("{header}hello\n").as_bytes());
            assert_eq!(frames, vec![Err(FrameError::BadFileSize)], "{header}");
            assert!(FrameError::BadFileSize.is_fatal());
        }
        let huge = client_frames(b"[FILE]:x:99999999999999999999999\n");
        assert_eq!(huge, vec![Err(FrameError::BadFileSize)]);
    }

    #[test]
    fn sized_file_not_followed_by_end_is_fatal() {
        let frames = client_frames(b"[FILE]:x:3\nabcXEND>\nhello\n");
        assert_eq!(frames, vec![Err(FrameError::MissingEnd)]);
        assert!(FrameError::MissingEnd.is_fatal());
    }

    #[test]
    fn decoder_stops_for_good_after_a_fatal_error() {
        let mut decoder = ClientFrameDecoder::new(LIMIT, FILE_LIMIT);
        decoder.feed(b"[FILE]:x:zz\n");
        assert_eq!(decoder.next_frame(), Some(Err(FrameError::BadFileSize)));
        decoder.feed(b"more\n");
        assert_eq!(decoder.next_frame(), None);
    }

    #[test]
    fn client_frames_round_trip() {
        let frames = vec![
            ClientFrame::Text("hello".into()),
            ClientFrame::Empty,
            ClientFrame::File {
                name: "f.bin".into(),
                data: b"\0\n<END>\n".to_vec(),
            },
            ClientFrame::Exit,
        ];
        let bytes: Vec<u8> = frames.iter().flat_map(ClientFrame::encode).collect();
        let expected: Vec<_> = frames.into_iter().map(Ok).collect();
        assert_eq!(client_frames(&bytes), expected);
        assert_eq!(client_frames_bytewise(&bytes), expected);
    }

    #[test]
    fn server_frames_encode_as_the_protocol_says() {
        let cases = [
            (ServerFrame::Info("hi there".into()), "[INFO]:hi there\n"),
            (ServerFrame::Welcome("bob".into()), "[WELCOME]:bob\n"),
            (
                ServerFrame::Users(vec!["alice".into(), "bob".into()]),
                "[USERS]:alice,bob\n",
            ),
            (
                ServerFrame::Message {
                    from: "alice".into(),
                    text: "hi: you".into(),
                },
                "alice: hi: you\n",
            ),
            (ServerFrame::Join("bob".into()), "[JOIN]:bob\n"),
            (ServerFrame::Leave("bob".into()), "[LEAVE]:bob\n"),
            (
                ServerFrame::File {
                    from: "alice".into(),
                    name: "a.txt".into(),
                    data: b"xy".to_vec(),
                },
                "[FILE]:alice:a.txt:2\nxy<END>\n",
            ),
            (
                ServerFrame::Error("line too long".into()),
                "[ERROR]:line too long\n",
            ),
        ];
        for (frame, wire) in cases {
            assert_eq!(String::from_utf8(frame.encode()).unwrap(), wire);
            assert_eq!(server_frames(wire.as_bytes()), vec![Ok(frame.clone())]);
            assert_eq!(server_frames_bytewise(wire.as_bytes()), vec![Ok(frame)]);
        }
    }

    #[test]
    fn hostile_file_names_from_a_server_are_refused_and_skipped() {
        for header in [
            "[FILE]:eve:../../x:3",
            "[FILE]:eve:a/b:3",
            "[FILE]:eve:..:3",
        ] {
            let frames = server_frames(format!("{header}\nabc<END>\n[JOIN]:bob\n").as_bytes());
            assert!(
                matches!(frames[0], Err(FrameError::BadFileName(_))),
                "{header}: {frames:?}"
            );
            assert_eq!(frames[1..], [Ok(ServerFrame::Join("bob".into()))]);
        }
    }

    #[test]
    fn file_from_a_bad_sender_is_refused_and_skipped() {
        let frames = server_frames(b"[FILE]:e v:x:1\nz<END>\n[LEAVE]:bob\n");
        assert!(
            matches!(frames[0], Err(FrameError::BadUsername(_))),
            "{frames:?}"
        );
        assert_eq!(frames[1..], [Ok(ServerFrame::Leave("bob".into()))]);
    }

    #[test]
    fn oversized_file_from_a_server_is_skipped_without_keeping_it() {
        let mut decoder = ServerFrameDecoder::new(LIMIT, FILE_LIMIT);
        decoder.feed(b"[FILE]:eve:x:1000000\n");
        assert!(matches!(
            decoder.next_frame(),
            Some(Err(FrameError::FileTooLarge { .. }))
        ));
        for _ in 0..1000 {
            decoder.feed(&[0u8; 1000]);
            assert_eq!(decoder.next_frame(), None);
            assert_eq!(decoder.buffered(), 0);
        }
        decoder.feed(b"<END>\n[JOIN]:bob\n");
        assert_eq!(
            decoder.next_frame(),
            Some(Ok(ServerFrame::Join("bob".into())))
        );
    }

    #[test]
    fn escape_sequences_from_a_server_are_refused() {
        for line in [
            &b"[INFO]:\x1b]0;pwned\x07\n"[..],
            b"eve: \x1b[2J\n",
            b"eve: a\rbob: forged\n",
        ] {
            assert_eq!(server_frames(line), vec![Err(FrameError::ControlCharacter)]);
        }
    }

    #[test]
    fn lines_that_are_no_server_frame_are_unknown() {
        for line in [
            "garbage\n",
            "not a name: hi\n",
            "[FILE]:eve:x\n",
            "[WELCOME]:a b\n",
        ] {
            assert!(server_frames(line.as_bytes())[0].is_err(), "{line}");
        }
    }

    #[test]
    fn users_list_may_hold_one_name() {
        assert_eq!(
            server_frames(b"[USERS]:solo\n"),
            vec![Ok(ServerFrame::Users(vec!["solo".into()]))]
        );
    }
}
