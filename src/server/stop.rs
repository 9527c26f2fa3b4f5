//! Stopping the server: a [`Stopper`] is a value anyone can hold (the handle, a console, a
//! test), clone and use; stopping twice is harmless.
//!
//! A stop sets the `stopping` flag, wakes the acceptor (a blocking `accept` cannot be
//! interrupted, so the stopper connects to the listener itself) and tells the broadcaster,
//! which queues `[ERROR]:server is shutting down` for every joined client and ends. The handle
//! then waits for every connection to close.

use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use crossbeam_channel::Sender;

use super::Shared;
use super::event::Event;

/// Stops the server it came from ([`ServerHandle::stopper`](super::ServerHandle::stopper)).
#[derive(Clone)]
pub struct Stopper {
    pub(super) addr: SocketAddr,
    pub(super) shared: Arc<Shared>,
    pub(super) events: Sender<Event>,
}

impl Stopper {
    /// Asks the server to stop: no more connections, and a goodbye to everyone. Returns at once;
    /// [`ServerHandle::shutdown`](super::ServerHandle::shutdown) also waits for the end.
    pub fn stop(&self) {
        if self.shared.stopping.set() {
            return; // already stopping
        }
        let _ = TcpStream::connect(wake_address(self.addr));
        let _ = self.events.send(Event::Shutdown);
    }

    /// True once a stop was asked for.
    pub fn is_stopping(&self) -> bool {
        self.shared.stopping.is_set()
    }
}

/// The flag that says the server is stopping, and a way to sleep until it is set: a reader
/// that paces a flooding client must not keep the server from stopping.
#[derive(Default)]
pub(super) struct Stopping {
    flag: AtomicBool,
    lock: Mutex<()>,
    set: Condvar,
}

impl Stopping {
    pub(super) fn is_set(&self) -> bool {
        self.flag.load(Ordering::SeqCst)
    }

    /// Sets the flag and wakes every sleeper; true if it was already set.
    fn set(&self) -> bool {
        let was_set = self.flag.swap(true, Ordering::SeqCst);
        // Taking the lock orders this with a sleeper that checked the flag and is about to wait.
        drop(
            self.lock
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        self.set.notify_all();
        was_set
    }

    /// Sleeps for `time`, or until the server stops, whichever comes first.
    pub(super) fn sleep(&self, time: Duration) {
        let guard = self
            .lock
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let _ = self
            .set
            .wait_timeout_while(guard, time, |()| !self.is_set())
            .unwrap_or_else(|poisoned| poisoned.into_inner());
    }
}

/// Where to connect to reach a listener bound to `addr` (a wildcard address is reached over
/// loopback).
fn wake_address(addr: SocketAddr) -> SocketAddr {
    let mut addr = addr;
    if addr.ip().is_unspecified() {
        match addr {
            SocketAddr::V4(_) => addr.set_ip(Ipv4Addr::LOCALHOST.into()),
            SocketAddr::V6(_) => addr.set_ip(Ipv6Addr::LOCALHOST.into()),
        }
    }
    addr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcard_listener_is_woken_over_loopback() {
        let addr: SocketAddr = "0.0.0.0:4000".parse().unwrap();
        assert_eq!(wake_address(addr), "127.0.0.1:4000".parse().unwrap());
        let addr: SocketAddr = "[::]:4000".parse().unwrap();
        assert_eq!(wake_address(addr), "[::1]:4000".parse().unwrap());
    }
}
