//! Fees and business dates: the BCV in force on the Asia/Tashkent date, the fee as a
//! percentage of it in integer tiyin, and amounts and deadlines written for people.

use crate::{ApplicantType, RaError};
use time::{Date, OffsetDateTime, UtcOffset};

/// Asia/Tashkent: UTC+5 all year (no daylight saving since 1992).
pub const TASHKENT: UtcOffset = match UtcOffset::from_hms(5, 0, 0) {
    Ok(offset) => offset,
    Err(_) => UtcOffset::UTC,
};

/// The Tashkent calendar date of a moment.
pub fn tashkent_date(at: OffsetDateTime) -> Date {
    at.to_offset(TASHKENT).date()
}

/// The BCV (tiyin) in force on `date`: the entry with the latest date not after it.
pub fn bcv_on(table: &[(Date, i64)], date: Date) -> Option<i64> {
    table.iter().filter(|(from, _)| *from <= date).max_by_key(|(from, _)| *from).map(|(_, v)| *v)
}

/// Percent of the BCV charged: 7 for individuals, 10 for legal entities.
pub fn fee_percent(applicant: ApplicantType) -> i64 {
    match applicant {
        ApplicantType::Individual => 7,
        ApplicantType::LegalEntity => 10,
    }
}

/// `percent` % of `bcv_tiyin`, rounded half up, in integer arithmetic.
pub fn fee_tiyin(bcv_tiyin: i64, percent: i64) -> Result<i64, RaError> {
    bcv_tiyin
        .checked_mul(percent)
        .and_then(|v| v.checked_add(50))
        .map(|v| v.div_euclid(100))
        .filter(|_| bcv_tiyin >= 0)
        .ok_or_else(|| RaError::internal(format!("BCV {bcv_tiyin} tiyin is out of range")))
}

/// Tiyin written as sum for people: `18 900` or `18 900.50`.
pub fn format_sum(tiyin: i64) -> String {
    let sum = tiyin / 100;
    let rest = (tiyin % 100).abs();
    let digits = sum.abs().to_string();
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    let sign = if tiyin < 0 { "-" } else { "" };
    if rest == 0 { format!("{sign}{grouped}") } else { format!("{sign}{grouped}.{rest:02}") }
}

/// A moment as Tashkent wall-clock time `DD.MM.YYYY HH:MM`.
pub fn format_tashkent(at: OffsetDateTime) -> String {
    let t = at.to_offset(TASHKENT);
    format!("{:02}.{:02}.{} {:02}:{:02}", t.day(), u8::from(t.month()), t.year(), t.hour(), t.minute())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::{date, datetime};

    #[test]
    fn fees_of_the_payments_md_examples() {
        assert_eq!(fee_tiyin(27_000_000, 7).unwrap(), 1_890_000);
        assert_eq!(fee_tiyin(22_300_000, 7).unwrap(), 1_561_000);
        assert_eq!(fee_tiyin(22_300_000, 10).unwrap(), 2_230_000);
        // Half a tiyin rounds up, less rounds down.
        assert_eq!(fee_tiyin(50, 1).unwrap(), 1);
        assert_eq!(fee_tiyin(49, 1).unwrap(), 0);
        assert_eq!(fee_tiyin(150, 7).unwrap(), 11); // 10.5 → 11
        assert!(fee_tiyin(i64::MAX, 7).is_err());
    }

    #[test]
    fn bcv_in_force_by_tashkent_date() {
        let table = vec![(date!(2024 - 10 - 01), 37_500_000), (date!(2023 - 01 - 01), 27_000_000)];
        assert_eq!(bcv_on(&table, date!(2022 - 12 - 31)), None);
        assert_eq!(bcv_on(&table, date!(2023 - 01 - 01)), Some(27_000_000));
        assert_eq!(bcv_on(&table, date!(2024 - 09 - 30)), Some(27_000_000));
        assert_eq!(bcv_on(&table, date!(2024 - 10 - 01)), Some(37_500_000));
        // 20:00 UTC on 30 September is already 1 October in Tashkent.
        assert_eq!(tashkent_date(datetime!(2024-09-30 20:00 UTC)), date!(2024 - 10 - 01));
        assert_eq!(tashkent_date(datetime!(2024-09-30 18:59 UTC)), date!(2024 - 09 - 30));
    }

    #[test]
    fn formatting() {
        assert_eq!(format_sum(1_890_000), "18 900");
        assert_eq!(format_sum(1_561_050), "15 610.50");
        assert_eq!(format_sum(99), "0.99");
        assert_eq!(format_sum(100_000_000), "1 000 000");
        assert_eq!(format_tashkent(datetime!(2026-12-03 19:05 UTC)), "04.12.2026 00:05");
    }

    proptest! {
        #[test]
        fn fee_is_the_rounded_percentage(bcv in 0i64..1_000_000_000_000, percent in 0i64..=100) {
            let fee = fee_tiyin(bcv, percent).unwrap();
            // fee is the integer nearest to bcv*percent/100, halves up.
            let exact_times_100 = i128::from(bcv) * i128::from(percent);
            let diff = exact_times_100 - i128::from(fee) * 100;
            prop_assert!((-50..50).contains(&diff), "diff {}", diff);
        }
    }
}
