//! Helpers the unit tests of `src/protocol/` share: small limits, so that short inputs cross
//! them, and a decoder fed all at once or one byte at a time.

use super::{ClientFrame, ClientFrameDecoder, FrameError, ServerFrame, ServerFrameDecoder};

/// The longest line the test decoders accept.
pub(super) const LIMIT: usize = 64;
/// The largest file the test decoders accept.
pub(super) const FILE_LIMIT: u64 = 1000;

/// What a decoder handed out, in order.
pub(super) type Decoded<F> = Vec<Result<F, FrameError>>;

/// Decodes everything a client sent, fed all at once.
pub(super) fn client_frames(bytes: &[u8]) -> Decoded<ClientFrame> {
    let mut decoder = ClientFrameDecoder::new(LIMIT, FILE_LIMIT);
    decoder.feed(bytes);
    std::iter::from_fn(|| decoder.next_frame()).collect()
}

/// Decodes everything a client sent, fed one byte at a time.
pub(super) fn client_frames_bytewise(bytes: &[u8]) -> Decoded<ClientFrame> {
    let mut decoder = ClientFrameDecoder::new(LIMIT, FILE_LIMIT);
    let mut out = Vec::new();
    for byte in bytes {
        decoder.feed(std::slice::from_ref(byte));
        out.extend(std::iter::from_fn(|| decoder.next_frame()));
    }
    out
}

/// Decodes everything a server sent, fed all at once.
pub(super) fn server_frames(bytes: &[u8]) -> Decoded<ServerFrame> {
    let mut decoder = ServerFrameDecoder::new(LIMIT, FILE_LIMIT);
    decoder.feed(bytes);
    std::iter::from_fn(|| decoder.next_frame()).collect()
}

/// Decodes everything a server sent, fed one byte at a time.
pub(super) fn server_frames_bytewise(bytes: &[u8]) -> Decoded<ServerFrame> {
    let mut decoder = ServerFrameDecoder::new(LIMIT, FILE_LIMIT);
    let mut out = Vec::new();
    for byte in bytes {
        decoder.feed(std::slice::from_ref(byte));
        out.extend(std::iter::from_fn(|| decoder.next_frame()));
    }
    out
}

/// A `Text` frame, decoded.
pub(super) fn text(s: &str) -> Result<ClientFrame, FrameError> {
    Ok(ClientFrame::Text(s.to_owned()))
}

/// A `File` frame, decoded.
pub(super) fn file(name: &str, data: &[u8]) -> Result<ClientFrame, FrameError> {
    Ok(ClientFrame::File {
        name: name.to_owned(),
        data: data.to_vec(),
    })
}
