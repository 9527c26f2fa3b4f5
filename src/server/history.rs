//! History for late joiners: the last public messages, kept by the broadcaster in a bounded
//! ring and sent to each newcomer right after `[USERS]` as `[HISTORY]` frames. Only public chat
//! messages are kept: never private messages, files, joins or leaves. At most `limit` messages
//! of at most `max_line` bytes each, so at most `limit * max_line` bytes of text.

use std::collections::VecDeque;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::protocol::ServerFrame;

pub(super) struct History {
    limit: usize,
    messages: VecDeque<Past>,
}

/// One past message: when (seconds since 1970, UTC), who, what.
struct Past {
    at: u64,
    from: String,
    text: String,
}

impl History {
    /// A history of the last `limit` messages; 0 keeps none.
    pub(super) fn new(limit: usize) -> History {
        History {
            limit,
            messages: VecDeque::new(),
        }
    }

    /// Keeps a public message sent at `at`, forgetting the oldest when full.
    pub(super) fn record(&mut self, at: SystemTime, from: &str, text: &str) {
        if self.limit == 0 {
            return;
        }
        if self.messages.len() == self.limit {
            self.messages.pop_front();
        }
        let at = at
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| since.as_secs());
        self.messages.push_back(Past {
            at,
            from: from.to_owned(),
            text: text.to_owned(),
        });
    }

    /// The history as frames for a newcomer, oldest first.
    pub(super) fn frames(&self) -> impl Iterator<Item = ServerFrame> + '_ {
        self.messages.iter().map(|past| ServerFrame::History {
            at: past.at,
            from: past.from.clone(),
            text: past.text.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn texts(history: &History) -> Vec<String> {
        history
            .frames()
            .map(|frame| String::from_utf8(frame.encode()).unwrap())
            .collect()
    }

    #[test]
    fn a_newcomer_gets_the_last_messages_oldest_first_with_their_time() {
        let mut history = History::new(2);
        history.record(at(100), "alice", "one");
        history.record(at(101), "bob", "two");
        history.record(at(102), "alice", "three: with a colon");
        assert_eq!(
            texts(&history),
            [
                "[HISTORY]:101:bob:two\n",
                "[HISTORY]:102:alice:three: with a colon\n"
            ]
        );
    }

    #[test]
    fn a_history_of_zero_keeps_nothing() {
        let mut history = History::new(0);
        history.record(at(100), "alice", "one");
        assert!(texts(&history).is_empty());
    }
}
