//! The decoder a client runs on what the server sends: lines from the splitter become
//! [`ServerFrame`]s, and a file header starts a sized body that becomes one `File` frame. The
//! client's thread that reads the socket owns it.

use super::framing::{LineSplitter, Unit, check_size, decimal, split_size};
use super::names::{check_file_name, check_text, check_username};
use super::{FILE_TAG, FrameError, ServerFrame};

/// How far a file from the server has come: see [`ServerFrameDecoder::file_progress`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileProgress<'a> {
    /// Who sent it.
    pub from: &'a str,
    /// Its file name (checked).
    pub name: &'a str,
    /// The bytes of it received so far.
    pub received: u64,
    /// Its size, as announced.
    pub size: u64,
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

    /// How far the file now being received has come, for a progress line; `None` when no file
    /// is being kept (none, or a refused one being skipped).
    pub fn file_progress(&self) -> Option<FileProgress<'_>> {
        let (from, name) = self.file.as_ref()?;
        let (received, size) = self.lines.body_progress()?;
        Some(FileProgress {
            from,
            name,
            received,
            size,
        })
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
    if let Some(rest) = text.strip_prefix("[NOTICE]:") {
        return Ok(ServerFrame::Notice(rest.to_owned()));
    }
    if let Some(rest) = text.strip_prefix("[AUTH]:") {
        return Ok(ServerFrame::Auth(rest.to_owned()));
    }
    if let Some(rest) = text.strip_prefix("[PM]:") {
        let (from, text) = rest.split_once(':').ok_or(FrameError::UnknownFrame)?;
        return Ok(ServerFrame::Private {
            from: username(from)?,
            text: text.to_owned(),
        });
    }
    if let Some(rest) = text.strip_prefix("[HISTORY]:") {
        let (at, rest) = rest.split_once(':').ok_or(FrameError::UnknownFrame)?;
        let (from, text) = rest.split_once(':').ok_or(FrameError::UnknownFrame)?;
        return Ok(ServerFrame::History {
            at: decimal(at).ok_or(FrameError::UnknownFrame)?,
            from: username(from)?,
            text: text.to_owned(),
        });
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
    use crate::protocol::testing::{FILE_LIMIT, LIMIT, server_frames};

    #[test]
    fn hostile_file_names_from_a_server_are_refused_and_skipped() {
        for header in [
            "[FILE]:eve:../../x:3",
            "[FILE]:eve:a/b:3",
            "[FILE]:eve:..:3",
            "[FILE]:eve:received_\u{202e}txt.exe:3",
            "[FILE]:eve:zero\u{200b}width:3",
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
    fn private_history_and_notice_frames_decode() {
        let frames = server_frames(
            b"[PM]:alice:hi: there\n[PM]:alice:\n[HISTORY]:0:bob:a:b\n[NOTICE]:\n[NOTICE]:x: y\n\
              [AUTH]:password for bob\n",
        );
        let expected = vec![
            Ok(ServerFrame::Private {
                from: "alice".into(),
                text: "hi: there".into(),
            }),
            Ok(ServerFrame::Private {
                from: "alice".into(),
                text: String::new(),
            }),
            Ok(ServerFrame::History {
                at: 0,
                from: "bob".into(),
                text: "a:b".into(),
            }),
            Ok(ServerFrame::Notice(String::new())),
            Ok(ServerFrame::Notice("x: y".into())),
            Ok(ServerFrame::Auth("password for bob".into())),
        ];
        assert_eq!(frames, expected);
    }

    #[test]
    fn private_and_history_frames_with_bad_fields_are_refused() {
        let bad_name = |frame: &Result<ServerFrame, FrameError>| {
            matches!(frame, Err(FrameError::BadUsername(_)))
        };
        for line in ["[PM]:e v:hi\n", "[PM]::hi\n", "[HISTORY]:1:e v:hi\n"] {
            let frames = server_frames(line.as_bytes());
            assert!(bad_name(&frames[0]), "{line}: {frames:?}");
        }
        for line in [
            "[PM]:alice\n",
            "[HISTORY]:1:alice\n",
            "[HISTORY]:alice:hi\n",
            "[HISTORY]::alice:hi\n",
            "[HISTORY]:-1:alice:hi\n",
            "[HISTORY]:+1:alice:hi\n",
            "[HISTORY]: 1:alice:hi\n",
            "[HISTORY]:18446744073709551616:alice:hi\n",
        ] {
            assert_eq!(
                server_frames(line.as_bytes()),
                vec![Err(FrameError::UnknownFrame)],
                "{line}"
            );
        }
        assert_eq!(
            server_frames(b"[HISTORY]:18446744073709551615:a:\n"),
            vec![Ok(ServerFrame::History {
                at: u64::MAX,
                from: "a".into(),
                text: String::new()
            })]
        );
    }

    #[test]
    fn file_progress_follows_a_kept_file() {
        let mut decoder = ServerFrameDecoder::new(LIMIT, FILE_LIMIT);
        assert_eq!(decoder.file_progress(), None);
        decoder.feed(b"[FILE]:bob:a.bin:10\n1234");
        assert_eq!(decoder.next_frame(), None);
        let progress = FileProgress {
            from: "bob",
            name: "a.bin",
            received: 4,
            size: 10,
        };
        assert_eq!(decoder.file_progress(), Some(progress));
        decoder.feed(b"567890<END>\n[FILE]:bob:big:5000\n");
        assert!(matches!(
            decoder.next_frame(),
            Some(Ok(ServerFrame::File { .. }))
        ));
        assert!(matches!(decoder.next_frame(), Some(Err(_))));
        assert_eq!(decoder.file_progress(), None, "a refused file is skipped");
    }

    #[test]
    fn users_list_may_hold_one_name() {
        assert_eq!(
            server_frames(b"[USERS]:solo\n"),
            vec![Ok(ServerFrame::Users(vec!["solo".into()]))]
        );
    }
}
