//! CAdES-T: a time-stamp token over a signer's signature value, kept as the unsigned
//! attribute id-aa-signatureTimeStampToken of that SignerInfo.

use super::ID_AA_SIGNATURE_TIME_STAMP_TOKEN;
use crate::PkiError;
use crate::cms::attributes::ID_SIGNED_DATA;
use crate::cms::input;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignerInfo, SignerInfos};
use der::asn1::SetOfVec;
use der::{Any, Decode, Encode};
use x509_cert::attr::Attribute;

fn encode_err(e: der::Error) -> PkiError {
    PkiError::Encode(e.to_string())
}

/// The signature value of every signer, in the order the SignerInfos are encoded: what a
/// signature time-stamp is requested over.
pub fn signature_values(cms: &[u8]) -> Result<Vec<Vec<u8>>, PkiError> {
    Ok(input::parse(cms)?
        .signers
        .iter()
        .map(|s| s.info.signature.as_bytes().to_vec())
        .collect())
}

/// The signature time-stamp tokens (DER) of every signer, in the order of
/// [`signature_values`].
pub fn signature_timestamps(cms: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, PkiError> {
    let parsed = input::parse(cms)?;
    let mut out = Vec::with_capacity(parsed.signers.len());
    for signer in &parsed.signers {
        let mut tokens = Vec::new();
        for attr in signer
            .info
            .unsigned_attrs
            .iter()
            .flat_map(|a| a.iter())
            .filter(|a| a.oid == ID_AA_SIGNATURE_TIME_STAMP_TOKEN)
        {
            for value in attr.values.iter() {
                tokens.push(value.to_der().map_err(encode_err)?);
            }
        }
        out.push(tokens);
    }
    Ok(out)
}

/// Adds `token` as a signature time-stamp to the signer whose signature value is
/// `signature_value`. Returns the SignedData as DER. The signed parts (content, signed
/// attributes, signature) are carried over unchanged.
pub fn add_signature_timestamp(
    cms: &[u8],
    signature_value: &[u8],
    token: &[u8],
) -> Result<Vec<u8>, PkiError> {
    let parsed = input::parse(cms)?;
    let mut signed_data = parsed.signed_data;
    let token_any = Any::from_der(token).map_err(|e| PkiError::malformed("time-stamp token", e))?;
    let mut found = false;
    let mut infos: Vec<SignerInfo> = signed_data.signer_infos.0.into_vec();
    for info in &mut infos {
        if found || info.signature.as_bytes() != signature_value {
            continue;
        }
        found = true;
        let mut values = SetOfVec::new();
        values.insert(token_any.clone()).map_err(encode_err)?;
        let attr = Attribute {
            oid: ID_AA_SIGNATURE_TIME_STAMP_TOKEN,
            values,
        };
        let mut unsigned = info.unsigned_attrs.take().unwrap_or_default();
        unsigned.insert(attr).map_err(encode_err)?;
        info.unsigned_attrs = Some(unsigned);
    }
    if !found {
        return Err(PkiError::malformed(
            "CMS SignedData",
            "no signer has the given signature value",
        ));
    }
    signed_data.signer_infos = SignerInfos(SetOfVec::from_iter(infos).map_err(encode_err)?);
    ContentInfo {
        content_type: ID_SIGNED_DATA,
        content: Any::encode_from(&signed_data).map_err(encode_err)?,
    }
    .to_der()
    .map_err(encode_err)
}
