//! Reading the submission's multipart body with per-part limits enforced as bytes arrive.

use crate::error::ApiError;
use crate::router::SUBMIT_BODY_LIMIT;
use axum::extract::Multipart;
use axum::extract::multipart::{Field, MultipartError};
use axum::http::StatusCode;
use imzo_ra::Upload;

/// Largest document (passport scan, selfie): 5 MB.
pub(crate) const DOCUMENT_LIMIT: usize = 5 * 1024 * 1024;

/// Largest key request; a PKCS#10 is a few hundred bytes, PEM or DER.
pub(crate) const CSR_LIMIT: usize = 64 * 1024;

/// The three parts of a submission.
#[derive(Debug)]
pub(crate) struct Submission {
    pub(crate) csr: Vec<u8>,
    pub(crate) passport: Upload,
    pub(crate) selfie: Upload,
}

fn multipart_error(e: &MultipartError) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::too_large(None, SUBMIT_BODY_LIMIT)
    } else {
        ApiError::bad_multipart(&e.body_text())
    }
}

/// Reads one part, refusing it as soon as it passes `limit` (the rest is never read).
async fn read_limited(field: &mut Field<'_>, name: &str, limit: usize) -> Result<Vec<u8>, ApiError> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(|e| multipart_error(&e))? {
        if bytes.len() + chunk.len() > limit {
            return Err(ApiError::too_large(Some(name), limit));
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// Reads `csr`, `passport` and `selfie`; a missing, repeated, empty or unknown part is a
/// 400 naming it, an oversized one a 413 naming it.
pub(crate) async fn read_submission(mut multipart: Multipart) -> Result<Submission, ApiError> {
    let mut csr = None;
    let mut passport = None;
    let mut selfie = None;
    while let Some(mut field) = multipart.next_field().await.map_err(|e| multipart_error(&e))? {
        let name = field.name().unwrap_or_default().to_owned();
        let file_name = field.file_name().map(str::to_owned);
        let (slot, limit) = match name.as_str() {
            "csr" => (&mut csr, CSR_LIMIT),
            "passport" => (&mut passport, DOCUMENT_LIMIT),
            "selfie" => (&mut selfie, DOCUMENT_LIMIT),
            "" => return Err(ApiError::bad_multipart("a part has no name")),
            _ => return Err(ApiError::invalid(
                    &name,
                    [
                        "kutilmagan qism (csr, passport, selfie kutiladi)",
                        "неожиданная часть (ожидаются csr, passport, selfie)",
                        "unexpected part (expected csr, passport, selfie)",
                    ],
                )),
        };
        if slot.is_some() {
            return Err(ApiError::invalid(&name, ["bir necha marta yuborilgan", "передано более одного раза", "sent more than once"]));
        }
        let bytes = read_limited(&mut field, &name, limit).await?;
        if bytes.is_empty() {
            return Err(ApiError::invalid(&name, ["bo'sh", "пусто", "empty"]));
        }
        *slot = Some(Upload { file_name, bytes });
    }
    let csr = csr.ok_or_else(|| ApiError::missing("csr"))?;
    let passport = passport.ok_or_else(|| ApiError::missing("passport"))?;
    let selfie = selfie.ok_or_else(|| ApiError::missing("selfie"))?;
    Ok(Submission { csr: csr.bytes, passport, selfie })
}
