//! The stdin thread, the start of the outbound data path: stdin -> lines of at most `max_line`
//! bytes (the server's line limit) -> a small bounded channel the main thread reads. It ends at
//! the end of input, or when it finds the main thread gone.
//!
//! A line the server would refuse as too long is refused here, naming the limit. Every frame the
//! client sends for a line is at most as long as the line typed (a message, `//text` and any
//! command are sent as typed; `/msg` loses only extra spaces), so bounding the line bounds what is
//! sent. A terminal in its usual (canonical) mode passes on at most 4095 bytes of a line and drops
//! the rest without a word: a line of exactly that length from a terminal was probably cut, maybe
//! in the middle of a character, and is refused as cut rather than sent short or blamed on the
//! user as invalid UTF-8.

use std::fmt;
use std::io::{self, BufRead, IsTerminal, Read};
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::{ClientError, THREAD_STACK};

/// Stdin lines read ahead of the main thread. Small: a person types slowly, and a pasted flood
/// should wait in the pipe, not in memory.
const INPUT_QUEUE: usize = 8;

/// The most of one line a Linux terminal in canonical mode passes on: its line buffer holds
/// 4096 bytes, the line's LF included. Longer input is dropped by the terminal.
pub(super) const TERMINAL_LINE: usize = 4095;

/// One line of input, as the stdin thread hands it over.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum StdinLine {
    /// A line, without its LF or CRLF.
    Text(String),
    /// A line that cannot be used, and why.
    Refused(Refusal),
    /// The end of input.
    End,
}

/// Why a line of input cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// Longer than the server's line limit (`--max-line`); the whole line was skipped.
    TooLong { limit: usize },
    /// Exactly [`TERMINAL_LINE`] bytes from a terminal: the terminal probably cut it.
    CutByTerminal { limit: usize },
    /// Not UTF-8, which every line of chat/1 is.
    NotUtf8,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::TooLong { limit } => {
                write!(
                    f,
                    "the line is longer than {limit} bytes, the server's limit"
                )
            }
            Refusal::CutByTerminal { limit } => write!(
                f,
                "the terminal cut the line at {TERMINAL_LINE} bytes, the most it passes on \
                 (the server's limit is {limit} bytes)"
            ),
            Refusal::NotUtf8 => write!(f, "the line is not valid UTF-8"),
        }
    }
}

/// Starts the stdin thread; its lines arrive on the returned channel.
pub(super) fn spawn_stdin_reader(max_line: usize) -> Result<Receiver<StdinLine>, ClientError> {
    let (lines, input) = bounded(INPUT_QUEUE);
    let terminal = io::stdin().is_terminal();
    thread::Builder::new()
        .name("chat-stdin".to_owned())
        .stack_size(THREAD_STACK)
        .spawn(move || read_stdin(max_line, terminal, &lines))
        .map_err(ClientError::Setup)?;
    Ok(input)
}

fn read_stdin(max_line: usize, terminal: bool, lines: &Sender<StdinLine>) {
    let mut stdin = io::stdin().lock();
    loop {
        let line = read_input_line(&mut stdin, max_line, terminal).unwrap_or_else(|error| {
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
/// memory used stays bounded whatever is piped in. From a `terminal`, a line of exactly
/// [`TERMINAL_LINE`] bytes is refused as cut.
fn read_input_line(reader: &mut impl BufRead, max: usize, terminal: bool) -> io::Result<StdinLine> {
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
    if terminal && bytes.len() == TERMINAL_LINE {
        return Ok(StdinLine::Refused(Refusal::CutByTerminal { limit: max }));
    }
    Ok(match String::from_utf8(bytes) {
        Ok(text) => StdinLine::Text(text),
        Err(_) => StdinLine::Refused(Refusal::NotUtf8),
    })
}

fn too_long(max: usize) -> StdinLine {
    StdinLine::Refused(Refusal::TooLong { limit: max })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input_lines(bytes: &[u8], max: usize) -> Vec<StdinLine> {
        lines_from(bytes, max, false)
    }

    fn lines_from(bytes: &[u8], max: usize, terminal: bool) -> Vec<StdinLine> {
        let mut reader = io::BufReader::with_capacity(4, bytes);
        let mut lines = Vec::new();
        loop {
            let line = read_input_line(&mut reader, max, terminal).unwrap();
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
        let long = || StdinLine::Refused(Refusal::TooLong { limit: 5 });
        let cases: &[(&[u8], Vec<StdinLine>)] = &[
            (b"hi\nyou\n", vec![text("hi"), text("you")]),
            (b"crlf\r\n\n", vec![text("crlf"), text("")]),
            (b"12345\n12345\r\n", vec![text("12345"), text("12345")]),
            (b"123456\nok\n", vec![long(), text("ok")]),
            (b"1234567890abc\nok\n", vec![long(), text("ok")]),
            (b"no end", vec![long()]),
            (b"last", vec![text("last")]),
            (b"\xff\n", vec![StdinLine::Refused(Refusal::NotUtf8)]),
            (b"", vec![]),
        ];
        for (bytes, expected) in cases {
            assert_eq!(&input_lines(bytes, 5), expected, "{bytes:?}");
        }
    }

    #[test]
    fn a_line_at_the_terminal_limit_from_a_terminal_is_refused_as_cut() {
        let cut = StdinLine::Refused(Refusal::CutByTerminal { limit: 4096 });
        let at_limit = [vec![b'a'; TERMINAL_LINE], b"\n".to_vec()].concat();
        assert_eq!(lines_from(&at_limit, 4096, true), [cut]);
        // A pipe does not cut: the same line is a line.
        assert_eq!(
            lines_from(&at_limit, 4096, false),
            [text(&"a".repeat(TERMINAL_LINE))]
        );
        let shorter = [vec![b'a'; TERMINAL_LINE - 1], b"\n".to_vec()].concat();
        assert_eq!(
            lines_from(&shorter, 4096, true),
            [text(&"a".repeat(TERMINAL_LINE - 1))]
        );
    }

    #[test]
    fn a_character_cut_in_half_by_the_terminal_is_not_blamed_on_the_user() {
        // 2100 'é' pasted: the terminal keeps 4095 bytes, the last one half of an 'é'.
        let pasted = "é".repeat(2100);
        let cut = [&pasted.as_bytes()[..TERMINAL_LINE], b"\n"].concat();
        assert_eq!(
            lines_from(&cut, 4096, true),
            [StdinLine::Refused(Refusal::CutByTerminal { limit: 4096 })]
        );
    }

    #[test]
    fn refusals_name_the_limit() {
        assert_eq!(
            Refusal::TooLong { limit: 4096 }.to_string(),
            "the line is longer than 4096 bytes, the server's limit"
        );
        assert_eq!(
            Refusal::CutByTerminal { limit: 4096 }.to_string(),
            "the terminal cut the line at 4095 bytes, the most it passes on \
             (the server's limit is 4096 bytes)"
        );
    }
}
