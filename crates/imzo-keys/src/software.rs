//! A software key held in process memory (zeroised on drop): ECDSA P-256 or the
//! national O'z DSt 1092:2009-II algorithm.

use crate::KeyAlgorithm;
use imzo_pki::ozdst::{self, OidFamily, ParamSet};
use imzo_pki::{PkiError, RawSigner, SignatureAlgorithm};
use p256::ecdsa::{Signature, SigningKey, signature::Signer};
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use zeroize::{Zeroize, Zeroizing};

/// A private key in memory: ECDSA P-256, or O'z DSt 1092 / GOST R 34.10-2001.
///
/// The secret scalar is wiped when the key is dropped (`p256`'s `SigningKey` and
/// [`ozdst::SigningKey`] zeroise themselves); the DER SubjectPublicKeyInfo is kept
/// alongside for [`RawSigner::public_key_der`].
pub struct SoftwareKey {
    inner: Inner,
    spki_der: Vec<u8>,
}

enum Inner {
    P256(SigningKey),
    National(ozdst::SoftwareSigner),
}

impl std::fmt::Debug for SoftwareKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SoftwareKey(..)")
    }
}

/// Whether a DER PKCS#8 PrivateKeyInfo names a national or GOST key algorithm.
fn is_national_pkcs8(der: &[u8]) -> bool {
    use der::Decode;
    pkcs8::PrivateKeyInfoRef::from_der(der).is_ok_and(|info| {
        [ozdst::OZDST_1092_KEY, ozdst::GOST_R3410_2001].contains(&info.algorithm.oid)
    })
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

    /// Generates a fresh key of `algorithm` from the operating system's random source.
    pub fn generate_with(algorithm: KeyAlgorithm) -> Result<Self, PkiError> {
        match algorithm {
            KeyAlgorithm::EcdsaP256 => Self::generate(),
            KeyAlgorithm::OzDst1092A => Self::from_national(ozdst::SigningKey::generate(
                ParamSet::CryptoProA,
                OidFamily::National,
            )?),
        }
    }

    /// Wraps a national (or standard-OID GOST) key.
    pub fn from_national(key: ozdst::SigningKey) -> Result<Self, PkiError> {
        let signer = ozdst::SoftwareSigner::new(key)?;
        let spki_der = signer.public_key_der().to_vec();
        Ok(SoftwareKey {
            inner: Inner::National(signer),
            spki_der,
        })
    }

    /// Loads a key from DER PKCS#8 PrivateKeyInfo (unencrypted; RFC 5208 or RFC 5958).
    ///
    /// P-256 EC keys and O'z DSt 1092 / GOST R 34.10-2001 keys (the installed base's
    /// two forms and OpenSSL's GOST form) are accepted; anything else is
    /// [`PkiError::Unsupported`] or [`PkiError::Malformed`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, PkiError> {
        if is_national_pkcs8(der) {
            return Self::from_national(ozdst::private_key_from_pkcs8(der)?);
        }
        let key = SigningKey::from_pkcs8_der(der).map_err(|e| match e {
            p256::pkcs8::Error::KeyMalformed(_) | p256::pkcs8::Error::Asn1(_) => {
                PkiError::malformed("PKCS#8 private key", e)
            }
            other => PkiError::Unsupported(format!("private key: {other}")),
        })?;
        Self::from_signing_key(key)
    }

    /// DER PKCS#8 PrivateKeyInfo of the key: for P-256 with the public key, as OpenSSL
    /// writes it; for national keys with the national key OID and the bare
    /// parameter-set OID (the installed base's first form).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, PkiError> {
        match &self.inner {
            Inner::P256(key) => {
                let doc = key
                    .to_pkcs8_der()
                    .map_err(|e| PkiError::Encode(format!("PKCS#8: {e}")))?;
                Ok(Zeroizing::new(doc.as_bytes().to_vec()))
            }
            Inner::National(signer) => signer.key().to_pkcs8_der(),
        }
    }

    /// The kind of key this is, when it is one Imzo generates (`None` for a
    /// standard-OID GOST key or a national key on another parameter set, which can be
    /// loaded and used but are not offered at key creation).
    pub fn key_algorithm(&self) -> Option<KeyAlgorithm> {
        match &self.inner {
            Inner::P256(_) => Some(KeyAlgorithm::EcdsaP256),
            Inner::National(signer) => {
                let public = signer.key().public_key();
                (public.family() == OidFamily::National
                    && public.param_set() == ParamSet::CryptoProA)
                    .then_some(KeyAlgorithm::OzDst1092A)
            }
        }
    }

    fn from_signing_key(key: SigningKey) -> Result<Self, PkiError> {
        let spki_der = key
            .verifying_key()
            .to_public_key_der()
            .map_err(|e| PkiError::Encode(format!("SubjectPublicKeyInfo: {e}")))?
            .into_vec();
        Ok(SoftwareKey {
            inner: Inner::P256(key),
            spki_der,
        })
    }
}

impl Drop for SoftwareKey {
    fn drop(&mut self) {
        // The keys inside wipe their own scalars; the public key is not secret but is
        // cleared for tidiness.
        self.spki_der.zeroize();
    }
}

impl RawSigner for SoftwareKey {
    fn algorithm(&self) -> SignatureAlgorithm {
        match &self.inner {
            Inner::P256(_) => SignatureAlgorithm::EcdsaP256Sha256,
            Inner::National(signer) => signer.algorithm(),
        }
    }
    fn public_key_der(&self) -> &[u8] {
        &self.spki_der
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError> {
        match &self.inner {
            Inner::P256(key) => {
                let sig: Signature = key
                    .try_sign(message)
                    .map_err(|e| PkiError::Signer(format!("ECDSA: {e}")))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
            Inner::National(signer) => signer.sign(message),
        }
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
    fn national_key_signs_and_round_trips_pkcs8() {
        let key = SoftwareKey::generate_with(KeyAlgorithm::OzDst1092A).unwrap();
        assert_eq!(key.algorithm(), SignatureAlgorithm::OzDst1092);
        assert_eq!(key.key_algorithm(), Some(KeyAlgorithm::OzDst1092A));
        let sig = key.sign(b"hujjat").unwrap();
        assert_eq!(sig.len(), 64);
        imzo_pki::alg::verify_signature(
            key.public_key_der(),
            "1.2.860.3.15.1.1.2.2.2.2",
            b"hujjat",
            &sig,
        )
        .unwrap();
        assert!(
            imzo_pki::alg::verify_signature(
                key.public_key_der(),
                "1.2.860.3.15.1.1.2.2.2.2",
                b"hujjaT",
                &sig,
            )
            .is_err()
        );
        let der = key.to_pkcs8_der().unwrap();
        // The national key OID with the bare parameter-set OID.
        let info = <pkcs8::PrivateKeyInfoRef<'_> as der::Decode>::from_der(&der).unwrap();
        assert_eq!(info.algorithm.oid, ozdst::OZDST_1092_KEY);
        let again = SoftwareKey::from_pkcs8_der(&der).unwrap();
        assert_eq!(again.public_key_der(), key.public_key_der());
        assert_eq!(again.algorithm(), SignatureAlgorithm::OzDst1092);
        // A P-256 key stays P-256.
        let p = SoftwareKey::generate_with(KeyAlgorithm::EcdsaP256).unwrap();
        assert_eq!(p.key_algorithm(), Some(KeyAlgorithm::EcdsaP256));
        assert_ne!(p.public_key_der(), key.public_key_der());
    }

    #[test]
    fn garbage_pkcs8_is_an_error() {
        assert!(SoftwareKey::from_pkcs8_der(b"\x30\x03\x02\x01\x00").is_err());
    }
}
