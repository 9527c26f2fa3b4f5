//! The conversation pane's content: every line shown, with the time it came, at most `limit` of
//! them (the oldest go first), and how far the user has scrolled back. Pure; `view.rs` draws it.
//!
//! Scrolling counts lines as shown here, not rows on the screen: a long line wraps over several
//! rows, and PageUp moves back by as many lines as the pane has rows, so about a page or less.

use std::collections::VecDeque;

use super::super::render::Line;

/// One line of the conversation: the time it was shown (`HH:MM`, UTC) and the line, already
/// made safe to show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    pub(super) time: String,
    pub(super) line: Line,
}

/// The lines shown, oldest first, and the scroll position.
#[derive(Debug)]
pub(super) struct Conversation {
    entries: VecDeque<Entry>,
    limit: usize,
    /// How many of the newest lines are below the view: 0 follows the conversation as it grows.
    scrolled: usize,
}

impl Conversation {
    /// An empty conversation that keeps at most `limit` lines (at least one).
    pub(super) fn new(limit: usize) -> Conversation {
        Conversation {
            entries: VecDeque::new(),
            limit: limit.max(1),
            scrolled: 0,
        }
    }

    /// Adds a line at the bottom. A view scrolled back stays on the lines it shows.
    pub(super) fn push(&mut self, entry: Entry) {
        if self.entries.len() == self.limit {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
        if self.scrolled > 0 {
            self.scrolled = (self.scrolled + 1).min(self.entries.len() - 1);
        }
    }

    /// The lines that end at the bottom of the view, oldest first (the view shows as many of
    /// the last ones as fit).
    pub(super) fn visible(&self) -> impl DoubleEndedIterator<Item = &Entry> {
        self.entries.range(..self.entries.len() - self.scrolled)
    }

    /// How many lines are below the view.
    pub(super) fn scrolled(&self) -> usize {
        self.scrolled
    }

    /// Back by `lines` (PageUp), never past the first line.
    pub(super) fn back(&mut self, lines: usize) {
        self.scrolled = (self.scrolled + lines).min(self.entries.len().saturating_sub(1));
    }

    /// Forward by `lines` (PageDown), down to the newest.
    pub(super) fn forward(&mut self, lines: usize) {
        self.scrolled = self.scrolled.saturating_sub(lines);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Entry {
        Entry {
            time: "10:00".into(),
            line: Line::info(&n.to_string()),
        }
    }

    fn conversation(limit: usize, lines: usize) -> Conversation {
        let mut conversation = Conversation::new(limit);
        for n in 0..lines {
            conversation.push(entry(n));
        }
        conversation
    }

    fn last_visible(conversation: &Conversation) -> String {
        conversation
            .visible()
            .next_back()
            .unwrap()
            .line
            .text
            .clone()
    }

    #[test]
    fn only_the_newest_lines_are_kept() {
        let conversation = conversation(3, 5);
        let texts: Vec<&str> = conversation
            .visible()
            .map(|e| e.line.text.as_str())
            .collect();
        assert_eq!(texts, ["2", "3", "4"]);
    }

    #[test]
    fn page_up_and_down_move_the_view_within_the_lines() {
        let mut conversation = conversation(100, 50);
        conversation.back(10);
        assert_eq!(last_visible(&conversation), "39");
        conversation.back(1000);
        assert_eq!(last_visible(&conversation), "0");
        conversation.forward(5);
        assert_eq!(last_visible(&conversation), "5");
        conversation.forward(1000);
        assert_eq!(last_visible(&conversation), "49");
    }

    #[test]
    fn a_view_scrolled_back_stays_put_as_lines_arrive() {
        let mut conversation = conversation(100, 50);
        conversation.back(10);
        conversation.push(entry(50));
        assert_eq!(last_visible(&conversation), "39");
        assert_eq!(conversation.scrolled(), 11);
    }

    #[test]
    fn a_view_at_the_bottom_follows_new_lines() {
        let mut conversation = conversation(100, 5);
        conversation.push(entry(5));
        assert_eq!(last_visible(&conversation), "5");
    }

    #[test]
    fn a_full_conversation_scrolled_back_keeps_a_line_in_view() {
        let mut conversation = conversation(3, 3);
        conversation.back(2);
        for n in 3..10 {
            conversation.push(entry(n));
        }
        assert_eq!(last_visible(&conversation), "7");
    }
}
