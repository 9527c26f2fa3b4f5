//! Leaving: `exit`, a closed socket, and the server shutting down (a client gone in the middle
//! of a frame is one of the attacks in `hostile.rs`).

mod common;

use std::io::{ErrorKind, Read};
use std::net::TcpStream;
use std::time::Duration;

use chat::server::Config;
use common::{TIMEOUT, TestClient, alice_and_bob, start_server};

#[test]
fn exit_tells_the_others_and_closes_the_leavers_connection() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    alice.send_line("exit");
    bob.expect_line("[LEAVE]:alice");
    alice.expect_closed();
}

#[test]
fn closing_the_socket_tells_the_others() {
    let (_server, alice, mut bob) = alice_and_bob(Config::default());
    drop(alice);
    bob.expect_line("[LEAVE]:alice");
}

#[test]
fn leaver_is_not_told_of_its_own_leave_and_the_others_carry_on() {
    let (server, mut alice, mut bob) = alice_and_bob(Config::default());
    let mut carol = TestClient::join(server.addr, "carol");
    alice.expect_line("[JOIN]:carol");
    bob.expect_line("[JOIN]:carol");
    alice.send_line("exit");
    bob.expect_line("[LEAVE]:alice");
    carol.expect_line("[LEAVE]:alice");
    alice.expect_closed();
    bob.send_line("still here");
    carol.expect_line("bob: still here");
}

#[test]
fn name_of_a_user_who_left_can_be_taken_again() {
    let (server, mut alice, mut bob) = alice_and_bob(Config::default());
    alice.send_line("exit");
    bob.expect_line("[LEAVE]:alice");
    let _alice = TestClient::join(server.addr, "ALICE");
    bob.expect_line("[JOIN]:ALICE");
}

#[test]
fn shutdown_tells_joined_clients_and_closes_their_connections() {
    let (server, mut alice, mut bob) = alice_and_bob(Config::default());
    assert!(server.shutdown());
    for client in [&mut alice, &mut bob] {
        client.expect_line("[ERROR]:server is shutting down");
        client.expect_closed();
    }
}

#[test]
fn shutdown_tells_a_client_in_the_handshake_and_closes_its_connection() {
    let server = start_server(Config::default());
    let mut waiting = TestClient::connect(server.addr);
    waiting.expect_prefix("[INFO]:");
    assert!(server.shutdown());
    waiting.expect_prefix("[ERROR]:");
    waiting.expect_closed();
}

#[test]
fn shutdown_stops_accepting_connections() {
    let server = start_server(Config::default());
    let addr = server.addr;
    assert!(server.shutdown());
    // Refused, or at most accepted by a dying backlog and closed at once without a greeting.
    if let Ok(mut stream) = TcpStream::connect(addr) {
        // A connect to a port nobody listens on can, rarely, pick that very port as its own
        // and connect to itself: that is no server.
        if stream.local_addr().ok() == Some(addr) {
            return;
        }
        stream.set_read_timeout(Some(TIMEOUT)).unwrap();
        let mut first = [0u8; 1];
        match stream.read(&mut first) {
            Ok(n) => assert_eq!(n, 0, "a stopped server sent something"),
            Err(e) => assert!(
                !matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
                "a stopped server kept the connection open"
            ),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Every connection's two threads end with it

#[test]
fn threads_of_a_client_that_exits_end() {
    let (server, mut alice, mut bob) = alice_and_bob(Config::default());
    alice.send_line("exit");
    bob.expect_line("[LEAVE]:alice");
    alice.expect_closed();
    drop(alice);
    server.expect_open_connections(1);
}

#[test]
fn threads_of_a_client_that_closes_its_socket_end() {
    let (server, alice, mut bob) = alice_and_bob(Config::default());
    drop(alice);
    bob.expect_line("[LEAVE]:alice");
    server.expect_open_connections(1);
}

#[test]
fn threads_of_a_connection_that_never_names_itself_end_at_the_handshake_timeout() {
    let server = start_server(Config {
        handshake_timeout: Duration::from_millis(200),
        ..Config::default()
    });
    let mut silent = TestClient::connect(server.addr);
    silent.expect_prefix("[INFO]:");
    silent.expect_prefix("[ERROR]:");
    silent.expect_closed();
    drop(silent);
    server.expect_open_connections(0);
}

#[test]
fn threads_of_a_client_refused_for_a_framing_error_end_even_if_it_keeps_the_socket_open() {
    let (server, mut alice, mut bob) = alice_and_bob(Config::default());
    alice.send(b"[FILE]:x:3\nabcNOT-END\n");
    alice.expect_prefix("[ERROR]:");
    bob.expect_line("[LEAVE]:alice");
    alice.expect_closed();
    // alice never closes her end: the server gives up on her after lingering.
    server.expect_open_connections(1);
}

#[test]
fn a_client_closed_for_an_error_first_gets_everything_routed_to_it_before_its_leave() {
    // While bob floods the chat, carol breaks the protocol (a file size that is not a number)
    // and is closed with an [ERROR]. Whatever alice saw before `[LEAVE]:carol` was routed to
    // carol too, and must reach her before her [ERROR]: the error is her last frame, not one
    // that overtakes the frames before it. (No history: carol joins ten times.)
    let server = start_server(Config {
        history: 0,
        ..Config::default()
    });
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    for round in 0..10 {
        let mut carol = TestClient::join(server.addr, "carol");
        alice.expect_line("[JOIN]:carol");
        bob.expect_line("[JOIN]:carol");
        let burst: String = (0..300).map(|i| format!("r{round} m{i}\n")).collect();
        bob.send(burst.as_bytes());
        carol.send(b"[FILE]:x:abc\n");
        let mut before_leave = Vec::new();
        loop {
            let line = alice.read_line();
            if line == "[LEAVE]:carol" {
                break;
            }
            before_leave.push(line);
        }
        for line in &before_leave {
            carol.expect_line(line);
        }
        carol.expect_line("[ERROR]:bad file size: not a decimal number");
        carol.expect_closed();
        // The rest of the burst, for alice, before the next round.
        let rest = 300 - before_leave.len();
        for _ in 0..rest {
            alice.read_line();
        }
        bob.expect_line("[LEAVE]:carol");
    }
}
