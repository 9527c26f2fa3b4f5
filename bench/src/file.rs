//! file: one client sends a file (the sized `[FILE]` form) to R others. Timed per receiver,
//! from the first byte sent to the last byte received; MB/s = size / that time (1 MB = 10^6
//! bytes). The server relays a file only once it has all of it, so this is upload and relay
//! together. Checked: every copy is byte-exact.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::conn::{Conn, show};
use crate::gate::Gate;
use crate::report::Rep;
use crate::target::Running;

const JOIN_TIME: Duration = Duration::from_secs(30);
const TRANSFER_TIME: Duration = Duration::from_secs(60);
const FILE_NAME: &str = "bench.bin";

pub fn run(server: &Running, receivers: usize, size: usize, tag: &str) -> Result<Rep, String> {
    let data = Arc::new(pattern(size));
    let sender_name = format!("{tag}s");
    let deadline = Instant::now() + JOIN_TIME;
    let mut sender = Conn::join(server.addr, &sender_name, deadline)?;
    let header = Arc::new(format!("[FILE]:{sender_name}:{FILE_NAME}:{size}"));

    let gate = Arc::new(Gate::new(receivers));
    let mut threads = Vec::with_capacity(receivers);
    for i in 0..receivers {
        let conn = Conn::join(server.addr, &format!("{tag}r{i}"), deadline)?;
        let (gate, header, data) = (Arc::clone(&gate), Arc::clone(&header), Arc::clone(&data));
        let tag = tag.to_string();
        let thread = thread::Builder::new()
            .name(format!("file-{i}"))
            .spawn(move || receive(conn, &tag, receivers, &gate, &header, &data, deadline))
            .map_err(|e| format!("cannot start a client thread: {e}"))?;
        threads.push(thread);
    }

    let ready = sender.await_others(tag, receivers, deadline);
    let sent = gate.open(&ready, deadline).and_then(|_| {
        let first_byte = Instant::now();
        sender.send(format!("[FILE]:{FILE_NAME}:{size}\n").as_bytes())?;
        sender.send(&data)?;
        sender.send(b"<END>\n")?;
        Ok(first_byte)
    });
    let results: Vec<Result<(Instant, Conn), String>> = threads
        .into_iter()
        .map(|t| {
            t.join()
                .unwrap_or_else(|_| Err("a client thread panicked".into()))
        })
        .collect();
    let first_byte = sent?;
    let mut rates = Vec::with_capacity(receivers);
    let mut conns = Vec::with_capacity(receivers);
    for result in results {
        let (last_byte, conn) = result?;
        let secs = last_byte.duration_since(first_byte).as_secs_f64();
        rates.push(size as f64 / secs / 1e6);
        conns.push(conn);
    }
    drop(conns);

    let slowest = rates.iter().copied().fold(f64::INFINITY, f64::min);
    let fastest = rates.iter().copied().fold(0.0, f64::max);
    let shown: Vec<String> = rates.iter().map(|r| format!("{r:.0}")).collect();
    let mut rep = Rep::new(format!(
        "{:.1} MiB to {receivers} receivers at {} MB/s; every copy byte-exact",
        size as f64 / (1024.0 * 1024.0),
        shown.join(", ")
    ));
    rep.figure("mb_s_min", slowest, 0);
    rep.figure("mb_s_max", fastest, 0);
    Ok(rep)
}

/// A receiver: waits for the others to join and the start, then reads the file and checks it.
/// Returns when its last byte arrived, and the connection (it stays open until all are done).
fn receive(
    mut conn: Conn,
    tag: &str,
    others: usize,
    gate: &Gate,
    header: &str,
    data: &[u8],
    deadline: Instant,
) -> Result<(Instant, Conn), String> {
    // Written to before the start, so that no page fault is timed.
    let mut copy = vec![1u8; data.len()];
    let ready = conn.await_others_taking_files(tag, others, deadline);
    gate.wait(&ready)?;
    let deadline = Instant::now() + TRANSFER_TIME;
    let line = conn.line(deadline)?;
    if line != header.as_bytes() {
        return Err(format!("expected {header:?}, got {}", show(line)));
    }
    conn.read_exact(&mut copy, deadline)?;
    let line = conn.line(deadline)?;
    if line != b"<END>" {
        return Err(format!("expected <END> after the file, got {}", show(line)));
    }
    let last_byte = Instant::now();
    if copy != data {
        let at = copy.iter().zip(data).position(|(a, b)| a != b);
        return Err(format!("the received copy differs, first at byte {at:?}"));
    }
    Ok((last_byte, conn))
}

/// `size` bytes that are no simple repetition (xorshift), with every byte value in them, so a
/// byte lost, doubled or changed anywhere shows.
fn pattern(size: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..size)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}
