//! What a `/file` line asks for: `/file PATH` or `/file PATH as NAME`, read the way people type
//! and paste paths. Pure: a line in, a [`FileRequest`] or a [`RequestError`] out; `sending.rs`
//! then reads the file.
//!
//! - A PATH may be quoted, as a terminal pastes a dragged file whose name holds spaces:
//!   `'/tmp/my file.txt'` or `"/tmp/my file.txt"`. Quoting follows the shell's rules, so the
//!   form a terminal gives a name with a quote in it (`'/tmp/it'\''s.txt'`) works too.
//! - Unquoted, the PATH is the rest of the line, spaces and all (`/file my notes.txt`), up to a
//!   last ` as ` if there is one; a path that holds ` as ` itself is quoted.
//! - `~` or `~/...` at the start is the home folder (`$HOME`), quoted or not.
//! - `as NAME` sends the file under NAME (quoted or not), which must follow the file-name rules.

use std::fmt;
use std::path::PathBuf;

use super::FILE_COMMAND;

/// What the server will be sent, and how the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct FileRequest {
    /// The path as the user meant it, quotes removed: what messages show.
    pub(super) shown: String,
    /// Where the file is, `~` expanded.
    pub(super) path: PathBuf,
    /// The name to send it under (`as NAME`); `None` sends it under its own name.
    pub(super) name: Option<String>,
}

/// Why a `/file` line asks for nothing that can be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RequestError {
    /// No PATH, or `as` without a NAME.
    Usage,
    /// A quote that is never closed.
    UnclosedQuote,
    /// Something after a quoted PATH other than `as NAME`.
    AfterQuotedPath,
    /// `~` with no home folder to stand for.
    NoHome,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Usage => write!(f, "usage: {FILE_COMMAND} PATH [as NAME]"),
            RequestError::UnclosedQuote => write!(f, "the path has a quote that is not closed"),
            RequestError::AfterQuotedPath => write!(
                f,
                "after a quoted path, only 'as NAME' may follow: {FILE_COMMAND} PATH [as NAME]"
            ),
            RequestError::NoHome => write!(f, "~ stands for $HOME, which is not set"),
        }
    }
}

/// The arguments of a `/file` line (empty for a bare `/file`); `None` for any other line.
pub(super) fn file_command(line: &str) -> Option<&str> {
    let rest = line.strip_prefix(FILE_COMMAND)?;
    if rest.is_empty() || rest.starts_with(char::is_whitespace) {
        Some(rest.trim())
    } else {
        None // `/filex` is not `/file`: a command for the server, sent as typed
    }
}

/// Reads the arguments of `/file` (as [`file_command`] returns them); `home` is `$HOME`.
pub(super) fn parse_request(args: &str, home: Option<&str>) -> Result<FileRequest, RequestError> {
    let args = args.trim();
    let (shown, name) = if args.starts_with(['\'', '"']) {
        let (path, rest) = shell_word(args)?;
        let name = match rest.trim_start() {
            "" => None,
            rest => Some(as_name(rest).ok_or(RequestError::AfterQuotedPath)?),
        };
        (path, name)
    } else {
        match args.rsplit_once(" as ") {
            Some((path, name)) => (path.trim_end().to_owned(), Some(unquoted(name.trim()))),
            // `/file x as` with nothing after it: a usage error, not a file named `x as`.
            None if args.ends_with(" as") => return Err(RequestError::Usage),
            None => (args.to_owned(), None),
        }
    };
    if shown.is_empty() || name.as_deref() == Some("") {
        return Err(RequestError::Usage);
    }
    let path = expand_home(&shown, home)?;
    Ok(FileRequest { shown, path, name })
}

/// `as NAME` (the spaces before it already gone): NAME, unquoted.
fn as_name(rest: &str) -> Option<String> {
    let name = rest.strip_prefix("as")?;
    if !(name.is_empty() || name.starts_with(char::is_whitespace)) {
        return None;
    }
    Some(unquoted(name.trim()))
}

/// `text` without the quotes around it, when it is quoted whole.
fn unquoted(text: &str) -> String {
    match shell_word(text) {
        Ok((word, rest)) if rest.is_empty() && text.starts_with(['\'', '"']) => word,
        _ => text.to_owned(),
    }
}

/// The first word of `text` as a POSIX shell reads it, and what follows it: single quotes keep
/// everything up to the next `'`; double quotes keep everything up to the next `"`, but `\"`,
/// `\\`, `\$` and `` \` `` are the character after the backslash; outside quotes, a backslash
/// keeps the next character and unquoted whitespace ends the word.
fn shell_word(text: &str) -> Result<(String, &str), RequestError> {
    let mut word = String::new();
    let mut chars = text.char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '\'' => loop {
                match chars.next() {
                    Some((_, '\'')) => break,
                    Some((_, c)) => word.push(c),
                    None => return Err(RequestError::UnclosedQuote),
                }
            },
            '"' => loop {
                match chars.next() {
                    Some((_, '"')) => break,
                    Some((_, '\\')) => match chars.next() {
                        Some((_, c @ ('"' | '\\' | '$' | '`'))) => word.push(c),
                        Some((_, c)) => {
                            word.push('\\');
                            word.push(c);
                        }
                        None => return Err(RequestError::UnclosedQuote),
                    },
                    Some((_, c)) => word.push(c),
                    None => return Err(RequestError::UnclosedQuote),
                }
            },
            '\\' => {
                if let Some((_, c)) = chars.next() {
                    word.push(c);
                }
            }
            c if c.is_whitespace() => return Ok((word, &text[at..])),
            c => word.push(c),
        }
    }
    Ok((word, ""))
}

/// `~` and `~/rest` are `home` and `home/rest`; any other path is itself.
fn expand_home(path: &str, home: Option<&str>) -> Result<PathBuf, RequestError> {
    let rest = match path.strip_prefix('~') {
        Some("") => "",
        Some(rest) if rest.starts_with('/') => &rest[1..],
        _ => return Ok(PathBuf::from(path)),
    };
    let home = home
        .filter(|home| !home.is_empty())
        .ok_or(RequestError::NoHome)?;
    Ok(PathBuf::from(home).join(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_command_takes_the_arguments_after_a_space() {
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

    fn request(shown: &str, path: &str, name: Option<&str>) -> FileRequest {
        FileRequest {
            shown: shown.to_owned(),
            path: PathBuf::from(path),
            name: name.map(str::to_owned),
        }
    }

    #[test]
    fn paths_are_read_as_typed_and_as_terminals_paste_them() {
        let cases = [
            ("notes.txt", request("notes.txt", "notes.txt", None)),
            ("a b.txt", request("a b.txt", "a b.txt", None)),
            (
                "'/tmp/my file.txt'",
                request("/tmp/my file.txt", "/tmp/my file.txt", None),
            ),
            (
                "\"/tmp/my file.txt\"",
                request("/tmp/my file.txt", "/tmp/my file.txt", None),
            ),
            (
                "'/tmp/it'\\''s.txt'",
                request("/tmp/it's.txt", "/tmp/it's.txt", None),
            ),
            (
                "\"say \\\"hi\\\".txt\"",
                request("say \"hi\".txt", "say \"hi\".txt", None),
            ),
            ("~/x.txt", request("~/x.txt", "/home/al/x.txt", None)),
            (
                "'~/my x.txt'",
                request("~/my x.txt", "/home/al/my x.txt", None),
            ),
            ("~", request("~", "/home/al", None)),
            ("~bob/x", request("~bob/x", "~bob/x", None)),
            ("a~/x", request("a~/x", "a~/x", None)),
        ];
        for (args, expected) in cases {
            assert_eq!(
                parse_request(args, Some("/home/al")),
                Ok(expected),
                "{args}"
            );
        }
    }

    #[test]
    fn as_name_sends_the_file_under_another_name() {
        let cases = [
            (
                "a:b.txt as ab.txt",
                request("a:b.txt", "a:b.txt", Some("ab.txt")),
            ),
            (
                "my notes.txt as notes.txt",
                request("my notes.txt", "my notes.txt", Some("notes.txt")),
            ),
            (
                "'/tmp/a b.txt' as 'c d.txt'",
                request("/tmp/a b.txt", "/tmp/a b.txt", Some("c d.txt")),
            ),
            (
                "\"x as y.txt\"  as  z.txt",
                request("x as y.txt", "x as y.txt", Some("z.txt")),
            ),
            ("a as b as c", request("a as b", "a as b", Some("c"))),
        ];
        for (args, expected) in cases {
            assert_eq!(parse_request(args, None), Ok(expected), "{args}");
        }
    }

    #[test]
    fn malformed_file_lines_are_refused() {
        let cases = [
            ("", RequestError::Usage),
            ("x.txt as", RequestError::Usage),
            ("'x.txt' as", RequestError::Usage),
            ("x.txt as ''", RequestError::Usage),
            ("''", RequestError::Usage),
            ("'/tmp/x", RequestError::UnclosedQuote),
            ("\"/tmp/x", RequestError::UnclosedQuote),
            ("'/tmp/x' y", RequestError::AfterQuotedPath),
            ("'/tmp/x' asy", RequestError::AfterQuotedPath),
            ("~/x", RequestError::NoHome),
        ];
        for (args, error) in cases {
            assert_eq!(parse_request(args, None), Err(error), "{args}");
        }
    }
}
