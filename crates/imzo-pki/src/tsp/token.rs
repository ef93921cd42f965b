//! The TSA side: a granted TimeStampResp with a signed token.

use super::{
    Accuracy, ID_CT_TST_INFO, MessageImprint, RawStatusInfo, RawTimeStampResp, TimeStampRequest,
    TstInfo, algorithm, encode_err, generalized_time,
};
use crate::cms::attributes::{
    EssCertIdV2, ID_CONTENT_TYPE, ID_MESSAGE_DIGEST, ID_SIGNED_DATA, ID_SIGNING_CERTIFICATE_V2,
    ID_SIGNING_TIME, IssuerSerial, SigningCertificateV2, signing_time_value,
};
use crate::{Certificate, PkiError, RawSigner};
use cms::cert::{CertificateChoices, IssuerAndSerialNumber};
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{Int, ObjectIdentifier, OctetString, SetOfVec, Uint};
use der::{Any, Encode};
use sha2::Digest;
use time::OffsetDateTime;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;

/// What the TSA decided about one token.
pub struct TokenParams<'a> {
    /// TSA policy (dotted OID).
    pub policy: &'a str,
    /// Serial number, unique per TSA: positive, big-endian, at most 20 bytes.
    pub serial: &'a [u8],
    /// genTime.
    pub gen_time: OffsetDateTime,
    /// Accuracy stated in the token, in milliseconds (1..=999, or whole seconds above).
    pub accuracy_millis: u32,
    /// The TSA certificate (critical EKU id-kp-timeStamping).
    pub certificate: &'a Certificate,
    /// The key of that certificate.
    pub signer: &'a dyn RawSigner,
    /// Certificates the token carries when the request asks for them: the TSA's first,
    /// then its issuers.
    pub chain: &'a [Certificate],
}

fn attribute(oid: ObjectIdentifier, value: &(impl der::EncodeValue + der::Tagged)) -> Result<Attribute, PkiError> {
    let mut values = SetOfVec::new();
    values
        .insert(Any::encode_from(value).map_err(encode_err)?)
        .map_err(encode_err)?;
    Ok(Attribute { oid, values })
}

fn accuracy(millis: u32) -> Option<Accuracy> {
    match (millis / 1000, millis % 1000) {
        (0, 0) => None,
        (seconds, ms) => Some(Accuracy {
            seconds: (seconds > 0).then_some(seconds),
            millis: u16::try_from(ms).ok().filter(|m| *m > 0),
            micros: None,
        }),
    }
}

/// Grants `request`: a DER TimeStampResp with status granted and a token signed by
/// `params.signer`, echoing the request's nonce and carrying the ESS
/// signing-certificate-v2 attribute of `params.certificate`.
pub fn grant(request: &TimeStampRequest, params: &TokenParams<'_>) -> Result<Vec<u8>, PkiError> {
    let cert_spki = params
        .certificate
        .tbs_certificate()
        .subject_public_key_info()
        .to_der()
        .map_err(encode_err)?;
    if cert_spki != params.signer.public_key_der() {
        return Err(PkiError::Signer(
            "the TSA key is not the TSA certificate's key".into(),
        ));
    }
    let policy = ObjectIdentifier::new(params.policy)
        .map_err(|e| PkiError::malformed("TSA policy OID", format!("{:?}: {e}", params.policy)))?;
    let tst = TstInfo {
        version: 1,
        policy,
        message_imprint: MessageImprint {
            hash_algorithm: algorithm(request.hash.oid()),
            hashed_message: OctetString::new(request.hashed_message.clone())
                .map_err(encode_err)?,
        },
        serial_number: Uint::new(params.serial).map_err(encode_err)?,
        gen_time: generalized_time(params.gen_time)?,
        accuracy: accuracy(params.accuracy_millis),
        ordering: false,
        nonce: request
            .nonce
            .as_deref()
            .map(Int::new)
            .transpose()
            .map_err(encode_err)?,
        tsa: Some(GeneralName::DirectoryName(
            params.certificate.tbs_certificate().subject().clone(),
        )),
        extensions: None,
    };
    let tst_der = tst.to_der().map_err(encode_err)?;
    let token = sign_token(&tst_der, request.cert_req, params)?;
    let response = RawTimeStampResp {
        status: RawStatusInfo {
            status: 0,
            status_string: None,
            fail_info: None,
        },
        time_stamp_token: Some(<Any as der::Decode>::from_der(&token).map_err(encode_err)?),
    };
    response.to_der().map_err(encode_err)
}

fn sign_token(
    tst_der: &[u8],
    include_certificates: bool,
    params: &TokenParams<'_>,
) -> Result<Vec<u8>, PkiError> {
    let algorithm_ = params.signer.algorithm();
    let digest = algorithm_.digest(tst_der);
    let cert = params.certificate;
    let tbs = cert.tbs_certificate();
    let cert_der = cert.to_der().map_err(encode_err)?;
    let ess = SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(sha2::Sha256::digest(&cert_der).to_vec())
                .map_err(encode_err)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(tbs.issuer().clone())],
                serial_number: tbs.serial_number().clone(),
            }),
        }],
    };
    let mut signed_attrs = SetOfVec::new();
    for attr in [
        attribute(ID_CONTENT_TYPE, &ID_CT_TST_INFO)?,
        attribute(ID_MESSAGE_DIGEST, &OctetString::new(digest).map_err(encode_err)?)?,
        attribute(ID_SIGNING_TIME, &signing_time_value(params.gen_time)?)?,
        attribute(ID_SIGNING_CERTIFICATE_V2, &ess)?,
    ] {
        signed_attrs.insert(attr).map_err(encode_err)?;
    }
    let to_be_signed = signed_attrs.to_der().map_err(encode_err)?;
    let signature = params.signer.sign(&to_be_signed)?;
    let digest_alg = algorithm(algorithm_.digest_oid());
    let signer_info = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer().clone(),
            serial_number: tbs.serial_number().clone(),
        }),
        digest_alg: digest_alg.clone(),
        signed_attrs: Some(signed_attrs),
        signature_algorithm: algorithm_.algorithm_identifier(),
        signature: OctetString::new(signature).map_err(encode_err)?,
        unsigned_attrs: None,
    };
    let certificates = if include_certificates {
        let mut set = SetOfVec::new();
        for c in params.chain {
            set.insert(CertificateChoices::Certificate(c.clone()))
                .map_err(encode_err)?;
        }
        Some(CertificateSet(set))
    } else {
        None
    };
    let mut digest_algorithms = SetOfVec::new();
    digest_algorithms.insert(digest_alg).map_err(encode_err)?;
    let mut signer_infos = SetOfVec::new();
    signer_infos.insert(signer_info).map_err(encode_err)?;
    let signed_data = SignedData {
        // RFC 5652 §5.1: version 3 when the content type is not id-data.
        version: CmsVersion::V3,
        digest_algorithms,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: ID_CT_TST_INFO,
            econtent: Some(
                Any::encode_from(&OctetString::new(tst_der).map_err(encode_err)?)
                    .map_err(encode_err)?,
            ),
        },
        certificates,
        crls: None,
        signer_infos: SignerInfos(signer_infos),
    };
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(encode_err)?,
    }
    .to_der()
    .map_err(encode_err)
}
