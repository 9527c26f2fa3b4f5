//! A registered name's password (feature `accounts`): the reader asks for it with
//! `[AUTH]:password for <name>`, takes the next line as it is, and has argon2 check it, with a
//! permit from the server-wide [`PasswordChecks`] so that a burst of logins cannot take every
//! core. A wrong password is answered after a delay that grows with the wrong passwords lately
//! from the same address ([`WrongPasswords`]); a right one joins under the name as the accounts
//! file writes it.
//!
//! The password lives in this function alone: it is never logged, never sent as an event,
//! never in the transcript, and compared only by argon2's verify.

use std::time::Instant;

use super::accounts::Accounts;
use super::login::SignIn;
use super::passwords::{self, PasswordChecks, WrongPasswords};
use super::reader::{Ending, Reader};
use crate::protocol::{ClientFrame, ServerFrame};

/// What signing in needs while the server runs: the accounts, and its two bounds' state.
pub(super) struct Logins {
    pub(super) accounts: Accounts,
    checks: PasswordChecks,
    wrong: WrongPasswords,
}

impl Logins {
    pub(super) fn new(accounts: Accounts) -> Logins {
        Logins {
            checks: PasswordChecks::new(accounts.max_password_checks),
            wrong: WrongPasswords::default(),
            accounts,
        }
    }
}

impl Reader {
    pub(super) fn sign_in_with(
        &mut self,
        logins: &Logins,
        name: &str,
        deadline: Option<Instant>,
    ) -> Result<SignIn, Ending> {
        let accounts = &logins.accounts;
        let Some(account) = accounts.file().get(name) else {
            if accounts.accounts_only {
                return Ok(SignIn::Refused(format!(
                    "username '{name}' has no account here, and only accounts may join"
                )));
            }
            return Ok(SignIn::Join(name.to_owned()));
        };
        let (name, hash) = (account.name.to_owned(), account.hash);

        self.outbound
            .push_frame(&ServerFrame::Auth(format!("password for {name}")))?;
        self.decoder.take_next_line_verbatim();
        let (item, _) = self.read_frame(deadline)?;
        self.pace(1.0, deadline);
        let password = match item {
            Ok(ClientFrame::Text(password)) => password,
            // A line that breaks the rules of a line (too long, a control character).
            Err(error) => return Ok(SignIn::Refused(error.to_string())),
            Ok(_) => return Ok(SignIn::Refused("expected a password".into())),
        };
        let right = {
            let _permit = logins.checks.permit();
            passwords::verify(&password, hash)
        };
        drop(password);

        let ip = self.peer.ip();
        if right {
            logins.wrong.clear(ip);
            log::info!("{}: signed in as {name}", self.who());
            return Ok(SignIn::Join(name));
        }
        let now = Instant::now();
        let lately = logins.wrong.count(ip, now);
        let mut delay = passwords::delay(
            lately,
            accounts.wrong_password_delay,
            accounts.max_wrong_password_delay,
        );
        if let Some(deadline) = deadline {
            delay = delay.min(deadline.saturating_duration_since(now));
        }
        // Within the log's budget: a guessing client must not flood the log either.
        if self.shared.log_budget.allow() {
            log::warn!(
                "{}: wrong password for {name} ({lately} lately from this address); answered \
                 in {:.1} s",
                self.who(),
                delay.as_secs_f64()
            );
        }
        self.shared.stopping.sleep(delay);
        Ok(SignIn::WrongPassword)
    }
}
