//! The server's behaviour over real loopback TCP, one rule per test: the handshake, chat
//! messages, and the transcript. Bad input, files, leaving and limits have their own files
//! (`server_*.rs`).
//!
//! Nothing here sleeps: a test waits for the event it expects with a bounded read. To show that
//! something was *not* delivered, it relies on the broadcaster's single global order: a later
//! marker message must be the very next line.

mod common;

use std::time::Duration;

use chat::server::Config;
use common::{TestClient, sized_file, start_server};

// ---------------------------------------------------------------------------------------------
// The handshake

#[test]
fn joining_user_gets_welcome_and_user_list_and_others_get_join() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::connect(server.addr);
    bob.expect_prefix("[INFO]:");
    bob.send_line("bob");
    bob.expect_line("[WELCOME]:bob");
    bob.expect_line("[USERS]:alice,bob");
    alice.expect_line("[JOIN]:bob");
}

#[test]
fn joining_user_is_not_told_of_its_own_join() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    alice.send_line("marker");
    // A `[JOIN]:bob` for bob would have come before alice's message.
    bob.expect_line("alice: marker");
}

#[test]
fn user_list_is_in_connection_order_even_for_a_late_joiner() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    // carol connects before dave, but joins after him.
    let mut carol = TestClient::connect(server.addr);
    carol.expect_prefix("[INFO]:");
    let mut dave = TestClient::connect(server.addr);
    dave.expect_prefix("[INFO]:");
    dave.send_line("dave");
    dave.expect_line("[WELCOME]:dave");
    dave.expect_line("[USERS]:alice,dave");
    alice.expect_line("[JOIN]:dave");
    carol.send_line("carol");
    carol.expect_line("[WELCOME]:carol");
    carol.expect_line("[USERS]:alice,carol,dave");
    alice.expect_line("[JOIN]:carol");
    let mut eve = TestClient::connect(server.addr);
    eve.expect_prefix("[INFO]:");
    eve.send_line("eve");
    eve.expect_line("[WELCOME]:eve");
    eve.expect_line("[USERS]:alice,carol,dave,eve");
}

#[test]
fn malformed_usernames_are_refused_and_another_name_is_awaited() {
    let server = start_server(Config::default());
    let mut client = TestClient::connect(server.addr);
    client.expect_prefix("[INFO]:");
    let too_long = "n".repeat(33);
    for bad in [too_long.as_str(), "al ice", "a:b", "a[b", "[JOIN]"] {
        client.send_line(bad);
        let error = client.expect_prefix("[ERROR]:");
        assert!(
            error.len() > "[ERROR]:".len(),
            "an empty reason for {bad:?}"
        );
    }
    // The longest allowed name, with every kind of character allowed, on the same connection.
    let longest = format!("Az09_-.{}", "n".repeat(25));
    client.send_line(&longest);
    client.expect_line(&format!("[WELCOME]:{longest}"));
    client.expect_line(&format!("[USERS]:{longest}"));
}

#[test]
fn empty_line_in_the_handshake_is_ignored() {
    let server = start_server(Config::default());
    let mut client = TestClient::connect(server.addr);
    client.expect_prefix("[INFO]:");
    client.send(b"\n\r\n");
    client.send_line("alice");
    // Any reply to the empty lines would come before the welcome.
    client.expect_line("[WELCOME]:alice");
    client.expect_line("[USERS]:alice");
}

#[test]
fn exit_in_the_handshake_closes_the_connection() {
    let server = start_server(Config::default());
    let mut client = TestClient::connect(server.addr);
    client.expect_prefix("[INFO]:");
    client.send_line("exit");
    client.expect_closed();
}

#[test]
fn file_in_the_handshake_is_refused_and_skipped() {
    let server = start_server(Config::default());
    let mut client = TestClient::connect(server.addr);
    client.expect_prefix("[INFO]:");
    // Its bytes look like a name line: they must be skipped, not taken as one.
    client.send(&sized_file("x.txt", b"eve\n"));
    client.expect_prefix("[ERROR]:");
    client.send_line("alice");
    client.expect_line("[WELCOME]:alice");
    client.expect_line("[USERS]:alice");
}

#[test]
fn connection_without_a_name_is_closed_after_the_handshake_timeout() {
    let server = start_server(Config {
        handshake_timeout: Duration::from_millis(300),
        ..Config::default()
    });
    let mut idle = TestClient::connect(server.addr);
    idle.expect_prefix("[INFO]:");
    idle.expect_prefix("[ERROR]:");
    idle.expect_closed();
}

#[test]
fn user_joins_and_chats_while_another_connection_waits_in_the_handshake() {
    let server = start_server(Config {
        handshake_timeout: Duration::from_millis(300),
        ..Config::default()
    });
    let mut idle = TestClient::connect(server.addr);
    idle.expect_prefix("[INFO]:");
    let mut alice = TestClient::join_at_once(server.addr, "alice");
    let mut bob = TestClient::join_at_once(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    alice.send_line("hi bob");
    bob.expect_line("alice: hi bob");
    idle.expect_prefix("[ERROR]:");
    idle.expect_closed();
    // The joined users are not timed out, and are told nothing of the idle connection.
    bob.send_line("hi alice");
    alice.expect_line("bob: hi alice");
}

// ---------------------------------------------------------------------------------------------
// Messages

#[test]
fn message_goes_to_others_tagged_with_the_sender_and_not_back() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    alice.send_line("hi bob");
    bob.expect_line("alice: hi bob");
    // Had alice's message come back to her, it would arrive before bob's reply.
    bob.send_line("hi alice");
    alice.expect_line("bob: hi alice");
}

#[test]
fn message_goes_to_every_other_joined_client() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    let mut carol = TestClient::join(server.addr, "carol");
    alice.expect_line("[JOIN]:bob");
    alice.expect_line("[JOIN]:carol");
    bob.expect_line("[JOIN]:carol");
    alice.send_line("hello: all");
    bob.expect_line("alice: hello: all");
    carol.expect_line("alice: hello: all");
    carol.send_line("marker");
    alice.expect_line("carol: marker");
    bob.expect_line("carol: marker");
}

#[test]
fn client_in_the_handshake_receives_no_messages() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    let mut carol = TestClient::connect(server.addr);
    carol.expect_prefix("[INFO]:");
    alice.send_line("not for carol");
    bob.expect_line("alice: not for carol");
    // The message was relayed before carol asked to join: had she got it, it would come first.
    carol.send_line("carol");
    carol.expect_line("[WELCOME]:carol");
    carol.expect_line("[USERS]:alice,bob,carol");
}

#[test]
fn crlf_line_end_is_accepted_and_not_relayed() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    alice.send(b"hi\r\n");
    bob.expect_line("alice: hi");
}

#[test]
fn empty_lines_after_joining_are_ignored() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    alice.send(b"\n\r\n\n");
    alice.send_line("marker");
    bob.expect_line("alice: marker");
    // No error for the empty lines either.
    bob.send_line("reply");
    alice.expect_line("bob: reply");
}

#[test]
fn tab_in_a_message_is_relayed() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    alice.send_line("a\tb\t");
    bob.expect_line("alice: a\tb\t");
}

#[test]
fn line_of_exactly_max_line_bytes_is_relayed() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    let longest = "x".repeat(Config::default().max_line);
    alice.send_line(&longest);
    bob.expect_line(&format!("alice: {longest}"));
    // No error for it either.
    bob.send_line("reply");
    alice.expect_line("bob: reply");
}

// ---------------------------------------------------------------------------------------------
// The transcript

/// True for `2026-11-26T10:37:46Z`: a UTC timestamp to the second.
fn is_utc_timestamp(text: &str) -> bool {
    let pattern = "0000-00-00T00:00:00Z";
    text.len() == pattern.len()
        && text
            .bytes()
            .zip(pattern.bytes())
            .all(|(byte, want)| match want {
                b'0' => byte.is_ascii_digit(),
                _ => byte == want,
            })
}

#[test]
fn transcript_records_join_message_file_and_leave_with_utc_timestamps() {
    let dir = std::env::temp_dir().join(format!("chat-server-transcript-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("transcript.log");
    let _ = std::fs::remove_file(&log);
    let server = start_server(Config {
        log: Some(log.clone()),
        ..Config::default()
    });
    let mut bob = TestClient::join(server.addr, "bob");
    bob.take_files();
    let mut alice = TestClient::join(server.addr, "alice");
    // The broadcaster writes each transcript line before it relays the event, so once bob has
    // an event its line is in the file.
    bob.expect_line("[JOIN]:alice");
    alice.send_line("hi");
    bob.expect_line("alice: hi");
    alice.send(&sized_file("x.txt", b"abc"));
    bob.expect_file("[FILE]:alice:x.txt:3", b"abc");
    alice.send_line("exit");
    bob.expect_line("[LEAVE]:alice");

    let text = std::fs::read_to_string(&log).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let mut events = Vec::new();
    for line in text.lines() {
        let (time, event) = line
            .split_once(' ')
            .expect("a timestamp, a space, an event");
        assert!(is_utc_timestamp(time), "no UTC timestamp in {line:?}");
        events.push(event);
    }
    assert_eq!(
        events,
        [
            "bob has joined the chat room.",
            "alice has joined the chat room.",
            "alice: hi",
            "[Notification] File 'x.txt' (3 bytes) from alice.",
            "alice has left the chat.",
        ]
    );
}
