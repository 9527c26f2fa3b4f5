//! Why a frame was refused. The decoders hand these out in place of a frame: after most of them
//! the reader answers and reads on; after a fatal one the stream is out of step and the
//! connection ends.

use std::fmt;

use super::{CommandError, NameError};

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
    /// A file sent before the username was accepted; the file is skipped unread.
    FileBeforeName,
    /// A file header whose size is not a decimal number: the end of the frame is unknown.
    BadFileSize,
    /// A sized file's bytes not followed by `<END>`: the stream is out of step.
    MissingEnd,
    /// A line from the server that is no chat/1 frame.
    UnknownFrame,
    /// A command line that does not fit its command (`/msg` without text, `/files maybe`).
    BadCommand(CommandError),
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
            FrameError::LineTooLong { limit } => {
                write!(f, "line too long (the limit is {limit} bytes)")
            }
            FrameError::InvalidUtf8 => write!(f, "invalid UTF-8"),
            FrameError::ControlCharacter => write!(f, "control characters are not allowed"),
            FrameError::BadUsername(why) => write!(f, "bad username: {why}"),
            FrameError::BadFileName(why) => write!(f, "bad file name: {why}"),
            FrameError::FileTooLarge { size, limit } => {
                write!(f, "file too large: {size} bytes, the limit is {limit}")
            }
            FrameError::FileBeforeName => write!(f, "send your username before anything else"),
            FrameError::BadFileSize => write!(f, "bad file size: not a decimal number"),
            FrameError::MissingEnd => write!(f, "the file's bytes were not followed by <END>"),
            FrameError::UnknownFrame => write!(f, "unrecognised frame"),
            FrameError::BadCommand(why) => write!(f, "{why}"),
        }
    }
}

impl std::error::Error for FrameError {}
