//! Bytes the server throws away (the rest of a line too long, the body of a refused file) count
//! against a flood-limited client's allowance like frames do: discarding is paced, not done at
//! the speed of the link. Roughly, each `max_line` bytes thrown away cost one frame.

use std::io::{ErrorKind, Write};
use std::time::{Duration, Instant};

use chat::server::{Config, FloodLimit};

use crate::common::hostile::{SocketOptions, connect_with};
use crate::common::{TestClient, start_server};
use crate::{KIB, MIB};

/// How long the client writes as fast as it can.
const WRITING: Duration = Duration::from_secs(1);
/// What the server may take in that second. Paced at five frames at once and two a second of
/// 4096 bytes each, it reads under 30 KB; the kernel's buffers hold a few hundred KB more. Before the
/// fix it read hundreds of MB.
const PACED_BYTES: u64 = 10 * MIB;

/// Joins a flood-limited server (five frames at once, then two a second) with small socket
/// buffers, sends `start`, then writes filler bytes as fast as the server takes them for
/// `WRITING`; returns how many it took.
fn bytes_taken_after(start: &[u8]) -> u64 {
    let server = start_server(Config {
        flood_limit: Some(FloodLimit {
            burst: 5,
            per_second: 2.0,
        }),
        limit_loopback: true,
        max_line: 4096,
        ..Config::default()
    });
    // Small buffers on this side, so that what the writes return is close to what the server
    // has read; the server's own receive buffer stays at its initial size while it reads slowly.
    let options = SocketOptions {
        receive: Some(64 * KIB),
        send: Some(16 * KIB),
    };
    let stream = connect_with(server.addr, options);
    let mut eve = TestClient::from_stream(stream);
    eve.send_line("eve");
    eve.expect_prefix("[INFO]:");
    eve.expect_line("[WELCOME]:eve");
    eve.expect_prefix("[USERS]:");

    eve.send(start);
    eve.stream
        .set_write_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let filler = vec![b'y'; 64 * KIB];
    let mut taken = 0;
    let started = Instant::now();
    while started.elapsed() < WRITING {
        match eve.stream.write(&filler) {
            Ok(n) => taken += n as u64,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(e) => panic!("the server closed the connection: {e}"),
        }
    }
    taken
}

#[test]
fn an_endless_line_from_a_flood_limited_client_is_discarded_at_a_paced_rate() {
    let taken = bytes_taken_after(b"");
    assert!(
        taken < PACED_BYTES,
        "a flood-limited client pushed {taken} bytes of one endless line in {WRITING:?}"
    );
}

#[test]
fn a_refused_huge_file_from_a_flood_limited_client_is_discarded_at_a_paced_rate() {
    // 100 GB, far over the largest file: refused, and its body skipped.
    let taken = bytes_taken_after(b"[FILE]:huge.bin:100000000000\n");
    assert!(
        taken < PACED_BYTES,
        "a flood-limited client pushed {taken} bytes of a refused file in {WRITING:?}"
    );
}
