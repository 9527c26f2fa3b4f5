//! Commands from clients over real TCP: `/users`, `/msg`, `/help`, unknown commands and `//`.

mod common;

use std::fs;

use chat::server::{Config, FloodLimit};
use common::{TestClient, start_server};

fn alice_bob_and_carol(config: Config) -> (common::TestServer, [TestClient; 3]) {
    let server = start_server(config);
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    let carol = TestClient::join(server.addr, "carol");
    alice.expect_line("[JOIN]:carol");
    bob.expect_line("[JOIN]:carol");
    (server, [alice, bob, carol])
}

#[test]
fn users_answers_the_asker_alone() {
    let (_server, [mut alice, mut bob, _carol]) = alice_bob_and_carol(Config::default());
    alice.send_line("/users");
    alice.expect_line("[USERS]:alice,bob,carol");
    alice.send_line("after");
    bob.expect_line("alice: after");
}

#[test]
fn a_private_message_reaches_its_recipient_alone() {
    let (_server, [mut alice, mut bob, mut carol]) = alice_bob_and_carol(Config::default());
    alice.send_line("/msg bob see you at 3");
    alice.send_line("public again");
    bob.expect_line("[PM]:alice:see you at 3");
    bob.expect_line("alice: public again");
    carol.expect_line("alice: public again");
}

#[test]
fn a_private_message_finds_its_recipient_in_any_case() {
    let (_server, [mut alice, mut bob, _carol]) = alice_bob_and_carol(Config::default());
    alice.send_line("/msg BOB hi");
    bob.expect_line("[PM]:alice:hi");
}

#[test]
fn a_private_message_keeps_its_place_in_the_one_order() {
    let (_server, [mut alice, mut bob, _carol]) = alice_bob_and_carol(Config::default());
    alice.send(b"one\n/msg bob two\nthree\n");
    bob.expect_line("alice: one");
    bob.expect_line("[PM]:alice:two");
    bob.expect_line("alice: three");
}

#[test]
fn a_private_message_to_nobody_online_is_an_error() {
    let (_server, [mut alice, mut bob, _carol]) = alice_bob_and_carol(Config::default());
    alice.send_line("/msg nobody hi");
    alice.expect_line("[ERROR]:no such user: nobody");
    alice.send_line("/msg alice hi me");
    let error = alice.expect_prefix("[ERROR]:");
    assert!(error.contains("yourself"), "{error}");
    alice.send_line("done");
    bob.expect_line("alice: done");
}

#[test]
fn a_private_message_is_not_in_the_transcript() {
    let log = std::env::temp_dir().join(format!("chat-pm-{}.log", std::process::id()));
    let _ = fs::remove_file(&log);
    let (_server, [mut alice, mut bob, _carol]) = alice_bob_and_carol(Config {
        log: Some(log.clone()),
        ..Config::default()
    });
    alice.send_line("/msg bob the secret is 42");
    bob.expect_line("[PM]:alice:the secret is 42");
    alice.send_line("public");
    bob.expect_line("alice: public");
    let transcript = fs::read_to_string(&log).unwrap();
    let _ = fs::remove_file(&log);
    assert!(transcript.contains("alice: public"), "{transcript}");
    assert!(!transcript.contains("secret"), "{transcript}");
}

#[test]
fn help_lists_the_commands_one_per_info_line() {
    let (_server, [mut alice, _bob, _carol]) = alice_bob_and_carol(Config::default());
    alice.send_line("/help");
    let mut lines = Vec::new();
    for _ in 0..6 {
        lines.push(alice.expect_prefix("[INFO]:"));
    }
    for command in ["/users", "/msg NAME TEXT", "/help"] {
        assert!(
            lines.iter().any(|l| l.contains(command)),
            "{command}: {lines:?}"
        );
    }
}

#[test]
fn an_unknown_command_says_so_and_the_connection_carries_on() {
    let (_server, [mut alice, mut bob, _carol]) = alice_bob_and_carol(Config::default());
    alice.send_line("/who is there");
    alice.expect_line("[ERROR]:unknown command /who (try /help)");
    alice.send_line("still here");
    bob.expect_line("alice: still here");
}

#[test]
fn a_double_slash_sends_a_message_starting_with_a_slash() {
    let (_server, [mut alice, mut bob, _carol]) = alice_bob_and_carol(Config::default());
    alice.send_line("//etc is a folder");
    bob.expect_line("alice: /etc is a folder");
}

#[test]
fn commands_count_for_flood_control() {
    // Three frames at once: the name, /users and the first message; the next waits 1,000 s.
    let (_server, [mut alice, mut bob, _carol]) = alice_bob_and_carol(Config {
        limit_loopback: true,
        flood_limit: Some(FloodLimit {
            burst: 3,
            per_second: 0.001,
        }),
        ..Config::default()
    });
    alice.send(b"/users\none\ntwo\n");
    // The answer, and (before or after it) the notice that she is being slowed down.
    let mut answers = [alice.read_line(), alice.read_line()];
    answers.sort();
    assert_eq!(answers[1], "[USERS]:alice,bob,carol");
    assert!(
        answers[0].starts_with("[INFO]:you are sending faster"),
        "{answers:?}"
    );
    bob.expect_line("alice: one");
    bob.expect_nothing();
}

#[test]
fn answers_come_in_the_order_of_what_was_sent() {
    // Some answers are made by the client's own reader, others by the broadcaster: all of
    // them come in the order of the lines they answer.
    let (_server, [mut alice, _bob, _carol]) = alice_bob_and_carol(Config::default());
    alice.send(b"/files on\n/who\n/users\nbell \x07\n/msg nobody hi\n/help\n");
    alice.expect_prefix("[INFO]:files on");
    alice.expect_line("[ERROR]:unknown command /who (try /help)");
    alice.expect_line("[USERS]:alice,bob,carol");
    alice.expect_line("[ERROR]:control characters are not allowed");
    alice.expect_line("[ERROR]:no such user: nobody");
    alice.expect_line("[INFO]:Commands:");
}
