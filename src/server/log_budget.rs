//! A budget for the server's log: a client that floods the server (with connections, names or
//! bad frames) must not flood its log too. The log may take `BURST` lines at once, then
//! `PER_SECOND` a second; lines over the budget are counted, not written, and the next line
//! written says how many were held back. Readers also log at most a few refusals each:
//! `if shared.log_budget.allow() { log::warn!(...) }`.

use std::sync::Mutex;
use std::time::Instant;

use super::FloodLimit;
use super::flood::TokenBucket;

/// Lines the log may take at once.
const BURST: u32 = 100;
/// Lines a second the log may take after its burst.
const PER_SECOND: f64 = 10.0;

pub(super) struct LogBudget {
    state: Mutex<State>,
}

struct State {
    bucket: TokenBucket,
    /// Lines held back since the last one written.
    held_back: u64,
}

impl LogBudget {
    pub(super) fn new() -> LogBudget {
        let limit = FloodLimit {
            burst: BURST,
            per_second: PER_SECOND,
        };
        LogBudget {
            state: Mutex::new(State {
                bucket: TokenBucket::new(limit, Instant::now()),
                held_back: 0,
            }),
        }
    }

    /// Whether one more line may be written now. When lines were held back before it, a line
    /// saying how many is written first.
    pub(super) fn allow(&self) -> bool {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if !state.bucket.try_take(Instant::now()) {
            state.held_back += 1;
            return false;
        }
        let held_back = std::mem::take(&mut state.held_back);
        if held_back > 0 {
            log::warn!("{held_back} log lines were held back: too many at once");
        }
        true
    }
}
