//! The handshake: a new connection's reader reads usernames until the broadcaster accepts one.
//!
//! The server spoke first (the greeting). Each name line is checked against the username rules
//! here; a name that passes is sent to the broadcaster, which owns the list of names and answers
//! `Welcome` (it queued `[WELCOME]` and `[USERS]`) or `NameTaken`. A connection that has not
//! joined receives nothing of the chat.

use std::time::Instant;

use super::event::{Event, JoinAnswer};
use super::reader::{Ending, Reader};
use crate::protocol::{self, ClientFrame, MAX_USERNAME_LEN};

impl Reader {
    /// Reads usernames until one is accepted.
    pub(super) fn handshake(&mut self) -> Result<(), Ending> {
        let timeout = self.shared.config.handshake_timeout;
        let deadline = Instant::now() + timeout;
        self.stream
            .set_read_timeout(Some(timeout))
            .map_err(|_| Ending::Closed)?;
        loop {
            let name = match self.read_frame(Some(deadline))? {
                Ok(ClientFrame::Text(name)) => name,
                // Not a name: refused by the username rules below, as any line with a `/`.
                Ok(ClientFrame::Command(command)) => command.to_string(),
                Ok(ClientFrame::Empty) => continue,
                Ok(ClientFrame::Exit) => return Err(Ending::Exit),
                Ok(ClientFrame::File { .. }) => {
                    self.refuse("send your username before anything else".into())?;
                    continue;
                }
                Err(error) => {
                    self.refuse_frame(error)?;
                    continue;
                }
            };
            if let Err(why) = protocol::check_username(&name) {
                let rule = format!("1-{MAX_USERNAME_LEN} letters, digits, '_', '-' or '.'");
                self.refuse(format!("username refused: {why}; use {rule}"))?;
                continue;
            }
            match self.ask_to_join(&name)? {
                JoinAnswer::Welcome => return Ok(()),
                JoinAnswer::NameTaken => self.refuse(format!("username '{name}' is taken"))?,
                JoinAnswer::QueueFull => return Err(Ending::QueueFull),
            }
        }
    }

    /// Asks the broadcaster, which owns the list of names, whether `name` is free.
    fn ask_to_join(&mut self, name: &str) -> Result<JoinAnswer, Ending> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let join = Event::Join {
            id: self.id,
            name: name.to_owned(),
            outbound: self.outbound.clone(),
            reply,
        };
        let shutting_down = || Ending::Error("server is shutting down".into());
        self.events.send(join).map_err(|_| shutting_down())?;
        answer.recv().map_err(|_| shutting_down())
    }
}
