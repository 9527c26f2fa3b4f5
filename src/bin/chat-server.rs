//! `chat-server`: parses the command line, binds the listener and hands it to `chat::server`.

use std::ffi::OsString;
use std::net::TcpListener;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use chat::server::{self, AccessRules, Cidr, Config, FloodLimit, Rule};
use chat::{DEFAULT_HOST, DEFAULT_PORT};
use getopts::{Matches, Options};

const USAGE: &str = "Usage: chat-server [options]";

fn options() -> Options {
    let defaults = Config::default();
    let mut opts = Options::new();
    opts.optopt(
        "H",
        "host",
        &format!("address to listen on (default {DEFAULT_HOST})"),
        "HOST",
    );
    opts.optopt(
        "p",
        "port",
        &format!("port to listen on, 0 for any free one (default {DEFAULT_PORT})"),
        "PORT",
    );
    opts.optopt(
        "",
        "log",
        "append a transcript of the chat to FILE (default none)",
        "FILE",
    );
    let flood = FloodLimit::default();
    let limits = [
        (
            "max-clients",
            "open connections at most",
            defaults.max_clients.to_string(),
            "N",
        ),
        (
            "max-per-ip",
            "open connections from one address at most (loopback exempt)",
            defaults.max_per_ip.to_string(),
            "N",
        ),
        (
            "max-file-size",
            "largest file a client may send, in bytes",
            defaults.max_file_size.to_string(),
            "BYTES",
        ),
        (
            "max-file-memory",
            "bytes of files held in memory at most; more files wait",
            defaults.max_file_memory.to_string(),
            "BYTES",
        ),
        (
            "max-line",
            "longest line, in bytes",
            defaults.max_line.to_string(),
            "BYTES",
        ),
        (
            "send-queue",
            "bytes of lines a client may fall behind before it is dropped",
            defaults.send_queue.to_string(),
            "BYTES",
        ),
        (
            "handshake-timeout",
            "seconds a new connection has to give a username",
            defaults.handshake_timeout.as_secs().to_string(),
            "SECS",
        ),
        (
            "idle-timeout",
            "seconds a joined client may send nothing, 0 for ever",
            secs(defaults.idle_timeout),
            "SECS",
        ),
        (
            "write-timeout",
            "seconds a write to a client may make no progress",
            defaults.write_timeout.as_secs().to_string(),
            "SECS",
        ),
        (
            "flood-burst",
            "frames a client may send at once (loopback exempt)",
            flood.burst.to_string(),
            "N",
        ),
        (
            "flood-rate",
            "frames a second a client may send after its burst",
            flood.per_second.to_string(),
            "N",
        ),
    ];
    for (name, what, default, hint) in limits {
        opts.optopt("", name, &format!("{what} (default {default})"), hint);
    }
    // Access rules: repeatable, and tried in the order given across both options.
    opts.optmulti(
        "",
        "allow",
        "let clients from CIDR connect (10.0.0.0/8, ::1/128, or one address); repeatable \
         (default none)",
        "CIDR",
    );
    opts.optmulti(
        "",
        "deny",
        "refuse clients from CIDR; repeatable. The first --allow or --deny that matches a \
         client decides; when none does, it may connect unless an --allow was given \
         (default none: everyone may connect)",
        "CIDR",
    );
    opts.optflag(
        "",
        "no-flood-limit",
        "do not slow down clients that send fast",
    );
    opts.optflag(
        "",
        "limit-loopback",
        "apply the per-address and flood limits to loopback clients too",
    );
    opts.optflag("h", "help", "print this help and exit");
    opts.optflag("V", "version", "print the version and exit");
    opts
}

/// A timeout for `--help`: its seconds, or 0 for none.
fn secs(timeout: Option<Duration>) -> String {
    timeout.map_or(0, |t| t.as_secs()).to_string()
}

/// What the command line asks for.
enum Command {
    Help,
    Version,
    Serve {
        host: String,
        port: u16,
        /// Boxed: a `Config` is some 200 bytes, the other variants none.
        config: Box<Config>,
    },
}

fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
    let matches = options().parse(args).map_err(|e| e.to_string())?;
    if matches.opt_present("help") {
        return Ok(Command::Help);
    }
    if matches.opt_present("version") {
        return Ok(Command::Version);
    }
    if let Some(extra) = matches.free.first() {
        return Err(format!("unexpected argument '{extra}'"));
    }
    let mut config = Config::default();
    let at_least_one = |name| -> Result<Option<u64>, String> {
        match number::<u64>(&matches, name)? {
            Some(0) => Err(format!("--{name} must be at least 1")),
            value => Ok(value),
        }
    };
    if let Some(n) = at_least_one("max-clients")? {
        config.max_clients = n as usize;
    }
    if let Some(n) = number(&matches, "max-file-size")? {
        config.max_file_size = n;
    }
    if let Some(n) = at_least_one("max-line")? {
        config.max_line = n as usize;
    }
    if let Some(n) = at_least_one("send-queue")? {
        config.send_queue = n as usize;
    }
    if let Some(secs) = at_least_one("handshake-timeout")? {
        config.handshake_timeout = Duration::from_secs(secs);
    }
    if let Some(n) = at_least_one("max-per-ip")? {
        config.max_per_ip = n as usize;
    }
    if let Some(n) = number(&matches, "max-file-memory")? {
        config.max_file_memory = n;
    }
    if config.max_file_memory < config.max_file_size {
        return Err(format!(
            "--max-file-memory ({}) must be at least --max-file-size ({})",
            config.max_file_memory, config.max_file_size
        ));
    }
    if let Some(secs) = number::<u64>(&matches, "idle-timeout")? {
        config.idle_timeout = (secs > 0).then(|| Duration::from_secs(secs));
    }
    if let Some(secs) = at_least_one("write-timeout")? {
        config.write_timeout = Duration::from_secs(secs);
    }
    let mut flood = FloodLimit::default();
    if let Some(n) = at_least_one("flood-burst")? {
        flood.burst = u32::try_from(n).map_err(|_| format!("--flood-burst: {n} is too big"))?;
    }
    if let Some(rate) = number::<f64>(&matches, "flood-rate")? {
        if !(rate.is_finite() && rate > 0.0) {
            return Err(format!("--flood-rate must be above 0, not '{rate}'"));
        }
        flood.per_second = rate;
    }
    config.flood_limit = (!matches.opt_present("no-flood-limit")).then_some(flood);
    config.limit_loopback = matches.opt_present("limit-loopback");
    config.log = matches.opt_str("log").map(Into::into);
    config.access = access_rules(&matches)?;
    Ok(Command::Serve {
        host: matches
            .opt_str("host")
            .unwrap_or_else(|| DEFAULT_HOST.into()),
        port: number(&matches, "port")?.unwrap_or(DEFAULT_PORT),
        config: Box::new(config),
    })
}

/// The `--allow` and `--deny` rules in the order they were given on the command line.
fn access_rules(matches: &Matches) -> Result<AccessRules, String> {
    let mut rules = Vec::new();
    for (name, rule) in [
        ("allow", Rule::Allow as fn(Cidr) -> Rule),
        ("deny", Rule::Deny),
    ] {
        for (position, text) in matches.opt_strs_pos(name) {
            let cidr: Cidr = text
                .parse()
                .map_err(|why| format!("--{name}: '{text}' is not an address or CIDR ({why})"))?;
            rules.push((position, rule(cidr)));
        }
    }
    rules.sort_by_key(|&(position, _)| position);
    Ok(AccessRules::new(
        rules.into_iter().map(|(_, rule)| rule).collect(),
    ))
}

/// The value of option `name` as a number, if it was given.
fn number<T: FromStr>(matches: &Matches, name: &str) -> Result<Option<T>, String> {
    match matches.opt_str(name) {
        None => Ok(None),
        Some(text) => text
            .parse()
            .map(Some)
            .map_err(|_| format!("--{name}: '{text}' is not a valid number")),
    }
}

fn main() -> ExitCode {
    // args_os: an argument that is not UTF-8 becomes a parse error, not a panic.
    let (host, port, config) = match parse(std::env::args_os().skip(1)) {
        Ok(Command::Serve { host, port, config }) => (host, port, config),
        Ok(Command::Help) => {
            print!("{}", options().usage(USAGE));
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("chat-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Err(error) => {
            eprintln!("chat-server: {error}");
            eprintln!("{}", options().short_usage("chat-server"));
            return ExitCode::from(2);
        }
    };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();

    let listener = match TcpListener::bind((host.as_str(), port)) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("chat-server: cannot listen on {host}:{port}: {error}");
            return ExitCode::FAILURE;
        }
    };
    let server = match server::start(listener, *config) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("chat-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Scripts and tests wait for this line to know the port (useful with --port 0).
    println!("Hosting on {}", server.local_addr());
    server.wait();
    ExitCode::SUCCESS
}
