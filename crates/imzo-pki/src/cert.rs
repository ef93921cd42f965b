//! Certificate issuance by profile, and reading the facts of a certificate.

use crate::alg::{key_identifier, verify_signature};
use crate::name::{Subject, name_to_string};
use crate::{PkiError, RawSigner};
use der::asn1::{BitString, GeneralizedTime, Ia5String, ObjectIdentifier, OctetString, UtcTime};
use der::{DateTime, Decode, Encode, Sequence, pem::LineEnding};
use sha2::Digest;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use std::time::Duration;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::certificate::Version;
use x509_cert::ext::pkix::crl::dp::DistributionPoint;
use x509_cert::ext::pkix::name::{DistributionPointName, GeneralName};
use x509_cert::ext::pkix::{
    AccessDescription, AuthorityInfoAccessSyntax, AuthorityKeyIdentifier, BasicConstraints,
    CertificatePolicies, CrlDistributionPoints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier, certpolicy::PolicyInformation,
};
use x509_cert::ext::{Extension, Extensions};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;

/// Which kind of certificate is being issued: decides basic constraints, key usage, EKU.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Self-signed root of the authorised body: CA, keyCertSign + cRLSign.
    Root,
    /// A registration centre's CA, issued by the root: CA with pathLen 0.
    CentreCa,
    /// A citizen's or company's signature certificate (identifiers.md holder profile).
    Holder,
    /// A registration-centre operator: like Holder (digitalSignature, nonRepudiation,
    /// clientAuth) — decisions are signed with it.
    Operator,
    /// A CA's delegated OCSP responder (RFC 6960 §4.2.2.2): digitalSignature,
    /// id-kp-OCSPSigning, id-pkix-ocsp-nocheck; no CRL or OCSP pointers.
    OcspResponder,
    /// A time-stamping authority (RFC 3161 §2.3): digitalSignature + nonRepudiation and
    /// the only extended key usage id-kp-timeStamping, marked critical.
    TimeStamping,
}

/// URLs published in issued certificates (CRL distribution point, OCSP, CA issuers).
#[derive(Debug, Clone, Default)]
pub struct PublicationUrls {
    /// CRL distribution point.
    pub crl: Option<String>,
    /// OCSP responder (AIA).
    pub ocsp: Option<String>,
    /// Issuer certificate download (AIA caIssuers).
    pub ca_issuers: Option<String>,
    /// The issuer's delta CRL (Freshest CRL extension, RFC 5280 §4.2.1.15).
    pub freshest_crl: Option<String>,
}

/// Everything the CA decided about a certificate to be issued.
#[derive(Debug, Clone)]
pub struct IssueParams {
    /// Subject built by the CA from reviewed fields.
    pub subject: Subject,
    /// DER SubjectPublicKeyInfo of the subject's key (from the PKCS#10 request).
    pub subject_public_key_der: Vec<u8>,
    /// Positive serial number, big-endian, at most 20 bytes.
    pub serial: Vec<u8>,
    /// Start of validity.
    pub not_before: OffsetDateTime,
    /// End of validity.
    pub not_after: OffsetDateTime,
    /// Profile deciding the extensions.
    pub profile: Profile,
    /// URLs to publish (ignored for the root).
    pub urls: PublicationUrls,
    /// certificatePolicies OID (dotted), if the deployment configures one.
    pub policy_oid: Option<String>,
}

/// id-ce-basicConstraints.
pub(crate) const EXT_BASIC_CONSTRAINTS: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.5.29.19");
/// id-ce-keyUsage.
pub(crate) const EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
/// id-ce-extKeyUsage.
pub(crate) const EXT_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
/// id-ce-subjectKeyIdentifier.
pub(crate) const EXT_SUBJECT_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.14");
/// id-ce-authorityKeyIdentifier.
pub(crate) const EXT_AUTHORITY_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
/// id-ce-cRLDistributionPoints.
pub(crate) const EXT_CRL_DP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.31");
/// freshestCRL (the delta CRL's distribution point).
pub(crate) const EXT_FRESHEST_CRL: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.46");
/// id-ce-certificatePolicies.
pub(crate) const EXT_CERT_POLICIES: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.32");
/// id-pe-authorityInfoAccess.
pub(crate) const EXT_AIA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1");
/// id-ad-ocsp.
const AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
/// id-ad-caIssuers.
const AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");
/// id-kp-clientAuth.
pub(crate) const KP_CLIENT_AUTH: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");
/// id-kp-timeStamping (RFC 3161 §2.3).
pub(crate) const KP_TIME_STAMPING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");
/// id-kp-emailProtection.
pub(crate) const KP_EMAIL_PROTECTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");

/// TBSCertificate with every field public, so that we can build one and re-encode a
/// decoded one exactly (x509-cert keeps its fields private and re-encodes validity times
/// through its profile; this keeps whatever time encoding the certificate had).
#[derive(Clone, Debug, Sequence)]
pub(crate) struct RawTbs {
    #[asn1(context_specific = "0", default = "Default::default")]
    pub(crate) version: Version,
    pub(crate) serial_number: SerialNumber,
    pub(crate) signature: AlgorithmIdentifierOwned,
    pub(crate) issuer: Name,
    pub(crate) validity: RawValidity,
    pub(crate) subject: Name,
    pub(crate) subject_public_key_info: SubjectPublicKeyInfoOwned,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) issuer_unique_id: Option<BitString>,
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) subject_unique_id: Option<BitString>,
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) extensions: Option<Extensions>,
}

/// Validity, encoded with the time types as given.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct RawValidity {
    pub(crate) not_before: Time,
    pub(crate) not_after: Time,
}

/// Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue }.
#[derive(Clone, Debug, Sequence)]
struct RawCertificate {
    tbs: RawTbs,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

/// The TBSCertificate of a certificate with its fields as decoded.
fn raw_tbs(cert: &Certificate) -> RawTbs {
    let t = cert.tbs_certificate();
    RawTbs {
        version: t.version(),
        serial_number: t.serial_number().clone(),
        signature: t.signature().clone(),
        issuer: t.issuer().clone(),
        validity: RawValidity {
            not_before: t.validity().not_before,
            not_after: t.validity().not_after,
        },
        subject: t.subject().clone(),
        subject_public_key_info: t.subject_public_key_info().clone(),
        issuer_unique_id: t.issuer_unique_id().clone(),
        subject_unique_id: t.subject_unique_id().clone(),
        extensions: t.extensions().cloned(),
    }
}

/// The DER of a certificate's TBSCertificate, as it was signed.
pub(crate) fn tbs_der(cert: &Certificate) -> Result<Vec<u8>, PkiError> {
    raw_tbs(cert)
        .to_der()
        .map_err(|e| PkiError::Encode(format!("TBSCertificate: {e}")))
}

/// DER of a certificate's SubjectPublicKeyInfo.
pub(crate) fn spki_der(cert: &Certificate) -> Result<Vec<u8>, PkiError> {
    cert.tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(|e| PkiError::Encode(format!("SubjectPublicKeyInfo: {e}")))
}

/// Checks that `cert` is signed by the key in `issuer_spki_der`.
pub(crate) fn verify_cert_signature(
    cert: &Certificate,
    issuer_spki_der: &[u8],
) -> Result<(), PkiError> {
    if cert.signature_algorithm() != cert.tbs_certificate().signature() {
        return Err(PkiError::BadSignature(
            "signatureAlgorithm differs from the TBSCertificate signature field".into(),
        ));
    }
    let tbs = tbs_der(cert)?;
    let sig = cert
        .signature()
        .as_bytes()
        .ok_or_else(|| PkiError::BadSignature("signature bit string is not whole bytes".into()))?;
    verify_signature(
        issuer_spki_der,
        &cert.signature_algorithm().oid.to_string(),
        &tbs,
        sig,
    )
}

/// Converts a time to the X.509 `Time` RFC 5280 asks for: UTCTime through 2049,
/// GeneralizedTime from 2050. Sub-second parts are dropped.
pub(crate) fn to_x509_time(t: OffsetDateTime) -> Result<Time, PkiError> {
    let secs = t.unix_timestamp();
    let secs =
        u64::try_from(secs).map_err(|_| PkiError::Unsupported(format!("time before 1970: {t}")))?;
    let dt = DateTime::from_unix_duration(Duration::from_secs(secs))
        .map_err(|e| PkiError::Unsupported(format!("time {t}: {e}")))?;
    if dt.year() < 2050 {
        Ok(Time::UtcTime(
            UtcTime::from_date_time(dt).map_err(|e| PkiError::Encode(e.to_string()))?,
        ))
    } else {
        Ok(Time::GeneralTime(GeneralizedTime::from_date_time(dt)))
    }
}

/// Converts an X.509 `Time` to an `OffsetDateTime` (UTC).
pub(crate) fn from_x509_time(t: &Time) -> Result<OffsetDateTime, PkiError> {
    let secs = i64::try_from(t.to_unix_duration().as_secs())
        .map_err(|_| PkiError::malformed("certificate", "time out of range"))?;
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| PkiError::malformed("certificate", e))
}

fn ext<T: Encode>(oid: ObjectIdentifier, critical: bool, value: &T) -> Result<Extension, PkiError> {
    let der = value
        .to_der()
        .map_err(|e| PkiError::Encode(format!("extension {oid}: {e}")))?;
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(der).map_err(|e| PkiError::Encode(e.to_string()))?,
    })
}

fn uri(url: &str) -> Result<GeneralName, PkiError> {
    Ok(GeneralName::UniformResourceIdentifier(
        Ia5String::new(url)
            .map_err(|_| PkiError::malformed("URL", format!("{url:?} is not IA5 (ASCII)")))?,
    ))
}

/// The subjectKeyIdentifier of a certificate if it has one, else the RFC 5280 method (1)
/// key identifier of its key.
pub(crate) fn subject_key_id_or_computed(cert: &Certificate) -> Result<Vec<u8>, PkiError> {
    if let Some(ski) = subject_key_id(cert)? {
        return Ok(ski);
    }
    key_identifier(&spki_der(cert)?)
}

fn subject_key_id(cert: &Certificate) -> Result<Option<Vec<u8>>, PkiError> {
    Ok(cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .map_err(|e| PkiError::malformed("certificate", format!("subjectKeyIdentifier: {e}")))?
        .map(|(_, ski)| ski.0.as_bytes().to_vec()))
}

fn extensions_for(params: &IssueParams, ski: &[u8], aki: &[u8]) -> Result<Extensions, PkiError> {
    let mut exts = Vec::new();
    let is_ca = matches!(params.profile, Profile::Root | Profile::CentreCa);
    match params.profile {
        Profile::Root => {
            exts.push(ext(
                EXT_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: None,
                },
            )?);
        }
        Profile::CentreCa => {
            exts.push(ext(
                EXT_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: true,
                    path_len_constraint: Some(0),
                },
            )?);
        }
        Profile::Holder | Profile::Operator | Profile::OcspResponder | Profile::TimeStamping => {
            exts.push(ext(
                EXT_BASIC_CONSTRAINTS,
                true,
                &BasicConstraints {
                    ca: false,
                    path_len_constraint: None,
                },
            )?);
        }
    }
    let ku = if is_ca {
        KeyUsage(KeyUsages::KeyCertSign | KeyUsages::CRLSign)
    } else if params.profile == Profile::OcspResponder {
        KeyUsage(KeyUsages::DigitalSignature.into())
    } else {
        KeyUsage(KeyUsages::DigitalSignature | KeyUsages::NonRepudiation)
    };
    exts.push(ext(EXT_KEY_USAGE, true, &ku)?);
    if params.profile == Profile::TimeStamping {
        exts.push(ext(EXT_EXT_KEY_USAGE, true, &ExtendedKeyUsage(vec![KP_TIME_STAMPING]))?);
    } else if params.profile == Profile::OcspResponder {
        exts.push(ext(EXT_EXT_KEY_USAGE, false, &ExtendedKeyUsage(vec![crate::ocsp::KP_OCSP_SIGNING]))?);
        exts.push(ext(crate::ocsp::OCSP_NOCHECK, false, &der::asn1::Null)?);
    } else if !is_ca {
        let eku = ExtendedKeyUsage(vec![
            KP_EMAIL_PROTECTION,
            KP_CLIENT_AUTH,
            crate::oid::EKU_DOCUMENT_SIGNING,
        ]);
        exts.push(ext(EXT_EXT_KEY_USAGE, false, &eku)?);
    }
    let ski_v =
        SubjectKeyIdentifier(OctetString::new(ski).map_err(|e| PkiError::Encode(e.to_string()))?);
    exts.push(ext(EXT_SUBJECT_KEY_ID, false, &ski_v)?);
    let aki_v = AuthorityKeyIdentifier {
        key_identifier: Some(OctetString::new(aki).map_err(|e| PkiError::Encode(e.to_string()))?),
        authority_cert_issuer: None,
        authority_cert_serial_number: None,
    };
    exts.push(ext(EXT_AUTHORITY_KEY_ID, false, &aki_v)?);
    if params.profile != Profile::Root && params.profile != Profile::OcspResponder {
        if let Some(policy) = &params.policy_oid {
            let oid = ObjectIdentifier::new(policy)
                .map_err(|e| PkiError::malformed("policy OID", format!("{policy:?}: {e}")))?;
            let cp = CertificatePolicies(vec![PolicyInformation {
                policy_identifier: oid,
                policy_qualifiers: None,
            }]);
            exts.push(ext(EXT_CERT_POLICIES, false, &cp)?);
        }
        if let Some(crl) = &params.urls.crl {
            let dp = CrlDistributionPoints(vec![DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![uri(crl)?])),
                reasons: None,
                crl_issuer: None,
            }]);
            exts.push(ext(EXT_CRL_DP, false, &dp)?);
        }
        if let Some(delta) = &params.urls.freshest_crl {
            let freshest = x509_cert::ext::pkix::crl::FreshestCrl(vec![DistributionPoint {
                distribution_point: Some(DistributionPointName::FullName(vec![uri(delta)?])),
                reasons: None,
                crl_issuer: None,
            }]);
            exts.push(ext(EXT_FRESHEST_CRL, false, &freshest)?);
        }
        let mut aia = Vec::new();
        if let Some(ocsp) = &params.urls.ocsp {
            aia.push(AccessDescription {
                access_method: AD_OCSP,
                access_location: uri(ocsp)?,
            });
        }
        if let Some(ca) = &params.urls.ca_issuers {
            aia.push(AccessDescription {
                access_method: AD_CA_ISSUERS,
                access_location: uri(ca)?,
            });
        }
        if !aia.is_empty() {
            exts.push(ext(EXT_AIA, false, &AuthorityInfoAccessSyntax(aia))?);
        }
    }
    Ok(exts)
}

/// Issues a certificate. `issuer` is `None` for a self-signed root (or a self-signed
/// placeholder of another profile), in which case `signer` must hold the key of
/// `params.subject_public_key_der`.
///
/// The TBSCertificate is built here (v3, the caller's serial, UTCTime before 2050 and
/// GeneralizedTime after, extensions from [`Profile`]) and its DER is signed through
/// `signer`; the result is checked against the issuer's key before it is returned.
pub fn issue(
    issuer: Option<&Certificate>,
    signer: &dyn RawSigner,
    params: &IssueParams,
) -> Result<Certificate, PkiError> {
    let subject_spki = SubjectPublicKeyInfoOwned::from_der(&params.subject_public_key_der)
        .map_err(|e| PkiError::malformed("SubjectPublicKeyInfo", e))?;
    let subject = params.subject.to_name()?;
    let ski = key_identifier(&params.subject_public_key_der)?;

    let (issuer_name, issuer_spki, aki) = match issuer {
        // Self-signed: the root, or a placeholder end-entity certificate (a new .pfx
        // holds one until the real certificate is installed).
        None => (
            subject.clone(),
            params.subject_public_key_der.clone(),
            ski.clone(),
        ),
        Some(ca) => {
            if params.profile == Profile::Root {
                return Err(PkiError::Unsupported(
                    "a root is self-signed: give no issuer".into(),
                ));
            }
            (
                ca.tbs_certificate().subject().clone(),
                spki_der(ca)?,
                subject_key_id_or_computed(ca)?,
            )
        }
    };
    if signer.public_key_der() != issuer_spki.as_slice() {
        return Err(PkiError::Signer(
            "the signer's key is not the issuer's key".into(),
        ));
    }

    if params.serial.is_empty() || params.serial.iter().all(|&b| b == 0) {
        return Err(PkiError::malformed("serial number", "must be positive"));
    }
    let serial = SerialNumber::new(&params.serial)
        .map_err(|e| PkiError::malformed("serial number", format!("{e} (at most 20 bytes)")))?;
    if params.not_after <= params.not_before {
        return Err(PkiError::malformed(
            "validity",
            "notAfter must be after notBefore",
        ));
    }
    let validity = RawValidity {
        not_before: to_x509_time(params.not_before)?,
        not_after: to_x509_time(params.not_after)?,
    };
    let algorithm = signer.algorithm().algorithm_identifier();
    let tbs = RawTbs {
        version: Version::V3,
        serial_number: serial,
        signature: algorithm.clone(),
        issuer: issuer_name,
        validity,
        subject,
        subject_public_key_info: subject_spki,
        issuer_unique_id: None,
        subject_unique_id: None,
        extensions: Some(extensions_for(params, &ski, &aki)?),
    };
    let tbs_bytes = tbs
        .to_der()
        .map_err(|e| PkiError::Encode(format!("TBSCertificate: {e}")))?;
    let sig = signer.sign(&tbs_bytes)?;
    let raw = RawCertificate {
        tbs,
        signature_algorithm: algorithm,
        signature: BitString::from_bytes(&sig).map_err(|e| PkiError::Encode(e.to_string()))?,
    };
    let der = raw
        .to_der()
        .map_err(|e| PkiError::Encode(format!("certificate: {e}")))?;
    let cert =
        Certificate::from_der(&der).map_err(|e| PkiError::Encode(format!("certificate: {e}")))?;
    // A signer (HSM, token) that returned a wrong signature is caught here, not by a
    // relying party.
    verify_cert_signature(&cert, &issuer_spki)
        .map_err(|e| PkiError::Signer(format!("signer produced an invalid signature: {e}")))?;
    Ok(cert)
}

/// The facts of a certificate that people and relying parties read.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// Serial number, lower-case hex without leading zero bytes.
    pub serial_hex: String,
    /// Subject, RFC 4514 text.
    pub subject: String,
    /// Issuer, RFC 4514 text.
    pub issuer: String,
    /// Parsed subject attributes.
    pub subject_fields: Subject,
    /// Start of validity (UTC).
    pub not_before: OffsetDateTime,
    /// End of validity (UTC).
    pub not_after: OffsetDateTime,
    /// basicConstraints cA.
    pub is_ca: bool,
    /// subjectKeyIdentifier, if present.
    pub subject_key_id: Option<Vec<u8>>,
    /// SHA-256 of the DER certificate, lower-case hex.
    pub sha256_hex: String,
}

/// Serial number of a certificate as lower-case hex without leading zero bytes.
pub(crate) fn serial_hex(cert: &Certificate) -> String {
    let bytes = cert.tbs_certificate().serial_number().as_bytes();
    let start = bytes
        .iter()
        .position(|&b| b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    hex::encode(&bytes[start..])
}

/// basicConstraints of a certificate, if present.
pub(crate) fn basic_constraints(cert: &Certificate) -> Result<Option<BasicConstraints>, PkiError> {
    Ok(cert
        .tbs_certificate()
        .get_extension::<BasicConstraints>()
        .map_err(|e| PkiError::malformed("certificate", format!("basicConstraints: {e}")))?
        .map(|(_, bc)| bc))
}

/// Reads the facts of a certificate.
pub fn info(cert: &Certificate) -> Result<CertInfo, PkiError> {
    let tbs = cert.tbs_certificate();
    let der = to_der(cert)?;
    Ok(CertInfo {
        serial_hex: serial_hex(cert),
        subject: name_to_string(tbs.subject()),
        issuer: name_to_string(tbs.issuer()),
        subject_fields: Subject::from_name(tbs.subject())?,
        not_before: from_x509_time(&tbs.validity().not_before)?,
        not_after: from_x509_time(&tbs.validity().not_after)?,
        is_ca: basic_constraints(cert)?.is_some_and(|bc| bc.ca),
        subject_key_id: subject_key_id(cert)?,
        sha256_hex: hex::encode(sha2::Sha256::digest(&der)),
    })
}

/// DER SubjectPublicKeyInfo of the certificate's key.
pub fn public_key_der(cert: &Certificate) -> Result<Vec<u8>, PkiError> {
    spki_der(cert)
}

/// DER encoding of a certificate.
///
/// The TBSCertificate is written exactly as it was decoded (including the time types of
/// its validity), so the signature stays valid.
pub fn to_der(cert: &Certificate) -> Result<Vec<u8>, PkiError> {
    let raw = RawCertificate {
        tbs: raw_tbs(cert),
        signature_algorithm: cert.signature_algorithm().clone(),
        signature: cert.signature().clone(),
    };
    raw.to_der()
        .map_err(|e| PkiError::Encode(format!("certificate: {e}")))
}

/// PEM encoding ("CERTIFICATE") of a certificate.
pub fn to_pem(cert: &Certificate) -> Result<String, PkiError> {
    let der = to_der(cert)?;
    let doc = der::Document::try_from(der).map_err(|e| PkiError::Encode(e.to_string()))?;
    doc.to_pem("CERTIFICATE", LineEnding::LF)
        .map_err(|e| PkiError::Encode(format!("PEM: {e}")))
}
