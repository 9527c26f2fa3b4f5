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
    Chat, ClientProcess, DOWNLOADS, FILES_ON, FILES_ON_ANSWER, FakeServer, TestDir, chat_log,
    chat_log_lines,
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
    let log = chat_log(&chat.dir.join("chat_log.txt"));
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
fn an_older_servers_error_in_answer_to_files_on_is_not_shown_either() {
    let mut chat = Chat::connect("files_on_error_hidden", &["--name", "alice"]);
    chat.peer.welcome_without_files("alice");
    chat.peer.expect_line(FILES_ON);
    chat.peer
        .send_line("[ERROR]:unknown command /files (try /help)\nbob: hi");
    chat.client.expect("[INFO] Online: alice\nbob: hi\n");
    chat.client.type_line("hi");
    chat.peer.expect_line("hi");
}

#[test]
fn the_servers_shutdown_right_after_the_welcome_is_shown() {
    let mut chat = Chat::connect("shutdown_after_welcome", &["--name", "alice"]);
    chat.peer.welcome_without_files("alice");
    chat.peer.expect_line(FILES_ON);
    chat.peer.send_line("[ERROR]:server is shutting down");
    chat.peer.close();
    chat.client.expect("[INFO] The server is shutting down.\n");
    assert_eq!(chat.client.finish().0.code(), Some(0));
}

#[test]
fn no_prompt_after_an_error_that_ends_the_connection() {
    let mut chat = connect_without_name("no_prompt_after_the_end");
    chat.peer.send_line(GREETING);
    chat.client.expect(PROMPT);
    chat.peer.send_line("[ERROR]:no username within 5 s");
    chat.peer.close();
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "[ERROR] not joined: no username within 5 s\n");
    assert_eq!(
        chat.client.shown(),
        format!("{GREETING_SHOWN}{PROMPT}\n[ERROR] no username within 5 s\n")
    );
}

#[test]
fn no_prompt_at_all_when_the_server_turns_the_client_away() {
    let mut chat = connect_without_name("no_prompt_when_turned_away");
    chat.peer.send_line("[ERROR]:server full");
    chat.peer.close();
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "[ERROR] not joined: server full\n");
    assert_eq!(chat.client.shown(), "[ERROR] server full\n");
}

#[test]
fn refused_name_option_without_input_exits_non_zero_with_the_reason() {
    let mut chat = Chat::connect("refused_name_no_input", &["--name", "alice"]);
    chat.client.close_stdin();
    chat.peer.send_line(GREETING);
    chat.peer.expect_line("alice");
    chat.peer.send_line("[ERROR]:username 'alice' is taken");
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "[ERROR] not joined: username 'alice' is taken\n");
}

#[test]
fn exit_at_the_prompt_after_a_refusal_leaves_with_status_0() {
    let mut chat = Chat::connect("exit_after_refusal", &["--name", "alice"]);
    chat.peer.send_line(GREETING);
    chat.peer.expect_line("alice");
    chat.peer.send_line("[ERROR]:username 'alice' is taken");
    chat.client.expect(PROMPT);
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    assert_eq!(chat.client.finish().0.code(), Some(0));
}

#[test]
fn bad_name_option_is_refused_before_connecting() {
    let dir = TestDir::new("bad_name_option");
    // Nothing listens there: a client that tried to connect would say so, with status 1.
    let port = FakeServer::start().port();
    let mut client = ClientProcess::start(&dir, &["--port", &port, "--name", "bad name"]);
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.starts_with("chat-client: bad --name 'bad name': it contains ' '\n"),
        "{stderr}"
    );
}

#[test]
fn server_shutting_down_is_said_as_information_and_exits_0() {
    let mut chat = join_as_alice("server_shutting_down", &[]);
    chat.peer.send_line("[ERROR]:server is shutting down");
    chat.peer.close();
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(0));
    assert_eq!(stderr, "");
    assert!(
        chat.client
            .shown()
            .ends_with("[INFO] Online: alice\n[INFO] The server is shutting down.\n"),
        "{}",
        chat.client.shown()
    );
}

#[test]
fn keepalive_sends_an_empty_line_when_nothing_was_sent_for_a_while() {
    let mut chat = join_as_alice("keepalive_empty_line", &["--keepalive", "1"]);
    chat.peer.expect_line("");
    chat.client.type_line("hi");
    chat.peer.expect_line("hi");
    chat.peer.expect_line("");
}

#[test]
fn keepalive_out_of_range_is_a_bad_option() {
    let dir = TestDir::new("bad_keepalive");
    let mut client = ClientProcess::start(&dir, &["--keepalive", "86401"]);
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.starts_with(
            "chat-client: bad --keepalive '86401': expected a number from 0 to 86400\n"
        ),
        "{stderr}"
    );
}

#[test]
fn a_line_over_the_servers_limit_is_refused_naming_the_limit() {
    let mut chat = join_as_alice("line_over_the_limit", &["--max-line", "100"]);
    let refused =
        "[ERROR] the line is longer than 100 bytes, the server's limit; nothing was sent\n";
    // The whole line counts, as it is sent: a command's word and a message's escape too.
    for line in [
        "x".repeat(101),
        format!("/msg bob {}", "x".repeat(92)),
        format!("//{}", "x".repeat(99)),
    ] {
        assert_eq!(line.len(), 101);
        chat.client.type_line(&line);
        chat.client.expect(refused);
    }
    let longest = "y".repeat(100);
    chat.client.type_line(&longest);
    chat.peer.expect_line(&longest);
}

#[test]
fn the_default_line_limit_is_chat_1s_4096_bytes() {
    let mut chat = join_as_alice("default_line_limit", &[]);
    chat.client.type_line(&"x".repeat(4097));
    chat.client.expect(
        "[ERROR] the line is longer than 4096 bytes, the server's limit; nothing was sent\n",
    );
    let longest = "y".repeat(4096);
    chat.client.type_line(&longest);
    chat.peer.expect_line(&longest);
}

#[test]
fn max_line_out_of_range_is_a_bad_option() {
    let dir = TestDir::new("bad_max_line");
    let mut client = ClientProcess::start(&dir, &["--max-line", "63"]);
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr
            .starts_with("chat-client: bad --max-line '63': expected a number from 64 to 65000\n"),
        "{stderr}"
    );
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

/// Sends `/file <args>` and checks the frame the fake server gets: `name` and `data`.
fn expect_file_sent(chat: &mut Chat, args: &str, name: &str, data: &[u8]) {
    chat.client.type_line(&format!("/file {args}"));
    chat.peer
        .expect_line(&format!("[FILE]:{name}:{}", data.len()));
    assert_eq!(chat.peer.read_bytes(data.len()), data);
    chat.peer.expect_line("<END>");
}

#[test]
fn file_command_takes_a_quoted_path_as_a_terminal_pastes_it() {
    let mut chat = join_as_alice("file_command_quoted_path", &[]);
    fs::create_dir_all(chat.dir.join("my files")).unwrap();
    fs::write(chat.dir.join("my files/my notes.txt"), b"notes").unwrap();
    let path = chat.dir.join("my files/my notes.txt");
    let path = path.to_str().unwrap();
    expect_file_sent(&mut chat, &format!("'{path}'"), "my notes.txt", b"notes");
    chat.client
        .expect(&format!("[Notification] File '{path}' sent.\n"));
    expect_file_sent(&mut chat, &format!("\"{path}\""), "my notes.txt", b"notes");
    chat.client
        .expect(&format!("[Notification] File '{path}' sent.\n"));
}

#[test]
fn file_command_takes_a_path_under_home() {
    let home = TestDir::new("file_command_home");
    fs::write(home.join("notes.txt"), b"at home").unwrap();
    let args = ["--name", "alice"];
    let mut chat = Chat::connect_with_env(
        "file_command_tilde",
        &args,
        &[("HOME", home.0.to_str().unwrap())],
    );
    chat.peer.welcome("alice");
    expect_file_sent(&mut chat, "~/notes.txt", "notes.txt", b"at home");
    chat.client
        .expect("[Notification] File '~/notes.txt' sent.\n");
}

#[test]
fn file_name_with_a_colon_is_refused_with_what_helps() {
    let mut chat = join_as_alice("file_name_with_colon", &[]);
    fs::write(chat.dir.join("10:30.txt"), b"agenda").unwrap();
    chat.client.type_line("/file 10:30.txt");
    chat.client.expect(
        "[ERROR] cannot send '10:30.txt': bad file name: it contains ':'; rename the file, or \
         send it under another name with /file PATH as NAME\n",
    );
    chat.client.type_line("after");
    chat.peer.expect_line("after");
}

#[test]
fn file_command_with_as_sends_the_file_under_that_name() {
    let mut chat = join_as_alice("file_command_as_name", &[]);
    fs::write(chat.dir.join("10:30.txt"), b"agenda").unwrap();
    expect_file_sent(
        &mut chat,
        "10:30.txt as agenda.txt",
        "agenda.txt",
        b"agenda",
    );
    chat.client
        .expect("[Notification] File '10:30.txt' sent as 'agenda.txt'.\n");
    chat.client.type_line("/file 10:30.txt as 10:31.txt");
    chat.client
        .expect("[ERROR] cannot send '10:30.txt': bad name after 'as': it contains ':'\n");
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
    chat.client.expect(
        "[Notification] Received file: a/b/downloads/received_notes.bin (26 bytes, from bob)\n",
    );
    let saved = fs::read(chat.dir.join(DOWNLOADS).join("received_notes.bin")).unwrap();
    assert_eq!(saved, AWKWARD_BYTES);
    assert_eq!(chat.dir.entries(DOWNLOADS), ["received_notes.bin"]);
}

#[test]
fn a_big_file_is_announced_before_it_has_arrived() {
    let mut chat = join_as_alice("big_file_announced", &[]);
    let size = 2 * 1024 * 1024;
    chat.peer
        .send(format!("[FILE]:bob:big.bin:{size}\n").as_bytes());
    chat.peer.send(&vec![7; size / 2]);
    chat.client
        .expect("[Notification] bob is sending big.bin (2 MiB)...\n");
    chat.peer.send(&vec![7; size / 2]);
    chat.peer.send(b"<END>\n");
    chat.client
        .expect("[Notification] Received file: a/b/downloads/received_big.bin (2 MiB, from bob)\n");
}

#[test]
fn a_file_of_1_mib_or_less_is_not_announced() {
    let mut chat = join_as_alice("small_file_not_announced", &[]);
    chat.peer
        .send(&file_frame("bob", "one.bin", &vec![7; 1024 * 1024]));
    chat.client
        .expect("[Notification] Received file: a/b/downloads/received_one.bin (1 MiB, from bob)\n");
    assert!(!chat.client.shown().contains("is sending"));
}

#[test]
fn a_file_saved_in_the_current_folder_is_shown_by_its_name() {
    let dir = TestDir::new("saved_in_current_folder");
    let server = FakeServer::start();
    let port = server.port();
    let mut client = ClientProcess::start(&dir, &["--port", &port, "--name", "alice"]);
    let mut peer = server.accept();
    peer.welcome("alice");
    peer.send(&file_frame("bob", "notes.txt", b"hello notes"));
    client.expect("[Notification] Received file: received_notes.txt (11 bytes, from bob)\n");
    assert_eq!(
        fs::read(dir.join("received_notes.txt")).unwrap(),
        b"hello notes"
    );
}

#[test]
fn second_file_of_the_same_name_gets_the_next_free_name() {
    let mut chat = join_as_alice("same_name_next_free", &[]);
    chat.peer.send(&file_frame("bob", "notes.txt", b"first"));
    chat.peer.send(&file_frame("carol", "notes.txt", b"second"));
    chat.client.expect(
        "[Notification] Received file: a/b/downloads/received_notes.txt (5 bytes, from bob)\n",
    );
    chat.client.expect(
        "[Notification] Received file: a/b/downloads/received_notes-1.txt (6 bytes, from carol)\n",
    );
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
    let log = chat_log(&chat.dir.join("chat_log.txt"));
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

/// Seconds since the Unix epoch now.
fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// `YYYY-MM-DD HH:MM:SS` in UTC, `secs` seconds after the Unix epoch, by the civil-from-days
/// algorithm written out again (not the client's code).
fn utc_stamp(secs: u64) -> String {
    let days = secs / 86_400;
    let (mut year, mut day) = (1970, days);
    let leap = |y: u64| (y.is_multiple_of(4) && !y.is_multiple_of(100)) || y.is_multiple_of(400);
    while day >= if leap(year) { 366 } else { 365 } {
        day -= if leap(year) { 366 } else { 365 };
        year += 1;
    }
    let lengths = [
        31,
        if leap(year) { 29 } else { 28 },
        31,
        30,
        31,
        30,
        31,
        31,
        30,
        31,
        30,
        31,
    ];
    let mut month = 0;
    while day >= lengths[month] {
        day -= lengths[month];
        month += 1;
    }
    let of_day = secs % 86_400;
    format!(
        "{year:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        month + 1,
        day + 1,
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

#[test]
fn every_chat_log_line_starts_with_the_utc_date_and_time() {
    let before = now_secs();
    let mut chat = join_as_alice("chat_log_times", &[]);
    chat.peer.send_line("bob: hi alice");
    chat.client.expect("bob: hi alice\n");
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    assert!(chat.client.finish().0.success());
    let after = now_secs();
    let text = fs::read_to_string(chat.dir.join("chat_log.txt")).unwrap();
    let line = text
        .lines()
        .find(|line| line.ends_with(" bob: hi alice"))
        .unwrap();
    let stamp = &line[..19];
    let times: Vec<String> = (before..=after).map(utc_stamp).collect();
    assert!(times.iter().any(|t| t == stamp), "{line:?} at {times:?}");
    // chat_log_lines checks every line's shape: the start mark, the greeting, the welcome, who
    // is online, bob's line and the end mark.
    assert_eq!(chat_log_lines(&chat.dir.join("chat_log.txt")).len(), 6);
}

#[test]
fn chat_log_marks_where_each_session_starts_and_ends_and_why() {
    let dir = TestDir::new("chat_log_sessions");
    let server = FakeServer::start();
    let port = server.port();
    let args = ["--port", &port, "--name", "alice"];
    let run = |end: &dyn Fn(&mut ClientProcess, &mut common::binaries::FakePeer)| {
        let mut client = ClientProcess::start(&dir, &args);
        let mut peer = server.accept();
        peer.welcome("alice");
        client.expect("[INFO] Online: alice\n");
        end(&mut client, &mut peer);
        client.finish();
    };
    run(&|client, peer| {
        client.type_line("exit");
        peer.expect_line("exit");
        peer.close();
    });
    run(&|_, peer| peer.close());
    run(&|_, peer| {
        peer.send_line("[ERROR]:server is shutting down");
        peer.close();
    });
    let start = format!("=== session start: server 127.0.0.1:{port}, name alice (times in UTC)");
    let lines = chat_log_lines(&dir.join("chat_log.txt"));
    let marks: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .filter(|line| line.starts_with("=== ") || line.starts_with("[ERROR]"))
        .collect();
    assert_eq!(
        marks,
        [
            start.as_str(),
            "=== session end: left",
            start.as_str(),
            "[ERROR] connection lost",
            "=== session end: connection lost",
            start.as_str(),
            "=== session end: the server shut down",
        ]
    );
}

#[test]
fn chat_log_says_when_the_name_was_refused() {
    let mut chat = Chat::connect("chat_log_refused", &["--name", "alice"]);
    chat.client.close_stdin();
    chat.peer.send_line(GREETING);
    chat.peer.expect_line("alice");
    chat.peer.send_line("[ERROR]:username 'alice' is taken");
    assert_eq!(chat.client.finish().0.code(), Some(1));
    let lines = chat_log_lines(&chat.dir.join("chat_log.txt"));
    assert_eq!(
        lines[lines.len() - 2..],
        [
            "[ERROR] not joined: username 'alice' is taken",
            "=== session end: not joined: username 'alice' is taken",
        ]
    );
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
    assert!(
        stderr.ends_with("; is chat-server running on that host and port?\n"),
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
fn an_ipv6_address_is_written_in_brackets_when_it_cannot_be_reached() {
    let dir = TestDir::new("unreachable_ipv6");
    let port = FakeServer::start().port();
    let mut client = ClientProcess::start(&dir, &["--host", "::1", "--port", &port]);
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(1));
    // Refused, or no IPv6 loopback on this machine: either way, the address reads as one.
    assert!(
        stderr.starts_with(&format!("[ERROR] cannot connect to [::1]:{port}: ")),
        "{stderr}"
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
        "--max-line BYTES",
        "default 4096",
        "--keepalive SECS",
        "(0-86400, default 60)",
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
        "/file PATH as NAME",
        "('my file.txt'",
        "~/",
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
fn port_out_of_range_gives_the_range() {
    let dir = TestDir::new("port_out_of_range");
    let mut client = ClientProcess::start(&dir, &["-p", "99999"]);
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(2));
    assert!(
        stderr.starts_with("chat-client: bad port '99999': expected a number from 1 to 65535\n"),
        "{stderr}"
    );
}

#[test]
fn dotted_file_name_is_saved_inside_downloads() {
    // `..hidden` is a valid name, not a way up: it is joined onto the folder as it is.
    let mut chat = join_as_alice("odd_names_stay_inside", &[]);
    chat.peer.send(&file_frame("bob", "..hidden", b"x"));
    chat.client.expect(
        "[Notification] Received file: a/b/downloads/received_..hidden (1 byte, from bob)\n",
    );
    assert_eq!(chat.dir.entries(DOWNLOADS), ["received_..hidden"]);
}

#[test]
fn file_command_refuses_an_invisible_name_and_shows_it_escaped() {
    let mut chat = join_as_alice("file_command_invisible_name", &[]);
    chat.client.type_line("/file x\u{202e}txt.exe");
    chat.client.expect(
        "[ERROR] cannot send 'x\\u{202e}txt.exe': bad file name: \
         it contains the invisible character U+202E; rename the file, or send it under \
         another name with /file PATH as NAME\n",
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
