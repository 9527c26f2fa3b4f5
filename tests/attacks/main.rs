//! Attack first: a hostile client against each bound the README promises. These tests were
//! written before the fixes, from the defects an adversarial probe found, and failed then; each is
//! named after what must hold. They use only the public surface (`chat::server::{start, Config,
//! ServerHandle, FloodLimit}`, the `chat-server` and `chat-client` binaries, and raw TCP).
//!
//! Reading order, one file per theme:
//! - `handshake`: what a connection without a name can do: files before the name, name spam,
//!   nameless connections past the handshake timeout;
//! - `queues`: clients that never read, and the send queue and write timeout;
//! - `files`: the shared file budget, held by stalled senders and slow receivers;
//! - `options`: extreme values on the command line and in `Config`;
//! - `partial_files`: what a killed client leaves in its downloads folder;
//! - `format_characters`: bidi and zero-width characters in file names and messages;
//! - `discarding`: bytes the server throws away still count against a flood limit.
//!
//! What a signal does to the server is documentation only (README, docs/PROTOCOL.md). That a
//! panic in a client thread leaves the chat consistent is tested in `tests/server_panics.rs`, with
//! a test-only hook that panics a reader on purpose.

#[path = "../common/mod.rs"]
mod common;

mod discarding;
mod files;
mod format_characters;
mod handshake;
mod options;
mod partial_files;
mod queues;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub const KIB: usize = 1024;
pub const MIB: u64 = 1024 * 1024;

/// Tells helper threads to stop; set when dropped, so a failing test stops its threads too.
#[derive(Default)]
pub struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    /// A handle for a thread to poll.
    pub fn handle(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.0)
    }
}

impl Drop for StopFlag {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// Whether a stop handle was set.
pub fn stopped(flag: &AtomicBool) -> bool {
    flag.load(Ordering::SeqCst)
}
