//! Attacks, one test each: what a lab full of netcat sessions, scripts and half-written clients
//! throws at the server. Each test names the attack and what must happen; the behaviour asserted
//! is the one `docs/PROTOCOL.md` documents. Every server is real (in-process on port 0, or the
//! `chat-server` binary when its memory is measured) and every wait is a bounded read.
//!
//! Flood control and the bound on file memory are tested in `server_hardening.rs`.

mod common;

use std::io::Write;
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

use chat::server::Config;
use common::binaries::{ClientProcess, ServerProcess, TestDir, peak_rss_kib, rss_kib};
use common::{TIMEOUT, TestClient, alice_and_bob, alice_bob_and_carol, sized_file, start_server};

/// The server's answer to a line holding a control character.
const CONTROL_REFUSED: &str = "[ERROR]:control characters are not allowed";

/// Writes `bytes` one write call per byte, each sent at once (no Nagle coalescing).
fn send_byte_at_a_time(client: &mut TestClient, bytes: &[u8]) {
    client.stream.set_nodelay(true).unwrap();
    for byte in bytes {
        client.send(std::slice::from_ref(byte));
    }
}

// ---------------------------------------------------------------------------------------------
// One byte at a time

#[test]
fn name_sent_one_byte_at_a_time_joins() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::connect(server.addr);
    bob.expect_prefix("[INFO]:");
    send_byte_at_a_time(&mut bob, b"bob\r\n");
    bob.expect_line("[WELCOME]:bob");
    bob.expect_line("[USERS]:alice,bob");
    alice.expect_line("[JOIN]:bob");
}

#[test]
fn message_sent_one_byte_at_a_time_is_relayed_whole() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    send_byte_at_a_time(&mut alice, "héllo bob, one byte at a time\r\n".as_bytes());
    bob.expect_line("alice: héllo bob, one byte at a time");
    // Relayed once, not in pieces: the next line is the next message.
    alice.send_line("next");
    bob.expect_line("alice: next");
}

#[test]
fn file_sent_one_byte_at_a_time_is_relayed_whole() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    bob.take_files();
    let data = b"line one\n<END>\n\x00\xff\r\n";
    send_byte_at_a_time(&mut alice, &sized_file("bytes.bin", data));
    send_byte_at_a_time(&mut alice, b"after\n");
    bob.expect_file(&format!("[FILE]:alice:bytes.bin:{}", data.len()), data);
    bob.expect_line("alice: after");
}

// ---------------------------------------------------------------------------------------------
// A line that never ends

/// The server's resident memory may grow by this much at most while one client sends a line of
/// 16 MiB: half of that line, so holding the line (or most of it) would not fit.
const MEMORY_SLACK_KIB: u64 = 8 * 1024;

#[test]
fn line_of_16_mib_without_newline_keeps_server_memory_bounded() {
    let server = ServerProcess::start(&[]);
    let pid = server.child.id();
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    let baseline = rss_kib(pid).expect("the server's VmRSS");

    let chunk = vec![b'y'; 64 * 1024];
    for _ in 0..256 {
        alice.send(&chunk);
    }
    alice.send(b"\nafter\n");
    alice.expect_line("[ERROR]:line too long (the limit is 4096 bytes)");
    bob.expect_line("alice: after");
    // One error for the whole line: a second one would reach alice before bob's reply.
    bob.send_line("reply");
    alice.expect_line("bob: reply");

    // The peak, not the current size: a line held and then freed would still show.
    let peak = peak_rss_kib(pid).expect("the server's VmHWM");
    assert!(
        peak <= baseline + MEMORY_SLACK_KIB,
        "the server grew from {baseline} KiB to a peak of {peak} KiB on a 16 MiB line"
    );
}

// ---------------------------------------------------------------------------------------------
// Connections that never give a name

/// Silent connections at most: a thousand, or fewer when the open-file limit is too low for
/// them. Each takes five descriptors in this process: two on the client's side (the socket and
/// the clone the test reads from), three on the server's (the reader's, the writer's, and the
/// one kept for stopping); six are counted, and 300 are left for the tests running beside it.
fn silent_connections() -> usize {
    let limit = common::open_file_limit().unwrap_or(1024);
    let fit = (limit.saturating_sub(300) / 6) as usize;
    if fit < 1000 {
        eprintln!("open-file limit {limit}: {fit} silent connections instead of 1000");
    }
    fit.min(1000)
}

#[test]
fn silent_connections_are_closed_at_the_handshake_timeout_while_a_user_joins() {
    let server = start_server(Config {
        handshake_timeout: Duration::from_secs(1),
        ..Config::default()
    });
    let silent_connections = silent_connections();
    // Each greeting is read before the next connect: a burst of a thousand connects would
    // overflow the listen backlog, and the kernel would retry the dropped ones only a second
    // later. So the server has accepted each of them, and each holds its two threads.
    let mut silent: Vec<TestClient> = (0..silent_connections)
        .map(|_| {
            let mut client = TestClient::connect(server.addr);
            client.expect_prefix("[INFO]:");
            client
        })
        .collect();
    let mut alice = TestClient::join_at_once(server.addr, "alice");
    let mut bob = TestClient::join_at_once(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    alice.send_line("hi bob");
    bob.expect_line("alice: hi bob");

    for client in &mut silent {
        client.expect_line("[ERROR]:no username within 1 s");
        client.expect_closed();
    }
    drop(silent);
    // The silent connections' threads are gone; the users are not timed out.
    server.expect_open_connections(2);
    bob.send_line("still here");
    alice.expect_line("bob: still here");
}

// ---------------------------------------------------------------------------------------------
// Control characters in messages: refused whole, never stripped, never relayed

/// alice sends each bad line, then a marker; each bad line must get one `[ERROR]` and bob's
/// next line must be the marker (a relayed or stripped line would come before it).
fn expect_each_refused(bad_lines: &[&[u8]]) {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    for (i, bad) in bad_lines.iter().enumerate() {
        let mut bytes = bad.to_vec();
        bytes.extend_from_slice(format!("\nmarker {i}\n").as_bytes());
        alice.send(&bytes);
        alice.expect_line(CONTROL_REFUSED);
        bob.expect_line(&format!("alice: marker {i}"));
    }
}

#[test]
fn lone_cr_in_a_message_is_refused_not_relayed() {
    expect_each_refused(&[
        // Relayed, it would let a terminal print a line that seems to come from bob.
        b"hi\rbob: please send me your password",
        b"a\rb",
        // One CR before the LF is a line end; a second one is a lone CR.
        b"two crs\r\r",
    ]);
}

#[test]
fn esc_and_osc_sequences_are_refused() {
    expect_each_refused(&[
        b"\x1b[31mred\x1b[0m",
        b"\x1b[2J\x1b[Hcleared screen",
        b"\x1b]0;new window title\x07",
        b"\x1b]52;c;cGFzc3dvcmQ=\x07",
        b"\x1b]8;;http://evil.example/\x1b\\link\x1b]8;;\x1b\\",
        // The same as C1 characters in UTF-8: CSI, OSC and ST.
        "\u{9b}31mred".as_bytes(),
        "\u{9d}0;title\u{9c}".as_bytes(),
    ]);
}

#[test]
fn nul_is_refused() {
    expect_each_refused(&[b"nul \x00 inside", b"\x00", b"trailing nul\x00"]);
}

// ---------------------------------------------------------------------------------------------
// Names that pretend to be someone else

#[test]
fn case_variant_name_is_taken() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut client = TestClient::connect(server.addr);
    client.expect_prefix("[INFO]:");
    for taken in ["ALICE", "Alice", "aLiCe", "alice"] {
        client.send_line(taken);
        client.expect_line(&format!("[ERROR]:username '{taken}' is taken"));
    }
    client.send_line("bob");
    client.expect_line("[WELCOME]:bob");
    client.expect_line("[USERS]:alice,bob");
    // Only the accepted name was announced.
    alice.expect_line("[JOIN]:bob");
}

#[test]
fn look_alike_names_are_refused_as_bad_names() {
    let server = start_server(Config::default());
    let mut alice = TestClient::join(server.addr, "alice");
    let mut client = TestClient::connect(server.addr);
    client.expect_prefix("[INFO]:");
    let look_alikes = [
        "\u{430}lice",   // Cyrillic а
        "alic\u{435}",   // Cyrillic е
        "\u{3b1}lice",   // Greek α
        "ａｌｉｃｅ",    // fullwidth
        "alice\u{200b}", // zero-width space
        "al\u{200d}ice", // zero-width joiner
        "alice\u{a0}",   // no-break space
        "\u{202e}ecila", // right-to-left override
        "ali\u{301}ce",  // combining accent
        "bob\u{430}",    // a free name, with one Cyrillic letter
    ];
    for name in look_alikes {
        client.send_line(name);
        // Refused by the naming rule, whether or not the name it imitates is online.
        let error = client.expect_prefix("[ERROR]:username refused");
        assert!(!error.contains("taken"), "{name:?}: {error}");
    }
    client.send_line("bob");
    client.expect_line("[WELCOME]:bob");
    client.expect_line("[USERS]:alice,bob");
    alice.expect_line("[JOIN]:bob");
}

// ---------------------------------------------------------------------------------------------
// `[FILE]:` typed as chat

#[test]
fn file_tag_typed_as_chat_by_a_netcat_user_starts_a_text_file() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    bob.take_files();
    // A file header in the text form: the lines up to `<END>` are the file, not chat.
    alice.send_line("[FILE]:plans for friday");
    alice.send_line("meet at 6");
    alice.send_line("<END>");
    alice.send_line("did you get it?");
    bob.expect_file("[FILE]:alice:plans for friday:10", b"meet at 6\n");
    bob.expect_line("alice: did you get it?");
}

#[test]
fn file_tag_with_a_colon_typed_by_a_netcat_user_closes_the_connection() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    // The field after the last `:` is a size; not a number, so where the frame ends is unknown.
    alice.send_line("[FILE]:note: read this");
    alice.expect_line("[ERROR]:bad file size: not a decimal number");
    alice.expect_closed();
    bob.expect_line("[LEAVE]:alice");
}

#[test]
fn file_tag_typed_as_chat_by_the_client_is_refused_and_not_sent() {
    let server = ServerProcess::start(&[]);
    // bob reads the raw wire, so anything the client sent would show.
    let mut bob = TestClient::join(server.addr, "bob");
    let dir = TestDir::new("hostile_typed_file_tag");
    let port = server.addr.port().to_string();
    let mut alice = ClientProcess::start(&dir, &["--port", &port, "--name", "alice", "--no-log"]);
    alice.expect("[INFO] Joined as alice.");
    bob.expect_line("[JOIN]:alice");

    for typed in ["[FILE]:secret.txt", "[FILE]:secret.txt:6"] {
        alice.type_line(typed);
        alice.expect("[ERROR] to send a file, type /file PATH\n");
    }
    // Had a header gone out, the server would take this line as a file's content or size.
    alice.type_line("secret");
    alice.type_line("<END>");
    alice.type_line("still chatting");
    bob.expect_line("alice: secret");
    bob.expect_line("alice: <END>");
    bob.expect_line("alice: still chatting");
}

// ---------------------------------------------------------------------------------------------
// File headers with no bytes, and `<END>` as data

#[test]
fn sized_file_header_of_size_zero_relays_an_empty_file() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    bob.take_files();
    alice.send(b"[FILE]:empty.txt:0\n<END>\nafter\n");
    bob.expect_file("[FILE]:alice:empty.txt:0", b"");
    bob.expect_line("alice: after");
}

#[test]
fn text_file_header_followed_by_end_relays_an_empty_file() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    bob.take_files();
    alice.send(b"[FILE]:empty.txt\n<END>\nafter\n");
    bob.expect_file("[FILE]:alice:empty.txt:0", b"");
    bob.expect_line("alice: after");
}

#[test]
fn file_header_whose_bytes_never_come_relays_nothing_and_holds_up_no_one() {
    let (_server, [mut alice, mut bob, mut carol]) = alice_bob_and_carol(Config::default());
    alice.send(b"[FILE]:big.bin:1000000\n");
    // The server waits for alice's bytes; everyone else carries on, alice still receives.
    bob.send_line("anyone there?");
    carol.expect_line("bob: anyone there?");
    alice.expect_line("bob: anyone there?");
    // These are file bytes now, not messages.
    alice.send_line("hello");
    drop(alice);
    bob.expect_line("[LEAVE]:alice");
    carol.expect_line("[LEAVE]:alice");
}

#[test]
fn end_marker_inside_a_sized_payload_is_data() {
    let (_server, mut alice, mut bob) = alice_and_bob(Config::default());
    bob.take_files();
    let data = b"<END>\n<END>\r\nexit\n[FILE]:x:1\n";
    alice.send(&sized_file("end.txt", data));
    // A payload that is nothing but the marker, followed by the real one.
    alice.send(b"[FILE]:marker.txt:5\n<END><END>\nafter\n");
    bob.expect_file(&format!("[FILE]:alice:end.txt:{}", data.len()), data);
    bob.expect_file("[FILE]:alice:marker.txt:5", b"<END>");
    bob.expect_line("alice: after");
}

// ---------------------------------------------------------------------------------------------
// Disconnecting in the middle of something

/// alice has sent `partial` and disconnects: bob and carol are told `[LEAVE]:alice` and nothing
/// else (a partial frame relayed would come first), then carry on.
fn disconnect_after(partial: &[u8]) {
    let (server, [mut alice, mut bob, mut carol]) = alice_bob_and_carol(Config::default());
    alice.send(partial);
    drop(alice);
    bob.expect_line("[LEAVE]:alice");
    carol.expect_line("[LEAVE]:alice");
    bob.send_line("carrying on");
    carol.expect_line("bob: carrying on");
    server.expect_open_connections(2);
}

#[test]
fn disconnect_mid_sized_file_relays_nothing_and_others_carry_on() {
    disconnect_after(b"[FILE]:x.bin:100\n0123456789");
}

#[test]
fn disconnect_mid_text_file_relays_nothing_and_others_carry_on() {
    disconnect_after(b"[FILE]:notes.txt\nline one\nline two\n");
}

#[test]
fn disconnect_mid_line_relays_nothing_and_others_carry_on() {
    disconnect_after(b"half a line");
}

#[test]
fn disconnect_mid_handshake_announces_nothing_and_frees_the_name() {
    let (server, mut alice, mut bob) = alice_and_bob(Config::default());
    let mut eve = TestClient::connect(server.addr);
    eve.expect_prefix("[INFO]:");
    eve.send(b"ev");
    drop(eve);
    // eve's connection is gone, and nobody heard of her.
    server.expect_open_connections(2);
    bob.send_line("marker");
    alice.expect_line("bob: marker");
    // Nor is the half-sent name held.
    let _ev = TestClient::join(server.addr, "ev");
    alice.expect_line("[JOIN]:ev");
}

#[test]
fn disconnect_right_after_the_name_announces_join_then_leave() {
    let (server, mut alice, mut bob) = alice_and_bob(Config::default());
    // Sends its name and closes at once, without reading a thing.
    let mut eve = TcpStream::connect(server.addr).expect("connect to the server");
    eve.write_all(b"eve\n").expect("send the name");
    drop(eve);
    for client in [&mut alice, &mut bob] {
        client.expect_line("[JOIN]:eve");
        client.expect_line("[LEAVE]:eve");
    }
    server.expect_open_connections(2);
}

// ---------------------------------------------------------------------------------------------
// A half-open client while the others flood

const FLOODERS: [&str; 3] = ["alice", "bob", "carol"];
/// Each flooder sends its messages in bursts of this many, and reads the others' bursts of the
/// same round before it sends its next one. So while a flooder reads round `r`, the others have
/// sent round `r + 1` at most: at most 4 * 20 messages (and one `[LEAVE]`) wait for it, and its
/// queue counts at most 2 * 20 of its own beside them (a queued turn counts every frame it
/// keeps in memory, the client's own too): well within `FLOOD_SEND_QUEUE`, however the threads
/// are scheduled. Nothing waits for the stalled client.
const FLOOD_BURST: usize = 20;
const FLOOD_ROUNDS: usize = 75;
/// Bytes of each flood message. The three floods make 9 MB for the stalled client: about twice
/// what its queue and the kernel buffers of a loopback connection that is never read take in
/// (about 4 MiB with Linux's default `tcp_wmem`).
const FLOOD_MESSAGE_LEN: usize = 2000;
/// In bytes: room for 256 flood messages.
const FLOOD_SEND_QUEUE: usize = 256 * (FLOOD_MESSAGE_LEN + 8);

fn flood_message(i: usize) -> String {
    format!("{i:05} {}", "f".repeat(FLOOD_MESSAGE_LEN - 6))
}

/// One flooder's view of the flood.
struct FloodSeen {
    /// How many messages from each flooder were received.
    received: [usize; FLOODERS.len()],
    /// `received` when `[LEAVE]:stalled` came.
    before_leave: Option<[usize; FLOODERS.len()]>,
}

impl FloodSeen {
    /// Reads until `target` messages from each other flooder (and the `[LEAVE]`, if
    /// `until_leave`) came, checking each sender's messages arrive in order and that
    /// `[LEAVE]:stalled` comes once; any other line fails.
    fn read(&mut self, client: &mut TestClient, me: usize, target: usize, until_leave: bool) {
        let who = FLOODERS[me];
        let behind =
            |seen: &FloodSeen| (0..FLOODERS.len()).any(|s| s != me && seen.received[s] < target);
        while behind(self) || (until_leave && self.before_leave.is_none()) {
            let line = client.read_line();
            if line == "[LEAVE]:stalled" {
                assert!(self.before_leave.is_none(), "{who} was told twice");
                self.before_leave = Some(self.received);
                continue;
            }
            let (from, text) = line
                .split_once(": ")
                .unwrap_or_else(|| panic!("{who} got {line:?}"));
            let s = FLOODERS
                .iter()
                .position(|name| *name == from)
                .unwrap_or_else(|| panic!("{who} got a line from {from:?}"));
            assert_ne!(s, me, "{who} got its own message back");
            assert!(
                text == flood_message(self.received[s]),
                "{who} expected message {} from {from}, got {:?}...",
                self.received[s],
                &text[..text.len().min(20)]
            );
            self.received[s] += 1;
        }
    }
}

/// One flooder: bursts of messages, each followed by reading the others' bursts of that round.
fn flood(client: &mut TestClient, me: usize) -> FloodSeen {
    let mut seen = FloodSeen {
        received: [0; FLOODERS.len()],
        before_leave: None,
    };
    for round in 0..FLOOD_ROUNDS {
        let burst: String = (round * FLOOD_BURST..(round + 1) * FLOOD_BURST)
            .map(|i| flood_message(i) + "\n")
            .collect();
        client.send(burst.as_bytes());
        let last = round + 1 == FLOOD_ROUNDS;
        seen.read(client, me, (round + 1) * FLOOD_BURST, last);
    }
    seen
}

#[test]
fn half_open_client_is_dropped_at_its_send_queue_bound_while_others_keep_pace() {
    // The write timeout stays at its default, longer than any wait of this test: were anyone
    // held up by the stalled client's full socket, their reads would time out.
    assert!(Config::default().write_timeout > TIMEOUT);
    let server = start_server(Config {
        send_queue: FLOOD_SEND_QUEUE,
        ..Config::default()
    });
    let mut flooders: Vec<TestClient> = FLOODERS
        .iter()
        .map(|name| TestClient::join(server.addr, name))
        .collect();
    // Joined, then never reads again; it keeps its socket open.
    let mut stalled = TestClient::join(server.addr, "stalled");
    for (i, client) in flooders.iter_mut().enumerate() {
        for later in FLOODERS[i + 1..].iter().chain(["stalled"].iter()) {
            client.expect_line(&format!("[JOIN]:{later}"));
        }
    }

    let threads: Vec<_> = flooders
        .into_iter()
        .enumerate()
        .map(|(me, mut client)| {
            thread::spawn(move || {
                let seen = flood(&mut client, me);
                (client, seen)
            })
        })
        .collect();
    let (mut flooders, seen): (Vec<TestClient>, Vec<FloodSeen>) = threads
        .into_iter()
        .map(|thread| thread.join().expect("a flooder failed"))
        .unzip();

    // One global order: any two flooders were told at the same point of the third one's flood.
    let before_leave: Vec<_> = seen.iter().map(|s| s.before_leave.unwrap()).collect();
    for a in 0..FLOODERS.len() {
        for b in a + 1..FLOODERS.len() {
            let third = 3 - a - b;
            assert_eq!(
                before_leave[a][third], before_leave[b][third],
                "{} and {} were told of the drop at different points of {}'s flood",
                FLOODERS[a], FLOODERS[b], FLOODERS[third]
            );
        }
    }
    // Nobody else was dropped, and nothing else is on the way.
    flooders[0].send_line("done");
    flooders[1].expect_line("alice: done");
    flooders[2].expect_line("alice: done");

    // The stalled client reads at last: what was queued for it, in order, then why it was cut.
    let mut received = [0; FLOODERS.len()];
    loop {
        let line = stalled.read_line();
        if line == "[ERROR]:send queue exceeded" {
            break;
        }
        let (from, text) = line.split_once(": ").expect("a flood message");
        let s = FLOODERS.iter().position(|name| *name == from).unwrap();
        assert!(text == flood_message(received[s]), "stalled, from {from}");
        received[s] += 1;
    }
    assert!(
        received.iter().sum::<usize>() < FLOODERS.len() * FLOOD_BURST * FLOOD_ROUNDS,
        "the stalled client got the whole flood before it was dropped"
    );
    stalled.expect_closed();
}

// ---------------------------------------------------------------------------------------------
// Max clients

#[test]
fn max_clients_refuses_the_extra_connection() {
    let server = start_server(Config {
        max_clients: 2,
        ..Config::default()
    });
    let mut alice = TestClient::join(server.addr, "alice");
    // A connection still in its handshake counts too.
    let mut waiting = TestClient::connect(server.addr);
    waiting.expect_prefix("[INFO]:");
    let mut third = TestClient::connect(server.addr);
    third.expect_line("[ERROR]:server full");
    third.expect_closed();
    // The two admitted connections carry on.
    waiting.send_line("bob");
    waiting.expect_line("[WELCOME]:bob");
    waiting.expect_line("[USERS]:alice,bob");
    alice.expect_line("[JOIN]:bob");
}

// ---------------------------------------------------------------------------------------------
// Connections per IP address

#[test]
fn connection_past_the_per_ip_limit_is_refused_when_loopback_is_limited() {
    let server = start_server(Config {
        max_per_ip: 2,
        limit_loopback: true,
        ..Config::default()
    });
    let mut first = TestClient::connect(server.addr);
    first.expect_prefix("[INFO]:");
    let mut second = TestClient::connect(server.addr);
    second.expect_prefix("[INFO]:");
    let mut third = TestClient::connect(server.addr);
    third.expect_line("[ERROR]:too many connections from your address");
    third.expect_closed();
    // The two admitted connections carry on.
    second.send_line("bob");
    second.expect_line("[WELCOME]:bob");
}

#[test]
fn per_ip_slot_is_freed_when_a_connection_closes() {
    let server = start_server(Config {
        max_per_ip: 1,
        limit_loopback: true,
        ..Config::default()
    });
    let mut alice = TestClient::join(server.addr, "alice");
    let mut refused = TestClient::connect(server.addr);
    refused.expect_line("[ERROR]:too many connections from your address");
    alice.send_line("exit");
    alice.expect_closed();
    drop(alice);
    server.expect_open_connections(0);
    TestClient::join(server.addr, "bob");
}

#[test]
fn loopback_is_exempt_from_the_per_ip_limit_by_default() {
    let server = start_server(Config {
        max_per_ip: 1,
        ..Config::default()
    });
    let mut alice = TestClient::join(server.addr, "alice");
    let _bob = TestClient::join(server.addr, "bob");
    let _carol = TestClient::join(server.addr, "carol");
    alice.expect_line("[JOIN]:bob");
    alice.expect_line("[JOIN]:carol");
}

// ---------------------------------------------------------------------------------------------
// Idle timeout

#[test]
fn idle_client_gets_an_error_and_is_closed_and_others_see_it_leave() {
    let server = start_server(Config {
        // Long enough that the talker's pings, 100 ms apart, keep it alive on a busy machine.
        idle_timeout: Some(Duration::from_secs(3)),
        ..Config::default()
    });
    let mut idle = TestClient::join(server.addr, "idle");
    let mut talker = TestClient::join(server.addr, "talker");
    idle.expect_line("[JOIN]:talker");

    // The talker sends a line every 100 ms: each one resets its own idle timer.
    let talking = Arc::new(AtomicBool::new(true));
    let pinger = {
        let mut stream = talker.stream.try_clone().unwrap();
        let talking = Arc::clone(&talking);
        thread::spawn(move || {
            use std::io::Write;
            while talking.load(Ordering::SeqCst) {
                // Empty lines are frames too, and are relayed to nobody.
                if stream.write_all(b"\n").is_err() {
                    break;
                }
                thread::sleep(Duration::from_millis(100));
            }
        })
    };
    idle.expect_line("[ERROR]:idle for 3 s");
    idle.expect_closed();
    talker.expect_line("[LEAVE]:idle");
    talking.store(false, Ordering::SeqCst);
    pinger.join().unwrap();
    // The talker, joined as long as the idle client, is still here.
    let mut newcomer = TestClient::join(server.addr, "newcomer");
    talker.expect_line("[JOIN]:newcomer");
    talker.send_line("still here");
    newcomer.expect_line("talker: still here");
}

#[test]
fn bytes_without_a_whole_line_do_not_reset_the_idle_timer() {
    let server = start_server(Config {
        idle_timeout: Some(Duration::from_millis(500)),
        ..Config::default()
    });
    let mut dripper = TestClient::join(server.addr, "dripper");
    // A byte every 50 ms, never a whole line (a "slowloris"), until the server closes the
    // connection. If bytes reset the timer, the error below would never come.
    let mut stream = dripper.stream.try_clone().unwrap();
    let drip = thread::spawn(move || {
        use std::io::Write;
        while stream.write_all(b"x").is_ok() {
            thread::sleep(Duration::from_millis(50));
        }
    });
    dripper.expect_line("[ERROR]:idle for 0.5 s");
    dripper.expect_closed();
    drop(dripper);
    drip.join().unwrap();
}
