//! Times as a person reads them: `HH:MM` before a line (`--timestamps`), the date and time of
//! a history message, and the date and time to the second before each line of the chat log. Always UTC: std knows no time zones, and the design keeps its four crates.
//! Pure but for [`now`]: seconds since the Unix epoch in, text out.

use std::time::{SystemTime, UNIX_EPOCH};

const SECONDS_PER_DAY: u64 = 24 * 60 * 60;

/// Seconds since the Unix epoch now (0 on a clock set before 1970).
pub(super) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| since.as_secs())
}

/// `HH:MM` in UTC: `10:37`.
pub(super) fn hours_minutes(secs: u64) -> String {
    let of_day = secs % SECONDS_PER_DAY;
    format!("{:02}:{:02}", of_day / 3600, of_day % 3600 / 60)
}

/// The date and time in UTC, to the minute: `2026-12-01 10:37 UTC`.
pub(super) fn date_time(secs: u64) -> String {
    let (year, month, day) = civil_from_days(secs / SECONDS_PER_DAY);
    format!("{year:04}-{month:02}-{day:02} {} UTC", hours_minutes(secs))
}

/// The date and time in UTC, to the second, as the chat log has it: `2026-12-01 10:37:46`.
pub(super) fn log_stamp(secs: u64) -> String {
    let (year, month, day) = civil_from_days(secs / SECONDS_PER_DAY);
    format!(
        "{year:04}-{month:02}-{day:02} {}:{:02}",
        hours_minutes(secs),
        secs % 60
    )
}

/// The proleptic Gregorian date `days` days after 1970-01-01: Howard Hinnant's
/// `civil_from_days` (<https://howardhinnant.github.io/date_algorithms.html>), which counts in
/// 400-year eras of 146097 days, each starting on a 1 March so that the leap day comes last.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // From 0000-03-01, the start of an era; u64 cannot overflow: days < 2^64 / 86400.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097; // [0, 146096]
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153; // [0, 11], March first
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_as_utc_dates_and_minutes() {
        let cases = [
            (0, "1970-01-01 00:00 UTC"),
            (59, "1970-01-01 00:00 UTC"),
            (86_399, "1970-01-01 23:59 UTC"),
            (951_782_400 + 37_230, "2000-02-29 10:20 UTC"),
            (951_868_800, "2000-03-01 00:00 UTC"),
            (1_796_121_420, "2026-12-01 10:37 UTC"),
            (4_102_444_799, "2099-12-31 23:59 UTC"),
            (4_107_542_400, "2100-03-01 00:00 UTC"), // 2100 is not a leap year
        ];
        for (secs, shown) in cases {
            assert_eq!(date_time(secs), shown, "{secs}");
        }
    }

    #[test]
    fn hours_and_minutes_are_two_digits_each() {
        assert_eq!(hours_minutes(0), "00:00");
        assert_eq!(hours_minutes(1_796_121_420), "10:37");
        assert_eq!(hours_minutes(86_399), "23:59");
    }

    #[test]
    fn log_stamps_read_to_the_second() {
        assert_eq!(log_stamp(0), "1970-01-01 00:00:00");
        assert_eq!(log_stamp(1_796_121_466), "2026-12-01 10:37:46");
        assert_eq!(log_stamp(86_399), "1970-01-01 23:59:59");
    }

    #[test]
    fn the_latest_time_a_server_can_send_still_reads() {
        assert!(date_time(u64::MAX).ends_with(" UTC"));
    }
}
