//! Signed attributes: content-type, message-digest, signing-time and ESS
//! signing-certificate-v2 (RFC 5035), built and read back.

use crate::PkiError;
use der::asn1::{ObjectIdentifier, OctetString, SetOfVec};
use der::{Any, Decode, Encode, Sequence};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use x509_cert::attr::Attribute;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::serial_number::SerialNumber;
use x509_cert::time::Time;
use x509_cert::{Certificate, name::Name};

/// id-data (RFC 5652 §4).
pub(crate) const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
/// id-signedData (RFC 5652 §5).
pub(crate) const ID_SIGNED_DATA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// id-contentType attribute.
pub(crate) const ID_CONTENT_TYPE: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.3");
/// id-messageDigest attribute.
pub(crate) const ID_MESSAGE_DIGEST: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.4");
/// id-signingTime attribute.
pub(crate) const ID_SIGNING_TIME: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.5");
/// id-aa-signingCertificateV2 (RFC 5035).
pub(crate) const ID_SIGNING_CERTIFICATE_V2: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.47");
/// id-sha1.
pub(crate) const ID_SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");
/// id-sha256.
pub(crate) const ID_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");
/// id-sha384.
pub(crate) const ID_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.2");
/// id-sha512.
pub(crate) const ID_SHA512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.3");
/// ecdsa-with-SHA1.
pub(crate) const ECDSA_WITH_SHA1: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.1");
/// rsaEncryption.
pub(crate) const RSA_ENCRYPTION: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
/// sha1WithRSAEncryption.
pub(crate) const SHA1_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.5");
/// sha256WithRSAEncryption.
pub(crate) const SHA256_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
/// sha384WithRSAEncryption.
pub(crate) const SHA384_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
/// sha512WithRSAEncryption.
pub(crate) const SHA512_WITH_RSA: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
/// ecdsa-with-SHA256.
pub(crate) const ECDSA_WITH_SHA256: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
/// ecdsa-with-SHA384.
pub(crate) const ECDSA_WITH_SHA384: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// ecdsa-with-SHA512.
pub(crate) const ECDSA_WITH_SHA512: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.4");
/// id-ecPublicKey, which some signers put where the signature algorithm belongs.
pub(crate) const ID_EC_PUBLIC_KEY: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");

/// ESSCertIDv2 (RFC 5035 §3). hashAlgorithm is left out: its DEFAULT is SHA-256.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct EssCertIdV2 {
    pub(crate) cert_hash: OctetString,
    pub(crate) issuer_serial: Option<IssuerSerial>,
}

/// IssuerSerial (RFC 5035 §4).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct IssuerSerial {
    pub(crate) issuer: Vec<GeneralName>,
    pub(crate) serial_number: SerialNumber,
}

/// SigningCertificateV2 without policies.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub(crate) struct SigningCertificateV2 {
    pub(crate) certs: Vec<EssCertIdV2>,
}

fn encode_err(e: der::Error) -> PkiError {
    PkiError::Encode(e.to_string())
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Result<Attribute, PkiError> {
    let mut values = SetOfVec::new();
    values.insert(value).map_err(encode_err)?;
    Ok(Attribute { oid, values })
}

/// RFC 5652 §11.3: UTCTime for dates before 2050, GeneralizedTime from then on.
pub(crate) fn signing_time_value(at: OffsetDateTime) -> Result<Time, PkiError> {
    let secs = u64::try_from(at.unix_timestamp())
        .map_err(|_| PkiError::Encode(format!("signing time {at} is before 1970")))?;
    let duration = std::time::Duration::from_secs(secs);
    if at.year() < 2050 {
        Ok(Time::UtcTime(
            der::asn1::UtcTime::from_unix_duration(duration).map_err(encode_err)?,
        ))
    } else {
        Ok(Time::GeneralTime(
            der::asn1::GeneralizedTime::from_unix_duration(duration).map_err(encode_err)?,
        ))
    }
}

/// The signed attributes Imzo writes. The returned set encodes (DER, tag 0x31) to the
/// bytes the signature covers.
pub(crate) fn build(
    content_digest: &[u8],
    signing_time: OffsetDateTime,
    signer_certificate: Option<&Certificate>,
) -> Result<SetOfVec<Attribute>, PkiError> {
    let mut attrs = SetOfVec::new();
    attrs
        .insert(attribute(
            ID_CONTENT_TYPE,
            Any::encode_from(&ID_DATA).map_err(encode_err)?,
        )?)
        .map_err(encode_err)?;
    let digest = OctetString::new(content_digest).map_err(encode_err)?;
    attrs
        .insert(attribute(
            ID_MESSAGE_DIGEST,
            Any::encode_from(&digest).map_err(encode_err)?,
        )?)
        .map_err(encode_err)?;
    let time = signing_time_value(signing_time)?;
    attrs
        .insert(attribute(
            ID_SIGNING_TIME,
            Any::encode_from(&time).map_err(encode_err)?,
        )?)
        .map_err(encode_err)?;
    if let Some(cert) = signer_certificate {
        let value = signing_certificate_v2(cert)?;
        attrs
            .insert(attribute(
                ID_SIGNING_CERTIFICATE_V2,
                Any::encode_from(&value).map_err(encode_err)?,
            )?)
            .map_err(encode_err)?;
    }
    Ok(attrs)
}

fn signing_certificate_v2(cert: &Certificate) -> Result<SigningCertificateV2, PkiError> {
    let der = cert.to_der().map_err(encode_err)?;
    let tbs = cert.tbs_certificate();
    let issuer: Name = tbs.issuer().clone();
    Ok(SigningCertificateV2 {
        certs: vec![EssCertIdV2 {
            cert_hash: OctetString::new(Sha256::digest(&der).to_vec()).map_err(encode_err)?,
            issuer_serial: Some(IssuerSerial {
                issuer: vec![GeneralName::DirectoryName(issuer)],
                serial_number: tbs.serial_number().clone(),
            }),
        }],
    })
}

/// The single value of attribute `oid`, if present. Several values or several copies of
/// the attribute are malformed (RFC 5652 §11).
pub(crate) fn single_value(
    attrs: &SetOfVec<Attribute>,
    oid: ObjectIdentifier,
) -> Result<Option<&Any>, PkiError> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.oid == oid) {
        if found.is_some() || attr.values.len() != 1 {
            return Err(PkiError::malformed(
                "signed attributes",
                format!("attribute {oid} must have exactly one value"),
            ));
        }
        found = attr.values.iter().next();
    }
    Ok(found)
}

/// Reads the signing-time attribute.
pub(crate) fn signing_time(
    attrs: &SetOfVec<Attribute>,
) -> Result<Option<OffsetDateTime>, PkiError> {
    let Some(value) = single_value(attrs, ID_SIGNING_TIME)? else {
        return Ok(None);
    };
    let time = Time::from_der(&value.to_der().map_err(encode_err)?)
        .map_err(|e| PkiError::malformed("signing-time attribute", e))?;
    let secs = i64::try_from(time.to_unix_duration().as_secs())
        .map_err(|_| PkiError::malformed("signing-time attribute", "out of range"))?;
    OffsetDateTime::from_unix_timestamp(secs)
        .map(Some)
        .map_err(|e| PkiError::malformed("signing-time attribute", e))
}
