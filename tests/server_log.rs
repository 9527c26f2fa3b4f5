//! What the server's log says (standard error, at the default level): each event an operator
//! needs once, with the user or address and the reason, and never a flood of lines.

mod common;

use common::TestClient;
use common::binaries::ServerProcess;

#[test]
fn a_refused_name_is_logged_with_the_connection_and_the_reason() {
    let server = ServerProcess::logging(&[]);
    let _alice = TestClient::join(server.addr, "alice");
    let mut other = TestClient::connect(server.addr);
    other.expect_prefix("[INFO]:");
    other.send_line("ALICE");
    other.expect_prefix("[ERROR]:");
    let line = server.expect_log(&["refused", "'ALICE' is taken"]);
    assert!(line.contains("127.0.0.1:"), "{line}");
}

#[test]
fn a_refused_frame_is_logged_with_the_user() {
    let server = ServerProcess::logging(&[]);
    let mut alice = TestClient::join(server.addr, "alice");
    alice.send(b"bell \x07\n");
    alice.expect_prefix("[ERROR]:");
    server.expect_log(&["alice (127.0.0.1:", "refused", "control characters"]);
}

#[test]
fn a_shared_file_is_logged_with_its_sender_and_size() {
    let server = ServerProcess::logging(&[]);
    let mut alice = TestClient::join(server.addr, "alice");
    let _bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    alice.send(b"[FILE]:notes.txt:5\nhello<END>\n");
    server.expect_log(&["notes.txt", "5 bytes", "alice"]);
}

#[test]
fn why_a_client_was_closed_is_logged() {
    let server = ServerProcess::logging(&["--handshake-timeout", "1"]);
    let mut silent = TestClient::connect(server.addr);
    silent.expect_prefix("[INFO]:");
    silent.expect_line("[ERROR]:no username within 1 s");
    server.expect_log(&["connection", "closed", "no username within 1 s"]);
}

#[test]
fn a_client_refused_again_and_again_does_not_flood_the_log() {
    let server = ServerProcess::logging(&[]);
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    for _ in 0..50 {
        alice.send(b"bell \x07\n");
        alice.expect_prefix("[ERROR]:");
    }
    alice.send_line("exit");
    bob.expect_line("[LEAVE]:alice");
    let log = server.log_until(&["alice (127.0.0.1:", "50 frames or names refused in all"]);
    // The first three refusals, then the count: not fifty lines.
    let refusals = log
        .iter()
        .filter(|line| line.contains("refused: control"))
        .count();
    assert_eq!(refusals, 3, "{log:#?}");
}
