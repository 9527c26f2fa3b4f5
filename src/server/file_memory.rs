//! The bound on file bytes in memory, server-wide (`max_file_memory`).
//!
//! A reader reserves room for a file before it reads the file's body (a text-form file as it
//! grows); the reservation travels with the file to the broadcaster and into the turn that
//! carries it, and is given back when the last writer has sent it (dropping the
//! [`FileReservation`]). When there is no room, nobody waits: the file is refused and its
//! sender may try again. So no reader ever holds one reservation while waiting for another,
//! and a stuck file cannot stop anyone's chat messages.

use std::sync::{Arc, Mutex, MutexGuard};

/// The server-wide budget of `limit` bytes for files.
pub(super) struct FileMemory {
    limit: u64,
    used: Mutex<u64>,
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

    /// Takes `size` bytes if they fit in the budget now.
    pub(super) fn try_reserve(self: &Arc<Self>, size: u64) -> Option<FileReservation> {
        let mut used = self.used_guard();
        if size > self.limit - *used {
            return None;
        }
        *used += size;
        Some(FileReservation {
            size,
            memory: Arc::clone(self),
        })
    }
}

impl std::fmt::Debug for FileReservation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "FileReservation {{ size: {} }}", self.size)
    }
}

impl FileReservation {
    #[cfg(test)]
    fn size(&self) -> u64 {
        self.size
    }

    /// Grows the reservation to `size` bytes if the difference fits now. True when it holds at
    /// least `size` bytes afterwards.
    pub(super) fn try_grow_to(&mut self, size: u64) -> bool {
        if size <= self.size {
            return true;
        }
        let mut used = self.memory.used_guard();
        let more = size - self.size;
        if more > self.memory.limit - *used {
            return false;
        }
        *used += more;
        self.size = size;
        true
    }

    /// Gives back what a file turned out not to need.
    pub(super) fn shrink_to(&mut self, size: u64) {
        if size < self.size {
            *self.memory.used_guard() -= self.size - size;
            self.size = size;
        }
    }
}

impl Drop for FileReservation {
    fn drop(&mut self) {
        *self.memory.used_guard() -= self.size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reservations_fit_in_the_budget_or_are_refused_at_once() {
        let memory = Arc::new(FileMemory::new(100));
        let a = memory.try_reserve(60).expect("fits");
        assert!(memory.try_reserve(41).is_none(), "over the budget");
        let b = memory.try_reserve(40).expect("fits exactly");
        assert_eq!(memory.used(), 100);
        drop(a);
        assert_eq!(memory.used(), 40);
        drop(b);
        assert_eq!(memory.used(), 0);
    }

    #[test]
    fn a_reservation_grows_only_into_free_room_and_gives_back_what_it_does_not_need() {
        let memory = Arc::new(FileMemory::new(100));
        let _other = memory.try_reserve(50).unwrap();
        let mut file = memory.try_reserve(10).unwrap();
        assert!(file.try_grow_to(50));
        assert!(!file.try_grow_to(51), "only 50 were free");
        assert_eq!(file.size(), 50);
        file.shrink_to(5);
        assert_eq!(memory.used(), 55);
        drop(file);
        assert_eq!(memory.used(), 50);
    }
}
