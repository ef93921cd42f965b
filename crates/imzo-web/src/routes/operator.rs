//! Step 6: operators decide with a signed document, never with a password.

use crate::error::ApiError;
use crate::routes::lookup::decode_base64;
use crate::router::Shared;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use imzo_ra::{ApplicationView, Challenge, Localized};
use serde::Deserialize;

/// `POST /api/v1/operator/challenge`.
pub(crate) async fn challenge(State(ctx): State<Shared>) -> Result<Json<Challenge>, ApiError> {
    Ok(Json(ctx.registration.operator_challenge().await?))
}

/// The JSON form of a signed decision.
#[derive(Debug, Deserialize)]
struct SignedDecision {
    cms_base64: String,
}

/// `POST /api/v1/operator/decisions`: raw DER CMS (`application/pkcs7-mime`) or JSON
/// `{cms_base64}`.
pub(crate) async fn decide(
    State(ctx): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ApplicationView>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    let cms = match content_type.as_str() {
        "application/json" => {
            let decision: SignedDecision = serde_json::from_slice(&body)
                .map_err(|e| ApiError::malformed_json(crate::extract::field_of(&format!("target type: {e}")).as_deref()))?;
            decode_base64(&decision.cms_base64, "cms_base64")?
        }
        "application/pkcs7-mime" | "application/pkcs7-signature" | "application/octet-stream" => body.to_vec(),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Some("content-type"),
                Localized {
                    uz: "application/pkcs7-mime (DER CMS) yoki application/json {cms_base64} yuboring".to_owned(),
                    ru: "Отправьте application/pkcs7-mime (DER CMS) или application/json {cms_base64}".to_owned(),
                    en: "Send application/pkcs7-mime (DER CMS) or application/json {cms_base64}".to_owned(),
                },
            ));
        }
    };
    if cms.is_empty() {
        return Err(ApiError::missing("cms"));
    }
    Ok(Json(ctx.registration.operator_decide(&cms).await?))
}
