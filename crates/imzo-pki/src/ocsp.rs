//! OCSP (RFC 6960): reading requests, building signed responses, and the client side
//! (making a request, checking a response).
//!
//! The structures are declared here with `der` 0.8 derives (the `x509-ocsp` crate exists
//! only for the older `der` generation).

use crate::cert::{spki_der, subject_key_id_or_computed};
use crate::crl::{RevocationReason, normalise_serial_hex};
use crate::{Certificate, PkiError, RawSigner};
use der::asn1::{BitString, GeneralizedTime, Null, ObjectIdentifier, OctetString};
use der::{Choice, Decode, Encode, Enumerated, Sequence};
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::Version;
use x509_cert::ext::pkix::crl::CrlReason;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::{Extension, Extensions};
use x509_cert::name::Name;
use x509_cert::serial_number::SerialNumber;

/// id-pkix-ocsp-basic.
const OCSP_BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
/// id-pkix-ocsp-nonce.
pub const OCSP_NONCE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.2");
/// id-pkix-ocsp-nocheck.
pub const OCSP_NOCHECK: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.5");
/// id-kp-OCSPSigning.
pub const KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");
/// id-sha1.
const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// id-sha256.
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct RawCertId {
    hash_algorithm: AlgorithmIdentifierOwned,
    issuer_name_hash: OctetString,
    issuer_key_hash: OctetString,
    serial_number: SerialNumber,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct RawRequest {
    req_cert: RawCertId,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    single_request_extensions: Option<Extensions>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct TbsRequest {
    #[asn1(context_specific = "0", default = "Default::default", tag_mode = "EXPLICIT")]
    version: Version,
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    requestor_name: Option<GeneralName>,
    request_list: Vec<RawRequest>,
    #[asn1(context_specific = "2", optional = "true", tag_mode = "EXPLICIT")]
    request_extensions: Option<Extensions>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct RawOcspRequest {
    tbs_request: TbsRequest,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    optional_signature: Option<der::Any>,
}

/// OCSPResponseStatus.
#[derive(Clone, Copy, Debug, Eq, PartialEq, Enumerated)]
#[repr(u32)]
pub enum ResponseStatus {
    /// successful (0).
    Successful = 0,
    /// malformedRequest (1).
    MalformedRequest = 1,
    /// internalError (2).
    InternalError = 2,
    /// tryLater (3).
    TryLater = 3,
    /// sigRequired (5).
    SigRequired = 5,
    /// unauthorized (6): we are not authoritative for this certificate's issuer.
    Unauthorized = 6,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct ResponseBytes {
    response_type: ObjectIdentifier,
    response: OctetString,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct RawOcspResponse {
    response_status: ResponseStatus,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    response_bytes: Option<ResponseBytes>,
}

#[derive(Clone, Debug, Eq, PartialEq, Choice)]
enum ResponderId {
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    ByName(Name),
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    ByKey(OctetString),
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct RevokedInfo {
    revocation_time: GeneralizedTime,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    revocation_reason: Option<CrlReason>,
}

#[derive(Clone, Debug, Eq, PartialEq, Choice)]
enum RawCertStatus {
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfo),
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct RawSingleResponse {
    cert_id: RawCertId,
    cert_status: RawCertStatus,
    this_update: GeneralizedTime,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    next_update: Option<GeneralizedTime>,
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    single_extensions: Option<Extensions>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct ResponseData {
    #[asn1(context_specific = "0", default = "Default::default", tag_mode = "EXPLICIT")]
    version: Version,
    responder_id: ResponderId,
    produced_at: GeneralizedTime,
    responses: Vec<RawSingleResponse>,
    #[asn1(context_specific = "1", optional = "true", tag_mode = "EXPLICIT")]
    response_extensions: Option<Extensions>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct BasicOcspResponse {
    tbs_response_data: ResponseData,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
    #[asn1(context_specific = "0", optional = "true", tag_mode = "EXPLICIT")]
    certs: Option<Vec<Certificate>>,
}

/// Hash algorithm of a CertID.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertIdHash {
    /// SHA-1 (what most clients send).
    Sha1,
    /// SHA-256.
    Sha256,
}

impl CertIdHash {
    /// `sha1` or `sha256`.
    pub fn name(self) -> &'static str {
        match self {
            CertIdHash::Sha1 => "sha1",
            CertIdHash::Sha256 => "sha256",
        }
    }

    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            CertIdHash::Sha1 => sha1::Sha1::digest(data).to_vec(),
            CertIdHash::Sha256 => sha2::Sha256::digest(data).to_vec(),
        }
    }

    fn oid(self) -> ObjectIdentifier {
        match self {
            CertIdHash::Sha1 => SHA1,
            CertIdHash::Sha256 => SHA256,
        }
    }
}

/// One CertID of a request, kept as received so the answer repeats it exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertId {
    /// Its hash algorithm, if one we support (`None`: answer `unknown`).
    pub hash: Option<CertIdHash>,
    /// Hash of the issuer's DER name.
    pub issuer_name_hash: Vec<u8>,
    /// Hash of the issuer's public key bits.
    pub issuer_key_hash: Vec<u8>,
    /// Serial, lower-case hex without leading zero bytes.
    pub serial_hex: String,
    raw: RawCertId,
}

impl CertId {
    /// The CertID of serial `serial_hex` under the issuer with these hashes (parameters
    /// NULL, as OpenSSL writes them), for responses signed ahead of any request.
    pub fn for_serial(issuer: &IssuerHashes, hash: CertIdHash, serial_hex: &str) -> Result<CertId, PkiError> {
        let (name_hash, key_hash) = match hash {
            CertIdHash::Sha1 => issuer.sha1.clone(),
            CertIdHash::Sha256 => issuer.sha256.clone(),
        };
        let serial_bytes = hex::decode(serial_hex.trim()).map_err(|e| PkiError::malformed("serial number", e))?;
        let serial = SerialNumber::new(&serial_bytes).map_err(|e| PkiError::malformed("serial number", e))?;
        let raw = RawCertId {
            hash_algorithm: AlgorithmIdentifierOwned { oid: hash.oid(), parameters: Some(der::Any::from(Null)) },
            issuer_name_hash: OctetString::new(name_hash.clone()).map_err(|e| PkiError::Encode(e.to_string()))?,
            issuer_key_hash: OctetString::new(key_hash.clone()).map_err(|e| PkiError::Encode(e.to_string()))?,
            serial_number: serial,
        };
        Ok(CertId {
            hash: Some(hash),
            issuer_name_hash: name_hash,
            issuer_key_hash: key_hash,
            serial_hex: normalise_serial_hex(serial_hex),
            raw,
        })
    }
}

/// What a request asks.
#[derive(Debug, Clone)]
pub struct OcspRequest {
    /// The certificates asked about.
    pub cert_ids: Vec<CertId>,
    /// The nonce extension's value (the extnValue bytes), if sent.
    pub nonce: Option<Vec<u8>>,
}

/// Reads a DER OCSPRequest (signed requests are read, their signature ignored).
pub fn parse_request(der_bytes: &[u8]) -> Result<OcspRequest, PkiError> {
    let raw = RawOcspRequest::from_der(der_bytes).map_err(|e| PkiError::malformed("OCSP request", e))?;
    if raw.tbs_request.request_list.is_empty() {
        return Err(PkiError::malformed("OCSP request", "no certificate asked about"));
    }
    let nonce = raw
        .tbs_request
        .request_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == OCSP_NONCE)
        .map(|e| e.extn_value.as_bytes().to_vec());
    let cert_ids = raw
        .tbs_request
        .request_list
        .into_iter()
        .map(|r| {
            let hash = match r.req_cert.hash_algorithm.oid {
                SHA1 => Some(CertIdHash::Sha1),
                SHA256 => Some(CertIdHash::Sha256),
                _ => None,
            };
            CertId {
                hash,
                issuer_name_hash: r.req_cert.issuer_name_hash.as_bytes().to_vec(),
                issuer_key_hash: r.req_cert.issuer_key_hash.as_bytes().to_vec(),
                serial_hex: normalise_serial_hex(&hex::encode(r.req_cert.serial_number.as_bytes())),
                raw: r.req_cert,
            }
        })
        .collect();
    Ok(OcspRequest { cert_ids, nonce })
}

/// An issuer's name and key hashes, to find which CA a CertID means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuerHashes {
    sha1: (Vec<u8>, Vec<u8>),
    sha256: (Vec<u8>, Vec<u8>),
}

impl IssuerHashes {
    /// The hashes of `issuer` (its subject name DER and its public key bits).
    pub fn of(issuer: &Certificate) -> Result<IssuerHashes, PkiError> {
        let name = issuer.tbs_certificate().subject().to_der().map_err(|e| PkiError::Encode(e.to_string()))?;
        let spki = spki_der(issuer)?;
        let key = spki::SubjectPublicKeyInfoRef::from_der(&spki).map_err(|e| PkiError::malformed("certificate", e))?;
        let bits = key.subject_public_key.raw_bytes();
        Ok(IssuerHashes {
            sha1: (CertIdHash::Sha1.digest(&name), CertIdHash::Sha1.digest(bits)),
            sha256: (CertIdHash::Sha256.digest(&name), CertIdHash::Sha256.digest(bits)),
        })
    }

    /// Whether `id` names this issuer.
    pub fn matches(&self, id: &CertId) -> bool {
        let (name, key) = match id.hash {
            Some(CertIdHash::Sha1) => &self.sha1,
            Some(CertIdHash::Sha256) => &self.sha256,
            None => return false,
        };
        *name == id.issuer_name_hash && *key == id.issuer_key_hash
    }
}

/// A certificate's status as OCSP tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertStatus {
    /// Not revoked.
    Good,
    /// Revoked (or on hold: reason certificateHold) at this time.
    Revoked {
        /// When.
        at: OffsetDateTime,
        /// Why, if said.
        reason: Option<RevocationReason>,
    },
    /// The responder knows no such certificate.
    Unknown,
}

/// One answer to put in a response.
#[derive(Debug, Clone)]
pub struct SingleAnswer {
    /// The CertID asked about (repeated as received).
    pub cert_id: CertId,
    /// Its status.
    pub status: CertStatus,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate.
    pub next_update: Option<OffsetDateTime>,
}

fn gtime(t: OffsetDateTime) -> Result<GeneralizedTime, PkiError> {
    let secs = u64::try_from(t.unix_timestamp()).map_err(|_| PkiError::malformed("time", "before 1970"))?;
    GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs)).map_err(|e| PkiError::malformed("time", e))
}

fn from_gtime(t: &GeneralizedTime) -> Result<OffsetDateTime, PkiError> {
    let secs = i64::try_from(t.to_unix_duration().as_secs()).map_err(|_| PkiError::malformed("OCSP response", "time out of range"))?;
    OffsetDateTime::from_unix_timestamp(secs).map_err(|e| PkiError::malformed("OCSP response", e))
}

/// The responder: its certificate (the CA's own, or a delegated OCSP signing certificate
/// the CA issued) and the key behind it.
pub struct Responder<'a> {
    /// Responder certificate.
    pub certificate: &'a Certificate,
    /// Its key.
    pub signer: &'a dyn RawSigner,
    /// Certificates to carry in the response: for a delegated responder, its certificate
    /// and the CA's, so that clients build the path without being given either.
    pub include: &'a [Certificate],
}

/// Builds a successful, signed BasicOCSPResponse. `nonce` is the request's nonce
/// extnValue, echoed back when given.
pub fn build_response(
    responder: &Responder<'_>,
    answers: &[SingleAnswer],
    produced_at: OffsetDateTime,
    nonce: Option<&[u8]>,
) -> Result<Vec<u8>, PkiError> {
    if responder.signer.public_key_der() != spki_der(responder.certificate)?.as_slice() {
        return Err(PkiError::Signer("the signer's key is not the responder certificate's key".into()));
    }
    let mut responses = Vec::with_capacity(answers.len());
    for a in answers {
        let cert_status = match a.status {
            CertStatus::Good => RawCertStatus::Good(Null),
            CertStatus::Unknown => RawCertStatus::Unknown(Null),
            CertStatus::Revoked { at, reason } => RawCertStatus::Revoked(RevokedInfo {
                revocation_time: gtime(at)?,
                revocation_reason: reason.map(|r| r.to_x509()),
            }),
        };
        responses.push(RawSingleResponse {
            cert_id: a.cert_id.raw.clone(),
            cert_status,
            this_update: gtime(a.this_update)?,
            next_update: a.next_update.map(gtime).transpose()?,
            single_extensions: None,
        });
    }
    let response_extensions = match nonce {
        Some(value) => Some(vec![Extension {
            extn_id: OCSP_NONCE,
            critical: false,
            extn_value: OctetString::new(value).map_err(|e| PkiError::Encode(e.to_string()))?,
        }]),
        None => None,
    };
    let key_hash = subject_key_id_or_computed_key(responder.certificate)?;
    let data = ResponseData {
        version: Version::V1,
        responder_id: ResponderId::ByKey(OctetString::new(key_hash).map_err(|e| PkiError::Encode(e.to_string()))?),
        produced_at: gtime(produced_at)?,
        responses,
        response_extensions,
    };
    let tbs = data.to_der().map_err(|e| PkiError::Encode(format!("ResponseData: {e}")))?;
    let signature = responder.signer.sign(&tbs)?;
    let basic = BasicOcspResponse {
        tbs_response_data: data,
        signature_algorithm: responder.signer.algorithm().algorithm_identifier(),
        signature: BitString::from_bytes(&signature).map_err(|e| PkiError::Encode(e.to_string()))?,
        certs: if responder.include.is_empty() { None } else { Some(responder.include.to_vec()) },
    };
    let basic_der = basic.to_der().map_err(|e| PkiError::Encode(format!("BasicOCSPResponse: {e}")))?;
    let response = RawOcspResponse {
        response_status: ResponseStatus::Successful,
        response_bytes: Some(ResponseBytes {
            response_type: OCSP_BASIC,
            response: OctetString::new(basic_der).map_err(|e| PkiError::Encode(e.to_string()))?,
        }),
    };
    response.to_der().map_err(|e| PkiError::Encode(format!("OCSPResponse: {e}")))
}

/// KeyHash of RFC 6960 ResponderID: SHA-1 of the responder key's BIT STRING contents
/// (not necessarily its SKI, which another CA may have computed differently).
fn subject_key_id_or_computed_key(cert: &Certificate) -> Result<Vec<u8>, PkiError> {
    crate::alg::key_identifier(&spki_der(cert)?)
}

/// An unsigned error response (malformedRequest, internalError, unauthorized, …).
pub fn error_response(status: ResponseStatus) -> Vec<u8> {
    let response = RawOcspResponse { response_status: status, response_bytes: None };
    // Three fixed bytes and an enumerated value: encoding cannot fail; fall back to the
    // literal internalError encoding all the same rather than panic.
    response.to_der().unwrap_or_else(|_| vec![0x30, 0x03, 0x0a, 0x01, 0x02])
}

/// Builds an unsigned OCSP request for `serial_hex` issued by `issuer`, with an optional
/// nonce (raw bytes; wrapped in an OCTET STRING as OpenSSL does).
pub fn build_request(issuer: &Certificate, serial_hex: &str, hash: CertIdHash, nonce: Option<&[u8]>) -> Result<Vec<u8>, PkiError> {
    let id = CertId::for_serial(&IssuerHashes::of(issuer)?, hash, serial_hex)?;
    let request_extensions = match nonce {
        Some(n) => {
            let inner = OctetString::new(n).map_err(|e| PkiError::Encode(e.to_string()))?;
            Some(vec![Extension {
                extn_id: OCSP_NONCE,
                critical: false,
                extn_value: OctetString::new(inner.to_der().map_err(|e| PkiError::Encode(e.to_string()))?)
                    .map_err(|e| PkiError::Encode(e.to_string()))?,
            }])
        }
        None => None,
    };
    let request = RawOcspRequest {
        tbs_request: TbsRequest {
            version: Version::V1,
            requestor_name: None,
            request_list: vec![RawRequest {
                req_cert: id.raw,
                single_request_extensions: None,
            }],
            request_extensions,
        },
        optional_signature: None,
    };
    request.to_der().map_err(|e| PkiError::Encode(format!("OCSP request: {e}")))
}

/// A checked response's answer about one certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckedAnswer {
    /// Status.
    pub status: CertStatus,
    /// thisUpdate.
    pub this_update: OffsetDateTime,
    /// nextUpdate, if given.
    pub next_update: Option<OffsetDateTime>,
    /// The nonce the response carries (extnValue), if any.
    pub nonce: Option<Vec<u8>>,
}

/// Checks a DER OCSPResponse about `serial_hex` of `issuer`: successful, signed by the
/// issuer itself or by a certificate the issuer issued for OCSP signing (EKU
/// id-kp-OCSPSigning) that the response carries; returns the answer for that serial.
pub fn check_response(der_bytes: &[u8], issuer: &Certificate, serial_hex: &str) -> Result<CheckedAnswer, PkiError> {
    let response = RawOcspResponse::from_der(der_bytes).map_err(|e| PkiError::malformed("OCSP response", e))?;
    if response.response_status != ResponseStatus::Successful {
        return Err(PkiError::malformed("OCSP response", format!("status {:?}", response.response_status)));
    }
    let bytes = response.response_bytes.ok_or_else(|| PkiError::malformed("OCSP response", "no response bytes"))?;
    if bytes.response_type != OCSP_BASIC {
        return Err(PkiError::Unsupported(format!("OCSP response type {}", bytes.response_type)));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes()).map_err(|e| PkiError::malformed("OCSP response", e))?;
    let tbs = basic.tbs_response_data.to_der().map_err(|e| PkiError::malformed("OCSP response", e))?;
    let signature = basic.signature.as_bytes().ok_or_else(|| PkiError::malformed("OCSP response", "signature is not whole bytes"))?;
    let alg = basic.signature_algorithm.oid.to_string();
    let issuer_spki = spki_der(issuer)?;
    let signed_by_issuer = crate::alg::verify_signature(&issuer_spki, &alg, &tbs, signature).is_ok();
    if !signed_by_issuer {
        let delegated = basic
            .certs
            .iter()
            .flatten()
            .find(|c| {
                crate::cert::verify_cert_signature(c, &issuer_spki).is_ok()
                    && c.tbs_certificate().issuer() == issuer.tbs_certificate().subject()
                    && has_ocsp_signing(c)
                    && spki_der(c).is_ok_and(|k| crate::alg::verify_signature(&k, &alg, &tbs, signature).is_ok())
            })
            .ok_or_else(|| PkiError::BadSignature("the OCSP response is signed neither by the issuer nor by its OCSP responder".into()))?;
        let _ = delegated;
    }
    let hashes = IssuerHashes::of(issuer)?;
    let wanted = normalise_serial_hex(serial_hex);
    let nonce = basic
        .tbs_response_data
        .response_extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == OCSP_NONCE)
        .map(|e| e.extn_value.as_bytes().to_vec());
    for single in &basic.tbs_response_data.responses {
        let id = CertId {
            hash: match single.cert_id.hash_algorithm.oid {
                SHA1 => Some(CertIdHash::Sha1),
                SHA256 => Some(CertIdHash::Sha256),
                _ => None,
            },
            issuer_name_hash: single.cert_id.issuer_name_hash.as_bytes().to_vec(),
            issuer_key_hash: single.cert_id.issuer_key_hash.as_bytes().to_vec(),
            serial_hex: normalise_serial_hex(&hex::encode(single.cert_id.serial_number.as_bytes())),
            raw: single.cert_id.clone(),
        };
        if id.serial_hex != wanted || !hashes.matches(&id) {
            continue;
        }
        let status = match &single.cert_status {
            RawCertStatus::Good(_) => CertStatus::Good,
            RawCertStatus::Unknown(_) => CertStatus::Unknown,
            RawCertStatus::Revoked(info) => CertStatus::Revoked {
                at: from_gtime(&info.revocation_time)?,
                reason: info.revocation_reason.and_then(|r| RevocationReason::from_code(r as i64)),
            },
        };
        return Ok(CheckedAnswer {
            status,
            this_update: from_gtime(&single.this_update)?,
            next_update: single.next_update.as_ref().map(from_gtime).transpose()?,
            nonce,
        });
    }
    Err(PkiError::malformed("OCSP response", format!("no answer about serial {wanted}")))
}

fn has_ocsp_signing(cert: &Certificate) -> bool {
    cert.tbs_certificate()
        .get_extension::<x509_cert::ext::pkix::ExtendedKeyUsage>()
        .ok()
        .flatten()
        .is_some_and(|(_, eku)| eku.0.contains(&KP_OCSP_SIGNING))
}

/// The SubjectKeyIdentifier-or-computed key id of a CA (for matching AKIs).
pub fn issuer_key_id(cert: &Certificate) -> Result<Vec<u8>, PkiError> {
    subject_key_id_or_computed(cert)
}

/// Where a certificate says its status is published.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusUrls {
    /// OCSP responders (AIA id-ad-ocsp).
    pub ocsp: Vec<String>,
    /// CRL distribution points (full names that are URIs).
    pub crl: Vec<String>,
    /// Issuer certificate downloads (AIA id-ad-caIssuers).
    pub ca_issuers: Vec<String>,
}

/// The OCSP, CRL and CA-issuer URLs a certificate publishes.
pub fn status_urls(cert: &Certificate) -> Result<StatusUrls, PkiError> {
    use x509_cert::ext::pkix::name::DistributionPointName;
    use x509_cert::ext::pkix::{AuthorityInfoAccessSyntax, CrlDistributionPoints};
    const AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
    const AD_CA_ISSUERS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.2");
    let tbs = cert.tbs_certificate();
    let mut urls = StatusUrls::default();
    let aia = tbs
        .get_extension::<AuthorityInfoAccessSyntax>()
        .map_err(|e| PkiError::malformed("certificate", format!("authorityInfoAccess: {e}")))?;
    for access in aia.map(|(_, a)| a.0).unwrap_or_default() {
        if let GeneralName::UniformResourceIdentifier(uri) = &access.access_location {
            match access.access_method {
                AD_OCSP => urls.ocsp.push(uri.to_string()),
                AD_CA_ISSUERS => urls.ca_issuers.push(uri.to_string()),
                _ => {}
            }
        }
    }
    let dps = tbs
        .get_extension::<CrlDistributionPoints>()
        .map_err(|e| PkiError::malformed("certificate", format!("cRLDistributionPoints: {e}")))?;
    for dp in dps.map(|(_, d)| d.0).unwrap_or_default() {
        if let Some(DistributionPointName::FullName(names)) = dp.distribution_point {
            for name in names {
                if let GeneralName::UniformResourceIdentifier(uri) = name {
                    urls.crl.push(uri.to_string());
                }
            }
        }
    }
    Ok(urls)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_response_is_the_fixed_encoding() {
        assert_eq!(error_response(ResponseStatus::MalformedRequest), vec![0x30, 0x03, 0x0a, 0x01, 0x01]);
        assert_eq!(error_response(ResponseStatus::Unauthorized), vec![0x30, 0x03, 0x0a, 0x01, 0x06]);
    }

    #[test]
    fn garbage_is_a_malformed_request() {
        assert!(parse_request(b"\x30\x00").is_err());
        assert!(parse_request(b"").is_err());
    }
}
