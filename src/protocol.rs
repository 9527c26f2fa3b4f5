//! The chat/1 wire protocol: bytes in, typed frames out, and frames back to bytes.
//!
//! This is the first step of the data flow: a reader thread feeds the bytes it read, in whatever
//! pieces TCP delivered them, into a decoder and takes out whole frames. The module knows nothing
//! of sockets, clocks or logging, so it is tested with plain byte slices; `docs/PROTOCOL.md` is the
//! description of the same rules for people.
//!
//! ```text
//! bytes --feed--> LineSplitter --lines, sized bodies--> ClientFrameDecoder --> ClientFrame
//!                                                       ServerFrameDecoder --> ServerFrame
//! ClientFrame / ServerFrame --encode--> bytes
//! ```
//!
//! Framing: every frame starts with one line ended by LF (a CR just before the LF is dropped). Only
//! file frames carry bytes after their header line: `[FILE]:...:<size>` LF, exactly `size` bytes,
//! then `<END>` LF. Two decoders share the line splitting: [`ClientFrameDecoder`] reads what
//! clients send (the server uses it) and [`ServerFrameDecoder`] reads what the server sends (the
//! client uses it). An incomplete frame is not an error: a decoder says "need more bytes".
//!
//! Commands: a client's line starting with one `/` is a [`Command`] (`/users`, `/msg NAME TEXT`,
//! ...), not a chat message; `//text` is the message `/text`.
//!
//! Reading order, in `src/protocol/`:
//! 1. `frames.rs`: the frames each side sends, and how each is encoded.
//! 2. `command.rs`: what a line starting with `/` asks the server for.
//! 3. `names.rs`: what a username, a file name and a line of text may hold.
//! 4. `frame_error.rs`: why a frame is refused, and which refusals end a connection.
//! 5. `framing.rs`: the splitter both decoders share, cutting bytes into lines and sized bodies.
//! 6. `client_decoder.rs`: the frames a client sends, as the server reads them.
//! 7. `server_decoder.rs`: the frames the server sends, as a client reads them, trusting nothing.

mod client_decoder;
mod command;
mod frame_error;
mod frames;
mod framing;
mod names;
mod server_decoder;
#[cfg(test)]
mod testing;

pub use client_decoder::ClientFrameDecoder;
pub use command::{COMMAND_PREFIX, Command, CommandError};
pub use frame_error::FrameError;
pub use frames::{ClientFrame, ServerFrame, file_header};
pub use names::{
    MAX_FILE_NAME_LEN, MAX_USERNAME_LEN, NameError, check_file_name, check_username,
    is_forbidden_control, is_invisible,
};
pub use server_decoder::{FileProgress, ServerFrameDecoder};

/// The longest line accepted by default, in bytes, once its LF or CRLF is removed.
pub const DEFAULT_MAX_LINE: usize = 4096;
/// The largest file accepted by default, in bytes (64 MiB).
pub const DEFAULT_MAX_FILE_SIZE: u64 = 64 * 1024 * 1024;
/// What a client sends to leave.
pub const EXIT_COMMAND: &str = "exit";
/// The text of the `[ERROR]` the server sends every client when it is stopped cleanly, as its
/// last frame: a client can tell this end from a lost connection.
pub const SHUTTING_DOWN: &str = "server is shutting down";
/// The tag that starts a file header, in both directions.
pub const FILE_TAG: &str = "[FILE]:";

/// The line that ends a file, spelled once: [`END_MARKER`] and [`END_LINE`] are its two forms.
const END: &str = "<END>\n";
/// The line that ends a file, without its LF.
pub const END_MARKER: &str = END.trim_ascii_end();
/// The line after the bytes of a file frame, LF included.
pub const END_LINE: &[u8] = END.as_bytes();
