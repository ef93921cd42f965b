//! What the pkcs7 calls need beyond `imzo_pki::cms`: adding a co-signer to an existing
//! SignedData, and reading the certificates and raw signature values out of one.

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{CertificateSet, SignedData};
use der::{Any, Decode, Encode};
use imzo_pki::Certificate;

fn decode(input: &[u8]) -> Result<(ContentInfo, SignedData), String> {
    let der = imzo_pki::cms::ber::to_der(input).map_err(|e| e.to_string())?;
    let ci = ContentInfo::from_der(&der).map_err(|e| format!("not a CMS ContentInfo: {e}"))?;
    if ci.content_type != const_oid_signed_data() {
        return Err("the CMS content is not SignedData".into());
    }
    let sd: SignedData = ci
        .content
        .decode_as()
        .map_err(|e| format!("malformed SignedData: {e}"))?;
    Ok((ci, sd))
}

fn const_oid_signed_data() -> der::asn1::ObjectIdentifier {
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2")
}

/// The signature value of the last SignerInfo of a SignedData we just made (it has one).
pub(crate) fn last_signature(cms_der: &[u8]) -> Result<Vec<u8>, String> {
    let (_, sd) = decode(cms_der)?;
    sd.signer_infos
        .0
        .iter()
        .last()
        .map(|si| si.signature.as_bytes().to_vec())
        .ok_or_else(|| "the SignedData has no signer".to_string())
}

/// The certificates embedded in a SignedData.
pub(crate) fn certificates(cms: &[u8]) -> Result<Vec<Certificate>, String> {
    let (_, sd) = decode(cms)?;
    Ok(sd
        .certificates
        .iter()
        .flat_map(|set| set.0.iter())
        .filter_map(|c| match c {
            CertificateChoices::Certificate(cert) => Some(cert.clone()),
            _ => None,
        })
        .collect())
}

/// Adds the signer (with its digest algorithm and certificates) of `addition` to
/// `existing`; both must be SignedData over the same content. Returns DER.
pub(crate) fn merge(existing: &[u8], addition: &[u8]) -> Result<Vec<u8>, String> {
    let (ci, mut sd) = decode(existing)?;
    let (_, new) = decode(addition)?;
    let enc = |e: der::Error| e.to_string();
    for alg in new.digest_algorithms.iter() {
        if !sd.digest_algorithms.iter().any(|a| a == alg) {
            sd.digest_algorithms.insert(alg.clone()).map_err(enc)?;
        }
    }
    if let Some(new_certs) = &new.certificates {
        let mut certs = sd
            .certificates
            .take()
            .unwrap_or_else(|| CertificateSet(Default::default()));
        for c in new_certs.0.iter() {
            if !certs.0.iter().any(|have| have == c) {
                certs.0.insert(c.clone()).map_err(enc)?;
            }
        }
        sd.certificates = Some(certs);
    }
    for si in new.signer_infos.0.iter() {
        sd.signer_infos.0.insert(si.clone()).map_err(enc)?;
    }
    let content = Any::encode_from(&sd).map_err(enc)?;
    ContentInfo {
        content_type: ci.content_type,
        content,
    }
    .to_der()
    .map_err(enc)
}

/// Whether the SignedData carries its content (attached) rather than being detached.
pub(crate) fn is_attached(cms: &[u8]) -> Result<bool, String> {
    let (_, sd) = decode(cms)?;
    Ok(sd.encap_content_info.econtent.is_some())
}

/// id-aa-timeStampToken (RFC 3161 appendix A).
const TIME_STAMP_TOKEN: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.2.14");
/// id-ct-TSTInfo.
const TST_INFO: der::asn1::ObjectIdentifier =
    der::asn1::ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.16.1.4");

#[derive(der::Sequence)]
struct MessageImprint {
    hash_algorithm: x509_cert::spki::AlgorithmIdentifierOwned,
    hashed_message: der::asn1::OctetString,
}

/// The message imprint (hash OID, hash) of a time-stamp token, after checking the
/// token's own signature.
fn token_imprint(token: &[u8]) -> Result<(String, Vec<u8>), String> {
    let (_, sd) = decode(token).map_err(|e| format!("the time-stamp token: {e}"))?;
    if sd.encap_content_info.econtent_type != TST_INFO {
        return Err("the time-stamp token does not hold a TSTInfo".into());
    }
    let report = imzo_pki::cms::verify(
        token,
        None,
        &imzo_pki::cms::VerifyOptions {
            anchors: Vec::new(),
            at: None,
        },
    )
    .map_err(|e| format!("the time-stamp token: {e}"))?;
    if report.signers.is_empty() || !report.signers.iter().all(|s| s.signature_valid) {
        return Err("the time-stamp token's signature is not valid".into());
    }
    let fields =
        Vec::<Any>::from_der(&report.content).map_err(|e| format!("malformed TSTInfo: {e}"))?;
    let imprint: MessageImprint = fields
        .get(2)
        .ok_or("malformed TSTInfo: no messageImprint")?
        .decode_as()
        .map_err(|e| format!("malformed TSTInfo messageImprint: {e}"))?;
    Ok((
        imprint.hash_algorithm.oid.to_string(),
        imprint.hashed_message.as_bytes().to_vec(),
    ))
}

fn hash(oid: &str, data: &[u8]) -> Result<Vec<u8>, String> {
    use sha2::Digest;
    match oid {
        "2.16.840.1.101.3.4.2.1" => Ok(sha2::Sha256::digest(data).to_vec()),
        "2.16.840.1.101.3.4.2.2" => Ok(sha2::Sha384::digest(data).to_vec()),
        "2.16.840.1.101.3.4.2.3" => Ok(sha2::Sha512::digest(data).to_vec()),
        other => Err(format!(
            "time-stamp hash algorithm {other} is not supported"
        )),
    }
}

/// Attaches `token` (an RFC 3161 TimeStampToken over the signature value) as an unsigned
/// attribute of the signer whose certificate serial is `serial_hex`. Returns DER.
pub(crate) fn attach_timestamp(
    cms: &[u8],
    serial_hex: &str,
    token: &[u8],
) -> Result<Vec<u8>, String> {
    let (ci, mut sd) = decode(cms)?;
    let (oid, imprint) = token_imprint(token)?;
    let token_der = imzo_pki::cms::ber::to_der(token).map_err(|e| e.to_string())?;
    let wanted = serial_hex.trim().trim_start_matches("0x").to_lowercase();
    let mut infos: Vec<cms::signed_data::SignerInfo> = sd.signer_infos.0.iter().cloned().collect();
    let mut found = false;
    for si in infos.iter_mut() {
        let cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(ias) = &si.sid else {
            continue;
        };
        let serial = hex::encode(ias.serial_number.as_bytes());
        if serial.trim_start_matches('0') != wanted.trim_start_matches('0') {
            continue;
        }
        if hash(&oid, si.signature.as_bytes())? != imprint {
            return Err("the time-stamp token is not over this signer's signature".into());
        }
        let value = Any::from_der(&token_der).map_err(|e| e.to_string())?;
        let mut values = der::asn1::SetOfVec::new();
        values.insert(value).map_err(|e| e.to_string())?;
        let attr = x509_cert::attr::Attribute {
            oid: TIME_STAMP_TOKEN,
            values,
        };
        // A token attached before is replaced, other unsigned attributes kept.
        let mut attrs = der::asn1::SetOfVec::new();
        for a in si.unsigned_attrs.take().iter().flat_map(|s| s.iter()) {
            if a.oid != TIME_STAMP_TOKEN {
                attrs.insert(a.clone()).map_err(|e| e.to_string())?;
            }
        }
        attrs.insert(attr).map_err(|e| e.to_string())?;
        si.unsigned_attrs = Some(attrs);
        found = true;
    }
    if !found {
        return Err(format!(
            "no signer with certificate serial {serial_hex} in the signature"
        ));
    }
    sd.signer_infos = cms::signed_data::SignerInfos::try_from(infos).map_err(|e| e.to_string())?;
    let content = Any::encode_from(&sd).map_err(|e| e.to_string())?;
    ContentInfo {
        content_type: ci.content_type,
        content,
    }
    .to_der()
    .map_err(|e| e.to_string())
}
