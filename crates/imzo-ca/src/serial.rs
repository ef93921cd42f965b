//! Certificate serial numbers.

use crate::CaError;

/// A fresh serial: 16 random bytes (128 bits, well above the 64 of the CA/B rules), the
/// top bit cleared so the DER INTEGER stays positive without a padding byte, and the
/// first byte non-zero so the encoding is exactly 16 bytes and its hex has no leading zeros.
pub fn new_serial() -> Result<Vec<u8>, CaError> {
    let mut serial = vec![0u8; 16];
    getrandom::fill(&mut serial).map_err(|e| CaError::Setup(format!("no randomness for a serial number: {e}")))?;
    serial[0] &= 0x7f;
    if serial[0] == 0 {
        // Any fixed non-zero value keeps 127 random bits: still far beyond guessing.
        serial[0] = 0x01;
    }
    Ok(serial)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn serials_are_positive_sixteen_bytes_and_distinct() {
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            let s = new_serial().unwrap();
            assert_eq!(s.len(), 16);
            assert!(s[0] != 0 && s[0] < 0x80, "first byte {:#x}", s[0]);
            assert!(seen.insert(s));
        }
    }
}
