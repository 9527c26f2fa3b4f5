//! The Wireshark dissector for chat/1 (`contrib/wireshark/chat.lua`), checked with the real
//! tshark: a session of the real `chat-server`, the real `chat-client` and raw clients is
//! captured on loopback by dumpcap, and what tshark reads in the capture is compared, frame by
//! frame and in each direction of each connection, with what was sent.
//!
//! A real capture, not a pcap file the test writes from the session's bytes: what is under test
//! is how the kernel really cuts the stream (a 4 MiB file in segments of up to 64 KiB, the
//! server's frames gathered in one write) and how Wireshark's TCP reassembly hands the pieces
//! to the dissector; a file written by the test would only contain what the test assumed.
//!
//! Without tshark or dumpcap (or the right to capture), the tests print one line saying so and
//! pass; under CI (`CI` set) that is a failure.

mod common;

use std::fs;
use std::panic;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::thread;
use std::time::Duration;

use common::TestClient;
use common::binaries::{ClientProcess, FakePeer, FakeServer, ServerProcess, TestDir};
use common::capture::{Capture, netcat_or_skip, tshark, wireshark_or_skip};

/// One packet as tshark decodes it: its ports, its frames as `kind: Info text`, and how many TCP
/// segments were put together for it (none when it needed no reassembly).
#[derive(Debug)]
struct Packet {
    src: u16,
    dst: u16,
    frames: Vec<String>,
    segments: Option<u32>,
}

/// The packets of a capture that hold chat/1 frames, decoded by tshark with the dissector;
/// `extra` goes on tshark's command line (a display filter, Decode As).
fn decode(capture: &Path, extra: &[&str]) -> Vec<Packet> {
    let mut args = vec!["-T", "fields", "-E", "aggregator=|", "-E", "separator=/t"];
    args.extend([
        "-e",
        "tcp.srcport",
        "-e",
        "tcp.dstport",
        "-e",
        "tcp.segment.count",
    ]);
    args.extend(["-e", "chat.frame", "-e", "_ws.col.Info"]);
    args.extend(extra);
    tshark(capture, &args)
        .lines()
        .map(|row| {
            let fields: Vec<&str> = row.split('\t').collect();
            let kinds: Vec<&str> = fields[3].split('|').collect();
            // Several frames in one packet: their Info texts are separated by " | ".
            let infos: Vec<&str> = fields[4].split(" | ").collect();
            assert_eq!(kinds.len(), infos.len(), "kinds and Info differ: {row}");
            Packet {
                src: fields[0].parse().unwrap(),
                dst: fields[1].parse().unwrap(),
                segments: fields[2].parse().ok(),
                frames: kinds
                    .iter()
                    .zip(&infos)
                    .map(|(kind, info)| format!("{kind}: {info}"))
                    .collect(),
            }
        })
        .collect()
}

/// The frames sent from port `from` to port `to`, in order.
fn frames(packets: &[Packet], from: u16, to: u16) -> Vec<String> {
    packets
        .iter()
        .filter(|p| p.src == from && p.dst == to)
        .flat_map(|p| p.frames.clone())
        .collect()
}

/// Asserts the frames of one direction; an expected frame ending in `*` matches by its start.
fn assert_frames(what: &str, got: &[String], expected: &[&str]) {
    let matches = got.len() == expected.len()
        && got
            .iter()
            .zip(expected)
            .all(|(got, expected)| match expected.strip_suffix('*') {
                Some(start) => got.starts_with(start),
                None => got == expected,
            });
    assert!(
        matches,
        "{what}:\n  got      {got:#?}\n  expected {expected:#?}"
    );
}

/// The rows tshark prints for `fields` of the packets that match `filter`.
fn rows(capture: &Path, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let mut args = vec!["-Y", filter, "-T", "fields", "-E", "aggregator=|"];
    for field in fields {
        args.extend(["-e", field]);
    }
    tshark(capture, &args)
        .lines()
        .map(|row| row.split('\t').map(str::to_owned).collect())
        .collect()
}

fn from_hex(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex digits"))
        .collect()
}

/// 4 MiB of bytes no text reader survives: an `<END>` line first, then xorshift noise.
fn binary_file() -> Vec<u8> {
    let mut data = b"<END>\n".to_vec();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    while data.len() < 4 * 1024 * 1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        data.push(x as u8);
    }
    data
}

/// The connections of the session, by their client ports.
#[derive(Clone, Copy)]
struct Ports {
    server: u16,
    alice: u16,
    bob: u16,
    carol: u16,
    dave: u16,
    frank: u16,
    fake_server: u16,
    eve: u16,
}

/// What the session's raw clients saw that the tests compare the capture with.
struct Seen {
    ports: Ports,
    /// The times of the `[HISTORY]` frames carol, dave and frank got, in that order.
    history: Vec<u64>,
}

/// Reads the `[HISTORY]` frames a newcomer gets right after `[USERS]`: one per `said`
/// (`bob:one`), in order. Returns their times.
fn expect_history(client: &mut TestClient, said: &[&str]) -> Vec<u64> {
    said.iter()
        .map(|said| {
            let line = client.expect_prefix("[HISTORY]:");
            let (secs, rest) = line["[HISTORY]:".len()..]
                .split_once(':')
                .expect("[HISTORY]:<secs>:<name>:<text>");
            assert_eq!(rest, *said, "{line}");
            secs.parse().expect("the time of a [HISTORY] frame")
        })
        .collect()
}

/// The session the dissector is checked on, every frame kind of docs/PROTOCOL.md in it: alice
/// (the real client) and raw clients for what a real client never sends (a message cut in two,
/// two frames in one write, frames that break the rules), and the server's console for a notice.
fn run_session(capture_path: &Path, big: &[u8]) -> Seen {
    let dir = TestDir::new("wireshark-session");
    // Newcomers get the last two public messages: enough to see [HISTORY], few enough to list.
    let mut server = ServerProcess::with_console(&["--history", "2"]);
    let fake = FakeServer::start();
    let fake_port: u16 = fake.port().parse().unwrap();
    let capture = Capture::start(capture_path, &[server.addr.port(), fake_port]);

    fs::write(dir.join("big.bin"), big).unwrap();
    let port = server.addr.port().to_string();
    let mut alice = ClientProcess::start(
        &dir,
        &[
            "--port",
            &port,
            "--name",
            "alice",
            "--downloads",
            ".",
            "--no-log",
        ],
    );
    alice.expect("[INFO] Online: alice\n");
    // The client says /files on by itself after [WELCOME], and reads no more typing until the
    // server answers it: once /users is answered, /files on was too, before bob joins.
    alice.type_line("/users");
    alice.expect("[INFO] Online: alice\n");
    let mut bob = TestClient::join(server.addr, "bob");
    bob.take_files();
    alice.expect("bob has joined the chat room.\n");
    alice.type_line("hi bob");
    bob.expect_line("alice: hi bob");

    // One message in two segments. The pause shapes the wire (it is not a wait for anything):
    // the capture shows whether the two writes were two segments, and the test checks it.
    bob.stream.set_nodelay(true).unwrap();
    bob.send(b"hello alice, ");
    thread::sleep(Duration::from_millis(100));
    bob.send(b"this came in two segments\n");
    alice.expect("bob: hello alice, this came in two segments\n");
    // Two frames in one segment, then a file in the text form, as netcat users send it.
    bob.send(b"one\ntwo\n");
    alice.expect("bob: two\n");
    bob.send(b"[FILE]:notes.txt\nfirst line\n\n<END>\n");
    alice.expect("[Notification] Received file: received_notes.txt (12 bytes, from bob)\n");
    alice.type_line("/file big.bin");
    bob.expect_file(&format!("[FILE]:alice:big.bin:{}", big.len()), big);

    // carol: a name refused, the history, lines the server refuses, and commands.
    let mut carol = TestClient::connect(server.addr);
    carol.expect_prefix("[INFO]:");
    carol.send_line("alice");
    carol.expect_line("[ERROR]:username 'alice' is taken");
    carol.send_line("carol");
    carol.expect_line("[WELCOME]:carol");
    carol.expect_line("[USERS]:alice,bob,carol");
    let mut history = expect_history(&mut carol, &["bob:one", "bob:two"]);
    bob.expect_line("[JOIN]:carol");
    carol.send_line(&"x".repeat(5000));
    carol.expect_line("[ERROR]:line too long (the limit is 4096 bytes)");
    carol.send(b"ring\x07\n");
    carol.expect_line("[ERROR]:control characters are not allowed");
    carol.send(b"\xff\xfe\n");
    carol.expect_line("[ERROR]:invalid UTF-8");
    carol.send_line("/users");
    carol.expect_line("[USERS]:alice,bob,carol");
    carol.send_line("/who");
    carol.expect_line("[ERROR]:unknown command /who (try /help)");
    carol.send_line("/msg alice see you at 3");
    alice.expect("[PM] carol: see you at 3\n");
    carol.send_line("//etc is a folder");
    bob.expect_line("carol: /etc is a folder");
    alice.expect("carol: /etc is a folder\n");
    // A file: alice said /files on and gets it; carol did not, and hears of it.
    bob.send(b"[FILE]:hi.txt:3\nhi\n<END>\n");
    alice.expect("[Notification] Received file: received_hi.txt (3 bytes, from bob)\n");
    carol.expect_line("[INFO]:bob shared hi.txt (3 bytes); type /files on to receive files");
    // The operator, at the server's console.
    server.type_line("/say maintenance at noon");
    for client in [&mut bob, &mut carol] {
        client.expect_line("[NOTICE]:maintenance at noon");
    }
    alice.expect("[NOTICE] maintenance at noon\n");
    carol.send(b"\nexit\n");
    carol.expect_closed();
    bob.expect_line("[LEAVE]:carol");

    // dave: a file whose bytes are not followed by <END>; the server closes the connection.
    let mut dave = TestClient::join(server.addr, "dave");
    history.extend(expect_history(
        &mut dave,
        &["bob:two", "carol:/etc is a folder"],
    ));
    bob.expect_line("[JOIN]:dave");
    dave.send(b"[FILE]:x.bin:3\nabcdefgh\n");
    dave.expect_line("[ERROR]:the file's bytes were not followed by <END>");
    dave.expect_closed();
    bob.expect_line("[LEAVE]:dave");

    // frank: a file size that is no number; the server closes the connection.
    let mut frank = TestClient::join(server.addr, "frank");
    history.extend(expect_history(
        &mut frank,
        &["bob:two", "carol:/etc is a folder"],
    ));
    bob.expect_line("[JOIN]:frank");
    frank.send(b"[FILE]:x.bin:abc\n");
    frank.expect_line("[ERROR]:bad file size: not a decimal number");
    frank.expect_closed();
    bob.expect_line("[LEAVE]:frank");

    bob.send_line("exit");
    bob.expect_closed();
    alice.expect("bob has left the chat.\n");
    alice.type_line("exit");
    let (status, stderr) = alice.finish();
    assert!(status.success(), "chat-client failed: {stderr}");

    let eve = frames_the_default_server_does_not_send(&fake);
    let ports = Ports {
        server: server.addr.port(),
        alice: 0, // the real client's port is found in the capture
        bob: bob.stream.local_addr().unwrap().port(),
        carol: carol.stream.local_addr().unwrap().port(),
        dave: dave.stream.local_addr().unwrap().port(),
        frank: frank.stream.local_addr().unwrap().port(),
        fake_server: fake_port,
        eve,
    };
    drop((bob, carol, dave, frank));
    capture.stop();
    Seen { ports, history }
}

/// What chat-server of the default build does not send, from a fake server to a raw client,
/// eve: the password request of user accounts (feature `accounts`) and the password that
/// answers it (`exit`, which is a password there, as the server takes it), a tag the dissector
/// does not know, and a line that is no frame. Returns eve's port.
fn frames_the_default_server_does_not_send(fake: &FakeServer) -> u16 {
    let mut eve = TestClient::connect(format!("127.0.0.1:{}", fake.port()).parse().unwrap());
    let mut server: FakePeer = fake.accept();
    server.send_line("[INFO]:a fake server, for what chat-server does not send");
    eve.expect_prefix("[INFO]:");
    eve.send_line("eve");
    server.expect_line("eve");
    server.send_line("[AUTH]:password for eve");
    eve.expect_prefix("[AUTH]:");
    eve.send_line("exit");
    server.expect_line("exit");
    server.send_line("[WELCOME]:eve\n[USERS]:alice,eve\n[SHOUT]:hey\nno frame at all");
    for line in [
        "[WELCOME]:eve",
        "[USERS]:alice,eve",
        "[SHOUT]:hey",
        "no frame at all",
    ] {
        eve.expect_line(line);
    }
    eve.send_line("exit");
    server.expect_line("exit");
    eve.stream.local_addr().unwrap().port()
}

/// The captured session, decoded; captured once for all the tests of this file.
struct Session {
    capture: PathBuf,
    ports: Ports,
    packets: Vec<Packet>,
    big: Vec<u8>,
    /// The times of the `[HISTORY]` frames the raw clients got.
    history: Vec<u64>,
}

impl Session {
    /// The frames from port `from` to port `to`, in order.
    fn frames(&self, from: u16, to: u16) -> Vec<String> {
        frames(&self.packets, from, to)
    }
}

/// The session, or None when the tools are missing (and that was said once). Captured by the
/// first test that asks; when that fails, every test fails with its message (no second try).
fn session() -> Option<&'static Session> {
    static SESSION: OnceLock<Result<Option<Session>, String>> = OnceLock::new();
    let session = SESSION.get_or_init(|| {
        if !wireshark_or_skip() {
            return Ok(None);
        }
        panic::catch_unwind(capture_session)
            .map(Some)
            .map_err(|panic| {
                let message = panic.downcast_ref::<String>().cloned();
                let message =
                    message.or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
                message.unwrap_or_default()
            })
    });
    match session {
        Ok(session) => session.as_ref(),
        Err(why) => panic!("the session could not be captured and decoded: {why}"),
    }
}

fn capture_session() -> Session {
    // Kept after the tests, to be opened when one fails:
    // wireshark -X lua_script:contrib/wireshark/chat.lua target/tmp/wireshark-session.pcapng
    let capture = Path::new(env!("CARGO_TARGET_TMPDIR")).join("wireshark-session.pcapng");
    let big = binary_file();
    let Seen { mut ports, history } = run_session(&capture, &big);
    // Two passes: the real client sends its name at once, before the server's greeting that the
    // heuristic recognises the connection by; the second pass decodes that line too.
    let packets = decode(&capture, &["-2", "-Y", "chat"]);
    // The real client's port: the one connection of the server that no raw client had.
    let raw_clients = [ports.bob, ports.carol, ports.dave, ports.frank];
    ports.alice = packets
        .iter()
        .find(|p| p.src == ports.server && !raw_clients.contains(&p.dst))
        .map(|p| p.dst)
        .expect("alice's connection is in the capture");
    Session {
        capture,
        ports,
        packets,
        big,
        history,
    }
}

const GREETING: &str = "info: INFO Welcome to chat.*";
const FILES_ON: &str =
    "info: INFO files on: you will be sent the files others share (/files off to stop)";

#[test]
fn a_session_reads_like_the_chat_in_both_directions() {
    let Some(s) = session() else { return };
    let Ports {
        server, alice, bob, ..
    } = s.ports;
    assert_frames(
        "server to alice",
        &s.frames(server, alice),
        &[
            GREETING,
            "welcome: WELCOME alice",
            "users: USERS alice",
            FILES_ON,
            "users: USERS alice",
            "join: JOIN bob",
            "message: bob: hello alice, this came in two segments",
            "message: bob: one",
            "message: bob: two",
            "file: FILE notes.txt (12 bytes) from bob",
            "join: JOIN carol",
            "pm: PM carol -> alice: see you at 3",
            "message: carol: /etc is a folder",
            "file: FILE hi.txt (3 bytes) from bob",
            "notice: NOTICE maintenance at noon",
            "leave: LEAVE carol",
            "join: JOIN dave",
            "leave: LEAVE dave",
            "join: JOIN frank",
            "leave: LEAVE frank",
            "leave: LEAVE bob",
        ],
    );
    assert_frames(
        "alice to server",
        &s.frames(alice, server),
        &[
            "name: NAME alice",
            "command: COMMAND /files on",
            "command: COMMAND /users",
            "message: alice: hi bob",
            "file: FILE big.bin (4194304 bytes) from alice",
            "exit: EXIT",
        ],
    );
    assert_frames(
        "server to bob",
        &s.frames(server, bob),
        &[
            GREETING,
            "welcome: WELCOME bob",
            "users: USERS alice,bob",
            FILES_ON,
            "message: alice: hi bob",
            "file: FILE big.bin (4194304 bytes) from alice",
            "join: JOIN carol",
            "message: carol: /etc is a folder",
            "notice: NOTICE maintenance at noon",
            "leave: LEAVE carol",
            "join: JOIN dave",
            "leave: LEAVE dave",
            "join: JOIN frank",
            "leave: LEAVE frank",
        ],
    );
    assert_frames(
        "bob to server",
        &s.frames(bob, server),
        &[
            "name: NAME bob",
            "command: COMMAND /files on",
            "message: bob: hello alice, this came in two segments",
            "message: bob: one",
            "message: bob: two",
            "file: FILE notes.txt (12 bytes) from bob",
            "file: FILE hi.txt (3 bytes) from bob",
            "exit: EXIT",
        ],
    );
}

#[test]
fn refused_names_lines_and_commands_read_as_the_server_answers_them() {
    let Some(s) = session() else { return };
    let Ports { server, carol, .. } = s.ports;
    assert_frames(
        "server to carol",
        &s.frames(server, carol),
        &[
            GREETING,
            "error: ERROR username 'alice' is taken",
            "welcome: WELCOME carol",
            "users: USERS alice,bob,carol",
            "history: HISTORY bob: one",
            "history: HISTORY bob: two",
            "error: ERROR line too long (the limit is 4096 bytes)",
            "error: ERROR control characters are not allowed",
            "error: ERROR invalid UTF-8",
            "users: USERS alice,bob,carol",
            "error: ERROR unknown command /who (try /help)",
            // carol did not say /files on: she hears of the file in an [INFO] line.
            "info: INFO bob shared hi.txt (3 bytes); type /files on to receive files",
            "notice: NOTICE maintenance at noon",
        ],
    );
    // The line after a refused name is another name; a long text is cut in the Info column.
    let long_line = format!("message: carol: {}...", "x".repeat(80));
    assert_frames(
        "carol to server",
        &s.frames(carol, server),
        &[
            "name: NAME alice",
            "name: NAME carol",
            &long_line,
            "message: carol: ring\u{FFFD}",
            "message: carol: *",
            "command: COMMAND /users",
            "command: COMMAND /who",
            // A private message is a command, shown as what it does.
            "command: PM carol -> alice: see you at 3",
            "message: carol: /etc is a folder",
            "empty: (empty line)",
            "exit: EXIT",
        ],
    );
}

#[test]
fn what_breaks_the_protocol_is_flagged_as_warnings() {
    let Some(s) = session() else { return };
    let got = rows(
        &s.capture,
        "_ws.expert.severity == \"Warning\" && chat",
        &["tcp.srcport", "_ws.expert.message"],
    );
    let Ports {
        carol,
        dave,
        frank,
        fake_server,
        ..
    } = s.ports;
    let expected: Vec<Vec<String>> = [
        (
            carol,
            "Line of 5000 bytes, over the limit of 4096: the server answers [ERROR]:line too long",
        ),
        (
            carol,
            "Control character U+0007 at byte 5: the line is refused whole",
        ),
        (
            carol,
            "Line not valid UTF-8: the server answers [ERROR]:invalid UTF-8",
        ),
        (
            dave,
            "The file's bytes are not followed by <END>: the stream is out of step",
        ),
        (
            frank,
            "File size not a decimal number: the server closes the connection",
        ),
        (
            fake_server,
            "Neither a [TAG]: nor <name>: <text>: a client refuses this line",
        ),
    ]
    .iter()
    .map(|(port, message)| vec![port.to_string(), message.to_string()])
    .collect();
    assert_eq!(got, expected);
}

#[test]
fn a_file_size_that_is_no_number_is_flagged_and_ends_the_frame_at_its_header() {
    let Some(s) = session() else { return };
    let Ports { server, frank, .. } = s.ports;
    assert_frames(
        "frank to server",
        &s.frames(frank, server),
        &["name: NAME frank", "file: FILE x.bin (bad size) from frank"],
    );
    assert_frames(
        "server to frank",
        &s.frames(server, frank),
        &[
            GREETING,
            "welcome: WELCOME frank",
            "users: USERS alice,bob,frank",
            "history: HISTORY bob: two",
            "history: HISTORY carol: /etc is a folder",
            "error: ERROR bad file size: not a decimal number",
        ],
    );
}

#[test]
fn a_file_without_end_is_flagged_and_what_follows_reads_out_of_step() {
    let Some(s) = session() else { return };
    let Ports { server, dave, .. } = s.ports;
    assert_frames(
        "dave to server",
        &s.frames(dave, server),
        &[
            "name: NAME dave",
            "file: FILE x.bin (3 bytes) from dave",
            "message: dave: defgh",
        ],
    );
    assert_frames(
        "server to dave",
        &s.frames(server, dave),
        &[
            GREETING,
            "welcome: WELCOME dave",
            "users: USERS alice,bob,dave",
            "history: HISTORY bob: two",
            "history: HISTORY carol: /etc is a folder",
            "error: ERROR the file's bytes were not followed by <END>",
        ],
    );
}

#[test]
fn a_message_split_over_two_segments_is_decoded_once_whole() {
    let Some(s) = session() else { return };
    let split: Vec<&Packet> = s
        .packets
        .iter()
        .filter(|p| p.src == s.ports.bob && p.frames[0].contains("hello alice"))
        .collect();
    assert_eq!(split.len(), 1, "{split:#?}");
    assert_eq!(split[0].segments, Some(2), "{split:#?}");
    assert_eq!(
        split[0].frames,
        ["message: bob: hello alice, this came in two segments"]
    );
}

#[test]
fn two_frames_in_one_segment_are_both_decoded() {
    let Some(s) = session() else { return };
    assert!(
        s.packets.iter().any(|p| p.src == s.ports.bob
            && p.segments.is_none()
            && p.frames == ["message: bob: one", "message: bob: two"]),
        "no packet from bob with both frames: {:#?}",
        s.packets
    );
}

#[test]
fn a_4_mib_file_is_decoded_whole_with_its_bytes_both_ways() {
    let Some(s) = session() else { return };
    let files = rows(
        &s.capture,
        "chat.file.name == \"big.bin\"",
        &[
            "tcp.srcport",
            "tcp.dstport",
            "tcp.segment.count",
            "chat.file.size",
            "chat.file.data",
        ],
    );
    let ports: Vec<(String, String)> = files.iter().map(|r| (r[0].clone(), r[1].clone())).collect();
    let Ports {
        server, alice, bob, ..
    } = s.ports;
    assert_eq!(
        ports,
        [
            (alice.to_string(), server.to_string()),
            (server.to_string(), bob.to_string())
        ]
    );
    for file in &files {
        let segments: u32 = file[2].parse().unwrap();
        assert!(segments > 1, "the file came in one segment: {}", file[2]);
        assert_eq!(file[3], "4194304");
        assert!(from_hex(&file[4]) == s.big, "the bytes of the file differ");
    }
}

#[test]
fn file_frames_carry_sender_name_size_and_form() {
    let Some(s) = session() else { return };
    let files = rows(
        &s.capture,
        "chat.file.name",
        &[
            "chat.user",
            "chat.file.name",
            "chat.file.size",
            "chat.file.form",
        ],
    );
    assert_eq!(
        files,
        [
            ["bob", "notes.txt", "12", "text"],
            ["bob", "notes.txt", "12", "sized"],
            ["alice", "big.bin", "4194304", "sized"],
            ["alice", "big.bin", "4194304", "sized"],
            ["bob", "hi.txt", "3", "sized"],
            ["bob", "hi.txt", "3", "sized"],
            // The line after dave's file is in the same packet, and dave's too.
            ["dave|dave", "x.bin", "3", "sized"],
            // A size that is no number: no size, no form, no bytes.
            ["frank", "x.bin", "", ""],
        ]
    );
}

#[test]
fn a_private_message_names_its_sender_and_recipient_both_ways() {
    let Some(s) = session() else { return };
    let pms = rows(
        &s.capture,
        "chat.recipient",
        &["tcp.dstport", "chat.user", "chat.recipient", "chat.text"],
    );
    let Ports { server, alice, .. } = s.ports;
    assert_eq!(
        pms,
        [
            [&server.to_string(), "carol", "alice", "see you at 3"],
            [&alice.to_string(), "carol", "alice", "see you at 3"],
        ]
    );
}

#[test]
fn history_frames_carry_the_time_the_server_sent() {
    let Some(s) = session() else { return };
    let times: Vec<String> = rows(&s.capture, "chat.time", &["chat.time"])
        .iter()
        .flat_map(|row| row[0].split('|').map(str::to_owned).collect::<Vec<_>>())
        .collect();
    let expected: Vec<String> = s.history.iter().map(|&secs| utc(secs)).collect();
    assert_eq!(times, expected);
}

/// A time as tshark shows an absolute time field in UTC: `Dec  1, 2026 10:37:31.000000000 UTC`.
fn utc(secs: u64) -> String {
    // Days since 1970-01-01 to a civil date (Howard Hinnant's days_from_civil, inverted).
    let (days, of_day) = ((secs / 86_400) as i64, secs % 86_400);
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {day:2}, {year} {:02}:{:02}:{:02}.000000000 UTC",
        MONTHS[month as usize - 1],
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

#[test]
fn commands_carry_their_word_and_arguments() {
    let Some(s) = session() else { return };
    let commands = rows(
        &s.capture,
        "chat.command",
        &["tcp.srcport", "chat.command", "chat.args"],
    );
    let Ports {
        alice, bob, carol, ..
    } = s.ports;
    let row = |port: u16, command: &str, args: &str| {
        vec![port.to_string(), command.to_owned(), args.to_owned()]
    };
    assert_eq!(
        commands,
        [
            row(alice, "/files", "on"),
            row(alice, "/users", ""),
            row(bob, "/files", "on"),
            row(carol, "/users", ""),
            row(carol, "/who", ""),
            row(carol, "/msg", "alice see you at 3"),
        ]
    );
}

#[test]
fn account_frames_and_unknown_tags_are_decoded() {
    let Some(s) = session() else { return };
    let Ports {
        fake_server, eve, ..
    } = s.ports;
    assert_frames(
        "fake server to eve",
        &s.frames(fake_server, eve),
        &[
            "info: INFO a fake server, for what chat-server does not send",
            "auth: AUTH password for eve",
            "welcome: WELCOME eve",
            "users: USERS alice,eve",
            "unknown: [SHOUT]:hey",
            "unknown: no frame at all",
        ],
    );
    assert_frames(
        "eve to fake server",
        &s.frames(eve, fake_server),
        &[
            "name: NAME eve",
            "password: PASSWORD (4 characters, in clear text)",
            "exit: EXIT",
        ],
    );
    assert_eq!(rows(&s.capture, "chat.tag", &["chat.tag"]), [["SHOUT"]]);
}

#[test]
fn decode_as_on_the_servers_port_reads_the_same_as_the_heuristic() {
    let Some(s) = session() else { return };
    let port = s.ports.server;
    let filter = format!("chat && tcp.port == {port}");
    let heuristic = decode(&s.capture, &["-2", "-Y", &filter]);
    let decode_as = decode(
        &s.capture,
        &[
            "-Y",
            &filter,
            "-d",
            &format!("tcp.port=={port},chat"),
            "--disable-heuristic",
            "chat_tcp",
        ],
    );
    assert!(!heuristic.is_empty());
    assert_eq!(format!("{decode_as:?}"), format!("{heuristic:?}"));
}

#[test]
fn the_dissector_raises_no_lua_error_and_marks_no_packet_malformed() {
    let Some(s) = session() else { return };
    let errors = rows(
        &s.capture,
        "_ws.malformed || _ws.expert.severity == \"Error\"",
        &["frame.number", "_ws.expert.message"],
    );
    assert!(errors.is_empty(), "{errors:?}");
}

// The lab guide, docs/LAB.md: its blocks marked `<!-- lab-test -->` are run here, and what they
// print is compared with what the guide shows.

/// A block of the guide to run: the options of its server, and each command with the output the
/// guide shows for it.
struct GuideBlock {
    line: usize,
    server_args: Vec<String>,
    steps: Vec<(String, Vec<String>)>,
}

/// The blocks of docs/LAB.md marked `<!-- lab-test -->` (or `<!-- lab-test: SERVER-OPTIONS -->`):
/// a `console` block right below, with commands on `$ ` lines and their output after them.
fn guide_blocks() -> Vec<GuideBlock> {
    let guide = fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/LAB.md"))
        .expect("read docs/LAB.md");
    let lines: Vec<&str> = guide.lines().collect();
    let mut blocks = Vec::new();
    for (at, line) in lines.iter().enumerate() {
        let Some(marker) = line.strip_prefix("<!-- lab-test") else {
            continue;
        };
        let args = marker
            .trim_end_matches("-->")
            .trim()
            .trim_start_matches(':');
        assert_eq!(
            lines.get(at + 1).copied(),
            Some("```console"),
            "docs/LAB.md:{}: a lab-test marker must be right above a ```console block",
            at + 1
        );
        let mut steps: Vec<(String, Vec<String>)> = Vec::new();
        for line in lines[at + 2..].iter().take_while(|line| **line != "```") {
            match line.strip_prefix("$ ") {
                Some(command) => steps.push((command.to_owned(), Vec::new())),
                None => steps
                    .last_mut()
                    .expect("a block starts with a command")
                    .1
                    .push(line.to_string()),
            }
        }
        blocks.push(GuideBlock {
            line: at + 1,
            server_args: args.split_whitespace().map(str::to_owned).collect(),
            steps,
        });
    }
    blocks
}

/// What is compared of an output. Times are left out (`real 0m3.507s`), and so are client
/// ports and how frames were cut into packets: the lines `SRC-PORT<TAB>DST-PORT<TAB>Info` of
/// `-T fields -e tcp.srcport -e tcp.dstport -e _ws.col.Info` become, per direction, the list of
/// frames it carried (Info texts joined by " | "), the client ports numbered in order of
/// appearance. Everything else is compared line by line.
fn comparable(output: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    let mut clients: Vec<String> = Vec::new();
    let mut directions: Vec<(String, Vec<String>)> = Vec::new();
    for line in output {
        let fields: Vec<&str> = line.split('\t').collect();
        let is_port =
            |s: &str| !s.is_empty() && s.len() <= 5 && s.bytes().all(|b| b.is_ascii_digit());
        if fields.len() == 3 && is_port(fields[0]) && is_port(fields[1]) {
            let mut name = |port: &str| {
                if port == "12345" {
                    return "server".to_owned();
                }
                if !clients.iter().any(|c| c == port) {
                    clients.push(port.to_owned());
                }
                let n = clients.iter().position(|c| c == port).unwrap() + 1;
                format!("client {n}")
            };
            let direction = format!("{} -> {}", name(fields[0]), name(fields[1]));
            let frames = fields[2].split(" | ").map(str::to_owned);
            match directions.iter_mut().find(|(d, _)| *d == direction) {
                Some((_, list)) => list.extend(frames),
                None => directions.push((direction, frames.collect())),
            }
            continue;
        }
        let words: Vec<String> = line
            .split(' ')
            .map(|word| {
                let time = word.trim_start_matches(|c: char| c.is_ascii_alphabetic() || c == '\t');
                let is_time = time.ends_with('s')
                    && time.contains('m')
                    && time[..time.len() - 1]
                        .chars()
                        .all(|c| c.is_ascii_digit() || c == 'm' || c == '.');
                if is_time {
                    "<time>".to_owned()
                } else {
                    word.to_owned()
                }
            })
            .collect();
        lines.push(words.join(" "));
    }
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    directions.sort();
    for (direction, frames) in directions {
        lines.extend(
            frames
                .into_iter()
                .map(|frame| format!("{direction}: {frame}")),
        );
    }
    lines
}

/// Runs one block of the guide on a server of its own, capturing its port as the guide asks
/// the reader to (dumpcap started before, stopped before the first tshark). Returns what
/// differs from the guide.
fn run_guide_block(block: &GuideBlock) -> Result<(), String> {
    let args: Vec<&str> = block.server_args.iter().map(String::as_str).collect();
    let server = ServerProcess::start(&args);
    let port = server.addr.port().to_string();
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("lab-{}.pcapng", block.line));
    let path_text = path.to_str().unwrap().to_owned();
    let mut capture = Some(Capture::start(&path, &[server.addr.port()]));
    let mut differences = Vec::new();
    for (command, shown) in &block.steps {
        let mut command = command
            .replace("12345", &port)
            .replace("/tmp/lab.pcapng", &path_text);
        if let Some(rest) = command.strip_prefix("tshark ") {
            if let Some(capture) = capture.take() {
                capture.stop();
            }
            // What port 12345 gets from the dissector, Decode As gives to the test's port.
            command = format!("tshark -d tcp.port=={port},chat {rest}");
        }
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!("{{ {command}\n}} 2>&1"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env("LC_ALL", "C")
            .output()
            .expect("run bash");
        let printed: Vec<String> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter(|line| !line.starts_with("Running as user \"root\""))
            .map(|line| {
                line.replace(&port, "12345")
                    .replace(&path_text, "/tmp/lab.pcapng")
            })
            .collect();
        let (got, expected) = (comparable(&printed), comparable(shown));
        if got != expected {
            differences.push(format!(
                "docs/LAB.md:{}: `{}` printed:\n{}\n  compared as {got:#?}\n  the guide shows {expected:#?}",
                block.line,
                command,
                printed.join("\n")
            ));
        }
    }
    if differences.is_empty() {
        Ok(())
    } else {
        Err(differences.join("\n\n"))
    }
}

#[test]
fn the_lab_guides_commands_print_what_the_guide_shows() {
    if !wireshark_or_skip() || !netcat_or_skip() {
        return;
    }
    let blocks = guide_blocks();
    assert!(
        blocks.len() >= 8,
        "docs/LAB.md has {} blocks marked lab-test",
        blocks.len()
    );
    // Each block has a server of its own: they run side by side.
    let results: Vec<Result<(), String>> = thread::scope(|scope| {
        let running: Vec<_> = blocks
            .iter()
            .map(|block| scope.spawn(|| run_guide_block(block)))
            .collect();
        running
            .into_iter()
            .zip(&blocks)
            .map(|(run, block)| {
                run.join().unwrap_or_else(|_| {
                    Err(format!("docs/LAB.md:{}: the block panicked", block.line))
                })
            })
            .collect()
    });
    let failures: Vec<String> = results.into_iter().filter_map(Result::err).collect();
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
