//! Driving either chat/1 decoder the way a reader thread does, cut into pieces, while checking
//! how much it holds. Shared by the property tests (`tests/protocol_props.rs`) and the fuzz
//! targets (`fuzz/src/lib.rs` includes this file), so both check the same bound.
#![allow(dead_code)] // each includer uses its own part

use std::fmt::Debug;

use chat::protocol::{
    ClientFrame, ClientFrameDecoder, FrameError, ServerFrame, ServerFrameDecoder,
};

/// What a decoder handed out, in order.
pub type Decoded<F> = Vec<Result<F, FrameError>>;

/// The two decoders have the same shape; this lets one helper drive either.
pub trait Decoder {
    type Frame: Debug + PartialEq;
    fn with_limits(max_line: usize, max_file: u64) -> Self;
    fn feed(&mut self, bytes: &[u8]);
    fn next_frame(&mut self) -> Option<Result<Self::Frame, FrameError>>;
    fn buffered(&self) -> usize;
    fn encode(frame: &Self::Frame) -> Vec<u8>;
    /// The bytes of a file frame; `None` for a line frame.
    fn file_data(frame: &Self::Frame) -> Option<&[u8]>;
}

impl Decoder for ClientFrameDecoder {
    type Frame = ClientFrame;
    fn with_limits(max_line: usize, max_file: u64) -> Self {
        ClientFrameDecoder::new(max_line, max_file)
    }
    fn feed(&mut self, bytes: &[u8]) {
        ClientFrameDecoder::feed(self, bytes);
    }
    fn next_frame(&mut self) -> Option<Result<ClientFrame, FrameError>> {
        ClientFrameDecoder::next_frame(self)
    }
    fn buffered(&self) -> usize {
        ClientFrameDecoder::buffered(self)
    }
    fn encode(frame: &ClientFrame) -> Vec<u8> {
        frame.encode()
    }
    fn file_data(frame: &ClientFrame) -> Option<&[u8]> {
        match frame {
            ClientFrame::File { data, .. } => Some(data),
            _ => None,
        }
    }
}

impl Decoder for ServerFrameDecoder {
    type Frame = ServerFrame;
    fn with_limits(max_line: usize, max_file: u64) -> Self {
        ServerFrameDecoder::new(max_line, max_file)
    }
    fn feed(&mut self, bytes: &[u8]) {
        ServerFrameDecoder::feed(self, bytes);
    }
    fn next_frame(&mut self) -> Option<Result<ServerFrame, FrameError>> {
        ServerFrameDecoder::next_frame(self)
    }
    fn buffered(&self) -> usize {
        ServerFrameDecoder::buffered(self)
    }
    fn encode(frame: &ServerFrame) -> Vec<u8> {
        frame.encode()
    }
    fn file_data(frame: &ServerFrame) -> Option<&[u8]> {
        match frame {
            ServerFrame::File { data, .. } => Some(data),
            _ => None,
        }
    }
}

/// Feeds `bytes` cut into pieces of the sizes in `sizes` (taken in turn, over and over) and takes
/// out every frame after each piece, as a reader thread does after each read.
///
/// After each piece it checks the decoder's memory: at most one unfinished line (`max_line`, and
/// one byte of slack for a CR). A decoder that stopped at a fatal error keeps what was left of the
/// piece it stopped in, so from then on that piece may count too.
pub fn decode_in_pieces<D: Decoder>(
    mut decoder: D,
    max_line: usize,
    bytes: &[u8],
    sizes: &[usize],
) -> Decoded<D::Frame> {
    assert!(sizes.iter().all(|&size| size > 0), "{sizes:?}");
    let mut frames = Vec::new();
    let mut rest = bytes;
    let mut largest_piece = 0;
    let mut stopped = false;
    for &size in sizes.iter().cycle() {
        if rest.is_empty() {
            break;
        }
        let (piece, tail) = rest.split_at(size.min(rest.len()));
        decoder.feed(piece);
        let before = frames.len();
        frames.extend(std::iter::from_fn(|| decoder.next_frame()));
        largest_piece = largest_piece.max(piece.len());
        stopped |= frames[before..]
            .iter()
            .any(|frame| frame.as_ref().is_err_and(FrameError::is_fatal));
        let bound = max_line + 1 + if stopped { largest_piece } else { 0 };
        assert!(
            decoder.buffered() <= bound,
            "{} bytes buffered, bound {bound}",
            decoder.buffered()
        );
        rest = tail;
    }
    frames
}

/// Feeds `bytes` whole and takes out every frame.
pub fn decode_whole<D: Decoder>(mut decoder: D, bytes: &[u8]) -> Decoded<D::Frame> {
    decoder.feed(bytes);
    std::iter::from_fn(|| decoder.next_frame()).collect()
}
