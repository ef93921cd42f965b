//! The relying side: taking a token out of a response, reading it, and checking it.

use super::{
    HashAlgorithm, ID_AA_SIGNING_CERTIFICATE, ID_CT_TST_INFO, KP_TIME_STAMPING, RawTimeStampResp,
    TimeStampRequest, TokenInfo, TstInfo, parse_generalized_time,
};
use crate::cms::attributes::{ID_SIGNING_CERTIFICATE_V2, single_value};
use crate::cms::input::{self, Parsed};
use crate::cms::verify::attached_content;
use crate::cms::{VerifyOptions, VerifyProblem};
use crate::name::name_to_string;
use crate::{Certificate, PkiError};
use der::asn1::OctetString;
use der::{Any, Decode, Encode, Sequence};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::ext::pkix::name::GeneralName;

const WHAT: &str = "time-stamp token";

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdV2Read {
    #[asn1(optional = "true")]
    hash_algorithm: Option<AlgorithmIdentifierOwned>,
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<Any>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateV2Read {
    certs: Vec<EssCertIdV2Read>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct EssCertIdRead {
    cert_hash: OctetString,
    #[asn1(optional = "true")]
    issuer_serial: Option<Any>,
}

#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
struct SigningCertificateRead {
    certs: Vec<EssCertIdRead>,
    #[asn1(optional = "true")]
    policies: Option<Any>,
}

fn problem(code: &str, message: impl Into<String>) -> VerifyProblem {
    VerifyProblem {
        code: code.to_string(),
        message: message.into(),
    }
}

fn decode_tst(parsed: &Parsed) -> Result<TstInfo, PkiError> {
    let content_type = parsed.signed_data.encap_content_info.econtent_type;
    if content_type != ID_CT_TST_INFO {
        return Err(PkiError::malformed(
            WHAT,
            format!("content type is {content_type}, not id-ct-TSTInfo"),
        ));
    }
    let content = attached_content(&parsed.signed_data)?
        .ok_or_else(|| PkiError::malformed(WHAT, "the TSTInfo is missing"))?;
    TstInfo::from_der(&content).map_err(|e| PkiError::malformed("TSTInfo", e))
}

fn info_of(tst: &TstInfo) -> Result<TokenInfo, PkiError> {
    if tst.version != 1 {
        return Err(PkiError::malformed(
            "TSTInfo",
            format!("version {} is not 1", tst.version),
        ));
    }
    let oid = tst.message_imprint.hash_algorithm.oid;
    let hash = HashAlgorithm::from_oid(&oid)
        .ok_or_else(|| PkiError::Unsupported(format!("imprint hash algorithm {oid}")))?;
    let accuracy_micros = tst.accuracy.as_ref().map(|a| {
        u64::from(a.seconds.unwrap_or(0)) * 1_000_000
            + u64::from(a.millis.unwrap_or(0)) * 1_000
            + u64::from(a.micros.unwrap_or(0))
    });
    Ok(TokenInfo {
        gen_time: parse_generalized_time(&tst.gen_time)?,
        serial_hex: hex::encode(tst.serial_number.as_bytes()),
        policy: tst.policy.to_string(),
        hash,
        hashed_message: tst.message_imprint.hashed_message.as_bytes().to_vec(),
        nonce: tst.nonce.as_ref().map(|n| n.as_bytes().to_vec()),
        tsa_name: match &tst.tsa {
            Some(GeneralName::DirectoryName(name)) => Some(name_to_string(name)),
            _ => None,
        },
        accuracy_micros,
    })
}

/// Reads a token (DER or BER ContentInfo) without checking its signature.
pub fn read_token(token: &[u8]) -> Result<TokenInfo, PkiError> {
    let parsed = input::parse(token)?;
    info_of(&decode_tst(&parsed)?)
}

/// Takes the token out of a TimeStampResp answering `request`: the status must be
/// granted (or granted with modifications), and imprint and nonce must be the request's.
/// Returns the token's DER.
pub fn token_from_response(
    response: &[u8],
    request: &TimeStampRequest,
) -> Result<Vec<u8>, PkiError> {
    let der = crate::cms::ber::to_der(response)?;
    let resp = RawTimeStampResp::from_der(&der)
        .map_err(|e| PkiError::malformed("TimeStampResp", e))?;
    if resp.status.status > 1 {
        let text: Vec<String> = resp
            .status
            .status_string
            .iter()
            .flatten()
            .map(|s| String::from_utf8_lossy(s.value()).into_owned())
            .collect();
        return Err(PkiError::BadSignature(format!(
            "the TSA refused the request (status {}): {}",
            resp.status.status,
            text.join("; ")
        )));
    }
    let token = resp
        .time_stamp_token
        .ok_or_else(|| PkiError::malformed("TimeStampResp", "granted, but no token"))?
        .to_der()
        .map_err(|e| PkiError::Encode(e.to_string()))?;
    let info = read_token(&token)?;
    if info.hash != request.hash || info.hashed_message != request.hashed_message {
        return Err(PkiError::BadSignature(
            "the token's message imprint is not the one requested".into(),
        ));
    }
    if info.nonce != request.nonce {
        return Err(PkiError::BadSignature(
            "the token's nonce is not the one requested".into(),
        ));
    }
    Ok(token)
}

/// The verdict on a token.
#[derive(Debug, Clone)]
pub struct TokenReport {
    /// What the token says.
    pub info: TokenInfo,
    /// The TSA certificate, if the token carries it.
    pub certificate: Option<Certificate>,
    /// True when `errors` is empty.
    pub valid: bool,
    /// Every problem found, with stable codes (those of CMS verification, plus
    /// `imprint_mismatch`, `not_a_tsa`, `signing_certificate`).
    pub errors: Vec<VerifyProblem>,
}

/// Checks a token: its signature, the TSA certificate's chain to `anchors` at genTime,
/// the certificate's critical id-kp-timeStamping, the ESS signing-certificate(-v2)
/// binding, and, when `stamped` is given, that the imprint is the hash of those bytes.
/// Malformed input is an `Err`; a definite negative verdict is a report with errors.
pub fn verify_token(
    token: &[u8],
    stamped: Option<&[u8]>,
    anchors: &[Certificate],
) -> Result<TokenReport, PkiError> {
    let parsed = input::parse(token)?;
    let mut info = info_of(&decode_tst(&parsed)?)?;
    let report = crate::cms::verify(
        token,
        None,
        &VerifyOptions {
            anchors: anchors.to_vec(),
            at: Some(info.gen_time),
        },
    )?;
    let mut errors = Vec::new();
    if report.signers.len() != 1 || parsed.signers.len() != 1 {
        errors.push(problem(
            "bad_token",
            format!(
                "a token has exactly one signer, this one has {}",
                report.signers.len()
            ),
        ));
    }
    let signer = report.signers.into_iter().next();
    let certificate = signer.as_ref().and_then(|s| s.certificate.clone());
    if let Some(s) = signer {
        errors.extend(s.errors);
    }
    if let Some(cert) = &certificate {
        if info.tsa_name.is_none() {
            info.tsa_name = Some(name_to_string(cert.tbs_certificate().subject()));
        }
        check_tsa_certificate(cert, &mut errors);
        if let Some(raw) = parsed.signers.first() {
            check_ess(raw, cert, &mut errors)?;
        }
    }
    if let Some(data) = stamped
        && info.hash.digest(data) != info.hashed_message
    {
        errors.push(problem(
            "imprint_mismatch",
            "the token is not over the given data",
        ));
    }
    Ok(TokenReport {
        info,
        certificate,
        valid: errors.is_empty(),
        errors,
    })
}

fn check_tsa_certificate(cert: &Certificate, errors: &mut Vec<VerifyProblem>) {
    match cert.tbs_certificate().get_extension::<ExtendedKeyUsage>() {
        Ok(Some((true, eku))) if eku.0 == [KP_TIME_STAMPING] => {}
        Ok(Some((false, _))) => errors.push(problem(
            "not_a_tsa",
            "the TSA certificate's extended key usage is not critical (RFC 3161 §2.3)",
        )),
        Ok(_) => errors.push(problem(
            "not_a_tsa",
            "the TSA certificate's extended key usage is not id-kp-timeStamping alone",
        )),
        Err(e) => errors.push(problem(
            "not_a_tsa",
            format!("unreadable extended key usage: {e}"),
        )),
    }
}

/// RFC 3161 §2.4.1 / RFC 5816: the signer's certificate is bound by an ESS
/// signing-certificate (SHA-1) or signing-certificate-v2 attribute.
fn check_ess(
    raw: &input::RawSigner,
    cert: &Certificate,
    errors: &mut Vec<VerifyProblem>,
) -> Result<(), PkiError> {
    let Some(attrs) = &raw.info.signed_attrs else {
        errors.push(problem(
            "signing_certificate",
            "the token has no signed attributes",
        ));
        return Ok(());
    };
    let cert_der = cert
        .to_der()
        .map_err(|e| PkiError::Encode(e.to_string()))?;
    let v2 = single_value(attrs, ID_SIGNING_CERTIFICATE_V2)?;
    let v1 = single_value(attrs, ID_AA_SIGNING_CERTIFICATE)?;
    let first_hash = if let Some(value) = v2 {
        let sc: SigningCertificateV2Read = value
            .decode_as()
            .map_err(|e| PkiError::malformed("signing-certificate-v2 attribute", e))?;
        sc.certs.first().map(|id| {
            let oid = id
                .hash_algorithm
                .as_ref()
                .map(|a| a.oid)
                .unwrap_or(HashAlgorithm::Sha256.oid());
            (
                HashAlgorithm::from_oid(&oid),
                id.cert_hash.as_bytes().to_vec(),
            )
        })
    } else if let Some(value) = v1 {
        let sc: SigningCertificateRead = value
            .decode_as()
            .map_err(|e| PkiError::malformed("signing-certificate attribute", e))?;
        sc.certs
            .first()
            .map(|id| (Some(HashAlgorithm::Sha1), id.cert_hash.as_bytes().to_vec()))
    } else {
        None
    };
    match first_hash {
        Some((Some(hash), claimed)) if hash.digest(&cert_der) == claimed => {}
        Some((None, _)) => errors.push(problem(
            "signing_certificate",
            "the signing-certificate-v2 hash algorithm is not supported",
        )),
        Some(_) => errors.push(problem(
            "signing_certificate",
            "the ESS signing certificate is not the certificate that signed the token",
        )),
        None => errors.push(problem(
            "signing_certificate",
            "the token has no ESS signing-certificate attribute",
        )),
    }
    Ok(())
}
