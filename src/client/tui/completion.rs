//! Tab completion of the word before the cursor: a command word (`/m` -> `/msg `), a name after
//! `/msg` (from who is online), a path after `/file` (from the folder it names). Pure but for
//! [`list_folder`], which the caller passes in, so tests give a folder of their own.
//!
//! One candidate completes the word; several complete what they share, and the screen lists them.

use std::fs;
use std::path::{Path, PathBuf};

use super::super::FILE_COMMAND;

/// The command words Tab completes, with the space that follows those that take more.
const COMMANDS: [&str; 5] = ["/file ", "/files ", "/help", "/msg ", "/users"];

/// How to complete the line: put `with` in place of the text from byte `from` to the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Completion {
    pub(super) from: usize,
    pub(super) with: String,
    /// Every candidate, when there is more than one (for the screen to list, without the space
    /// a completion ends with); else empty.
    pub(super) candidates: Vec<String>,
}

/// An entry of a folder: its name, and whether it is a folder itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FolderEntry {
    pub(super) name: String,
    pub(super) is_folder: bool,
}

/// The completion of `before` (the text before the cursor); `None` when nothing completes it.
/// `names` are who is online, `own` this user's name (never a completion for `/msg`);
/// `list` lists a folder.
pub(super) fn complete(
    before: &str,
    names: &[String],
    own: Option<&str>,
    list: impl Fn(&Path) -> Vec<FolderEntry>,
) -> Option<Completion> {
    if let Some(partial) = before.strip_prefix("/msg ") {
        let partial = partial.trim_start_matches(' ');
        if partial.contains(' ') {
            return None; // past the name, in the text
        }
        let from = before.len() - partial.len();
        let lower = partial.to_ascii_lowercase();
        let matching: Vec<String> = names
            .iter()
            .filter(|name| Some(name.as_str()) != own)
            .filter(|name| name.to_ascii_lowercase().starts_with(&lower))
            .map(|name| format!("{name} "))
            .collect();
        return finish(from, partial, matching);
    }
    if let Some(partial) = before
        .strip_prefix(FILE_COMMAND)
        .and_then(|rest| rest.strip_prefix(' '))
    {
        let partial = partial.trim_start_matches(' ');
        let from = before.len() - partial.len();
        // A path opened with a quote (as a terminal pastes one with spaces) completes inside
        // it, and a file closes it.
        let (quote, path) = match partial.chars().next() {
            Some(quote @ ('\'' | '"')) => (quote.to_string(), &partial[1..]),
            _ => (String::new(), partial),
        };
        let mut found: Vec<String> = paths(path, list)
            .into_iter()
            .map(|found| format!("{quote}{found}"))
            .collect();
        if let [only] = found.as_mut_slice()
            && !only.ends_with('/')
        {
            only.push_str(&quote);
        }
        return finish(from, partial, found);
    }
    if before.starts_with('/') && !before.contains(' ') {
        let matching = COMMANDS
            .iter()
            .filter(|command| command.starts_with(before))
            .map(|command| (*command).to_owned())
            .collect();
        return finish(0, before, matching);
    }
    None
}

/// The paths `partial` may become: the entries of its folder whose names start with its last
/// part, a folder's with a `/` after it. Hidden entries only when the last part starts with a
/// dot. A `~/` at the start stands for the home folder and stays as typed.
fn paths(partial: &str, list: impl Fn(&Path) -> Vec<FolderEntry>) -> Vec<String> {
    let (folder, prefix) = match partial.rfind('/') {
        Some(slash) => (&partial[..=slash], &partial[slash + 1..]),
        None => ("", partial),
    };
    let mut entries: Vec<String> = list(&folder_to_list(folder))
        .into_iter()
        .filter(|entry| entry.name.starts_with(prefix))
        .filter(|entry| prefix.starts_with('.') || !entry.name.starts_with('.'))
        .map(|entry| {
            let slash = if entry.is_folder { "/" } else { "" };
            format!("{folder}{}{slash}", entry.name)
        })
        .collect();
    entries.sort();
    entries
}

/// The folder a typed folder part names: `.` for none, the home folder for a leading `~/`.
fn folder_to_list(folder: &str) -> PathBuf {
    if folder.is_empty() {
        return PathBuf::from(".");
    }
    match (folder.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(folder),
    }
}

/// One candidate completes; several complete what they share (when that is more than what was
/// typed) and are listed.
fn finish(from: usize, typed: &str, mut candidates: Vec<String>) -> Option<Completion> {
    match candidates.len() {
        0 => None,
        1 => Some(Completion {
            from,
            with: candidates.remove(0),
            candidates: Vec::new(),
        }),
        _ => {
            let shared = shared_prefix(&candidates);
            let with = if shared.len() > typed.len() {
                shared
            } else {
                typed.to_owned()
            };
            Some(Completion {
                from,
                with,
                candidates: candidates.iter().map(|c| c.trim_end().to_owned()).collect(),
            })
        }
    }
}

/// The longest start all `words` share, whole characters only.
fn shared_prefix(words: &[String]) -> String {
    let Some(first) = words.first() else {
        return String::new();
    };
    let mut end = first.len();
    for word in &words[1..] {
        end = first
            .char_indices()
            .zip(word.chars())
            .find(|((_, a), b)| a != b)
            .map_or(end.min(word.len()), |((at, _), _)| at.min(end));
    }
    first[..end].to_owned()
}

/// The entries of a folder, for [`complete`]; none when it cannot be read. Entries whose names
/// are not UTF-8 cannot be typed in a `/file` line, so they are left out.
pub(super) fn list_folder(folder: &Path) -> Vec<FolderEntry> {
    let Ok(entries) = fs::read_dir(folder) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            // Follows links: a link to a folder completes as a folder.
            let is_folder = entry.path().is_dir();
            Some(FolderEntry { name, is_folder })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        ["alice", "bob", "Bea", "carol"].map(String::from).to_vec()
    }

    fn no_folder(_: &Path) -> Vec<FolderEntry> {
        Vec::new()
    }

    /// A folder with `notes.txt`, `notes-old.txt`, `photos/` and `.hidden`, whatever is asked.
    fn folder(_: &Path) -> Vec<FolderEntry> {
        [
            ("notes.txt", false),
            ("notes-old.txt", false),
            ("photos", true),
            (".hidden", false),
        ]
        .map(|(name, is_folder)| FolderEntry {
            name: name.to_owned(),
            is_folder,
        })
        .to_vec()
    }

    /// The line once completed (the completion put in place), and the candidates listed.
    fn completed(
        before: &str,
        list: fn(&Path) -> Vec<FolderEntry>,
    ) -> Option<(String, Vec<String>)> {
        let completion = complete(before, &names(), Some("alice"), list)?;
        let line = format!("{}{}", &before[..completion.from], completion.with);
        Some((line, completion.candidates))
    }

    #[test]
    fn a_name_after_msg_completes_from_who_is_online() {
        assert_eq!(
            completed("/msg c", no_folder),
            Some(("/msg carol ".into(), vec![]))
        );
        assert_eq!(
            completed("/msg  C", no_folder),
            Some(("/msg  carol ".into(), vec![])),
            "without case, as names are compared"
        );
    }

    #[test]
    fn several_names_complete_what_they_share_and_are_listed() {
        assert_eq!(
            completed("/msg b", no_folder),
            Some(("/msg b".into(), vec!["bob".into(), "Bea".into()]))
        );
    }

    #[test]
    fn own_name_is_no_completion_and_text_after_the_name_is_left_alone() {
        assert_eq!(completed("/msg al", no_folder), None);
        assert_eq!(completed("/msg bob hi c", no_folder), None);
        assert_eq!(completed("/msg x", no_folder), None);
    }

    #[test]
    fn a_path_after_file_completes_from_its_folder() {
        assert_eq!(
            completed("/file ph", folder),
            Some(("/file photos/".into(), vec![]))
        );
        assert_eq!(
            completed("/file docs/notes.", folder),
            Some(("/file docs/notes.txt".into(), vec![]))
        );
    }

    #[test]
    fn several_paths_complete_what_they_share_and_are_listed() {
        assert_eq!(
            completed("/file n", folder),
            Some((
                "/file notes".into(),
                vec!["notes-old.txt".into(), "notes.txt".into()]
            ))
        );
    }

    #[test]
    fn a_quoted_path_completes_inside_its_quote_and_a_file_closes_it() {
        assert_eq!(
            completed("/file 'notes.", folder),
            Some(("/file 'notes.txt'".into(), vec![]))
        );
        assert_eq!(
            completed("/file \"ph", folder),
            Some(("/file \"photos/".into(), vec![]))
        );
    }

    #[test]
    fn hidden_files_complete_only_after_a_dot() {
        assert_eq!(
            completed("/file .h", folder),
            Some(("/file .hidden".into(), vec![]))
        );
        let all = complete("/file ", &[], None, folder).unwrap();
        assert!(!all.candidates.iter().any(|path| path.starts_with('.')));
    }

    #[test]
    fn command_words_complete() {
        assert_eq!(completed("/m", no_folder), Some(("/msg ".into(), vec![])));
        assert_eq!(completed("/u", no_folder), Some(("/users".into(), vec![])));
        assert_eq!(
            completed("/fi", no_folder),
            Some(("/file".into(), vec!["/file".into(), "/files".into()]))
        );
        assert_eq!(completed("/x", no_folder), None);
        assert_eq!(completed("hello", no_folder), None);
    }

    #[test]
    fn shared_prefixes_keep_whole_characters() {
        let words = |list: &[&str]| list.iter().map(|w| (*w).to_owned()).collect::<Vec<_>>();
        assert_eq!(shared_prefix(&words(&["café", "cafè"])), "caf");
        assert_eq!(shared_prefix(&words(&["ab", "abc"])), "ab");
        assert_eq!(shared_prefix(&words(&["x", "y"])), "");
    }

    #[test]
    fn a_real_folder_lists_files_and_folders() {
        let dir = std::env::temp_dir().join(format!("chat-tui-complete-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("sub")).unwrap();
        fs::write(dir.join("a.txt"), b"a").unwrap();
        let mut entries = list_folder(&dir);
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        let expected = [("a.txt", false), ("sub", true)].map(|(name, is_folder)| FolderEntry {
            name: name.into(),
            is_folder,
        });
        assert_eq!(entries, expected);
        fs::remove_dir_all(&dir).unwrap();
    }
}
