//! The real `chat-client` binary against a fake server (`FakeServer` in `tests/common`): a
//! `TcpListener` on a free loopback port that speaks chat/1 by hand, so each test decides every
//! byte the client sees.
//!
//! Every wait is bounded and waits for the real event, never a sleep: the client's stdout is read
//! by a thread into a channel and waited on with `recv_timeout`, and the fake server's socket
//! reads have a read timeout. Each test runs the client in a folder of its own.

mod common;

use std::fs;

use common::binaries::{
    Chat, ClientProcess, DOWNLOADS, FILES_ON, FILES_ON_ANSWER, FakeServer, TestDir,
};

const GREETING: &str = "[INFO]:Welcome to chat. Please enter your username.";
const GREETING_SHOWN: &str = "[INFO] Welcome to chat. Please enter your username.\n";
const JOINED_AS_ALICE: &str = "[INFO] Joined as alice. Type a message, /file PATH to send a file, /help for more, \
     exit to leave.\n";
const PROMPT: &str = "Enter your username: ";
const LIMIT_64_MIB: u64 = 64 * 1024 * 1024;

/// A client started with `--name alice` and more `args`, through the handshake.
fn join_as_alice(test: &str, args: &[&str]) -> Chat {
    Chat::join_as_alice(test, args)
}

/// A client started without `--name`, connected, and not greeted yet.
fn connect_without_name(test: &str) -> Chat {
    Chat::connect(test, &[])
}

/// A file frame from the server.
fn file_frame(from: &str, name: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = format!("[FILE]:{from}:{name}:{}\n", data.len()).into_bytes();
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(b"<END>\n");
    bytes
}

/// Bytes that would break a naive reader: NUL, LF, an `<END>` line, a CR, invalid UTF-8.
const AWKWARD_BYTES: &[u8] = b"bin\x00ary\n<END>\nmore\r\n\xff<END>";

#[test]
fn name_option_joins_and_shows_welcome_and_users() {
    let dir = TestDir::new("name_option_joins");
    let server = FakeServer::start();
    let port = server.port();
    let mut client = ClientProcess::start(&dir, &["--port", &port, "--name", "alice"]);
    let mut peer = server.accept();
    peer.send_line(GREETING);
    peer.expect_line("alice");
    peer.send_line("[WELCOME]:alice\n[USERS]:bob,alice");
    client.expect(GREETING_SHOWN);
    client.expect(JOINED_AS_ALICE);
    client.expect("[INFO] Online: bob, alice\n");
    assert!(!client.shown().contains(PROMPT));
}

#[test]
fn without_name_option_prompts_for_a_username() {
    let mut chat = connect_without_name("prompts_for_a_username");
    chat.peer.send_line(GREETING);
    chat.client.expect(GREETING_SHOWN);
    chat.client.expect(PROMPT);
    chat.client.type_line("alice");
    chat.peer.expect_line("alice");
    chat.peer.send_line("[WELCOME]:alice\n[USERS]:alice");
    chat.client.expect(JOINED_AS_ALICE);
}

#[test]
fn refused_name_is_asked_for_again() {
    let mut chat = connect_without_name("refused_name_asked_again");
    chat.peer.send_line(GREETING);
    chat.client.expect(PROMPT);
    chat.client.type_line("alice");
    chat.peer.expect_line("alice");
    chat.peer.send_line("[ERROR]:username 'alice' is taken");
    chat.client
        .expect(&format!("[ERROR] username 'alice' is taken\n{PROMPT}"));
    chat.client.type_line("alice2");
    chat.peer.expect_line("alice2");
    chat.peer
        .send_line("[WELCOME]:alice2\n[USERS]:alice,alice2");
    chat.client.expect("[INFO] Joined as alice2.");
}

#[test]
fn refused_name_option_is_asked_for_on_stdin() {
    let dir = TestDir::new("refused_name_option");
    let server = FakeServer::start();
    let port = server.port();
    let mut client = ClientProcess::start(&dir, &["--port", &port, "--name", "alice"]);
    let mut peer = server.accept();
    peer.send_line(GREETING);
    peer.expect_line("alice");
    peer.send_line("[ERROR]:username 'alice' is taken");
    client.expect(&format!("[ERROR] username 'alice' is taken\n{PROMPT}"));
    client.type_line("bob");
    peer.expect_line("bob");
}

#[test]
fn files_on_is_sent_right_after_the_welcome_and_its_answer_not_shown() {
    let mut chat = Chat::connect("files_on_after_welcome", &["--name", "alice"]);
    chat.peer.send_line(GREETING);
    chat.peer.expect_line("alice");
    chat.peer.send_line("[WELCOME]:alice\n[USERS]:alice");
    chat.peer.expect_line(FILES_ON);
    chat.peer.send_line(FILES_ON_ANSWER);
    chat.peer.send_line("bob: hi");
    chat.client.expect("[INFO] Online: alice\nbob: hi\n");
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    assert!(chat.client.finish().0.success());
    let log = fs::read_to_string(chat.dir.join("chat_log.txt")).unwrap();
    assert!(!log.contains("files on"), "{log}");
}

#[test]
fn files_off_typed_by_the_user_is_sent_and_its_answer_shown() {
    let mut chat = join_as_alice("files_off_typed", &[]);
    chat.client.type_line("/files off");
    chat.peer.expect_line("/files off");
    chat.peer
        .send_line("[INFO]:files off: you will only be told of shared files");
    chat.client
        .expect("[INFO] files off: you will only be told of shared files\n");
}

#[test]
fn an_error_in_answer_to_files_on_is_shown() {
    let mut chat = Chat::connect("files_on_error_shown", &["--name", "alice"]);
    chat.peer.welcome_without_files("alice");
    chat.peer.expect_line(FILES_ON);
    chat.peer
        .send_line("[ERROR]:unknown command /files (try /help)");
    chat.client
        .expect("[ERROR] unknown command /files (try /help)\n");
    chat.client.type_line("hi");
    chat.peer.expect_line("hi");
}

#[test]
fn typed_line_is_sent_as_a_message() {
    let mut chat = join_as_alice("typed_line_is_a_message", &[]);
    chat.client.type_line("hello there: [JOIN]:x");
    chat.peer.expect_line("hello there: [JOIN]:x");
}

#[test]
fn empty_line_is_not_sent() {
    let mut chat = join_as_alice("empty_line_not_sent", &[]);
    chat.client.type_line("");
    chat.client.type_line("after");
    chat.peer.expect_line("after");
}

#[test]
fn server_frames_show_as_the_seed_lines() {
    let mut chat = join_as_alice("frames_as_seed_lines", &[]);
    chat.peer.send(
        b"bob: hi: there\n[JOIN]:carol\n[LEAVE]:carol\n[INFO]:a note\n[ERROR]:line too long\n",
    );
    chat.client.expect(
        "bob: hi: there\ncarol has joined the chat room.\ncarol has left the chat.\n\
         [INFO] a note\n[ERROR] line too long\n",
    );
}

#[test]
fn file_command_sends_the_sized_form_byte_exact() {
    let mut chat = join_as_alice("file_command_sends_sized_form", &[]);
    fs::create_dir_all(chat.dir.join("files")).unwrap();
    fs::write(chat.dir.join("files/data.bin"), AWKWARD_BYTES).unwrap();
    chat.client.type_line("/file files/data.bin");
    chat.peer
        .expect_line(&format!("[FILE]:data.bin:{}", AWKWARD_BYTES.len()));
    assert_eq!(chat.peer.read_bytes(AWKWARD_BYTES.len()), AWKWARD_BYTES);
    chat.peer.expect_line("<END>");
    chat.client
        .expect("[Notification] File 'files/data.bin' sent.\n");
}

#[test]
fn file_command_for_a_missing_file_sends_nothing() {
    let mut chat = join_as_alice("missing_file_sends_nothing", &[]);
    chat.client.type_line("/file nowhere.txt");
    chat.client.expect("[ERROR] cannot send 'nowhere.txt': ");
    chat.client.type_line("after");
    chat.peer.expect_line("after");
}

#[test]
fn typed_file_header_is_not_sent() {
    let mut chat = join_as_alice("typed_file_header_not_sent", &[]);
    chat.client.type_line("[FILE]:x:3");
    chat.client
        .expect("[ERROR] to send a file, type /file PATH\n");
    chat.client.type_line("after");
    chat.peer.expect_line("after");
}

#[test]
fn received_file_is_saved_byte_exact() {
    let mut chat = join_as_alice("received_file_saved", &[]);
    chat.peer
        .send(&file_frame("bob", "notes.bin", AWKWARD_BYTES));
    chat.client
        .expect("[Notification] Received file: received_notes.bin (from bob)\n");
    let saved = fs::read(chat.dir.join(DOWNLOADS).join("received_notes.bin")).unwrap();
    assert_eq!(saved, AWKWARD_BYTES);
    assert_eq!(chat.dir.entries(DOWNLOADS), ["received_notes.bin"]);
}

#[test]
fn second_file_of_the_same_name_gets_the_next_free_name() {
    let mut chat = join_as_alice("same_name_next_free", &[]);
    chat.peer.send(&file_frame("bob", "notes.txt", b"first"));
    chat.peer.send(&file_frame("carol", "notes.txt", b"second"));
    chat.client
        .expect("[Notification] Received file: received_notes.txt (from bob)\n");
    chat.client
        .expect("[Notification] Received file: received_notes-1.txt (from carol)\n");
    let downloads = chat.dir.join(DOWNLOADS);
    assert_eq!(
        fs::read(downloads.join("received_notes.txt")).unwrap(),
        b"first"
    );
    assert_eq!(
        fs::read(downloads.join("received_notes-1.txt")).unwrap(),
        b"second"
    );
    assert_eq!(
        chat.dir.entries(DOWNLOADS),
        ["received_notes-1.txt", "received_notes.txt"]
    );
}

#[test]
fn hostile_file_name_is_refused_and_nothing_is_written() {
    let mut chat = join_as_alice("hostile_file_name", &[]);
    chat.peer
        .send(b"[FILE]:eve:../../x:3\nabc<END>\n[JOIN]:bob\n");
    chat.client.expect(
        "[ERROR] refused a frame from the server: bad file name: it contains '/'\n\
         bob has joined the chat room.\n",
    );
    for path in ["x", "a/x", "a/b/x", "received_x"] {
        assert!(!chat.dir.join(path).exists(), "{path} was written");
    }
    assert_eq!(chat.dir.entries(DOWNLOADS), Vec::<String>::new());
}

#[test]
fn escape_sequences_are_refused_and_never_printed() {
    let mut chat = join_as_alice("escape_sequences_refused", &[]);
    chat.peer
        .send(b"eve: \x1b[2J\x1b]0;pwned\x07\n[INFO]:\x1b[31mred\nbob: still here\n");
    let refused = "[ERROR] refused a frame from the server: control characters are not allowed\n";
    chat.client.expect(refused);
    chat.client.expect(refused);
    chat.client.expect("bob: still here\n");
    assert!(
        !chat.client.shown().contains('\x1b'),
        "{:?}",
        chat.client.shown()
    );
    let log = fs::read(chat.dir.join("chat_log.txt")).unwrap();
    assert!(!log.contains(&0x1b));
}

#[test]
fn oversized_file_is_refused_and_nothing_is_written() {
    let mut chat = join_as_alice("oversized_file_refused", &[]);
    chat.peer.send(b"[FILE]:eve:big:999999999999\n");
    chat.client.expect(&format!(
        "[ERROR] refused a frame from the server: file too large: 999999999999 bytes, \
         the limit is {LIMIT_64_MIB}\n"
    ));
    chat.peer.close();
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "[ERROR] connection lost\n");
    assert_eq!(chat.dir.entries(DOWNLOADS), Vec::<String>::new());
}

#[test]
fn chat_log_holds_the_shown_lines_and_sent_messages() {
    let mut chat = join_as_alice("chat_log_holds_lines", &[]);
    chat.peer.send_line("bob: hi alice");
    chat.client.expect("bob: hi alice\n");
    chat.client.type_line("hi bob");
    chat.peer.expect_line("hi bob");
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    let (status, _) = chat.client.finish();
    assert!(status.success());
    let log = fs::read_to_string(chat.dir.join("chat_log.txt")).unwrap();
    let expected = [
        GREETING_SHOWN,
        JOINED_AS_ALICE,
        "[INFO] Online: alice\n",
        "bob: hi alice\n",
        "Me: hi bob\n",
    ];
    assert_eq!(log, expected.concat());
    assert!(!chat.client.shown().contains("Me: "));
}

#[test]
fn no_log_option_writes_no_log() {
    let mut chat = join_as_alice("no_log_writes_none", &["--no-log"]);
    chat.peer.send_line("bob: hi alice");
    chat.client.expect("bob: hi alice\n");
    chat.client.type_line("hi bob");
    chat.peer.expect_line("hi bob");
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    assert!(chat.client.finish().0.success());
    assert_eq!(chat.dir.entries("."), Vec::<String>::new());
}

#[test]
fn exit_sends_exit_and_exits_with_status_0() {
    let mut chat = join_as_alice("exit_exits_0", &[]);
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(0));
    assert_eq!(stderr, "");
}

#[test]
fn end_of_input_sends_exit_and_exits_with_status_0() {
    let mut chat = join_as_alice("end_of_input_exits_0", &[]);
    chat.client.close_stdin();
    chat.peer.expect_line("exit");
    chat.peer.close();
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(0));
    assert_eq!(stderr, "");
}

#[test]
fn exit_at_the_prompt_leaves() {
    let mut chat = connect_without_name("exit_at_the_prompt");
    chat.peer.send_line(GREETING);
    chat.client.expect(PROMPT);
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    assert_eq!(chat.client.finish().0.code(), Some(0));
}

#[test]
fn unreachable_server_exits_non_zero_with_one_line() {
    let dir = TestDir::new("unreachable_server");
    // A port that was free a moment ago: nothing listens on it now.
    let port = FakeServer::start().port();
    let mut client = ClientProcess::start(&dir, &["--port", &port, "--name", "alice"]);
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(1));
    assert!(
        stderr.starts_with(&format!("[ERROR] cannot connect to 127.0.0.1:{port}: ")),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert_eq!(
        dir.entries("."),
        Vec::<String>::new(),
        "no log without a connection"
    );
}

#[test]
fn server_closing_the_connection_exits_non_zero() {
    let mut chat = join_as_alice("server_closes", &[]);
    chat.peer.close();
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "[ERROR] connection lost\n");
}

#[test]
fn server_closing_mid_file_leaves_no_partial_file() {
    let mut chat = join_as_alice("closes_mid_file", &[]);
    chat.peer.send(b"[FILE]:bob:half.bin:100\n");
    chat.peer.send(&[b'h'; 50]);
    chat.peer.close();
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "[ERROR] connection lost\n");
    assert_eq!(chat.dir.entries(DOWNLOADS), Vec::<String>::new());
}

#[test]
fn bad_file_size_from_the_server_exits_non_zero() {
    let mut chat = join_as_alice("bad_file_size", &[]);
    chat.peer.send(b"[FILE]:eve:x:abc\n");
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(
        stderr,
        "[ERROR] the server broke the protocol: bad file size: not a decimal number\n"
    );
}

#[test]
fn help_lists_every_option_and_its_default() {
    let dir = TestDir::new("help_lists_options");
    let mut client = ClientProcess::start(&dir, &["--help"]);
    let (status, _) = client.finish();
    assert!(status.success());
    let help = client.shown();
    for text in [
        "-H, --host HOST",
        "(default 127.0.0.1)",
        "-p, --port PORT",
        "(default 12345)",
        "-n, --name NAME",
        "--downloads DIR",
        "(default .)",
        "--log FILE",
        "(default chat_log.txt)",
        "--no-log",
        "--color WHEN",
        "(default auto)",
        "NO_COLOR",
        "--timestamps",
        "HH:MM in UTC",
        "-h, --help",
        "-V, --version",
    ] {
        assert!(help.contains(text), "{text:?} missing from:\n{help}");
    }
}

#[test]
fn help_says_the_commands_and_what_is_shown() {
    let dir = TestDir::new("help_says_commands");
    let mut client = ClientProcess::start(&dir, &["--help"]);
    assert!(client.finish().0.success());
    let help = client.shown();
    for text in [
        "/users",
        "/msg NAME TEXT",
        "-> NAME: TEXT",
        "/help",
        "/file PATH",
        "//text",
        "exit",
        "Any other line starting with / is sent as typed",
        "[PM] alice: hi",
        "[history 2026-12-01 10:37 UTC] alice: hi",
        "[NOTICE] text",
        "over 1 MiB",
        "(percent, MB/s)",
        ".received_<name>.<pid>-<n>.part",
        "plain text",
    ] {
        assert!(help.contains(text), "{text:?} missing from:\n{help}");
    }
}

#[test]
fn bad_color_exits_with_status_2() {
    let dir = TestDir::new("bad_color");
    let mut client = ClientProcess::start(&dir, &["--color", "sometimes"]);
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.starts_with("chat-client: bad --color 'sometimes': expected auto, always or never"),
        "{stderr}"
    );
}

#[test]
fn version_prints_the_package_version() {
    let dir = TestDir::new("version");
    let mut client = ClientProcess::start(&dir, &["-V"]);
    assert!(client.finish().0.success());
    assert_eq!(
        client.shown(),
        format!("chat-client {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn bad_option_exits_with_status_2() {
    let dir = TestDir::new("bad_option");
    let mut client = ClientProcess::start(&dir, &["--bogus"]);
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(2));
    assert!(stderr.starts_with("chat-client: "), "{stderr}");
    assert!(stderr.contains("Usage: chat-client"), "{stderr}");
}

#[test]
fn bad_port_exits_with_status_2() {
    let dir = TestDir::new("bad_port");
    let mut client = ClientProcess::start(&dir, &["--port", "twelve"]);
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.starts_with("chat-client: bad port 'twelve'"),
        "{stderr}"
    );
}

#[test]
fn dotted_file_name_is_saved_inside_downloads() {
    // `..hidden` is a valid name, not a way up: it is joined onto the folder as it is.
    let mut chat = join_as_alice("odd_names_stay_inside", &[]);
    chat.peer.send(&file_frame("bob", "..hidden", b"x"));
    chat.client
        .expect("[Notification] Received file: received_..hidden (from bob)\n");
    assert_eq!(chat.dir.entries(DOWNLOADS), ["received_..hidden"]);
}

#[test]
fn file_command_refuses_an_invisible_name_and_shows_it_escaped() {
    let mut chat = join_as_alice("file_command_invisible_name", &[]);
    chat.client.type_line("/file x\u{202e}txt.exe");
    chat.client.expect(
        "[ERROR] cannot send 'x\\u{202e}txt.exe': bad file name: \
         it contains the invisible character U+202E\n",
    );
    chat.client.type_line("after");
    chat.peer.expect_line("after");
    assert!(!chat.client.shown().contains('\u{202e}'));
}

#[test]
fn next_run_removes_only_the_temporaries_a_killed_client_left() {
    let dir = TestDir::new("stale_temporaries");
    let downloads = dir.join(DOWNLOADS);
    fs::create_dir_all(&downloads).unwrap();
    // A process that has ended: its id names no running process (until it is reused).
    let mut ended = std::process::Command::new("true").spawn().unwrap();
    ended.wait().unwrap();
    let dead = ended.id();
    let live = std::process::id(); // this test is running
    let stale = format!(".received_notes.txt.{dead}-0.part");
    let kept = [
        format!(".received_notes.txt.{live}-0.part"),
        format!("received_notes.txt.{dead}-0.part"),
        format!(".received_notes.txt.{dead}-0.partial"),
        ".received_notes.txt.part".to_owned(),
        "received_notes.txt".to_owned(),
    ];
    for name in kept.iter().chain([&stale]) {
        fs::write(downloads.join(name), b"half a file").unwrap();
    }
    // A folder with a temporary's name is not a temporary.
    let folder = format!(".received_dir.{dead}-1.part");
    fs::create_dir(downloads.join(&folder)).unwrap();

    let server = FakeServer::start();
    let port = server.port();
    let mut client = ClientProcess::start(&dir, &["--port", &port, "--downloads", DOWNLOADS]);
    // The client cleans up before it connects.
    let mut peer = server.accept();

    let mut expected: Vec<String> = kept.to_vec();
    expected.push(folder);
    expected.sort();
    assert_eq!(dir.entries(DOWNLOADS), expected);
    peer.close();
    client.finish();
}
