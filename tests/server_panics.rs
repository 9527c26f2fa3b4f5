//! A panic in a client thread must leave the chat consistent: the others are told the client
//! left, its name is free again, and its threads and socket end. The server has a test-only
//! hook (`Config::test_panic_on`) that panics a reader on a chosen message.

mod common;

use chat::server::Config;
use common::{TestClient, start_server};

fn panicking_server() -> common::TestServer {
    start_server(Config {
        test_panic_on: Some("panic now".into()),
        ..Config::default()
    })
}

#[test]
fn a_panicking_reader_still_tells_the_others_its_client_left() {
    let server = panicking_server();
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");

    bob.send_line("panic now");
    alice.expect_line("[LEAVE]:bob");
    // The panicking reader's connection ends: both threads, and the socket.
    bob.expect_closed();
    server.expect_open_connections(1);
}

#[test]
fn the_name_of_a_client_whose_reader_panicked_is_free_again() {
    let server = panicking_server();
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    bob.send_line("panic now");
    alice.expect_line("[LEAVE]:bob");

    let mut bob_again = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    bob_again.send_line("back");
    alice.expect_line("bob: back");
    // The chat carries on for everyone, in one order.
    alice.send_line("welcome back");
    bob_again.expect_line("alice: welcome back");
}
