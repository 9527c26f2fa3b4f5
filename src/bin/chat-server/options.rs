//! The command line of `chat-server`: every option, its default, the range it accepts, and what
//! it sets in the server's [`Config`]. A value out of range is refused here, with one line that
//! gives the range, so the server never starts with a limit it cannot honour.

use std::ffi::OsString;
use std::time::Duration;

use chat::server::{AccessRules, Cidr, Config, FloodLimit, MIN_FLOOD_RATE, Rule};
use chat::{DEFAULT_HOST, DEFAULT_PORT};
use getopts::{Matches, Options};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// One numeric option: its name, what it means, the values it accepts and where it goes.
struct Limit {
    name: &'static str,
    what: &'static str,
    hint: &'static str,
    /// The accepted values, both ends included.
    range: (u64, u64),
    /// The default, as `--help` shows it.
    default: fn(&Config) -> u64,
    /// Puts an accepted value into the config.
    set: fn(&mut Config, u64),
}

/// Whole seconds of a timeout, for `--help`.
fn secs(timeout: Duration) -> u64 {
    timeout.as_secs()
}

const LIMITS: &[Limit] = &[
    Limit {
        name: "max-clients",
        what: "open connections at most",
        hint: "N",
        range: (1, 100_000),
        default: |c| c.max_clients as u64,
        set: |c, n| c.max_clients = n as usize,
    },
    Limit {
        name: "max-per-ip",
        what: "open connections from one address at most (loopback exempt)",
        hint: "N",
        range: (1, 100_000),
        default: |c| c.max_per_ip as u64,
        set: |c, n| c.max_per_ip = n as usize,
    },
    Limit {
        name: "max-file-size",
        what: "largest file a client may send, in bytes",
        hint: "BYTES",
        range: (0, 16 * GIB),
        default: |c| c.max_file_size,
        set: |c, n| c.max_file_size = n,
    },
    Limit {
        name: "max-file-memory",
        what: "bytes of files held in memory at most, at least --max-file-size; a file that \
               does not fit is refused",
        hint: "BYTES",
        range: (0, 64 * GIB),
        default: |c| c.max_file_memory,
        set: |c, n| c.max_file_memory = n,
    },
    Limit {
        name: "max-line",
        what: "longest line, in bytes",
        hint: "BYTES",
        range: (64, 65_000),
        default: |c| c.max_line as u64,
        set: |c, n| c.max_line = n as usize,
    },
    Limit {
        name: "send-queue",
        what: "bytes a client may fall behind before it is dropped",
        hint: "BYTES",
        range: (KIB, GIB),
        default: |c| c.send_queue as u64,
        set: |c, n| c.send_queue = n as usize,
    },
    Limit {
        name: "handshake-timeout",
        what: "seconds a new connection has to give a username",
        hint: "SECS",
        range: (1, 86_400),
        default: |c| secs(c.handshake_timeout),
        set: |c, n| c.handshake_timeout = Duration::from_secs(n),
    },
    Limit {
        name: "idle-timeout",
        what: "seconds a joined client may send nothing, 0 = never",
        hint: "SECS",
        range: (0, 30 * 86_400),
        default: |c| c.idle_timeout.map_or(0, secs),
        set: |c, n| c.idle_timeout = (n > 0).then(|| Duration::from_secs(n)),
    },
    Limit {
        name: "write-timeout",
        what: "seconds a client may accept none of what is written to it",
        hint: "SECS",
        range: (1, 3600),
        default: |c| secs(c.write_timeout),
        set: |c, n| c.write_timeout = Duration::from_secs(n),
    },
    Limit {
        name: "file-timeout",
        what: "seconds a file's body may go without a byte from its sender",
        hint: "SECS",
        range: (1, 3600),
        default: |c| secs(c.file_timeout),
        set: |c, n| c.file_timeout = Duration::from_secs(n),
    },
    Limit {
        name: "min-file-rate",
        what: "bytes a second a file must average, in and out, after --file-timeout",
        hint: "BYTES",
        range: (1, GIB),
        default: |c| c.min_file_rate,
        set: |c, n| c.min_file_rate = n,
    },
    Limit {
        name: "history",
        what: "last public messages sent to a newcomer, 0 for none",
        hint: "N",
        range: (0, 1000),
        default: |c| c.history as u64,
        set: |c, n| c.history = n as usize,
    },
    Limit {
        name: "flood-burst",
        what: "frames a client may send at once (loopback exempt)",
        hint: "N",
        range: (1, 100_000),
        default: |c| c.flood_limit.map_or(0, |f| u64::from(f.burst)),
        set: |c, n| {
            if let Some(flood) = &mut c.flood_limit {
                flood.burst = n as u32;
            }
        },
    },
];

/// The range of `--flood-rate`, frames a second.
const FLOOD_RATE: (f64, f64) = (MIN_FLOOD_RATE, 1_000_000.0);

/// What the command line asks for.
pub enum Command {
    Help,
    Version,
    /// `--add-account NAME --accounts FILE`: add an account instead of serving.
    #[cfg(feature = "accounts")]
    AddAccount(super::accounts::AddAccount),
    Serve {
        host: String,
        port: u16,
        /// Boxed: a `Config` is some 200 bytes, the other variants none.
        config: Box<Config>,
    },
}

pub fn options() -> Options {
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
        &format!("port to listen on, 0-65535, 0 for any free one (default {DEFAULT_PORT})"),
        "PORT",
    );
    opts.optopt(
        "",
        "log",
        "append a transcript of the chat to FILE (default none)",
        "FILE",
    );
    for limit in LIMITS {
        let (min, max) = limit.range;
        let default = (limit.default)(&defaults);
        let help = format!("{} ({min}-{max}, default {default})", limit.what);
        opts.optopt("", limit.name, &help, limit.hint);
    }
    let (min, max) = FLOOD_RATE;
    let rate = FloodLimit::default().per_second;
    opts.optopt(
        "",
        "flood-rate",
        &format!("frames a second a client may send after its burst ({min}-{max}, default {rate})"),
        "N",
    );
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
    #[cfg(feature = "tls")]
    super::tls::add_options(&mut opts);
    #[cfg(feature = "accounts")]
    super::accounts::add_options(&mut opts);
    opts.optflag("h", "help", "print this help and exit");
    opts.optflag("V", "version", "print the version and exit");
    opts
}

/// Turns the arguments into a command; the error is one line for a person.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Result<Command, String> {
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
    #[cfg(feature = "accounts")]
    if let Some(add) = super::accounts::add_command(&matches)? {
        return Ok(Command::AddAccount(add));
    }
    let mut config = Config::default();
    for limit in LIMITS {
        if let Some(text) = matches.opt_str(limit.name) {
            (limit.set)(&mut config, number(limit.name, &text, limit.range)?);
        }
    }
    if config.max_file_memory < config.max_file_size {
        return Err(format!(
            "--max-file-memory ({}) must be at least --max-file-size ({})",
            config.max_file_memory, config.max_file_size
        ));
    }
    if let Some(text) = matches.opt_str("flood-rate") {
        let (min, max) = FLOOD_RATE;
        let rate = text
            .parse::<f64>()
            .ok()
            .filter(|rate| (min..=max).contains(rate));
        let Some(rate) = rate else {
            return Err(format!(
                "--flood-rate: '{text}' is not a number from {min} to {max}"
            ));
        };
        if let Some(flood) = &mut config.flood_limit {
            flood.per_second = rate;
        }
    }
    if matches.opt_present("no-flood-limit") {
        config.flood_limit = None;
    }
    config.limit_loopback = matches.opt_present("limit-loopback");
    config.log = matches.opt_str("log").map(Into::into);
    config.access = access_rules(&matches)?;
    let port = match matches.opt_str("port") {
        Some(text) => number("port", &text, (0, u64::from(u16::MAX)))? as u16,
        None => DEFAULT_PORT,
    };
    let host = matches
        .opt_str("host")
        .unwrap_or_else(|| DEFAULT_HOST.into());
    #[cfg(feature = "tls")]
    super::tls::configure(&matches, &host, &mut config)?;
    // After TLS: accounts need to know whether the server speaks it.
    #[cfg(feature = "accounts")]
    super::accounts::configure(&matches, &mut config)?;
    Ok(Command::Serve {
        host,
        port,
        config: Box::new(config),
    })
}

/// `text` as a whole number in `range` (both ends included), or a line saying what is wrong.
fn number(name: &str, text: &str, (min, max): (u64, u64)) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(format!(
            "--{name}: '{text}' is not a whole number from {min} to {max}"
        )),
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> Result<Config, String> {
        match parse(args.iter().map(OsString::from))? {
            Command::Serve { config, .. } => Ok(*config),
            _ => Err("not a serve command".into()),
        }
    }

    #[test]
    fn every_limit_accepts_both_ends_of_its_range_and_refuses_past_them() {
        for limit in LIMITS {
            let (min, max) = limit.range;
            // The file memory must hold the largest file: give the other one room.
            let extra: &[&str] = match limit.name {
                "max-file-memory" => &["--max-file-size", "0"],
                "max-file-size" => &["--max-file-memory", "68719476736"],
                _ => &[],
            };
            for good in [min, max] {
                let arg = format!("--{}={good}", limit.name);
                let mut args = vec![arg.as_str()];
                args.extend(extra);
                assert!(parse_args(&args).is_ok(), "{args:?} refused");
            }
            let past = [min.checked_sub(1), max.checked_add(1)];
            for bad in past.into_iter().flatten() {
                let arg = format!("--{}={bad}", limit.name);
                let error = parse_args(&[&arg]).expect_err(&arg);
                assert!(error.contains(&format!("from {min} to {max}")), "{error}");
            }
        }
    }

    #[test]
    fn extreme_values_are_refused_with_the_range() {
        for (option, value) in [
            ("--idle-timeout", "9223372036854775807"),
            ("--handshake-timeout", "18446744073709551615"),
            ("--max-line", "18446744073709551615"),
            ("--write-timeout", "99999999999999999999999"),
            ("--flood-rate", "1e-20"),
            ("--flood-rate", "inf"),
            ("--flood-rate", "NaN"),
            ("--flood-rate", "-1"),
            ("--port", "99999"),
            ("--max-clients", "-1"),
        ] {
            let error = parse_args(&[option, value]).expect_err(option);
            assert!(error.contains(" from "), "{option} {value}: {error}");
            assert!(!error.contains('\n'), "{error}");
        }
    }

    #[test]
    fn idle_timeout_zero_means_never() {
        let config = parse_args(&["--idle-timeout", "0"]).unwrap();
        assert_eq!(config.idle_timeout, None);
    }

    #[test]
    fn defaults_are_the_library_defaults() {
        let config = parse_args(&[]).unwrap();
        let defaults = Config::default();
        assert_eq!(config.max_line, defaults.max_line);
        assert_eq!(config.flood_limit, defaults.flood_limit);
        assert_eq!(config.min_file_rate, defaults.min_file_rate);
    }
}
