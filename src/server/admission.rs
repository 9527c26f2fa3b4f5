//! Who may connect, and the table of open connections.
//!
//! Every open connection, joined or not, is in one table: its stream (so a stop can shut every
//! socket) and a count per address. A new connection is admitted only while the table is under
//! `max_clients` and its address under `max_per_ip`; the decision is [`refusal`], a pure
//! function. A connection leaves the table when the last of its two threads drops its
//! [`ConnectionGuard`].

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Shutdown, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

use super::{ClientId, Config, Shared};

/// Why a new connection is turned away before its handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Refusal {
    /// `max_clients` connections are open.
    ServerFull,
    /// `max_per_ip` connections are open from the same address.
    TooManyFromAddress,
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refusal::ServerFull => write!(f, "server full"),
            Refusal::TooManyFromAddress => write!(f, "too many connections from your address"),
        }
    }
}

/// Whether one more connection may open, given how many are open in all and from its address.
/// `limited` is false for addresses exempt from the per-address limit (loopback, by default).
pub(super) fn refusal(
    open: usize,
    from_address: usize,
    limited: bool,
    config: &Config,
) -> Option<Refusal> {
    if open >= config.max_clients {
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
    streams: HashMap<ClientId, TcpStream>,
    per_ip: HashMap<IpAddr, usize>,
}

impl OpenConnections {
    fn table(&self) -> MutexGuard<'_, Table> {
        // A thread that panicked while holding the lock leaves the maps themselves intact.
        self.table
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a connection unless a limit refuses it. The table keeps a clone of `stream`.
    pub(super) fn admit(
        &self,
        id: ClientId,
        stream: &TcpStream,
        ip: IpAddr,
        limited: bool,
        config: &Config,
    ) -> std::io::Result<Option<Refusal>> {
        let mut table = self.table();
        let from_ip = table.per_ip.get(&ip).copied().unwrap_or(0);
        if let Some(refused) = refusal(table.streams.len(), from_ip, limited, config) {
            return Ok(Some(refused));
        }
        table.streams.insert(id, stream.try_clone()?);
        *table.per_ip.entry(ip).or_default() += 1;
        Ok(None)
    }

    fn remove(&self, id: ClientId, ip: IpAddr) {
        let mut table = self.table();
        table.streams.remove(&id);
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
        self.table().streams.len()
    }

    /// Waits until at most `n` connections are open, at most `timeout`. True if that happened.
    pub(super) fn wait_for_at_most(&self, n: usize, timeout: Duration) -> bool {
        let table = self.table();
        let (table, _) = self
            .closed
            .wait_timeout_while(table, timeout, |table| table.streams.len() > n)
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        table.streams.len() <= n
    }

    /// Shuts every open socket down (`Read` wakes the readers, `Both` the writers too).
    pub(super) fn shutdown_all(&self, how: Shutdown) {
        for stream in self.table().streams.values() {
            let _ = stream.shutdown(how);
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

    fn limits(max_clients: usize, max_per_ip: usize) -> Config {
        Config {
            max_clients,
            max_per_ip,
            ..Config::default()
        }
    }

    #[test]
    fn a_connection_under_both_limits_is_admitted() {
        assert_eq!(refusal(3, 1, true, &limits(4, 2)), None);
    }

    #[test]
    fn a_full_server_refuses_whatever_the_address() {
        assert_eq!(
            refusal(4, 0, true, &limits(4, 2)),
            Some(Refusal::ServerFull)
        );
        assert_eq!(
            refusal(4, 0, false, &limits(4, 2)),
            Some(Refusal::ServerFull)
        );
    }

    #[test]
    fn an_address_at_its_limit_is_refused_unless_exempt() {
        let config = limits(100, 2);
        assert_eq!(
            refusal(5, 2, true, &config),
            Some(Refusal::TooManyFromAddress)
        );
        assert_eq!(refusal(5, 2, false, &config), None);
    }
}
