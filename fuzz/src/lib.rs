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

// The decoder trait and the piecewise decoding are shared with the property tests.
#[path = "../../tests/common/decoding.rs"]
mod decoding;
pub use decoding::Decoder;
use decoding::{Decoded, decode_in_pieces};

/// The longest line the decoders accept here: a file header with the longest names still fits.
pub const MAX_LINE: usize = 256;
/// The largest file the decoders accept here.
pub const MAX_FILE: u64 = 512;

/// Runs every check on one fuzz input.
pub fn check<D: Decoder>(input: &[u8]) {
    let (sizes, stream) = split_input(input);
    let whole = decode::<D>(stream, &[stream.len().max(1)]);
    let in_pieces = decode::<D>(stream, &sizes);
    assert_eq!(whole, in_pieces, "pieces {sizes:?}");
    for frame in whole.iter().flatten() {
        match D::file_data(frame) {
            Some(data) => assert!(data.len() as u64 <= MAX_FILE, "{} bytes", data.len()),
            // A line frame encodes to its line and LF; that line was at most MAX_LINE.
            None => assert!(D::encode(frame).len() <= MAX_LINE + 1, "{frame:?}"),
        }
        let again = decode::<D>(&D::encode(frame), &[usize::MAX]);
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

/// Decodes `bytes` in pieces with this file's limits, checking the decoder's memory as it goes.
fn decode<D: Decoder>(bytes: &[u8], sizes: &[usize]) -> Decoded<D::Frame> {
    decode_in_pieces(D::with_limits(MAX_LINE, MAX_FILE), MAX_LINE, bytes, sizes)
}
