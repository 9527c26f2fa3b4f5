//! Invisible characters that change how text is shown: bidi embeddings, overrides and isolates,
//! zero-width characters, line and paragraph separators. In a file name they disguise it
//! (`received_\u{202e}txt.exe` shows as `received_exe.txt`), so file names refuse every format
//! character (category Cf) and U+2028/U+2029. Messages keep them (right-to-left writers need
//! some), but a shown line cannot reorder text past its own end.

use std::fs;

use chat::server::Config;

use crate::common::binaries::{Chat, DOWNLOADS};
use crate::common::{alice_and_bob, sized_file};

/// File names each holding one character to refuse.
const DISGUISED_NAMES: &[&str] = &[
    "\u{202e}txt.exe",   // right-to-left override: shows as "exe.txt"
    "a\u{202a}b.txt",    // left-to-right embedding
    "a\u{202b}b.txt",    // right-to-left embedding
    "a\u{202c}b.txt",    // pop directional formatting
    "a\u{202d}b.txt",    // left-to-right override
    "a\u{2066}b.txt",    // left-to-right isolate
    "a\u{2067}b.txt",    // right-to-left isolate
    "a\u{2068}b.txt",    // first strong isolate
    "a\u{2069}b.txt",    // pop directional isolate
    "a\u{200e}b.txt",    // left-to-right mark
    "a\u{200f}b.txt",    // right-to-left mark
    "a\u{200b}b.txt",    // zero-width space
    "a\u{200d}b.txt",    // zero-width joiner
    "a\u{2060}b.txt",    // word joiner
    "\u{feff}notes.txt", // zero-width no-break space (byte order mark)
    "a\u{2028}b.txt",    // line separator
    "a\u{2029}b.txt",    // paragraph separator
];

#[test]
fn file_names_with_format_characters_are_refused() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    for (i, name) in DISGUISED_NAMES.iter().enumerate() {
        // Sized and text form alike.
        alice.send(&sized_file(name, b"hello"));
        alice.send(format!("[FILE]:{name}\nline\n<END>\n").as_bytes());
        alice.send_line(&format!("marker {i}"));
        // Neither file reached bob: his next line is the marker.
        let line = bob.read_line();
        assert_eq!(line, format!("alice: marker {i}"), "for {name:?}");
        for _ in 0..2 {
            alice.expect_prefix("[ERROR]:bad file name");
        }
    }
}

/// Passed before the fix too, and must keep passing: refusing format characters is for file
/// names only.
#[test]
fn a_message_with_a_right_to_left_override_is_relayed() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    let text = "\u{5e9}\u{5dc}\u{5d5}\u{5dd} \u{202e}olleh\u{202c} \u{2067}abc\u{2069}";
    alice.send_line(text);
    bob.expect_line(&format!("alice: {text}"));
}

/// Whether every bidi embedding, override and isolate opened in `line` is closed in it, by the
/// rules of Unicode's bidi algorithm (UAX #9): PDF closes the last embedding or override unless
/// an isolate was opened after it; PDI closes the last isolate and all opened after it.
fn bidi_closed(line: &str) -> bool {
    let mut open = Vec::new();
    for c in line.chars() {
        match c {
            '\u{202a}'..='\u{202e}' if c != '\u{202c}' => open.push('e'),
            '\u{202c}' if open.last() == Some(&'e') => {
                open.pop();
            }
            '\u{2066}'..='\u{2068}' => open.push('i'),
            '\u{2069}' => {
                if let Some(isolate) = open.iter().rposition(|&kind| kind == 'i') {
                    open.truncate(isolate);
                }
            }
            _ => {}
        }
    }
    open.is_empty()
}

#[test]
fn the_client_closes_a_messages_bidi_overrides_at_the_end_of_its_line() {
    let mut chat = Chat::join_as_alice("attacks_bidi_message", &["--log", "chat.log"]);
    // As bob typed it: an override and an isolate, neither closed.
    chat.peer
        .send_line("bob: look \u{202e}here \u{2067}and here");
    chat.peer.send_line("bob: next");
    chat.client.expect("bob: next\n");

    let shown = chat.client.shown();
    let line = shown
        .lines()
        .find(|line| line.starts_with("bob: look"))
        .expect("the message is shown");
    assert!(line.contains("here"), "the text is shown: {line:?}");
    assert!(
        bidi_closed(line),
        "the shown line leaves a bidi override open: {line:?}"
    );
    let log = fs::read_to_string(chat.dir.join("chat.log")).unwrap();
    for line in log.lines() {
        assert!(bidi_closed(line), "the chat log leaves one open: {line:?}");
    }
}

#[test]
fn the_client_refuses_a_disguised_file_name_and_shows_it_escaped() {
    let mut chat = Chat::join_as_alice("attacks_bidi_file", &[]);
    // A hostile server (or an old one) relays a file whose name shows as "received_exe.txt".
    chat.peer
        .send(b"[FILE]:bob:\xe2\x80\xaetxt.exe:5\nhello<END>\n");
    chat.peer.send_line("bob: after");
    chat.client.expect("bob: after\n");

    let shown = chat.client.shown();
    assert!(
        shown.contains("bad file name"),
        "the file was not refused:\n{shown}"
    );
    assert!(
        !shown.contains('\u{202e}'),
        "the name was shown unescaped:\n{shown}"
    );
    let saved = chat.dir.entries(DOWNLOADS);
    assert!(saved.is_empty(), "saved: {saved:?}");
}
