//! The real `chat-client` against a fake server that misbehaves: it dies in the middle of a file,
//! sends garbage, announces absurd file sizes, sends a line that never ends, and names files so
//! they would land outside the downloads folder. Whatever it does, the client keeps its memory
//! bounded, prints nothing that could drive a terminal, writes no partial file and nothing
//! outside its downloads folder, and ends with one `[ERROR]` line once the connection is gone.
//!
//! Memory is read from `/proc/<pid>/status`: `VmRSS` sampled between the fake server's writes
//! (each write blocks until the client has read enough, so the samples follow its progress), and
//! `VmHWM`, the kernel's own high-water mark, so no peak between two samples is missed. Each
//! memory test sends at least twice `MEMORY_BOUND_KIB`: a client that kept what it was sent
//! would go over.
//!
//! Already covered in tests/client.rs, not repeated here: a server closing after 50 bytes of a
//! file (`server_closing_mid_file_leaves_no_partial_file`), ESC and OSC in a message
//! (`escape_sequences_are_refused_and_never_printed`), a refused 999999999999-byte file
//! (`oversized_file_is_refused_and_nothing_is_written`), `../../x` as a file name
//! (`hostile_file_name_is_refused_and_nothing_is_written`), and a non-numeric size
//! (`bad_file_size_from_the_server_exits_non_zero`).

mod common;

use std::fs;
use std::os::unix::fs::symlink;

use common::binaries::{
    Chat, ClientProcess, DOWNLOADS, FakeServer, TestDir, chat_log, peak_rss_kib, rss_kib,
};

const LIMIT_64_MIB: u64 = 64 * 1024 * 1024;
/// What the client may hold at its peak: its own few MiB, a read buffer and a line of 64 KiB
/// each, with room to spare. Well under what the memory tests send.
const MEMORY_BOUND_KIB: u64 = 16 * 1024;
/// What the memory tests send at least.
const TWICE_THE_BOUND: usize = 2 * MEMORY_BOUND_KIB as usize * 1024;
/// The fake server's writes: big enough to be quick, small next to the bound.
const CHUNK: usize = 1024 * 1024;
const CONNECTION_LOST: &str = "[ERROR] connection lost\n";
const REFUSED: &str = "[ERROR] refused a frame from the server: ";

/// A client joined as `alice` to a fake server, in a folder of its own.
fn join_as_alice(test: &str) -> Chat {
    Chat::join_as_alice(&format!("faults_{test}"), &[])
}

impl Chat {
    /// Sends `bytes` a chunk at a time; returns the most resident memory the client had
    /// between two chunks, in KiB.
    fn pump(&mut self, bytes: &[u8]) -> u64 {
        bytes
            .chunks(CHUNK)
            .map(|chunk| self.send_and_sample(chunk))
            .max()
            .unwrap_or(0)
    }

    /// Sends `total` bytes of `byte` like [`pump`](Self::pump).
    fn pump_repeated(&mut self, byte: u8, total: usize) -> u64 {
        let chunk = vec![byte; CHUNK];
        let mut most = 0;
        let mut left = total;
        while left > 0 {
            let n = left.min(CHUNK);
            most = most.max(self.send_and_sample(&chunk[..n]));
            left -= n;
        }
        most
    }

    /// A write blocks until the client has read enough of what came before: sampling after it
    /// follows the client's progress.
    fn send_and_sample(&mut self, bytes: &[u8]) -> u64 {
        self.peer.send(bytes);
        rss_kib(self.client.id()).expect("the client is running")
    }

    /// Asserts that the client's memory stayed under the bound, at every moment so far.
    fn assert_memory_bounded(&self, sampled_kib: u64) {
        let peak = peak_rss_kib(self.client.id()).expect("the client is running");
        assert!(
            peak < MEMORY_BOUND_KIB,
            "the client's peak resident memory was {peak} KiB (the most sampled: {sampled_kib} \
             KiB); the bound is {MEMORY_BOUND_KIB} KiB"
        );
    }

    /// The server goes away in order; the client says so in one line and exits with status 1.
    fn close_and_expect_connection_lost(&mut self) {
        self.peer.close();
        expect_connection_lost(&mut self.client);
    }
}

fn expect_connection_lost(client: &mut ClientProcess) {
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, CONNECTION_LOST);
}

/// Asserts that `bytes` are text a terminal only prints: valid UTF-8 whose only control
/// characters are LF and TAB. No ESC, no CSI, no BEL, no lone CR, no NUL.
fn assert_terminal_safe(bytes: &[u8], what: &str) {
    let text = std::str::from_utf8(bytes).unwrap_or_else(|e| panic!("{what} is not UTF-8: {e}"));
    if let Some(c) = text
        .chars()
        .find(|&c| c.is_control() && c != '\n' && c != '\t')
    {
        panic!("{what} holds the control character U+{:04X}", u32::from(c));
    }
}

/// A sized file frame from the server, whatever its name.
fn file_frame(from: &str, name: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = format!("[FILE]:{from}:{name}:{}\n", data.len()).into_bytes();
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(b"<END>\n");
    bytes
}

/// Reproducible noise (xorshift64), so a failure can be replayed.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        bytes.extend_from_slice(&state.to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

// ---------------------------------------------------------------------------------------------
// The server dies in the middle of a file
// ---------------------------------------------------------------------------------------------

#[test]
fn server_gone_at_any_point_of_a_file_leaves_no_file() {
    let data = noise(CHUNK);
    let header = format!("[FILE]:bob:cut.bin:{}", data.len()).into_bytes();
    let whole = [header.as_slice(), b"\n", &data].concat();
    let cuts: [(&str, Vec<u8>); 7] = [
        ("in the header", header.clone()),
        ("after the header", [&header[..], b"\n"].concat()),
        ("in the bytes", whole[..whole.len() / 2].to_vec()),
        ("after the bytes", whole.clone()),
        ("in <END>", [&whole[..], b"<EN"].concat()),
        ("before the LF", [&whole[..], b"<END>"].concat()),
        ("between CR and LF", [&whole[..], b"<END>\r"].concat()),
    ];
    for (n, (cut, bytes)) in cuts.into_iter().enumerate() {
        let mut chat = join_as_alice(&format!("gone_mid_file_{n}"));
        chat.peer.send(&bytes);
        chat.close_and_expect_connection_lost();
        let shown = chat.client.shown();
        assert!(!shown.contains("[ERROR]"), "gone {cut}: {shown}");
        assert!(!shown.contains("Received"), "gone {cut}: {shown}");
        // No file, no temporary `.part`: the downloads folder was never even made.
        assert_eq!(chat.dir.tree(), ["chat_log.txt"], "gone {cut}");
    }
}

#[test]
fn server_gone_during_the_handshake_says_connection_lost_once() {
    for (n, case) in ["before the greeting", "at the prompt", "before the welcome"]
        .into_iter()
        .enumerate()
    {
        let dir = TestDir::new(&format!("faults_gone_in_handshake_{n}"));
        let server = FakeServer::start();
        let port = server.port();
        let mut args = vec!["--port", &port];
        if case == "before the welcome" {
            args.extend(["--name", "alice"]);
        }
        let mut client = ClientProcess::start(&dir, &args);
        let mut peer = server.accept();
        match case {
            "at the prompt" => {
                peer.send_line("[INFO]:Welcome to chat. Please enter your username.");
                client.expect("Enter your username: ");
            }
            "before the welcome" => peer.expect_line("alice"),
            _ => {}
        }
        peer.close();
        expect_connection_lost(&mut client);
        assert!(!client.shown().contains("[ERROR]"), "gone {case}");
    }
}

#[test]
fn server_reset_mid_file_leaves_no_file_and_one_error_line() {
    let mut chat = join_as_alice("reset_mid_file");
    let size = 8 * CHUNK;
    chat.peer
        .send(format!("[FILE]:bob:half.bin:{size}\n").as_bytes());
    chat.pump_repeated(b'h', size / 2);
    // A killed server with input it never read: the kernel resets the connection.
    chat.client.type_line("are you there?");
    chat.peer.reset();
    expect_connection_lost(&mut chat.client);
    assert!(!chat.client.shown().contains("[ERROR]"));
    assert_eq!(chat.dir.tree(), ["chat_log.txt"]);
}

// ---------------------------------------------------------------------------------------------
// Garbage
// ---------------------------------------------------------------------------------------------

/// Lines a terminal would act on, in every kind of frame the client prints.
const TERMINAL_ATTACKS: &[&[u8]] = &[
    b"eve: \x1b]0;pwned\x07",           // OSC: retitle the window
    b"eve: \x1b]52;c;cm0gLXJmIH4=\x07", // OSC 52: write the clipboard
    b"eve: \x1bP+q544e\x1b\\",          // DCS: ask the terminal to answer
    b"eve: \x1b[6n",                    // CSI: ask for the cursor position
    b"[INFO]:\x1b[2J\x1b[H",            // clear the screen
    b"[ERROR]:\xc2\x9b31m",             // CSI as a C1 code point (U+009B)
    b"[JOIN]:\x1b[31mmallory",
    b"[LEAVE]:bob\x1b[8m",
    b"[USERS]:alice,\x1b[8m",
    b"bob: forged\rcarol: hi", // a lone CR: a line that seems from carol
    b"bob: bell\x07",
    b"bob: nul\x00",
    b"bob: del\x7f",
    b"\x9b31m",                             // CSI as a raw 8-bit byte: not UTF-8
    b"[FILE]:eve:\x1b]0;x\x07:3\nabc<END>", // ESC in a file name
    b"[FILE]:\x1b[1m:x:3\nabc<END>",        // ESC in a sender's name
];

#[test]
fn garbage_from_the_server_never_reaches_the_terminal_raw() {
    let mut chat = join_as_alice("garbage");
    // Short lines first (an LF every 256 bytes on average), each refused on its own; then, to
    // test the memory bound without printing a refusal per 256 bytes, a block of long lines
    // (one LF in 64 kept: about 16 KiB each) sent over and over.
    let mut sampled = chat.pump(&noise(CHUNK));
    let mut long_lines = noise(CHUNK);
    for (n, byte) in long_lines
        .iter_mut()
        .filter(|byte| **byte == b'\n')
        .enumerate()
    {
        if n % 64 != 0 {
            *byte = b'\r';
        }
    }
    for _ in 0..TWICE_THE_BOUND / CHUNK {
        sampled = sampled.max(chat.send_and_sample(&long_lines));
    }
    let mut attacks = b"\n".to_vec();
    for attack in TERMINAL_ATTACKS {
        attacks.extend_from_slice(attack);
        attacks.push(b'\n');
    }
    chat.peer.send(&attacks);
    chat.peer.send_line("bob: still here");
    chat.client.expect("bob: still here\n");

    assert_terminal_safe(chat.client.shown_bytes(), "stdout");
    let log = fs::read(chat.dir.join("chat_log.txt")).unwrap();
    assert_terminal_safe(&log, "the chat log");
    // Every attack was refused whole, not printed in part.
    for text in [
        "pwned", "cm0g", "544e", "mallory", "forged", "bell", "nul", "del",
    ] {
        assert!(!chat.client.shown().contains(text), "{text:?} was shown");
    }
    // Still in step and still working both ways.
    chat.client.type_line("still typing");
    chat.peer.expect_line("still typing");
    chat.assert_memory_bounded(sampled);
    chat.close_and_expect_connection_lost();
}

// ---------------------------------------------------------------------------------------------
// Sizes and lines that would not fit in memory
// ---------------------------------------------------------------------------------------------

#[test]
fn oversized_file_is_skipped_in_bounded_memory_and_the_stream_stays_in_step() {
    let mut chat = join_as_alice("oversized_skipped");
    let size = LIMIT_64_MIB + 1;
    chat.peer
        .send(format!("[FILE]:eve:big.bin:{size}\n").as_bytes());
    let sampled = chat.pump_repeated(b'x', size as usize);
    chat.peer.send(b"<END>\nbob: after the big file\n");
    chat.client.expect(&format!(
        "{REFUSED}file too large: {size} bytes, the limit is {LIMIT_64_MIB}\n\
         bob: after the big file\n"
    ));
    chat.assert_memory_bounded(sampled);
    assert_eq!(chat.dir.tree(), ["chat_log.txt"]);
}

#[test]
fn huge_announced_sizes_are_refused_without_allocating() {
    for (n, size) in [1u64 << 63, u64::MAX].into_iter().enumerate() {
        let mut chat = join_as_alice(&format!("huge_size_{n}"));
        chat.peer
            .send(format!("[FILE]:eve:huge.bin:{size}\n").as_bytes());
        // Twice the bound of what it announced: skipped as it arrives, never kept.
        let sampled = chat.pump_repeated(b'x', TWICE_THE_BOUND);
        chat.client.expect(&format!(
            "{REFUSED}file too large: {size} bytes, the limit is {LIMIT_64_MIB}\n"
        ));
        chat.assert_memory_bounded(sampled);
        // The receiver skips on; the user can still talk.
        chat.client.type_line("still typing");
        chat.peer.expect_line("still typing");
        chat.close_and_expect_connection_lost();
        assert_eq!(chat.dir.tree(), ["chat_log.txt"]);
    }
}

#[test]
fn size_beyond_64_bits_ends_the_connection_with_one_line() {
    let mut chat = join_as_alice("size_beyond_64_bits");
    // u64::MAX + 1: digits only, but where the frame ends cannot be known.
    chat.peer.send(b"[FILE]:eve:x:18446744073709551616\n");
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        "[ERROR] the server broke the protocol: bad file size: not a decimal number\n"
    );
    assert_eq!(chat.dir.tree(), ["chat_log.txt"]);
}

#[test]
fn endless_line_is_refused_once_in_bounded_memory() {
    let mut chat = join_as_alice("endless_line");
    chat.peer.send(b"bob: ");
    let sampled = chat.pump_repeated(b'a', TWICE_THE_BOUND);
    chat.peer.send(b"\nbob: after the long line\n");
    chat.client.expect(&format!(
        "{REFUSED}line too long (the limit is 65536 bytes)\nbob: after the long line\n"
    ));
    assert_eq!(chat.client.shown().matches("line too long").count(), 1);
    chat.assert_memory_bounded(sampled);
}

// ---------------------------------------------------------------------------------------------
// File names
// ---------------------------------------------------------------------------------------------

#[test]
fn file_names_that_leave_the_folder_are_refused_and_nothing_is_written() {
    let mut chat = join_as_alice("names_leave_folder");
    // Out of the test's folder altogether, into the folder that holds it.
    let escape = format!("chat-escape-{}", std::process::id());
    let outside = chat.dir.0.parent().unwrap().join(&escape);
    let absolute = chat.dir.join("absolute-x").to_str().unwrap().to_owned();
    let slash = "bad file name: it contains '/'";
    let dots = "bad file name: '.' and '..' are not file names";
    let too_long = "bad file name: it is longer than 200";
    let control = |code: &str| format!("bad file name: it contains the control character {code}");
    let cases: Vec<(&str, String, String)> = vec![
        ("eve", "../x".into(), slash.into()),
        ("eve", "../../../x".into(), slash.into()),
        ("eve", format!("../../../../{escape}"), slash.into()),
        ("eve", absolute, slash.into()),
        ("eve", "a/b".into(), slash.into()),
        ("eve", "dir/".into(), slash.into()),
        ("eve", "..".into(), dots.into()),
        ("eve", ".".into(), dots.into()),
        (
            "eve",
            "..\\x".into(),
            "bad file name: it contains '\\'".into(),
        ),
        (
            "eve",
            "C:\\x".into(),
            "bad file name: it contains ':'".into(),
        ),
        ("eve", "x\0y".into(), control("U+0000")),
        ("eve", "\x1b]0;t\x07".into(), control("U+001B")),
        ("eve", "a\rb".into(), control("U+000D")),
        ("eve", "n".repeat(201), too_long.into()),
        ("eve", "n".repeat(4000), too_long.into()),
        ("eve", String::new(), "bad file name: it is empty".into()),
        ("../eve", "x".into(), "bad username: it contains '/'".into()),
    ];
    let mut expected = String::new();
    for (from, name, why) in &cases {
        chat.peer.send(&file_frame(from, name, b"abc"));
        expected.push_str(&format!("{REFUSED}{why}\n"));
    }
    chat.peer.send_line("[JOIN]:bob");
    expected.push_str("bob has joined the chat room.\n");
    chat.client.expect(&expected);

    assert_terminal_safe(chat.client.shown_bytes(), "stdout");
    // Nothing anywhere in the test's folder but the chat log (no downloads folder either),
    // and nothing next to it.
    assert_eq!(chat.dir.tree(), ["chat_log.txt"]);
    assert!(!outside.exists(), "{} was written", outside.display());
}

#[test]
fn planted_symlinks_in_downloads_are_never_written_through() {
    let mut chat = join_as_alice("planted_symlinks");
    let downloads = chat.dir.join(DOWNLOADS);
    fs::create_dir_all(&downloads).unwrap();
    // Someone who can write the downloads folder points the names the client will try first
    // (the final name, and its first temporary name) at files outside it.
    let temp = format!(".received_notes.txt.{}-0.part", chat.client.id());
    symlink(
        chat.dir.join("outside.txt"),
        downloads.join("received_notes.txt"),
    )
    .unwrap();
    symlink(chat.dir.join("outside.part"), downloads.join(&temp)).unwrap();

    chat.peer.send(&file_frame("bob", "notes.txt", b"secret"));
    chat.client.expect(
        "[Notification] Received file: a/b/downloads/received_notes-1.txt (6 bytes, from bob)\n",
    );

    assert!(
        !chat.dir.join("outside.txt").exists(),
        "written through a link"
    );
    assert!(
        !chat.dir.join("outside.part").exists(),
        "written through a link"
    );
    assert_eq!(
        fs::read(downloads.join("received_notes-1.txt")).unwrap(),
        b"secret"
    );
    let folder = format!("{DOWNLOADS}/");
    assert_eq!(
        chat.dir.tree(),
        [
            "a".to_owned(),
            "a/b".to_owned(),
            DOWNLOADS.to_owned(),
            format!("{folder}{temp}"),
            format!("{folder}received_notes-1.txt"),
            format!("{folder}received_notes.txt"),
            "chat_log.txt".to_owned(),
        ]
    );
}

#[test]
fn longest_file_name_is_saved_inside_downloads() {
    // 200 bytes, the most a name may have: `received_`, a `-1` and the temporary name's
    // `.<pid>-<n>.part` must all still fit in the file system's 255.
    let mut chat = join_as_alice("longest_name");
    let stem = "n".repeat(196);
    let name = format!("{stem}.txt");
    chat.peer.send(&file_frame("bob", &name, b"one"));
    chat.peer.send(&file_frame("bob", &name, b"two"));
    chat.client.expect(&format!(
        "[Notification] Received file: {DOWNLOADS}/received_{name} (3 bytes, from bob)\n\
         [Notification] Received file: {DOWNLOADS}/received_{stem}-1.txt (3 bytes, from bob)\n"
    ));
    assert_eq!(
        chat.dir.entries(DOWNLOADS),
        [format!("received_{stem}-1.txt"), format!("received_{name}")]
    );
}

#[test]
fn file_names_with_invisible_characters_are_refused_and_nothing_is_written() {
    let mut chat = join_as_alice("names_invisible");
    let invisible =
        |code: &str| format!("bad file name: it contains the invisible character {code}");
    let cases = [
        // Shown as received_exe.txt by a terminal that reorders right-to-left text.
        ("\u{202e}txt.exe", invisible("U+202E")),
        ("a\u{2066}b.txt", invisible("U+2066")),
        ("zero\u{200b}width", invisible("U+200B")),
        ("\u{feff}bom", invisible("U+FEFF")),
        ("two\u{2028}lines", invisible("U+2028")),
    ];
    let mut expected = String::new();
    for (name, why) in &cases {
        chat.peer.send(&file_frame("eve", name, b"abc"));
        expected.push_str(&format!("{REFUSED}{why}\n"));
    }
    chat.peer.send_line("[JOIN]:bob");
    expected.push_str("bob has joined the chat room.\n");
    chat.client.expect(&expected);
    assert_eq!(chat.dir.tree(), ["chat_log.txt"]);
}

// ---------------------------------------------------------------------------------------------
// Text that reorders what follows it
// ---------------------------------------------------------------------------------------------

#[test]
fn bidi_overrides_and_isolates_in_a_message_end_with_its_line() {
    let mut chat = join_as_alice("bidi_closed");
    // An override, an embedding and an isolate left open, then one the sender closed itself.
    chat.peer
        .send_line("eve: \u{202e}gnp.exe\u{2067}x\u{202b}y");
    chat.peer.send_line("eve: \u{2067}closed\u{2069} ok");
    let shown = "eve: \u{202e}gnp.exe\u{2067}x\u{202b}y\u{202c}\u{2069}\u{202c}\n\
                 eve: \u{2067}closed\u{2069} ok\n";
    chat.client.expect(shown);
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    assert!(chat.client.finish().0.success());
    let log = chat_log(&chat.dir.join("chat_log.txt"));
    assert!(log.ends_with(shown), "{log:?}");
}
