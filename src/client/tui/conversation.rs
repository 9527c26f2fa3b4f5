//! The conversation pane's content: every line shown, with the time it came, and how far the
//! user has scrolled back. It keeps at most so many lines and so many bytes (a server may send
//! lines of 64 KiB: 10,000 of those would be 640 MiB), the oldest going first. Pure; `view.rs`
//! draws it.
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

impl Entry {
    /// The bytes it holds, for the conversation's budget.
    fn bytes(&self) -> usize {
        let line = &self.line;
        self.time.len() + line.tag.len() + line.name.len() + line.text.len()
    }
}

/// The lines shown, oldest first, and the scroll position.
#[derive(Debug)]
pub(super) struct Conversation {
    entries: VecDeque<Entry>,
    /// At most this many lines...
    limit: usize,
    /// ... holding at most this many bytes (the newest line is kept whatever its size).
    byte_limit: usize,
    bytes: usize,
    /// How many of the newest lines are below the view: 0 follows the conversation as it grows.
    scrolled: usize,
}

impl Conversation {
    /// An empty conversation that keeps at most `limit` lines (at least one) of at most
    /// `byte_limit` bytes in all.
    pub(super) fn new(limit: usize, byte_limit: usize) -> Conversation {
        Conversation {
            entries: VecDeque::new(),
            limit: limit.max(1),
            byte_limit,
            bytes: 0,
            scrolled: 0,
        }
    }

    /// Adds a line at the bottom, and lets the oldest go past the limits. A view scrolled back
    /// stays on the lines it shows (as long as they are kept).
    pub(super) fn push(&mut self, entry: Entry) {
        self.bytes += entry.bytes();
        self.entries.push_back(entry);
        while self.entries.len() > self.limit
            || (self.bytes > self.byte_limit && self.entries.len() > 1)
        {
            if let Some(oldest) = self.entries.pop_front() {
                self.bytes -= oldest.bytes();
            }
        }
        if self.scrolled > 0 {
            // The line at the bottom of the view has one more below it now; if it went, the
            // view stops at the oldest line kept.
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
        let mut conversation = Conversation::new(limit, usize::MAX);
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
    fn the_oldest_lines_go_once_the_bytes_pass_the_budget() {
        // Each entry here is "10:00" and "[INFO] " and its text: 14 bytes for a two-digit text.
        let mut conversation = Conversation::new(100, 50);
        for n in 10..20 {
            conversation.push(entry(n));
        }
        let texts: Vec<&str> = conversation
            .visible()
            .map(|e| e.line.text.as_str())
            .collect();
        assert_eq!(texts, ["17", "18", "19"]);
        let mut huge = Conversation::new(100, 50);
        huge.push(Entry {
            time: "10:00".into(),
            line: Line::info(&"x".repeat(1000)),
        });
        assert_eq!(
            huge.visible().count(),
            1,
            "the newest line stays, whatever its size"
        );
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
