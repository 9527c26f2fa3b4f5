//! What every fuzz target checks, for either decoder of `chat::protocol`.
//!
//! An input is cut in two: its first byte says how many piece sizes follow (1-8), those bytes are
//! the sizes (1-256 each, taken in turn, over and over), and the rest is the stream. The stream is
//! decoded twice, fed whole and fed in those pieces, as TCP might deliver it. A panic anywhere is
//! a crash for libFuzzer; so is an `assert!` below failing:
//!
//! - the decoder never holds more than one unfinished line (plus, once it stopped at a fatal
//!   error, what was left of the piece it stopped in);
//! - frames are within the limits: a line frame at most `MAX_LINE`, a file at most `MAX_FILE`;
//! - the frames are the same whole and in pieces;
//! - each frame decoded, encoded again, decodes to itself.
//!
//! The limits are small so that short inputs cross them. libFuzzer's own `-rss_limit_mb` and
//! `-malloc_limit_mb` catch memory that grows without bound, or one allocation sized from a
//! header a peer sent.

use chat::protocol::{
    ClientFrame, ClientFrameDecoder, FrameError, ServerFrame, ServerFrameDecoder,
};
use std::fmt::Debug;

/// The longest line the decoders accept here: a file header with the longest names still fits.
pub const MAX_LINE: usize = 256;
/// The largest file the decoders accept here.
pub const MAX_FILE: u64 = 512;

/// What a decoder handed out, in order.
type Decoded<F> = Vec<Result<F, FrameError>>;

/// The two decoders have the same shape; this lets [`check`] drive either.
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

/// Runs every check on one fuzz input.
pub fn check<D: Decoder>(input: &[u8]) {
    let (sizes, stream) = split_input(input);
    let whole = decode_in_pieces::<D>(stream, &[stream.len().max(1)]);
    let in_pieces = decode_in_pieces::<D>(stream, &sizes);
    assert_eq!(whole, in_pieces, "pieces {sizes:?}");
    for frame in whole.iter().flatten() {
        match D::file_data(frame) {
            Some(data) => assert!(data.len() as u64 <= MAX_FILE, "{} bytes", data.len()),
            // A line frame encodes to its line and LF; that line was at most MAX_LINE.
            None => assert!(D::encode(frame).len() <= MAX_LINE + 1, "{frame:?}"),
        }
        let again = decode_in_pieces::<D>(&D::encode(frame), &[usize::MAX]);
        assert!(
            matches!(again.as_slice(), [Ok(same)] if same == frame),
            "{frame:?} encoded and decoded again is {again:?}"
        );
    }
}

/// The piece sizes and the stream of one input (see the module comment).
fn split_input(input: &[u8]) -> (Vec<usize>, &[u8]) {
    let Some((&count, rest)) = input.split_first() else {
        return (vec![1], &[]);
    };
    let count = usize::from(count % 8 + 1).min(rest.len());
    let (sizes, stream) = rest.split_at(count);
    let mut sizes: Vec<usize> = sizes.iter().map(|&size| usize::from(size) + 1).collect();
    if sizes.is_empty() {
        sizes.push(1);
    }
    (sizes, stream)
}

/// Feeds `bytes` in pieces of the sizes in `sizes` (in turn, over and over), taking out every
/// frame after each piece, and checks after each piece how much the decoder holds.
fn decode_in_pieces<D: Decoder>(bytes: &[u8], sizes: &[usize]) -> Decoded<D::Frame> {
    let mut decoder = D::with_limits(MAX_LINE, MAX_FILE);
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
        // One unfinished line, with a byte of slack for its CR.
        let bound = MAX_LINE + 1 + if stopped { largest_piece } else { 0 };
        assert!(
            decoder.buffered() <= bound,
            "{} bytes buffered, bound {bound}",
            decoder.buffered()
        );
        rest = tail;
    }
    frames
}
