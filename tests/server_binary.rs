//! The real `chat-server` binary: its command line, and a session as netcat would type it.

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::process::Command;

use common::TestClient;
use common::binaries::{SERVER, ServerProcess};

fn run(args: &[&str]) -> std::process::Output {
    Command::new(SERVER)
        .args(args)
        .output()
        .expect("run chat-server")
}

#[test]
fn help_lists_every_option_with_its_default() {
    let out = run(&["--help"]);
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for option in [
        "--host",
        "--port",
        "--log",
        "--max-clients",
        "--max-file-size",
        "--max-line",
        "--send-queue",
        "--handshake-timeout",
        "--max-per-ip",
        "--max-file-memory",
        "--idle-timeout",
        "--write-timeout",
        "--file-timeout",
        "--min-file-rate",
        "--history",
        "--flood-burst",
        "--flood-rate",
        "--no-flood-limit",
        "--limit-loopback",
        "--allow",
        "--deny",
        "--help",
        "--version",
    ] {
        assert!(help.contains(option), "--help does not mention {option}");
    }
    for default in [
        "127.0.0.1",
        "12345",
        "1024",
        "67108864",
        "4096",
        "default 30)",
        "default 16)",
        "default 268435456)",
        "default 1800)",
        "default 5)",
        "default 2)",
    ] {
        assert!(
            help.contains(default),
            "--help does not show the default {default}"
        );
    }
}

#[test]
fn version_prints_the_package_version() {
    let out = run(&["-V"]);
    assert!(out.status.success());
    let expected = format!("chat-server {}\n", env!("CARGO_PKG_VERSION"));
    assert_eq!(String::from_utf8(out.stdout).unwrap(), expected);
}

#[test]
fn bad_option_gives_one_line_and_the_usage_with_status_2() {
    for args in [
        &["--bogus"][..],
        &["--port", "http"],
        &["--send-queue", "0"],
        &["--max-line", "-5"],
        &["--max-file-memory", "1000"],
        &["--flood-rate", "0"],
        &["--flood-burst", "0"],
        &["--max-per-ip", "0"],
        &["--idle-timeout", "soon"],
        &["--allow", "10.0.0.0/33"],
        &["--deny", "::1/129"],
        &["--deny", "localhost"],
        &["--allow", ""],
        &["extra"],
    ] {
        let out = run(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8(out.stderr).unwrap();
        let lines: Vec<&str> = stderr.lines().collect();
        assert_eq!(lines.len(), 2, "{args:?}: {stderr}");
        assert!(lines[0].starts_with("chat-server: "), "{stderr}");
        assert!(lines[1].starts_with("Usage: chat-server"), "{stderr}");
    }
}

#[cfg(unix)]
#[test]
fn argument_that_is_not_utf8_is_a_bad_command_line_not_a_panic() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    for args in [
        &[OsStr::from_bytes(b"\xff")][..],
        &[OsStr::new("--log"), OsStr::from_bytes(b"chat\xff.log")],
    ] {
        let out = Command::new(SERVER).args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.starts_with("chat-server: "), "{stderr}");
        assert_eq!(stderr.lines().count(), 2, "{stderr}");
    }
}

#[test]
fn bad_cidr_says_which_option_and_why() {
    let out = run(&["--deny", "127.0.0.1", "--allow", "10.0.0.0/33"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("chat-server: --allow: '10.0.0.0/33' is not an address or CIDR ("),
        "{stderr}"
    );
}

#[test]
fn port_already_taken_is_a_one_line_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let out = run(&["--port", &port]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("cannot listen on"), "{stderr}");
}

/// Joins alice and bob to `server` and has alice send three lines at once; bob reads them.
fn three_lines_at_once(server: &ServerProcess) -> TestClient {
    let mut alice = TestClient::join(server.addr, "alice");
    let bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    alice.send(b"one\ntwo\nthree\n");
    bob
}

#[test]
fn limit_loopback_applies_the_flood_options() {
    // Two frames at once (her name and her first line: flood control counts from the first
    // byte), then one every 1,000 s: bob gets alice's first line, not the second.
    let server = ServerProcess::start(&[
        "--limit-loopback",
        "--flood-burst",
        "2",
        "--flood-rate",
        "0.001",
    ]);
    let mut bob = three_lines_at_once(&server);
    bob.expect_line("alice: one");
    bob.stream
        .set_read_timeout(Some(std::time::Duration::from_millis(300)))
        .unwrap();
    let mut probe = [0u8; 1];
    assert!(
        bob.stream.peek(&mut probe).is_err(),
        "alice's second line came through her empty bucket"
    );
}

#[test]
fn no_flood_limit_turns_flood_control_off() {
    let server = ServerProcess::start(&[
        "--limit-loopback",
        "--flood-burst",
        "1",
        "--flood-rate",
        "0.001",
        "--no-flood-limit",
    ]);
    let mut bob = three_lines_at_once(&server);
    bob.expect_line("alice: one");
    bob.expect_line("alice: two");
    bob.expect_line("alice: three");
}

#[test]
fn netcat_style_session_works_against_the_binary() {
    let server = ServerProcess::start(&[]);
    let mut bob = TestClient::join(server.addr, "bob");
    bob.take_files();
    // Typed by hand: CRLF line ends, an empty line, a text-form file.
    let mut nc = TestClient::connect(server.addr);
    nc.expect_prefix("[INFO]:");
    nc.send(b"\r\ncarol\r\n");
    nc.expect_line("[WELCOME]:carol");
    nc.expect_line("[USERS]:bob,carol");
    bob.expect_line("[JOIN]:carol");
    nc.send(b"hello from netcat\r\n[FILE]:todo.txt\r\nbuy milk\r\n\r\n<END>\r\n");
    bob.expect_line("carol: hello from netcat");
    let (header, data) = bob.read_file();
    assert_eq!(header, "[FILE]:carol:todo.txt:10");
    assert_eq!(data, b"buy milk\n\n");
    bob.send_line("hi carol");
    nc.expect_line("bob: hi carol");
    nc.send(b"exit\r\n");
    bob.expect_line("[LEAVE]:carol");
    nc.expect_closed();
}

#[test]
fn log_option_appends_a_timestamped_transcript() {
    let dir = std::env::temp_dir().join(format!("chat-server-log-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("transcript.txt");
    std::fs::write(&log, "an earlier line\n").unwrap();
    let server = ServerProcess::start(&["--log", log.to_str().unwrap()]);
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    alice.send_line("hi");
    // The transcript line is written before the message is relayed.
    bob.expect_line("alice: hi");
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "an earlier line");
    let events: Vec<&str> = lines[1..]
        .iter()
        .map(|line| line.split_once("Z ").expect("a timestamp first").1)
        .collect();
    assert_eq!(
        events,
        [
            "alice has joined the chat room.",
            "bob has joined the chat room.",
            "alice: hi"
        ]
    );
    let _ = std::fs::remove_dir_all(&dir);
}

// ---------------------------------------------------------------------------------------------
// Access rules (tests/server_access.rs has the rest, on the library)

const TWO: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));
const THREE: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3));

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs all of 127.0.0.0/8 on loopback"
)]
#[test]
fn allow_and_deny_are_tried_in_the_order_given_across_both_options() {
    // Taken in this order, 127.0.0.1 is allowed and the rest of 127/8 denied. All the allows
    // first would let 127.0.0.2 in; all the denies first would refuse 127.0.0.1.
    let server = ServerProcess::start(&[
        "--allow",
        "127.0.0.1",
        "--deny",
        "127.0.0.0/8",
        "--allow",
        "127.0.0.2",
    ]);
    TestClient::join(server.addr, "alice");
    for source in [TWO, THREE] {
        let mut refused = TestClient::connect_from(source, server.addr).unwrap();
        refused.expect_line("[ERROR]:not allowed from your address");
        refused.expect_closed();
    }
}

#[cfg_attr(
    not(target_os = "linux"),
    ignore = "needs all of 127.0.0.0/8 on loopback"
)]
#[test]
fn refused_connection_is_logged_once_with_its_address() {
    let mut server = ServerProcess::logging(&["--deny", "127.0.0.2"]);
    // The server logs a refusal before it sends it: once the client has read it, it is logged.
    for _ in 0..2 {
        let mut refused = TestClient::connect_from(TWO, server.addr).unwrap();
        refused.expect_line("[ERROR]:not allowed from your address");
        refused.expect_closed();
    }
    TestClient::join(server.addr, "alice");
    let log = server.stop_and_read_log();
    let about_two: Vec<&str> = log.lines().filter(|l| l.contains("127.0.0.2")).collect();
    assert_eq!(about_two.len(), 2, "one line per refused connection: {log}");
    for line in about_two {
        assert!(line.contains("not allowed"), "{line}");
    }
}

/// A server with thousands of clients runs out of descriptors before it runs out of anything
/// else, so what one connection costs is part of the limits: three (its socket, a clone for
/// its writer, one shared by everything that may cut it off).
#[cfg(target_os = "linux")]
#[test]
fn the_server_keeps_three_descriptors_per_joined_client() {
    let server = ServerProcess::start(&[]);
    let descriptors = || {
        std::fs::read_dir(format!("/proc/{}/fd", server.child.id()))
            .expect("read the server's descriptors")
            .count()
    };
    let before = descriptors();
    let clients: Vec<TestClient> = (0..20)
        .map(|i| TestClient::join(server.addr, &format!("user{i}")))
        .collect();
    let after = descriptors();
    assert_eq!(
        after - before,
        3 * clients.len(),
        "descriptors for 20 clients"
    );
}
