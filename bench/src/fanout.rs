//! fanout: N clients join; at one start signal each sends M messages as fast as it can (one
//! write of all M), and every client reads until it has the (N-1)*M messages of the others.
//! Timed from the start signal until the last client has its last message.
//!
//! Then the checks: every message reached all N-1 others exactly once, each sender's messages
//! arrived in the order sent, and all clients saw them in one and the same order.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::conn::{Conn, number, show};
use crate::gate::Gate;
use crate::readings::{own_cpu_seconds, spent};
use crate::report::Rep;
use crate::target::Running;

/// How long joining may take, and then the burst.
const JOIN_TIME: Duration = Duration::from_secs(120);
const BURST_TIME: Duration = Duration::from_secs(60);
/// Stack of a client thread: its buffers are on the heap.
const STACK: usize = 128 * 1024;

/// What one client received: message ids (`sender * m + seq`) in arrival order, and when the
/// last one came. Its connection stays open until every client is done: a leave would cost the
/// server work while others still receive.
struct Received {
    ids: Vec<u32>,
    last: Instant,
    _conn: Conn,
}

pub fn run(server: &Running, n: usize, m: usize, tag: &str) -> Result<Rep, String> {
    if n < 4 {
        // The order check below needs a fourth client (see `check_one_order`).
        return Err("fanout needs at least 4 clients".into());
    }
    let names: Arc<Vec<String>> = Arc::new((0..n).map(|i| format!("{tag}{i}")).collect());
    // One after another, each welcomed before the next connects: the listen queue never
    // overflows (which would cost a 1 s SYN retry), and joining is not what is measured.
    let deadline = Instant::now() + JOIN_TIME;
    let mut conns = Vec::with_capacity(n);
    for name in names.iter() {
        conns.push(Conn::join(server.addr, name, deadline)?);
    }

    let gate = Arc::new(Gate::new(n));
    let mut threads = Vec::with_capacity(n);
    for (i, conn) in conns.into_iter().enumerate() {
        let (gate, names, tag) = (Arc::clone(&gate), Arc::clone(&names), tag.to_string());
        let thread = thread::Builder::new()
            .name(format!("fanout-{i}"))
            .stack_size(STACK)
            .spawn(move || client(conn, i, m, &names, &tag, &gate, deadline))
            .map_err(|e| format!("cannot start a client thread: {e}"))?;
        threads.push(thread);
    }

    let (cpu_before, server_before) = (own_cpu_seconds(), server.cpu_seconds());
    let start = gate.open(&Ok(()), deadline);
    let results: Vec<Result<Received, String>> = threads
        .into_iter()
        .map(|t| {
            t.join()
                .unwrap_or_else(|_| Err("a client thread panicked".into()))
        })
        .collect();
    let (cpu_after, server_after) = (own_cpu_seconds(), server.cpu_seconds());
    let start = start?;
    let received = results.into_iter().collect::<Result<Vec<_>, _>>()?;

    let last = received.iter().map(|r| r.last).max().unwrap_or(start);
    let secs = last.duration_since(start).as_secs_f64();
    let lists: Vec<Vec<u32>> = received.into_iter().map(|r| r.ids).collect();
    check_each_sender(&lists, m)?;
    check_one_order(&lists, m)?;

    let deliveries = (n * m * (n - 1)) as f64;
    let rate = deliveries / secs;
    let mut rep = Rep::new(format!(
        "{deliveries} deliveries in {:.1} ms = {:.2} M/s; all delivered once, in order, \
         in one order everywhere",
        secs * 1e3,
        rate / 1e6
    ));
    rep.figure("deliveries", deliveries, 0);
    rep.figure("secs", secs, 4);
    rep.figure("deliveries_per_sec", rate, 0);
    let bench_cpu = spent(cpu_before, cpu_after);
    let server_cpu = spent(server_before, server_after);
    rep.figure_or_missing("bench_cpu_s", bench_cpu, 3);
    rep.figure_or_missing("server_cpu_s", server_cpu, 3);
    match (bench_cpu, server_cpu) {
        (Some(bench_cpu), Some(server_cpu)) => {
            rep.figure(
                "bench_cpu_pct",
                100.0 * bench_cpu / (bench_cpu + server_cpu),
                0,
            );
            rep.human += &format!(
                "; CPU: server {:.0} ms, bench {:.0} ms",
                server_cpu * 1e3,
                bench_cpu * 1e3
            );
        }
        _ => rep.missing("bench_cpu_pct"),
    }
    Ok(rep)
}

/// One client: waits until everyone has joined, sends its burst at the start signal, then reads
/// until it has everybody else's messages.
fn client(
    mut conn: Conn,
    me: usize,
    m: usize,
    names: &[String],
    tag: &str,
    gate: &Gate,
    deadline: Instant,
) -> Result<Received, String> {
    let n = names.len();
    let burst: String = (0..m).map(|seq| format!("b:{me}:{seq}\n")).collect();
    let ready = conn.await_others(tag, n - 1, deadline);
    gate.wait(&ready)?;
    conn.send(burst.as_bytes())?;

    let expected = (n - 1) * m;
    let mut ids = Vec::with_capacity(expected);
    let deadline = Instant::now() + BURST_TIME;
    while ids.len() < expected {
        conn.fill_before(deadline).map_err(|e| {
            format!(
                "{}: {e} after {} of {expected} messages",
                names[me],
                ids.len()
            )
        })?;
        while ids.len() < expected {
            let Some(line) = conn.buffered_line() else {
                break;
            };
            let id = message_id(line, names, m)
                .ok_or_else(|| format!("{} got an unexpected line {}", names[me], show(line)))?;
            ids.push(id);
        }
    }
    Ok(Received {
        ids,
        last: Instant::now(),
        _conn: conn,
    })
}

/// The id of a line `<name>: b:<sender>:<seq>`, when the name is the sender's.
fn message_id(line: &[u8], names: &[String], m: usize) -> Option<u32> {
    let colon = line.iter().position(|&b| b == b':')?;
    let (name, text) = line.split_at(colon);
    let text = text.strip_prefix(b": b:")?;
    let colon = text.iter().position(|&b| b == b':')?;
    let sender = number(&text[..colon])? as usize;
    let seq = number(&text[colon + 1..])? as usize;
    let known = sender < names.len() && seq < m && names[sender].as_bytes() == name;
    known.then_some((sender * m + seq) as u32)
}

/// Each client got every other client's messages exactly once, in the order they were sent,
/// and none of its own: per sender the sequence numbers must come as 0, 1, ..., M-1.
fn check_each_sender(lists: &[Vec<u32>], m: usize) -> Result<(), String> {
    let m = m as u32;
    for (receiver, list) in lists.iter().enumerate() {
        let mut next = vec![0u32; lists.len()];
        for &id in list {
            let (sender, seq) = ((id / m) as usize, id % m);
            if sender == receiver {
                return Err(format!("client {receiver} got its own message {seq}"));
            }
            if seq != next[sender] {
                return Err(format!(
                    "client {receiver} got message {seq} of client {sender} when {} was next",
                    next[sender]
                ));
            }
            next[sender] += 1;
        }
        if let Some(sender) = (0..lists.len()).find(|&s| s != receiver && next[s] != m) {
            return Err(format!(
                "client {receiver} got {} of the {m} messages of client {sender}",
                next[sender]
            ));
        }
    }
    Ok(())
}

/// All clients saw the messages in one global order. Receiver R and a reference F (clients 0,
/// 1 and 2) must agree on every message both received: R's list without F's messages equals
/// F's list without R's. Any two messages come from at most two senders, so with each receiver
/// compared to each of three references, every two receivers of both agree on their order
/// (directly or through a reference). With four or more clients, any three messages also have a
/// common receiver, which rules out a cycle a < b < c < a: the pairwise orders form one total
/// order. Cost O(N * total), not O(total^2).
fn check_one_order(lists: &[Vec<u32>], m: usize) -> Result<(), String> {
    let m = m as u32;
    let sender = |id: &u32| (id / m) as usize;
    for (receiver, list) in lists.iter().enumerate() {
        for reference in (0..3).filter(|&f| f != receiver) {
            let mine = list.iter().filter(|id| sender(id) != reference);
            let theirs = lists[reference].iter().filter(|id| sender(id) != receiver);
            if !mine.eq(theirs) {
                return Err(format!(
                    "clients {receiver} and {reference} saw messages in different orders"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lists four receivers see when all messages pass in `order` (ids, m = 2).
    fn delivered(order: &[u32], m: u32) -> Vec<Vec<u32>> {
        (0..4)
            .map(|r| order.iter().copied().filter(|id| id / m != r).collect())
            .collect()
    }

    #[test]
    fn one_global_order_passes_both_checks() {
        let order = [0, 2, 4, 1, 6, 3, 7, 5];
        let lists = delivered(&order, 2);
        assert_eq!(check_each_sender(&lists, 2), Ok(()));
        assert_eq!(check_one_order(&lists, 2), Ok(()));
    }

    #[test]
    fn two_receivers_disagreeing_fail_the_order_check() {
        let mut lists = delivered(&[0, 2, 4, 1, 6, 3, 7, 5], 2);
        // Receiver 3 sees sender 0's first message after sender 1's (ids 0 and 2 swapped).
        let at = |list: &Vec<u32>, id| list.iter().position(|&x| x == id).unwrap();
        let (a, b) = (at(&lists[3], 0), at(&lists[3], 2));
        lists[3].swap(a, b);
        assert_eq!(check_each_sender(&lists, 2), Ok(()));
        assert!(check_one_order(&lists, 2).is_err());
    }

    #[test]
    fn a_lost_or_reordered_message_fails_the_sender_check() {
        let mut lists = delivered(&[0, 1, 2, 3, 4, 5, 6, 7], 2);
        lists[2].swap(0, 1); // sender 0's messages 1 before 0
        assert!(check_each_sender(&lists, 2).is_err());
    }

    #[test]
    fn message_lines_parse_only_with_the_right_name() {
        let names: Vec<String> = ["u0", "u1"].map(String::from).to_vec();
        assert_eq!(message_id(b"u1: b:1:3", &names, 5), Some(8));
        assert_eq!(message_id(b"u0: b:1:3", &names, 5), None);
        assert_eq!(message_id(b"u1: b:1:5", &names, 5), None);
        assert_eq!(message_id(b"[JOIN]:u1", &names, 5), None);
    }
}
