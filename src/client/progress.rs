//! The progress line of a big file: while a file over 1 MiB is sent or received, stderr shows
//! how far it has come and how fast (`receiving big.iso from bob: 45% at 12.3 MB/s`), when
//! stderr is a terminal. Pure: a [`Meter`] is told the bytes done and the time, and says what
//! to draw; the `Output` draws it. Also how a size reads ([`size`]: `11 bytes`, `64 MiB`).

use std::time::{Duration, Instant};

/// Files larger than this get a progress line: smaller ones are over before it could be read.
pub(super) const SHOWN_ABOVE: u64 = 1024 * 1024;
/// The line is drawn again at most this often, so that a fast transfer does not spend its time
/// drawing.
const REDRAW_EVERY: Duration = Duration::from_millis(200);

/// Follows one file's transfer.
#[derive(Debug)]
pub(super) struct Meter {
    label: String,
    size: u64,
    started: Instant,
    drawn: Option<Instant>,
}

impl Meter {
    /// A meter for a file of `size` bytes started at `now`; `None` when the file is too small to
    /// need one.
    pub(super) fn new(label: String, size: u64, now: Instant) -> Option<Meter> {
        (size > SHOWN_ABOVE).then_some(Meter {
            label,
            size,
            started: now,
            drawn: None,
        })
    }

    /// The line to draw now that `done` bytes are through, or `None` when the last one is
    /// recent enough. The first line and the last (everything done) are always drawn.
    pub(super) fn update(&mut self, done: u64, now: Instant) -> Option<String> {
        let recent = self
            .drawn
            .is_some_and(|at| now.saturating_duration_since(at) < REDRAW_EVERY);
        if recent && done < self.size {
            return None;
        }
        self.drawn = Some(now);
        let elapsed = now.saturating_duration_since(self.started);
        Some(progress_line(&self.label, done, self.size, elapsed))
    }
}

/// A size as a person reads it: `1 byte`, `11 bytes`, `1.5 KiB`, `64 MiB`, `2.3 GiB` (binary
/// units, as file sizes are given here; one decimal, none when it is 0).
pub(super) fn size(bytes: u64) -> String {
    const UNITS: [&str; 3] = ["KiB", "MiB", "GiB"];
    if bytes == 1 {
        return "1 byte".to_owned();
    }
    if bytes < 1024 {
        return format!("{bytes} bytes");
    }
    let mut value = bytes as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    let shown = format!("{value:.1}");
    let shown = shown.strip_suffix(".0").unwrap_or(&shown);
    format!("{shown} {}", UNITS[unit])
}

/// `<label>: <percent>% at <rate> MB/s` (1 MB = 10^6 bytes, as transfer rates are given).
fn progress_line(label: &str, done: u64, size: u64, elapsed: Duration) -> String {
    let percent = (u128::from(done) * 100)
        .checked_div(u128::from(size))
        .unwrap_or(100);
    // Less than a millisecond in says nothing about the rate yet.
    let seconds = elapsed.as_secs_f64().max(0.001);
    let rate = done as f64 / seconds / 1e6;
    format!("{label}: {percent}% at {rate:.1} MB/s")
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn only_files_over_1_mib_get_a_meter() {
        let now = Instant::now();
        assert!(Meter::new("x".into(), MIB, now).is_none());
        assert!(Meter::new("x".into(), MIB + 1, now).is_some());
    }

    #[test]
    fn the_line_says_percent_and_rate() {
        let line = progress_line(
            "sending a.bin",
            5_000_000,
            10_000_000,
            Duration::from_secs(2),
        );
        assert_eq!(line, "sending a.bin: 50% at 2.5 MB/s");
        let done = progress_line("x", 3 * MIB, 3 * MIB, Duration::from_millis(500));
        assert_eq!(done, "x: 100% at 6.3 MB/s");
        assert_eq!(
            progress_line("x", 0, 0, Duration::ZERO),
            "x: 100% at 0.0 MB/s"
        );
    }

    #[test]
    fn the_line_is_drawn_at_most_every_200_ms_but_always_at_the_end() {
        let start = Instant::now();
        let size = 10 * MIB;
        let mut meter = Meter::new("x".into(), size, start).unwrap();
        let at = |ms| start + Duration::from_millis(ms);
        assert!(meter.update(MIB, at(10)).is_some(), "the first");
        assert!(meter.update(2 * MIB, at(100)).is_none(), "too soon");
        assert!(meter.update(3 * MIB, at(210)).is_some(), "200 ms on");
        assert!(meter.update(size, at(220)).is_some(), "the last");
    }

    #[test]
    fn sizes_read_in_binary_units() {
        let cases = [
            (0, "0 bytes"),
            (1, "1 byte"),
            (11, "11 bytes"),
            (1023, "1023 bytes"),
            (1024, "1 KiB"),
            (1536, "1.5 KiB"),
            (MIB + 1, "1 MiB"),
            (64 * MIB, "64 MiB"),
            (5 * 1024 * MIB / 2, "2.5 GiB"),
        ];
        for (bytes, shown) in cases {
            assert_eq!(size(bytes), shown, "{bytes}");
        }
    }
}
