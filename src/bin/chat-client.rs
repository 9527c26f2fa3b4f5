//! `chat-client`: the terminal client. It turns its options into a [`client::Config`] and hands
//! it to [`client::run`]; the library does the rest.
//!
//! Exit status: 0 after `exit` or the end of input, 1 when the server cannot be reached or goes
//! away, 2 for a bad command line.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use chat::client::{self, ColorChoice, Config};
use getopts::Options;

/// What the command line asks for.
enum Command {
    Run(Config),
    Help,
    Version,
}

fn main() -> ExitCode {
    // Warnings only by default: log lines go to stderr, in the same terminal as the chat.
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("warn")).init();

    let options = options();
    // args_os: an argument that is not UTF-8 becomes a parse error, not a panic.
    let command = match parse(&options, std::env::args_os().skip(1)) {
        Ok(command) => command,
        Err(message) => {
            eprintln!("chat-client: {message}");
            eprintln!("{}", options.short_usage("chat-client"));
            return ExitCode::from(2);
        }
    };
    match command {
        Command::Help => print!("{}", usage(&options)),
        Command::Version => println!("chat-client {}", env!("CARGO_PKG_VERSION")),
        Command::Run(config) => {
            if let Err(error) = client::run(config) {
                eprintln!("[ERROR] {error}");
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}

/// The options, with the defaults from [`Config::default`] in their help text.
fn options() -> Options {
    let defaults = Config::default();
    let log = defaults
        .log
        .as_ref()
        .map_or_else(|| "none".to_owned(), |path| path.display().to_string());
    let mut options = Options::new();
    options
        .optopt(
            "H",
            "host",
            &format!("server host name or address (default {})", defaults.host),
            "HOST",
        )
        .optopt(
            "p",
            "port",
            &format!("server port (default {})", defaults.port),
            "PORT",
        )
        .optopt(
            "n",
            "name",
            "username to join with (default: ask on stdin)",
            "NAME",
        )
        .optopt(
            "",
            "downloads",
            &format!(
                "folder for received files (default {})",
                defaults.downloads.display()
            ),
            "DIR",
        )
        .optopt(
            "",
            "log",
            &format!("chat log, appended to (default {log})"),
            "FILE",
        )
        .optflag("", "no-log", "write no chat log")
        .optopt(
            "",
            "color",
            &format!(
                "colour names, errors and notices: auto (when stdout is a terminal and NO_COLOR \
                 is not set), always or never (default {}); never in the chat log",
                defaults.color
            ),
            "WHEN",
        )
        .optflag(
            "",
            "timestamps",
            "show the time before each line, HH:MM in UTC (std knows no time zones); \
             in the chat log too",
        )
        .optflag("h", "help", "print this help and exit")
        .optflag("V", "version", "print the version and exit");
    options
}

fn usage(options: &Options) -> String {
    options.usage(USAGE)
}

/// What `--help` says before the options: the commands and what the client shows.
const USAGE: &str = "\
Usage: chat-client [options]

A terminal client for the chat server. Once joined, a line is a message for everyone, or one of
these commands:
    /users             who is online
    /msg NAME TEXT     a private message for NAME alone, shown here as -> NAME: TEXT
    /help              the client's commands, then the server's
    /file PATH         send a file to everyone
    //text             send a message that starts with /
    exit               leave (the end of input does too)
Any other line starting with / is sent as typed, and the server answers it.

A private message shows as [PM] alice: hi, a message sent before you joined as
[history 2026-12-01 10:37 UTC] alice: hi (UTC), a notice from the server's operator as
[NOTICE] text. While a file over 1 MiB is sent or received, stderr shows its progress
(percent, MB/s) when it is a terminal. Received files are saved as received_<name> in
--downloads, complete or not at all; at start the client removes the temporaries
(.received_<name>.<pid>-<n>.part) a killed client left there once their process is gone
(on Linux; elsewhere once they are a day old).
Everything shown is appended to the chat log as plain text.";

/// Turns the arguments into a command; the error is one line for a person.
fn parse(options: &Options, args: impl Iterator<Item = OsString>) -> Result<Command, String> {
    let matches = options.parse(args).map_err(|error| error.to_string())?;
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
    if let Some(host) = matches.opt_str("host") {
        config.host = host;
    }
    if let Some(port) = matches.opt_str("port") {
        config.port = match port.parse::<u16>() {
            Ok(port) if port != 0 => port,
            _ => {
                return Err(format!(
                    "bad port '{port}': expected a number from 1 to 65535"
                ));
            }
        };
    }
    config.name = matches.opt_str("name");
    if let Some(downloads) = matches.opt_str("downloads") {
        config.downloads = PathBuf::from(downloads);
    }
    match (matches.opt_str("log"), matches.opt_present("no-log")) {
        (Some(_), true) => return Err("--log and --no-log cannot be used together".to_owned()),
        (Some(log), false) => config.log = Some(PathBuf::from(log)),
        (None, true) => config.log = None,
        (None, false) => {}
    }
    if let Some(color) = matches.opt_str("color") {
        config.color = color.parse::<ColorChoice>()?;
    }
    config.timestamps = matches.opt_present("timestamps");
    Ok(Command::Run(config))
}
