//! `chat-server`: parses the command line (`options.rs`), binds the listener, hands it to
//! `chat::server`, and runs the operator's console on standard input (`console.rs`).

#[cfg(feature = "accounts")]
mod accounts;
mod console;
mod options;
#[cfg(feature = "tls")]
mod tls;

use std::net::TcpListener;
use std::process::ExitCode;

use chat::server;
use options::{Command, options, parse};

const USAGE: &str = "Usage: chat-server [options]\n\n\
    A TCP chat server: users join with a name, and every message and file is relayed to\n\
    everyone else. While it runs it reads console commands on standard input (/help lists\n\
    them); /shutdown, or Ctrl-D at a terminal, stops it cleanly.";

fn main() -> ExitCode {
    // args_os: an argument that is not UTF-8 becomes a parse error, not a panic.
    let (host, port, config) = match parse(std::env::args_os().skip(1)) {
        Ok(Command::Serve { host, port, config }) => (host, port, config),
        Ok(Command::Help) => {
            // getopts leaves a space after a flag that takes no value: trim it.
            for line in options().usage(USAGE).lines() {
                println!("{}", line.trim_end());
            }
            return ExitCode::SUCCESS;
        }
        Ok(Command::Version) => {
            println!("chat-server {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        #[cfg(feature = "accounts")]
        Ok(Command::AddAccount(add)) => return accounts::add(&add),
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
    let note = security_note(&config);
    #[cfg(feature = "accounts")]
    accounts::warn(&config);
    let server = match server::start(listener, *config) {
        Ok(server) => server,
        Err(error) => {
            eprintln!("chat-server: {error}");
            return ExitCode::FAILURE;
        }
    };
    // Scripts and tests wait for this line to know the port (useful with --port 0).
    println!("Hosting on {}{note}", server.local_addr());
    console::announce();
    if let Err(error) = console::spawn(server.console()) {
        eprintln!("chat-server: cannot start the console: {error}");
    }
    // Until a stop: from the console, or (in a library user) a Stopper.
    server.wait();
    ExitCode::SUCCESS
}

/// What the `Hosting on` line adds after the address: how connections are secured, if they are.
fn security_note(config: &server::Config) -> String {
    #[cfg(feature = "tls")]
    return tls::note(config);
    #[cfg(not(feature = "tls"))]
    {
        let _ = config;
        String::new()
    }
}
