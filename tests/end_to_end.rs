//! The real `chat-client` binaries, driven through pipes, against the real `chat-server` binary:
//! the seed's whole story, from joining to leaving.

mod common;

use std::fs;

use common::binaries::{ClientProcess, ServerProcess, TestDir, chat_log};

/// Starts a client joined as `name`, with its downloads and log in `dir`.
fn join(server: &ServerProcess, dir: &TestDir, name: &str) -> ClientProcess {
    let port = server.addr.port().to_string();
    let args = ["--port", &port, "--name", name, "--downloads", "downloads"];
    let mut client = ClientProcess::start(dir, &args);
    client.expect(&format!("[INFO] Joined as {name}."));
    client
}

#[test]
fn two_users_chat_share_a_file_and_leave() {
    let server = ServerProcess::start(&[]);
    let bob_dir = TestDir::new("e2e_bob");
    let alice_dir = TestDir::new("e2e_alice");
    let mut bob = join(&server, &bob_dir, "bob");
    bob.expect("[INFO] Online: bob\n");

    let mut alice = join(&server, &alice_dir, "alice");
    alice.expect("[INFO] Online: bob, alice\n");
    bob.expect("alice has joined the chat room.\n");

    alice.type_line("hi bob");
    bob.expect("alice: hi bob\n");
    bob.type_line("hi alice");
    alice.expect("bob: hi alice\n");

    let data: Vec<u8> = (0..=255u8)
        .cycle()
        .take(100_000)
        .chain(*b"<END>\n")
        .collect();
    fs::write(alice_dir.join("notes.bin"), &data).unwrap();
    alice.type_line("/file notes.bin");
    alice.expect("[Notification] File 'notes.bin' sent.\n");
    bob.expect(
        "[Notification] Received file: downloads/received_notes.bin (97.7 KiB, from alice)\n",
    );
    assert_eq!(
        fs::read(bob_dir.join("downloads/received_notes.bin")).unwrap(),
        data
    );

    // The server's answer to the /files on each client sent as it joined is not shown.
    for client in [&bob, &alice] {
        assert!(!client.shown().contains("/files"), "{}", client.shown());
    }

    alice.type_line("exit");
    let (status, _) = alice.finish();
    assert!(status.success(), "alice exits with {status}");
    bob.expect("alice has left the chat.\n");
    bob.close_stdin();
    let (status, _) = bob.finish();
    assert!(status.success(), "bob exits with {status}");

    let alice_log = chat_log(&alice_dir.join("chat_log.txt"));
    for line in [
        "Me: hi bob",
        "bob: hi alice",
        "[Notification] File 'notes.bin' sent.",
    ] {
        assert!(
            alice_log.lines().any(|l| l == line),
            "{line:?} in {alice_log}"
        );
    }
    let bob_log = chat_log(&bob_dir.join("chat_log.txt"));
    for line in [
        "alice has joined the chat room.",
        "alice: hi bob",
        "Me: hi alice",
        "[Notification] Received file: downloads/received_notes.bin (97.7 KiB, from alice)",
        "alice has left the chat.",
    ] {
        assert!(bob_log.lines().any(|l| l == line), "{line:?} in {bob_log}");
    }
}

#[test]
fn taken_name_is_asked_for_again_at_the_prompt() {
    let server = ServerProcess::start(&[]);
    let bob_dir = TestDir::new("e2e_prompt_bob");
    let _bob = join(&server, &bob_dir, "bob");

    let dir = TestDir::new("e2e_prompt");
    let port = server.addr.port().to_string();
    let mut client = ClientProcess::start(&dir, &["--port", &port, "--no-log"]);
    client.expect("Enter your username: ");
    client.type_line("BOB");
    client.expect("[ERROR] username 'BOB' is taken\n");
    client.expect("Enter your username: ");
    client.type_line("carol");
    client.expect("[INFO] Joined as carol.");
    client.expect("[INFO] Online: bob, carol\n");
}

#[test]
fn client_says_connection_lost_and_fails_when_the_server_dies() {
    let mut server = ServerProcess::start(&[]);
    let dir = TestDir::new("e2e_server_dies");
    let mut client = join(&server, &dir, "bob");
    server.child.kill().unwrap();
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "[ERROR] connection lost\n");
}

#[test]
fn client_says_the_server_shut_down_and_exits_0_after_a_clean_stop() {
    let mut server = ServerProcess::with_console(&[]);
    let dir = TestDir::new("e2e_server_shuts_down");
    let mut client = join(&server, &dir, "bob");
    server.type_line("/shutdown");
    client.expect("[INFO] The server is shutting down.\n");
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(0));
    assert_eq!(stderr, "");
}

#[test]
fn taken_name_given_as_an_option_without_input_exits_1_with_the_reason() {
    let server = ServerProcess::start(&[]);
    let bob_dir = TestDir::new("e2e_taken_option_bob");
    let _bob = join(&server, &bob_dir, "bob");

    let dir = TestDir::new("e2e_taken_option");
    let port = server.addr.port().to_string();
    let mut client = ClientProcess::start(&dir, &["--port", &port, "--name", "BOB"]);
    client.close_stdin();
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(1));
    assert_eq!(stderr, "[ERROR] not joined: username 'BOB' is taken\n");
}
