//! idle: K clients join and stay quiet. Timed: how long the K joins take (a few joiner threads,
//! each waiting for its `[WELCOME]` before the next connect), and until every client has heard
//! of all the others (settled). Then the server's memory (`VmRSS`) per connection and its thread
//! count, and the time a message takes between two fresh clients.
//!
//! Every join is broadcast to everyone joined, so the idle clients must be read all along: a
//! client that falls `--send-queue` bytes behind is dropped. A few drainer threads sweep the
//! non-blocking sockets, pausing between sweeps so they leave the CPU to the server.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::conn::{Conn, about_ours, show, users_listed};
use crate::readings::{MEASURED, own_cpu_seconds, proc_status, spent};
use crate::report::{Rep, median};
use crate::target::Running;

const JOIN_TIME: Duration = Duration::from_secs(300);
const SETTLE_TIME: Duration = Duration::from_secs(120);
const RELAY_TIME: Duration = Duration::from_secs(10);
/// Threads that connect and join clients, one client at a time each.
const JOINERS: usize = 4;
/// Threads that read the idle clients' sockets.
const DRAINERS: usize = 2;
/// Pause between two sweeps over a drainer's sockets.
const SWEEP_PAUSE: Duration = Duration::from_millis(20);
/// An idle client's read buffer: it grows for the long `[USERS]` line.
const IDLE_BUFFER: usize = 4 * 1024;
/// How often a long phase says how far it got.
const PROGRESS: Duration = Duration::from_secs(10);
/// Messages timed between the two fresh clients, after one that warms up.
const PINGS: usize = 5;

/// What the joiners and drainers share with the run.
#[derive(Default)]
struct Shared {
    /// Clients that have heard of all K-1 others.
    settled: AtomicUsize,
    /// The first thing that went wrong.
    failure: Mutex<Option<String>>,
    stop: AtomicBool,
}

impl Shared {
    fn fail(&self, why: String) {
        let mut failure = self.failure.lock().unwrap_or_else(|e| e.into_inner());
        failure.get_or_insert(why);
    }

    fn failure(&self) -> Option<String> {
        self.failure
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// One idle client and how many other users it has heard of.
struct Idle {
    conn: Conn,
    name: String,
    /// Names of this run's clients start with it (a running server may have other users).
    tag: Arc<str>,
    others: usize,
}

impl Idle {
    /// Takes the whole lines read so far; counts the client as settled once it has heard of
    /// `k - 1` others.
    fn take_lines(&mut self, k: usize, shared: &Shared) -> Result<(), String> {
        let before = self.others;
        while let Some(line) = self.conn.buffered_line() {
            if let Some(listed) = users_listed(line, &self.tag) {
                self.others += listed.saturating_sub(1);
            } else if about_ours(line, "[JOIN]:", &self.tag) {
                self.others += 1;
            } else if about_ours(line, "[LEAVE]:", &self.tag) || line.starts_with(b"[ERROR]:") {
                // Nobody of this run leaves unless the server drops someone.
                return Err(format!("idle client {} got {}", self.name, show(line)));
            }
            // Anything else is the fresh clients' messages, broadcast to everyone, or users of
            // other runs.
        }
        if before < k - 1 && self.others >= k - 1 {
            shared.settled.fetch_add(1, Ordering::SeqCst);
        }
        Ok(())
    }
}

/// `fd_limit` is the bench's open-file limit, `None` where it cannot be read.
pub fn run(
    server: &mut Running,
    k: usize,
    tag: &str,
    fd_limit: Option<u64>,
) -> Result<Rep, String> {
    // The bench holds one descriptor per client; a server it started (with the same limit)
    // holds three: the socket and two clones, for its list and for the writer.
    let per_client = if server.pid().is_some() { 3 } else { 1 };
    let need = per_client * (k as u64 + 2) + 64;
    if let Some(limit) = fd_limit
        && limit < need
    {
        return Err(format!(
            "the open-file limit is {limit}; {k} idle clients need about {need}"
        ));
    }
    let pid = server.pid();
    let rss_before = pid.and_then(|p| proc_status(p, "VmRSS"));
    let shared = Arc::new(Shared::default());

    let mut to_drainers = Vec::new();
    let mut drainers = Vec::new();
    for d in 0..DRAINERS {
        let (to_drainer, joined) = mpsc::channel();
        let shared = Arc::clone(&shared);
        let drainer = thread::Builder::new()
            .name(format!("drainer-{d}"))
            .spawn(move || drain(joined, k, &shared))
            .map_err(|e| format!("cannot start a drainer: {e}"))?;
        to_drainers.push(to_drainer);
        drainers.push(drainer);
    }

    let (cpu_before, server_before) = (own_cpu_seconds(), server.cpu_seconds());
    let started = Instant::now();
    let joined = join_all(server, k, tag, &shared, &to_drainers, started + JOIN_TIME);
    let joins_secs = started.elapsed().as_secs_f64();
    drop(to_drainers);
    let settled = joined.and_then(|()| await_settled(k, &shared, Instant::now() + SETTLE_TIME));
    let settle_secs = started.elapsed().as_secs_f64();
    let (cpu_after, server_after) = (own_cpu_seconds(), server.cpu_seconds());
    let rss_after = pid.and_then(|p| proc_status(p, "VmRSS"));
    let threads = pid.and_then(|p| proc_status(p, "Threads"));
    // The fresh clients stay until the end: their leaving would look like a drop to the others.
    let relay = settled.and_then(|()| relay_times(server, k, tag));

    shared.stop.store(true, Ordering::SeqCst);
    let idle: Vec<Idle> = drainers
        .into_iter()
        .flat_map(|d| d.join().unwrap_or_default())
        .collect();
    // Stop the server before the clients close, or it would broadcast K leaves to no purpose.
    server.stop();
    drop(idle);
    if let Some(failure) = shared.failure() {
        return Err(failure);
    }
    let (relay, _fresh) = relay?;

    let relay_ms = median(&relay).unwrap_or(0.0);
    let relay_max_ms = relay.iter().copied().fold(0.0, f64::max);
    let mut rep = Rep::new(format!(
        "{k} clients joined in {joins_secs:.2} s, all settled in {settle_secs:.2} s; \
         relay between two fresh clients {relay_ms:.2} ms (median of {PINGS}, max \
         {relay_max_ms:.2} ms)"
    ));
    rep.figure("joins_secs", joins_secs, 3);
    rep.figure("settle_secs", settle_secs, 3);
    match (rss_before, rss_after, threads) {
        (Some(before), Some(after), Some(threads)) => {
            let per_conn = after.saturating_sub(before) as f64 / k as f64;
            rep.figure("rss_before_kib", before as f64, 0);
            rep.figure("rss_after_kib", after as f64, 0);
            rep.figure("kib_per_conn", per_conn, 1);
            rep.figure("threads", threads as f64, 0);
            rep.human += &format!(
                "; server RSS {before} -> {after} KiB = {per_conn:.1} KiB per connection, \
                 {threads} threads"
            );
        }
        _ => {
            for key in ["rss_before_kib", "rss_after_kib", "kib_per_conn", "threads"] {
                rep.missing(key);
            }
            let why = match pid {
                None => "a server the bench did not start",
                Some(_) if !MEASURED => "not measured on this platform",
                Some(_) => "its /proc/PID/status could not be read",
            };
            rep.human += &format!("; server memory and threads not read ({why})");
        }
    }
    rep.figure("relay_ms", relay_ms, 3);
    rep.figure("relay_max_ms", relay_max_ms, 3);
    rep.figure_or_missing("bench_cpu_s", spent(cpu_before, cpu_after), 3);
    rep.figure_or_missing("server_cpu_s", spent(server_before, server_after), 3);
    Ok(rep)
}

/// Joins `k` idle clients from `JOINERS` threads and hands each to a drainer.
fn join_all(
    server: &Running,
    k: usize,
    tag: &str,
    shared: &Shared,
    to_drainers: &[Sender<Idle>],
    deadline: Instant,
) -> Result<(), String> {
    let (next, joined) = (AtomicUsize::new(0), AtomicUsize::new(0));
    let tag: Arc<str> = tag.into();
    let started = Instant::now();
    thread::scope(|scope| {
        for _ in 0..JOINERS {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= k || shared.failure().is_some() {
                        return;
                    }
                    let name = format!("{tag}{i}");
                    let result = Conn::join_with(server.addr, &name, deadline, IDLE_BUFFER)
                        .and_then(|conn| {
                            let mut idle = Idle {
                                conn,
                                name,
                                tag: Arc::clone(&tag),
                                others: 0,
                            };
                            idle.take_lines(k, shared)?;
                            idle.conn
                                .stream
                                .set_nonblocking(true)
                                .map_err(|e| e.to_string())?;
                            Ok(idle)
                        });
                    match result {
                        Ok(idle) => {
                            let _ = to_drainers[i % to_drainers.len()].send(idle);
                            joined.fetch_add(1, Ordering::SeqCst);
                        }
                        Err(why) => shared.fail(format!("joining client {i}: {why}")),
                    }
                }
            });
        }
        // A slow server takes minutes here: say how far it got now and then.
        let mut said = Instant::now();
        while joined.load(Ordering::SeqCst) < k && shared.failure().is_none() {
            thread::sleep(Duration::from_millis(50));
            if said.elapsed() >= PROGRESS {
                said = Instant::now();
                let (joined, secs) = (joined.load(Ordering::SeqCst), started.elapsed().as_secs());
                eprintln!("chat-bench: idle: {joined} of {k} clients joined after {secs} s");
            }
        }
    });
    match shared.failure() {
        Some(failure) => Err(format!(
            "after {:.0} s, {} of {k} clients had joined: {failure}{}",
            started.elapsed().as_secs_f64(),
            joined.load(Ordering::SeqCst),
            server.warnings()
        )),
        None => Ok(()),
    }
}

/// Waits until every idle client has heard of all the others (the server has delivered the
/// whole storm of joins).
fn await_settled(k: usize, shared: &Shared, deadline: Instant) -> Result<(), String> {
    loop {
        if let Some(failure) = shared.failure() {
            return Err(failure);
        }
        let settled = shared.settled.load(Ordering::SeqCst);
        if settled >= k {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "only {settled} of {k} idle clients heard of all others"
            ));
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// A drainer: sweeps its clients' sockets until told to stop, then hands the clients back.
fn drain(joined: mpsc::Receiver<Idle>, k: usize, shared: &Shared) -> Vec<Idle> {
    let mut clients: Vec<Idle> = Vec::new();
    loop {
        clients.extend(joined.try_iter());
        for client in &mut clients {
            loop {
                match client.conn.fill() {
                    Ok(true) => {
                        if let Err(why) = client.take_lines(k, shared) {
                            shared.fail(why);
                            break;
                        }
                    }
                    Ok(false) => break,
                    Err(why) => {
                        shared.fail(format!("idle client {}: {why}", client.name));
                        break;
                    }
                }
            }
        }
        if shared.stop.load(Ordering::SeqCst) {
            return clients;
        }
        thread::sleep(SWEEP_PAUSE);
    }
}

/// Joins two fresh clients A and B and times messages from A to B, in ms: one to warm up, then
/// `PINGS`. Each is also broadcast to the K idle clients, B last (the newest). Returns the
/// times and the two clients.
fn relay_times(server: &Running, k: usize, tag: &str) -> Result<(Vec<f64>, [Conn; 2]), String> {
    let deadline = Instant::now() + RELAY_TIME;
    let (a_name, b_name) = (format!("{tag}a"), format!("{tag}b"));
    let mut a = Conn::join(server.addr, &a_name, deadline)?;
    let mut b = Conn::join(server.addr, &b_name, deadline)?;
    a.await_others(tag, k + 1, deadline)?;
    b.await_others(tag, k + 1, deadline)?;
    let mut times = Vec::with_capacity(PINGS);
    for ping in 0..=PINGS {
        let expected = format!("{a_name}: p:{ping}");
        let sent = Instant::now();
        a.send(format!("p:{ping}\n").as_bytes())?;
        let line = b.line(deadline)?;
        let took = sent.elapsed().as_secs_f64() * 1e3;
        if line != expected.as_bytes() {
            return Err(format!("{b_name} got {} for {expected:?}", show(line)));
        }
        if ping > 0 {
            times.push(took);
        }
    }
    Ok((times, [a, b]))
}
