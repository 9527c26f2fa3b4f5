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
    /// An invisible character (a Unicode format character or a line or paragraph separator, see
    /// [`is_invisible`]) in a file name: it could hide or reorder what the name shows, so that
    /// `received_<U+202E>txt.exe` reads as `received_exe.txt`.
    Invisible(char),
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
            // Printed as a number: printed as itself it would do what it was refused for.
            NameError::BadCharacter(c) | NameError::Invisible(c) if is_invisible(*c) => {
                write!(
                    f,
                    "it contains the invisible character U+{:04X}",
                    u32::from(*c)
                )
            }
            NameError::BadCharacter(c) | NameError::Invisible(c) => {
                write!(f, "it contains '{c}'")
            }
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

/// Checks a file name: 1-200 bytes of UTF-8 without `/`, `\`, `:`, control characters (NUL
/// included) or invisible characters ([`is_invisible`]), and not `.` or `..`. A name that passes
/// cannot leave the folder it is saved in, and shows as what it is.
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
    if let Some(c) = name.chars().find(|&c| is_invisible(c)) {
        return Err(NameError::Invisible(c));
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

/// The Unicode format characters (general category Cf, Unicode 16), as inclusive ranges. std has
/// no table of categories and the design keeps its four crates, so here are the 21 ranges.
/// They draw nothing and change how the text around them shows: bidi embeddings, overrides and
/// isolates (U+202A-U+202E, U+2066-U+2069), zero-width spaces and joiners (U+200B-U+200D),
/// the byte order mark, soft hyphen, and tags (U+E0001, U+E0020-U+E007F).
const FORMAT_CHARACTERS: [(char, char); 21] = [
    ('\u{00AD}', '\u{00AD}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{180E}', '\u{180E}'),
    ('\u{200B}', '\u{200F}'),
    ('\u{202A}', '\u{202E}'),
    ('\u{2060}', '\u{2064}'),
    ('\u{2066}', '\u{206F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFF9}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0001}', '\u{E0001}'),
    ('\u{E0020}', '\u{E007F}'),
];

/// True for a character that shows nothing of its own but can hide or reorder the text around
/// it: a Unicode format character (category Cf, the table `FORMAT_CHARACTERS`), or the line and
/// paragraph separators U+2028 and U+2029. File names may not hold them; messages may (writers of
/// right-to-left scripts need some), and the client closes what they open at the end of a line.
pub fn is_invisible(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}')
        || FORMAT_CHARACTERS
            .iter()
            .any(|&(first, last)| (first..=last).contains(&c))
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
            ("x\u{202e}txt.exe", NameError::Invisible('\u{202e}')),
            ("a\u{2066}b", NameError::Invisible('\u{2066}')),
            ("zero\u{200b}width", NameError::Invisible('\u{200b}')),
            ("\u{feff}bom", NameError::Invisible('\u{feff}')),
            ("soft\u{ad}hyphen", NameError::Invisible('\u{ad}')),
            ("line\u{2028}sep", NameError::Invisible('\u{2028}')),
            ("para\u{2029}sep", NameError::Invisible('\u{2029}')),
            ("tag\u{e0041}", NameError::Invisible('\u{e0041}')),
        ];
        for (name, why) in bad {
            assert_eq!(check_file_name(name).as_ref(), Err(why), "{name:?}");
        }
    }

    #[test]
    fn invisible_characters_are_the_format_characters_and_separators() {
        for c in [
            '\u{ad}',
            '\u{600}',
            '\u{605}',
            '\u{61c}',
            '\u{6dd}',
            '\u{70f}',
            '\u{890}',
            '\u{8e2}',
            '\u{180e}',
            '\u{200b}',
            '\u{200f}',
            '\u{202a}',
            '\u{202e}',
            '\u{2060}',
            '\u{2064}',
            '\u{2066}',
            '\u{2069}',
            '\u{206f}',
            '\u{feff}',
            '\u{fff9}',
            '\u{fffb}',
            '\u{110bd}',
            '\u{110cd}',
            '\u{13430}',
            '\u{1343f}',
            '\u{1bca0}',
            '\u{1bca3}',
            '\u{1d173}',
            '\u{1d17a}',
            '\u{e0001}',
            '\u{e0020}',
            '\u{e007f}',
            '\u{2028}',
            '\u{2029}',
        ] {
            assert!(is_invisible(c), "U+{:04X}", u32::from(c));
        }
        // Neighbours of the ranges, and visible characters right-to-left writers use.
        for c in [
            'a',
            ' ',
            '\u{a0}',
            '\u{ac}',
            '\u{ae}',
            '\u{606}',
            '\u{2010}',
            '\u{2027}',
            '\u{202f}',
            '\u{2065}',
            '\u{2070}',
            '\u{fffc}',
            '\u{fffd}',
            '\u{e0000}',
            '\u{e0080}',
            'ש',
            'ع',
            'é',
        ] {
            assert!(!is_invisible(c), "U+{:04X}", u32::from(c));
        }
    }

    #[test]
    fn refused_characters_print_as_numbers_when_they_would_not_show() {
        assert_eq!(
            NameError::Invisible('\u{202e}').to_string(),
            "it contains the invisible character U+202E"
        );
        assert_eq!(
            NameError::BadCharacter('\u{202e}').to_string(),
            "it contains the invisible character U+202E"
        );
        assert_eq!(
            NameError::BadCharacter('\u{1b}').to_string(),
            "it contains the control character U+001B"
        );
        assert_eq!(NameError::BadCharacter('/').to_string(), "it contains '/'");
    }
}
