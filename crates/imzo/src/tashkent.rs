//! Times shown to people are in Asia/Tashkent (UTC+5, no daylight saving since 1992).

use time::{OffsetDateTime, UtcOffset, macros::format_description};

/// Asia/Tashkent's offset from UTC.
pub(crate) const OFFSET: UtcOffset = match UtcOffset::from_hms(5, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// `2025-08-01 14:05 (Tashkent)`.
pub(crate) fn format(at: OffsetDateTime) -> String {
    let local = at.to_offset(OFFSET);
    let text = local
        .format(format_description!("[year]-[month]-[day] [hour]:[minute]:[second]"))
        .unwrap_or_else(|_| local.to_string());
    format!("{text} Tashkent")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn utc_evening_is_next_morning_in_tashkent() {
        let at = time::macros::datetime!(2025-12-31 21:30:00 UTC);
        assert_eq!(format(at), "2026-01-01 02:30:00 Tashkent");
    }
}
