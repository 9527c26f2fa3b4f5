//! `chat-client`: the terminal client. It turns its options into a [`client::Config`] and hands
//! it to [`client::run`]; the library does the rest.
//!
//! Exit status: 0 after `exit` or the end of input, or when the server shuts down; 1 when the
//! server cannot be reached or goes away, or the name was refused and no other was given; 2 for a
//! bad command line.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use chat::client::{self, ColorChoice, Config};
use chat::protocol;
use getopts::Options;

/// What the command line asks for.
enum Command {
    /// Boxed: a `Config` is large next to the other variants.
    Run(Box<Config>),
    /// `--tui`: the terminal UI.
    #[cfg(feature = "tui")]
    RunTui(Box<Config>),
    Help,
    Version,
}

fn main() -> ExitCode {
    // Warnings only by default: log lines go to stderr, in the same terminal as the chat. The
    // terminal UI draws over the whole terminal, where a log line would be garbage: it logs only
    // what RUST_LOG asks for (then best sent elsewhere: 2>client.log).
    let quiet = cfg!(feature = "tui") && std::env::args_os().any(|arg| arg == "--tui");
    let default_level = if quiet { "off" } else { "warn" };
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or(default_level))
        .init();

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
            #[cfg(feature = "tls")]
            tls::warn(&config);
            if let Err(error) = client::run(*config) {
                eprintln!("[ERROR] {error}");
                return ExitCode::FAILURE;
            }
        }
        #[cfg(feature = "tui")]
        Command::RunTui(config) => {
            // Before the screen is taken, so it stays on the terminal the UI gives back.
            #[cfg(feature = "tls")]
            tls::warn(&config);
            if let Err(error) = client::run_tui(*config) {
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
             the chat log always has the date and time, to the second",
        )
        .optopt(
            "",
            "max-line",
            &format!(
                "the server's line limit (its --max-line): a longer line typed is refused \
                 before it is sent ({}-{}, default {}, chat/1's default)",
                MAX_LINE_RANGE.0, MAX_LINE_RANGE.1, defaults.max_line
            ),
            "BYTES",
        )
        .optopt(
            "",
            "keepalive",
            &format!(
                "once joined, send an empty line after SECS without sending anything, so that \
                 the server's idle timeout does not close a client that only reads; 0 sends \
                 none ({}-{}, default {})",
                KEEPALIVE_RANGE.0,
                KEEPALIVE_RANGE.1,
                defaults.keepalive.as_secs()
            ),
            "SECS",
        )
        .optopt(
            "",
            "password-file",
            "when the server asks for the name's password, give the first line of FILE \
             (default: ask on stdin, where it shows as it is typed; never in the chat log)",
            "FILE",
        );
    #[cfg(feature = "tls")]
    tls::add_options(&mut options);
    options
        .optflag("h", "help", "print this help and exit")
        .optflag("V", "version", "print the version and exit");
    #[cfg(feature = "tui")]
    options.optflag(
        "",
        "tui",
        "the terminal UI: the conversation, who is online, a bar for each file on its way \
         and an edited input line on one screen; PageUp/PageDown scroll, Tab completes, Ctrl-C \
         leaves. Stdin and stdout must be a terminal; times are always shown, and the chat log \
         is the same as without it. It connects as without it (--tls too), and a password the \
         server asks for is typed in a field that shows nothing (or --password-file)",
    );
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
    /file PATH         send a file to everyone; PATH may be quoted ('my file.txt', as a
                       terminal pastes a dragged file) and start with ~/ (your home)
    /file PATH as NAME send it under NAME (a file name cannot hold / \\ or :)
    //text             send a message that starts with /
    exit               leave (the end of input does too)
Any other line starting with / is sent as typed, and the server answers it.
A line longer than the server's limit (--max-line) is refused before it is sent; so is a line
of exactly 4095 bytes from a terminal, the most a terminal passes on: it was probably cut.

A private message shows as [PM] alice: hi, a message sent before you joined as
[history 2026-12-01 10:37 UTC] alice: hi (UTC), a notice from the server's operator as
[NOTICE] text. A file over 1 MiB is announced as it starts to arrive; while a file over
1 MiB is sent or received, stderr shows its progress (percent, MB/s) when it is a terminal.
Received files are saved as received_<name> in --downloads, complete or not at all (the notice
says where, the size and the sender); at start the client removes the temporaries
(.received_<name>.<pid>-<n>.part) a killed client left there once their process is gone
(on Linux; elsewhere once they are a day old).
Everything shown is appended to the chat log as plain text, after the date and time in UTC,
with a mark where each session starts and ends (and why).
When the server asks for a registered name's password ([AUTH]), the next line of input is
sent as it (it shows as typed: std cannot hide it), or the first line of --password-file; it is
never shown or written to the chat log. The end of input there leaves without sending exit,
which the server would take for the password.

Exit status: 0 after exit or the end of input, and when the server shuts down; 1 when the
server cannot be reached or the connection is lost, or when the name was refused and input
ended before another was accepted; 2 for a bad option (a --name that breaks the username
rules too).";

/// The bytes `--max-line` accepts: the range of the server's own `--max-line`.
const MAX_LINE_RANGE: (u64, u64) = (64, 65_000);

/// The seconds `--keepalive` accepts: up to a day, beyond any sensible idle timeout.
const KEEPALIVE_RANGE: (u64, u64) = (0, 86_400);

/// The value of `--<name>` as a number within `range`; the error gives the range.
fn number(name: &str, text: &str, (min, max): (u64, u64)) -> Result<u64, String> {
    text.parse::<u64>()
        .ok()
        .filter(|n| (min..=max).contains(n))
        .ok_or_else(|| format!("bad --{name} '{text}': expected a number from {min} to {max}"))
}

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
    if let Some(name) = matches.opt_str("name") {
        // Refused here, like any bad option, rather than after the server's greeting.
        protocol::check_username(&name)
            .map_err(|why| format!("bad --name '{}': {why}", name.escape_debug()))?;
        config.name = Some(name);
    }
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
    if let Some(text) = matches.opt_str("max-line") {
        // Within the range, so it fits in a usize everywhere.
        config.max_line = number("max-line", &text, MAX_LINE_RANGE)? as usize;
    }
    if let Some(text) = matches.opt_str("keepalive") {
        config.keepalive = Duration::from_secs(number("keepalive", &text, KEEPALIVE_RANGE)?);
    }
    config.password_file = matches.opt_str("password-file").map(PathBuf::from);
    #[cfg(feature = "tls")]
    tls::configure(&matches, &mut config)?;
    #[cfg(feature = "tui")]
    if matches.opt_present("tui") {
        return Ok(Command::RunTui(Box::new(config)));
    }
    Ok(Command::Run(Box::new(config)))
}

/// The TLS options (feature `tls`): `--tls`, and how to trust the server's certificate.
#[cfg(feature = "tls")]
mod tls {
    use std::path::PathBuf;

    use chat::client::{Config, TlsTrust, default_known_servers};
    use getopts::{Matches, Options};

    pub fn add_options(options: &mut Options) {
        let known = default_known_servers().map_or_else(
            || "none: give one".to_owned(),
            |path| path.display().to_string(),
        );
        options
            .optflag(
                "",
                "tls",
                "connect with TLS; without --ca, trust the server's certificate on first use \
                 and refuse it if it ever changes",
            )
            .optopt(
                "",
                "ca",
                "with --tls: trust the server's certificate only if a CA in FILE (PEM) signed \
                 it for the host",
                "FILE",
            )
            .optopt(
                "",
                "known-servers",
                &format!(
                    "with --tls: where the certificates trusted on first use are remembered \
                     (default {known})"
                ),
                "FILE",
            )
            .optflag(
                "",
                "tls-insecure",
                "with --tls: trust any certificate (for labs: anyone in between can read and \
                 change everything)",
            );
    }

    /// Reads the TLS options into `config`; the error is one line for a person.
    pub fn configure(matches: &Matches, config: &mut Config) -> Result<(), String> {
        let ca = matches.opt_str("ca").map(PathBuf::from);
        let known = matches.opt_str("known-servers").map(PathBuf::from);
        let insecure = matches.opt_present("tls-insecure");
        if !matches.opt_present("tls") {
            if ca.is_some() || known.is_some() || insecure {
                return Err("--ca, --known-servers and --tls-insecure go with --tls".into());
            }
            return Ok(());
        }
        config.tls = Some(match (ca, known, insecure) {
            (Some(ca), None, false) => TlsTrust::Ca(ca),
            (None, Some(known), false) => TlsTrust::FirstUse(known),
            (None, None, false) => TlsTrust::FirstUse(default_known_servers().ok_or(
                "no config folder ($XDG_CONFIG_HOME or $HOME) for known_servers: give \
                 --known-servers FILE",
            )?),
            (None, None, true) => TlsTrust::Insecure,
            _ => return Err("use one of --ca, --known-servers and --tls-insecure".into()),
        });
        Ok(())
    }

    /// Says on every start that `--tls-insecure` checks nothing.
    pub fn warn(config: &Config) {
        if config.tls == Some(TlsTrust::Insecure) {
            eprintln!(
                "chat-client: WARNING: --tls-insecure: the server's certificate is not checked; \
                 anyone between you and the server can read and change everything. For labs only."
            );
        }
    }
}
