//! The shared file budget (`max_file_memory`): no single party may hold it for as long as it
//! likes, whether it sends a file slowly or receives one slowly.

use std::io::Read;
use std::thread;
use std::time::{Duration, Instant};

use chat::server::Config;

use crate::common::hostile::{Next, SMALL_WINDOW};
use crate::common::{TestClient, alice_bob_and_carol, sized_file};
use crate::{KIB, MIB, StopFlag, stopped};

/// A budget of exactly one largest file, so one file held anywhere holds up every other.
fn one_file_budget() -> Config {
    Config {
        max_file_size: MIB,
        max_file_memory: MIB,
        ..Config::default()
    }
}

/// The bytes of a 1 MiB file.
fn big_file() -> Vec<u8> {
    (0..MIB).map(|i| (i % 251) as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// A sender that stops in the middle of a file

/// How long a file's bytes may stop arriving before its sender is cut off, in this test:
/// `file_timeout`, 2 s. The idle timeout stays at its default (30 min): it must not be what
/// ends it.
fn stalled_body_config() -> Config {
    Config {
        file_timeout: Duration::from_secs(2),
        ..one_file_budget()
    }
}

/// What the test allows for a stalled body to be given up: the 2 s above, with a wide margin.
const STALLED_BODY_BOUND: Duration = Duration::from_secs(10);

#[test]
fn a_file_whose_bytes_stop_arriving_gives_up_its_memory_and_ends_the_connection() {
    let (server, [mut alice, mut bob, _carol]) = alice_bob_and_carol(stalled_body_config());
    // The attack as found: a header, then nothing. Before the fix the whole size was reserved at
    // the header and held until the idle timeout. The stream cannot go on without the bytes, so the
    // connection ends.
    alice.send(format!("[FILE]:big.bin:{MIB}\n").as_bytes());
    let stalled = Instant::now();

    let error = match alice.next_within(STALLED_BODY_BOUND) {
        Next::Line(line) => line,
        Next::Closed => panic!("closed without an [ERROR]"),
        Next::TimedOut => panic!(
            "alice's file stopped coming {:?} ago: she is still connected and it still holds \
             {} bytes of the file budget",
            stalled.elapsed(),
            server.file_memory_in_use()
        ),
    };
    assert!(error.starts_with("[ERROR]:"), "alice got {error:?}");
    alice.expect_closed();
    bob.expect_line("[LEAVE]:alice");
    server.expect_file_memory_in_use(0);
}

// ---------------------------------------------------------------------------------------------
// The text form

/// How much of the budget a text-form file that so far holds one short line may take: a few
/// KiB for its line and a buffer, not the largest file (64 MiB).
const TEXT_FILE_START: u64 = 64 * KIB as u64;

#[test]
fn a_text_form_file_does_not_reserve_the_largest_file_up_front() {
    // The default largest file (64 MiB), and a budget of one such file.
    let config = Config {
        max_file_memory: Config::default().max_file_size,
        ..Config::default()
    };
    let (server, [mut alice, mut bob, mut carol]) = alice_bob_and_carol(config);
    carol.take_files();
    alice.send(b"[FILE]:notes.txt\nline one\n");

    // The highest use of the budget over half a second: time enough for the server to read the
    // two lines (before the fix it reserved the whole 64 MiB at the header, at once).
    let watched = Instant::now();
    let mut highest = 0;
    while watched.elapsed() < Duration::from_millis(500) {
        highest = highest.max(server.file_memory_in_use());
        thread::sleep(Duration::from_millis(2));
    }
    assert!(
        highest <= TEXT_FILE_START,
        "a text-form file holding one line took {highest} bytes of the file budget"
    );

    // Meanwhile the budget has room for bob's file, and alice's still comes whole.
    bob.send(&sized_file("small.txt", b"tiny!"));
    carol.expect_file("[FILE]:bob:small.txt:5", b"tiny!");
    alice.send(b"<END>\n");
    carol.expect_file("[FILE]:alice:notes.txt:9", b"line one\n");
}

// ---------------------------------------------------------------------------------------------
// A receiver that reads slowly

/// How long another user's small file may find no room behind one slow receiver of a big file.
/// A receiver must take a file within `file_timeout + size / min_file_rate` (here 2 s + 16 MiB
/// at 4 MiB/s = 6 s) or it is dropped, which gives the file's memory back. Meanwhile a file that
/// finds no room is refused at once (nobody waits for room), and its sender tries again.
const FILE_WAIT_BOUND: Duration = Duration::from_secs(10);

/// The big file of the slow-receiver test, and the budget: more than the kernel's buffers for
/// the slow receiver take in at once (they grow to 4 MiB), so most of it waits in the server.
const SLOWLY_RECEIVED: u64 = 16 * MIB;

#[test]
fn a_slow_receiver_does_not_hold_up_other_users_files() {
    let (server, [mut alice, mut bob, mut carol]) = alice_bob_and_carol(Config {
        max_file_size: SLOWLY_RECEIVED,
        max_file_memory: SLOWLY_RECEIVED,
        file_timeout: Duration::from_secs(2),
        min_file_rate: 4 * MIB,
        ..Config::default()
    });
    let mut slow = TestClient::join_with(server.addr, "slow", SMALL_WINDOW);
    for client in [&mut alice, &mut bob, &mut carol] {
        client.expect_line("[JOIN]:slow");
    }
    for client in [&mut bob, &mut carol, &mut slow] {
        client.take_files();
    }
    // slow reads 4 KB every 2 s: progress, but 16 MiB would take over two hours.
    let stop = StopFlag::default();
    let reading = stop.handle();
    let mut stream = slow.stream.try_clone().unwrap();
    let reader = thread::spawn(move || {
        let mut buf = [0u8; 4 * KIB];
        while !stopped(&reading) {
            thread::sleep(Duration::from_secs(2));
            if !matches!(stream.read(&mut buf), Ok(1..)) {
                return;
            }
        }
    });

    let big: Vec<u8> = (0..SLOWLY_RECEIVED).map(|i| (i % 251) as u8).collect();
    let header = format!("[FILE]:alice:big.bin:{SLOWLY_RECEIVED}");
    alice.send(&sized_file("big.bin", &big));
    bob.expect_file(&header, &big);
    carol.expect_file(&header, &big);

    // A file that finds no room is refused at once, and bob tries again: the budget must come
    // back within the bound, however slowly `slow` reads.
    let sent = Instant::now();
    loop {
        assert!(
            sent.elapsed() < FILE_WAIT_BOUND,
            "bob's 5-byte file found no room for {:?} while slow received alice's \
             {SLOWLY_RECEIVED}-byte file",
            sent.elapsed()
        );
        bob.send(&sized_file("small.txt", b"hello"));
        match bob.next_within(Duration::from_millis(300)) {
            Next::Line(line) if line.starts_with("[ERROR]:no room for files") => {}
            Next::Line(line) if line == "[LEAVE]:slow" => {}
            Next::Line(line) => panic!("bob got {line:?}"),
            Next::Closed => panic!("bob was disconnected"),
            Next::TimedOut => break, // taken
        }
    }
    // The slow receiver may be dropped meanwhile; carol hears of it, and of nothing else.
    loop {
        match carol.next_within(FILE_WAIT_BOUND.saturating_sub(sent.elapsed())) {
            Next::Line(line) if line == "[LEAVE]:slow" => {}
            Next::Line(line) => {
                assert_eq!(line, "[FILE]:bob:small.txt:5");
                break;
            }
            Next::Closed => panic!("carol was disconnected"),
            Next::TimedOut => panic!(
                "bob's 5-byte file did not reach carol within {:?} while slow received alice's \
                 {SLOWLY_RECEIVED}-byte file",
                sent.elapsed()
            ),
        }
    }
    drop(stop);
    drop(slow);
    reader.join().unwrap();
}

// ---------------------------------------------------------------------------------------------
// Chat does not wait behind files

/// How long bob's message may take while the budget is full. The time a stalled body is
/// allowed is a minute here, well above this, so that the message does not merely wait for
/// alice's file to be given up.
const MESSAGE_BOUND: Duration = Duration::from_secs(3);

#[test]
fn a_users_message_does_not_wait_behind_someone_elses_file() {
    let (_server, [mut alice, mut bob, mut carol]) = alice_bob_and_carol(Config {
        file_timeout: Duration::from_secs(60),
        ..one_file_budget()
    });
    carol.take_files();
    // alice sends a file of the whole budget, all but its last few bytes, and stops.
    let frame = sized_file("big.bin", &big_file());
    alice.send(&frame[..MIB as usize]);

    // bob sends a small file, which needs room in the full budget, and then a message.
    bob.send(&sized_file("small.txt", b"tiny!"));
    bob.send_line("after my file");
    // The message may come after bob's file or without it (refused, or sent on later), but it
    // must not wait for alice's file.
    let sent = Instant::now();
    loop {
        match carol.next_within(MESSAGE_BOUND.saturating_sub(sent.elapsed())) {
            Next::Line(line) if line == "bob: after my file" => break,
            Next::Line(line) if line == "[FILE]:bob:small.txt:5" => {
                assert_eq!(carol.read_bytes(5), b"tiny!");
                carol.expect_line("<END>");
            }
            Next::Line(line) => panic!("carol got {line:?}"),
            Next::Closed => panic!("carol was disconnected"),
            Next::TimedOut => panic!(
                "bob's message waited {:?} behind alice's unfinished file",
                sent.elapsed()
            ),
        }
    }
}
