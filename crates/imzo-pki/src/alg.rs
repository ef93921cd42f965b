//! Signature algorithms and the one signer interface every key home implements.

use crate::PkiError;
use der::{Decode, asn1::ObjectIdentifier};
use sha2::Digest;
use spki::SubjectPublicKeyInfoRef;

/// Signature algorithms Imzo makes and checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignatureAlgorithm {
    /// ECDSA over NIST P-256 with SHA-256 (OID 1.2.840.10045.4.3.2). The default.
    EcdsaP256Sha256,
    /// O'z DSt 1092:2009-II with the 1106:2009-II hash under the national OIDs
    /// (1.2.860.3.15.1.1.2.2.2.2); the curve is the key's parameter set.
    OzDst1092,
    /// The same mathematics under the standard GOST OIDs (GOST R 34.11-94 with
    /// GOST R 34.10-2001, 1.2.643.2.2.3), for interoperability with other GOST software.
    Gost2001,
}

impl SignatureAlgorithm {
    /// OID of the signature algorithm (as in `AlgorithmIdentifier.algorithm`).
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => ECDSA_WITH_SHA256,
            SignatureAlgorithm::OzDst1092 => crate::ozdst::OZDST_1092_WITH_1106,
            SignatureAlgorithm::Gost2001 => crate::ozdst::GOST_R3411_94_WITH_R3410_2001,
        }
    }

    /// DER `AlgorithmIdentifier` of the signature algorithm, exactly as it goes into a
    /// certificate, CSR or CMS SignerInfo (for ECDSA: parameters absent, RFC 5758).
    /// National certificates carry NULL parameters (as the authorised body's own do).
    pub fn algorithm_identifier(self) -> spki::AlgorithmIdentifierOwned {
        let parameters = match self {
            SignatureAlgorithm::OzDst1092 => Some(der::Any::from(der::asn1::Null)),
            SignatureAlgorithm::EcdsaP256Sha256 | SignatureAlgorithm::Gost2001 => None,
        };
        spki::AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters,
        }
    }

    /// OID of the hash this algorithm signs with, as a CMS digestAlgorithm.
    pub fn digest_oid(self) -> ObjectIdentifier {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => ID_SHA256,
            SignatureAlgorithm::OzDst1092 => crate::ozdst::OZDST_1106_HASH,
            SignatureAlgorithm::Gost2001 => crate::ozdst::GOST_R3411_94,
        }
    }

    /// The hash this algorithm signs with, over `message`.
    pub fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            SignatureAlgorithm::EcdsaP256Sha256 => sha2::Sha256::digest(message).to_vec(),
            SignatureAlgorithm::OzDst1092 | SignatureAlgorithm::Gost2001 => {
                crate::ozdst::hash(message).to_vec()
            }
        }
    }
}

/// A private key that can sign, wherever it lives (key file, .pfx, PKCS#11 token).
///
/// Implemented by `imzo-keys`; nothing outside `imzo-keys` and `imzo-pki` knows which
/// kind of key is behind it.
pub trait RawSigner: Send + Sync {
    /// The algorithm this key signs with.
    fn algorithm(&self) -> SignatureAlgorithm;
    /// DER-encoded SubjectPublicKeyInfo of the key.
    fn public_key_der(&self) -> &[u8];
    /// Signs `message` (hashing it as the algorithm requires) and returns the signature
    /// value exactly as it goes into X.509 and CMS (DER `ECDSA-Sig-Value` for ECDSA).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>, PkiError>;
}

/// id-sha256.
const ID_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-ecPublicKey (RFC 5480).
pub(crate) const EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
/// secp256r1 / prime256v1.
pub(crate) const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
/// rsaEncryption (RFC 8017).
pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// ecdsa-with-SHA1.
const ECDSA_WITH_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
/// ecdsa-with-SHA224.
const ECDSA_WITH_SHA224: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.1");
/// ecdsa-with-SHA256.
pub(crate) const ECDSA_WITH_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384.
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// ecdsa-with-SHA512.
const ECDSA_WITH_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
/// sha1WithRSAEncryption.
const SHA1_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
/// sha256WithRSAEncryption.
const SHA256_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption.
const SHA384_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption.
const SHA512_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// sha224WithRSAEncryption.
const SHA224_WITH_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.14");

/// Hash functions that the supported signature algorithms use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Hash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl Hash {
    fn digest(self, message: &[u8]) -> Vec<u8> {
        match self {
            Hash::Sha1 => sha1::Sha1::digest(message).to_vec(),
            Hash::Sha224 => sha2::Sha224::digest(message).to_vec(),
            Hash::Sha256 => sha2::Sha256::digest(message).to_vec(),
            Hash::Sha384 => sha2::Sha384::digest(message).to_vec(),
            Hash::Sha512 => sha2::Sha512::digest(message).to_vec(),
        }
    }
}

/// Checks `signature` (as found in X.509/CMS) over `message` with the public key in
/// `spki_der`, under the algorithm identified by `algorithm_oid`.
///
/// Supported: ECDSA over P-256 with SHA-1/224/256/384/512 (signature as DER
/// `ECDSA-Sig-Value`), O'z DSt 1092 / GOST R 34.10-2001 under the national and the
/// standard OIDs (see [`crate::ozdst`]; the key OIDs are accepted as signature OIDs, as
/// CMS signer infos from other software write them), and RSA PKCS#1 v1.5 with SHA-1/224/256/384/512 (so that chains
/// made by other CAs, and public test suites, can be checked). A key of the wrong type
/// for the algorithm is [`PkiError::Unsupported`]; a signature that does not check out is
/// [`PkiError::BadSignature`].
pub fn verify_signature(
    spki_der: &[u8],
    algorithm_oid: &str,
    message: &[u8],
    signature: &[u8],
) -> Result<(), PkiError> {
    let alg = ObjectIdentifier::new(algorithm_oid)
        .map_err(|e| PkiError::malformed("signature algorithm", e))?;
    if crate::ozdst::is_signature_oid(&alg) {
        return crate::ozdst::verify_signature(spki_der, &alg, message, signature);
    }
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| PkiError::malformed("SubjectPublicKeyInfo", e))?;
    let (ecdsa, hash) = match alg {
        ECDSA_WITH_SHA1 => (true, Hash::Sha1),
        ECDSA_WITH_SHA224 => (true, Hash::Sha224),
        ECDSA_WITH_SHA256 => (true, Hash::Sha256),
        ECDSA_WITH_SHA384 => (true, Hash::Sha384),
        ECDSA_WITH_SHA512 => (true, Hash::Sha512),
        SHA1_WITH_RSA => (false, Hash::Sha1),
        SHA224_WITH_RSA => (false, Hash::Sha224),
        SHA256_WITH_RSA => (false, Hash::Sha256),
        SHA384_WITH_RSA => (false, Hash::Sha384),
        SHA512_WITH_RSA => (false, Hash::Sha512),
        other => {
            return Err(PkiError::Unsupported(format!(
                "signature algorithm {other}"
            )));
        }
    };
    let key_bits = spki.subject_public_key.as_bytes().ok_or_else(|| {
        PkiError::malformed("SubjectPublicKeyInfo", "key bit string is not whole bytes")
    })?;
    if ecdsa {
        if spki.algorithm.oid != EC_PUBLIC_KEY {
            return Err(PkiError::Unsupported(format!(
                "key algorithm {} with signature algorithm {alg}",
                spki.algorithm.oid
            )));
        }
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or_else(|| PkiError::Unsupported("EC key without a named curve".into()))?;
        if curve != SECP256R1 {
            return Err(PkiError::Unsupported(format!("elliptic curve {curve}")));
        }
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        // Key and signature value are decoded by p256 in every case, so what counts as
        // a malformed point or a malformed (non-DER, out-of-range) ECDSA-Sig-Value, and
        // the error reported for it, does not depend on which library does the arithmetic.
        let key = p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bits)
            .map_err(|_| PkiError::malformed("SubjectPublicKeyInfo", "invalid P-256 point"))?;
        let sig = p256::ecdsa::Signature::from_der(signature)
            .map_err(|_| PkiError::BadSignature("malformed ECDSA signature value".into()))?;
        let mismatch = || PkiError::BadSignature("ECDSA signature does not match".into());
        // The common cases (SHA-256/384, uncompressed point) go to ring, whose P-256
        // verification is about three times faster than p256's: it dominates the cost of
        // checking a signature with its chain. The rest keeps the p256 path.
        let fast = match hash {
            Hash::Sha256 => Some(&ring::signature::ECDSA_P256_SHA256_ASN1),
            Hash::Sha384 => Some(&ring::signature::ECDSA_P256_SHA384_ASN1),
            Hash::Sha1 | Hash::Sha224 | Hash::Sha512 => None,
        };
        if let Some(ring_alg) = fast
            && key_bits.len() == 65
            && key_bits.first() == Some(&0x04)
        {
            // r and s, already range-checked by from_der, re-encoded as canonical DER:
            // ring's stricter DER reader then accepts exactly what p256's accepted.
            let canonical = sig.to_der();
            return ring::signature::UnparsedPublicKey::new(ring_alg, key_bits)
                .verify(message, canonical.as_bytes())
                .map_err(|_| mismatch());
        }
        let digest = hash.digest(message);
        key.verify_prehash(&digest, &sig).map_err(|_| mismatch())
    } else {
        if spki.algorithm.oid != RSA_ENCRYPTION {
            return Err(PkiError::Unsupported(format!(
                "key algorithm {} with signature algorithm {alg}",
                spki.algorithm.oid
            )));
        }
        crate::rsa_verify::verify_pkcs1v15(
            key_bits,
            hash_name(hash),
            &hash.digest(message),
            signature,
        )
    }
}

fn hash_name(hash: Hash) -> crate::rsa_verify::HashKind {
    use crate::rsa_verify::HashKind;
    match hash {
        Hash::Sha1 => HashKind::Sha1,
        Hash::Sha224 => HashKind::Sha224,
        Hash::Sha256 => HashKind::Sha256,
        Hash::Sha384 => HashKind::Sha384,
        Hash::Sha512 => HashKind::Sha512,
    }
}

/// SHA-1 of the subjectPublicKey BIT STRING contents: the key identifier of RFC 5280 §4.2.1.2 (1).
pub fn key_identifier(spki_der: &[u8]) -> Result<Vec<u8>, PkiError> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| PkiError::malformed("SubjectPublicKeyInfo", e))?;
    Ok(sha1::Sha1::digest(spki.subject_public_key.raw_bytes()).to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{SigningKey, signature::Signer};
    use p256::pkcs8::EncodePublicKey;

    fn key() -> SigningKey {
        SigningKey::from_slice(&[7u8; 32]).unwrap()
    }

    #[test]
    fn ecdsa_round_trip_and_tamper() {
        let sk = key();
        let spki = sk.verifying_key().to_public_key_der().unwrap();
        let sig: p256::ecdsa::Signature = sk.sign(b"hello");
        let der = sig.to_der();
        verify_signature(
            spki.as_bytes(),
            "1.2.840.10045.4.3.2",
            b"hello",
            der.as_bytes(),
        )
        .unwrap();
        assert!(matches!(
            verify_signature(
                spki.as_bytes(),
                "1.2.840.10045.4.3.2",
                b"hellO",
                der.as_bytes()
            ),
            Err(PkiError::BadSignature(_))
        ));
        assert!(matches!(
            verify_signature(
                spki.as_bytes(),
                "1.2.840.10045.4.3.2",
                b"hello",
                b"\x30\x00"
            ),
            Err(PkiError::BadSignature(_))
        ));
        assert!(matches!(
            verify_signature(
                spki.as_bytes(),
                "1.2.840.113549.1.1.11",
                b"hello",
                der.as_bytes()
            ),
            Err(PkiError::Unsupported(_))
        ));
        assert!(matches!(
            verify_signature(spki.as_bytes(), "1.2.3.4", b"hello", der.as_bytes()),
            Err(PkiError::Unsupported(_))
        ));
    }

    /// The same key as a compressed-point SPKI: verified by p256, not ring.
    fn compressed_spki(sk: &SigningKey) -> Vec<u8> {
        let point = sk.verifying_key().to_sec1_bytes();
        let mut der = hex::decode("3039301306072a8648ce3d020106082a8648ce3d030107032200").unwrap();
        der.push(0x02 | (point[64] & 1));
        der.extend_from_slice(&point[1..33]);
        der
    }

    /// ring (uncompressed key, SHA-256/384) and p256 (compressed key) must agree on
    /// every signature: valid, high-S, tampered message, SHA-384 prehash.
    #[test]
    fn ring_and_p256_paths_agree() {
        use p256::ecdsa::signature::hazmat::PrehashSigner;
        let sk = key();
        let full = sk.verifying_key().to_public_key_der().unwrap();
        let short = compressed_spki(&sk);
        let low: p256::ecdsa::Signature = sk.sign(b"hello");
        let neg_s = -*low.s();
        let high = p256::ecdsa::Signature::from_scalars(low.r(), neg_s).unwrap();
        let p384: p256::ecdsa::Signature =
            sk.sign_prehash(&sha2::Sha384::digest(b"hello")).unwrap();
        let cases: [(&str, &[u8], p256::ecdsa::Signature, bool); 6] = [
            ("1.2.840.10045.4.3.2", b"hello", low, true),
            ("1.2.840.10045.4.3.2", b"hello", high, true),
            ("1.2.840.10045.4.3.2", b"hellO", low, false),
            ("1.2.840.10045.4.3.3", b"hello", p384, true),
            ("1.2.840.10045.4.3.3", b"hellO", p384, false),
            ("1.2.840.10045.4.3.3", b"hello", low, false),
        ];
        for (oid, msg, sig, ok) in cases {
            let der = sig.to_der();
            for spki in [full.as_bytes(), short.as_slice()] {
                let r = verify_signature(spki, oid, msg, der.as_bytes());
                assert_eq!(
                    r.is_ok(),
                    ok,
                    "{oid} {msg:?} compressed={}",
                    spki.len() < 80
                );
                if !ok {
                    assert!(matches!(r, Err(PkiError::BadSignature(_))), "{r:?}");
                }
            }
        }
        // A non-minimal INTEGER (extra leading zero) is not DER: refused on both paths.
        let der = low.to_der();
        let bytes = der.as_bytes();
        let mut loose = vec![0x30, bytes[1] + 1, 0x02, bytes[3] + 1, 0x00];
        loose.extend_from_slice(&bytes[4..]);
        assert_eq!(loose.len(), bytes.len() + 1);
        for spki in [full.as_bytes(), short.as_slice()] {
            assert!(matches!(
                verify_signature(spki, "1.2.840.10045.4.3.2", b"hello", &loose),
                Err(PkiError::BadSignature(_))
            ));
        }
    }

    #[test]
    fn key_identifier_is_sha1_of_point() {
        let sk = key();
        let spki = sk.verifying_key().to_public_key_der().unwrap();
        let point = sk.verifying_key().to_sec1_bytes();
        assert_eq!(
            key_identifier(spki.as_bytes()).unwrap(),
            sha1::Sha1::digest(&point).to_vec()
        );
        assert_eq!(key_identifier(spki.as_bytes()).unwrap().len(), 20);
    }
}
