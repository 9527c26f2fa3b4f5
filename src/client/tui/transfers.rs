//! Files on their way, for the progress bars: each one's name, size, how much has moved and how
//! fast. The writer thread reports the files it sends, the receiver thread the file it receives
//! (from [`ServerFrameDecoder::file_progress`](crate::protocol::ServerFrameDecoder::file_progress));
//! a file leaves the list when it is whole. Pure: told bytes and times, it says what to draw.

use std::time::Instant;

/// Which file a report is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Transfer {
    /// A file this client sends, numbered in the order `/file` queued them.
    Sending(u64),
    /// The file now arriving: the server sends one at a time.
    Receiving,
}

/// One file on its way.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Progress {
    pub(super) transfer: Transfer,
    /// What the bar says before the numbers: `sending notes.txt`, `receiving big.iso from bob`.
    pub(super) label: String,
    pub(super) size: u64,
    pub(super) done: u64,
    started: Instant,
    /// Bytes a second, on average since it started.
    rate: f64,
}

impl Progress {
    /// How far, from 0 to 1 (an empty file is done).
    pub(super) fn ratio(&self) -> f64 {
        if self.size == 0 {
            1.0
        } else {
            (self.done as f64 / self.size as f64).clamp(0.0, 1.0)
        }
    }

    /// `19% · 12.3 of 64.0 MB at 5.1 MB/s` (1 MB = 10^6 bytes, as the line client's progress
    /// line).
    pub(super) fn numbers(&self) -> String {
        format!(
            "{}% · {:.1} of {:.1} MB at {:.1} MB/s",
            (self.ratio() * 100.0).floor(),
            self.done as f64 / 1e6,
            self.size as f64 / 1e6,
            self.rate / 1e6
        )
    }
}

/// The files on their way, in the order they started.
#[derive(Debug, Default)]
pub(super) struct Transfers {
    list: Vec<Progress>,
}

impl Transfers {
    /// The files on their way.
    pub(super) fn list(&self) -> &[Progress] {
        &self.list
    }

    /// A file starts: `size` bytes to move from `now`.
    pub(super) fn start(&mut self, transfer: Transfer, label: String, size: u64, now: Instant) {
        self.finish(transfer);
        self.list.push(Progress {
            transfer,
            label,
            size,
            done: 0,
            started: now,
            rate: 0.0,
        });
    }

    /// `done` bytes of the file have moved by `now`.
    pub(super) fn update(&mut self, transfer: Transfer, done: u64, now: Instant) {
        let Some(progress) = self.list.iter_mut().find(|p| p.transfer == transfer) else {
            return;
        };
        progress.done = done;
        // Less than a millisecond in says nothing about the rate yet.
        let seconds = now
            .saturating_duration_since(progress.started)
            .as_secs_f64()
            .max(0.001);
        progress.rate = done as f64 / seconds;
    }

    /// The file is whole, or given up: its bar goes.
    pub(super) fn finish(&mut self, transfer: Transfer) {
        self.list.retain(|p| p.transfer != transfer);
    }

    /// Whether `transfer` is on its way.
    pub(super) fn has(&self, transfer: Transfer) -> bool {
        self.list.iter().any(|p| p.transfer == transfer)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_transfer_shows_how_far_and_how_fast() {
        let start = Instant::now();
        let mut transfers = Transfers::default();
        transfers.start(Transfer::Receiving, "receiving a".into(), 10_000_000, start);
        transfers.update(
            Transfer::Receiving,
            5_000_000,
            start + Duration::from_secs(2),
        );
        let progress = &transfers.list()[0];
        assert_eq!(progress.ratio(), 0.5);
        assert_eq!(progress.numbers(), "50% · 5.0 of 10.0 MB at 2.5 MB/s");
    }

    #[test]
    fn a_finished_transfer_goes_and_the_others_stay() {
        let now = Instant::now();
        let mut transfers = Transfers::default();
        transfers.start(Transfer::Sending(1), "sending a".into(), 10, now);
        transfers.start(Transfer::Receiving, "receiving b".into(), 10, now);
        transfers.finish(Transfer::Sending(1));
        assert!(!transfers.has(Transfer::Sending(1)));
        assert!(transfers.has(Transfer::Receiving));
    }

    #[test]
    fn an_empty_file_is_done_and_a_report_past_the_size_stays_full() {
        let now = Instant::now();
        let mut transfers = Transfers::default();
        transfers.start(Transfer::Sending(1), "a".into(), 0, now);
        transfers.start(Transfer::Sending(2), "b".into(), 10, now);
        transfers.update(Transfer::Sending(2), 20, now);
        let ratios: Vec<f64> = transfers.list().iter().map(Progress::ratio).collect();
        assert_eq!(ratios, [1.0, 1.0]);
    }
}
