//! The input line: what the user is typing, as a pure state machine. A key becomes an [`Edit`],
//! which changes the text and the cursor; Enter takes the line ([`Input::take`]) and keeps it in
//! the history that Up and Down walk. Nothing here knows about the terminal: `app.rs` maps keys
//! to edits, `view.rs` draws the text and puts the cursor.
//!
//! The text never grows past the server's line limit (in bytes, as the server counts): an insert
//! or a paste that would pass it keeps what fits, and [`Input::at_limit`] says so for the screen
//! to show. No control character gets in: a typed one is ignored, and in pasted text each line
//! break or tab becomes a space, so a pasted paragraph is one message.

use std::collections::VecDeque;

/// Lines kept for Up and Down; the oldest goes first.
const HISTORY: usize = 100;

/// One change to the input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Edit {
    /// A character typed at the cursor.
    Insert(char),
    /// Text pasted at the cursor (a bracketed paste: any length, any line breaks).
    Paste(String),
    /// The cursor one character left or right, to the start or to the end.
    Left,
    Right,
    Home,
    End,
    /// The character before the cursor (Backspace) or under it (Delete).
    Backspace,
    Delete,
    /// The word before the cursor, and the spaces after it (Ctrl-W).
    DeleteWord,
    /// Everything before the cursor (Ctrl-U).
    DeleteToStart,
    /// The line before, or after, in the history (Up, Down).
    Older,
    Newer,
}

/// The line being typed, its cursor, and the lines typed before.
#[derive(Debug)]
pub(super) struct Input {
    text: String,
    /// A byte offset into `text`, always on a character boundary.
    cursor: usize,
    /// The longest line, in bytes.
    limit: usize,
    /// The last insert or paste did not fit whole: the limit was reached.
    cut: bool,
    history: VecDeque<String>,
    /// The history line shown while walking it with Up and Down.
    browsing: Option<usize>,
    /// What was typed before walking the history, given back past its newest line.
    draft: String,
}

impl Input {
    /// An empty line that holds at most `limit` bytes.
    pub(super) fn new(limit: usize) -> Input {
        Input {
            text: String::new(),
            cursor: 0,
            limit,
            cut: false,
            history: VecDeque::new(),
            browsing: None,
            draft: String::new(),
        }
    }

    /// The text typed so far.
    pub(super) fn text(&self) -> &str {
        &self.text
    }

    /// The text before the cursor.
    pub(super) fn before_cursor(&self) -> &str {
        &self.text[..self.cursor]
    }

    /// The longest line, in bytes.
    pub(super) fn limit(&self) -> usize {
        self.limit
    }

    /// Whether the line is as long as it may be, or the last thing typed or pasted was cut to
    /// fit.
    pub(super) fn at_limit(&self) -> bool {
        self.cut || self.text.len() >= self.limit
    }

    /// Applies one edit.
    pub(super) fn apply(&mut self, edit: Edit) {
        if !matches!(edit, Edit::Older | Edit::Newer) {
            // Editing a line from the history makes it the line being typed.
            self.browsing = None;
        }
        match edit {
            Edit::Insert(c) if !c.is_control() => self.insert(&c.to_string()),
            Edit::Insert(_) => {}
            Edit::Paste(text) => self.insert(&one_line(&text)),
            Edit::Left => self.cursor = self.previous_boundary(),
            Edit::Right => self.cursor = self.next_boundary(),
            Edit::Home => self.cursor = 0,
            Edit::End => self.cursor = self.text.len(),
            Edit::Backspace => self.delete(self.previous_boundary()..self.cursor),
            Edit::Delete => self.delete(self.cursor..self.next_boundary()),
            Edit::DeleteWord => self.delete(self.word_start()..self.cursor),
            Edit::DeleteToStart => self.delete(0..self.cursor),
            Edit::Older => self.walk_history(true),
            Edit::Newer => self.walk_history(false),
        }
    }

    /// Puts `with` in place of the text from byte `from` to the cursor (a completion), cut to
    /// the limit like any insert.
    pub(super) fn replace_before_cursor(&mut self, from: usize, with: &str) {
        self.browsing = None;
        self.delete(from.min(self.cursor)..self.cursor);
        self.insert(with);
    }

    /// Takes the line (Enter): the input is empty again, and the line, unless empty or the same
    /// as the last one, goes into the history when `remember` (not a username).
    pub(super) fn take(&mut self, remember: bool) -> String {
        let line = std::mem::take(&mut self.text);
        self.cursor = 0;
        self.cut = false;
        self.browsing = None;
        self.draft.clear();
        if remember && !line.is_empty() && self.history.back() != Some(&line) {
            if self.history.len() == HISTORY {
                self.history.pop_front();
            }
            self.history.push_back(line.clone());
        }
        line
    }

    /// Inserts what fits of `text` at the cursor.
    fn insert(&mut self, text: &str) {
        let room = self.limit.saturating_sub(self.text.len());
        let fits = floor_boundary(text, room);
        self.cut = fits < text.len();
        self.text.insert_str(self.cursor, &text[..fits]);
        self.cursor += fits;
    }

    fn delete(&mut self, range: std::ops::Range<usize>) {
        self.cut = false;
        self.cursor = range.start;
        self.text.replace_range(range, "");
    }

    fn previous_boundary(&self) -> usize {
        self.text[..self.cursor]
            .char_indices()
            .next_back()
            .map_or(0, |(at, _)| at)
    }

    fn next_boundary(&self) -> usize {
        self.text[self.cursor..]
            .chars()
            .next()
            .map_or(self.cursor, |c| self.cursor + c.len_utf8())
    }

    /// Where the word before the cursor starts, spaces between it and the cursor included (as
    /// Ctrl-W does in a shell).
    fn word_start(&self) -> usize {
        let before = &self.text[..self.cursor];
        let word_end = before.trim_end_matches(' ').len();
        before[..word_end].rfind(' ').map_or(0, |space| space + 1)
    }

    fn walk_history(&mut self, older: bool) {
        let shown = match (self.browsing, older) {
            (None, true) if !self.history.is_empty() => {
                self.draft = self.text.clone();
                Some(self.history.len() - 1)
            }
            (Some(at), true) => Some(at.saturating_sub(1)),
            (Some(at), false) if at + 1 < self.history.len() => Some(at + 1),
            (Some(_), false) => None,
            (None, _) => return,
        };
        self.browsing = shown;
        self.text = match shown {
            Some(at) => self.history[at].clone(),
            None => std::mem::take(&mut self.draft),
        };
        self.cursor = self.text.len();
        self.cut = false;
    }
}

/// Pasted text as one line: each line break (CR LF, LF or CR) and every other control character
/// becomes one space.
fn one_line(text: &str) -> String {
    text.replace("\r\n", "\n")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn floor_boundary(text: &str, max: usize) -> usize {
    if max >= text.len() {
        return text.len();
    }
    (0..=max)
        .rev()
        .find(|&at| text.is_char_boundary(at))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An input of `limit` bytes after `edits`.
    fn after(limit: usize, edits: impl IntoIterator<Item = Edit>) -> Input {
        let mut input = Input::new(limit);
        for edit in edits {
            input.apply(edit);
        }
        input
    }

    fn typed(text: &str) -> Vec<Edit> {
        text.chars().map(Edit::Insert).collect()
    }

    /// The text with a `|` where the cursor is.
    fn shown(input: &Input) -> String {
        format!(
            "{}|{}",
            input.before_cursor(),
            &input.text()[input.cursor..]
        )
    }

    #[test]
    fn typed_characters_go_in_at_the_cursor() {
        let mut edits = typed("helo");
        edits.extend([Edit::Left, Edit::Insert('l'), Edit::End, Edit::Insert('!')]);
        assert_eq!(shown(&after(100, edits)), "hello!|");
    }

    #[test]
    fn the_cursor_moves_by_characters_not_bytes() {
        let mut edits = typed("añb");
        edits.extend([Edit::Left, Edit::Left]);
        let input = after(100, edits.clone());
        assert_eq!(shown(&input), "a|ñb");
        edits.extend([Edit::Right, Edit::Backspace]);
        assert_eq!(shown(&after(100, edits)), "a|b");
    }

    #[test]
    fn home_and_end_go_to_the_ends_and_stop_there() {
        let mut edits = typed("ab");
        edits.extend([Edit::Home, Edit::Left, Edit::Backspace]);
        assert_eq!(shown(&after(100, edits.clone())), "|ab");
        edits.extend([Edit::End, Edit::Right, Edit::Delete]);
        assert_eq!(shown(&after(100, edits)), "ab|");
    }

    #[test]
    fn delete_takes_the_character_under_the_cursor() {
        let mut edits = typed("abc");
        edits.extend([Edit::Home, Edit::Delete]);
        assert_eq!(shown(&after(100, edits)), "|bc");
    }

    #[test]
    fn ctrl_w_deletes_the_word_before_the_cursor_and_its_spaces() {
        let cases = [
            ("hello big world", "hello big |"),
            ("hello big world  ", "hello big |"),
            ("one", "|"),
            ("", "|"),
            ("/msg bob", "/msg |"),
        ];
        for (text, expected) in cases {
            let mut edits = typed(text);
            edits.push(Edit::DeleteWord);
            assert_eq!(shown(&after(100, edits)), expected, "{text:?}");
        }
        let mut edits = typed("one two three");
        edits.extend([Edit::Home, Edit::Right, Edit::Right, Edit::Right]);
        edits.extend([Edit::Right, Edit::Right, Edit::DeleteWord]);
        assert_eq!(shown(&after(100, edits)), "one |wo three");
    }

    #[test]
    fn ctrl_u_deletes_everything_before_the_cursor() {
        let mut edits = typed("abc def");
        edits.extend([Edit::Left, Edit::Left, Edit::DeleteToStart]);
        assert_eq!(shown(&after(100, edits)), "|ef");
    }

    #[test]
    fn typed_control_characters_are_ignored() {
        let input = after(100, typed("a\x1b[2J\tb"));
        assert_eq!(input.text(), "a[2Jb");
    }

    #[test]
    fn the_line_stops_at_the_limit_and_says_so() {
        let input = after(5, typed("abcd"));
        assert!(!input.at_limit());
        let input = after(5, typed("abcdefg"));
        assert_eq!(input.text(), "abcde");
        assert!(input.at_limit());
    }

    #[test]
    fn the_limit_counts_bytes_and_never_splits_a_character() {
        let input = after(5, typed("aaaaé"));
        assert_eq!(input.text(), "aaaa");
        assert!(input.at_limit());
        let input = after(5, [Edit::Paste("ééé".into())]);
        assert_eq!(input.text(), "éé");
    }

    #[test]
    fn deleting_below_the_limit_clears_the_mark() {
        let mut edits = typed("abcdefg");
        edits.push(Edit::Backspace);
        assert!(!after(5, edits).at_limit());
    }

    #[test]
    fn a_long_paste_goes_in_whole_up_to_the_limit() {
        let long = "x".repeat(10_000);
        let input = after(4096, [Edit::Paste(long)]);
        assert_eq!(input.text().len(), 4096);
        assert!(input.at_limit());
        let input = after(4096, [Edit::Paste("y".repeat(4000))]);
        assert_eq!((input.text().len(), input.at_limit()), (4000, false));
    }

    #[test]
    fn a_pasted_paragraph_becomes_one_line() {
        let input = after(
            100,
            [Edit::Paste("one\r\ntwo\nthree\rfour\tfive\x1b".into())],
        );
        assert_eq!(input.text(), "one two three four five ");
    }

    #[test]
    fn taking_the_line_empties_it_and_remembers_it() {
        let mut input = after(100, typed("hi"));
        assert_eq!(input.take(true), "hi");
        assert_eq!(shown(&input), "|");
        input.apply(Edit::Older);
        assert_eq!(shown(&input), "hi|");
    }

    #[test]
    fn up_and_down_walk_the_history_and_give_back_the_draft() {
        let mut input = Input::new(100);
        for line in ["one", "two", "three"] {
            for edit in typed(line) {
                input.apply(edit);
            }
            input.take(true);
        }
        for edit in typed("dra") {
            input.apply(edit);
        }
        let mut seen = Vec::new();
        for edit in [Edit::Older, Edit::Older, Edit::Older, Edit::Older] {
            input.apply(edit);
            seen.push(input.text().to_owned());
        }
        assert_eq!(seen, ["three", "two", "one", "one"]);
        seen.clear();
        for edit in [Edit::Newer, Edit::Newer, Edit::Newer, Edit::Newer] {
            input.apply(edit);
            seen.push(input.text().to_owned());
        }
        assert_eq!(seen, ["two", "three", "dra", "dra"]);
    }

    #[test]
    fn the_history_skips_empty_lines_repeats_and_names() {
        let mut input = Input::new(100);
        for (line, remember) in [("a", true), ("a", true), ("", true), ("bob", false)] {
            for edit in typed(line) {
                input.apply(edit);
            }
            input.take(remember);
        }
        input.apply(Edit::Older);
        input.apply(Edit::Older);
        assert_eq!(input.text(), "a");
        input.apply(Edit::Newer);
        assert_eq!(input.text(), "");
    }

    #[test]
    fn the_history_keeps_the_last_hundred_lines() {
        let mut input = Input::new(100);
        for n in 0..150 {
            for edit in typed(&n.to_string()) {
                input.apply(edit);
            }
            input.take(true);
        }
        for _ in 0..200 {
            input.apply(Edit::Older);
        }
        assert_eq!(input.text(), "50");
    }

    #[test]
    fn a_completion_replaces_the_word_before_the_cursor() {
        let mut input = after(100, typed("/msg bo hi"));
        for _ in 0..3 {
            input.apply(Edit::Left);
        }
        input.replace_before_cursor(5, "bob");
        assert_eq!(shown(&input), "/msg bob| hi");
    }
}
