//! Passwords (feature `accounts`): hashing and checking them with argon2id, how many checks may
//! run at once, and how long a wrong password's answer waits.
//!
//! A password is only ever compared through argon2's `verify_password`, against the hash in
//! the accounts file: never stored, never logged, never compared as text. A check costs tens
//! of milliseconds of a core and about 19 MiB on purpose (that is what makes guessing slow),
//! so the readers take a permit from [`PasswordChecks`] first: a burst of logins queues there,
//! and the rest of the server (the broadcaster above all) keeps its cores.
//!
//! Guessing is slowed down further per address ([`WrongPasswords`]): the answer to a wrong
//! password waits 1 s, then 2 s, 4 s ... for each further wrong password from the same address,
//! up to a cap; a right one clears the address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

use super::accounts::AccountsError;
use crate::protocol::is_forbidden_control;

/// An address's wrong passwords are forgotten this long after the last one.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// Addresses remembered at most; past it, those forgotten soonest go first.
const MAX_ADDRESSES: usize = 10_000;

/// The argon2id hash of `password` as a PHC string, with a fresh salt and argon2's default
/// settings (19 MiB, 2 passes, 1 lane: OWASP's first choice).
pub(super) fn hash(password: &str) -> Result<String, AccountsError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|error| AccountsError::Hash(error.to_string()))
}

/// True when `password` is the one `hash` (a PHC string) was made from.
pub(super) fn verify(password: &str, hash: &str) -> bool {
    let Ok(hash) = PasswordHash::new(hash) else {
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &hash)
        .is_ok()
}

/// Whether `hash` is a PHC string of argon2id; why not, if it is not.
pub(super) fn check_hash(hash: &str) -> Result<(), &'static str> {
    let hash = PasswordHash::new(hash).map_err(|_| "not a PHC string ($argon2id$...)")?;
    if hash.algorithm != argon2::ARGON2ID_IDENT {
        return Err("not an argon2id hash");
    }
    argon2::Params::try_from(&hash).map_err(|_| "an argon2id hash with bad settings")?;
    if hash.hash.is_none() {
        return Err("an argon2id hash without its hash");
    }
    Ok(())
}

/// Whether `password` can be a password: not empty, and one line a client can send.
pub(super) fn check_password(password: &str) -> Result<(), &'static str> {
    if password.is_empty() {
        return Err("it is empty");
    }
    if password.chars().any(is_forbidden_control) {
        return Err("it has a control character");
    }
    Ok(())
}

/// Permits to check a password: at most `max` checks at once, server-wide (a semaphore).
pub(super) struct PasswordChecks {
    running: Mutex<usize>,
    freed: Condvar,
    max: usize,
}

/// A permit to check one password; given back when dropped.
pub(super) struct Permit<'a>(&'a PasswordChecks);

impl PasswordChecks {
    pub(super) fn new(max: usize) -> PasswordChecks {
        PasswordChecks {
            running: Mutex::new(0),
            freed: Condvar::new(),
            max: max.max(1),
        }
    }

    fn running(&self) -> MutexGuard<'_, usize> {
        self.running
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Waits for a permit.
    pub(super) fn permit(&self) -> Permit<'_> {
        let running = self.running();
        let mut running = self
            .freed
            .wait_while(running, |running| *running >= self.max)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        *running += 1;
        Permit(self)
    }
}

impl Drop for Permit<'_> {
    fn drop(&mut self) {
        *self.0.running() -= 1;
        self.0.freed.notify_one();
    }
}

/// How long the answer to a wrong password waits, when it is the `failures`-th (1 for the
/// first) from its address: `first`, doubled each time, never more than `max`.
pub(super) fn delay(failures: u32, first: Duration, max: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(31);
    first.saturating_mul(1 << doublings).min(max)
}

/// The wrong passwords of each address, lately.
#[derive(Default)]
pub(super) struct WrongPasswords {
    by_address: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl WrongPasswords {
    fn table(&self) -> MutexGuard<'_, HashMap<IpAddr, (u32, Instant)>> {
        self.by_address
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Counts one more wrong password from `ip` at `now`; returns how many there were lately.
    pub(super) fn count(&self, ip: IpAddr, now: Instant) -> u32 {
        let mut table = self.table();
        if table.len() >= MAX_ADDRESSES {
            table.retain(|_, (_, last)| now.duration_since(*last) < FORGET_AFTER);
        }
        if table.len() >= MAX_ADDRESSES {
            // Still full: an attack from very many addresses. Each starts again from 1 s.
            table.clear();
        }
        let entry = table.entry(ip).or_insert((0, now));
        if now.duration_since(entry.1) >= FORGET_AFTER {
            entry.0 = 0;
        }
        *entry = (entry.0.saturating_add(1), now);
        entry.0
    }

    /// A right password from `ip`: it starts again from the first delay.
    pub(super) fn clear(&self, ip: IpAddr) {
        self.table().remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;
    use std::sync::Arc;
    use std::thread;

    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let hash = hash("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"), "{hash}");
        assert!(check_hash(&hash).is_ok());
        assert!(verify("correct horse", &hash));
        assert!(!verify("correct hors", &hash));
        assert!(!verify("correct horse", "$argon2id$broken"));
        assert_ne!(
            hash,
            super::hash("correct horse").unwrap(),
            "each hash has its salt"
        );
    }

    #[test]
    fn the_delay_doubles_from_the_first_up_to_the_cap() {
        let (first, max) = (Duration::from_secs(1), Duration::from_secs(60));
        let delays: Vec<u64> = (1..=8).map(|n| delay(n, first, max).as_secs()).collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(delay(u32::MAX, first, max), max);
    }

    #[test]
    fn wrong_passwords_count_per_address_until_a_right_one_or_a_long_pause() {
        let wrong = WrongPasswords::default();
        let now = Instant::now();
        let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(wrong.count(IP, now), 1);
        assert_eq!(wrong.count(IP, now), 2);
        assert_eq!(wrong.count(other, now), 1);
        wrong.clear(IP);
        assert_eq!(wrong.count(IP, now), 1);
        assert_eq!(wrong.count(IP, now + FORGET_AFTER), 1);
    }

    #[test]
    fn a_check_waits_while_every_permit_is_taken() {
        let checks = Arc::new(PasswordChecks::new(2));
        let (first, second) = (checks.permit(), checks.permit());
        let (got, permitted) = std::sync::mpsc::channel();
        let waiter = {
            let checks = Arc::clone(&checks);
            thread::spawn(move || {
                let _third = checks.permit();
                got.send(()).unwrap();
            })
        };
        let moment = Duration::from_millis(200);
        assert!(permitted.recv_timeout(moment).is_err(), "a third check ran");
        drop(first);
        permitted
            .recv_timeout(Duration::from_secs(10))
            .expect("the third check runs once a permit is back");
        waiter.join().unwrap();
        drop(second);
    }
}
