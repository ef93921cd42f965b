//! Password-encrypted PKCS#8 key files (PBES2: PBKDF2-SHA256 + AES-256-CBC).
//!
//! `pkcs8` 0.11 would choose scrypt by default; OpenSSL 3.0's `pkey`/`pkcs8` and most
//! other tools expect PBKDF2, so the scheme is spelled out here.

use crate::PkiError;
use der::asn1::OctetString;
use der::{Decode, Encode, pem::LineEnding};
use pkcs5::pbes2;
use pkcs8::{EncryptedPrivateKeyInfo, EncryptedPrivateKeyInfoRef, PrivateKeyInfoRef};
use zeroize::Zeroizing;

/// PBKDF2 iterations for key files we write (OWASP's 2023 figure for PBKDF2-HMAC-SHA256;
/// about 0.2 s to open once per start).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Iteration counts above this are refused when reading (a hostile file could otherwise
/// keep a process busy for hours).
const MAX_ITERATIONS: u32 = 10_000_000;

/// Encrypts a DER PKCS#8 PrivateKeyInfo under `password`; returns PEM
/// ("ENCRYPTED PRIVATE KEY") that `openssl pkey` opens.
pub fn encrypt(private_key_info_der: &[u8], password: &[u8]) -> Result<String, PkiError> {
    encrypt_with_iterations(private_key_info_der, password, PBKDF2_ITERATIONS)
}

/// [`encrypt`] with an explicit PBKDF2 iteration count (at least 1000).
pub fn encrypt_with_iterations(
    private_key_info_der: &[u8],
    password: &[u8],
    iterations: u32,
) -> Result<String, PkiError> {
    if iterations < 1000 {
        return Err(PkiError::Unsupported(format!(
            "{iterations} PBKDF2 iterations (at least 1000)"
        )));
    }
    PrivateKeyInfoRef::from_der(private_key_info_der)
        .map_err(|e| PkiError::malformed("PKCS#8 private key", e))?;
    let mut salt = [0u8; 16];
    let mut iv = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| PkiError::Encode(format!("random source: {e}")))?;
    getrandom::fill(&mut iv).map_err(|e| PkiError::Encode(format!("random source: {e}")))?;
    let params = pbes2::Parameters::generate_pbkdf2_sha256_aes256cbc(iterations, &salt, iv)
        .map_err(|e| PkiError::Encode(format!("PBES2 parameters: {e}")))?;
    let ciphertext = params
        .encrypt(password, private_key_info_der)
        .map_err(|e| PkiError::Encode(format!("PBES2 encryption: {e}")))?;
    let info = EncryptedPrivateKeyInfo {
        encryption_algorithm: params.into(),
        encrypted_data: OctetString::new(ciphertext)
            .map_err(|e| PkiError::Encode(e.to_string()))?,
    };
    let der = info
        .to_der()
        .map_err(|e| PkiError::Encode(format!("EncryptedPrivateKeyInfo: {e}")))?;
    let doc = der::Document::try_from(der).map_err(|e| PkiError::Encode(e.to_string()))?;
    doc.to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF)
        .map_err(|e| PkiError::Encode(format!("PEM: {e}")))
}

/// Decrypts an encrypted PKCS#8 key (PEM or DER). A wrong password gives
/// [`PkiError::WrongPassword`].
///
/// Reads PBES2 with PBKDF2 (HMAC-SHA1/224/256/384/512) or scrypt and AES-CBC, which
/// covers `openssl pkcs8 -topk8 -v2 …` and OpenSSL 3's defaults. PBES1 (`-v1`) files are
/// [`PkiError::Unsupported`].
pub fn decrypt(encrypted: &[u8], password: &[u8]) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let der = if crate::pem::is_pem(encrypted) {
        crate::pem::parse_blocks(encrypted)?
            .into_iter()
            .find(|b| b.label == "ENCRYPTED PRIVATE KEY")
            .map(|b| b.der)
            .ok_or_else(|| {
                PkiError::malformed(
                    "encrypted private key",
                    "no ENCRYPTED PRIVATE KEY block in PEM",
                )
            })?
    } else {
        encrypted.to_vec()
    };
    let info = EncryptedPrivateKeyInfoRef::from_der(&der)
        .map_err(|e| PkiError::malformed("encrypted private key", e))?;
    match &info.encryption_algorithm {
        pkcs5::EncryptionScheme::Pbes2(params) => {
            if let Some(p) = params.kdf.pbkdf2()
                && p.iteration_count > MAX_ITERATIONS
            {
                return Err(PkiError::Unsupported(format!(
                    "{} PBKDF2 iterations",
                    p.iteration_count
                )));
            }
        }
        other => {
            return Err(PkiError::Unsupported(format!(
                "key encryption {} (PBES1)",
                other.oid()
            )));
        }
    }
    let plain = info
        .encryption_algorithm
        .decrypt(password, info.encrypted_data.as_bytes())
        .map_err(|e| match e {
            pkcs5::Error::DecryptFailed => PkiError::WrongPassword,
            other => PkiError::Unsupported(format!("key encryption: {other}")),
        })?;
    let plain = Zeroizing::new(plain);
    // Padding can come out right by chance under a wrong password: the content must
    // also be a PrivateKeyInfo.
    if PrivateKeyInfoRef::from_der(&plain).is_err() {
        return Err(PkiError::WrongPassword);
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::pkcs8::EncodePrivateKey;

    fn key_der() -> Vec<u8> {
        let sk = p256::ecdsa::SigningKey::from_slice(&[9u8; 32]).unwrap();
        sk.to_pkcs8_der().unwrap().as_bytes().to_vec()
    }

    #[test]
    fn round_trip_and_wrong_password() {
        let der = key_der();
        let pem = encrypt_with_iterations(&der, b"correct horse", 2048).unwrap();
        assert!(pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----\n"));
        assert_eq!(
            decrypt(pem.as_bytes(), b"correct horse")
                .unwrap()
                .as_slice(),
            der.as_slice()
        );
        for wrong in [&b"wrong"[..], b"", b"correct horsE"] {
            assert!(matches!(
                decrypt(pem.as_bytes(), wrong),
                Err(PkiError::WrongPassword)
            ));
        }
        assert!(encrypt_with_iterations(&der, b"x", 10).is_err());
        assert!(encrypt_with_iterations(b"\x30\x00", b"x", 2048).is_err());
    }

    #[test]
    fn default_scheme_is_pbkdf2_sha256_aes256() {
        let pem = encrypt(&key_der(), b"pw").unwrap();
        let blocks = crate::pem::parse_blocks(pem.as_bytes()).unwrap();
        let info = EncryptedPrivateKeyInfoRef::from_der(&blocks[0].der).unwrap();
        let params = info.encryption_algorithm.pbes2().unwrap();
        let kdf = params.kdf.pbkdf2().unwrap();
        assert_eq!(kdf.iteration_count, PBKDF2_ITERATIONS);
        assert_eq!(kdf.prf, pbes2::Pbkdf2Prf::HmacWithSha256);
        assert!(matches!(
            params.encryption,
            pbes2::EncryptionScheme::Aes256Cbc { .. }
        ));
    }
}
