//! Wall-clock time as the API shows it: unix seconds inside, ISO-8601 UTC outside.

use std::time::{SystemTime, UNIX_EPOCH};

use time::macros::format_description;
use time::OffsetDateTime;

/// Seconds since the unix epoch, now.
pub fn now_unix() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
}

/// `2016-02-27T15:55:38Z`, the platform's date-time form (whole seconds, UTC).
pub fn iso8601(unix: i64) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(fmt).ok())
        .unwrap_or_else(|| unix.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso8601_is_utc_whole_seconds_with_z() {
        assert_eq!(iso8601(1_456_588_538), "2016-02-27T15:55:38Z");
    }
}
