//! The limits that slow a client down rather than drop it: flood control (a token bucket per
//! client) and the bound on file bytes in memory (a file that does not fit waits). The per-IP
//! limit and the idle timeout are in `hostile.rs`, with the other attacks.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use chat::server::{self, Config, FloodLimit, ServerError};
use common::{alice_and_bob, alice_bob_and_carol, sized_file};

// ---------------------------------------------------------------------------------------------
// Flood control

fn flood_config(burst: u32, per_second: f64) -> Config {
    Config {
        flood_limit: Some(FloodLimit { burst, per_second }),
        limit_loopback: true,
        ..Config::default()
    }
}

#[test]
fn flooding_client_is_slowed_down_but_nothing_is_dropped() {
    let (_server, mut alice, mut bob) = alice_and_bob(flood_config(2, 20.0));

    let started = Instant::now();
    let flood: String = (0..12).map(|i| format!("m{i}\n")).collect();
    alice.send(flood.as_bytes());
    for i in 0..12 {
        bob.expect_line(&format!("alice: m{i}"));
    }
    // Two frames of burst, then one every 50 ms: the last cannot arrive before 0.5 s.
    let elapsed = started.elapsed();
    assert!(elapsed >= Duration::from_millis(450), "took {elapsed:?}");
}

#[test]
fn a_flooding_client_does_not_slow_down_the_others() {
    let (_server, [mut alice, mut bob, mut carol]) = alice_bob_and_carol(flood_config(1, 10.0));

    // Alice's 20 lines take about 2 s to get through her bucket ...
    let flood: String = (0..20).map(|i| format!("m{i}\n")).collect();
    alice.send(flood.as_bytes());
    carol.expect_line("alice: m0");
    carol.expect_line("alice: m1");
    // ... and bob's line, sent meanwhile from his own full bucket, goes ahead of the rest.
    bob.send_line("me too");
    let mut seen = Vec::new();
    loop {
        let line = carol.read_line();
        if line == "bob: me too" {
            break;
        }
        seen.push(line);
    }
    assert!(
        seen.len() < 18,
        "bob's line waited behind alice's flood: {seen:?}"
    );
}

#[test]
fn loopback_clients_are_not_flood_limited_by_default() {
    // One frame at once and then one every 1,000 s: a limited client would stall for good.
    let (_server, mut alice, mut bob) = alice_and_bob(Config {
        flood_limit: Some(FloodLimit {
            burst: 1,
            per_second: 0.001,
        }),
        ..Config::default()
    });
    alice.send(b"one\ntwo\nthree\n");
    bob.expect_line("alice: one");
    bob.expect_line("alice: two");
    bob.expect_line("alice: three");
}

// ---------------------------------------------------------------------------------------------
// File bytes in memory

const MIB: u64 = 1024 * 1024;

fn file_memory_config() -> Config {
    Config {
        max_file_size: MIB,
        max_file_memory: MIB,
        ..Config::default()
    }
}

#[test]
fn a_file_that_does_not_fit_in_file_memory_is_refused_and_the_chat_goes_on() {
    let (server, [mut alice, mut bob, mut carol]) = alice_bob_and_carol(file_memory_config());
    bob.take_files();
    carol.take_files();

    // Alice announces a file of the whole budget and sends half of it: the budget is taken.
    let big: Vec<u8> = (0..MIB).map(|i| (i % 251) as u8).collect();
    let frame = sized_file("big.bin", &big);
    let half = frame.len() / 2;
    alice.send(&frame[..half]);
    server.expect_file_memory_in_use(MIB);

    // Bob's small file does not fit: it is refused at once and skipped, and his chat message
    // after it does not wait for alice's file.
    bob.send(&sized_file("small.txt", b"tiny"));
    bob.send_line("after my file");
    let refusal = bob.expect_prefix("[ERROR]:");
    assert!(refusal.contains("no room for files"), "{refusal}");
    carol.expect_line("bob: after my file");
    alice.expect_line("bob: after my file");

    // Once alice's file is through, bob can send his again.
    alice.send(&frame[half..]);
    carol.expect_file(&format!("[FILE]:alice:big.bin:{MIB}"), &big);
    bob.expect_file(&format!("[FILE]:alice:big.bin:{MIB}"), &big);
    server.expect_file_memory_in_use(0);
    bob.send(&sized_file("small.txt", b"tiny"));
    carol.expect_file("[FILE]:bob:small.txt:4", b"tiny");
}

#[test]
fn file_memory_is_given_back_once_every_receiver_has_the_file() {
    let (server, mut alice, mut bob) = alice_and_bob(file_memory_config());
    bob.take_files();
    let data = vec![7u8; 300_000];
    for i in 0..5 {
        alice.send(&sized_file(&format!("f{i}.bin"), &data));
        bob.expect_file(&format!("[FILE]:alice:f{i}.bin:300000"), &data);
    }
    // A text-form file is reserved as it grows, and gives back what it did not need.
    alice.send(b"[FILE]:notes.txt\nline one\n<END>\n");
    bob.expect_file("[FILE]:alice:notes.txt:9", b"line one\n");
    server.expect_file_memory_in_use(0);
}

#[test]
fn a_file_memory_bound_below_the_largest_file_is_refused() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let config = Config {
        max_file_size: 2 * MIB,
        max_file_memory: MIB,
        ..Config::default()
    };
    match server::start(listener, config) {
        Err(ServerError::Config(why)) => assert!(why.contains("file memory"), "{why}"),
        Err(other) => panic!("wrong error: {other}"),
        Ok(_) => panic!("the server started with a bound it could never honour"),
    }
}

#[test]
fn a_slow_client_receiving_a_file_bigger_than_its_send_queue_is_not_dropped() {
    // A 16 MiB file is more than a loopback socket's kernel buffers hold, so while bob does not
    // read, most of it waits in his queue, far past its 1 KiB bound.
    let (_server, [mut alice, mut bob, mut carol]) = alice_bob_and_carol(Config {
        send_queue: 1024,
        max_file_size: 16 * MIB,
        max_file_memory: 16 * MIB,
        ..Config::default()
    });
    bob.take_files();
    carol.take_files();

    let data: Vec<u8> = (0..16 * MIB).map(|i| (i % 253) as u8).collect();
    let header = format!("[FILE]:alice:big.bin:{}", 16 * MIB);
    alice.send(&sized_file("big.bin", &data));
    alice.send_line("after the file");
    // Carol reads: once she has the line, it was routed to bob too, behind the file.
    carol.expect_file(&header, &data);
    carol.expect_line("alice: after the file");
    // Bob reads at last, and gets both: a file counts for its header in the queue, not its bytes.
    bob.expect_file(&header, &data);
    bob.expect_line("alice: after the file");
}

// ---------------------------------------------------------------------------------------------
// A paced sender is told why

fn paced_config() -> Config {
    Config {
        limit_loopback: true,
        flood_limit: Some(FloodLimit {
            burst: 3,
            per_second: 20.0,
        }),
        ..Config::default()
    }
}

#[test]
fn a_sender_slowed_down_is_told_once_why() {
    let (_server, mut alice, mut bob) = alice_and_bob(paced_config());
    // Her name took one token: two lines go at once, the third and after are paced.
    alice.send(b"one\ntwo\nthree\nfour\nfive\n");
    let notice = alice.expect_prefix("[INFO]:you are sending faster");
    assert!(
        notice.contains("3 lines at once, then 20 a second"),
        "{notice}"
    );
    for line in ["one", "two", "three", "four", "five"] {
        bob.expect_line(&format!("alice: {line}"));
    }
    // Told once per flood, not once per line.
    alice.send(b"six\nseven\neight\n");
    bob.expect_line("alice: six");
    bob.expect_line("alice: seven");
    bob.expect_line("alice: eight");
    bob.send_line("done");
    alice.expect_line("bob: done");
}
