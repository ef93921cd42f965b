//! Showing amounts and putting values into links.

/// Tiyin as sum for people: `1890000` → `"18 900.00"` (thin groups of three, two decimals).
pub(crate) fn fee_sum_display(tiyin: i64) -> String {
    let sign = if tiyin < 0 { "-" } else { "" };
    let tiyin = tiyin.unsigned_abs();
    let digits = (tiyin / 100).to_string();
    let mut grouped = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            grouped.push(' ');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", tiyin % 100)
}

/// Percent-encodes everything but unreserved characters (RFC 3986) for a query value.
pub(crate) fn url_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn fee_display() {
        assert_eq!(fee_sum_display(1_890_000), "18 900.00");
        assert_eq!(fee_sum_display(156_100_050), "1 561 000.50");
        assert_eq!(fee_sum_display(5), "0.05");
        assert_eq!(fee_sum_display(-100), "-1.00");
    }

    #[test]
    fn url_components() {
        assert_eq!(url_component("123456789012"), "123456789012");
        assert_eq!(url_component("a b&c=d"), "a%20b%26c%3Dd");
    }

    proptest! {
        #[test]
        fn display_round_trips(tiyin in 0i64..1_000_000_000_000) {
            let shown = fee_sum_display(tiyin);
            let back: i64 = shown.replace([' ', '.'], "").parse().unwrap_or(-1);
            prop_assert_eq!(back, tiyin);
        }
    }
}
