//! The handshake: a new connection's reader reads usernames until the broadcaster accepts one.
//!
//! The server spoke first (the greeting). Each name line is checked against the username rules
//! here; a name that passes is sent to the broadcaster, which owns the list of names and answers
//! `Welcome` (it queued `[WELCOME]` and `[USERS]`) or `NameTaken`. A connection that has not
//! joined receives nothing of the chat, and its files are refused and skipped unread.
//!
//! A connection that has not joined is held to the same limits as one that has: flood control
//! counts its lines from the first byte, and after `MAX_REFUSED_NAMES` refused names it is
//! closed, so spamming names costs the server a few cheap answers, not its attention.

use super::event::{Event, JoinAnswer};
use super::login::{MAX_WRONG_PASSWORDS, SignIn};
use super::reader::{Ending, Reader};
use super::transfer::deadline;
use crate::protocol::{self, ClientFrame, MAX_USERNAME_LEN};

/// Refused names one connection may send; the next refusal closes it.
pub(super) const MAX_REFUSED_NAMES: u32 = 20;

impl Reader {
    /// Reads usernames until one is accepted.
    pub(super) fn handshake(&mut self) -> Result<(), Ending> {
        // From the connection's start: a TLS handshake (`securing.rs`) counts too.
        let deadline = deadline(self.connected_at, self.shared.config.handshake_timeout);
        let mut refused_names = 0;
        let mut wrong_passwords = 0;
        loop {
            let (item, _) = self.read_frame(deadline)?;
            self.pace(1.0, deadline);
            let name = match item {
                Ok(ClientFrame::Text(name)) => name,
                // Not a name: refused by the username rules below, as any line with a `/`.
                Ok(ClientFrame::Command(command)) => command.to_string(),
                Ok(ClientFrame::Empty) => continue,
                Ok(ClientFrame::Exit) => return Err(Ending::Exit),
                Ok(ClientFrame::File { .. }) => {
                    // The decoder refuses files before the name; this is only for safety.
                    self.refuse("send your username before anything else".into())?;
                    continue;
                }
                Err(error) => {
                    self.refuse_frame(error)?;
                    continue;
                }
            };
            let refusal = match protocol::check_username(&name) {
                Err(why) => {
                    let rule = format!("1-{MAX_USERNAME_LEN} letters, digits, '_', '-' or '.'");
                    format!("username refused: {why}; use {rule}")
                }
                Ok(()) => match self.sign_in(&name, deadline)? {
                    SignIn::Join(name) => match self.ask_to_join(&name)? {
                        JoinAnswer::Welcome => {
                            self.name = Some(name);
                            return Ok(());
                        }
                        JoinAnswer::NameTaken => format!("username '{name}' is taken"),
                        JoinAnswer::QueueFull => return Err(Ending::QueueFull),
                    },
                    SignIn::Refused(why) => why,
                    SignIn::WrongPassword => {
                        wrong_passwords += 1;
                        if wrong_passwords >= MAX_WRONG_PASSWORDS {
                            return Err(Ending::Error(format!(
                                "wrong password; {MAX_WRONG_PASSWORDS} wrong passwords, \
                                 connect again to retry"
                            )));
                        }
                        self.refuse("wrong password".into())?;
                        continue;
                    }
                },
            };
            refused_names += 1;
            if refused_names >= MAX_REFUSED_NAMES {
                return Err(Ending::Error(format!(
                    "{refusal}; {MAX_REFUSED_NAMES} names refused, connect again to retry"
                )));
            }
            self.refuse(refusal)?;
        }
    }

    /// Asks the broadcaster, which owns the list of names, whether `name` is free.
    fn ask_to_join(&mut self, name: &str) -> Result<JoinAnswer, Ending> {
        let (reply, answer) = crossbeam_channel::bounded(1);
        let join = Event::Join {
            id: self.id,
            name: name.to_owned(),
            peer: self.peer,
            connected_at: self.connected_at,
            outbound: self.outbound.clone(),
            reply,
        };
        let shutting_down = || Ending::Error(protocol::SHUTTING_DOWN.into());
        self.events.send(join).map_err(|_| shutting_down())?;
        answer.recv().map_err(|_| shutting_down())
    }
}
