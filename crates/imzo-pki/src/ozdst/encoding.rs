//! SubjectPublicKeyInfo and PKCS#8 forms of national and GOST keys.

use super::keys::{PublicKey, SigningKey};
use super::{GOST_R3410_2001, GOST_R3411_94_CRYPTOPRO_PARAMS, OZDST_1092_KEY, OidFamily, ParamSet};
use crate::PkiError;
use der::asn1::{AnyRef, BitString, ObjectIdentifier, OctetString, OctetStringRef};
use der::{Any, Decode, Encode, SliceReader, Tag, Tagged};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

fn family_of(key_oid: &ObjectIdentifier) -> Option<OidFamily> {
    match *key_oid {
        OZDST_1092_KEY => Some(OidFamily::National),
        GOST_R3410_2001 => Some(OidFamily::Gost2001),
        _ => None,
    }
}

/// The parameter set from key-algorithm parameters: either `SEQUENCE { paramSet, ... }`
/// or the bare OID (both are seen).
fn param_set_of(params: Option<&AnyRef<'_>>) -> Result<ParamSet, PkiError> {
    let params = params
        .ok_or_else(|| PkiError::malformed("GOST key parameters", "no parameter set given"))?;
    let oid = if params.tag() == Tag::Sequence {
        let mut reader = SliceReader::new(params.value())
            .map_err(|e| PkiError::malformed("GOST key parameters", e))?;
        ObjectIdentifier::decode(&mut reader)
            .map_err(|e| PkiError::malformed("GOST key parameters", e))?
    } else {
        params
            .decode_as::<ObjectIdentifier>()
            .map_err(|e| PkiError::malformed("GOST key parameters", e))?
    };
    ParamSet::from_oid(&oid)
}

fn key_algorithm(
    param_set: ParamSet,
    family: OidFamily,
    bare: bool,
) -> Result<AlgorithmIdentifierOwned, PkiError> {
    let enc = |e: der::Error| PkiError::Encode(e.to_string());
    let (oid, seq) = match family {
        OidFamily::National => (OZDST_1092_KEY, vec![param_set.national_oid()]),
        OidFamily::Gost2001 => (
            GOST_R3410_2001,
            vec![param_set.gost_oid(), GOST_R3411_94_CRYPTOPRO_PARAMS],
        ),
    };
    let parameters = if bare {
        Any::encode_from(&seq[0]).map_err(enc)?
    } else {
        Any::encode_from(&seq).map_err(enc)?
    };
    Ok(AlgorithmIdentifierOwned {
        oid,
        parameters: Some(parameters),
    })
}

/// Reads a national or GOST public key from a DER SubjectPublicKeyInfo. Any other key
/// algorithm is [`PkiError::Unsupported`].
pub fn parse_spki(spki_der: &[u8]) -> Result<PublicKey, PkiError> {
    let spki = SubjectPublicKeyInfoRef::from_der(spki_der)
        .map_err(|e| PkiError::malformed("SubjectPublicKeyInfo", e))?;
    let family = family_of(&spki.algorithm.oid).ok_or_else(|| {
        PkiError::Unsupported(format!(
            "key algorithm {} with a GOST / O'z DSt 1092 signature",
            spki.algorithm.oid
        ))
    })?;
    let param_set = param_set_of(spki.algorithm.parameters.as_ref())?;
    let bits = spki.subject_public_key.as_bytes().ok_or_else(|| {
        PkiError::malformed("SubjectPublicKeyInfo", "key bit string is not whole bytes")
    })?;
    // The BIT STRING holds an OCTET STRING of X‖Y (RFC 4491 §2.3.2).
    let point =
        OctetString::from_der(bits).map_err(|e| PkiError::malformed("GOST public key", e))?;
    PublicKey::from_le_bytes(param_set, family, point.as_bytes())
}

impl PublicKey {
    /// DER SubjectPublicKeyInfo: key OID with `SEQUENCE { paramSet }` (national) or
    /// `SEQUENCE { paramSet, CryptoPro hash params }` (GOST), BIT STRING holding an
    /// OCTET STRING of X‖Y.
    pub fn to_spki_der(&self) -> Result<Vec<u8>, PkiError> {
        let enc = |e: der::Error| PkiError::Encode(e.to_string());
        let point = OctetString::new(self.to_le_bytes().to_vec()).map_err(enc)?;
        let spki = SubjectPublicKeyInfoOwned {
            algorithm: key_algorithm(self.param_set(), self.family(), false)?,
            subject_public_key: BitString::from_bytes(&point.to_der().map_err(enc)?)
                .map_err(enc)?,
        };
        spki.to_der().map_err(enc)
    }
}

/// ECPrivateKey-like body of national key files: version 1, d (big-endian), [0] the
/// parameter set, [1] the public key X‖Y.
#[derive(der::Sequence)]
struct NationalPrivateKey {
    version: u8,
    private_key: OctetString,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    parameters: Option<ObjectIdentifier>,
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    public_key: Option<BitString>,
}

impl SigningKey {
    /// PKCS#8 PrivateKeyInfo (DER). National keys use the installed base's first form
    /// (bare parameter-set OID; ECPrivateKey-like body with big-endian d); GOST keys use
    /// OpenSSL's GOST-engine form (parameter SEQUENCE; OCTET STRING of little-endian d).
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, PkiError> {
        let enc = |e: der::Error| PkiError::Encode(e.to_string());
        let public = self.public_key();
        let d = self.to_be_bytes();
        let (algorithm, body) = match public.family() {
            OidFamily::National => {
                let body = NationalPrivateKey {
                    version: 1,
                    private_key: OctetString::new(d.to_vec()).map_err(enc)?,
                    parameters: Some(public.param_set().national_oid()),
                    public_key: Some(BitString::from_bytes(&public.to_le_bytes()).map_err(enc)?),
                };
                (
                    key_algorithm(public.param_set(), OidFamily::National, true)?,
                    Zeroizing::new(body.to_der().map_err(enc)?),
                )
            }
            OidFamily::Gost2001 => {
                let mut le = Zeroizing::new(*d);
                le.reverse();
                let body = OctetString::new(le.to_vec()).map_err(enc)?;
                (
                    key_algorithm(public.param_set(), OidFamily::Gost2001, false)?,
                    Zeroizing::new(body.to_der().map_err(enc)?),
                )
            }
        };
        let info = pkcs8::PrivateKeyInfoRef {
            algorithm: spki::AlgorithmIdentifierRef {
                oid: algorithm.oid,
                parameters: algorithm.parameters.as_ref().map(AnyRef::from),
            },
            private_key: OctetStringRef::new(&body).map_err(enc)?,
            public_key: None,
        };
        Ok(Zeroizing::new(info.to_der().map_err(enc)?))
    }
}

/// d (big-endian) from the privateKey contents in any of the forms seen: the
/// ECPrivateKey-like SEQUENCE (big-endian d), a DER OCTET STRING (little-endian, OpenSSL
/// GOST engine), a DER INTEGER (big-endian), or the 32 raw bytes (little-endian).
fn private_scalar(body: &[u8]) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    let bad = |e: &dyn std::fmt::Display| PkiError::malformed("GOST private key", e.to_string());
    match body.first() {
        Some(0x30) if body.len() != 32 => {
            let key = NationalPrivateKey::from_der(body).map_err(|e| bad(&e))?;
            Ok(Zeroizing::new(key.private_key.as_bytes().to_vec()))
        }
        Some(0x04) if body.len() == 34 => {
            let le = OctetString::from_der(body).map_err(|e| bad(&e))?;
            let mut be = Zeroizing::new(le.as_bytes().to_vec());
            be.reverse();
            Ok(be)
        }
        Some(0x02) if body.len() != 32 => {
            let int = der::asn1::UintRef::from_der(body).map_err(|e| bad(&e))?;
            let bytes = int.as_bytes();
            if bytes.len() > 32 {
                return Err(bad(&"d longer than 32 bytes"));
            }
            let mut be = Zeroizing::new(vec![0u8; 32]);
            be[32 - bytes.len()..].copy_from_slice(bytes);
            Ok(be)
        }
        _ if body.len() == 32 => {
            let mut be = Zeroizing::new(body.to_vec());
            be.reverse();
            Ok(be)
        }
        _ => Err(bad(&format!(
            "private key of {} bytes in no known form",
            body.len()
        ))),
    }
}

/// Reads a national or GOST private key from a DER PKCS#8 PrivateKeyInfo (either
/// installed-base form, or OpenSSL's GOST form). Other key algorithms are
/// [`PkiError::Unsupported`].
pub fn private_key_from_pkcs8(der: &[u8]) -> Result<SigningKey, PkiError> {
    let info = pkcs8::PrivateKeyInfoRef::from_der(der)
        .map_err(|e| PkiError::malformed("PKCS#8 private key", e))?;
    let family = family_of(&info.algorithm.oid)
        .ok_or_else(|| PkiError::Unsupported(format!("key algorithm {}", info.algorithm.oid)))?;
    let param_set = param_set_of(info.algorithm.parameters.as_ref())?;
    let d = private_scalar(info.private_key.as_bytes())?;
    let key = SigningKey::from_be_bytes(param_set, family, &d)?;
    // A stored public key that disagrees with d means a damaged or foreign file.
    if let Ok(body) = NationalPrivateKey::from_der(info.private_key.as_bytes())
        && let Some(stored) = body.public_key.as_ref().and_then(|b| b.as_bytes())
    {
        let wrapped = OctetString::from_der(stored).ok();
        let stored = wrapped.as_ref().map(|o| o.as_bytes()).unwrap_or(stored);
        if stored != key.public_key().to_le_bytes() {
            return Err(PkiError::malformed(
                "GOST private key",
                "the stored public key does not belong to d",
            ));
        }
    }
    Ok(key)
}
