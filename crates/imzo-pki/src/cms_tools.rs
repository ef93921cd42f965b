//! Reshaping SignedData without re-signing: putting detached content inside, and joining
//! the signers of two signatures over the same content (what relying parties' front ends
//! ask of the E-IMZO server).

use crate::PkiError;
use crate::cms::attributes::{ID_DATA, ID_SIGNED_DATA};
use crate::cms::input;
use crate::cms::verify::attached_content;
use cms::content_info::ContentInfo;
use cms::signed_data::{CertificateSet, SignedData, SignerInfos};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode};

fn encode_err(e: der::Error) -> PkiError {
    PkiError::Encode(e.to_string())
}

fn to_der(signed_data: &SignedData) -> Result<Vec<u8>, PkiError> {
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(signed_data).map_err(encode_err)?,
    }
    .to_der()
    .map_err(encode_err)
}

/// The SignedData `cms` with `content` inside. An attached signature is returned as DER
/// when its content equals `content`; other content is refused. Only id-data content
/// can be attached this way.
pub fn attach(cms: &[u8], content: &[u8]) -> Result<Vec<u8>, PkiError> {
    let mut signed_data = input::parse(cms)?.signed_data;
    if signed_data.encap_content_info.econtent_type != ID_DATA {
        return Err(PkiError::malformed(
            "CMS SignedData",
            "only signatures over plain data (id-data) can take attached content",
        ));
    }
    match attached_content(&signed_data)? {
        Some(inside) if inside == content => {}
        Some(_) => {
            return Err(PkiError::malformed(
                "CMS SignedData",
                "the signature already holds other content",
            ));
        }
        None => {
            signed_data.encap_content_info.econtent = Some(
                Any::encode_from(&OctetString::new(content).map_err(encode_err)?)
                    .map_err(encode_err)?,
            );
        }
    }
    to_der(&signed_data)
}

/// One SignedData with the signers, certificates, CRLs and digest algorithms of both
/// `first` and `second`. Their content types must agree, and so must their contents
/// where both hold one (a detached and an attached signature join attached).
pub fn join(first: &[u8], second: &[u8]) -> Result<Vec<u8>, PkiError> {
    let mut a = input::parse(first)?.signed_data;
    let b = input::parse(second)?.signed_data;
    if a.encap_content_info.econtent_type != b.encap_content_info.econtent_type {
        return Err(PkiError::malformed(
            "CMS SignedData",
            "the two signatures are over different content types",
        ));
    }
    match (attached_content(&a)?, attached_content(&b)?) {
        (Some(x), Some(y)) if x != y => {
            return Err(PkiError::malformed(
                "CMS SignedData",
                "the two signatures hold different content",
            ));
        }
        (None, Some(_)) => a.encap_content_info.econtent = b.encap_content_info.econtent.clone(),
        _ => {}
    }
    let mut digests: Vec<_> = a.digest_algorithms.into_vec();
    for d in b.digest_algorithms.into_vec() {
        if !digests.contains(&d) {
            digests.push(d);
        }
    }
    a.digest_algorithms = SetOfVec::from_iter(digests).map_err(encode_err)?;
    let mut certs = a.certificates.map(|c| c.0.into_vec()).unwrap_or_default();
    for c in b.certificates.map(|c| c.0.into_vec()).unwrap_or_default() {
        if !certs.contains(&c) {
            certs.push(c);
        }
    }
    a.certificates = if certs.is_empty() {
        None
    } else {
        Some(CertificateSet(SetOfVec::from_iter(certs).map_err(encode_err)?))
    };
    let mut crls = a.crls.map(|c| c.0.into_vec()).unwrap_or_default();
    for c in b.crls.map(|c| c.0.into_vec()).unwrap_or_default() {
        if !crls.contains(&c) {
            crls.push(c);
        }
    }
    a.crls = if crls.is_empty() {
        None
    } else {
        Some(cms::revocation::RevocationInfoChoices(
            SetOfVec::from_iter(crls).map_err(encode_err)?,
        ))
    };
    let mut signers = a.signer_infos.0.into_vec();
    for s in b.signer_infos.0.into_vec() {
        if !signers.contains(&s) {
            signers.push(s);
        }
    }
    // RFC 5652 §5.1: the highest version any part needs.
    if b.version > a.version {
        a.version = b.version;
    }
    a.signer_infos = SignerInfos(SetOfVec::from_iter(signers).map_err(encode_err)?);
    to_der(&a)
}

/// Every certificate a SignedData carries.
pub fn certificates(cms: &[u8]) -> Result<Vec<crate::Certificate>, PkiError> {
    Ok(crate::cms::verify::embedded_certificates(&input::parse(cms)?.signed_data))
}

/// The message-digest signed attribute of every signer, in the order `cms::verify`
/// reports signers (`None` for a signer without signed attributes).
pub fn message_digests(cms: &[u8]) -> Result<Vec<Option<Vec<u8>>>, PkiError> {
    let parsed = input::parse(cms)?;
    let mut out = Vec::with_capacity(parsed.signers.len());
    for signer in &parsed.signers {
        let digest = match &signer.info.signed_attrs {
            Some(attrs) => crate::cms::attributes::single_value(attrs, crate::cms::attributes::ID_MESSAGE_DIGEST)?
                .map(|v| v.decode_as::<OctetString>().map(|o| o.as_bytes().to_vec()))
                .transpose()
                .map_err(|e| PkiError::malformed("message-digest attribute", e))?,
            None => None,
        };
        out.push(digest);
    }
    Ok(out)
}

/// The certificate-policy OIDs (dotted) of a certificate.
pub fn policy_identifiers(cert: &crate::Certificate) -> Vec<String> {
    match cert.tbs_certificate().get_extension::<x509_cert::ext::pkix::CertificatePolicies>() {
        Ok(Some((_, cp))) => cp.0.iter().map(|p| p.policy_identifier.to_string()).collect(),
        _ => Vec::new(),
    }
}
