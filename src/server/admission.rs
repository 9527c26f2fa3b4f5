//! Who may connect, and the table of open connections.
//!
//! Every open connection, joined or not, is in one table: its closer (so a stop can shut every
//! socket) and a count per address. A new connection is admitted only if the access rules allow
//! its address, and while the table is under `max_clients` and its address under `max_per_ip`;
//! the decision is [`refusal`], a pure function. The access rules come first, so a connection
//! they refuse never takes a place in the table nor in its address's count, and is told the
//! reason that waiting will not change. A connection leaves the table when the last of its two
//! threads drops its [`ConnectionGuard`].

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Shutdown};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::{ClientId, Config, Shared};
use crate::transport::Closer;

/// Why a new connection is turned away before its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// The access rules (`Config::access`) do not let its address connect.
    NotAllowed,
    /// `max_clients` connections are open.
    ServerFull,
    /// `max_per_ip` connections are open from the same address.
    TooManyFromAddress,
}

impl Refusal {
    /// Why, as the operator's log says it (the `Display` form is what the client is told).
    pub(super) fn for_the_log(self) -> &'static str {
        match self {
            Refusal::NotAllowed => "not allowed by the access rules",
            Refusal::ServerFull => "the server is full (--max-clients)",
            Refusal::TooManyFromAddress => "too many connections from that address (--max-per-ip)",
        }
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::NotAllowed => write!(f, "not allowed from your address"),
            Refusal::ServerFull => write!(f, "server full"),
            Refusal::TooManyFromAddress => write!(f, "too many connections from your address"),
        }
    }
}

/// Whether one more connection, from `ip`, may open, given how many are open in all and from its
/// address. `limited` is false for addresses exempt from the per-address limit (loopback, by
/// default); no address is exempt from the access rules.
pub(super) fn refusal(
    ip: IpAddr,
    open: usize,
    from_address: usize,
    limited: bool,
    config: &Config,
) -> Option<Refusal> {
    if !config.access.allows(ip) {
        Some(Refusal::NotAllowed)
    } else if open >= config.max_clients {
        Some(Refusal::ServerFull)
    } else if limited && from_address >= config.max_per_ip {
        Some(Refusal::TooManyFromAddress)
    } else {
        None
    }
}

/// The open connections, for the connection limits and for stopping.
#[derive(Default)]
pub(super) struct OpenConnections {
    table: Mutex<Table>,
    /// Signalled each time a connection closes.
    closed: Condvar,
}

#[derive(Default)]
struct Table {
    closers: HashMap<ClientId, Closer>,
    per_ip: HashMap<IpAddr, usize>,
}

impl OpenConnections {
    fn table(&self) -> MutexGuard<'_, Table> {
        // A thread that panicked while holding the lock leaves the maps themselves intact.
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a connection unless a limit refuses it. The table keeps a clone of `closer`.
    pub(super) fn admit(
        &self,
        id: ClientId,
        closer: &Closer,
        ip: IpAddr,
        limited: bool,
        config: &Config,
    ) -> Option<Refusal> {
        let mut table = self.table();
        let from_ip = table.per_ip.get(&ip).copied().unwrap_or(0);
        if let Some(refused) = refusal(ip, table.closers.len(), from_ip, limited, config) {
            return Some(refused);
        }
        table.closers.insert(id, closer.clone());
        *table.per_ip.entry(ip).or_default() += 1;
        None
    }

    fn remove(&self, id: ClientId, ip: IpAddr) {
        let mut table = self.table();
        table.closers.remove(&id);
        if let Some(count) = table.per_ip.get_mut(&ip) {
            *count -= 1;
            if *count == 0 {
                table.per_ip.remove(&ip);
            }
        }
        drop(table);
        self.closed.notify_all();
    }

    pub(super) fn count(&self) -> usize {
        self.table().closers.len()
    }

    /// Waits until at most `n` connections are open, at most `timeout`. True if that happened.
    pub(super) fn wait_for_at_most(&self, n: usize, timeout: Duration) -> bool {
        let table = self.table();
        let (table, _) = self
            .closed
            .wait_timeout_while(table, timeout, |table| table.closers.len() > n)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        table.closers.len() <= n
    }

    /// Shuts every open socket down (`Read` wakes the readers, `Both` the writers too).
    pub(super) fn shutdown_all(&self, how: Shutdown) {
        for closer in self.table().closers.values() {
            let _ = closer.shutdown(how);
        }
    }
}

/// Held by both threads of a connection; when the last one ends, the connection leaves the table.
pub(super) struct ConnectionGuard {
    pub(super) id: ClientId,
    pub(super) ip: IpAddr,
    pub(super) shared: Arc<Shared>,
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        self.shared.connections.remove(self.id, self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::{AccessRules, Cidr, Rule};
    use std::net::Ipv4Addr;

    /// A client's address in the tests (TEST-NET-1).
    const IP: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1));

    fn limits(max_clients: usize, max_per_ip: usize) -> Config {
        Config {
            max_clients,
            max_per_ip,
            ..Config::default()
        }
    }

    /// `limits(max_clients, max_per_ip)` that deny `IP`.
    fn denying_ip(max_clients: usize, max_per_ip: usize) -> Config {
        Config {
            access: AccessRules::new(vec![Rule::Deny(Cidr::single(IP))]),
            ..limits(max_clients, max_per_ip)
        }
    }

    #[test]
    fn a_connection_under_both_limits_is_admitted() {
        assert_eq!(refusal(IP, 3, 1, true, &limits(4, 2)), None);
    }

    #[test]
    fn a_full_server_refuses_whatever_the_address() {
        assert_eq!(
            refusal(IP, 4, 0, true, &limits(4, 2)),
            Some(Refusal::ServerFull)
        );
        assert_eq!(
            refusal(IP, 4, 0, false, &limits(4, 2)),
            Some(Refusal::ServerFull)
        );
    }

    #[test]
    fn an_address_at_its_limit_is_refused_unless_exempt() {
        let config = limits(100, 2);
        assert_eq!(
            refusal(IP, 5, 2, true, &config),
            Some(Refusal::TooManyFromAddress)
        );
        assert_eq!(refusal(IP, 5, 2, false, &config), None);
    }

    #[test]
    fn an_address_the_access_rules_refuse_is_not_allowed() {
        assert_eq!(
            refusal(IP, 0, 0, true, &denying_ip(4, 2)),
            Some(Refusal::NotAllowed)
        );
        let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 2));
        assert_eq!(refusal(other, 0, 0, true, &denying_ip(4, 2)), None);
    }

    #[test]
    fn the_access_rules_are_asked_before_the_limits() {
        // Full in all and from its address: told "not allowed", which waiting will not change.
        assert_eq!(
            refusal(IP, 4, 2, true, &denying_ip(4, 2)),
            Some(Refusal::NotAllowed)
        );
    }

    #[test]
    fn an_address_exempt_from_the_limits_is_not_exempt_from_the_access_rules() {
        assert_eq!(
            refusal(IP, 0, 0, false, &denying_ip(4, 2)),
            Some(Refusal::NotAllowed)
        );
    }
}
