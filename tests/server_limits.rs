//! The server under pressure: a full server, a client that never reads, and clients that all
//! talk at once.

mod common;

use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use chat::server::Config;
use common::{TestClient, sized_file, start_server};

// ---------------------------------------------------------------------------------------------
// max_clients

#[test]
fn slot_freed_by_a_leaving_client_admits_a_new_connection() {
    let server = start_server(Config {
        max_clients: 2,
        ..Config::default()
    });
    let mut alice = TestClient::join(server.addr, "alice");
    let mut bob = TestClient::join(server.addr, "bob");
    alice.expect_line("[JOIN]:bob");
    let mut refused = TestClient::connect(server.addr);
    refused.expect_line("[ERROR]:server full");
    alice.send_line("exit");
    bob.expect_line("[LEAVE]:alice");
    alice.expect_closed();
    drop(alice);
    // The slot is free once both of alice's threads have ended.
    server.expect_open_connections(1);
    let mut carol = TestClient::connect(server.addr);
    carol.expect_prefix("[INFO]:");
    carol.send_line("carol");
    carol.expect_line("[WELCOME]:carol");
    carol.expect_line("[USERS]:bob,carol");
    bob.expect_line("[JOIN]:carol");
}

// ---------------------------------------------------------------------------------------------
// A client that never reads

/// Big enough that a few dozen fill any loopback socket's kernel buffers.
const FILE_SIZE: usize = 1024 * 1024;
/// Files sent at most before the stuck client must have been dropped: its queue holds 8
/// files and its socket's kernel buffers a few MiB, far less than this.
const MAX_FILES: usize = 200;

fn stuck_config() -> Config {
    Config {
        // A file counts its header and `<END>` (35 bytes here): a client more than about 8
        // files behind is dropped.
        send_queue: 8 * 35,
        // A stuck writer gives up soon, so the thread test below is quick.
        write_timeout: Duration::from_millis(300),
        ..Config::default()
    }
}

fn file_header(i: usize) -> String {
    format!("[FILE]:alice:f{i}.bin:{FILE_SIZE}")
}

fn file_data(i: usize) -> Vec<u8> {
    let mut data = vec![(i % 251) as u8; FILE_SIZE];
    data[..8].copy_from_slice(&(i as u64).to_le_bytes());
    data
}

/// Reads file `i` (its header, bytes and `<END>`), which may come right after `[LEAVE]:slow`.
/// Returns whether the `[LEAVE]` came.
fn expect_file_maybe_after_leave(client: &mut TestClient, i: usize, data: &[u8]) -> bool {
    let mut header = client.read_line();
    let left = header == "[LEAVE]:slow";
    if left {
        header = client.read_line();
    }
    assert_eq!(header, file_header(i));
    let got = client.read_bytes(FILE_SIZE);
    assert!(got == data, "the bytes of file {i} differ");
    client.expect_line("<END>");
    left
}

/// The clients of a chat in which `slow` has just been dropped, and how many files alice sent.
struct AfterTheDrop {
    alice: TestClient,
    bob: TestClient,
    carol: TestClient,
    slow: TestClient,
    files_sent: usize,
}

/// alice, bob and carol join, then `slow`, which never reads again. alice sends 1 MiB files one
/// at a time; bob and carol read each before the next is sent, so their queues never hold more
/// than two frames, while slow's fills up. Returns once bob and carol were told `[LEAVE]:slow`.
fn send_files_until_slow_is_dropped(addr: std::net::SocketAddr) -> AfterTheDrop {
    let mut alice = TestClient::join(addr, "alice");
    let mut bob = TestClient::join(addr, "bob");
    bob.take_files();
    let mut carol = TestClient::join(addr, "carol");
    carol.take_files();
    let mut slow = TestClient::join(addr, "slow");
    slow.take_files();
    for line in ["[JOIN]:bob", "[JOIN]:carol", "[JOIN]:slow"] {
        alice.expect_line(line);
    }
    bob.expect_line("[JOIN]:carol");
    bob.expect_line("[JOIN]:slow");
    carol.expect_line("[JOIN]:slow");
    for i in 0..MAX_FILES {
        let data = file_data(i);
        alice.send(&sized_file(&format!("f{i}.bin"), &data));
        let bob_told = expect_file_maybe_after_leave(&mut bob, i, &data);
        let carol_told = expect_file_maybe_after_leave(&mut carol, i, &data);
        // One global order: both are told at the same point.
        assert_eq!(bob_told, carol_told, "before file {i}");
        if bob_told {
            return AfterTheDrop {
                alice,
                bob,
                carol,
                slow,
                files_sent: i + 1,
            };
        }
    }
    panic!("slow was not dropped after {MAX_FILES} files of {FILE_SIZE} bytes");
}

#[test]
fn client_that_never_reads_is_dropped_while_the_others_get_everything_in_order() {
    let server = start_server(stuck_config());
    let AfterTheDrop {
        mut alice,
        mut bob,
        mut carol,
        slow: _still_connected,
        ..
    } = send_files_until_slow_is_dropped(server.addr);
    alice.expect_line("[LEAVE]:slow");
    // Every file came to bob and carol in order (checked as they came), and nothing else.
    alice.send_line("after");
    bob.expect_line("alice: after");
    carol.expect_line("alice: after");
}

#[test]
fn threads_of_a_dropped_client_end_though_it_neither_reads_nor_closes() {
    let server = start_server(stuck_config());
    let chat = send_files_until_slow_is_dropped(server.addr);
    // alice, bob and carol stay; slow's writer gives up at the write timeout, and its reader
    // is woken by the writer, though slow keeps its socket open.
    server.expect_open_connections(3);
    drop(chat);
}

#[test]
fn dropped_client_gets_its_backlog_then_send_queue_exceeded_and_is_closed() {
    // Here the stuck client reads in the end, so its writer must not give up first.
    let server = start_server(Config {
        write_timeout: common::TIMEOUT,
        ..stuck_config()
    });
    let mut chat = send_files_until_slow_is_dropped(server.addr);
    let (slow, sent) = (&mut chat.slow, chat.files_sent);
    // slow starts reading at last: what was queued before the drop, in order, then why.
    let mut i = 0;
    loop {
        let line = slow.read_line();
        if line == "[ERROR]:send queue exceeded" {
            break;
        }
        assert_eq!(line, file_header(i));
        let got = slow.read_bytes(FILE_SIZE);
        assert!(got == file_data(i), "the bytes of file {i} differ");
        slow.expect_line("<END>");
        i += 1;
        assert!(i < sent, "slow got every file: it was never dropped");
    }
    // Bob was told `[LEAVE]:slow` after file `sent - 2`, the one that did not fit.
    assert_eq!(i, sent - 2, "files queued for slow before it was dropped");
    slow.expect_closed();
}

// ---------------------------------------------------------------------------------------------
// Everyone at once

const SENDERS: [&str; 4] = ["c0", "c1", "c2", "c3"];
const PER_SENDER: usize = 200;

#[test]
fn concurrent_messages_arrive_once_in_sender_order_and_in_one_global_order() {
    let server = start_server(Config::default());
    let mut clients: Vec<TestClient> = SENDERS
        .iter()
        .map(|name| TestClient::join(server.addr, name))
        .collect();
    for (i, client) in clients.iter_mut().enumerate() {
        for later in &SENDERS[i + 1..] {
            client.expect_line(&format!("[JOIN]:{later}"));
        }
    }
    let start = Arc::new(Barrier::new(SENDERS.len()));
    let threads: Vec<_> = clients
        .into_iter()
        .zip(SENDERS)
        .map(|(mut client, name)| {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                for i in 0..PER_SENDER {
                    client.send_line(&format!("{name} says {i}"));
                }
                let expected = (SENDERS.len() - 1) * PER_SENDER;
                (0..expected)
                    .map(|_| client.read_line())
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let received: Vec<Vec<String>> = threads
        .into_iter()
        .map(|thread| thread.join().expect("a client thread failed"))
        .collect();

    let sender_of = |line: &str| line.split_once(": ").expect("a chat message").0.to_owned();
    for (receiver, lines) in SENDERS.iter().zip(&received) {
        let mut next = [0; SENDERS.len()];
        for line in lines {
            let from = sender_of(line);
            let s = SENDERS
                .iter()
                .position(|name| *name == from)
                .expect("a sender");
            assert_ne!(from, *receiver, "{receiver} got its own message back");
            assert_eq!(
                *line,
                format!("{from}: {from} says {}", next[s]),
                "at {receiver}"
            );
            next[s] += 1;
        }
        // Exactly the expected number of lines were read, so each arrived once.
        for (s, count) in next.iter().enumerate() {
            if SENDERS[s] != *receiver {
                assert_eq!(*count, PER_SENDER, "{receiver} from {}", SENDERS[s]);
            }
        }
    }
    for a in 0..SENDERS.len() {
        for b in a + 1..SENDERS.len() {
            let both_got = |line: &&String| {
                let from = sender_of(line);
                from != SENDERS[a] && from != SENDERS[b]
            };
            let seen_by_a: Vec<&String> = received[a].iter().filter(both_got).collect();
            let seen_by_b: Vec<&String> = received[b].iter().filter(both_got).collect();
            assert!(
                seen_by_a == seen_by_b,
                "{} and {} saw the messages they share in different orders",
                SENDERS[a],
                SENDERS[b]
            );
        }
    }
}
