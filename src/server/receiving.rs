//! The file a reader is receiving: the memory reserved for it and its time limits.
//!
//! When a file header arrives the reader reserves the file's size from the server-wide budget
//! before it reads the body (a text-form file is reserved as it grows). When the budget has no
//! room the file is refused at once and its bytes are skipped as they arrive: nobody waits for
//! memory, so a file held up elsewhere never holds up this client's chat messages. While the
//! body arrives it must keep moving (`transfer.rs`); a body that stops, or trickles, closes the
//! connection, since the rest of the stream can no longer be trusted to come.

use std::time::Instant;

use super::file_memory::FileReservation;
use super::reader::{Ending, Item, Reader};
use super::transfer::{InboundFile, TooSlow};
use crate::protocol::ClientFrame;

/// The answer to a file the budget has no room for.
pub(super) const NO_ROOM: &str =
    "no room for files on the server right now: the file was skipped; try again in a moment";

/// A file being received.
pub(super) struct ReceivingFile {
    memory: FileReservation,
    limits: InboundFile,
}

impl Reader {
    /// Before more of a file is read: reserves what the file may hold once the next bytes come,
    /// or refuses the file when the budget has no room. Gives back the memory of a file that
    /// ended without being handed out (refused, or abandoned).
    pub(super) fn keep_file_in_budget(&mut self) -> Result<(), Ending> {
        let Some(size) = self.decoder.file_in_progress() else {
            self.file = None;
            return Ok(());
        };
        let fits = match &mut self.file {
            Some(file) => file.memory.try_grow_to(size),
            None => match self.shared.file_memory.try_reserve(size) {
                Some(memory) => {
                    let limit = self.decoder.file_size_limit().unwrap_or(size);
                    let limits = InboundFile::new(limit, Instant::now(), &self.shared.config);
                    self.file = Some(ReceivingFile { memory, limits });
                    true
                }
                None => false,
            },
        };
        if !fits {
            self.decoder.abandon_file();
            self.file = None;
            self.refuse(NO_ROOM.into())?;
        }
        Ok(())
    }

    /// Ends the connection when the file being received broke its time limits at `now`.
    pub(super) fn check_file_limits(&self, now: Instant) -> Result<(), Ending> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let config = &self.shared.config;
        match file.limits.broken_at(now, config) {
            None => Ok(()),
            Some(TooSlow::Stalled) => Err(Ending::Error(format!(
                "file given up: no byte of it for {} s",
                config.file_timeout.as_secs_f64()
            ))),
            Some(TooSlow::BelowMinRate) => Err(Ending::Error(format!(
                "file given up: slower than {} bytes a second",
                config.min_file_rate
            ))),
        }
    }

    /// When the file being received next breaks a limit if no byte comes.
    pub(super) fn file_deadline(&self) -> Option<Instant> {
        let file = self.file.as_ref()?;
        file.limits.deadline(&self.shared.config)
    }

    /// Bytes came from the client: if a file is being received, it is still moving.
    pub(super) fn file_bytes_arrived(&mut self) {
        if let Some(file) = &mut self.file {
            file.limits.last_byte = Instant::now();
        }
    }

    /// The decoder handed out `item`: a whole file takes its memory with it; anything else
    /// after which no file is being received gives back what a refused file held.
    pub(super) fn file_done(&mut self, item: &Item) -> Option<FileReservation> {
        if matches!(item, Ok(ClientFrame::File { .. })) {
            return self.file.take().map(|file| file.memory);
        }
        if self.decoder.file_in_progress().is_none() {
            self.file = None;
        }
        None
    }
}
