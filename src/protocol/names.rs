//! What a username, a file name and a line of text may hold. The server checks what clients
//! send with these rules, and a client checks what the server sends with the same ones, so that
//! neither side has to trust the other to have checked.

use std::fmt;

use super::FrameError;

/// The longest username, in characters (all of them ASCII).
pub const MAX_USERNAME_LEN: usize = 32;
/// The longest file name, in bytes: `received_`, a suffix and this still fit in 255 bytes.
pub const MAX_FILE_NAME_LEN: usize = 200;

/// Why a username or a file name was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    /// No characters at all.
    Empty,
    /// Longer than the limit (characters for usernames, bytes for file names).
    TooLong { limit: usize },
    /// A character the rules do not allow (the first one found).
    BadCharacter(char),
    /// `.` or `..`, which name folders, not files.
    Reserved,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NameError::Empty => write!(f, "it is empty"),
            NameError::TooLong { limit } => write!(f, "it is longer than {limit}"),
            NameError::BadCharacter(c) if c.is_control() => {
                write!(
                    f,
                    "it contains the control character U+{:04X}",
                    u32::from(*c)
                )
            }
            NameError::BadCharacter(c) => write!(f, "it contains '{c}'"),
            NameError::Reserved => write!(f, "'.' and '..' are not file names"),
        }
    }
}

impl std::error::Error for NameError {}

/// Checks a username: 1-32 ASCII letters, digits, `_`, `-` or `.`.
///
/// ASCII only, as IRC servers default to, so that look-alike letters cannot impersonate anyone.
///
/// # Errors
/// Says which rule the name breaks.
pub fn check_username(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')))
    {
        return Err(NameError::BadCharacter(c));
    }
    if name.len() > MAX_USERNAME_LEN {
        return Err(NameError::TooLong {
            limit: MAX_USERNAME_LEN,
        });
    }
    Ok(())
}

/// Checks a file name: 1-200 bytes of UTF-8 without `/`, `\`, `:` or control characters (NUL
/// included), and not `.` or `..`. A name that passes cannot leave the folder it is saved in.
///
/// # Errors
/// Says which rule the name breaks.
pub fn check_file_name(name: &str) -> Result<(), NameError> {
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if let Some(c) = name
        .chars()
        .find(|c| matches!(c, '/' | '\\' | ':') || c.is_control())
    {
        return Err(NameError::BadCharacter(c));
    }
    if name.len() > MAX_FILE_NAME_LEN {
        return Err(NameError::TooLong {
            limit: MAX_FILE_NAME_LEN,
        });
    }
    if name == "." || name == ".." {
        return Err(NameError::Reserved);
    }
    Ok(())
}

/// True when `c` may not be relayed: C0 controls but TAB, DEL, and C1 controls.
pub fn is_forbidden_control(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// Refuses text that holds a forbidden control character.
pub(super) fn check_text(text: &str) -> Result<(), FrameError> {
    if text.chars().any(is_forbidden_control) {
        Err(FrameError::ControlCharacter)
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_rules() {
        for good in ["a", "alice", "Bob_2", "x-y.z", &"n".repeat(32)] {
            assert_eq!(check_username(good), Ok(()), "{good}");
        }
        let bad: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            (&"n".repeat(33), NameError::TooLong { limit: 32 }),
            ("al ice", NameError::BadCharacter(' ')),
            ("a:b", NameError::BadCharacter(':')),
            ("[JOIN]", NameError::BadCharacter('[')),
            ("a,b", NameError::BadCharacter(',')),
            ("аlice", NameError::BadCharacter('а')), // Cyrillic a
            ("é", NameError::BadCharacter('é')),
        ];
        for (name, why) in bad {
            assert_eq!(check_username(name).as_ref(), Err(why), "{name}");
        }
    }

    #[test]
    fn file_names_follow_the_rules() {
        for good in [
            "a",
            "notes.txt",
            ".hidden",
            "a b.txt",
            "ünï.txt",
            &"f".repeat(200),
        ] {
            assert_eq!(check_file_name(good), Ok(()), "{good}");
        }
        let bad: &[(&str, NameError)] = &[
            ("", NameError::Empty),
            (".", NameError::Reserved),
            ("..", NameError::Reserved),
            ("../x", NameError::BadCharacter('/')),
            ("a/b", NameError::BadCharacter('/')),
            ("a\\b", NameError::BadCharacter('\\')),
            ("x:y", NameError::BadCharacter(':')),
            ("nul\0", NameError::BadCharacter('\0')),
            ("esc\x1b", NameError::BadCharacter('\x1b')),
            (&"f".repeat(201), NameError::TooLong { limit: 200 }),
        ];
        for (name, why) in bad {
            assert_eq!(check_file_name(name).as_ref(), Err(why), "{name:?}");
        }
    }
}
