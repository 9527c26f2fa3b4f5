//! The stdin thread, the start of the outbound data path: stdin -> lines of at most `max_line`
//! bytes -> a small bounded channel the main thread reads. It ends at the end of input, or when it
//! finds the main thread gone.

use std::io::{self, BufRead, Read};
use std::thread;

use crossbeam_channel::{Receiver, Sender, bounded};

use super::{ClientError, THREAD_STACK};

/// Stdin lines read ahead of the main thread. Small: a person types slowly, and a pasted flood
/// should wait in the pipe, not in memory.
const INPUT_QUEUE: usize = 8;

/// One line of input, as the stdin thread hands it over.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum StdinLine {
    /// A line, without its LF or CRLF.
    Text(String),
    /// A line that cannot be used, and why (for the user).
    Refused(String),
    /// The end of input.
    End,
}

/// Starts the stdin thread; its lines arrive on the returned channel.
pub(super) fn spawn_stdin_reader(max_line: usize) -> Result<Receiver<StdinLine>, ClientError> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
