//! The bound on file bytes in memory, server-wide (`max_file_memory`).
//!
//! A reader reserves a file's size before reading its body; the reservation travels with the
//! file to the broadcaster and into the turn that carries it, and is given back when the last
//! writer has sent it (dropping the [`FileReservation`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::Duration;

/// The server-wide budget of `limit` bytes for files.
pub(super) struct FileMemory {
    limit: u64,
    used: Mutex<u64>,
    freed: Condvar,
}

/// Bytes taken from the file budget; given back on drop.
pub(super) struct FileReservation {
    size: u64,
    memory: Arc<FileMemory>,
}

impl FileMemory {
    pub(super) fn new(limit: u64) -> FileMemory {
        FileMemory {
            limit,
            used: Mutex::new(0),
            freed: Condvar::new(),
        }
    }

    fn used_guard(&self) -> MutexGuard<'_, u64> {
        self.used
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Bytes reserved now.
    pub(super) fn used(&self) -> u64 {
        *self.used_guard()
    }

    /// Wakes every reader waiting for room, so it sees that the server is stopping.
    pub(super) fn wake_waiters(&self) {
        self.freed.notify_all();
    }

    /// Waits until `size` bytes fit in the budget and takes them. `None` if the server stops
    /// first. `size` is at most `max_file_size`, which `start` checks fits in the budget.
    pub(super) fn reserve(
        self: &Arc<Self>,
        size: u64,
        stopping: &AtomicBool,
    ) -> Option<FileReservation> {
        let mut used = self.used_guard();
        while *used + size > self.limit {
            if stopping.load(Ordering::SeqCst) {
                return None;
            }
            // Woken when memory is freed; the timeout only re-checks `stopping`.
            used = self
                .freed
                .wait_timeout(used, Duration::from_millis(200))
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .0;
        }
        *used += size;
        Some(FileReservation {
            size,
            memory: Arc::clone(self),
        })
    }
}

impl FileReservation {
    /// Gives back what a file turned out not to need (a text-form file reserves the most a
    /// file may be).
    pub(super) fn shrink_to(&mut self, size: u64) {
        if size < self.size {
            *self.memory.used_guard() -= self.size - size;
            self.size = size;
            self.memory.freed.notify_all();
        }
    }
}

impl Drop for FileReservation {
    fn drop(&mut self) {
        *self.memory.used_guard() -= self.size;
        self.memory.freed.notify_all();
    }
}
