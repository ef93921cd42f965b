//! Checking SignedData: signatures, message digests, signer certificates and their paths.

use super::attributes::{
    self, ECDSA_WITH_SHA1, ECDSA_WITH_SHA256, ECDSA_WITH_SHA384, ECDSA_WITH_SHA512,
    ID_CONTENT_TYPE, ID_EC_PUBLIC_KEY, ID_MESSAGE_DIGEST, ID_SHA1, ID_SHA256, ID_SHA384, ID_SHA512,
    RSA_ENCRYPTION, SHA1_WITH_RSA, SHA256_WITH_RSA, SHA384_WITH_RSA, SHA512_WITH_RSA,
};
use super::input::{self, Parsed, RawSigner};
use super::{SignerReport, VerifyOptions, VerifyProblem, VerifyReport};
use crate::path::{self, PathOptions};
use crate::{PkiError, alg};
use cms::cert::CertificateChoices;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::Encode;
use der::asn1::{ObjectIdentifier, OctetString};
use sha2::Digest;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{KeyUsage, SubjectKeyIdentifier};

/// Longest chain between a signer and its anchor that we follow.
const MAX_PATH_DEPTH: usize = 8;

fn problem(code: &str, message: impl Into<String>) -> VerifyProblem {
    VerifyProblem {
        code: code.to_string(),
        message: message.into(),
    }
}

/// The attached content, if any.
pub(crate) fn attached_content(signed_data: &SignedData) -> Result<Option<Vec<u8>>, PkiError> {
    match &signed_data.encap_content_info.econtent {
        None => Ok(None),
        Some(any) => {
            let octets: OctetString = any
                .decode_as()
                .map_err(|e| PkiError::malformed("encapsulated content", e))?;
            Ok(Some(octets.as_bytes().to_vec()))
        }
    }
}

pub(crate) fn embedded_certificates(signed_data: &SignedData) -> Vec<Certificate> {
    signed_data
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|choice| match choice {
            CertificateChoices::Certificate(cert) => Some(cert.clone()),
            _ => None,
        })
        .collect()
}

fn digest(algorithm: &ObjectIdentifier, content: &[u8]) -> Option<Vec<u8>> {
    match *algorithm {
        ID_SHA1 => Some(sha1::Sha1::digest(content).to_vec()),
        ID_SHA256 => Some(sha2::Sha256::digest(content).to_vec()),
        ID_SHA384 => Some(sha2::Sha384::digest(content).to_vec()),
        ID_SHA512 => Some(sha2::Sha512::digest(content).to_vec()),
        other if crate::ozdst::is_hash_oid(&other) => Some(crate::ozdst::hash(content).to_vec()),
        _ => None,
    }
}

/// Signers may write the key's algorithm (id-ecPublicKey, rsaEncryption) where the
/// signature algorithm belongs (RFC 5754 §3); the digest algorithm then decides.
fn effective_signature_algorithm(
    signature: &ObjectIdentifier,
    digest: &ObjectIdentifier,
) -> ObjectIdentifier {
    match (*signature, *digest) {
        (ID_EC_PUBLIC_KEY, ID_SHA1) => ECDSA_WITH_SHA1,
        (ID_EC_PUBLIC_KEY, ID_SHA384) => ECDSA_WITH_SHA384,
        (ID_EC_PUBLIC_KEY, ID_SHA512) => ECDSA_WITH_SHA512,
        (ID_EC_PUBLIC_KEY, _) => ECDSA_WITH_SHA256,
        (RSA_ENCRYPTION, ID_SHA1) => SHA1_WITH_RSA,
        (RSA_ENCRYPTION, ID_SHA384) => SHA384_WITH_RSA,
        (RSA_ENCRYPTION, ID_SHA512) => SHA512_WITH_RSA,
        (RSA_ENCRYPTION, _) => SHA256_WITH_RSA,
        (other, _) => other,
    }
}

/// Does `sid` name `cert`?
pub(crate) fn identifies(sid: &SignerIdentifier, cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(isn) => {
            tbs.issuer() == &isn.issuer && tbs.serial_number() == &isn.serial_number
        }
        SignerIdentifier::SubjectKeyIdentifier(ski) => {
            if let Ok(Some((_, own))) = tbs.get_extension::<SubjectKeyIdentifier>()
                && own.0.as_bytes() == ski.0.as_bytes()
            {
                return true;
            }
            tbs.subject_public_key_info()
                .to_der()
                .ok()
                .and_then(|spki| alg::key_identifier(&spki).ok())
                .is_some_and(|id| id == ski.0.as_bytes())
        }
    }
}

/// Checks message digest and signature of one signer under `spki_der`. Problems are
/// pushed to `errors`; returns whether both hold.
pub(crate) fn check_signature(
    signer: &RawSigner,
    econtent_type: &ObjectIdentifier,
    content: &[u8],
    spki_der: &[u8],
    errors: &mut Vec<VerifyProblem>,
) -> bool {
    let info = &signer.info;
    let Some(content_digest) = digest(&info.digest_alg.oid, content) else {
        errors.push(problem(
            "unsupported_algorithm",
            format!("digest algorithm {} is not supported", info.digest_alg.oid),
        ));
        return false;
    };
    let message: &[u8] = match (&info.signed_attrs, &signer.signed_attrs_der) {
        (Some(attrs), Some(raw)) => {
            match attributes::single_value(attrs, ID_CONTENT_TYPE) {
                Ok(Some(value))
                    if value.decode_as::<ObjectIdentifier>().ok().as_ref()
                        == Some(econtent_type) => {}
                Ok(_) => {
                    errors.push(problem(
                        "bad_attributes",
                        "content-type attribute missing or not equal to the encapsulated content type",
                    ));
                    return false;
                }
                Err(e) => {
                    errors.push(problem("bad_attributes", e.to_string()));
                    return false;
                }
            }
            match attributes::single_value(attrs, ID_MESSAGE_DIGEST) {
                Ok(Some(value)) => match value.decode_as::<OctetString>() {
                    Ok(claimed) if claimed.as_bytes() == content_digest.as_slice() => {}
                    Ok(_) => {
                        errors.push(problem(
                            "digest_mismatch",
                            "the content does not match the signed message digest",
                        ));
                        return false;
                    }
                    Err(e) => {
                        errors.push(problem(
                            "bad_attributes",
                            format!("message-digest attribute: {e}"),
                        ));
                        return false;
                    }
                },
                Ok(None) => {
                    errors.push(problem(
                        "bad_attributes",
                        "signed attributes lack a message-digest",
                    ));
                    return false;
                }
                Err(e) => {
                    errors.push(problem("bad_attributes", e.to_string()));
                    return false;
                }
            }
            raw
        }
        _ => content,
    };
    let algorithm =
        effective_signature_algorithm(&info.signature_algorithm.oid, &info.digest_alg.oid);
    match alg::verify_signature(
        spki_der,
        &algorithm.to_string(),
        message,
        info.signature.as_bytes(),
    ) {
        Ok(()) => true,
        Err(PkiError::Unsupported(what)) => {
            errors.push(problem(
                "unsupported_algorithm",
                format!("unsupported {what}"),
            ));
            false
        }
        Err(e) => {
            errors.push(problem("bad_signature", e.to_string()));
            false
        }
    }
}

pub(crate) fn verify(
    cms: &[u8],
    detached_content: Option<&[u8]>,
    options: &VerifyOptions,
) -> Result<VerifyReport, PkiError> {
    let Parsed {
        signed_data,
        signers,
    } = input::parse(cms)?;
    let attached = attached_content(&signed_data)?;
    // Content given by the caller is what they ask about, so it wins over an attached copy.
    let content = detached_content.map(<[u8]>::to_vec).or(attached);
    let certificates = embedded_certificates(&signed_data);
    let econtent_type = signed_data.encap_content_info.econtent_type;
    let mut reports = Vec::with_capacity(signers.len());
    for signer in &signers {
        reports.push(check_signer(
            signer,
            &econtent_type,
            content.as_deref(),
            &certificates,
            options,
        )?);
    }
    Ok(VerifyReport {
        content: content.unwrap_or_default(),
        signers: reports,
    })
}

fn check_signer(
    signer: &RawSigner,
    econtent_type: &ObjectIdentifier,
    content: Option<&[u8]>,
    certificates: &[Certificate],
    options: &VerifyOptions,
) -> Result<SignerReport, PkiError> {
    let mut errors = Vec::new();
    let signing_time = match &signer.info.signed_attrs {
        Some(attrs) => attributes::signing_time(attrs).unwrap_or_else(|e| {
            errors.push(problem("bad_attributes", e.to_string()));
            None
        }),
        None => None,
    };
    let certificate = certificates
        .iter()
        .find(|c| identifies(&signer.info.sid, c))
        .cloned();
    let mut report = SignerReport {
        certificate: certificate.clone(),
        signing_time,
        signature_valid: false,
        chain_valid: false,
        errors: Vec::new(),
    };
    let Some(cert) = certificate else {
        errors.push(problem(
            "no_signer_certificate",
            "the signer's certificate is not among the certificates in the signature",
        ));
        report.errors = errors;
        return Ok(report);
    };
    match content {
        None => errors.push(problem(
            "content_missing",
            "the signature is detached: give the signed content",
        )),
        Some(content) => {
            let spki = cert
                .tbs_certificate()
                .subject_public_key_info()
                .to_der()
                .map_err(|e| PkiError::Encode(e.to_string()))?;
            report.signature_valid =
                check_signature(signer, econtent_type, content, &spki, &mut errors);
        }
    }
    // The signing-time attribute is the signer's claim: the chain is judged at the time
    // the caller proves (a time-stamp's genTime, or its explicit choice), else now.
    let now = OffsetDateTime::now_utc();
    let at = options.at.unwrap_or(now);
    if let Some(claimed) = signing_time {
        check_claimed_time(claimed, &cert, now, &mut errors);
    }
    let intermediates: Vec<Certificate> = certificates
        .iter()
        .filter(|c| **c != cert)
        .cloned()
        .collect();
    match path::validate(
        &cert,
        &intermediates,
        &options.anchors,
        &PathOptions {
            at,
            max_depth: MAX_PATH_DEPTH,
        },
    ) {
        Ok(_) => report.chain_valid = true,
        Err(e) => errors.push(VerifyProblem::from(&e)),
    }
    match cert.tbs_certificate().get_extension::<KeyUsage>() {
        Ok(Some((_, usage))) if !(usage.digital_signature() || usage.non_repudiation()) => errors
            .push(problem(
                "key_usage",
                "the signer's certificate allows neither digitalSignature nor nonRepudiation",
            )),
        Ok(_) => {}
        Err(e) => errors.push(problem(
            "key_usage",
            format!("unreadable keyUsage extension: {e}"),
        )),
    }
    report.errors = errors;
    Ok(report)
}

/// A claimed signing time in the future, or before the signer's certificate began, is
/// impossible: the signer's clock is wrong (or set back on purpose).
fn check_claimed_time(
    claimed: OffsetDateTime,
    cert: &Certificate,
    now: OffsetDateTime,
    errors: &mut Vec<VerifyProblem>,
) {
    let show = |t: OffsetDateTime| {
        t.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| t.to_string())
    };
    if claimed > now + super::SIGNING_TIME_SKEW {
        errors.push(problem(
            "bad_signing_time",
            format!(
                "the claimed signing time {} is in the future (check the clock of the signer's computer)",
                show(claimed)
            ),
        ));
        return;
    }
    let not_before =
        crate::cert::from_x509_time(&cert.tbs_certificate().validity().not_before).ok();
    if let Some(nb) = not_before.filter(|nb| claimed < *nb - super::SIGNING_TIME_SKEW) {
        errors.push(problem(
            "bad_signing_time",
            format!(
                "the claimed signing time {} is before the signer's certificate was valid (not yet valid then, valid from {}): check the clock of the signer's computer",
                show(claimed),
                show(nb)
            ),
        ));
    }
}

pub(crate) fn verify_proof_of_possession(
    cms: &[u8],
    challenge: &[u8],
    public_key_der: &[u8],
) -> Result<(), PkiError> {
    let Parsed {
        signed_data,
        signers,
    } = input::parse(cms)?;
    if let Some(attached) = attached_content(&signed_data)?
        && attached != challenge
    {
        return Err(PkiError::BadSignature(
            "the signed content is not the challenge".into(),
        ));
    }
    let certificates = embedded_certificates(&signed_data);
    let key_id = alg::key_identifier(public_key_der)?;
    let econtent_type = signed_data.encap_content_info.econtent_type;
    let mut reasons = Vec::new();
    for signer in &signers {
        let names_key = match &signer.info.sid {
            SignerIdentifier::SubjectKeyIdentifier(ski) => ski.0.as_bytes() == key_id.as_slice(),
            // With issuer+serial, a certificate given alongside must hold this key; with
            // none, the signature itself decides.
            SignerIdentifier::IssuerAndSerialNumber(_) => match certificates
                .iter()
                .find(|c| identifies(&signer.info.sid, c))
            {
                Some(cert) => cert
                    .tbs_certificate()
                    .subject_public_key_info()
                    .to_der()
                    .is_ok_and(|spki| spki == public_key_der),
                None => true,
            },
        };
        if !names_key {
            reasons.push("the signer is not identified by the expected key".to_string());
            continue;
        }
        let mut errors = Vec::new();
        if check_signature(
            signer,
            &econtent_type,
            challenge,
            public_key_der,
            &mut errors,
        ) {
            return Ok(());
        }
        reasons.extend(errors.into_iter().map(|p| p.message));
    }
    if signers.is_empty() {
        reasons.push("the SignedData has no signers".into());
    }
    Err(PkiError::BadSignature(format!(
        "proof of possession fails: {}",
        reasons.join("; ")
    )))
}
