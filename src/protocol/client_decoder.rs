//! The decoder the server runs on what a client sends: lines from the splitter become
//! [`ClientFrame`]s, and a file in either form (sized, or lines up to `<END>`) becomes one
//! `File` frame once it is whole. A line starting with one `/` becomes a `Command` (`//text` is
//! the message `/text`). The server gives each connection's reader thread one.

use super::framing::{LineSplitter, Unit, check_size, split_size};
use super::names::{check_file_name, check_text};
use super::{COMMAND_PREFIX, ClientFrame, Command, END_MARKER, EXIT_COMMAND, FILE_TAG, FrameError};

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
    /// False while files are refused whole and skipped unread (before the username).
    files_allowed: bool,
    /// Bytes of refused text-form files skipped since the last `take_discarded`.
    discarded_lines: u64,
    /// The next line is handed out as it is, as `Text` (a password after `[AUTH]`).
    verbatim: bool,
}

/// How far ahead of what it holds a text-form file is reserved, beyond one more line: a reader
/// takes at most a few KiB from the socket at a time, and this is far more than that.
const TEXT_FILE_AHEAD: u64 = 32 * 1024;

impl ClientFrameDecoder {
    /// A decoder that refuses lines over `max_line` bytes and files over `max_file_size` bytes.
    pub fn new(max_line: usize, max_file_size: u64) -> ClientFrameDecoder {
        ClientFrameDecoder {
            lines: LineSplitter::new(max_line),
            max_file_size,
            sized_file: None,
            text_file: None,
            files_allowed: true,
            discarded_lines: 0,
            verbatim: false,
        }
    }

    /// Hands out the next line as it is, as [`ClientFrame::Text`]: no command, no `exit`, no
    /// file header, an empty line too (the server reads a password this way). The line rules
    /// still hold: a line too long, not UTF-8 or with a control character is refused as ever.
    /// Only the next line: the one after it is read as usual.
    pub fn take_next_line_verbatim(&mut self) {
        self.verbatim = true;
    }

    /// While `allowed` is false, every file frame is refused with
    /// [`FrameError::FileBeforeName`] and its bytes are skipped as they arrive, never kept. The
    /// server refuses files this way until a connection has joined.
    pub fn set_files_allowed(&mut self, allowed: bool) {
        self.files_allowed = allowed;
    }

    /// Gives up the file being received: what was kept of it is freed and the rest is skipped
    /// up to its `<END>`, so the stream stays in step. The server does this when it has no
    /// memory left for the file.
    pub fn abandon_file(&mut self) {
        if self.sized_file.take().is_some() {
            self.lines.abandon_body();
        }
        if let Some(file) = &mut self.text_file {
            file.refused = true;
            file.data = Vec::new();
        }
    }

    /// Bytes skipped unread since the last call (the rest of over-long lines, refused files).
    pub fn take_discarded(&mut self) -> u64 {
        self.lines.take_discarded() + std::mem::take(&mut self.discarded_lines)
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

    /// The most bytes the file now being received can hold before the decoder is fed again: a
    /// sized file's announced size; for a text-form file, what it holds plus one line and
    /// 32 KiB ahead (at most `max_file_size`), so it is reserved as it grows, not all at once.
    /// `None` when no file is being kept. The server reserves memory for a file from it before
    /// reading more of the file.
    pub fn file_in_progress(&self) -> Option<u64> {
        match (&self.sized_file, &self.text_file) {
            (Some((_, size)), _) => Some(*size),
            (None, Some(file)) if !file.refused => {
                let ahead = self.lines.max_line() as u64 + 1 + TEXT_FILE_AHEAD;
                Some((file.data.len() as u64 + ahead).min(self.max_file_size))
            }
            _ => None,
        }
    }

    /// The most bytes the file now being received may come to: a sized file's announced size,
    /// or `max_file_size` for a text-form file. `None` when no file is being kept. The server
    /// gives a file time to arrive according to it.
    pub fn file_size_limit(&self) -> Option<u64> {
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
                Ok(Unit::Line(text)) if std::mem::take(&mut self.verbatim) => {
                    Some(check_text(&text).map(|()| ClientFrame::Text(text)))
                }
                Err(error) if std::mem::take(&mut self.verbatim) => Some(Err(error)),
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
            check_text(&text).and_then(|()| text_or_command(text))
        })
    }

    /// Starts a file from its header fields (`<name>:<size>` or `<name>`).
    fn file_header(&mut self, fields: &str) -> Result<(), FrameError> {
        match split_size(fields) {
            Some(Err(error)) => {
                self.lines.break_stream();
                Err(error)
            }
            Some(Ok((_, size))) if !self.files_allowed => {
                self.lines.expect_body(size, false);
                Err(FrameError::FileBeforeName)
            }
            None if !self.files_allowed => {
                self.text_file = Some(TextFile {
                    name: String::new(),
                    data: Vec::new(),
                    refused: true,
                });
                Err(FrameError::FileBeforeName)
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
            self.discarded_lines += line.as_ref().map_or(0, |text| text.len() as u64 + 1);
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

/// A line that passed the rules of every line: a command, or text (`//text` being `/text`).
fn text_or_command(text: String) -> Result<ClientFrame, FrameError> {
    match Command::parse(&text) {
        Some(command) => command
            .map(ClientFrame::Command)
            .map_err(FrameError::BadCommand),
        None if text.starts_with(COMMAND_PREFIX) => Ok(ClientFrame::Text(text[1..].to_owned())),
        None => Ok(ClientFrame::Text(text)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::CommandError;
    use crate::protocol::testing::{
        Decoded, FILE_LIMIT, LIMIT, client_frames, client_frames_bytewise, file, text,
    };

    fn command(command: Command) -> Result<ClientFrame, FrameError> {
        Ok(ClientFrame::Command(command))
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
            (b"a /users\n", vec![text("a /users")]),
            (b"//users\n", vec![text("/users")]),
            (b"//\n", vec![text("/")]),
            (b"///x\n", vec![text("//x")]),
            (b"/users\r\n", vec![command(Command::Users)]),
            (b"/help\n", vec![command(Command::Help)]),
            (b"/files on\n", vec![command(Command::Files(true))]),
            (
                b"/msg bob hi there\n",
                vec![command(Command::Msg {
                    to: "bob".into(),
                    text: "hi there".into(),
                })],
            ),
            (b"/x\n", vec![command(Command::Unknown("/x".into()))]),
            (b"/\n", vec![command(Command::Unknown("/".into()))]),
            (b"no newline yet", vec![]),
        ];
        for (bytes, expected) in cases {
            assert_eq!(&client_frames(bytes), expected, "input {bytes:?}");
        }
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
    fn malformed_command_is_refused_and_the_next_line_is_read() {
        assert_eq!(
            client_frames(b"/msg bob\n/files maybe\nnext\n"),
            vec![
                Err(FrameError::BadCommand(CommandError::MsgUsage)),
                Err(FrameError::BadCommand(CommandError::FilesUsage)),
                text("next"),
            ]
        );
        assert!(!FrameError::BadCommand(CommandError::MsgUsage).is_fatal());
    }

    #[test]
    fn msg_to_a_name_that_breaks_the_rules_is_refused() {
        for line in [
            &b"/msg b@d hi\n"[..],
            b"/msg [PM]:eve hi\n",
            b"/msg \xc3\xa9 hi\n",
        ] {
            let frames = client_frames(line);
            assert!(
                matches!(
                    frames[..],
                    [Err(FrameError::BadCommand(CommandError::BadRecipient(_)))]
                ),
                "{frames:?}"
            );
        }
    }

    #[test]
    fn commands_keep_every_rule_of_a_line() {
        let mut long = b"/msg bob ".to_vec();
        long.extend_from_slice(&[b'x'; LIMIT]);
        long.push(b'\n');
        assert_eq!(
            client_frames(&long),
            vec![Err(FrameError::LineTooLong { limit: LIMIT })]
        );
        for bad in [
            &b"/msg bob \x1b[2J\n"[..],
            b"//\x07\n",
            b"/x\x00\n",
            b"/users\rx\n",
        ] {
            assert_eq!(
                client_frames(bad),
                vec![Err(FrameError::ControlCharacter)],
                "{bad:?}"
            );
        }
        assert_eq!(
            client_frames(b"/msg bob \xff\n"),
            vec![Err(FrameError::InvalidUtf8)]
        );
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
    fn a_text_form_file_is_reserved_as_it_grows_not_at_its_limit() {
        let max_file = 64 * 1024 * 1024;
        let mut decoder = ClientFrameDecoder::new(64, max_file);
        decoder.feed(b"[FILE]:notes.txt\nfirst line\n");
        assert_eq!(decoder.next_frame(), None);
        let ahead = 64 + 1 + TEXT_FILE_AHEAD;
        assert_eq!(decoder.file_in_progress(), Some(11 + ahead));
        decoder.feed(b"second\n");
        assert_eq!(decoder.next_frame(), None);
        assert_eq!(decoder.file_in_progress(), Some(18 + ahead));
    }

    #[test]
    fn a_verbatim_line_is_text_whatever_it_says_and_only_that_line() {
        for line in ["exit", "/users", "//x", "", "[FILE]:a:1", " spaced "] {
            let mut decoder = ClientFrameDecoder::new(100, 100);
            decoder.take_next_line_verbatim();
            decoder.feed(format!("{line}\nexit\n").as_bytes());
            assert_eq!(
                decoder.next_frame(),
                Some(Ok(ClientFrame::Text(line.into())))
            );
            assert_eq!(decoder.next_frame(), Some(Ok(ClientFrame::Exit)), "{line}");
        }
    }

    #[test]
    fn a_verbatim_line_keeps_the_rules_of_a_line() {
        let mut decoder = ClientFrameDecoder::new(4, 100);
        decoder.take_next_line_verbatim();
        decoder.feed(b"toolong\na\x1bb\n");
        assert_eq!(
            decoder.next_frame(),
            Some(Err(FrameError::LineTooLong { limit: 4 }))
        );
        decoder.take_next_line_verbatim();
        assert_eq!(
            decoder.next_frame(),
            Some(Err(FrameError::ControlCharacter))
        );
    }

    #[test]
    fn files_before_the_name_are_refused_and_skipped_unread() {
        let mut decoder = ClientFrameDecoder::new(LIMIT, FILE_LIMIT);
        decoder.set_files_allowed(false);
        decoder.feed(b"[FILE]:a.bin:5\nhel");
        assert_eq!(decoder.next_frame(), Some(Err(FrameError::FileBeforeName)));
        assert_eq!(decoder.file_in_progress(), None, "nothing is kept");
        decoder.feed(b"lo<END>\n[FILE]:b.txt\nsome line\n<END>\nalice\n");
        assert_eq!(decoder.next_frame(), Some(Err(FrameError::FileBeforeName)));
        assert_eq!(decoder.file_in_progress(), None, "nothing is kept");
        assert_eq!(decoder.next_frame(), Some(text("alice")));
        assert_eq!(decoder.take_discarded(), 5 + "some line\n".len() as u64);
        decoder.set_files_allowed(true);
        decoder.feed(b"[FILE]:c.bin:2\nhi<END>\n");
        assert_eq!(decoder.next_frame(), Some(file("c.bin", b"hi")));
    }

    #[test]
    fn an_abandoned_file_frees_its_bytes_and_skips_the_rest() {
        let mut decoder = ClientFrameDecoder::new(LIMIT, FILE_LIMIT);
        decoder.feed(b"[FILE]:a.bin:10\n12345");
        assert_eq!(decoder.next_frame(), None);
        decoder.abandon_file();
        assert_eq!(decoder.file_in_progress(), None);
        decoder.feed(b"67890<END>\n[FILE]:b.txt\nline\n");
        assert_eq!(decoder.next_frame(), None);
        decoder.abandon_file();
        assert_eq!(decoder.file_in_progress(), None);
        decoder.feed(b"more\n<END>\nstill in step\n");
        assert_eq!(decoder.next_frame(), Some(text("still in step")));
    }

    #[test]
    fn skipped_bytes_are_counted() {
        let mut decoder = ClientFrameDecoder::new(LIMIT, FILE_LIMIT);
        let long = vec![b'x'; 200];
        decoder.feed(&long);
        decoder.feed(b"\n[FILE]:big.bin:5000\n");
        decoder.feed(&[0; 5000]);
        decoder.feed(b"<END>\nok\n");
        let frames: Vec<_> = std::iter::from_fn(|| decoder.next_frame()).collect();
        assert_eq!(frames.last(), Some(&text("ok")));
        assert_eq!(decoder.take_discarded(), 201 + 5000);
        assert_eq!(decoder.take_discarded(), 0, "counted once");
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
    fn refused_sized_file_is_skipped_whole() {
        for name in [
            "../x",
            "a/b",
            "a\\b",
            "..",
            "x:y",
            "",
            "x\u{202e}txt.exe",
            "a\u{2028}b",
        ] {
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
}
