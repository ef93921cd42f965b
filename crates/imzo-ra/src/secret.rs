//! Randomness and keyed hashes for codes, captcha answers and identifiers.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

/// Fills `buf` from the operating system's random source.
pub(crate) fn fill(buf: &mut [u8]) -> Result<(), getrandom::Error> {
    getrandom::fill(buf)
}

/// `n` random bytes as lower-case hex (identifiers: drafts, challenges, captchas).
pub(crate) fn random_hex(n: usize) -> Result<String, getrandom::Error> {
    let mut b = vec![0u8; n];
    fill(&mut b)?;
    Ok(hex::encode(b))
}

/// `len` uniformly random decimal digits.
pub(crate) fn random_digits(len: usize) -> Result<String, getrandom::Error> {
    let mut out = String::with_capacity(len);
    while out.len() < len {
        let mut b = [0u8; 16];
        fill(&mut b)?;
        // Bytes ≥ 250 are dropped so each digit is equally likely.
        out.extend(b.iter().filter(|&&x| x < 250).map(|x| char::from(b'0' + x % 10)).take(len - out.len()));
    }
    Ok(out)
}

fn mac(pepper: &[u8], purpose: &str, value: &str) -> Hmac<Sha256> {
    let mut m = match <Hmac<Sha256> as KeyInit>::new_from_slice(pepper) {
        Ok(m) => m,
        Err(_) => unreachable!("HMAC accepts keys of any length"),
    };
    m.update(purpose.as_bytes());
    m.update(&[0]);
    m.update(value.as_bytes());
    m
}

/// Keyed hash (hex) of a secret `value` used for `purpose` (`otp:<draft>`, `captcha:<id>`).
pub(crate) fn keyed_hash(pepper: &[u8], purpose: &str, value: &str) -> String {
    hex::encode(mac(pepper, purpose, value).finalize().into_bytes())
}

/// Constant-time check of `value` against a stored keyed hash.
pub(crate) fn keyed_hash_matches(pepper: &[u8], purpose: &str, value: &str, stored_hex: &str) -> bool {
    match hex::decode(stored_hex) {
        Ok(stored) => mac(pepper, purpose, value).verify_slice(&stored).is_ok(),
        Err(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_bind_pepper_purpose_and_value() {
        let h = keyed_hash(b"pepper", "otp:d1", "123456");
        assert!(keyed_hash_matches(b"pepper", "otp:d1", "123456", &h));
        assert!(!keyed_hash_matches(b"pepper", "otp:d1", "123457", &h));
        assert!(!keyed_hash_matches(b"pepper", "otp:d2", "123456", &h));
        assert!(!keyed_hash_matches(b"other", "otp:d1", "123456", &h));
        assert!(!keyed_hash_matches(b"pepper", "otp:d1", "123456", "zz"));
    }

    #[test]
    fn random_digits_have_the_length_asked() {
        let d = random_digits(6).unwrap();
        assert_eq!(d.len(), 6);
        assert!(d.bytes().all(|b| b.is_ascii_digit()));
        assert_eq!(random_hex(16).unwrap().len(), 32);
    }
}
