//! The real `chat-server` killed with SIGKILL in the middle of a conversation, with real
//! `chat-client`s (and a raw client) joined to it: the transcript holds every line the server
//! relayed, and every client says `[ERROR] connection lost` in one line and exits with status 1,
//! leaving no partial file behind.
//!
//! The server writes each transcript line with one system call before it relays the line, so a
//! line a client has seen is already in the file when the process dies. `Child::kill` sends
//! SIGKILL: the server gets no chance to flush or say goodbye.
//!
//! A client in the middle of a file is made so with SIGSTOP, not with timing: a stopped server
//! (or receiver) does not read, so a 16 MiB file cannot get through the socket buffers, and the
//! socket queues seen in `/proc/net/tcp` show that the transfer really is under way.

mod common;

use std::fs;
use std::io::Write;
use std::path::PathBuf;
use std::thread;

use common::TestClient;
use common::binaries::{ClientProcess, ServerProcess, TestDir, signal, tcp_queues, wait_until};

/// Far more than the socket buffers of a connection whose reader is stopped can hold (a few
/// MiB: the sender's grows to at most 4 MiB here, a stopped reader's does not grow), and under
/// the 64 MiB limit.
const BIG_FILE: usize = 16 * 1024 * 1024;
/// Bytes queued in a socket beyond anything but a file: a name or a chat line is far shorter.
const FILE_UNDER_WAY: u64 = 16 * 1024;
const CONNECTION_LOST: &str = "[ERROR] connection lost\n";
/// carol's burst: lines sent as fast as she can.
const BURST: usize = 5_000;
/// The server's queue per client, in bytes: more than a burst.
const SEND_QUEUE: &str = "8388608";

/// A server with a transcript; alice and bob are real clients, carol a raw one.
/// Fields drop in order: the processes go before their folders.
struct Cast {
    server: ServerProcess,
    alice: ClientProcess,
    bob: ClientProcess,
    carol: TestClient,
    transcript: PathBuf,
    alice_dir: TestDir,
    bob_dir: TestDir,
    _server_dir: TestDir,
}

/// Starts a real client joined as `name`, with its downloads and chat log in `dir`.
fn join(server: &ServerProcess, dir: &TestDir, name: &str) -> ClientProcess {
    let port = server.addr.port().to_string();
    let args = ["--port", &port, "--name", name, "--downloads", "downloads"];
    let mut client = ClientProcess::start(dir, &args);
    client.expect(&format!("[INFO] Joined as {name}."));
    client
}

/// alice, bob and carol join in that order; each join is seen by those already there.
fn cast(test: &str) -> Cast {
    let server_dir = TestDir::new(&format!("{test}_server"));
    let transcript = server_dir.join("transcript.log");
    let log = transcript.to_str().unwrap();
    // A queue that holds a whole burst: a client slower than the burst is not dropped for it.
    let server = ServerProcess::start(&["--log", log, "--send-queue", SEND_QUEUE]);
    let alice_dir = TestDir::new(&format!("{test}_alice"));
    let bob_dir = TestDir::new(&format!("{test}_bob"));
    let mut alice = join(&server, &alice_dir, "alice");
    alice.expect("[INFO] Online: alice\n");
    let mut bob = join(&server, &bob_dir, "bob");
    bob.expect("[INFO] Online: alice, bob\n");
    alice.expect("bob has joined the chat room.\n");
    let mut carol = TestClient::join(server.addr, "carol");
    carol.take_files();
    alice.expect("carol has joined the chat room.\n");
    bob.expect("carol has joined the chat room.\n");
    Cast {
        server,
        alice,
        bob,
        carol,
        transcript,
        alice_dir,
        bob_dir,
        _server_dir: server_dir,
    }
}

const JOINS: [&str; 3] = [
    "alice has joined the chat room.",
    "bob has joined the chat room.",
    "carol has joined the chat room.",
];

impl Cast {
    /// SIGKILL, and wait until the process is gone (its sockets closed by the kernel).
    fn kill_server(&mut self) {
        self.server.child.kill().expect("SIGKILL the server");
        self.server.child.wait().expect("reap the server");
    }

    /// The transcript's lines without their timestamps (each is checked to have one).
    fn transcript(&self) -> Vec<String> {
        let text = fs::read_to_string(&self.transcript).expect("read the transcript");
        assert!(text.is_empty() || text.ends_with('\n'), "a torn last line");
        text.lines()
            .map(|line| {
                // `2026-11-26T10:37:46Z <line>`
                let (stamp, rest) = line.split_once(' ').expect("a timestamp, then the line");
                assert!(stamp.len() == 20 && stamp.ends_with('Z'), "{line:?}");
                rest.to_owned()
            })
            .collect()
    }
}

/// The lines a real client showed that start with `prefix`, in order.
fn shown_lines(client: &ClientProcess, prefix: &str) -> Vec<String> {
    client
        .shown()
        .lines()
        .filter(|line| line.starts_with(prefix))
        .map(str::to_owned)
        .collect()
}

/// Asserts a real client's end after the server died: status 1, exactly one line on stderr,
/// and no `[ERROR]` among what it showed before.
fn assert_lost_connection(client: &mut ClientProcess, who: &str) {
    let (status, stderr) = client.finish();
    assert_eq!(status.code(), Some(1), "{who} exits with {status}");
    assert_eq!(stderr, CONNECTION_LOST, "{who}'s stderr");
    assert!(
        !client.shown().contains("[ERROR]"),
        "{who} showed:\n{}",
        client.shown()
    );
}

/// Bytes that are not all alike, so a shifted or partial copy cannot pass for the file.
fn big_file() -> Vec<u8> {
    let pattern: Vec<u8> = (0..251).collect();
    let mut data = Vec::with_capacity(BIG_FILE + pattern.len());
    while data.len() < BIG_FILE {
        data.extend_from_slice(&pattern);
    }
    data.truncate(BIG_FILE);
    data
}

/// Ten rounds of alice, bob and carol talking in turn, each line seen by the two others before
/// the next is sent, and a file from alice seen by both; returns the lines the server relayed.
fn converse(cast: &mut Cast) -> Vec<String> {
    let mut relayed: Vec<String> = JOINS.iter().map(|line| line.to_string()).collect();
    for round in 0..10 {
        let line = format!("round {round} from alice");
        cast.alice.type_line(&line);
        cast.bob.expect(&format!("alice: {line}\n"));
        cast.carol.expect_line(&format!("alice: {line}"));
        relayed.push(format!("alice: {line}"));

        let line = format!("round {round} from bob");
        cast.bob.type_line(&line);
        cast.alice.expect(&format!("bob: {line}\n"));
        cast.carol.expect_line(&format!("bob: {line}"));
        relayed.push(format!("bob: {line}"));

        let line = format!("round {round} from carol");
        cast.carol.send_line(&line);
        cast.alice.expect(&format!("carol: {line}\n"));
        cast.bob.expect(&format!("carol: {line}\n"));
        relayed.push(format!("carol: {line}"));
    }
    fs::write(cast.alice_dir.join("notes.txt"), b"notes\n").unwrap();
    cast.alice.type_line("/file notes.txt");
    cast.bob.expect(
        "[Notification] Received file: downloads/received_notes.txt (6 bytes, from alice)\n",
    );
    cast.carol
        .expect_file("[FILE]:alice:notes.txt:6", b"notes\n");
    relayed.push("[Notification] File 'notes.txt' (6 bytes) from alice.".to_owned());

    cast.carol.send_line("last words");
    cast.alice.expect("carol: last words\n");
    cast.bob.expect("carol: last words\n");
    relayed.push("carol: last words".to_owned());
    relayed
}

#[test]
fn transcript_holds_every_relayed_line_after_sigkill() {
    let mut cast = cast("killed_transcript");
    let relayed = converse(&mut cast);
    // Killed the moment the last line has been seen: it must be on disk already.
    cast.kill_server();
    assert_eq!(cast.transcript(), relayed);
}

#[test]
fn every_client_says_connection_lost_once_and_exits_1_after_sigkill() {
    let mut cast = cast("killed_clients");
    converse(&mut cast);
    cast.kill_server();
    assert_lost_connection(&mut cast.alice, "alice");
    assert_lost_connection(&mut cast.bob, "bob");
    cast.carol.expect_closed();
}

#[test]
fn transcript_holds_every_line_a_client_saw_when_killed_mid_burst() {
    let mut cast = cast("killed_mid_burst");
    // carol talks as fast as she can; the server dies while it relays her.
    let mut stream = cast.carol.stream.try_clone().unwrap();
    let talker = thread::spawn(move || {
        for n in 0..BURST {
            // A failed write means the server is gone: that is the point.
            if stream
                .write_all(format!("burst {n:05}\n").as_bytes())
                .is_err()
            {
                return;
            }
        }
    });
    cast.alice.expect("carol: burst 01000\n");
    cast.kill_server();
    talker.join().unwrap();

    let burst: Vec<String> = (0..BURST).map(|n| format!("carol: burst {n:05}")).collect();
    let logged = cast.transcript();
    assert_eq!(logged[..3], JOINS);
    let logged = &logged[3..];
    assert!(logged.len() > 1000, "{} lines logged", logged.len());
    assert_starts_with(&burst, logged, "carol's burst", "the transcript");

    assert_lost_connection(&mut cast.alice, "alice");
    assert_lost_connection(&mut cast.bob, "bob");
    let alice_saw = shown_lines(&cast.alice, "carol: burst ");
    assert_starts_with(logged, &alice_saw, "the transcript", "what alice saw");
    let bob_saw = shown_lines(&cast.bob, "carol: burst ");
    assert_starts_with(logged, &bob_saw, "the transcript", "what bob saw");
}

/// Asserts that `part` is the beginning of `whole`; names the first line where they differ
/// (the lists are thousands of lines long, too long to print whole).
fn assert_starts_with(whole: &[String], part: &[String], whole_name: &str, part_name: &str) {
    for (n, line) in part.iter().enumerate() {
        assert_eq!(
            Some(line),
            whole.get(n),
            "line {n} of {part_name} is not line {n} of {whole_name}"
        );
    }
}

#[test]
fn client_sending_a_file_when_the_server_is_killed_says_connection_lost() {
    let mut cast = cast("killed_while_sending");
    fs::write(cast.alice_dir.join("big.bin"), big_file()).unwrap();
    // A stopped server reads nothing: alice's write of the file blocks once the buffers fill.
    signal(cast.server.child.id(), "STOP");
    cast.alice.type_line("/file big.bin");
    let alice = cast.alice.id();
    wait_until("alice is blocked in the middle of the file", || {
        tcp_queues(alice).0 >= FILE_UNDER_WAY
    });
    cast.kill_server();

    assert_lost_connection(&mut cast.alice, "alice");
    assert!(
        !cast.alice.shown().contains("sent."),
        "the file got through"
    );
    assert_lost_connection(&mut cast.bob, "bob");
    assert_eq!(cast.bob_dir.entries("downloads"), Vec::<String>::new());
    assert_eq!(cast.transcript(), JOINS);
}

#[test]
fn client_receiving_a_file_when_the_server_is_killed_saves_nothing() {
    let mut cast = cast("killed_while_receiving");
    let data = big_file();
    fs::write(cast.alice_dir.join("big.bin"), &data).unwrap();
    // A stopped bob reads nothing: the server's write of the file to him blocks part-way.
    let bob = cast.bob.id();
    signal(bob, "STOP");
    cast.alice.type_line("/file big.bin");
    cast.alice.expect("[Notification] File 'big.bin' sent.\n");
    // carol gets the header once the file is in every queue, bob's too.
    cast.carol
        .expect_line(&format!("[FILE]:alice:big.bin:{}", data.len()));
    wait_until("part of the file waits in bob's socket", || {
        tcp_queues(bob).1 >= FILE_UNDER_WAY
    });
    cast.kill_server();
    signal(bob, "CONT");

    assert_lost_connection(&mut cast.bob, "bob");
    assert!(
        !cast.bob.shown().contains("Received file"),
        "{}",
        cast.bob.shown()
    );
    // Nothing in downloads, not even a temporary `.part` file: the folder was never made.
    assert_eq!(cast.bob_dir.tree(), ["chat_log.txt"]);
}
