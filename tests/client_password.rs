//! The real `chat-client` answering a server's `[AUTH]` (a registered name's password), against
//! a fake server that decides every byte: the password goes out as typed (or as the first line
//! of `--password-file`), is never shown or logged, and a refused one is no way in. Every build
//! of the client does this; the server's side is the `accounts` feature (`tests/accounts.rs`).

mod common;

use std::fs;

use common::binaries::{Chat, FILES_ON, FILES_ON_ANSWER, chat_log};

const GREETING: &str = "[INFO]:Welcome to chat. Please enter your username.";
const AUTH: &str = "[AUTH]:password for alice";
const PASSWORD_PROMPT: &str = "Password: ";

/// A client started with `--name alice` and `args`, asked for alice's password.
fn asked_for_a_password(test: &str, args: &[&str]) -> Chat {
    let mut all_args = vec!["--name", "alice"];
    all_args.extend_from_slice(args);
    let mut chat = Chat::connect(test, &all_args);
    chat.peer.send_line(GREETING);
    chat.peer.expect_line("alice");
    chat
}

#[test]
fn a_typed_password_is_sent_as_typed_and_never_shown_or_logged() {
    let mut chat = asked_for_a_password("typed_password", &[]);
    chat.peer.send_line(AUTH);
    chat.client
        .expect(&format!("[AUTH] password for alice\n{PASSWORD_PROMPT}"));
    // A password is the whole line, whatever it holds: not a command, not `exit`.
    chat.client.type_line("/exit hunter2");
    chat.peer.expect_line("/exit hunter2");
    chat.peer.send_line("[WELCOME]:alice\n[USERS]:alice");
    chat.peer.expect_line(FILES_ON);
    chat.peer.send_line(FILES_ON_ANSWER);
    chat.client.expect("[INFO] Joined as alice.");
    chat.client.type_line("exit");
    chat.peer.expect_line("exit");
    chat.peer.close();
    assert!(chat.client.finish().0.success());
    assert!(!chat.client.shown().contains("hunter2"));
    let log = chat_log(&chat.dir.join("chat_log.txt"));
    assert!(log.contains("[AUTH] password for alice\n"), "{log}");
    assert!(!log.contains("hunter2"), "{log}");
}

#[test]
fn a_password_file_answers_with_its_first_line_and_stays_out_of_the_log() {
    let mut chat = asked_for_a_password("password_file", &["--password-file", "pw"]);
    // Read only when the server asks.
    fs::write(chat.dir.join("pw"), "correct horse\nsecond line\n").unwrap();
    chat.peer.send_line(AUTH);
    chat.peer.expect_line("correct horse");
    chat.peer.send_line("[WELCOME]:alice\n[USERS]:alice");
    chat.peer.expect_line(FILES_ON);
    chat.peer.send_line(FILES_ON_ANSWER);
    chat.client.expect("[INFO] Joined as alice.");
    assert!(!chat.client.shown().contains(PASSWORD_PROMPT));
    chat.client.close_stdin();
    chat.peer.expect_line("exit");
    chat.peer.close();
    assert!(chat.client.finish().0.success());
    let log = chat_log(&chat.dir.join("chat_log.txt"));
    assert!(!log.contains("correct horse"), "{log}");
}

#[test]
fn a_wrong_password_then_the_end_of_input_is_not_joined() {
    let mut chat = asked_for_a_password("wrong_password", &["--password-file", "pw"]);
    fs::write(chat.dir.join("pw"), "wrong\n").unwrap();
    chat.peer.send_line(AUTH);
    chat.peer.expect_line("wrong");
    // The server keeps the connection: the name may be tried again, but input has ended.
    chat.client.close_stdin();
    chat.peer.send_line("[ERROR]:wrong password");
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "[ERROR] not joined: wrong password\n");
}

#[test]
fn input_ending_at_the_password_prompt_after_a_refused_name_is_not_joined() {
    let mut chat = asked_for_a_password("refused_then_auth", &[]);
    chat.peer.send_line("[ERROR]:username 'alice' is taken");
    chat.client.expect("Enter your username: ");
    chat.client.type_line("alice2");
    chat.peer.expect_line("alice2");
    chat.peer.send_line("[AUTH]:password for alice2");
    chat.client.expect(PASSWORD_PROMPT);
    // No password comes, and no name was accepted: as at the name's prompt, a failure.
    chat.client.close_stdin();
    let (status, stderr) = chat.client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "[ERROR] not joined: username 'alice' is taken\n");
}

#[test]
fn input_ending_at_the_password_prompt_closes_without_sending_exit_as_a_password() {
    let mut chat = asked_for_a_password("end_at_password", &[]);
    chat.peer.send_line(AUTH);
    chat.client.expect(PASSWORD_PROMPT);
    chat.client.close_stdin();
    // `exit` here would be checked as the password, and counted as a wrong one.
    chat.peer.expect_closed();
    assert!(chat.client.finish().0.success());
}
