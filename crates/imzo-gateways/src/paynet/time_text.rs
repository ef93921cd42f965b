//! Paynet's times: `YYYY-MM-DD HH:MM:SS` in Tashkent (UTC+5, no daylight saving).

use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset, macros::format_description};

const TASHKENT_SECONDS: i32 = 5 * 3600;

fn tashkent() -> UtcOffset {
    UtcOffset::from_whole_seconds(TASHKENT_SECONDS).unwrap_or(UtcOffset::UTC)
}

/// Milliseconds since 1970 as Paynet's `YYYY-MM-DD HH:MM:SS` in Tashkent time.
pub fn timestamp(ms: i64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .map(|t| t.to_offset(tashkent()))
        .ok()
        .and_then(|t| t.format(format).ok())
        .unwrap_or_default()
}

/// Paynet's `YYYY-MM-DD HH:MM:SS` (Tashkent time) as milliseconds since 1970.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    let local = PrimitiveDateTime::parse(text.trim(), format).ok()?;
    let nanos = local.assume_offset(tashkent()).unix_timestamp_nanos();
    i64::try_from(nanos / 1_000_000).ok()
}
