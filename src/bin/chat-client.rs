//! `chat-client`: the terminal client. It turns its options into a [`client::Config`] and hands
//! it to [`client::run`]; the library does the rest.
//!
//! Exit status: 0 after `exit` or the end of input, 1 when the server cannot be reached or goes
//! away, 2 for a bad command line.

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use chat::client::{self, Config};
use getopts::Options;

/// What the command line asks for.
enum Command {
    /// Boxed: a `Config` is some 200 bytes, the other variants none.
    Run(Box<Config>),
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
            #[cfg(feature = "tls")]
            tls::warn(&config);
            if let Err(error) = client::run(*config) {
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
    options
}

fn usage(options: &Options) -> String {
    options.usage("Usage: chat-client [options]\n\nA terminal client for the chat server.")
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
    config.password_file = matches.opt_str("password-file").map(PathBuf::from);
    #[cfg(feature = "tls")]
    tls::configure(&matches, &mut config)?;
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
