//! Saving received files, the end of the inbound path for a file frame: the bytes land in the
//! downloads folder as `received_<name>` (or the next free `-N` name), never over an existing
//! file and never half-written. A client killed while it saves leaves its hidden temporary
//! behind; the next run removes it ([`remove_stale_temporaries`]).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// How many `-N` suffixes (and temporary names) are tried before saving a file gives up.
const MAX_NAME_TRIES: u32 = 1000;
/// A temporary is `.received_<name>.<pid>-<n>.part`: hidden, and named after the process that
/// writes it, so that a later run can tell whether that process is still there.
const TEMP_PREFIX: &str = ".received_";
const TEMP_SUFFIX: &str = ".part";
/// Where it cannot be asked whether a process is running, a temporary this old is stale: no
/// file takes a day to arrive.
const STALE_AGE: Duration = Duration::from_secs(24 * 60 * 60);

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
        let path = folder.join(format!("{TEMP_PREFIX}{name}.{pid}-{n}{TEMP_SUFFIX}"));
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

/// Where a saved file is, as the user would type it: the downloads folder and its name (only
/// its name when the folder is the current one).
pub(super) fn saved_path(folder: &Path, saved: &str) -> String {
    if folder == Path::new(".") {
        saved.to_owned()
    } else {
        folder.join(saved).display().to_string()
    }
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

/// Removes, from `folder`, the temporaries that earlier runs of the client left behind when they
/// were killed while saving: files named `.received_<name>.<pid>-<n>.part` whose process is gone
/// (on Linux, `/proc/<pid>` is missing; elsewhere, the file is older than 24 hours), and those
/// named after this process, which has saved nothing yet. Nothing else is touched: not other
/// names, not folders or links, not the temporaries of a client still running. Call it before
/// the first file can arrive. Each removal is logged at info level.
pub(super) fn remove_stale_temporaries(folder: &Path) {
    let entries = match fs::read_dir(folder) {
        Ok(entries) => entries,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return, // nothing saved yet
        Err(error) => {
            log::warn!(
                "cannot look for stale temporaries in {}: {error}",
                folder.display()
            );
            return;
        }
    };
    let own_pid = std::process::id();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(temp_file_pid) else {
            continue;
        };
        // symlink_metadata: a link is not a temporary, whatever it is named.
        let Ok(metadata) = fs::symlink_metadata(entry.path()) else {
            continue;
        };
        if !metadata.is_file() {
            continue;
        }
        let age = metadata
            .modified()
            .ok()
            .and_then(|modified| SystemTime::now().duration_since(modified).ok())
            .unwrap_or_default();
        if !is_stale(pid, own_pid, owner(pid), age) {
            continue;
        }
        let path = entry.path();
        match fs::remove_file(&path) {
            Ok(()) => log::info!(
                "removed {}, left by process {pid} while it saved a file",
                path.display()
            ),
            Err(error) => log::warn!("cannot remove {}: {error}", path.display()),
        }
    }
}

/// The process id in a temporary's name `.received_<name>.<pid>-<n>.part`; `None` for any other
/// name.
fn temp_file_pid(file_name: &str) -> Option<u32> {
    let inner = file_name
        .strip_prefix(TEMP_PREFIX)?
        .strip_suffix(TEMP_SUFFIX)?;
    let (name, pid_n) = inner.rsplit_once('.')?;
    let (pid, n) = pid_n.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if name.is_empty() || !digits(pid) || !digits(n) {
        return None;
    }
    pid.parse().ok()
}

/// Whether the process that wrote a temporary is still there, as far as can be told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    Running,
    Gone,
    Unknown,
}

/// Asks the system about process `pid`: on Linux `/proc` says; elsewhere std cannot tell.
fn owner(pid: u32) -> Owner {
    if cfg!(target_os = "linux") && Path::new("/proc/self").exists() {
        if Path::new("/proc").join(pid.to_string()).exists() {
            Owner::Running
        } else {
            Owner::Gone
        }
    } else {
        Owner::Unknown
    }
}

/// Whether a temporary written by process `pid`, `age` old, is left over. One named after this
/// process is: this run has saved nothing yet, so an earlier process with the same id wrote it.
fn is_stale(pid: u32, own_pid: u32, owner: Owner, age: Duration) -> bool {
    pid == own_pid
        || match owner {
            Owner::Gone => true,
            Owner::Running => false,
            Owner::Unknown => age >= STALE_AGE,
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

    #[test]
    fn temporaries_are_told_by_their_whole_name() {
        let cases = [
            (".received_notes.txt.1234-0.part", Some(1234)),
            (".received_a-1.b.c.77-12.part", Some(77)),
            (".received_x.1-999.part", Some(1)),
            (".received_.1-0.part", None),
            (".received_notes.txt.part", None),
            (".received_notes.txt.12a-0.part", None),
            (".received_notes.txt.12-.part", None),
            (".received_notes.txt.-1.part", None),
            (".received_notes.txt.1234-0.part.x", None),
            ("received_notes.txt.1234-0.part", None),
            (".received_notes.txt.99999999999-0.part", None),
            ("notes.txt", None),
        ];
        for (name, pid) in cases {
            assert_eq!(temp_file_pid(name), pid, "{name}");
        }
    }

    #[test]
    fn a_temporary_is_stale_once_its_process_is_gone() {
        let hour = Duration::from_secs(3600);
        let cases = [
            (7, Owner::Gone, Duration::ZERO, true),
            (7, Owner::Running, 100 * 24 * hour, false),
            (7, Owner::Unknown, 23 * hour, false),
            (7, Owner::Unknown, 24 * hour, true),
            // Named after this process, which has saved nothing yet.
            (1, Owner::Running, Duration::ZERO, true),
        ];
        for (pid, owner, age, stale) in cases {
            assert_eq!(
                is_stale(pid, 1, owner, age),
                stale,
                "{pid} {owner:?} {age:?}"
            );
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
