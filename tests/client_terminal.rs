//! The real `chat-client` binary and what it does for a person at a terminal: colours
//! (`--color`, `NO_COLOR`), the time before each line (`--timestamps`), and the progress line of
//! a big file on stderr. Against a fake server (`FakeServer` in `tests/common`).
//!
//! Most tests pipe the client's output, as the other client tests do: `--color always` needs no
//! terminal. What happens only on a terminal (`--color auto`, `NO_COLOR`, the progress line) is
//! tested with the client on a pseudo-terminal, run by util-linux `script`, whose output has CR LF
//! line ends.

mod common;

use std::fs;
use std::time::{SystemTime, UNIX_EPOCH};

use common::binaries::{Chat, DOWNLOADS, chat_log};

const ESC: char = '\x1b';
const MIB: usize = 1024 * 1024;

/// A client started with `--name alice` and more `args`, piped, through the handshake.
fn join_as_alice(test: &str, args: &[&str]) -> Chat {
    Chat::join_as_alice(&format!("terminal_{test}"), args)
}

/// As [`join_as_alice`], for a client that colours: its lines are not the plain ones.
fn join_as_alice_in_colour(test: &str) -> Chat {
    let args = ["--name", "alice", "--color", "always"];
    let mut chat = Chat::connect(&format!("terminal_{test}"), &args);
    chat.peer.welcome("alice");
    chat.client.expect("Online: alice");
    chat
}

/// A client started with `--name alice` and more `args` on a pseudo-terminal with `env`, through
/// the handshake.
fn join_as_alice_in_terminal(test: &str, args: &[&str], env: &[(&str, &str)]) -> Chat {
    let mut all_args = vec!["--name", "alice"];
    all_args.extend_from_slice(args);
    let mut chat = Chat::connect_in_terminal(&format!("terminal_{test}"), &all_args, env);
    chat.peer.welcome("alice");
    chat.client.expect("Online: alice");
    chat
}

/// The SGR code (`1;32`) that colours the text right before `after` in `shown`.
fn colour_before<'a>(shown: &'a str, after: &str) -> &'a str {
    let at = shown
        .find(after)
        .unwrap_or_else(|| panic!("{after:?} not in {shown:?}"));
    let start = shown[..at].rfind("\x1b[").expect("a colour before it") + 2;
    let end = start + shown[start..].find('m').unwrap();
    &shown[start..end]
}

/// A sized file frame from the server.
fn file_frame(from: &str, name: &str, data: &[u8]) -> Vec<u8> {
    let mut bytes = format!("[FILE]:{from}:{name}:{}\n", data.len()).into_bytes();
    bytes.extend_from_slice(data);
    bytes.extend_from_slice(b"<END>\n");
    bytes
}

#[test]
fn color_always_gives_each_name_the_same_colour_every_time() {
    let mut chat = join_as_alice_in_colour("color_always");
    chat.peer
        .send_line("bob: one\ncarol: two\nbob: three\n[PM]:bob:four\n[JOIN]:bob");
    chat.client.expect("has joined the chat room.");
    let shown = chat.client.shown();
    let bob = colour_before(&shown, "bob\x1b[0m: one");
    assert!(
        shown.contains(&format!("\x1b[{bob}mbob\x1b[0m: three")),
        "{shown:?}"
    );
    assert!(
        shown.contains(&format!("\x1b[{bob}mbob\x1b[0m: four")),
        "{shown:?}"
    );
    assert!(
        shown.contains(&format!("\x1b[{bob}mbob\x1b[0m")),
        "{shown:?}"
    );
    // Another name is coloured too.
    colour_before(&shown, "carol\x1b[0m: two");
}

#[test]
fn color_always_shows_errors_in_red_and_keeps_the_log_plain() {
    let mut chat = join_as_alice_in_colour("color_errors");
    chat.peer.send_line("[ERROR]:no such user: bob\nbob: hi");
    chat.client
        .expect("\x1b[31m[ERROR] \x1b[0m\x1b[31mno such user: bob\x1b[0m\n");
    chat.client.expect(": hi\n");
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    assert!(chat.client.finish().0.success());
    let log = chat_log(&chat.dir.join("chat_log.txt"));
    assert!(
        log.ends_with("[ERROR] no such user: bob\nbob: hi\n"),
        "{log:?}"
    );
    assert!(!log.contains(ESC), "{log:?}");
}

#[test]
fn piped_output_has_no_colours_by_default() {
    let mut chat = join_as_alice("piped_plain", &[]);
    chat.peer.send_line("bob: hi\n[ERROR]:x\n[NOTICE]:y");
    chat.client.expect("bob: hi\n[ERROR] x\n[NOTICE] y\n");
    assert!(!chat.client.shown().contains(ESC));
}

#[test]
fn color_auto_colours_a_terminal() {
    let mut chat = join_as_alice_in_terminal("auto_terminal", &[], &[]);
    chat.peer.send_line("bob: hi");
    chat.client.expect(": hi");
    colour_before(&chat.client.shown(), "bob\x1b[0m: hi");
}

#[test]
fn no_color_turns_auto_colours_off_on_a_terminal() {
    let mut chat = join_as_alice_in_terminal("no_color", &[], &[("NO_COLOR", "1")]);
    chat.peer.send_line("bob: hi\n[ERROR]:x");
    chat.client.expect("bob: hi\r\n[ERROR] x\r\n");
    assert!(
        !chat.client.shown().contains(ESC),
        "{:?}",
        chat.client.shown()
    );
}

#[test]
fn color_never_shows_no_colours_on_a_terminal() {
    let mut chat = join_as_alice_in_terminal("color_never", &["--color", "never"], &[]);
    chat.peer.send_line("bob: hi\n[ERROR]:x");
    chat.client.expect("bob: hi\r\n[ERROR] x\r\n");
    assert!(
        !chat.client.shown().contains(ESC),
        "{:?}",
        chat.client.shown()
    );
}

/// `HH:MM` in UTC, `secs` seconds after the Unix epoch.
fn utc_hours_minutes(secs: u64) -> String {
    format!("{:02}:{:02}", secs % 86_400 / 3600, secs % 3600 / 60)
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn timestamps_put_the_utc_time_before_each_line_shown() {
    let mut chat = join_as_alice("timestamps", &["--timestamps"]);
    let before = now_secs();
    chat.peer.send_line("bob: hi");
    chat.client.expect(" bob: hi\n");
    let after = now_secs();
    let shown = chat.client.shown();
    let line = shown
        .lines()
        .find(|line| line.ends_with(" bob: hi"))
        .unwrap();
    let time = &line[..line.len() - " bob: hi".len()];
    assert!(
        [utc_hours_minutes(before), utc_hours_minutes(after)].contains(&time.to_owned()),
        "{line:?} at {before}..{after}"
    );
    // Every line has one, the client's own too.
    for line in shown.lines() {
        let (time, _) = line.split_once(' ').unwrap();
        assert!(
            time.len() == 5 && time.as_bytes()[2] == b':',
            "{line:?} has no HH:MM"
        );
    }
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    assert!(chat.client.finish().0.success());
    // The log has its own, longer time before each line (chat_log checks and removes it), and
    // not the screen's too.
    let log = chat_log(&chat.dir.join("chat_log.txt"));
    assert!(log.lines().any(|l| l == "bob: hi"), "{log:?}");
    assert!(!log.contains(&format!("{time} ")), "{log:?}");
}

#[test]
fn a_big_file_received_shows_its_progress_on_a_terminal() {
    let mut chat = join_as_alice_in_terminal("progress_received", &[], &[]);
    chat.peer
        .send(&file_frame("bob", "big.bin", &vec![7; 4 * MIB]));
    chat.client.expect("receiving big.bin from bob: ");
    chat.client.expect("% at ");
    chat.client.expect(" MB/s");
    chat.client
        .expect("Received file: a/b/downloads/received_big.bin (4 MiB, from bob)");
}

#[test]
fn a_big_file_sent_shows_its_progress_on_a_terminal() {
    let mut chat = join_as_alice_in_terminal("progress_sent", &[], &[]);
    fs::write(chat.dir.join("big.bin"), vec![7; 3 * MIB]).unwrap();
    chat.client.type_line("/file big.bin");
    chat.peer
        .expect_line(&format!("[FILE]:big.bin:{}", 3 * MIB));
    assert_eq!(chat.peer.read_bytes(3 * MIB), vec![7; 3 * MIB]);
    chat.peer.expect_line("<END>");
    chat.client.expect("sending big.bin: ");
    chat.client.expect("% at ");
    chat.client.expect("File 'big.bin' sent.");
}

#[test]
fn no_progress_line_when_stderr_is_not_a_terminal() {
    let mut chat = join_as_alice("no_progress_piped", &[]);
    chat.peer
        .send(&file_frame("bob", "big.bin", &vec![7; 4 * MIB]));
    chat.client
        .expect("[Notification] Received file: a/b/downloads/received_big.bin (4 MiB, from bob)\n");
    assert_eq!(chat.dir.entries(DOWNLOADS), ["received_big.bin"]);
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    let (status, stderr) = chat.client.finish();
    assert!(status.success());
    assert_eq!(stderr, "");
}

const CUT_BY_THE_TERMINAL: &str = "[ERROR] the terminal cut the line at 4095 bytes, the most it \
     passes on (the server's limit is 4096 bytes); nothing was sent";

#[test]
fn a_long_pasted_line_cut_by_the_terminal_is_refused_as_cut() {
    let mut chat = join_as_alice_in_terminal("pasted_line_cut", &["--color", "never"], &[]);
    // The terminal passes on 4095 bytes of it and drops the rest.
    chat.client.type_line(&"x".repeat(5000));
    chat.client.expect(CUT_BY_THE_TERMINAL);
    chat.client.type_line("after");
    chat.peer.expect_line("after");
}

#[test]
fn a_character_cut_in_half_by_the_terminal_is_reported_as_cut() {
    let mut chat = join_as_alice_in_terminal("pasted_character_cut", &["--color", "never"], &[]);
    // 4200 bytes: the terminal keeps 4095, the last one half of an 'é'.
    chat.client.type_line(&"é".repeat(2100));
    chat.client.expect(CUT_BY_THE_TERMINAL);
    assert!(!chat.client.shown().contains("UTF-8"));
    chat.client.type_line("after");
    chat.peer.expect_line("after");
}
