//! The operator's console: in-process through `ServerHandle::console`, and in the real
//! `chat-server` binary on its standard input.

mod common;

use chat::server::{Config, ConsoleError};
use common::binaries::ServerProcess;
use common::{TestClient, start_server};

#[test]
fn users_lists_who_is_online_with_their_address() {
    let server = start_server(Config::default());
    let _alice = TestClient::join(server.addr, "alice");
    let _bob = TestClient::join(server.addr, "bob");
    let users = server.console().users();
    let names: Vec<&str> = users.iter().map(|user| user.name.as_str()).collect();
    assert_eq!(names, ["alice", "bob"]);
    assert!(users.iter().all(|user| user.address.ip().is_loopback()));
    let reply = server.console().execute("/users");
    assert_eq!(reply.lines[0], "2 online:");
    assert!(reply.lines[1].contains("alice") && reply.lines[1].contains("127.0.0.1:"));
}

#[test]
fn kick_removes_a_user_with_the_reason_as_its_last_frame() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");

    let kicked = server.console().kick("BOB", Some("spamming the room"));
    assert_eq!(kicked, Ok("bob".to_owned()));
    bob.expect_line("[ERROR]:removed by the server: spamming the room");
    bob.expect_closed();
    alice.expect_line("[LEAVE]:bob");
    // The name is free again.
    let _bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
}

#[test]
fn kick_without_a_reason_and_kick_of_nobody() {
    let server = start_server(Config::default());
    let mut bob = TestClient::join(server.addr, "bob");
    assert_eq!(
        server.console().kick("nobody", None),
        Err(ConsoleError::NoSuchUser("nobody".into()))
    );
    server.console().kick("bob", None).unwrap();
    bob.expect_line("[ERROR]:removed by the server");
    bob.expect_closed();
}

#[test]
fn say_sends_every_user_a_notice_no_user_can_forge() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    server.console().say("back in 5 minutes").unwrap();
    alice.expect_line("[NOTICE]:back in 5 minutes");
    bob.expect_line("[NOTICE]:back in 5 minutes");
    // A user typing the same arrives as their own message.
    alice.send_line("[NOTICE]:I am the server");
    bob.expect_line("alice: [NOTICE]:I am the server");
}

#[test]
fn shutdown_at_the_console_says_goodbye_to_everyone() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let reply = server.console().execute("/shutdown");
    assert!(reply.stopping);
    alice.expect_line("[ERROR]:server is shutting down");
    alice.expect_closed();
    assert!(server.shutdown(), "every client thread ends");
}

// ---------------------------------------------------------------------------------------------
// The real binary

#[test]
fn the_binary_runs_console_commands_from_its_standard_input() {
    let mut server = ServerProcess::with_console(&[]);
    assert!(
        server.next_output().contains("/shutdown"),
        "the console is announced"
    );
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");

    server.type_line("/users");
    assert_eq!(server.next_output(), "2 online:");
    assert!(server.next_output().contains("alice"));
    assert!(server.next_output().contains("bob"));

    server.type_line("/say lunch is ready");
    alice.expect_line("[NOTICE]:lunch is ready");
    bob.expect_line("[NOTICE]:lunch is ready");

    server.type_line("/kick bob too loud");
    assert_eq!(server.next_output(), "bob was removed");
    bob.expect_line("[ERROR]:removed by the server: too loud");
    alice.expect_line("[LEAVE]:bob");

    server.type_line("/bogus");
    assert_eq!(server.next_output(), "unknown command /bogus (try /help)");

    server.type_line("/shutdown");
    alice.expect_line("[ERROR]:server is shutting down");
    alice.expect_closed();
    assert_eq!(server.wait_for_exit(), Some(0));
}

#[test]
fn the_binary_keeps_serving_when_its_input_is_not_a_terminal_and_ends() {
    // Standard input is /dev/null: the console ends at once, and the server serves on.
    let server = ServerProcess::start(&[]);
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    bob.send_line("still serving");
    alice.expect_line("bob: still serving");
}

#[test]
fn the_binary_keeps_serving_when_a_piped_console_is_closed() {
    let mut server = ServerProcess::with_console(&[]);
    drop(server.console.take());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    bob.send_line("still serving");
    alice.expect_line("bob: still serving");
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server exited"
    );
}

/// Runs `chat-server` with a pseudo-terminal as its standard input (std has none: Python's
/// `pty` module makes one), joins a client, types Ctrl-D, and prints what the client received
/// and the server's exit status.
const CTRL_D_AT_A_TERMINAL: &str = r#"
import os, pty, socket, sys
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[1], ["chat-server", "--port", "0"])
out = b""
while b"Console" not in out:
    out += os.read(fd, 4096)
port = int(out.split(b"Hosting on 127.0.0.1:")[1].split(b"\r")[0])
client = socket.create_connection(("127.0.0.1", port))
client.settimeout(10)
client.sendall(b"alice\n")
got = b""
while b"[USERS]" not in got:
    got += client.recv(4096)
os.write(fd, b"\x04")
while True:
    data = client.recv(4096)
    if not data:
        break
    got += data
_, status = os.waitpid(pid, 0)
print(got.decode().strip().splitlines()[-1])
print("exit", os.WEXITSTATUS(status))
"#;

#[test]
fn ctrl_d_at_a_terminal_stops_the_binary_cleanly() {
    let python = std::process::Command::new("python3")
        .args(["-c", CTRL_D_AT_A_TERMINAL, common::binaries::SERVER])
        .output();
    let output = match python {
        Ok(output) => output,
        Err(error) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: no python3 to make a pseudo-terminal ({error})");
            return;
        }
        Err(error) => panic!("python3 is needed for this test in CI: {error}"),
    };
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(stdout, "[ERROR]:server is shutting down\nexit 0\n");
}
