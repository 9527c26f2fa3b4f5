//! Sending a file, the outbound path for `/file PATH`: [`file_command`] finds the PATH in a stdin
//! line, and [`load_file`] checks the file as the server will and reads it, at most
//! `max_file_size` bytes, for the main thread to send as one file frame.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::FILE_COMMAND;
use crate::protocol::{self, NameError};

/// Why `/file PATH` sent nothing.
#[derive(Debug)]
pub(super) enum LoadError {
    /// The path ends in `..` or `/`, or is a root.
    NoFileName,
    /// The file's name is not valid UTF-8, so it cannot go in a header.
    NameNotUtf8,
    /// The file's name breaks the protocol's rules.
    BadName(NameError),
    /// Not a regular file (a folder, a device, a pipe).
    NotAFile,
    /// Larger than `max_file_size`.
    TooLarge { size: u64, limit: u64 },
    /// Opening or reading it failed.
    Read(io::Error),
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LoadError::NoFileName => write!(f, "the path does not end in a file name"),
            LoadError::NameNotUtf8 => write!(f, "its name is not valid UTF-8"),
            LoadError::BadName(why) => write!(f, "bad file name: {why}"),
            LoadError::NotAFile => write!(f, "it is not a regular file"),
            LoadError::TooLarge { size, limit } => {
                write!(f, "file too large: {size} bytes, the limit is {limit}")
            }
            LoadError::Read(error) => write!(f, "{error}"),
        }
    }
}

/// Reads a file to send: its base name (checked as the server will check it) and its bytes.
pub(super) fn load_file(path: &Path, limit: u64) -> Result<(String, Vec<u8>), LoadError> {
    let name = path
        .file_name()
        .ok_or(LoadError::NoFileName)?
        .to_str()
        .ok_or(LoadError::NameNotUtf8)?;
    protocol::check_file_name(name).map_err(LoadError::BadName)?;
    let file = File::open(path).map_err(LoadError::Read)?;
    let metadata = file.metadata().map_err(LoadError::Read)?;
    if !metadata.is_file() {
        return Err(LoadError::NotAFile);
    }
    if metadata.len() > limit {
        return Err(LoadError::TooLarge {
            size: metadata.len(),
            limit,
        });
    }
    // Read at most one byte past the limit: a file that grew since its size was looked at is
    // still caught, and never read whole.
    let mut data = Vec::with_capacity(metadata.len() as usize);
    file.take(limit.saturating_add(1))
        .read_to_end(&mut data)
        .map_err(LoadError::Read)?;
    if data.len() as u64 > limit {
        return Err(LoadError::TooLarge {
            size: data.len() as u64,
            limit,
        });
    }
    Ok((name.to_owned(), data))
}

/// The PATH of a `/file PATH` line (empty for a bare `/file`); `None` for any other line.
pub(super) fn file_command(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(FILE_COMMAND)?;
    if rest.is_empty() || rest.starts_with(char::is_whitespace) {
        Some(rest.trim())
    } else {
        None // `/filex` is not `/file`: a command for the server, sent as typed
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn file_command_takes_the_path_after_a_space() {
        let cases = [
            ("/file notes.txt", Some("notes.txt")),
            ("/file   a b.txt  ", Some("a b.txt")),
            ("/file", Some("")),
            ("/filex", None),
            ("hello /file x", None),
        ];
        for (line, expected) in cases {
            assert_eq!(file_command(line), expected, "{line}");
        }
    }

    /// A fresh empty folder under the system's temporary folder.
    fn temp_folder(test: &str) -> PathBuf {
        let path =
            std::env::temp_dir().join(format!("chat-client-unit-{}-{test}", std::process::id()));
        let _ = fs::remove_dir_all(&path);
        fs::create_dir_all(&path).unwrap();
        path
    }

    #[test]
    fn files_to_send_are_checked_before_reading() {
        let folder = temp_folder("load");
        let path = folder.join("data.bin");
        fs::write(&path, b"12345").unwrap();
        assert_eq!(
            load_file(&path, 5).unwrap(),
            ("data.bin".to_owned(), b"12345".to_vec())
        );
        assert!(matches!(
            load_file(&path, 4),
            Err(LoadError::TooLarge { size: 5, limit: 4 })
        ));
        assert!(matches!(load_file(&folder, 5), Err(LoadError::NotAFile)));
        assert!(matches!(
            load_file(Path::new("/"), 5),
            Err(LoadError::NoFileName)
        ));
        assert!(matches!(
            load_file(&folder.join("missing"), 5),
            Err(LoadError::Read(_))
        ));
        fs::remove_dir_all(&folder).unwrap();
    }
}
