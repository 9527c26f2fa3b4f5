//! Extreme values of every limit, on the command line and in `Config`. Each must
//! either be refused (exit status 2 and a one-line error; `Err` from `start`) or work: a panic
//! in a client thread, or a wait that never ends, leaves a ghost whose name stays taken.
//!
//! Every case runs in a thread of its own, all at once, and the test lists every case that
//! failed rather than stopping at the first.

use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::process::{Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use chat::server::{self, Config, FloodLimit};

use crate::common::TestClient;
use crate::common::binaries::SERVER;

/// How long each step of a case may take.
const STEP: Duration = Duration::from_secs(5);

/// Connects and joins as `name`, each read bounded by `STEP`.
fn join(addr: SocketAddr, name: &str) -> TestClient {
    let mut client = TestClient::connect(addr);
    client.stream.set_read_timeout(Some(STEP)).unwrap();
    client.send_line(name);
    client.expect_prefix("[INFO]:");
    client.expect_line(&format!("[WELCOME]:{name}"));
    client.expect_prefix("[USERS]:");
    client
}

/// The chat works: alice joins and sends two frames, the first split across two reads; she
/// leaves and everyone is told; her name is free again. Panics otherwise.
fn chat_works(addr: SocketAddr) {
    let mut alice = join(addr, "alice");
    let mut bob = join(addr, "bob");
    alice.expect_line("[JOIN]:bob");
    // A slow typist: the pause makes the server read the line in two pieces.
    alice.send(b"hel");
    thread::sleep(Duration::from_millis(200));
    alice.send(b"lo\n");
    bob.expect_line("alice: hello");
    alice.send_line("second");
    bob.expect_line("alice: second");
    alice.send_line("exit");
    bob.expect_line("[LEAVE]:alice");
    let _again = join(addr, "alice");
    bob.expect_line("[JOIN]:alice");
}

/// Runs every case at once, each in its own thread; panics listing the cases that failed.
fn check_all<C: Send + 'static>(cases: Vec<(String, C)>, check: fn(C)) {
    let running: Vec<_> = cases
        .into_iter()
        .map(|(name, case)| (name, thread::spawn(move || check(case))))
        .collect();
    let failed: Vec<String> = running
        .into_iter()
        .filter_map(|(name, thread)| thread.join().is_err().then_some(name))
        .collect();
    assert!(failed.is_empty(), "these cases failed: {failed:#?}");
}

// ---------------------------------------------------------------------------------------------
// The command line

/// One command line: the option its error must name if refused, and the arguments.
struct ServerCase {
    option: &'static str,
    args: Vec<&'static str>,
}

/// Starts `chat-server` with the case's arguments (and `--port 0` unless it sets the port):
/// either it exits with status 2 and a one-line error naming the option, or it serves and the
/// chat works.
fn check_server_case(case: ServerCase) {
    let mut command = Command::new(SERVER);
    if !case.args.contains(&"--port") {
        command.args(["--port", "0"]);
    }
    let mut child = command
        .args(&case.args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start chat-server");
    let stdout = child.stdout.take().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let (lines, hosting) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let errors = thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let args = &case.args;
    match hosting.recv_timeout(STEP) {
        Ok(line) => {
            let addr = line
                .split("Hosting on ")
                .nth(1)
                .unwrap_or_else(|| panic!("{args:?}: no 'Hosting on' in {line:?}"))
                .parse()
                .expect("a socket address");
            let result = std::panic::catch_unwind(|| chat_works(addr));
            let _ = child.kill();
            let _ = child.wait();
            let stderr = errors.join().unwrap();
            assert!(
                result.is_ok(),
                "{args:?}: accepted, but the chat broke:\n{stderr}"
            );
            assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        }
        Err(RecvTimeoutError::Disconnected) => {
            let status = child.wait().expect("wait for chat-server");
            let stderr = errors.join().unwrap();
            assert_eq!(status.code(), Some(2), "{args:?}: {stderr}");
            let mut lines = stderr.lines();
            let error = lines.next().unwrap_or_default();
            assert!(
                error.starts_with("chat-server: ") && error.contains(case.option),
                "{args:?}: the error does not name {}: {stderr}",
                case.option
            );
            assert!(
                lines.all(|line| line.starts_with("Usage: ")),
                "{args:?}: more than one line of error: {stderr}"
            );
        }
        Err(RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?}: neither refused nor serving");
        }
    }
}

const U64_MAX: &str = "18446744073709551615";

#[test]
fn extreme_option_values_are_refused_or_work() {
    let case = |option, args: &[&'static str]| {
        let case = ServerCase {
            option,
            args: args.to_vec(),
        };
        (format!("{:?}", case.args), case)
    };
    let cases = vec![
        // Accepted before the fix, and they crashed reader threads or broke lines.
        case("--idle-timeout", &["--idle-timeout", "9223372036854775807"]),
        case("--idle-timeout", &["--idle-timeout", U64_MAX]),
        case("--handshake-timeout", &["--handshake-timeout", U64_MAX]),
        case("--write-timeout", &["--write-timeout", U64_MAX]),
        case(
            "--flood-rate",
            &[
                "--limit-loopback",
                "--flood-burst",
                "1",
                "--flood-rate",
                "1e-20",
            ],
        ),
        case(
            "--flood-rate",
            &["--limit-loopback", "--flood-rate", "1e308"],
        ),
        case(
            "--flood-burst",
            &["--limit-loopback", "--flood-burst", "4294967295"],
        ),
        case("--max-line", &["--max-line", U64_MAX]),
        case(
            "--max-file",
            &["--max-file-size", U64_MAX, "--max-file-memory", U64_MAX],
        ),
        case("--send-queue", &["--send-queue", U64_MAX]),
        case("--max-clients", &["--max-clients", U64_MAX]),
        case(
            "--max-per-ip",
            &["--limit-loopback", "--max-per-ip", U64_MAX],
        ),
        // Refused before the fix too; they must stay refused.
        case("--max-clients", &["--max-clients", "0"]),
        case("--max-clients", &["--max-clients", "-1"]),
        case("--port", &["--port", "99999"]),
        case("--port", &["--port", "-1"]),
        case("--idle-timeout", &["--idle-timeout", "-5"]),
        case("--handshake-timeout", &["--handshake-timeout", "0"]),
        case("--write-timeout", &["--write-timeout", "1e3"]),
        case("--max-line", &["--max-line", "18446744073709551616"]),
        case("--flood-rate", &["--flood-rate", "NaN"]),
        case("--flood-rate", &["--flood-rate", "inf"]),
        case("--flood-rate", &["--flood-rate", "-1"]),
        case("--flood-burst", &["--flood-burst", "4294967296"]),
    ];
    check_all(cases, check_server_case);
}

// ---------------------------------------------------------------------------------------------
// The library

/// Starts a server with `config`: either `start` refuses it, or the chat works and every
/// connection closes once its clients are gone (no thread is left behind).
fn check_config(config: Config) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let Ok(handle) = server::start(listener, config) else {
        return; // refused
    };
    let addr = handle.local_addr();
    let result = std::panic::catch_unwind(|| chat_works(addr));
    let closed = handle.wait_for_open_connections(0, STEP);
    let open = handle.open_connections();
    handle.shutdown();
    assert!(result.is_ok(), "accepted, but the chat broke");
    assert!(
        closed,
        "{open} connections still open after every client left"
    );
}

#[test]
fn extreme_config_values_are_refused_or_work() {
    let with = |name: &str, change: fn(&mut Config)| {
        let mut config = Config::default();
        change(&mut config);
        (name.to_owned(), config)
    };
    let cases = vec![
        with("handshake_timeout: MAX", |c| {
            c.handshake_timeout = Duration::MAX;
        }),
        with("handshake_timeout: ZERO", |c| {
            c.handshake_timeout = Duration::ZERO;
        }),
        with("idle_timeout: MAX", |c| {
            c.idle_timeout = Some(Duration::MAX)
        }),
        with("idle_timeout: ZERO", |c| {
            c.idle_timeout = Some(Duration::ZERO)
        }),
        with("write_timeout: MAX", |c| c.write_timeout = Duration::MAX),
        with("write_timeout: ZERO", |c| c.write_timeout = Duration::ZERO),
        with("flood 1 then 1e-20 a second", |c| {
            c.flood_limit = Some(FloodLimit {
                burst: 1,
                per_second: 1e-20,
            });
            c.limit_loopback = true;
        }),
        with("flood u32::MAX then infinity a second", |c| {
            c.flood_limit = Some(FloodLimit {
                burst: u32::MAX,
                per_second: f64::INFINITY,
            });
            c.limit_loopback = true;
        }),
        with("max_line: MAX", |c| c.max_line = usize::MAX),
        with("max_line: 0", |c| c.max_line = 0),
        with("send_queue: MAX", |c| c.send_queue = usize::MAX),
        with("max_file_size and max_file_memory: MAX", |c| {
            c.max_file_size = u64::MAX;
            c.max_file_memory = u64::MAX;
        }),
        with("max_clients and max_per_ip: MAX", |c| {
            c.max_clients = usize::MAX;
            c.max_per_ip = usize::MAX;
            c.limit_loopback = true;
        }),
    ];
    check_all(cases, check_config);
}
