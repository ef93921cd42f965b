//! RSA PKCS#1 v1.5 signature verification (never signing): lets chains made by other CAs
//! and public path-validation test suites be checked.

use crate::PkiError;
use der::{Decode, Sequence, asn1::UintRef};
use rsa::{BoxedUint, Pkcs1v15Sign, PublicKey as RsaPublicKey};

/// Hash of the signed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HashKind {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

/// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
#[derive(Sequence)]
struct RsaPublicKeyDer<'a> {
    modulus: UintRef<'a>,
    public_exponent: UintRef<'a>,
}

/// Smallest modulus accepted (legacy chains still carry 1024-bit keys).
const MIN_BITS: usize = 1024;
/// Largest modulus accepted.
const MAX_BITS: usize = 8192;

/// Verifies an RSASSA-PKCS1-v1_5 `signature` over the digest `hashed` with the key in
/// `pkcs1_key` (the subjectPublicKey BIT STRING contents of an rsaEncryption SPKI).
pub(crate) fn verify_pkcs1v15(
    pkcs1_key: &[u8],
    hash: HashKind,
    hashed: &[u8],
    signature: &[u8],
) -> Result<(), PkiError> {
    let key = RsaPublicKeyDer::from_der(pkcs1_key)
        .map_err(|e| PkiError::malformed("RSA public key", e))?;
    let n = key.modulus.as_bytes();
    let e = key.public_exponent.as_bytes();
    let n_bits =
        u32::try_from(n.len() * 8).map_err(|_| PkiError::Unsupported("RSA key size".into()))?;
    let e_bits = u32::try_from(e.len().max(1) * 8)
        .map_err(|_| PkiError::Unsupported("RSA exponent".into()))?;
    let n = BoxedUint::from_be_slice(n, n_bits)
        .map_err(|_| PkiError::malformed("RSA public key", "modulus"))?;
    let e = BoxedUint::from_be_slice(e, e_bits)
        .map_err(|_| PkiError::malformed("RSA public key", "exponent"))?;
    let key = RsaPublicKey::new_with_size_limits(n, e, MIN_BITS..=MAX_BITS)
        .map_err(|e| PkiError::Unsupported(format!("RSA public key: {e}")))?;
    let scheme = match hash {
        HashKind::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        HashKind::Sha224 => Pkcs1v15Sign::new::<sha2::Sha224>(),
        HashKind::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        HashKind::Sha384 => Pkcs1v15Sign::new::<sha2::Sha384>(),
        HashKind::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
    };
    key.verify(scheme, hashed, signature)
        .map_err(|_| PkiError::BadSignature("RSA signature does not match".into()))
}
