//! O'z DSt 1092:2009-II signatures with the O'z DSt 1106:2009-II hash: GOST R 34.10-2001
//! over the CryptoPro curves with GOST R 34.11-94 (CryptoPro S-box), as
//! `../shared/protocols/national-algorithms.md` describes them, under the national OIDs
//! and under the standard GOST OIDs (so OpenSSL's GOST engine can check the same maths).
//!
//! Parameter set .1 is CryptoPro-A (confirmed by real signatures), .2 CryptoPro-C (a real
//! key lies on it; no signature checked yet). Sets .3 and .6 are mapped to C and .5 to A
//! by analogy with a third-party port: **unconfirmed**. Set .4 (CryptoPro-B in that port)
//! is not supported.

mod curve_macro;
mod curves;
mod encoding;
mod gost;
#[cfg(test)]
mod kat_tests;
mod keys;
mod signer;

pub use encoding::{parse_spki, private_key_from_pkcs8};
pub use keys::{PublicKey, SigningKey};
pub use signer::SoftwareSigner;

use der::asn1::ObjectIdentifier;

/// Key algorithm O'z DSt 1092:2009-II (also written in CMS signer infos as the signature algorithm).
pub const OZDST_1092_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.860.3.15.1.1.2.1");
/// Certificate signature algorithm "OZDST-1106-2009-2-AwithOZDST-1092-2009-2".
pub const OZDST_1092_WITH_1106: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.860.3.15.1.1.2.2.2.2");
/// Hash algorithm O'z DSt 1106:2009-II (CMS digest algorithm).
pub const OZDST_1106_HASH: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.860.3.15.1.3.2.1.1");
/// id-GostR3410-2001 (key algorithm, RFC 4357).
pub const GOST_R3410_2001: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.643.2.2.19");
/// id-GostR3411-94-with-GostR3410-2001 (signature algorithm, RFC 4491).
pub const GOST_R3411_94_WITH_R3410_2001: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.643.2.2.3");
/// id-GostR3411-94 (hash algorithm).
pub const GOST_R3411_94: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.643.2.2.9");
/// id-GostR3411-94-CryptoProParamSet (hash parameters in standard GOST keys).
pub const GOST_R3411_94_CRYPTOPRO_PARAMS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.643.2.2.30.1");

/// The curve (parameter set) of a key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamSet {
    /// CryptoPro-A (RFC 4357); national parameter set 1.2.860.3.15.1.1.2.1.1.
    CryptoProA,
    /// CryptoPro-C (RFC 4357); national parameter set 1.2.860.3.15.1.1.2.1.2.
    CryptoProC,
}

/// Which family of OIDs labels a key and its signatures (the mathematics is the same).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OidFamily {
    /// O'z DSt 1092/1106 OIDs under 1.2.860.3.15 (E-IMZO).
    National,
    /// GOST R 34.10-2001 / 34.11-94 OIDs under 1.2.643 (RFC 4357/4491, OpenSSL's GOST engine).
    Gost2001,
}

impl ParamSet {
    /// The national parameter-set OID written for this curve.
    pub fn national_oid(self) -> ObjectIdentifier {
        match self {
            ParamSet::CryptoProA => ObjectIdentifier::new_unwrap("1.2.860.3.15.1.1.2.1.1"),
            ParamSet::CryptoProC => ObjectIdentifier::new_unwrap("1.2.860.3.15.1.1.2.1.2"),
        }
    }

    /// The RFC 4357 parameter-set OID written for this curve.
    pub fn gost_oid(self) -> ObjectIdentifier {
        match self {
            ParamSet::CryptoProA => ObjectIdentifier::new_unwrap("1.2.643.2.2.35.1"),
            ParamSet::CryptoProC => ObjectIdentifier::new_unwrap("1.2.643.2.2.35.3"),
        }
    }

    /// The parameter-set OID of `family`.
    pub fn oid(self, family: OidFamily) -> ObjectIdentifier {
        match family {
            OidFamily::National => self.national_oid(),
            OidFamily::Gost2001 => self.gost_oid(),
        }
    }

    /// The curve named by a parameter-set OID of either family.
    pub fn from_oid(oid: &ObjectIdentifier) -> Result<Self, crate::PkiError> {
        let s = oid.to_string();
        match s.as_str() {
            "1.2.860.3.15.1.1.2.1.1" => Ok(ParamSet::CryptoProA),
            "1.2.860.3.15.1.1.2.1.2" => Ok(ParamSet::CryptoProC),
            // Unconfirmed: by analogy with a third-party port (see the module docs).
            "1.2.860.3.15.1.1.2.1.3" | "1.2.860.3.15.1.1.2.1.6" => Ok(ParamSet::CryptoProC),
            "1.2.860.3.15.1.1.2.1.5" => Ok(ParamSet::CryptoProA),
            // CryptoPro-A, XchA (= A), CryptoPro-C, XchB (= C).
            "1.2.643.2.2.35.1" | "1.2.643.2.2.36.0" => Ok(ParamSet::CryptoProA),
            "1.2.643.2.2.35.3" | "1.2.643.2.2.36.1" => Ok(ParamSet::CryptoProC),
            _ => Err(crate::PkiError::Unsupported(format!(
                "GOST / O'z DSt 1092 parameter set {s}"
            ))),
        }
    }
}

/// The O'z DSt 1106:2009-II hash (GOST R 34.11-94, CryptoPro S-box) of `message`, in
/// plain hash-output byte order (as in a CMS messageDigest attribute).
pub fn hash(message: &[u8]) -> [u8; 32] {
    use gost94::Digest;
    gost94::Gost94CryptoPro::digest(message).into()
}

/// Whether `oid` is a signature (or key) algorithm this module verifies.
pub fn is_signature_oid(oid: &ObjectIdentifier) -> bool {
    [
        OZDST_1092_WITH_1106,
        OZDST_1092_KEY,
        GOST_R3411_94_WITH_R3410_2001,
        GOST_R3410_2001,
    ]
    .contains(oid)
}

/// Whether `oid` names the 1106 / GOST R 34.11-94 hash.
pub fn is_hash_oid(oid: &ObjectIdentifier) -> bool {
    *oid == OZDST_1106_HASH || *oid == GOST_R3411_94
}

/// Checks a national or GOST signature (`s‖r`, 64 bytes) over `message` with the key in
/// `spki_der`. A key of another algorithm is [`crate::PkiError::Unsupported`]; a
/// signature that does not check out is [`crate::PkiError::BadSignature`].
pub fn verify_signature(
    spki_der: &[u8],
    algorithm: &ObjectIdentifier,
    message: &[u8],
    signature: &[u8],
) -> Result<(), crate::PkiError> {
    if !is_signature_oid(algorithm) {
        return Err(crate::PkiError::Unsupported(format!(
            "signature algorithm {algorithm}"
        )));
    }
    let key = parse_spki(spki_der)?;
    key.verify(message, signature)
}
