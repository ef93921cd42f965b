//! PKCS#10 certification requests: made by the applicant's side, checked by the CA.
//!
//! The request contributes only its key: its subject is informational, the CA builds
//! the certificate subject from the reviewed application.

use crate::alg::{EC_PUBLIC_KEY, SECP256R1, verify_signature};
use crate::name::name_to_string;
use crate::{PkiError, RawSigner, name::Subject};
use base64::Engine;
use der::asn1::{AnyRef, BitString, BitStringRef, ObjectIdentifier, SetOfVec};
use der::{Decode, Encode, Sequence};
use spki::{AlgorithmIdentifierRef, SubjectPublicKeyInfoOwned};
use x509_cert::request::{CertReq, CertReqInfo, Version};

/// What Imzo takes from a verified PKCS#10 request.
#[derive(Debug, Clone)]
pub struct CsrInfo {
    /// DER SubjectPublicKeyInfo of the requested key.
    pub public_key_der: Vec<u8>,
    /// The subject the applicant put in the request (RFC 4514 text), for display only.
    pub subject: String,
}

/// CertificationRequest with the info kept as raw DER, exactly as it was signed.
#[derive(Sequence)]
struct RawCsr<'a> {
    info: AnyRef<'a>,
    algorithm: AlgorithmIdentifierRef<'a>,
    signature: BitStringRef<'a>,
}

/// Request DER from PEM ("CERTIFICATE REQUEST" / "NEW CERTIFICATE REQUEST"), DER, or
/// bare base64 of the DER.
fn request_der(bytes: &[u8]) -> Result<Vec<u8>, PkiError> {
    if crate::pem::is_pem(bytes) {
        return crate::pem::parse_blocks(bytes)?
            .into_iter()
            .find(|b| b.label == "CERTIFICATE REQUEST" || b.label == "NEW CERTIFICATE REQUEST")
            .map(|b| b.der)
            .ok_or_else(|| {
                PkiError::malformed("PKCS#10 request", "no CERTIFICATE REQUEST block in PEM")
            });
    }
    if bytes.first() == Some(&0x30) {
        return Ok(bytes.to_vec());
    }
    let compact: Vec<u8> = bytes
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .map_err(|_| PkiError::malformed("PKCS#10 request", "neither PEM, DER nor base64"))
}

/// Parses a request (PEM "CERTIFICATE REQUEST" or DER), checks its self-signature and
/// that its key is of a supported algorithm.
///
/// ECDSA P-256 and O'z DSt 1092 / GOST R 34.10-2001 keys are accepted (anything else is [`PkiError::Unsupported`]); a
/// signature that does not verify is [`PkiError::BadSignature`].
pub fn parse_and_verify(bytes: &[u8]) -> Result<CsrInfo, PkiError> {
    let der = request_der(bytes)?;
    let raw = RawCsr::from_der(&der).map_err(|e| PkiError::malformed("PKCS#10 request", e))?;
    let info_der = raw
        .info
        .to_der()
        .map_err(|e| PkiError::malformed("PKCS#10 request", e))?;
    let info =
        CertReqInfo::from_der(&info_der).map_err(|e| PkiError::malformed("PKCS#10 request", e))?;
    if info.version != Version::V1 {
        return Err(PkiError::malformed("PKCS#10 request", "version must be 0"));
    }
    let spki = &info.public_key;
    let national = [crate::ozdst::OZDST_1092_KEY, crate::ozdst::GOST_R3410_2001]
        .contains(&spki.algorithm.oid);
    if national {
        // The curve is checked (and the point decoded) by verify_signature below.
    } else if spki.algorithm.oid != EC_PUBLIC_KEY {
        return Err(PkiError::Unsupported(format!(
            "request key algorithm {}",
            spki.algorithm.oid
        )));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
    let curve = match (national, curve) {
        (true, _) => SECP256R1,
        (false, Some(c)) => c,
        (false, None) => return Err(PkiError::Unsupported("EC key without a named curve".into())),
    };
    if curve != SECP256R1 {
        return Err(PkiError::Unsupported(format!(
            "request key curve {curve} (P-256 required)"
        )));
    }
    let public_key_der = spki.to_der().map_err(|e| PkiError::Encode(e.to_string()))?;
    // The key must be a valid point (verify_signature parses it).
    let sig = raw
        .signature
        .as_bytes()
        .ok_or_else(|| PkiError::malformed("PKCS#10 request", "signature bit string"))?;
    verify_signature(
        &public_key_der,
        &raw.algorithm.oid.to_string(),
        &info_der,
        sig,
    )?;
    Ok(CsrInfo {
        public_key_der,
        subject: name_to_string(&info.subject),
    })
}

/// Builds a DER PKCS#10 request for `subject`, signed by `signer`.
///
/// Version 0, no attributes; `openssl req -verify` accepts it.
pub fn build(signer: &dyn RawSigner, subject: &Subject) -> Result<Vec<u8>, PkiError> {
    let public_key = SubjectPublicKeyInfoOwned::from_der(signer.public_key_der())
        .map_err(|e| PkiError::malformed("SubjectPublicKeyInfo", e))?;
    let info = CertReqInfo {
        version: Version::V1,
        subject: subject.to_name()?,
        public_key,
        attributes: SetOfVec::new(),
    };
    let info_der = info
        .to_der()
        .map_err(|e| PkiError::Encode(format!("CertificationRequestInfo: {e}")))?;
    let sig = signer.sign(&info_der)?;
    let req = CertReq {
        info,
        algorithm: signer.algorithm().algorithm_identifier(),
        signature: BitString::from_bytes(&sig).map_err(|e| PkiError::Encode(e.to_string()))?,
    };
    req.to_der()
        .map_err(|e| PkiError::Encode(format!("PKCS#10 request: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SignatureAlgorithm;
    use p256::ecdsa::{Signature, SigningKey, signature::Signer};
    use p256::pkcs8::EncodePublicKey;

    struct Key(SigningKey, Vec<u8>);
    impl RawSigner for Key {
        fn algorithm(&self) -> SignatureAlgorithm {
            SignatureAlgorithm::EcdsaP256Sha256
        }
        fn public_key_der(&self) -> &[u8] {
            &self.1
        }
        fn sign(&self, m: &[u8]) -> Result<Vec<u8>, PkiError> {
            let s: Signature = self.0.sign(m);
            Ok(s.to_der().as_bytes().to_vec())
        }
    }

    fn key() -> Key {
        let sk = SigningKey::from_slice(&[5u8; 32]).unwrap();
        let spki = sk.verifying_key().to_public_key_der().unwrap().into_vec();
        Key(sk, spki)
    }

    fn subject() -> Subject {
        Subject {
            common_name: "Test Person".into(),
            pinfl: Some("32808810170066".into()),
            country: Some("UZ".into()),
            ..Default::default()
        }
    }

    #[test]
    fn build_then_verify_in_all_forms() {
        let k = key();
        let der = build(&k, &subject()).unwrap();
        let info = parse_and_verify(&der).unwrap();
        assert_eq!(info.public_key_der, k.1);
        assert_eq!(
            info.subject,
            "CN=Test Person,1.2.860.3.16.1.2=32808810170066,C=UZ"
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let pem = format!(
            "-----BEGIN CERTIFICATE REQUEST-----\n{b64}\n-----END CERTIFICATE REQUEST-----\n"
        );
        assert_eq!(
            parse_and_verify(pem.as_bytes()).unwrap().public_key_der,
            k.1
        );
        assert_eq!(
            parse_and_verify(b64.as_bytes()).unwrap().public_key_der,
            k.1
        );
    }

    #[test]
    fn tampered_request_fails() {
        let k = key();
        let mut der = build(&k, &subject()).unwrap();
        // Flip a byte inside the common name.
        let pos = der.windows(4).position(|w| w == b"Test").unwrap();
        der[pos] = b'B';
        assert!(matches!(
            parse_and_verify(&der),
            Err(PkiError::BadSignature(_))
        ));
        assert!(parse_and_verify(b"\x30\x00").is_err());
    }
}
