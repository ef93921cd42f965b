//! A P-256 key held in process memory (zeroised on drop).

use imzo_pki::{PkiError, RawSigner, SignatureAlgorithm};
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use zeroize::{Zeroize, Zeroizing};

/// An ECDSA P-256 private key in memory.
///
/// The secret scalar is wiped when the key is dropped (`p256`'s `SigningKey` zeroises
/// itself); the DER SubjectPublicKeyInfo is kept alongside for [`RawSigner::public_key_der`].
pub struct SoftwareKey {
    key: SigningKey,
    spki_der: Vec<u8>,
}

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareKey(..)")
    }
}

impl SoftwareKey {
    /// Generates a fresh P-256 key from the operating system's random source.
    pub fn generate() -> Result<Self, PkiError> {
        // Rejection sampling: 32 random bytes are a valid scalar unless zero or >= n
        // (probability about 2^-32), in which case draw again.
        for _ in 0..64 {
            let mut bytes = Zeroizing::new([0u8; 32]);
            getrandom::fill(bytes.as_mut_slice())
                .map_err(|e| PkiError::Signer(format!("random source: {e}")))?;
            if let Ok(key) = SigningKey::from_slice(bytes.as_slice()) {
                return Self::from_signing_key(key);
            }
        }
        Err(PkiError::Signer(
            "random source gave no valid P-256 scalar".into(),
        ))
    }

    /// Loads a key from DER PKCS#8 PrivateKeyInfo (unencrypted; RFC 5208 or RFC 5958).
    ///
    /// Only P-256 EC keys are accepted; anything else is [`PkiError::Unsupported`] or
    /// [`PkiError::Malformed`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, PkiError> {
        let key = SigningKey::from_pkcs8_der(der).map_err(|e| match e {
            p256::pkcs8::Error::KeyMalformed(_) | p256::pkcs8::Error::Asn1(_) => {
                PkiError::malformed("PKCS#8 private key", e)
            }
            other => PkiError::Unsupported(format!("private key: {other}")),
        })?;
        Self::from_signing_key(key)
    }

    /// DER PKCS#8 PrivateKeyInfo of the key (with the public key, as OpenSSL writes it).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, PkiError> {
        let doc = self
            .key
            .to_pkcs8_der()
            .map_err(|e| PkiError::Encode(format!("PKCS#8: {e}")))?;
        Ok(Zeroizing::new(doc.as_bytes().to_vec()))
    }

    fn from_signing_key(key: SigningKey) -> Result<Self, PkiError> {
        let spki_der = key
            .verifying_key()
            .to_public_key_der()
            .map_err(|e| PkiError::Encode(format!("SubjectPublicKeyInfo: {e}")))?
            .into_vec();
        Ok(SoftwareKey { key, spki_der })
    }
}

impl Drop for SoftwareKey {
    fn drop(&mut self) {
        // The SigningKey wipes its own scalar; the public key is not secret but is cleared
        // for tidiness.
        self.spki_der.zeroize();
    }
}

impl RawSigner for SoftwareKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        SignatureAlgorithm::EcdsaP256Sha256
    }
    fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        let sig: Signature = self
            .key
            .try_sign(message)
            .map_err(|e| PkiError::Signer(format!("ECDSA: {e}")))?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_pkcs8_round_trip() {
        let key = SoftwareKey::generate().unwrap();
        let sig = key.sign(b"message").unwrap();
        imzo_pki::alg::verify_signature(
            key.public_key_der(),
            "1.2.840.10045.4.3.2",
            b"message",
            &sig,
        )
        .unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let again = SoftwareKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(again.public_key_der(), key.public_key_der());
        let sig2 = again.sign(b"other").unwrap();
        imzo_pki::alg::verify_signature(
            key.public_key_der(),
            "1.2.840.10045.4.3.2",
            b"other",
            &sig2,
        )
        .unwrap();
    }

    #[test]
    fn two_keys_differ() {
        let a = SoftwareKey::generate().unwrap();
        let b = SoftwareKey::generate().unwrap();
        assert_ne!(a.public_key_der(), b.public_key_der());
        assert!(format!("{a:?}").contains(".."));
    }

    #[test]
    fn garbage_pkcs8_is_an_error() {
        assert!(SoftwareKey::from_pkcs8_der(b"\x30\x03\x02\x01\x00").is_err());
    }
}
