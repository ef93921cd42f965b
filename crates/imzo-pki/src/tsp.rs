//! Time-stamping (RFC 3161, with the ESS signing-certificate-v2 of RFC 5816): requests,
//! responses and tokens for both sides, and the CAdES-T signature time-stamp (an
//! unsigned attribute holding a token over a signature value).
//!
//! The structures are declared here with `der` 0.8 derives; the `x509-tsp` crate exists
//! only for the older `der` generation.

mod cades;
mod check;
mod token;

pub use cades::{add_signature_timestamp, signature_timestamps, signature_values};
pub use check::{TokenReport, read_token, token_from_response, verify_token};
pub use token::{TokenParams, grant};

use crate::PkiError;
use der::asn1::{BitString, Int, ObjectIdentifier, OctetString, Uint, Utf8StringRef};
use der::{Decode, Encode, Sequence};
use sha2::Digest;
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::ext::Extensions;
use x509_cert::ext::pkix::name::GeneralName;

/// id-ct-TSTInfo (RFC 3161 §2.4.2).
pub const ID_CT_TST_INFO: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");
/// id-aa-signatureTimeStampToken (RFC 3161 appendix A), the CAdES-T unsigned attribute.
pub const ID_AA_SIGNATURE_TIME_STAMP_TOKEN: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// id-aa-signingCertificate (RFC 2634, SHA-1 ESSCertID), accepted on tokens of others.
pub(crate) const ID_AA_SIGNING_CERTIFICATE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.12");
/// id-kp-timeStamping.
pub(crate) const KP_TIME_STAMPING: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.8");

/// Hash algorithms accepted in a message imprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// SHA-1 (still sent by old clients; accepted for imprints only).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl HashAlgorithm {
    /// The algorithm's OID.
    pub fn oid(self) -> ObjectIdentifier {
        ObjectIdentifier::new_unwrap(match self {
            HashAlgorithm::Sha1 => "1.3.14.3.2.26",
            HashAlgorithm::Sha256 => "2.16.840.1.101.3.4.2.1",
            HashAlgorithm::Sha384 => "2.16.840.1.101.3.4.2.2",
            HashAlgorithm::Sha512 => "2.16.840.1.101.3.4.2.3",
        })
    }

    /// The algorithm named by `oid`, if supported.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<HashAlgorithm> {
        [
            HashAlgorithm::Sha1,
            HashAlgorithm::Sha256,
            HashAlgorithm::Sha384,
            HashAlgorithm::Sha512,
        ]
        .into_iter()
        .find(|h| h.oid() == *oid)
    }

    /// Length of a digest in bytes.
    pub fn output_len(self) -> usize {
        match self {
            HashAlgorithm::Sha1 => 20,
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha384 => 48,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// Digest of `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha1 => sha1::Sha1::digest(data).to_vec(),
            HashAlgorithm::Sha256 => sha2::Sha256::digest(data).to_vec(),
            HashAlgorithm::Sha384 => sha2::Sha384::digest(data).to_vec(),
            HashAlgorithm::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct MessageImprint {
    pub(crate) hash_algorithm: AlgorithmIdentifierOwned,
    pub(crate) hashed_message: OctetString,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct RawTimeStampReq {
    pub(crate) version: u8,
    pub(crate) message_imprint: MessageImprint,
    #[asn1(optional = "true")]
    pub(crate) req_policy: Option<ObjectIdentifier>,
    #[asn1(optional = "true")]
    pub(crate) nonce: Option<Int>,
    #[asn1(default = "Default::default")]
    pub(crate) cert_req: bool,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) extensions: Option<Extensions>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct RawTimeStampResp {
    pub(crate) status: RawStatusInfo,
    #[asn1(optional = "true")]
    pub(crate) time_stamp_token: Option<der::Any>,
}

/// PKIStatusInfo with the free text kept as raw bytes (any string type is tolerated).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct RawStatusInfo {
    pub(crate) status: u8,
    #[asn1(optional = "true")]
    pub(crate) status_string: Option<Vec<der::Any>>,
    #[asn1(optional = "true")]
    pub(crate) fail_info: Option<BitString>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct Accuracy {
    #[asn1(optional = "true")]
    pub(crate) seconds: Option<u32>,
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) millis: Option<u16>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) micros: Option<u16>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct TstInfo {
    pub(crate) version: u8,
    pub(crate) policy: ObjectIdentifier,
    pub(crate) message_imprint: MessageImprint,
    pub(crate) serial_number: Uint,
    /// Kept raw: tokens of others may carry fractional seconds, which `der` refuses.
    pub(crate) gen_time: der::Any,
    #[asn1(optional = "true")]
    pub(crate) accuracy: Option<Accuracy>,
    #[asn1(default = "Default::default")]
    pub(crate) ordering: bool,
    #[asn1(optional = "true")]
    pub(crate) nonce: Option<Int>,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub(crate) tsa: Option<GeneralName>,
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub(crate) extensions: Option<Extensions>,
}

/// A time-stamp request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeStampRequest {
    /// Hash algorithm of the imprint.
    pub hash: HashAlgorithm,
    /// The imprint: hash of the data to be time-stamped.
    pub hashed_message: Vec<u8>,
    /// The policy the requester asks for (dotted OID), if any.
    pub policy: Option<String>,
    /// The nonce as DER INTEGER contents (echoed exactly), if any.
    pub nonce: Option<Vec<u8>>,
    /// The requester wants the TSA certificate in the token.
    pub cert_req: bool,
}

/// Why a TSA refuses a request (PKIFailureInfo, RFC 3161 §2.4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureInfo {
    /// Unrecognised or unsupported algorithm.
    BadAlg,
    /// Transaction not permitted or supported.
    BadRequest,
    /// The data submitted has the wrong format.
    BadDataFormat,
    /// The requested policy is not supported.
    UnacceptedPolicy,
    /// The requested extension is not supported.
    UnacceptedExtension,
    /// The request cannot be handled due to system failure.
    SystemFailure,
}

impl FailureInfo {
    /// Bit number in PKIFailureInfo.
    pub fn bit(self) -> usize {
        match self {
            FailureInfo::BadAlg => 0,
            FailureInfo::BadRequest => 2,
            FailureInfo::BadDataFormat => 5,
            FailureInfo::UnacceptedPolicy => 15,
            FailureInfo::UnacceptedExtension => 16,
            FailureInfo::SystemFailure => 25,
        }
    }
}

/// A refusal: failure bit and a text for the requester.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("time-stamp request refused ({failure:?}): {text}")]
pub struct Rejection {
    /// The failure bit.
    pub failure: FailureInfo,
    /// Human-readable reason.
    pub text: String,
}

impl Rejection {
    pub(crate) fn new(failure: FailureInfo, text: impl Into<String>) -> Rejection {
        Rejection {
            failure,
            text: text.into(),
        }
    }
}

/// Reads a DER TimeStampReq. `accepted_policies` are the dotted OIDs this TSA serves;
/// a request for any other is refused with unacceptedPolicy.
pub fn parse_request(
    der_bytes: &[u8],
    accepted_policies: &[&str],
) -> Result<TimeStampRequest, Rejection> {
    let raw = RawTimeStampReq::from_der(der_bytes).map_err(|e| {
        Rejection::new(
            FailureInfo::BadDataFormat,
            format!("not a DER TimeStampReq: {e}"),
        )
    })?;
    if raw.version != 1 {
        return Err(Rejection::new(
            FailureInfo::BadRequest,
            format!("TimeStampReq version {} is not 1", raw.version),
        ));
    }
    let oid = raw.message_imprint.hash_algorithm.oid;
    let hash = HashAlgorithm::from_oid(&oid).ok_or_else(|| {
        Rejection::new(
            FailureInfo::BadAlg,
            format!("hash algorithm {oid} is not supported"),
        )
    })?;
    let hashed = raw.message_imprint.hashed_message.as_bytes();
    if hashed.len() != hash.output_len() {
        return Err(Rejection::new(
            FailureInfo::BadDataFormat,
            format!(
                "the imprint is {} bytes long, but {hash:?} digests are {}",
                hashed.len(),
                hash.output_len()
            ),
        ));
    }
    if let Some(policy) = &raw.req_policy {
        let dotted = policy.to_string();
        if !accepted_policies.contains(&dotted.as_str()) {
            return Err(Rejection::new(
                FailureInfo::UnacceptedPolicy,
                format!("policy {dotted} is not served here"),
            ));
        }
    }
    if let Some(ext) = raw.extensions.as_ref().and_then(|e| e.first()) {
        return Err(Rejection::new(
            FailureInfo::UnacceptedExtension,
            format!("request extension {} is not supported", ext.extn_id),
        ));
    }
    Ok(TimeStampRequest {
        hash,
        hashed_message: hashed.to_vec(),
        policy: raw.req_policy.map(|p| p.to_string()),
        nonce: raw.nonce.map(|n| n.as_bytes().to_vec()),
        cert_req: raw.cert_req,
    })
}

fn encode_err(e: der::Error) -> PkiError {
    PkiError::Encode(e.to_string())
}

fn algorithm(oid: ObjectIdentifier) -> AlgorithmIdentifierOwned {
    // RFC 5754: SHA-2 parameters absent; SHA-1 too, as OpenSSL writes NULL only on request.
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

impl TimeStampRequest {
    /// A request for a token over `data`: imprint with `hash`, a fresh random 64-bit
    /// nonce, asking for the TSA certificate.
    pub fn for_data(hash: HashAlgorithm, data: &[u8]) -> Result<TimeStampRequest, PkiError> {
        let mut nonce = vec![0u8; 8];
        getrandom::fill(&mut nonce)
            .map_err(|e| PkiError::Encode(format!("no randomness for a nonce: {e}")))?;
        // Positive and minimal: a DER INTEGER's contents as they will come back.
        nonce[0] = (nonce[0] & 0x7f) | 0x01;
        Ok(TimeStampRequest {
            hash,
            hashed_message: hash.digest(data),
            policy: None,
            nonce: Some(nonce),
            cert_req: true,
        })
    }

    /// DER TimeStampReq.
    pub fn to_der(&self) -> Result<Vec<u8>, PkiError> {
        let raw = RawTimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: algorithm(self.hash.oid()),
                hashed_message: OctetString::new(self.hashed_message.clone())
                    .map_err(encode_err)?,
            },
            req_policy: self
                .policy
                .as_deref()
                .map(ObjectIdentifier::new)
                .transpose()
                .map_err(|e| PkiError::malformed("policy OID", e))?,
            nonce: self
                .nonce
                .as_deref()
                .map(Int::new)
                .transpose()
                .map_err(encode_err)?,
            cert_req: self.cert_req,
            extensions: None,
        };
        raw.to_der().map_err(encode_err)
    }
}

/// DER TimeStampResp refusing a request (status rejection, with failure info and text).
pub fn reject(rejection: &Rejection) -> Vec<u8> {
    encode_rejection(rejection).unwrap_or_else(|_| {
        // status rejection (2) alone: always encodable, never worth a panic.
        vec![0x30, 0x05, 0x30, 0x03, 0x02, 0x01, 0x02]
    })
}

fn encode_rejection(rejection: &Rejection) -> Result<Vec<u8>, PkiError> {
    let bit = rejection.failure.bit();
    let mut bytes = vec![0u8; bit / 8 + 1];
    bytes[bit / 8] = 0x80 >> (bit % 8);
    // DER named bit lists drop trailing zero bits (X.690 §11.2.2).
    let unused = u8::try_from(bit % 8)
        .map(|b| 7 - b)
        .map_err(|e| PkiError::Encode(e.to_string()))?;
    let fail_info = BitString::new(unused, bytes).map_err(encode_err)?;
    let text = Utf8StringRef::new(&rejection.text).map_err(encode_err)?;
    let text_der = text.to_der().map_err(encode_err)?;
    let status = RawStatusInfo {
        status: 2,
        status_string: Some(vec![der::Any::from_der(&text_der).map_err(encode_err)?]),
        fail_info: Some(fail_info),
    };
    RawTimeStampResp {
        status,
        time_stamp_token: None,
    }
    .to_der()
    .map_err(encode_err)
}

/// Facts of a token, read without checking it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    /// genTime.
    pub gen_time: OffsetDateTime,
    /// Serial number, lower-case hex.
    pub serial_hex: String,
    /// TSA policy (dotted OID).
    pub policy: String,
    /// Imprint hash algorithm.
    pub hash: HashAlgorithm,
    /// The imprint.
    pub hashed_message: Vec<u8>,
    /// Nonce (DER INTEGER contents), if any.
    pub nonce: Option<Vec<u8>>,
    /// The TSA's name from the tsa field, or else from the signer's certificate.
    pub tsa_name: Option<String>,
    /// Accuracy in microseconds, if stated.
    pub accuracy_micros: Option<u64>,
}

/// Reads a GeneralizedTime `YYYYMMDDHHMMSS[.f*]Z`.
pub(crate) fn parse_generalized_time(any: &der::Any) -> Result<OffsetDateTime, PkiError> {
    let bad = |why: &str| PkiError::malformed("TSTInfo genTime", why.to_string());
    if der::Tagged::tag(any) != der::Tag::GeneralizedTime {
        return Err(bad("not a GeneralizedTime"));
    }
    let text = std::str::from_utf8(any.value()).map_err(|_| bad("not ASCII"))?;
    let body = text.strip_suffix('Z').ok_or_else(|| bad("not in UTC (no Z)"))?;
    let (whole, fraction) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    if whole.len() != 14 || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("not YYYYMMDDHHMMSS"));
    }
    let num = |r: std::ops::Range<usize>| whole[r].parse::<u32>().map_err(|_| bad("digits"));
    let year = i32::try_from(num(0..4)?).map_err(|_| bad("year"))?;
    let month = time::Month::try_from(u8::try_from(num(4..6)?).map_err(|_| bad("month"))?)
        .map_err(|_| bad("month"))?;
    let small = |v: u32| u8::try_from(v).map_err(|_| bad("field out of range"));
    let date = time::Date::from_calendar_date(year, month, small(num(6..8)?)?)
        .map_err(|_| bad("no such date"))?;
    let mut nanos = 0u32;
    if let Some(f) = fraction {
        if f.is_empty() || f.len() > 9 || !f.bytes().all(|b| b.is_ascii_digit()) || f.ends_with('0')
        {
            return Err(bad("bad fraction of a second"));
        }
        nanos = format!("{f:0<9}").parse().map_err(|_| bad("fraction"))?;
    }
    let clock = time::Time::from_hms_nano(
        small(num(8..10)?)?,
        small(num(10..12)?)?,
        small(num(12..14)?)?,
        nanos,
    )
    .map_err(|_| bad("no such time of day"))?;
    Ok(time::PrimitiveDateTime::new(date, clock).assume_utc())
}

/// GeneralizedTime of `at`, whole seconds (the accuracy field states the rest).
pub(crate) fn generalized_time(at: OffsetDateTime) -> Result<der::Any, PkiError> {
    let secs = u64::try_from(at.unix_timestamp())
        .map_err(|_| PkiError::Encode(format!("time {at} is before 1970")))?;
    let t = der::asn1::GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs))
        .map_err(encode_err)?;
    der::Any::encode_from(&t).map_err(encode_err)
}

#[cfg(test)]
mod tests;
