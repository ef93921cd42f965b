//! Amounts at the providers' edge: Click speaks sum with decimals, we store tiyin.
//! Conversion is done on the decimal text itself, never through floating point.

/// Parses a sum amount as Click sends it (`"18900"`, `"18900.5"`, `"18900.00"`) into tiyin.
/// `None` for anything else: signs, exponents, more than two decimals that are not
/// zeros, empty parts, or an amount too large to hold.
pub fn sum_to_tiyin(text: &str) -> Option<i64> {
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, fraction),
        None => (text, ""),
    };
    if whole.is_empty() || whole.len() > 15 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if text.contains('.') && fraction.is_empty() {
        return None;
    }
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Trailing zeros beyond the tiyin change nothing ("18900.000"); any other digit
    // there would be a fraction of a tiyin, which no fee has.
    let (tiyin_digits, rest) = fraction.split_at(fraction.len().min(2));
    if rest.bytes().any(|b| b != b'0') {
        return None;
    }
    let whole: i64 = whole.parse().ok()?;
    let mut cents: i64 = if tiyin_digits.is_empty() { 0 } else { tiyin_digits.parse().ok()? };
    if tiyin_digits.len() == 1 {
        cents *= 10;
    }
    whole.checked_mul(100)?.checked_add(cents)
}

/// Tiyin as a sum amount with two decimals: `1890000` → `"18900.00"`.
pub fn tiyin_to_sum(tiyin: i64) -> String {
    let sign = if tiyin < 0 { "-" } else { "" };
    let abs = tiyin.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn click_amounts() {
        assert_eq!(sum_to_tiyin("18900.00"), Some(1_890_000));
        assert_eq!(sum_to_tiyin("18900.5"), Some(1_890_050));
        assert_eq!(sum_to_tiyin("18900"), Some(1_890_000));
        assert_eq!(sum_to_tiyin("18900.05"), Some(1_890_005));
        assert_eq!(sum_to_tiyin("18900.000"), Some(1_890_000));
        assert_eq!(sum_to_tiyin("0.01"), Some(1));
        for bad in ["", ".5", "18900.", "-1", "+1", "1e4", "18900.001", "18 900", "18900,00", "1.2.3", "9999999999999999"] {
            assert_eq!(sum_to_tiyin(bad), None, "{bad:?}");
        }
        assert_eq!(tiyin_to_sum(1_890_000), "18900.00");
        assert_eq!(tiyin_to_sum(5), "0.05");
    }

    proptest! {
        #[test]
        fn round_trip(tiyin in 0i64..1_000_000_000_000_000) {
            prop_assert_eq!(sum_to_tiyin(&tiyin_to_sum(tiyin)), Some(tiyin));
        }

        #[test]
        fn never_panics_and_is_exact(text in "[0-9.+-e ]{0,20}") {
            if let Some(tiyin) = sum_to_tiyin(&text) {
                // Whatever was accepted names exactly this many tiyin.
                let expected = tiyin_to_sum(tiyin);
                prop_assert_eq!(sum_to_tiyin(&expected), Some(tiyin));
            }
        }
    }
}
