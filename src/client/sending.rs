//! Sending a file, the outbound path for `/file PATH [as NAME]`: once `file_command.rs` has read
//! the line, [`load_file`] checks the file and the name it is sent under as the server will, and
//! reads it, at most `max_file_size` bytes, for the main thread to send as one file frame.
//! [`prepare_file`] does both for a front end (the line client's session, the terminal UI): a
//! `/file` line's arguments in, a file ready to send and the line that says it was sent out.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use super::FILE_COMMAND;
use super::file_command::parse_request;
use super::render::Line;
use super::safe_text::escaped;
use crate::protocol::{self, NameError};

/// A file a `/file` line asked for, read and checked, ready to go as one file frame.
#[derive(Debug)]
pub(super) struct ReadyFile {
    /// The name it is sent under.
    pub(super) name: String,
    pub(super) data: Vec<u8>,
    /// What to show once it is out: `File 'notes.txt' sent.` (`... sent as 'x.txt'.`).
    pub(super) sent: Line,
}

/// Reads the file a `/file` line asks for (`args` is what follows `/file`; `~` is `$HOME`), at
/// most `limit` bytes.
///
/// # Errors
/// Why nothing can be sent, as the text of an `[ERROR]` line for the user.
pub(super) fn prepare_file(args: &str, limit: u64) -> Result<ReadyFile, String> {
    let home = std::env::var("HOME").ok();
    let request = parse_request(args, home.as_deref()).map_err(|why| why.to_string())?;
    let shown = escaped(&request.shown);
    let (name, data) = load_file(&request.path, request.name.as_deref(), limit)
        .map_err(|why| format!("cannot send '{shown}': {why}"))?;
    let sent = match &request.name {
        Some(_) => format!("File '{shown}' sent as '{}'.", escaped(&name)),
        None => format!("File '{shown}' sent."),
    };
    Ok(ReadyFile {
        name,
        data,
        sent: Line::notification(&sent),
    })
}

/// Why `/file PATH` sent nothing.
#[derive(Debug)]
pub(super) enum LoadError {
    /// The path ends in `..` or `/`, or is a root.
    NoFileName,
    /// The file's name is not valid UTF-8, so it cannot go in a header.
    NameNotUtf8,
    /// The file's own name breaks the protocol's rules.
    BadName(NameError),
    /// The name given with `as NAME` breaks the protocol's rules.
    BadNewName(NameError),
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
            LoadError::NameNotUtf8 => write!(
                f,
                "its name is not valid UTF-8; {FILE_COMMAND} PATH as NAME sends it under another"
            ),
            // What helps is renaming the file, or sending it under a name the rules allow.
            LoadError::BadName(why) => write!(
                f,
                "bad file name: {why}; rename the file, or send it under another name with \
                 {FILE_COMMAND} PATH as NAME"
            ),
            LoadError::BadNewName(why) => write!(f, "bad name after 'as': {why}"),
            LoadError::NotAFile => write!(f, "it is not a regular file"),
            LoadError::TooLarge { size, limit } => {
                write!(f, "file too large: {size} bytes, the limit is {limit}")
            }
            LoadError::Read(error) => write!(f, "{error}"),
        }
    }
}

/// Reads a file to send: the name it is sent under (`new_name`, else its base name; checked as
/// the server will check it) and its bytes.
pub(super) fn load_file(
    path: &Path,
    new_name: Option<&str>,
    limit: u64,
) -> Result<(String, Vec<u8>), LoadError> {
    let name = match new_name {
        Some(name) => {
            protocol::check_file_name(name).map_err(LoadError::BadNewName)?;
            name
        }
        None => {
            let name = path
                .file_name()
                .ok_or(LoadError::NoFileName)?
                .to_str()
                .ok_or(LoadError::NameNotUtf8)?;
            protocol::check_file_name(name).map_err(LoadError::BadName)?;
            name
        }
    };
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

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::*;

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
            load_file(&path, None, 5).unwrap(),
            ("data.bin".to_owned(), b"12345".to_vec())
        );
        assert!(matches!(
            load_file(&path, None, 4),
            Err(LoadError::TooLarge { size: 5, limit: 4 })
        ));
        assert!(matches!(
            load_file(&folder, None, 5),
            Err(LoadError::NotAFile)
        ));
        assert!(matches!(
            load_file(Path::new("/"), None, 5),
            Err(LoadError::NoFileName)
        ));
        assert!(matches!(
            load_file(&folder.join("missing"), None, 5),
            Err(LoadError::Read(_))
        ));
        fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn a_file_is_sent_under_the_name_given_after_as() {
        let folder = temp_folder("as_name");
        let path = folder.join("a:b.txt");
        fs::write(&path, b"x").unwrap();
        assert!(matches!(
            load_file(&path, None, 5),
            Err(LoadError::BadName(NameError::BadCharacter(':')))
        ));
        assert_eq!(
            load_file(&path, Some("ab.txt"), 5).unwrap(),
            ("ab.txt".to_owned(), b"x".to_vec())
        );
        assert!(matches!(
            load_file(&path, Some("c:d.txt"), 5),
            Err(LoadError::BadNewName(NameError::BadCharacter(':')))
        ));
        fs::remove_dir_all(&folder).unwrap();
    }

    #[test]
    fn a_bad_name_of_the_files_own_says_what_helps() {
        assert_eq!(
            LoadError::BadName(NameError::BadCharacter(':')).to_string(),
            "bad file name: it contains ':'; rename the file, or send it under another name \
             with /file PATH as NAME"
        );
    }
}
