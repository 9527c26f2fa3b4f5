//! The answer to the `/files on` a client sends by itself right after `[WELCOME]`: both front
//! ends keep it off the screen and out of the chat log, since the user did not type that command
//! and its answer would only puzzle them.
//!
//! The answer is the first `[INFO]` or `[ERROR]` after the welcome: the client sends nothing else
//! until it has heard it. An `[ERROR]` is an answer too: it comes from a server older than
//! `/files`, which sends files to everyone anyway. The server's shutdown is not hidden, though it
//! ends the wait: it is the last thing the user hears.

use crate::protocol::{SHUTTING_DOWN, ServerFrame};

/// Whether a client is waiting for the answer to its `/files on`.
#[derive(Debug, Default)]
pub(super) struct FilesAnswer {
    pending: bool,
}

/// What a frame was to the wait.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Answer {
    /// Not the answer (or nothing was awaited): shown as usual.
    No,
    /// The answer: not shown, not logged in the chat log.
    Hidden,
    /// It ends the wait, and is shown: the server is shutting down.
    Shown,
}

impl FilesAnswer {
    /// `/files on` was sent: its answer is the next `[INFO]` or `[ERROR]`.
    pub(super) fn sent(&mut self) {
        self.pending = true;
    }

    /// Takes `frame`, which arrived while the client may be waiting.
    pub(super) fn take(&mut self, frame: &ServerFrame) -> Answer {
        if !self.pending {
            return Answer::No;
        }
        let (ServerFrame::Info(text) | ServerFrame::Error(text)) = frame else {
            return Answer::No;
        };
        self.pending = false;
        if text == SHUTTING_DOWN {
            return Answer::Shown;
        }
        log::info!("the server's answer to /files on: {text}");
        Answer::Hidden
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(text: &str) -> ServerFrame {
        ServerFrame::Info(text.into())
    }

    #[test]
    fn nothing_is_an_answer_before_files_on_is_sent() {
        let mut wait = FilesAnswer::default();
        assert_eq!(wait.take(&info("files on")), Answer::No);
    }

    #[test]
    fn the_first_info_after_files_on_is_hidden_and_the_next_shown() {
        let mut wait = FilesAnswer::default();
        wait.sent();
        assert_eq!(wait.take(&info("files on")), Answer::Hidden);
        assert_eq!(wait.take(&info("the server says hello")), Answer::No);
    }

    #[test]
    fn frames_other_than_info_and_error_do_not_end_the_wait() {
        let mut wait = FilesAnswer::default();
        wait.sent();
        assert_eq!(wait.take(&ServerFrame::Join("bob".into())), Answer::No);
        assert_eq!(
            wait.take(&ServerFrame::Error("unknown command".into())),
            Answer::Hidden
        );
    }

    #[test]
    fn the_shutdown_ends_the_wait_and_is_shown() {
        let mut wait = FilesAnswer::default();
        wait.sent();
        assert_eq!(
            wait.take(&ServerFrame::Error(SHUTTING_DOWN.into())),
            Answer::Shown
        );
        assert_eq!(wait.take(&info("files on")), Answer::No);
    }
}
