//! Signing in: what happens between a name that passes the username rules and asking the
//! broadcaster for it. Without accounts (the default, and any build without the `accounts`
//! feature) nothing: every name is a guest's. With accounts (`password_login.rs`), a registered
//! name must give its password first, and with `--accounts-only` no other name may join.

use std::time::Instant;

use super::reader::{Ending, Reader};

/// Wrong passwords one connection may send; the last one is answered and closes it.
pub(super) const MAX_WRONG_PASSWORDS: u32 = 5;

/// What signing in decided about a name. (Without accounts, only `Join` is ever made.)
#[cfg_attr(not(feature = "accounts"), allow(dead_code))]
pub(super) enum SignIn {
    /// Ask the broadcaster for this name: a guest's as given, or an account's as registered.
    Join(String),
    /// Refused, with why; the client may give another name.
    Refused(String),
    /// A registered name with a wrong password; its answer has waited its delay.
    WrongPassword,
}

impl Reader {
    /// Signs `name` in before it joins, by `deadline` (the handshake's).
    pub(super) fn sign_in(
        &mut self,
        name: &str,
        deadline: Option<Instant>,
    ) -> Result<SignIn, Ending> {
        #[cfg(feature = "accounts")]
        if let Some(logins) = std::sync::Arc::clone(&self.shared).logins.as_ref() {
            return self.sign_in_with(logins, name, deadline);
        }
        let _ = deadline;
        Ok(SignIn::Join(name.to_owned()))
    }
}
