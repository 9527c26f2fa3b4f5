//! Clients that never read: what the server keeps for them must count against their send queue,
//! and the write timeout must be the time they get.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use chat::server::Config;

use crate::common::hostile::{Next, SMALL_WINDOW};
use crate::common::{TestClient, sized_file, start_server};
use crate::{MIB, StopFlag, stopped};

// ---------------------------------------------------------------------------------------------
// What a client's queue keeps alive

/// The flooder's lines: 4000 bytes of text each.
const FLOOD_LINE: usize = 4000;
/// The flooder sends its lines this many at once, every millisecond: the server gathers them
/// into turns of several frames, and a turn that also holds one of the talker's lines is queued
/// for the flooder whole.
const FLOOD_BURST: usize = 5;
/// How many lines the flooder sends at most: 40 MB, 38 times the default send queue, in about
/// two seconds. A bound that counts what the flooder's queue keeps alive drops it once 1 MiB of
/// its own lines is held in turns queued for it (a quick prototype of such a fix dropped it
/// after 900 to 2,100 lines); before the fix only the talker's lines counted, 13 bytes a
/// millisecond, and the flooder would have been dropped after some 80 s.
const FLOOD_LINES: usize = 10_000;
/// A file the talker sends first, to fill the kernel's buffers toward the flooder (4 MiB at
/// most on loopback) so that from the start of the flood what is queued for it stays queued. A
/// file's bytes are under the file budget, not the send queue, before and after the fix.
const FILLER_FILE: usize = 8 * MIB as usize;

#[test]
fn a_client_that_floods_and_never_reads_is_dropped_at_its_send_queue_bound() {
    // The defaults: a 1 MiB send queue, and a write timeout (30 s) longer than this test, so a
    // drop can only come from the send queue.
    let server = start_server(Config::default());
    let mut flooder = TestClient::join_with(server.addr, "flooder", SMALL_WINDOW);
    flooder.take_files();
    let mut talker = TestClient::join(server.addr, "talker");
    // The flooder never reads again.
    talker.send(&sized_file("filler.bin", &vec![b'x'; FILLER_FILE]));
    let stop = StopFlag::default();

    // The talker says something short every millisecond: each turn that carries one of its
    // lines to the flooder also holds the flooder's own lines of that turn.
    let mut talk = talker.stream.try_clone().unwrap();
    let talking = stop.handle();
    let talk = thread::spawn(move || {
        while !stopped(&talking) && talk.write_all(b"tick\n").is_ok() {
            thread::sleep(Duration::from_millis(1));
        }
    });
    let mut flood = flooder.stream.try_clone().unwrap();
    let flooding = stop.handle();
    let flood = thread::spawn(move || {
        let burst = format!("{}\n", "f".repeat(FLOOD_LINE)).repeat(FLOOD_BURST);
        for _ in 0..FLOOD_LINES / FLOOD_BURST {
            if stopped(&flooding) || flood.write_all(burst.as_bytes()).is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(1));
        }
    });

    // The talker reads everything: the flooder's lines, then, at its drop, its `[LEAVE]`.
    let started = Instant::now();
    let mut flood_lines = 0;
    loop {
        let line = talker.read_line();
        if line == "[LEAVE]:flooder" {
            break;
        }
        assert!(line.starts_with("flooder: "), "the talker got {line:?}");
        flood_lines += 1;
        assert!(
            flood_lines < FLOOD_LINES,
            "the flooder sent {FLOOD_LINES} lines of {FLOOD_LINE} bytes in {:?} without reading \
             and was not dropped (send queue {} bytes)",
            started.elapsed(),
            Config::default().send_queue
        );
    }
    drop(stop);
    talk.join().unwrap();
    flood.join().unwrap();
    drop(flooder);
}

// ---------------------------------------------------------------------------------------------
// The write timeout

/// The write timeout of the test. Before the fix a client that read nothing was dropped after about
/// three of them: 9.35 s, measured from the flood, on a quiet 2-core machine.
const WRITE_TIMEOUT: Duration = Duration::from_secs(3);
/// On top of the promised write timeout plus a second, for a loaded machine.
const MARGIN: Duration = Duration::from_secs(2);
/// What alice sends, in 1000-byte lines: more than the server's kernel buffers for the stuck
/// client can take in even if they grow to their largest (4 MiB), so the server's writes to it
/// stall within milliseconds of the flood, and stay stalled.
const FLOOD_BYTES: usize = 8 * MIB as usize;

#[test]
fn a_client_that_reads_nothing_is_dropped_within_the_write_timeout_and_a_second() {
    let server = start_server(Config {
        write_timeout: WRITE_TIMEOUT,
        // Far more than the flood: the drop can only come from the write timeout.
        send_queue: 4 * FLOOD_BYTES,
        ..Config::default()
    });
    let mut bob = TestClient::join(server.addr, "bob");
    let stuck = TestClient::join_with(server.addr, "stuck", SMALL_WINDOW);
    bob.expect_line("[JOIN]:stuck");
    let mut alice = TestClient::join(server.addr, "alice");
    bob.expect_line("[JOIN]:alice");

    // The server reads the flood at loopback speed, and its writes to `stuck` fill stuck's small
    // window and the kernel's send buffer (4 MiB at most) within a fraction of a second: the
    // time is measured from the flood, so that fraction counts against the margin. After it, the
    // writes make no progress.
    let line = format!("{}\n", "w".repeat(999));
    let flood = line.repeat(FLOOD_BYTES / line.len());
    let started = Instant::now();
    alice.send(flood.as_bytes());

    let bound = WRITE_TIMEOUT + Duration::from_secs(1) + MARGIN;
    let deadline = started + bound;
    loop {
        match bob.next_within(deadline.saturating_duration_since(Instant::now())) {
            Next::Line(line) if line == "[LEAVE]:stuck" => break,
            Next::Line(line) => assert!(line.starts_with("alice: "), "bob got {line:?}"),
            Next::Closed => panic!("bob was disconnected"),
            Next::TimedOut => panic!(
                "a client that reads nothing is still in the chat {:?} after its writes \
                 stalled (write timeout {WRITE_TIMEOUT:?})",
                started.elapsed()
            ),
        }
    }
    let elapsed = started.elapsed();
    drop(stuck);
    // Not dropped early either: the timeout is the time a client gets.
    assert!(
        elapsed >= WRITE_TIMEOUT - Duration::from_millis(100),
        "dropped after {elapsed:?}, before its write timeout"
    );
}
