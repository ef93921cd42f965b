//! UTC milliseconds, the one time representation in storage.

use time::OffsetDateTime;

/// Current time as UTC milliseconds since the epoch.
pub fn now_ms() -> i64 {
    to_ms(OffsetDateTime::now_utc())
}

/// A time as UTC milliseconds since the epoch.
pub fn to_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

/// UTC milliseconds back to a time (saturating at the representable range).
pub fn from_ms(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}
