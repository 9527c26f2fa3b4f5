//! Saving received files, the end of the inbound path for a file frame: the bytes land in the
//! downloads folder as `received_<name>` (or the next free `-N` name), never over an existing
//! file and never half-written.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// How many `-N` suffixes (and temporary names) are tried before saving a file gives up.
const MAX_NAME_TRIES: u32 = 1000;

/// Saves a received file in `folder` as `received_<name>`, or the next free `-N` name, and
/// returns the name used. Never overwrites a file and never leaves a partial one behind.
///
/// The bytes go to a hidden temporary file first, which is then hard-linked to the final name:
/// a link fails with `AlreadyExists` instead of replacing a file, so trying the next name is safe
/// even if another program creates files in the folder meanwhile. `name` has passed
/// [`protocol::check_file_name`](crate::protocol::check_file_name), so joining it onto `folder`
/// stays inside `folder`.
pub(super) fn save_file(folder: &Path, name: &str, data: &[u8]) -> io::Result<String> {
    fs::create_dir_all(folder)?;
    let (temp_path, mut temp) = create_temp_file(folder, name)?;
    let saved = temp
        .write_all(data)
        .and_then(|()| link_to_free_name(&temp_path, folder, name));
    drop(temp);
    // The temporary name was only a step: it goes whether the link worked or not.
    if let Err(error) = fs::remove_file(&temp_path) {
        log::warn!("cannot remove {}: {error}", temp_path.display());
    }
    saved
}

/// Creates `.received_<name>.<pid>-<n>.part` with `create_new`, so it is never someone else's.
fn create_temp_file(folder: &Path, name: &str) -> io::Result<(PathBuf, File)> {
    let pid = std::process::id();
    for n in 0..MAX_NAME_TRIES {
        let path = folder.join(format!(".received_{name}.{pid}-{n}.part"));
        match OpenOptions::new().write(true).create_new(true).open(&path) {
            Ok(file) => return Ok((path, file)),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(no_free_name())
}

fn link_to_free_name(temp_path: &Path, folder: &Path, name: &str) -> io::Result<String> {
    for n in 0..MAX_NAME_TRIES {
        let candidate = received_name(name, n);
        match fs::hard_link(temp_path, folder.join(&candidate)) {
            Ok(()) => return Ok(candidate),
            Err(error) if error.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(error) => return Err(error),
        }
    }
    Err(no_free_name())
}

fn no_free_name() -> io::Error {
    io::Error::new(io::ErrorKind::AlreadyExists, "no free file name left")
}

/// `received_<name>` for `n == 0`, else with `-<n>` before the extension:
/// `received_notes-1.txt`. A leading dot is not an extension: `received_.profile-1`.
fn received_name(name: &str, n: u32) -> String {
    if n == 0 {
        return format!("received_{name}");
    }
    match name.rfind('.') {
        Some(dot) if dot > 0 => format!("received_{}-{n}{}", &name[..dot], &name[dot..]),
        _ => format!("received_{name}-{n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn received_names_number_before_the_extension() {
        let cases = [
            ("notes.txt", 0, "received_notes.txt"),
            ("notes.txt", 1, "received_notes-1.txt"),
            ("notes.txt", 2, "received_notes-2.txt"),
            ("a.tar.gz", 1, "received_a.tar-1.gz"),
            ("README", 3, "received_README-3"),
            (".profile", 1, "received_.profile-1"),
        ];
        for (name, n, expected) in cases {
            assert_eq!(received_name(name, n), expected);
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

    fn entries(folder: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(folder)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn saved_files_never_overwrite_and_leave_no_temporary() {
        let folder = temp_folder("save");
        let downloads = folder.join("new");
        assert_eq!(
            save_file(&downloads, "n.txt", b"one").unwrap(),
            "received_n.txt"
        );
        assert_eq!(
            save_file(&downloads, "n.txt", b"two").unwrap(),
            "received_n-1.txt"
        );
        assert_eq!(entries(&downloads), ["received_n-1.txt", "received_n.txt"]);
        assert_eq!(fs::read(downloads.join("received_n.txt")).unwrap(), b"one");
        assert_eq!(
            fs::read(downloads.join("received_n-1.txt")).unwrap(),
            b"two"
        );
        fs::remove_dir_all(&folder).unwrap();
    }
}
