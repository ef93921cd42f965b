//! Reading a SignedData as users hand it over: PEM, DER or BER, and finding the raw
//! bytes the signatures cover.

use super::attributes::ID_SIGNED_DATA;
use super::ber;
use crate::PkiError;
use base64::Engine;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerInfo};
use der::Decode;

const WHAT: &str = "CMS SignedData";

/// PEM labels other tools put around a SignedData.
const PEM_LABELS: [&str; 3] = ["CMS", "PKCS7", "PKCS #7 SIGNED DATA"];

/// A decoded SignedData with each SignerInfo and its signed attributes as raw DER.
pub(crate) struct Parsed {
    pub(crate) signed_data: SignedData,
    pub(crate) signers: Vec<RawSigner>,
}

/// One SignerInfo, decoded, plus the exact DER the signature covers when it has signed
/// attributes (the `[0]` field re-tagged as a SET, 0x31).
pub(crate) struct RawSigner {
    pub(crate) info: SignerInfo,
    pub(crate) signed_attrs_der: Option<Vec<u8>>,
}

/// Accepts PEM (labels CMS, PKCS7), DER or BER.
pub(crate) fn parse(input: &[u8]) -> Result<Parsed, PkiError> {
    let binary = match pem_body(input)? {
        Some(bytes) => bytes,
        None => input.to_vec(),
    };
    let der = ber::to_der(&binary)?;
    let content_info = ContentInfo::from_der(&der).map_err(|e| PkiError::malformed(WHAT, e))?;
    if content_info.content_type != ID_SIGNED_DATA {
        return Err(PkiError::malformed(
            WHAT,
            format!(
                "content type is {}, not signedData",
                content_info.content_type
            ),
        ));
    }
    let signed_data: SignedData = content_info
        .content
        .decode_as()
        .map_err(|e| PkiError::malformed(WHAT, e))?;
    let raw_infos = raw_signer_infos(&der)?;
    let mut signers = Vec::with_capacity(raw_infos.len());
    for raw in raw_infos {
        let info = SignerInfo::from_der(raw).map_err(|e| PkiError::malformed("SignerInfo", e))?;
        let signed_attrs_der = children(contents(raw)?)?
            .into_iter()
            .find(|child| child.first() == Some(&0xa0))
            .map(|child| {
                let mut set = child.to_vec();
                set[0] = 0x31;
                set
            });
        signers.push(RawSigner {
            info,
            signed_attrs_der,
        });
    }
    Ok(Parsed {
        signed_data,
        signers,
    })
}

/// The base64 body of a PEM block, or `None` when the input is not PEM.
fn pem_body(input: &[u8]) -> Result<Option<Vec<u8>>, PkiError> {
    let Ok(text) = std::str::from_utf8(input) else {
        return Ok(None);
    };
    let Some(begin) = text.find("-----BEGIN ") else {
        return Ok(None);
    };
    let rest = &text[begin + "-----BEGIN ".len()..];
    let label_end = rest
        .find("-----")
        .ok_or_else(|| PkiError::malformed("PEM", "unterminated BEGIN line"))?;
    let label = &rest[..label_end];
    if !PEM_LABELS.contains(&label) {
        return Err(PkiError::malformed(
            "PEM",
            format!("label {label:?} is not CMS or PKCS7"),
        ));
    }
    let body_and_end = &rest[label_end + 5..];
    let end_marker = format!("-----END {label}-----");
    let end = body_and_end
        .find(&end_marker)
        .ok_or_else(|| PkiError::malformed("PEM", format!("no {end_marker} line")))?;
    let body: String = body_and_end[..end]
        .chars()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .map(Some)
        .map_err(|e| PkiError::malformed("PEM", format!("bad base64: {e}")))
}

/// Splits a DER TLV at the start of `bytes`: (whole element, contents).
fn split_tlv(bytes: &[u8]) -> Result<(&[u8], &[u8]), PkiError> {
    let short = || PkiError::malformed(WHAT, "element runs past the end");
    if bytes.first().is_some_and(|b| b & 0x1f == 0x1f) {
        return Err(PkiError::malformed(WHAT, "unexpected high tag number"));
    }
    let first_len = *bytes.get(1).ok_or_else(short)?;
    let (header, len) = if first_len < 0x80 {
        (2, usize::from(first_len))
    } else {
        let count = usize::from(first_len & 0x7f);
        if count == 0 || count > 4 {
            return Err(PkiError::malformed(WHAT, "bad length"));
        }
        let mut len = 0usize;
        for i in 0..count {
            len = (len << 8) | usize::from(*bytes.get(2 + i).ok_or_else(short)?);
        }
        (2 + count, len)
    };
    let end = header
        .checked_add(len)
        .filter(|e| *e <= bytes.len())
        .ok_or_else(short)?;
    Ok((&bytes[..end], &bytes[header..end]))
}

fn contents(element: &[u8]) -> Result<&[u8], PkiError> {
    Ok(split_tlv(element)?.1)
}

fn children(mut bytes: &[u8]) -> Result<Vec<&[u8]>, PkiError> {
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (whole, _) = split_tlv(bytes)?;
        out.push(whole);
        bytes = &bytes[whole.len()..];
    }
    Ok(out)
}

/// The SignerInfo elements in the order they are encoded, without re-encoding them.
fn raw_signer_infos(der: &[u8]) -> Result<Vec<&[u8]>, PkiError> {
    let missing = || PkiError::malformed(WHAT, "missing signerInfos");
    let content_info = children(contents(der)?)?;
    let explicit = content_info.get(1).ok_or_else(missing)?;
    let signed_data = contents(explicit)?;
    let fields = children(contents(signed_data)?)?;
    let signer_infos = fields.last().ok_or_else(missing)?;
    if signer_infos.first() != Some(&0x31) {
        return Err(missing());
    }
    children(contents(signer_infos)?)
}
