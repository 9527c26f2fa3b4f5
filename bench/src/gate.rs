//! The start signal of a timed phase: every client thread gets ready (joined, others seen),
//! then all start at once, so that joining is never part of what is timed.

use std::sync::Barrier;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

pub struct Gate {
    threads: usize,
    ready: AtomicUsize,
    failed: AtomicUsize,
    barrier: Barrier,
}

impl Gate {
    /// A gate for `threads` client threads and the thread that opens it.
    pub fn new(threads: usize) -> Gate {
        Gate {
            threads,
            ready: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
            barrier: Barrier::new(threads + 1),
        }
    }

    /// A client thread waits here for the start, saying whether it got ready. Every thread
    /// must come here (ready or not) in bounded time. An error when any thread failed.
    pub fn wait(&self, ready: &Result<(), String>) -> Result<(), String> {
        if ready.is_err() {
            self.failed.fetch_add(1, Ordering::SeqCst);
        }
        self.ready.fetch_add(1, Ordering::SeqCst);
        self.barrier.wait();
        ready.clone()?;
        match self.failed.load(Ordering::SeqCst) {
            0 => Ok(()),
            n => Err(format!("{n} clients did not get ready")),
        }
    }

    /// Waits until every client thread waits at the gate, then lets them all go; `ready` says
    /// whether the opener itself got ready. Returns the moment of the start signal (taken
    /// before the threads are woken: waking them is timed).
    pub fn open(&self, ready: &Result<(), String>, deadline: Instant) -> Result<Instant, String> {
        if ready.is_err() {
            self.failed.fetch_add(1, Ordering::SeqCst);
        }
        while self.ready.load(Ordering::SeqCst) < self.threads {
            if Instant::now() >= deadline {
                return Err("the client threads did not get ready in time".into());
            }
            thread::sleep(Duration::from_millis(1));
        }
        let start = Instant::now();
        self.barrier.wait();
        ready.clone()?;
        match self.failed.load(Ordering::SeqCst) {
            0 => Ok(start),
            n => Err(format!("{n} clients did not get ready")),
        }
    }
}
