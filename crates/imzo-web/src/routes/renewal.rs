//! Renewal by a holder (signed with the current key) and the listed rejection reasons.

use crate::error::ApiError;
use crate::router::Shared;
use crate::routes::lookup::decode_base64;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use imzo_ra::{Challenge, Localized, Submitted, reasons::RejectionReason};
use serde::Deserialize;

/// `POST /api/v1/renewals/challenge`.
pub(crate) async fn challenge(State(ctx): State<Shared>) -> Result<Json<Challenge>, ApiError> {
    Ok(Json(ctx.registration.renewal_challenge().await?))
}

/// The JSON form of a signed renewal application.
#[derive(Debug, Deserialize)]
struct Signed {
    cms_base64: String,
}

/// `POST /api/v1/renewals`: the renewal application signed by the current key, as raw
/// DER CMS (`application/pkcs7-mime`) or JSON `{cms_base64}` → number and fee.
pub(crate) async fn renew(
    State(ctx): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<(StatusCode, Json<Submitted>), ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            v.split(';')
                .next()
                .unwrap_or_default()
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let cms = match content_type.as_str() {
        "application/json" => {
            let signed: Signed = serde_json::from_slice(&body).map_err(|e| {
                ApiError::malformed_json(
                    crate::extract::field_of(&format!("target type: {e}")).as_deref(),
                )
            })?;
            decode_base64(&signed.cms_base64, "cms_base64")?
        }
        "application/pkcs7-mime" | "application/octet-stream" => body.to_vec(),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Some("content-type"),
                Localized::new(
                    "application/pkcs7-mime (DER CMS) yoki application/json {cms_base64} yuboring",
                    "Отправьте application/pkcs7-mime (DER CMS) или application/json {cms_base64}",
                    "Send application/pkcs7-mime (DER CMS) or application/json {cms_base64}",
                ),
            ));
        }
    };
    if cms.is_empty() {
        return Err(ApiError::missing("cms"));
    }
    Ok((
        StatusCode::CREATED,
        Json(ctx.registration.renew(&cms).await?),
    ))
}

/// `GET /api/v1/operator/rejection-reasons`: the listed reasons, with their texts.
pub(crate) async fn rejection_reasons() -> Json<Vec<RejectionReason>> {
    Json(imzo_ra::reasons::rejection_reasons())
}
