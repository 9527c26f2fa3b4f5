//! `chat-bench`: the load generator behind `make bench`. It starts the release `chat-server`
//! (one fresh process per run, on port 0) or talks to a running one, runs four cases over
//! loopback (fanout, latency, idle, file) at the sizes the performance targets are set for,
//! prints one `key=value` line and one line for people per run, and at the end a table of
//! medians against the targets. It exits non-zero when any correctness check fails or anything
//! times out. See docs/PERFORMANCE.md.
//!
//! With `--tls` (feature `tls`, `make bench-tls`) it runs the fanout and file cases twice per
//! rep, over plain TCP and over TLS, each on a fresh server, and ends with TLS's cost: the
//! plain median over the TLS median of the same run.
//!
//! The bench builds anywhere std does; its readings of CPU time, memory and threads are taken on
//! Linux only (readings.rs), and print `n/a` elsewhere.

// Only readings.rs's calls into the C library need unsafe code, and say so there.
#![deny(unsafe_code)]

mod conn;
mod fanout;
mod file;
mod gate;
mod idle;
mod latency;
mod readings;
mod report;
mod target;
#[cfg(feature = "tls")]
mod tls;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use getopts::Options;

use report::{Goal, Rep, Row};
use target::{Running, Target};

const USAGE: &str = "Usage: chat-bench [options]

Starts chat-server on a free loopback port for each run and measures it: fanout, latency,
idle and file (see docs/PERFORMANCE.md). Prints a key=value line and a line for people per
run, then a table of medians. Exits 1 when a correctness check fails, 2 on bad options.";

/// Failed runs after which a case is given up.
const MAX_FAILURES: usize = 2;
/// The case families, as `--case` names them.
const FAMILIES: [&str; 4] = ["fanout", "latency", "idle", "file"];

fn options() -> Options {
    let mut opts = Options::new();
    opts.optopt(
        "",
        "server",
        "chat-server binary to start (default: the one next to chat-bench)",
        "PATH",
    );
    opts.optopt(
        "H",
        "host",
        "measure a running server on HOST (a loopback address) instead of starting one",
        "HOST",
    );
    opts.optopt(
        "p",
        "port",
        "port of the running server (default 12345)",
        "PORT",
    );
    opts.optopt("", "reps", "runs of each case (default 3)", "N");
    opts.optflag(
        "",
        "quick",
        "small sizes and one run: a smoke test of the bench and the server",
    );
    opts.optopt(
        "",
        "case",
        "run only these cases, comma-separated: fanout, latency, idle, file (default all)",
        "NAMES",
    );
    opts.optopt(
        "",
        "fanout",
        "fanout sizes instead of 50:200,200:20,1000:4 (e.g. to see how the cost grows)",
        "N:M,...",
    );
    opts.optopt("", "idle", "idle clients instead of 5000", "K");
    opts.optflag(
        "",
        "tls",
        "run fanout and file over plain TCP and over TLS, side by side, and print TLS's cost \
         (needs chat-bench and chat-server built with --features tls: make bench-tls)",
    );
    opts.optflag("h", "help", "print this help and exit");
    opts
}

/// What the command line asks for.
struct Settings {
    target: Target,
    reps: usize,
    cases: Vec<Case>,
    /// Run each case over TLS too, next to the plain run.
    tls: bool,
}

/// The families `--tls` runs over TLS: the ones that move the most bytes.
const TLS_FAMILIES: [&str; 2] = ["fanout", "file"];

/// One case at one size.
enum Case {
    Fanout { n: usize, m: usize },
    Latency(latency::Plan),
    Idle { k: usize },
    File { receivers: usize, size: usize },
}

impl Case {
    /// The cases at the sizes the targets are set for, or the small ones of `--quick`.
    fn all(quick: bool) -> Vec<Case> {
        let latency = |warmup, duration| {
            Case::Latency(latency::Plan {
                clients: 50,
                rate: 2000,
                warmup,
                duration,
            })
        };
        if quick {
            return vec![
                Case::Fanout { n: 10, m: 20 },
                latency(Duration::from_millis(100), Duration::from_millis(500)),
                Case::Idle { k: 50 },
                Case::File {
                    receivers: 4,
                    size: 1 << 20,
                },
            ];
        }
        vec![
            Case::Fanout { n: 50, m: 200 },
            Case::Fanout { n: 200, m: 20 },
            Case::Fanout { n: 1000, m: 4 },
            latency(Duration::from_secs(1), Duration::from_secs(5)),
            Case::Idle { k: 5000 },
            Case::File {
                receivers: 4,
                size: 16 << 20,
            },
        ]
    }

    fn family(&self) -> &'static str {
        match self {
            Case::Fanout { .. } => "fanout",
            Case::Latency(_) => "latency",
            Case::Idle { .. } => "idle",
            Case::File { .. } => "file",
        }
    }

    /// The sizes, as `key=value` pairs.
    fn params(&self) -> Vec<(&'static str, String)> {
        match self {
            Case::Fanout { n, m } => vec![("n", n.to_string()), ("m", m.to_string())],
            Case::Latency(plan) => vec![
                ("n", plan.clients.to_string()),
                ("rate", plan.rate.to_string()),
                ("secs", format!("{}", plan.duration.as_secs_f64())),
            ],
            Case::Idle { k } => vec![("k", k.to_string())],
            Case::File { receivers, size } => {
                vec![
                    ("receivers", receivers.to_string()),
                    ("bytes", size.to_string()),
                ]
            }
        }
    }

    fn title(&self) -> String {
        match self {
            Case::Fanout { n, m } => format!("fanout N={n} M={m}"),
            Case::Latency(plan) => format!("latency N={} at {}/s", plan.clients, plan.rate),
            Case::Idle { k } => format!("idle K={k}"),
            Case::File { receivers, size } => {
                format!("file {} MiB to {receivers}", size >> 20)
            }
        }
    }

    /// Connections the case opens at most.
    fn connections(&self) -> usize {
        match self {
            Case::Fanout { n, .. } => *n,
            Case::Latency(plan) => plan.clients,
            Case::Idle { k } => k + 2,
            Case::File { receivers, .. } => receivers + 1,
        }
    }

    fn run(&self, server: &mut Running, tag: &str, fd_limit: Option<u64>) -> Result<Rep, String> {
        match self {
            Case::Fanout { n, m } => fanout::run(server, *n, *m, tag),
            Case::Latency(plan) => latency::run(server, plan, tag),
            Case::Idle { k } => idle::run(server, *k, tag, fd_limit),
            Case::File { receivers, size } => file::run(server, *receivers, *size, tag),
        }
    }

    /// The figure that says how fast the case went (higher is faster), for TLS's cost.
    fn speed(&self) -> Option<&'static str> {
        match self {
            Case::Fanout { .. } => Some("deliveries_per_sec"),
            Case::File { .. } => Some("mb_s_min"),
            Case::Latency(_) | Case::Idle { .. } => None,
        }
    }

    /// The figures in the final table, each with its target when the case runs at the sizes
    /// that target is set for (docs/PERFORMANCE.md); at other sizes, or over TLS, a figure has
    /// none.
    fn rows_over(&self, tls: bool) -> Vec<Row> {
        let mut rows = self.rows();
        if tls {
            for row in &mut rows {
                row.goal = Goal::None;
            }
        }
        rows
    }

    fn rows(&self) -> Vec<Row> {
        use report::{count, kib, mb_per_s, micros, millions, millis, percent, seconds};
        let row = |key, what, show, goal| Row {
            key,
            what,
            show,
            goal,
        };
        match self {
            Case::Fanout { n, m } => {
                let goal = match (n, m) {
                    (50, 200) => Goal::AtLeast(14e6),
                    (200, 20) => Goal::AtLeast(12e6),
                    _ => Goal::None,
                };
                vec![
                    row("deliveries_per_sec", "deliveries/s", millions, goal),
                    row("bench_cpu_pct", "bench's share of CPU", percent, Goal::None),
                ]
            }
            Case::Latency(plan) => {
                let target_sizes = plan.clients == 50 && plan.rate == 2000;
                let goal = |goal| if target_sizes { goal } else { Goal::None };
                vec![
                    row("p50_us", "one-way p50", micros, Goal::None),
                    row("p99_us", "one-way p99", micros, goal(Goal::AtMost(900.0))),
                    row("max_us", "one-way max", micros, goal(Goal::Below(5000.0))),
                ]
            }
            Case::Idle { k } => {
                let goal = |goal| if *k == 5000 { goal } else { Goal::None };
                vec![
                    row(
                        "kib_per_conn",
                        "RSS per connection",
                        kib,
                        goal(Goal::AtMost(24.0)),
                    ),
                    row("threads", "server threads", count, Goal::None),
                    row(
                        "joins_secs",
                        "time to join all",
                        seconds,
                        goal(Goal::AtMost(10.0)),
                    ),
                    row(
                        "settle_secs",
                        "time until all heard all",
                        seconds,
                        Goal::None,
                    ),
                    row(
                        "relay_ms",
                        "relay between 2 fresh",
                        millis,
                        goal(Goal::Below(5.0)),
                    ),
                ]
            }
            Case::File { receivers, size } => {
                let target_sizes = *receivers == 4 && *size == 16 << 20;
                let goal = if target_sizes {
                    Goal::AtLeast(800.0)
                } else {
                    Goal::None
                };
                vec![row("mb_s_min", "MB/s, slowest receiver", mb_per_s, goal)]
            }
        }
    }
}

fn parse(args: &[String]) -> Result<Option<Settings>, String> {
    let matches = options().parse(args).map_err(|e| e.to_string())?;
    if matches.opt_present("help") {
        return Ok(None);
    }
    if let Some(extra) = matches.free.first() {
        return Err(format!("unexpected argument '{extra}'"));
    }
    let quick = matches.opt_present("quick");
    let reps = match matches.opt_str("reps") {
        None if quick => 1,
        None => 3,
        Some(text) => match text.parse() {
            Ok(n) if n >= 1 => n,
            _ => {
                return Err(format!(
                    "--reps: '{text}' is not a number of runs (1 or more)"
                ));
            }
        },
    };
    let mut cases = Case::all(quick);
    if let Some(sizes) = matches.opt_str("fanout") {
        let sizes = fanout_sizes(&sizes)
            .ok_or_else(|| format!("--fanout: '{sizes}' is not N:M,... with N >= 4, M >= 1"))?;
        let at = cases
            .iter()
            .position(|c| c.family() == "fanout")
            .unwrap_or(0);
        cases.retain(|c| c.family() != "fanout");
        let fanouts = sizes.into_iter().map(|(n, m)| Case::Fanout { n, m });
        cases.splice(at..at, fanouts);
    }
    if let Some(text) = matches.opt_str("idle") {
        let k = match text.parse() {
            Ok(k) if k >= 1 => k,
            _ => return Err(format!("--idle: '{text}' is not a number of clients")),
        };
        for case in &mut cases {
            if let Case::Idle { k: idle } = case {
                *idle = k;
            }
        }
    }
    if let Some(names) = matches.opt_str("case") {
        let wanted: Vec<&str> = names.split(',').map(str::trim).collect();
        if let Some(bad) = wanted.iter().find(|w| !FAMILIES.contains(w)) {
            return Err(format!(
                "--case: unknown case '{bad}' (cases: {})",
                FAMILIES.join(", ")
            ));
        }
        cases.retain(|case| wanted.contains(&case.family()));
    }

    let tls = matches.opt_present("tls");
    if tls {
        if !cfg!(feature = "tls") {
            return Err("--tls: this chat-bench was built without TLS (make bench-tls)".into());
        }
        cases.retain(|case| TLS_FAMILIES.contains(&case.family()));
        if cases.is_empty() {
            return Err(format!("--tls runs only {}", TLS_FAMILIES.join(" and ")));
        }
    }

    let attach = matches.opt_present("host") || matches.opt_present("port");
    let target = if attach {
        if tls {
            return Err("--tls starts its servers; it cannot measure a running one".into());
        }
        if matches.opt_present("server") {
            return Err("--server starts a server; --host/--port measure a running one".into());
        }
        let host = matches.opt_str("host").unwrap_or("127.0.0.1".into());
        let port = match matches.opt_str("port") {
            None => 12345,
            Some(text) => text
                .parse::<u16>()
                .map_err(|_| format!("--port: '{text}' is not a port number"))?,
        };
        Target::Attach {
            addr: loopback(&host, port)?,
        }
    } else {
        let server = match matches.opt_str("server") {
            Some(path) => PathBuf::from(path),
            None => beside_this_binary("chat-server")?,
        };
        let max_clients = cases.iter().map(Case::connections).max().unwrap_or(0);
        Target::Spawn {
            server,
            // Room for the largest case, and never below the server's own default.
            max_clients: (max_clients + 64).max(1024),
        }
    };
    Ok(Some(Settings {
        target,
        reps,
        cases,
        tls,
    }))
}

/// Sizes given as `N:M,N:M`; the order check needs N >= 4.
fn fanout_sizes(text: &str) -> Option<Vec<(usize, usize)>> {
    text.split(',')
        .map(|size| {
            let (n, m) = size.trim().split_once(':')?;
            let (n, m) = (n.parse().ok()?, m.parse().ok()?);
            // Message ids are `sender * m + seq` in a u32.
            let fits = (n as u64) * (m as u64) <= u64::from(u32::MAX);
            (n >= 4 && m >= 1 && fits).then_some((n, m))
        })
        .collect()
}

/// The address of `host:port`, which must be a loopback one: the figures are for loopback.
fn loopback(host: &str, port: u16) -> Result<SocketAddr, String> {
    let addr = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("--host: '{host}': {e}"))?
        .next()
        .ok_or_else(|| format!("--host: '{host}' has no address"))?;
    if !addr.ip().is_loopback() {
        return Err(format!("--host: {host} is not a loopback address"));
    }
    Ok(addr)
}

/// `name` in the folder of this executable (`target/release/chat-server` beside the bench).
fn beside_this_binary(name: &str) -> Result<PathBuf, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find chat-bench: {e}"))?;
    Ok(exe.with_file_name(name))
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let settings = match parse(&args) {
        Ok(Some(settings)) => settings,
        Ok(None) => {
            print!("{}", options().usage(USAGE));
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("chat-bench: {error}");
            return ExitCode::from(2);
        }
    };
    // Before the server starts, so that it inherits the raised limit.
    let fd_limit = readings::raise_open_file_limit();
    match &settings.target {
        Target::Spawn { server, .. } => {
            println!("# server: {} (started per run)", server.display())
        }
        Target::Attach { addr } => {
            println!("# server: running at {addr}; its memory, threads and CPU are not read")
        }
    }
    if !readings::MEASURED {
        println!("# CPU time, server memory and threads, open-file limit: not measured here");
    }

    let mut failed = false;
    let mut results = Vec::new();
    let mut costs = Vec::new();
    let mut run_count = 0;
    // Over TLS too, each rep runs plain then TLS: both see the same state of the machine.
    let transports: &[bool] = if settings.tls {
        &[false, true]
    } else {
        &[false]
    };
    for case in &settings.cases {
        let mut outcomes: Vec<(Vec<Rep>, usize)> =
            transports.iter().map(|_| (Vec::new(), 0)).collect();
        for rep in 1..=settings.reps {
            for (&tls, (reps, failures)) in transports.iter().zip(&mut outcomes) {
                if *failures == MAX_FAILURES {
                    continue;
                }
                run_count += 1;
                match run_and_print(case, &settings, run_count, fd_limit, tls, rep) {
                    Some(outcome) => reps.push(outcome),
                    None => {
                        *failures += 1;
                        // Once more tells whether it was a fluke; a case broken for good
                        // would only break again, after its timeouts.
                        if *failures == MAX_FAILURES {
                            println!(
                                "  {}: {MAX_FAILURES} runs failed; no more runs",
                                title(case, tls)
                            );
                        }
                    }
                }
            }
        }
        for (&tls, (reps, failures)) in transports.iter().zip(outcomes) {
            failed |= failures > 0;
            results.push((title(case, tls), case.rows_over(tls), reps));
        }
        if settings.tls {
            costs.push(tls_cost(case, &results[results.len() - 2..]));
        }
    }
    println!();
    println!("Medians over {} runs per case:", settings.reps);
    report::print_table(&results);
    if settings.tls {
        println!();
        println!("TLS's cost, from the medians of this run (plain / TLS: how many times slower):");
        for cost in costs {
            println!("  {cost}");
        }
    }
    if failed {
        println!("Some runs FAILED (see above).");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}

/// A case's title, with the transport when it is TLS.
fn title(case: &Case, tls: bool) -> String {
    if tls {
        format!("{} over TLS", case.title())
    } else {
        case.title()
    }
}

/// Runs a case once and prints its lines; its outcome, or `None` when it failed.
fn run_and_print(
    case: &Case,
    settings: &Settings,
    run: usize,
    fd_limit: Option<u64>,
    tls: bool,
    rep: usize,
) -> Option<Rep> {
    let outcome = run_once(case, &settings.target, run, fd_limit, tls);
    let mut params: Vec<String> = case
        .params()
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if tls {
        params.push("transport=tls".into());
    }
    let head = format!("case={} {} rep={rep}", case.family(), params.join(" "));
    let title = format!("{} run {rep}/{}", title(case, tls), settings.reps);
    match outcome {
        Ok(outcome) => {
            let fields: Vec<String> = outcome
                .fields
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            println!("{head} {} checks=ok", fields.join(" "));
            println!("  {title}: {}", outcome.human);
            Some(outcome)
        }
        Err(error) => {
            println!("{head} checks=FAILED");
            println!("  {title}: FAILED: {error}");
            None
        }
    }
}

/// One line on what TLS cost a case: its speed's plain median over its TLS median. `pair` is
/// the case's plain results, then its TLS results.
fn tls_cost(case: &Case, pair: &[(String, Vec<Row>, Vec<Rep>)]) -> String {
    let Some(key) = case.speed() else {
        return format!("{}: no speed figure", case.title());
    };
    let medians: Vec<Option<f64>> = pair
        .iter()
        .map(|(_, _, reps)| {
            let values: Vec<f64> = reps.iter().filter_map(|rep| rep.value(key)).collect();
            report::median(&values)
        })
        .collect();
    match medians[..] {
        [Some(plain), Some(tls)] if tls > 0.0 => format!(
            "{}: {key} {plain:.0} plain, {tls:.0} over TLS: x{:.2}",
            case.title(),
            plain / tls
        ),
        _ => format!("{}: not measured (failed runs)", case.title()),
    }
}

/// One run of a case, on a fresh server when the bench starts them.
fn run_once(
    case: &Case,
    target: &Target,
    run: usize,
    fd_limit: Option<u64>,
    tls: bool,
) -> Result<Rep, String> {
    let mut server = target.start(tls)?;
    // Names unique to this run, so that runs against one running server never collide; short,
    // since every message carries its sender's name.
    let tag = match target {
        Target::Spawn { .. } => "u".to_string(),
        Target::Attach { .. } => format!("b{}r{run}u", std::process::id() % 10_000),
    };
    case.run(&mut server, &tag, fd_limit)
        .map_err(|error| format!("{error}{}", server.warnings()))
}
