//! The `known_servers` file (feature `tls`): the servers whose certificate this user trusted on
//! first use, as ssh's `known_hosts`. One server a line, `HOST:PORT FINGERPRINT` (the SHA-256 of
//! its certificate, `AB:12:...`); empty lines and lines starting with `#` are ignored. The
//! first connection to a server adds its line; a later one must show the same fingerprint.
//!
//! The default file is `$XDG_CONFIG_HOME/chat/known_servers`, or
//! `~/.config/chat/known_servers` without `XDG_CONFIG_HOME`.

use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::transport::Fingerprint;

/// A server's line in the file: where it is (1 for the first line) and what it remembers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Remembered {
    pub(super) line: usize,
    pub(super) fingerprint: Fingerprint,
}

/// A line for `address` that does not read as `HOST:PORT FINGERPRINT`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct BadLine(pub(super) usize);

/// The default file, from the environment's `XDG_CONFIG_HOME` and `HOME`; `None` without
/// either.
pub fn default_path() -> Option<PathBuf> {
    default_path_from(
        std::env::var_os("XDG_CONFIG_HOME"),
        std::env::var_os("HOME"),
    )
}

fn default_path_from(xdg_config_home: Option<OsString>, home: Option<OsString>) -> Option<PathBuf> {
    // The XDG rule: a relative XDG_CONFIG_HOME is to be ignored, as an empty one.
    let config = xdg_config_home
        .map(PathBuf::from)
        .filter(|path| path.is_absolute())
        .or_else(|| {
            let home = PathBuf::from(home?);
            (!home.as_os_str().is_empty()).then(|| home.join(".config"))
        })?;
    Some(config.join("chat").join("known_servers"))
}

/// What `text` (the file) remembers for `address` (`HOST:PORT`): its first line for it.
pub(super) fn lookup(text: &str, address: &str) -> Result<Option<Remembered>, BadLine> {
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let mut fields = line.split_whitespace();
        if fields.next() != Some(address) {
            continue;
        }
        let number = index + 1;
        // A line for this server that cannot be read must not let any certificate through.
        let fingerprint = match (fields.next(), fields.next()) {
            (Some(fingerprint), None) => fingerprint.parse().map_err(|_| BadLine(number))?,
            _ => return Err(BadLine(number)),
        };
        return Ok(Some(Remembered {
            line: number,
            fingerprint,
        }));
    }
    Ok(None)
}

/// The line that remembers `fingerprint` for `address`.
pub(super) fn entry(address: &str, fingerprint: Fingerprint) -> String {
    format!("{address} {fingerprint}\n")
}

/// Reads the file at `path`; a file that does not exist yet remembers nothing.
pub(super) fn read(path: &Path) -> io::Result<String> {
    match fs::read_to_string(path) {
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(String::new()),
        other => other,
    }
}

/// Adds `address`'s line at the end of the file, creating the file and its folder if need be.
pub(super) fn remember(path: &Path, address: &str, fingerprint: Fingerprint) -> io::Result<()> {
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        fs::create_dir_all(folder)?;
    }
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    // One write of one whole line: two clients remembering at once do not mix their lines.
    file.write_all(entry(address, fingerprint).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fingerprint(seed: &[u8]) -> Fingerprint {
        Fingerprint::of(seed)
    }

    #[test]
    fn a_server_is_found_by_its_address_with_its_line_number() {
        let text = format!(
            "# comment\n\n{}{}",
            entry("example.org:12345", fingerprint(b"a")),
            entry("127.0.0.1:12345", fingerprint(b"b"))
        );
        let found = lookup(&text, "127.0.0.1:12345").unwrap();
        assert_eq!(
            found,
            Some(Remembered {
                line: 4,
                fingerprint: fingerprint(b"b")
            })
        );
        assert_eq!(lookup(&text, "127.0.0.1:1234").unwrap(), None);
    }

    #[test]
    fn an_unreadable_line_for_the_server_is_an_error_naming_it() {
        let text = "127.0.0.1:1 AB:CD\nother:2 nonsense\n";
        assert_eq!(lookup(text, "127.0.0.1:1"), Err(BadLine(1)));
        // Another server's bad line is not this server's business.
        assert_eq!(lookup(text, "127.0.0.1:3"), Ok(None));
        let extra = format!("x:1 {} more\n", fingerprint(b"c"));
        assert_eq!(lookup(&extra, "x:1"), Err(BadLine(1)));
    }

    #[test]
    fn the_default_file_is_in_the_users_config_folder() {
        let path = |xdg: Option<&str>, home: Option<&str>| {
            default_path_from(xdg.map(OsString::from), home.map(OsString::from))
        };
        let expected = |folder: &str| Some(Path::new(folder).join("chat/known_servers"));
        assert_eq!(path(Some("/xdg"), Some("/home/u")), expected("/xdg"));
        assert_eq!(path(None, Some("/home/u")), expected("/home/u/.config"));
        assert_eq!(
            path(Some("relative"), Some("/home/u")),
            expected("/home/u/.config")
        );
        assert_eq!(path(Some(""), Some("/home/u")), expected("/home/u/.config"));
        assert_eq!(path(None, None), None);
        assert_eq!(path(None, Some("")), None);
    }

    #[test]
    fn a_remembered_server_is_found_again() {
        let folder = std::env::temp_dir().join(format!("chat-known-{}", std::process::id()));
        let path = folder.join("deeper/known_servers");
        remember(&path, "h:1", fingerprint(b"x")).unwrap();
        remember(&path, "h:2", fingerprint(b"y")).unwrap();
        let text = read(&path).unwrap();
        let found = lookup(&text, "h:2").unwrap().unwrap();
        assert_eq!((found.line, found.fingerprint), (2, fingerprint(b"y")));
        fs::remove_dir_all(&folder).unwrap();
        assert_eq!(read(&path).unwrap(), "");
    }
}
