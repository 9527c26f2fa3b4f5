//! History for late joiners: the last public messages, right after `[USERS]`.

mod common;

use std::time::{SystemTime, UNIX_EPOCH};

use chat::server::Config;
use common::{TestClient, sized_file, start_server};

/// Splits `[HISTORY]:<secs>:<name>:<text>` into its fields.
fn history(line: &str) -> (u64, String, String) {
    let rest = line.strip_prefix("[HISTORY]:").expect("a history frame");
    let mut fields = rest.splitn(3, ':');
    let secs = fields.next().unwrap().parse().expect("seconds");
    let name = fields.next().unwrap().to_owned();
    (secs, name, fields.next().unwrap().to_owned())
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn a_newcomer_gets_the_last_messages_after_users_with_who_and_when() {
    let server = start_server(Config {
        history: 2,
        ..Config::default()
    });
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    let before = now();
    alice.send(b"one\ntwo: with a colon\n");
    bob.expect_line("alice: one");
    bob.expect_line("alice: two: with a colon");
    bob.send_line("three");
    alice.expect_line("bob: three");

    let mut carol = TestClient::connect(server.addr);
    carol.expect_prefix("[INFO]:");
    carol.send_line("carol");
    carol.expect_line("[WELCOME]:carol");
    carol.expect_line("[USERS]:alice,bob,carol");
    let (at, name, text) = history(&carol.read_line());
    assert_eq!(
        (name.as_str(), text.as_str()),
        ("alice", "two: with a colon")
    );
    assert!(
        before <= at && at <= now(),
        "{at} is not the time it was sent"
    );
    let (_, name, text) = history(&carol.read_line());
    assert_eq!((name.as_str(), text.as_str()), ("bob", "three"));
    // Then the live chat, and nothing of the past again.
    alice.send_line("live");
    carol.expect_line("alice: live");
}

#[test]
fn history_holds_public_messages_only() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    bob.take_files();
    alice.send_line("/msg bob private");
    alice.send(&sized_file("notes.txt", b"hi"));
    alice.send_line("public");
    bob.expect_line("[PM]:alice:private");
    bob.read_file();
    bob.expect_line("alice: public");

    let mut carol = TestClient::join(server.addr, "carol");
    let (_, name, text) = history(&carol.read_line());
    assert_eq!((name.as_str(), text.as_str()), ("alice", "public"));
    alice.expect_line("[JOIN]:carol");
    alice.send_line("next");
    carol.expect_line("alice: next");
}

#[test]
fn a_history_of_zero_sends_none() {
    let server = start_server(Config {
        history: 0,
        ..Config::default()
    });
    let mut alice = TestClient::join(server.addr, "alice");
    alice.send_line("nobody will see this later");
    // The answer to /users comes after the broadcaster has routed the message before it: only
    // then does bob join, so the message is past, not live, for him.
    alice.send_line("/users");
    alice.expect_line("[USERS]:alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    alice.send_line("live");
    bob.expect_line("alice: live");
}
