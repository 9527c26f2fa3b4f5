//! Property tests of the chat/1 decoders in `src/protocol.rs`: TCP may cut a stream anywhere, so
//! the frames that come out must not depend on where the cuts fall, and no bytes at all may make a
//! decoder panic or hold more than about one line in memory.
//!
//! The unit tests in `protocol.rs` pin exact cases; these try many generated ones. `make fuzz`
//! (the `fuzz/` crate) runs the same checks on hostile bytes under libFuzzer, for longer.

use chat::protocol::{
    ClientFrame, ClientFrameDecoder, Command, END_MARKER, FILE_TAG, ServerFrame,
    ServerFrameDecoder, is_invisible,
};
use proptest::collection::vec;
use proptest::prelude::*;

#[path = "common/decoding.rs"]
mod decoding;
use decoding::{Decoded, decode_in_pieces, decode_whole};

/// Limits for the round trips: valid frames must fit, so lines get room.
const ROOMY_LINE: usize = 1024;
const ROOMY_FILE: u64 = 4096;

/// Limits for hostile bytes: small, so that the inputs below cross them often.
const SMALL_LINE: usize = 64;
const SMALL_FILE: u64 = 512;

/// Piece sizes: mostly tiny (cuts between a CR and its LF, inside `<END>`...), some large.
fn piece_sizes() -> impl Strategy<Value = Vec<usize>> {
    vec(prop_oneof![3 => 1usize..=8, 1 => 1usize..=700], 1..8)
}

/// A character that may appear in a line of text: anything but a control character (TAB is
/// allowed), mostly printable ASCII so that `:`, `[`, spaces and the like come up often.
fn text_char() -> impl Strategy<Value = char> {
    prop_oneof![
        4 => proptest::char::range(' ', '~'),
        1 => Just('\t'),
        1 => any::<char>().prop_filter("no control characters", |c| !c.is_control()),
    ]
}

fn text(max_chars: usize) -> impl Strategy<Value = String> {
    vec(text_char(), 0..=max_chars).prop_map(String::from_iter)
}

fn username() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_.-]{1,32}"
}

fn file_name() -> impl Strategy<Value = String> {
    let name_char = text_char().prop_filter("not a file name character", |c| {
        !matches!(c, '/' | '\\' | ':') && !c.is_control() && !is_invisible(*c)
    });
    vec(name_char, 1..=40)
        .prop_map(String::from_iter)
        .prop_filter("'.' and '..' are not file names", |name| {
            name != "." && name != ".."
        })
}

/// File bytes: random bytes mixed with the pieces a body must not be confused by.
fn file_data() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => vec(any::<u8>(), 0..40),
        1 => Just(b"<END>\n".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        1 => Just(b"\n".to_vec()),
        1 => Just(b"[FILE]:x:3\n".to_vec()),
    ];
    vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

/// A command, as `Command::parse` hands it out: a `/msg` text never starts with a space (the
/// spaces after NAME separate it), and an unknown command is a line no known command takes.
fn command() -> impl Strategy<Value = Command> {
    let msg_text = text(60).prop_filter("no text after the spaces", |text| {
        !text.is_empty() && !text.starts_with(' ')
    });
    let unknown = text(40)
        .prop_map(|rest| format!("/{rest}"))
        .prop_filter("a known command or an escaped message", |line| {
            matches!(Command::parse(line), Some(Ok(Command::Unknown(_))))
        });
    prop_oneof![
        Just(Command::Users),
        Just(Command::Help),
        any::<bool>().prop_map(Command::Files),
        (username(), msg_text).prop_map(|(to, text)| Command::Msg { to, text }),
        unknown.prop_map(Command::Unknown),
    ]
}

/// A client frame and one way a client may put it on the wire: `encode()`, the same with CR LF
/// line ends (telnet), or for a file of text lines the text form netcat users type.
fn client_frame_on_the_wire() -> impl Strategy<Value = (ClientFrame, Vec<u8>)> {
    let message = text(80).prop_filter("would read back as another frame", |text| {
        !text.is_empty() && text != "exit" && !text.starts_with(FILE_TAG)
    });
    let line_frame = prop_oneof![
        message.prop_map(ClientFrame::Text),
        command().prop_map(ClientFrame::Command),
        Just(ClientFrame::Empty),
        Just(ClientFrame::Exit),
    ];
    let line_wire = (line_frame, any::<bool>()).prop_map(|(frame, crlf)| {
        let mut wire = frame.encode();
        if crlf {
            wire.insert(wire.len() - 1, b'\r');
        }
        (frame, wire)
    });
    let sized_file = (file_name(), file_data(), any::<bool>()).prop_map(|(name, data, crlf)| {
        let mut crlf_wire = format!("{FILE_TAG}{name}:{}\r\n", data.len()).into_bytes();
        crlf_wire.extend_from_slice(&data);
        crlf_wire.extend_from_slice(format!("{END_MARKER}\r\n").as_bytes());
        let frame = ClientFrame::File { name, data };
        let wire = if crlf { crlf_wire } else { frame.encode() };
        (frame, wire)
    });
    let text_lines = vec(
        text(60).prop_filter("ends the file", |line| line != END_MARKER),
        0..8,
    );
    let text_file = (file_name(), text_lines, any::<bool>()).prop_map(|(name, lines, crlf)| {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut wire = format!("{FILE_TAG}{name}{eol}");
        let mut data = Vec::new();
        for line in &lines {
            wire.push_str(&format!("{line}{eol}"));
            data.extend_from_slice(line.as_bytes());
            data.push(b'\n');
        }
        wire.push_str(&format!("{END_MARKER}{eol}"));
        (ClientFrame::File { name, data }, wire.into_bytes())
    });
    prop_oneof![3 => line_wire, 1 => sized_file, 1 => text_file]
}

fn server_frame() -> impl Strategy<Value = ServerFrame> {
    prop_oneof![
        text(80).prop_map(ServerFrame::Info),
        username().prop_map(ServerFrame::Welcome),
        vec(username(), 0..6).prop_map(ServerFrame::Users),
        (username(), text(80)).prop_map(|(from, text)| ServerFrame::Message { from, text }),
        (username(), text(80)).prop_map(|(from, text)| ServerFrame::Private { from, text }),
        (any::<u64>(), username(), text(80)).prop_map(|(at, from, text)| ServerFrame::History {
            at,
            from,
            text
        }),
        text(80).prop_map(ServerFrame::Notice),
        username().prop_map(ServerFrame::Join),
        username().prop_map(ServerFrame::Leave),
        (username(), file_name(), file_data()).prop_map(|(from, name, data)| ServerFrame::File {
            from,
            name,
            data
        }),
        text(80).prop_map(ServerFrame::Error),
        text(80).prop_map(ServerFrame::Auth),
    ]
}

/// Bytes a hostile peer might send: random bytes mixed with the pieces of the protocol and with
/// whole valid frames, so that headers, sizes, `<END>`, over-long lines, broken UTF-8 and files
/// taken whole all come up.
fn hostile_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        3 => client_frame_on_the_wire().prop_map(|(_, wire)| wire),
        3 => server_frame().prop_map(|frame| frame.encode()),
        4 => vec(any::<u8>(), 0..20),
        2 => Just(b"\n".to_vec()),
        1 => Just(b"\r\n".to_vec()),
        1 => Just(b"\r".to_vec()),
        2 => Just(b"[FILE]:".to_vec()),
        1 => Just(b"[FILE]:eve:".to_vec()),
        // Whole headers, so that bodies are taken (or skipped) often, not only by luck.
        1 => (0u64..=600).prop_map(|size| format!("[FILE]:x:{size}\n").into_bytes()),
        1 => (0u64..=600).prop_map(|size| format!("[FILE]:eve:x:{size}\n").into_bytes()),
        1 => Just(b"[FILE]:t.txt\n".to_vec()),
        2 => Just(b"<END>".to_vec()),
        1 => Just(b":".to_vec()),
        2 => (0u64..=600).prop_map(|size| size.to_string().into_bytes()),
        1 => Just(b"exit".to_vec()),
        1 => username().prop_map(String::into_bytes),
        1 => Just(b": ".to_vec()),
        1 => Just(b"[USERS]:".to_vec()),
        1 => Just(b"[PM]:".to_vec()),
        1 => Just(b"[HISTORY]:".to_vec()),
        1 => Just(b"[NOTICE]:".to_vec()),
        2 => Just(b"/".to_vec()),
        1 => Just(b"/msg ".to_vec()),
        1 => Just(b"/users".to_vec()),
        1 => Just(b"/files ".to_vec()),
        1 => Just(b"\xc3".to_vec()),
        1 => (0usize..=150).prop_map(|len| vec![b'x'; len]),
    ];
    vec(piece, 0..40).prop_map(|pieces| pieces.concat())
}

/// A decoder's frames must stay within its limits, whatever it was fed.
fn check_client_frame_sizes(frames: &Decoded<ClientFrame>) {
    for frame in frames.iter().flatten() {
        match frame {
            ClientFrame::Text(text) => assert!(text.len() <= SMALL_LINE, "{text:?}"),
            ClientFrame::Command(command) => {
                assert!(command.to_string().len() <= SMALL_LINE, "{command:?}");
            }
            ClientFrame::File { data, .. } => assert!(data.len() as u64 <= SMALL_FILE),
            ClientFrame::Empty | ClientFrame::Exit => {}
        }
    }
}

fn check_server_frame_sizes(frames: &Decoded<ServerFrame>) {
    for frame in frames.iter().flatten() {
        match frame {
            ServerFrame::File { data, .. } => assert!(data.len() as u64 <= SMALL_FILE),
            // Every other frame is one line: re-encoded, with its LF, it is no longer.
            other => assert!(other.encode().len() <= SMALL_LINE + 1, "{other:?}"),
        }
    }
}

proptest! {
    // 256 cases per property keep this file at a few seconds in a debug build.
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn client_frames_decode_the_same_however_the_stream_is_cut(
        frames in vec(client_frame_on_the_wire(), 0..12),
        sizes in piece_sizes(),
    ) {
        let bytes: Vec<u8> = frames.iter().flat_map(|(_, wire)| wire.clone()).collect();
        let expected: Decoded<ClientFrame> =
            frames.into_iter().map(|(frame, _)| Ok(frame)).collect();
        let decoder = ClientFrameDecoder::new(ROOMY_LINE, ROOMY_FILE);
        prop_assert_eq!(decode_in_pieces(decoder, ROOMY_LINE, &bytes, &sizes), expected);
    }

    #[test]
    fn server_frames_decode_the_same_however_the_stream_is_cut(
        frames in vec(server_frame(), 0..12),
        sizes in piece_sizes(),
    ) {
        let bytes: Vec<u8> = frames.iter().flat_map(ServerFrame::encode).collect();
        let expected: Decoded<ServerFrame> = frames.into_iter().map(Ok).collect();
        let decoder = ServerFrameDecoder::new(ROOMY_LINE, ROOMY_FILE);
        prop_assert_eq!(decode_in_pieces(decoder, ROOMY_LINE, &bytes, &sizes), expected);
    }

    #[test]
    fn client_decoder_survives_any_bytes_within_its_bounds(
        bytes in hostile_bytes(),
        sizes in piece_sizes(),
    ) {
        let decoder = ClientFrameDecoder::new(SMALL_LINE, SMALL_FILE);
        check_client_frame_sizes(&decode_in_pieces(decoder, SMALL_LINE, &bytes, &sizes));
    }

    #[test]
    fn server_decoder_survives_any_bytes_within_its_bounds(
        bytes in hostile_bytes(),
        sizes in piece_sizes(),
    ) {
        let decoder = ServerFrameDecoder::new(SMALL_LINE, SMALL_FILE);
        check_server_frame_sizes(&decode_in_pieces(decoder, SMALL_LINE, &bytes, &sizes));
    }

    #[test]
    fn client_decoding_of_any_bytes_does_not_depend_on_the_cuts(
        bytes in hostile_bytes(),
        sizes in piece_sizes(),
    ) {
        let at_once = decode_whole(ClientFrameDecoder::new(SMALL_LINE, SMALL_FILE), &bytes);
        let decoder = ClientFrameDecoder::new(SMALL_LINE, SMALL_FILE);
        prop_assert_eq!(decode_in_pieces(decoder, SMALL_LINE, &bytes, &sizes), at_once);
    }

    #[test]
    fn server_decoding_of_any_bytes_does_not_depend_on_the_cuts(
        bytes in hostile_bytes(),
        sizes in piece_sizes(),
    ) {
        let at_once = decode_whole(ServerFrameDecoder::new(SMALL_LINE, SMALL_FILE), &bytes);
        let decoder = ServerFrameDecoder::new(SMALL_LINE, SMALL_FILE);
        prop_assert_eq!(decode_in_pieces(decoder, SMALL_LINE, &bytes, &sizes), at_once);
    }
}
