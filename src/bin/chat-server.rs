//! `chat-server`: parses the command line, binds the listener and hands it to `chat::server`.

use std::net::TcpListener;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use chat::server::{self, Config};
use getopts::{Matches, Options};

const USAGE: &str = "Usage: chat-server [options]";

fn options() -> Options {
    let defaults = Config::default();
    let mut opts = Options::new();
    opts.optopt(
        "H",
        "host",
        "address to listen on (default 127.0.0.1)",
        "HOST",
    );
    opts.optopt(
        "p",
        "port",
        "port to listen on, 0 for any free one (default 12345)",
        "PORT",
    );
    opts.optopt(
        "",
        "log",
        "append a transcript of the chat to FILE (default none)",
        "FILE",
    );
    let limits = [
        (
            "max-clients",
            "open connections at most",
            defaults.max_clients.to_string(),
            "N",
        ),
        (
            "max-file-size",
            "largest file a client may send, in bytes",
            defaults.max_file_size.to_string(),
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
            "frames queued for one client before it is dropped",
            defaults.send_queue.to_string(),
            "FRAMES",
        ),
        (
            "handshake-timeout",
            "seconds a new connection has to give a username",
            defaults.handshake_timeout.as_secs().to_string(),
            "SECS",
        ),
    ];
    for (name, what, default, hint) in limits {
        opts.optopt("", name, &format!("{what} (default {default})"), hint);
    }
    opts.optflag("h", "help", "print this help and exit");
    opts.optflag("V", "version", "print the version and exit");
    opts
}

/// What the command line asks for.
enum Command {
    Help,
    Version,
    Serve {
        host: String,
        port: u16,
        config: Config,
    },
}

fn parse(args: &[String]) -> Result<Command, String> {
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
    config.log = matches.opt_str("log").map(Into::into);
    Ok(Command::Serve {
        host: matches
            .opt_str("host")
            .unwrap_or_else(|| "127.0.0.1".into()),
        port: number(&matches, "port")?.unwrap_or(12345),
        config,
    })
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
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (host, port, config) = match parse(&args) {
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
    let server = match server::start(listener, config) {
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
