//! Framing: the line splitter both decoders share. It cuts the byte stream into [`Unit`]s, whole
//! lines and sized bodies, and knows nothing of what a line means; the decoders do. It also reads
//! the size off a file header, since that size is what tells it where a body ends.
//!
//! A body is `size` bytes of anything, then `<END>` and LF (or CR LF). A stream that does not say
//! `<END>` there is out of step: nothing after it can be trusted, so the splitter stops for good.

use super::{END_MARKER, FrameError};

/// What the line splitter found next.
#[derive(Debug)]
pub(super) enum Unit {
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
pub(super) struct LineSplitter {
    /// Bytes fed but not yet taken; the untaken ones start at `start`.
    buf: Vec<u8>,
    start: usize,
    /// How far past `start` the search for LF has already looked.
    searched: usize,
    max_line: usize,
    mode: Mode,
    /// Bytes skipped unread since the last `take_discarded`: the rest of over-long lines and
    /// the bodies of refused files.
    discarded: u64,
}

/// Bodies are allocated as they arrive, never all at once from a size a peer announced.
const BODY_INITIAL_CAPACITY: u64 = 64 * 1024;

impl LineSplitter {
    pub(super) fn new(max_line: usize) -> LineSplitter {
        LineSplitter {
            buf: Vec::new(),
            start: 0,
            searched: 0,
            max_line,
            mode: Mode::Lines,
            discarded: 0,
        }
    }

    /// Adds bytes read from the connection; after a fatal error they are dropped.
    pub(super) fn feed(&mut self, bytes: &[u8]) {
        if matches!(self.mode, Mode::Broken) {
            return;
        }
        // Drop what was taken, so the buffer holds only the unfinished line and the new bytes.
        self.buf.drain(..self.start);
        self.start = 0;
        self.buf.extend_from_slice(bytes);
    }

    /// How many fed bytes are waiting to be taken.
    pub(super) fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// While a kept sized body is being taken and every fed byte has been taken: lets `fill`
    /// write up to `max` more bytes of it straight into the body, and returns what `fill` did.
    pub(super) fn fill_body<E>(
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

    /// How far a kept sized body has come: the bytes taken and the body's size. `None` when no
    /// body is being kept.
    pub(super) fn body_progress(&self) -> Option<(u64, u64)> {
        match &self.mode {
            Mode::Body {
                remaining,
                data: Some(data),
            } => Some((data.len() as u64, data.len() as u64 + remaining)),
            Mode::End {
                data: Some(data), ..
            } => Some((data.len() as u64, data.len() as u64)),
            _ => None,
        }
    }

    /// Starts taking a sized body of `size` bytes: kept when `keep`, else skipped.
    pub(super) fn expect_body(&mut self, size: u64, keep: bool) {
        let data = keep.then(|| Vec::with_capacity(size.min(BODY_INITIAL_CAPACITY) as usize));
        self.mode = Mode::Body {
            remaining: size,
            data,
        };
    }

    /// The next line or body, an error for a refused line (or for a missing `<END>`, which is
    /// fatal), or `None` when more bytes are needed.
    pub(super) fn next_unit(&mut self) -> Option<Result<Unit, FrameError>> {
        loop {
            let pending = &self.buf[self.start..];
            match &mut self.mode {
                Mode::Broken => return None,
                Mode::Lines => {
                    let Some(i) = pending[self.searched..].iter().position(|&b| b == b'\n') else {
                        self.searched = pending.len();
                        // One byte of slack for a CR that may come right before the LF.
                        if pending.len() > self.max_line.saturating_add(1) {
                            self.discarded += pending.len() as u64;
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
                        self.discarded += end as u64 + 1;
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
                        self.discarded += i as u64 + 1;
                        self.start += i + 1;
                        self.mode = Mode::Lines;
                    }
                    None => {
                        self.discarded += pending.len() as u64;
                        self.start = self.buf.len();
                        return None;
                    }
                },
                Mode::Body { remaining, data } => {
                    let take = (*remaining).min(pending.len() as u64) as usize;
                    match data {
                        Some(data) => data.extend_from_slice(&pending[..take]),
                        None => self.discarded += take as u64,
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

    /// Stops keeping the sized body being taken: what was kept is freed and the rest is skipped
    /// (its `<END>` is still checked, so the stream stays in step).
    pub(super) fn abandon_body(&mut self) {
        match &mut self.mode {
            Mode::Body { data, .. } | Mode::End { data, .. } => *data = None,
            _ => {}
        }
    }

    /// Bytes skipped unread since the last call: a reader counts them against the client's
    /// flood allowance, so skipping is paced like everything else.
    pub(super) fn take_discarded(&mut self) -> u64 {
        std::mem::take(&mut self.discarded)
    }

    /// The longest line this splitter accepts.
    pub(super) fn max_line(&self) -> usize {
        self.max_line
    }

    /// Stops the splitter for good: a decoder found the stream out of step.
    pub(super) fn break_stream(&mut self) {
        self.mode = Mode::Broken;
    }
}

/// Splits the size off a file header's fields: it is the field after the last `:`.
/// `None` means there is no `:` at all (the text form of a client's file).
///
/// # Errors
/// `BadFileSize` when the size is not a decimal number that fits in 64 bits.
pub(super) fn split_size(fields: &str) -> Option<Result<(&str, u64), FrameError>> {
    let (rest, size) = fields.rsplit_once(':')?;
    Some(
        decimal(size)
            .map(|size| (rest, size))
            .ok_or(FrameError::BadFileSize),
    )
}

/// A number written in decimal digits alone (no sign, no spaces) that fits in 64 bits: a file's
/// size, a history frame's time.
pub(super) fn decimal(digits: &str) -> Option<u64> {
    let digits_only = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
    digits_only.then(|| digits.parse().ok()).flatten()
}

/// Refuses a file larger than `limit`.
pub(super) fn check_size(size: u64, limit: u64) -> Result<(), FrameError> {
    if size > limit {
        Err(FrameError::FileTooLarge { size, limit })
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! The splitter hands out no frames of its own, so its rules are tested through the client
    //! decoder, which turns each line and body straight into a frame.

    use crate::protocol::testing::{FILE_LIMIT, LIMIT, client_frames, file, text};
    use crate::protocol::{ClientFrame, ClientFrameDecoder, FrameError};

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
}
