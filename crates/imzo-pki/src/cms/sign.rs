//! Making SignedData: document signatures and proofs of possession.

use super::SignOptions;
use super::attributes::{self, ECDSA_WITH_SHA256, ID_DATA, ID_SIGNED_DATA};
use crate::{PkiError, RawSigner, SignatureAlgorithm, alg};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{OctetString, SetOfVec};
use der::{Any, Encode};
use spki::AlgorithmIdentifierOwned;
use time::OffsetDateTime;
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;

fn encode_err(e: der::Error) -> PkiError {
    PkiError::Encode(e.to_string())
}

fn algorithm(oid: der::asn1::ObjectIdentifier) -> AlgorithmIdentifierOwned {
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn signature_algorithm(signer: &dyn RawSigner) -> AlgorithmIdentifierOwned {
    match signer.algorithm() {
        SignatureAlgorithm::EcdsaP256Sha256 => algorithm(ECDSA_WITH_SHA256),
        // As in E-IMZO's own signer infos: the certificate signature OID, NULL parameters.
        SignatureAlgorithm::OzDst1092 => SignatureAlgorithm::OzDst1092.algorithm_identifier(),
        // OpenSSL's GOST engine writes the key OID here (RFC 4490 §3.2).
        SignatureAlgorithm::Gost2001 => algorithm(crate::ozdst::GOST_R3410_2001),
    }
}

pub(crate) fn sign(
    content: &[u8],
    signer: &dyn RawSigner,
    chain: &[Certificate],
    options: &SignOptions,
) -> Result<Vec<u8>, PkiError> {
    let leaf = chain.first().ok_or_else(|| {
        PkiError::Signer("no signer certificate given: the chain is empty".into())
    })?;
    let leaf_key = leaf
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(encode_err)?;
    if leaf_key != signer.public_key_der() {
        return Err(PkiError::Signer(
            "the first certificate of the chain does not hold the signer's key".into(),
        ));
    }
    let sid = SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
        issuer: leaf.tbs_certificate().issuer().clone(),
        serial_number: leaf.tbs_certificate().serial_number().clone(),
    });
    let mut certificates = SetOfVec::new();
    for cert in chain {
        certificates
            .insert(CertificateChoices::Certificate(cert.clone()))
            .map_err(encode_err)?;
    }
    build(
        content,
        signer,
        sid,
        CmsVersion::V1,
        Some(CertificateSet(certificates)),
        Some(leaf),
        options,
    )
}

pub(crate) fn sign_proof_of_possession(
    challenge: &[u8],
    signer: &dyn RawSigner,
) -> Result<Vec<u8>, PkiError> {
    let key_id = alg::key_identifier(signer.public_key_der())?;
    let sid = SignerIdentifier::SubjectKeyIdentifier(SubjectKeyIdentifier(
        OctetString::new(key_id).map_err(encode_err)?,
    ));
    let options = SignOptions {
        detached: true,
        signing_time: OffsetDateTime::now_utc(),
    };
    // Version 3 for both: RFC 5652 §5.3/§5.1 when the signer is identified by key id.
    build(challenge, signer, sid, CmsVersion::V3, None, None, &options)
}

fn build(
    content: &[u8],
    signer: &dyn RawSigner,
    sid: SignerIdentifier,
    version: CmsVersion,
    certificates: Option<CertificateSet>,
    signer_certificate: Option<&Certificate>,
    options: &SignOptions,
) -> Result<Vec<u8>, PkiError> {
    let digest = signer.algorithm().digest(content);
    let signed_attrs = attributes::build(&digest, options.signing_time, signer_certificate)?;
    // The signature covers the attributes as a SET (tag 0x31), which is how SetOfVec encodes.
    let to_be_signed = signed_attrs.to_der().map_err(encode_err)?;
    let signature = signer.sign(&to_be_signed)?;
    let signer_info = SignerInfo {
        version,
        sid,
        digest_alg: algorithm(signer.algorithm().digest_oid()),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: signature_algorithm(signer),
        signature: OctetString::new(signature).map_err(encode_err)?,
        unsigned_attrs: None,
    };
    let econtent = if options.detached {
        None
    } else {
        Some(
            Any::encode_from(&OctetString::new(content).map_err(encode_err)?)
                .map_err(encode_err)?,
        )
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms
        .insert(algorithm(signer.algorithm().digest_oid()))
        .map_err(encode_err)?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer_info).map_err(encode_err)?;
    let signed_data = SignedData {
        version,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_DATA,
            econtent,
        },
        certificates,
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    let content_info = ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(encode_err)?,
    };
    content_info.to_der().map_err(encode_err)
}
