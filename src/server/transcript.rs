//! The chat's transcript (`--log`): one timestamped line per join, leave, message and file.
//!
//! Each line is written with one system call, before the broadcaster relays what it records, so
//! a server killed at any moment has logged everything it relayed.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use super::ServerError;

pub(super) struct Transcript {
    file: Option<File>,
}

impl Transcript {
    pub(super) fn open(path: Option<&PathBuf>) -> Result<Transcript, ServerError> {
        let file = match path {
            None => None,
            Some(path) => Some(
                OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| ServerError::Log {
                        path: path.clone(),
                        source,
                    })?,
            ),
        };
        Ok(Transcript { file })
    }

    pub(super) fn record(&mut self, line: &str) {
        let Some(file) = &mut self.file else { return };
        let line = format!("{} {line}\n", utc_timestamp(SystemTime::now()));
        if let Err(error) = file.write_all(line.as_bytes()) {
            log::warn!("cannot write the transcript: {error}");
        }
    }
}

/// Formats a time as `2026-11-26T10:37:46Z` (UTC), without a date crate.
pub(super) fn utc_timestamp(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hour, minute, second) = (rest / 3600, rest / 60 % 60, rest % 60);
    // Days since 1970-01-01 to a civil date (Howard Hinnant's `civil_from_days`).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn timestamps_are_utc_dates() {
        let at = |secs| utc_timestamp(UNIX_EPOCH + Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_795_689_466), "2026-11-26T10:37:46Z");
    }
}
