//! Accounts (feature `accounts`): the registered names and their password hashes, from the
//! accounts file (`--accounts FILE`), and the settings of signing in.
//!
//! The file holds one account a line, `name:<PHC string>`, the PHC string an argon2id hash
//! (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`); empty lines and lines starting with `#`
//! are ignored. Names follow the username rules and are compared without case, as names are
//! online: `alice` and `ALICE` are one account. A file that breaks any of this is refused
//! whole, with the number of its first bad line.
//!
//! [`add_account`] adds or replaces a line the way an editor saves: the whole new file is
//! written beside the old one, then renamed over it, so a reader (a server starting) sees the
//! old file or the new one, never half of either.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use super::passwords;
use crate::protocol::check_username;

/// Who may sign in, and how signing in is bounded. Each bound has its default in
/// [`Accounts::new`].
#[derive(Clone)]
pub struct Accounts {
    file: Arc<AccountFile>,
    /// Only registered names may join; without it, other names join as guests.
    pub accounts_only: bool,
    /// Start without TLS all the same (passwords then cross the network in plain text).
    pub allow_plaintext_passwords: bool,
    /// How long the answer to the first wrong password from an address waits; each further
    /// wrong password from that address waits twice as long as the last, up to
    /// `max_wrong_password_delay`.
    pub wrong_password_delay: Duration,
    pub max_wrong_password_delay: Duration,
    /// Passwords checked at once, server-wide, at most: a check takes tens of milliseconds of
    /// a core and about 19 MiB, so a burst of logins waits here instead of taking the machine.
    pub max_password_checks: usize,
}

impl Accounts {
    /// The accounts of `file`, with the default bounds: 1 s after the first wrong password
    /// (doubling up to 60 s), 2 password checks at once.
    pub fn new(file: AccountFile) -> Accounts {
        Accounts {
            file: Arc::new(file),
            accounts_only: false,
            allow_plaintext_passwords: false,
            wrong_password_delay: Duration::from_secs(1),
            max_wrong_password_delay: Duration::from_secs(60),
            max_password_checks: 2,
        }
    }

    /// The accounts file in memory.
    pub fn file(&self) -> &AccountFile {
        &self.file
    }
}

impl fmt::Debug for Accounts {
    // The hashes stay out of debug output.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accounts")
            .field("accounts", &self.file.len())
            .field("accounts_only", &self.accounts_only)
            .field("allow_plaintext_passwords", &self.allow_plaintext_passwords)
            .field("wrong_password_delay", &self.wrong_password_delay)
            .field("max_wrong_password_delay", &self.max_wrong_password_delay)
            .field("max_password_checks", &self.max_password_checks)
            .finish()
    }
}

/// The accounts of a file: each name (as written) and its hash, found without case.
#[derive(Default)]
pub struct AccountFile {
    /// By name in lower case: the name as written, and its PHC string.
    accounts: HashMap<String, (String, String)>,
}

/// An account as the file has it.
pub(super) struct Account<'a> {
    /// The name as the file writes it: the name the user joins under.
    pub(super) name: &'a str,
    pub(super) hash: &'a str,
}

/// Why an accounts file cannot be used, or an account not added.
#[derive(Debug)]
pub enum AccountsError {
    /// The file could not be read or written.
    Io { path: PathBuf, source: io::Error },
    /// A line of the file is not `name:<argon2id PHC string>`, or repeats a name.
    BadLine { line: usize, why: String },
    /// The name to add breaks the username rules.
    BadName(String),
    /// The password to add is empty or has a character a line cannot carry.
    BadPassword(&'static str),
    /// The password could not be hashed.
    Hash(String),
}

impl fmt::Display for AccountsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AccountsError::Io { path, source } => write!(f, "{}: {source}", path.display()),
            AccountsError::BadLine { line, why } => write!(f, "line {line}: {why}"),
            AccountsError::BadName(why) => write!(f, "bad username: {why}"),
            AccountsError::BadPassword(why) => write!(f, "bad password: {why}"),
            AccountsError::Hash(why) => write!(f, "cannot hash the password: {why}"),
        }
    }
}

impl std::error::Error for AccountsError {}

impl AccountFile {
    /// Reads and checks the accounts file at `path`.
    ///
    /// # Errors
    /// When it cannot be read, or a line is bad ([`AccountsError::BadLine`] names the first).
    pub fn load(path: &Path) -> Result<AccountFile, AccountsError> {
        let text = fs::read_to_string(path).map_err(|source| AccountsError::Io {
            path: path.to_owned(),
            source,
        })?;
        AccountFile::parse(&text)
    }

    /// Checks the text of an accounts file and keeps its accounts.
    ///
    /// # Errors
    /// At the first bad line.
    pub fn parse(text: &str) -> Result<AccountFile, AccountsError> {
        let mut file = AccountFile::default();
        for (index, line) in text.lines().enumerate() {
            let bad = |why: String| AccountsError::BadLine {
                line: index + 1,
                why,
            };
            let Some((name, hash)) = parse_line(line).map_err(bad)? else {
                continue;
            };
            let key = name.to_ascii_lowercase();
            if let Some((first, _)) = file.accounts.get(&key) {
                return Err(bad(format!(
                    "'{name}' is '{first}' again (names ignore case)"
                )));
            }
            file.accounts
                .insert(key, (name.to_owned(), hash.to_owned()));
        }
        Ok(file)
    }

    /// How many accounts there are.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// True when the file has no account.
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The account of `name`, in any case.
    pub(super) fn get(&self, name: &str) -> Option<Account<'_>> {
        let (name, hash) = self.accounts.get(&name.to_ascii_lowercase())?;
        Some(Account { name, hash })
    }
}

/// One line of an accounts file: `None` for an empty line or a comment.
fn parse_line(line: &str) -> Result<Option<(&str, &str)>, String> {
    let line = line.trim_end_matches('\r');
    if line.trim().is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (name, hash) = line
        .split_once(':')
        .ok_or("not 'name:<argon2id hash>' (no ':')")?;
    check_username(name).map_err(|why| format!("bad username '{name}': {why}"))?;
    passwords::check_hash(hash).map_err(|why| format!("the hash of '{name}' is {why}"))?;
    Ok(Some((name, hash)))
}

/// Adds the account `name` with `password` to the accounts file at `path`, or replaces the
/// password of the account of that name (in any case). The file is created if it does not
/// exist; its other lines are kept as they are. Returns true when an account was replaced.
///
/// # Errors
/// When the name or password is refused, the file exists and is bad, or it cannot be written.
pub fn add_account(path: &Path, name: &str, password: &str) -> Result<bool, AccountsError> {
    check_username(name).map_err(|why| AccountsError::BadName(why.to_string()))?;
    passwords::check_password(password).map_err(AccountsError::BadPassword)?;
    let io = |source| AccountsError::Io {
        path: path.to_owned(),
        source,
    };
    let old = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) if error.kind() == io::ErrorKind::NotFound => String::new(),
        Err(error) => return Err(io(error)),
    };
    let replaced = AccountFile::parse(&old)?.get(name).is_some();
    let line = format!("{name}:{}", passwords::hash(password)?);
    let new = with_account(&old, name, &line);
    write_atomically(path, new.as_bytes()).map_err(io)?;
    Ok(replaced)
}

/// `text` (a good accounts file) with `line` in place of the account of `name`, or after the
/// last line when it has none.
fn with_account(text: &str, name: &str, line: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let is_name = |l: &&str| matches!(parse_line(l), Ok(Some((other, _))) if other.eq_ignore_ascii_case(name));
    match lines.iter().position(is_name) {
        Some(at) => lines[at] = line,
        None => lines.push(line),
    }
    let mut new = lines.join("\n");
    new.push('\n');
    new
}

/// Writes `bytes` to a new file beside `path`, flushed to the disk, then renames it over
/// `path`: whoever opens `path` gets the old file or the new one, whole.
fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    let mut temporary_name = std::ffi::OsString::from(".");
    temporary_name.push(name);
    temporary_name.push(format!(".{}.tmp", std::process::id()));
    let temporary = path.with_file_name(temporary_name);
    let written = (|| {
        let mut file = fs::File::create(&temporary)?;
        // The new file is as private as the old one was.
        if let Ok(old) = fs::metadata(path) {
            file.set_permissions(old.permissions())?;
        }
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = fs::remove_file(&temporary);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real hash, made once: hashing is slow on purpose.
    fn hash_of(password: &str) -> String {
        passwords::hash(password).unwrap()
    }

    #[test]
    fn accounts_are_found_in_any_case_under_the_name_as_written() {
        let text = format!("# accounts\n\nAlice:{}\n", hash_of("pw"));
        let file = AccountFile::parse(&text).unwrap();
        assert_eq!(file.len(), 1);
        let account = file.get("ALICE").expect("found without case");
        assert_eq!(account.name, "Alice");
        assert!(file.get("bob").is_none());
    }

    #[test]
    fn a_bad_line_is_refused_with_its_number() {
        let good = format!("alice:{}", hash_of("pw"));
        for (text, line) in [
            (format!("{good}\nbob\n"), 2),
            (format!("{good}\nb b:{}\n", hash_of("x")), 2),
            (format!("# x\nbob:$argon2id$nonsense\n{good}"), 2),
            (format!("bob:plain text\n{good}"), 1),
            (format!("{good}\n\nALICE:{}\n", hash_of("y")), 3),
            (
                "bob:$2b$10$abcdefghijklmnopqrstuuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ12".into(),
                1,
            ),
        ] {
            match AccountFile::parse(&text) {
                Err(AccountsError::BadLine { line: got, .. }) => assert_eq!(got, line, "{text}"),
                Err(other) => panic!("{text}: {other}"),
                Ok(_) => panic!("{text} was accepted"),
            }
        }
    }

    #[test]
    fn adding_an_account_keeps_the_other_lines_and_replaces_one_of_its_name() {
        let old = format!("# ours\nalice:{}\nbob:{}\n", hash_of("a"), hash_of("b"));
        let new = with_account(&old, "BOB", "BOB:new");
        let lines: Vec<&str> = new.lines().collect();
        assert_eq!(lines[..2], old.lines().collect::<Vec<_>>()[..2]);
        assert_eq!(lines[2], "BOB:new");
        assert_eq!(lines.len(), 3);
        assert_eq!(with_account("", "carol", "carol:x"), "carol:x\n");
    }

    #[test]
    fn a_file_written_atomically_leaves_no_temporary_behind() {
        let folder = std::env::temp_dir().join(format!("chat-accounts-{}", std::process::id()));
        fs::create_dir_all(&folder).unwrap();
        let path = folder.join("accounts");
        assert!(!add_account(&path, "alice", "secret one").unwrap());
        assert!(add_account(&path, "Alice", "secret two").unwrap());
        assert!(!add_account(&path, "bob", "secret three").unwrap());
        let file = AccountFile::load(&path).unwrap();
        assert_eq!(file.len(), 2);
        let alice = file.get("alice").unwrap();
        assert_eq!(alice.name, "Alice");
        assert!(passwords::verify("secret two", alice.hash));
        let names: Vec<_> = fs::read_dir(&folder)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["accounts"]);
        fs::remove_dir_all(&folder).unwrap();
    }
}
