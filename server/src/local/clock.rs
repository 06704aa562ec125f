//! The local stand-ins' one clock, and the timestamp forms their APIs show: epoch milliseconds
//! inside (SQLite), ISO-8601 UTC outside. HealthOmics answers with milliseconds
//! (`2024-01-02T03:04:05.678Z`, which the AWS SDKs read as date-times); Seven Bridges with whole
//! seconds (`2016-02-27T15:55:38Z`).

use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::OffsetDateTime;

/// Now, in milliseconds since the Unix epoch.
pub fn now_ms() -> i64 {
    (OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Now, in whole seconds since the Unix epoch.
pub fn now_unix() -> i64 {
    now_ms().div_euclid(1000)
}

/// Formats epoch milliseconds as ISO-8601 UTC with milliseconds (`2024-01-02T03:04:05.678Z`),
/// the HealthOmics form.
pub fn iso(ms: i64) -> String {
    let t = OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).unwrap_or(OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        t.millisecond()
    )
}

/// Formats epoch seconds as ISO-8601 UTC in whole seconds (`2016-02-27T15:55:38Z`), the Seven
/// Bridges form.
pub fn iso_seconds(unix: i64) -> String {
    let fmt = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(fmt).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// Parses an RFC 3339 / ISO-8601 timestamp into epoch milliseconds.
pub fn parse_ms(s: &str) -> Option<i64> {
    OffsetDateTime::parse(s, &Rfc3339).ok().map(|t| (t.unix_timestamp_nanos() / 1_000_000) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seven_bridges_form_is_utc_whole_seconds_with_z() {
        assert_eq!(iso_seconds(1_456_588_538), "2016-02-27T15:55:38Z");
    }

    #[test]
    fn healthomics_form_keeps_milliseconds_and_parses_back() {
        assert_eq!(iso(1_704_164_645_678), "2024-01-02T03:04:05.678Z");
        assert_eq!(parse_ms("2024-01-02T03:04:05.678Z"), Some(1_704_164_645_678));
        assert_eq!(parse_ms("yesterday"), None);
    }

    #[test]
    fn seconds_and_milliseconds_are_the_same_clock() {
        let (ms, s) = (now_ms(), now_unix());
        assert!((s - ms / 1000).abs() <= 1);
    }
}
