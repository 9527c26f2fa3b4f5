//! The account options of `chat-server` (feature `accounts`): `--accounts FILE`,
//! `--accounts-only`, `--allow-plaintext-passwords`, and `--add-account NAME`, which adds an
//! account to the file (or changes its password) instead of serving.

use std::io::{self, BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use chat::server::{AccountFile, Accounts, Config, add_account};
use getopts::{Matches, Options};

pub fn add_options(opts: &mut Options) {
    opts.optopt(
        "",
        "accounts",
        "registered names and their password hashes, one 'name:<argon2id PHC string>' a line: \
         a registered name must give its password (default none: every name is a guest's)",
        "FILE",
    );
    opts.optflag(
        "",
        "accounts-only",
        "with --accounts: only registered names may join",
    );
    opts.optflag(
        "",
        "allow-plaintext-passwords",
        "with --accounts: start without TLS all the same; passwords then cross the network \
         in plain text (for a lab that shows why)",
    );
    opts.optopt(
        "",
        "add-account",
        "add NAME to the --accounts FILE, or change its password, and exit. The password is \
         read from standard input: twice at a terminal, where it shows as it is typed (std \
         cannot hide it): to hide it, `read -rs PW; printf '%s\\n' \"$PW\" | chat-server \
         --add-account NAME --accounts FILE`",
        "NAME",
    );
}

/// What `--add-account` asks for.
pub struct AddAccount {
    name: String,
    file: PathBuf,
}

/// `--add-account NAME --accounts FILE`, if given.
pub fn add_command(matches: &Matches) -> Result<Option<AddAccount>, String> {
    let Some(name) = matches.opt_str("add-account") else {
        return Ok(None);
    };
    let file = matches
        .opt_str("accounts")
        .ok_or("--add-account needs --accounts FILE")?;
    Ok(Some(AddAccount {
        name,
        file: file.into(),
    }))
}

/// Reads the account options into `config`: loads and checks the accounts file.
pub fn configure(matches: &Matches, config: &mut Config) -> Result<(), String> {
    let Some(path) = matches.opt_str("accounts") else {
        if matches.opt_present("accounts-only") || matches.opt_present("allow-plaintext-passwords")
        {
            return Err(
                "--accounts-only and --allow-plaintext-passwords go with --accounts".into(),
            );
        }
        return Ok(());
    };
    let file = AccountFile::load(path.as_ref())
        .map_err(|error| format!("accounts file {path}: {error}"))?;
    let mut accounts = Accounts::new(file);
    accounts.accounts_only = matches.opt_present("accounts-only");
    accounts.allow_plaintext_passwords = matches.opt_present("allow-plaintext-passwords");
    if !config.speaks_tls() && !accounts.allow_plaintext_passwords {
        return Err(
            "--accounts without TLS would carry passwords in plain text: add --tls-cert and \
             --tls-key, or --tls-self-signed (or, for a lab, --allow-plaintext-passwords)"
                .into(),
        );
    }
    config.accounts = Some(accounts);
    Ok(())
}

/// Says at every start that passwords travel in plain text, when they do.
pub fn warn(config: &Config) {
    if config.accounts.is_some() && !config.speaks_tls() {
        eprintln!(
            "chat-server: WARNING: accounts without TLS (--allow-plaintext-passwords): every \
             password crosses the network in plain text. For a lab only."
        );
    }
}

/// Adds the account, reading its password from standard input; the exit status.
pub fn add(add: &AddAccount) -> ExitCode {
    let password = match read_password(&add.name) {
        Ok(password) => password,
        Err(why) => {
            eprintln!("chat-server: {why}");
            return ExitCode::FAILURE;
        }
    };
    match add_account(&add.file, &add.name, &password) {
        Ok(replaced) => {
            let done = if replaced {
                "changed the password of"
            } else {
                "added"
            };
            println!("{done} {} in {}", add.name, add.file.display());
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("chat-server: {}: {error}", add.file.display());
            ExitCode::FAILURE
        }
    }
}

/// The password on standard input: one line; at a terminal, asked for twice.
fn read_password(name: &str) -> Result<String, String> {
    let stdin = io::stdin();
    let at_terminal = stdin.is_terminal();
    let mut lines = stdin.lock();
    let mut ask = |prompt: &str| -> Result<String, String> {
        if at_terminal {
            eprint!("{prompt}");
            let _ = io::stderr().flush();
        }
        let mut line = String::new();
        match lines.read_line(&mut line) {
            Ok(0) => Err("no password on standard input".into()),
            Ok(_) => Ok(line.trim_end_matches(['\n', '\r']).to_owned()),
            Err(error) => Err(format!("cannot read the password: {error}")),
        }
    };
    let password = ask(&format!("Password for {name} (it shows as you type): "))?;
    if at_terminal && ask("The same again: ")? != password {
        return Err("the two passwords differ; nothing was changed".into());
    }
    Ok(password)
}
