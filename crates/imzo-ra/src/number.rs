//! Application numbers: 11 random digits and a Luhn check digit, so a mistyped digit at
//! the counter or in a payment app is caught.

use crate::secret;

/// The Luhn check digit for `digits` (ASCII digits only).
pub fn luhn_check_digit(digits: &str) -> Option<u8> {
    let mut sum = 0u32;
    // Doubling starts from the rightmost payload digit, since the check digit follows it.
    for (i, c) in digits.bytes().rev().enumerate() {
        if !c.is_ascii_digit() {
            return None;
        }
        let mut d = u32::from(c - b'0');
        if i % 2 == 0 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    Some(((10 - sum % 10) % 10) as u8)
}

/// Is `number` a well-formed application number (12 digits, Luhn-valid)?
pub fn is_valid_number(number: &str) -> bool {
    number.len() == 12
        && number.bytes().all(|b| b.is_ascii_digit())
        && luhn_check_digit(&number[..11]) == Some(number.as_bytes()[11] - b'0')
}

/// A fresh random application number.
pub(crate) fn new_number() -> Result<String, getrandom::Error> {
    const LIMIT: u64 = 100_000_000_000;
    // Rejection sampling keeps every 11-digit payload equally likely.
    let zone = u64::MAX - u64::MAX % LIMIT;
    loop {
        let mut b = [0u8; 8];
        secret::fill(&mut b)?;
        let v = u64::from_le_bytes(b);
        if v < zone {
            let payload = format!("{:011}", v % LIMIT);
            let check = luhn_check_digit(&payload).unwrap_or(0);
            return Ok(format!("{payload}{check}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn known_luhn_values() {
        // The classic example: 7992739871 has check digit 3.
        assert_eq!(luhn_check_digit("7992739871"), Some(3));
        assert_eq!(luhn_check_digit("0000000000"), Some(0));
        assert!(is_valid_number("000000000000"));
        assert!(is_valid_number("799273987130") == (luhn_check_digit("79927398713") == Some(0)));
        assert!(!is_valid_number("12345678901"));
        assert!(!is_valid_number("1234567890ab"));
    }

    #[test]
    fn fresh_numbers_are_valid_and_differ() {
        let a = new_number().unwrap();
        let b = new_number().unwrap();
        assert!(is_valid_number(&a), "{a}");
        assert!(is_valid_number(&b), "{b}");
        assert_ne!(a, b);
    }

    proptest! {
        #[test]
        fn single_digit_errors_are_caught(payload in 0u64..100_000_000_000, pos in 0usize..12, delta in 1u8..10) {
            let p = format!("{payload:011}");
            let number = format!("{p}{}", luhn_check_digit(&p).unwrap());
            prop_assert!(is_valid_number(&number));
            let mut bytes = number.into_bytes();
            bytes[pos] = b'0' + (bytes[pos] - b'0' + delta) % 10;
            prop_assert!(!is_valid_number(&String::from_utf8(bytes).unwrap()));
        }
    }
}
