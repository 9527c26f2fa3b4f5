//! Issue 8, "attack first": a hostile client against each bound the README promises, written
//! before the fix. Each test is named after what must hold once the bound holds; the ones that
//! fail on today's server are `#[ignore]`d with the defect they show, so `make test` stays green
//! and `cargo test --test attacks -- --ignored` runs them.
//!
//! Only the public surface is used: `chat::server::{start, Config, ServerHandle, FloodLimit}`,
//! the `chat-server` and `chat-client` binaries, and raw TCP. Where the fix needs a setting that
//! today's `Config` does not have, the test says so next to the one place to change.
//!
//! Reading order, one file per theme:
//! - `handshake`: what a connection without a name can do (defects 1, 2 and 6);
//! - `queues`: clients that never read, and the send queue and write timeout (defects 3 and 4);
//! - `files`: the shared file budget, held by stalled senders and slow receivers (defect 5);
//! - `options`: extreme values on the command line and in `Config` (defect 7);
//! - `partial_files`: what a killed client leaves in its downloads folder (defect 9);
//! - `format_characters`: bidi and zero-width characters in file names and messages;
//! - `discarding`: bytes the server throws away still count against a flood limit.
//!
//! Defect 8 (what a signal does to the server) is documentation only. The proof that a panic in
//! a client thread leaves the chat consistent needs a test-only hook that panics a reader on
//! purpose; that hook comes with the fix, and so does its test.

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
