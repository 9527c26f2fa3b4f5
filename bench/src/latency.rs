//! latency: N clients join; one of them sends at a fixed rate (paced by an absolute schedule,
//! so it never drifts), each message carrying its send time in microseconds since an `Instant`
//! shared by the whole bench. The other N-1 note, for each message, when it arrived. After a
//! warm-up, every one-way latency of every receiver counts: p50, p99 and max over all of them.
//! Checked: every receiver got every message, in order.

use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::conn::{Conn, number, show};
use crate::gate::Gate;
use crate::readings::{own_cpu_seconds, spent};
use crate::report::{Rep, percentile};
use crate::target::Running;

const JOIN_TIME: Duration = Duration::from_secs(60);
/// How long after the last send the receivers may still wait for it.
const DRAIN_TIME: Duration = Duration::from_secs(10);
const STACK: usize = 128 * 1024;

/// What the run does: `clients` in all (one sender), `rate` messages a second.
pub struct Plan {
    pub clients: usize,
    pub rate: u32,
    pub warmup: Duration,
    pub duration: Duration,
}

pub fn run(server: &Running, plan: &Plan, tag: &str) -> Result<Rep, String> {
    let n = plan.clients;
    let names: Vec<String> = (0..n).map(|i| format!("{tag}{i}")).collect();
    let deadline = Instant::now() + JOIN_TIME;
    let mut conns = Vec::with_capacity(n);
    for name in &names {
        conns.push(Conn::join(server.addr, name, deadline)?);
    }
    let interval = Duration::from_secs(1) / plan.rate;
    let warm = (plan.warmup.as_secs_f64() * f64::from(plan.rate)) as u32;
    let total = warm + (plan.duration.as_secs_f64() * f64::from(plan.rate)) as u32;
    let epoch = Instant::now();
    let receive_by = deadline + plan.warmup + plan.duration + DRAIN_TIME;

    let mut sender = conns.remove(0);
    let sender_name = Arc::new(names[0].clone());
    let gate = Arc::new(Gate::new(n - 1));
    let mut threads = Vec::with_capacity(n - 1);
    for (i, conn) in conns.into_iter().enumerate() {
        let (gate, from) = (Arc::clone(&gate), Arc::clone(&sender_name));
        let receiver = Receiver {
            conn,
            tag: tag.to_string(),
            from,
            warm,
            total,
            epoch,
        };
        let thread = thread::Builder::new()
            .name(format!("latency-{i}"))
            .stack_size(STACK)
            .spawn(move || receiver.run(n, &gate, deadline, receive_by))
            .map_err(|e| format!("cannot start a client thread: {e}"))?;
        threads.push(thread);
    }

    let ready = sender.await_others(tag, n - 1, deadline);
    let (cpu_before, server_before) = (own_cpu_seconds(), server.cpu_seconds());
    let lag = gate
        .open(&ready, deadline)
        .and_then(|start| send_paced(&mut sender, interval, total, epoch, start));
    let results: Vec<Result<(Vec<u32>, Conn), String>> = threads
        .into_iter()
        .map(|t| {
            t.join()
                .unwrap_or_else(|_| Err("a client thread panicked".into()))
        })
        .collect();
    let (cpu_after, server_after) = (own_cpu_seconds(), server.cpu_seconds());
    let lag = lag?;
    let mut latencies = Vec::with_capacity((n - 1) * (total - warm) as usize);
    let mut conns = Vec::with_capacity(n - 1);
    for result in results {
        let (mine, conn) = result?;
        latencies.extend(mine);
        conns.push(conn);
    }
    drop(conns);
    latencies.sort_unstable();
    let (p50, p99) = (percentile(&latencies, 50.0), percentile(&latencies, 99.0));
    let max = latencies.last().copied().unwrap_or(0);

    let mut rep = Rep::new(format!(
        "{} one-way latencies: p50 {p50} us, p99 {p99} us, max {max} us (sender at most \
         {lag} us behind its schedule); every message reached all {} receivers in order",
        latencies.len(),
        n - 1
    ));
    rep.figure("samples", latencies.len() as f64, 0);
    rep.figure("p50_us", f64::from(p50), 0);
    rep.figure("p99_us", f64::from(p99), 0);
    rep.figure("max_us", f64::from(max), 0);
    rep.figure("send_lag_max_us", lag as f64, 0);
    rep.figure_or_missing("bench_cpu_s", spent(cpu_before, cpu_after), 3);
    rep.figure_or_missing("server_cpu_s", spent(server_before, server_after), 3);
    Ok(rep)
}

/// Sends `total` messages, message i at `start + i * interval` (or at once when behind): a
/// late send does not push the later ones back. Returns how far behind schedule it got, in us.
fn send_paced(
    conn: &mut Conn,
    interval: Duration,
    total: u32,
    epoch: Instant,
    start: Instant,
) -> Result<u64, String> {
    let mut worst = Duration::ZERO;
    for seq in 0..total {
        let due = start + interval * seq;
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        }
        let sent = epoch.elapsed();
        worst = worst.max((epoch + sent).saturating_duration_since(due));
        conn.send(format!("t:{seq}:{}\n", sent.as_micros()).as_bytes())?;
    }
    Ok(worst.as_micros() as u64)
}

struct Receiver {
    conn: Conn,
    tag: String,
    from: Arc<String>,
    /// Messages `0..warm` are the warm-up: received and checked, not counted.
    warm: u32,
    total: u32,
    epoch: Instant,
}

impl Receiver {
    /// Waits for the others to join and the start, then reads every message; returns the
    /// latencies (us) of those after the warm-up, and the connection (it stays open until all
    /// are done).
    fn run(
        mut self,
        clients: usize,
        gate: &Gate,
        join_by: Instant,
        receive_by: Instant,
    ) -> Result<(Vec<u32>, Conn), String> {
        let ready = self.conn.await_others(&self.tag, clients - 1, join_by);
        gate.wait(&ready)?;
        let mut latencies = Vec::with_capacity((self.total - self.warm) as usize);
        let mut next = 0;
        while next < self.total {
            self.conn
                .fill_before(receive_by)
                .map_err(|e| format!("{e} after {next} of {} messages", self.total))?;
            // Every line in this read arrived now.
            let now = self.epoch.elapsed().as_micros() as u64;
            while next < self.total {
                let Some(line) = self.conn.buffered_line() else {
                    break;
                };
                let (seq, sent) = parse(line, &self.from)
                    .ok_or_else(|| format!("unexpected line {}", show(line)))?;
                if seq != next {
                    return Err(format!("message {seq} came when {next} was next"));
                }
                if seq >= self.warm {
                    latencies.push(now.saturating_sub(sent) as u32);
                }
                next += 1;
            }
        }
        Ok((latencies, self.conn))
    }
}

/// The sequence number and send time of a line `<from>: t:<seq>:<micros>`.
fn parse(line: &[u8], from: &str) -> Option<(u32, u64)> {
    let text = line.strip_prefix(from.as_bytes())?.strip_prefix(b": t:")?;
    let colon = text.iter().position(|&b| b == b':')?;
    let seq = u32::try_from(number(&text[..colon])?).ok()?;
    Some((seq, number(&text[colon + 1..])?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timed_lines_parse_only_from_the_sender() {
        assert_eq!(parse(b"s0: t:12:3456", "s0"), Some((12, 3456)));
        assert_eq!(parse(b"s1: t:12:3456", "s0"), None);
        assert_eq!(parse(b"s0: t:12", "s0"), None);
        assert_eq!(parse(b"[LEAVE]:s0", "s0"), None);
    }
}
