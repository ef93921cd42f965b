//! Step 6: operators review and decide with signed documents, never with a password.

use crate::error::ApiError;
use crate::routes::lookup::decode_base64;
use crate::router::Shared;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use imzo_ra::{ApplicationDetails, ApplicationView, Challenge, Localized};
use serde::{Deserialize, Serialize};

/// `POST /api/v1/operator/challenge`.
pub(crate) async fn challenge(State(ctx): State<Shared>) -> Result<Json<Challenge>, ApiError> {
    Ok(Json(ctx.registration.operator_challenge().await?))
}

/// The JSON form of a signed operator document.
#[derive(Debug, Deserialize)]
struct SignedDocument {
    cms_base64: String,
}

/// The CMS of an operator's request: raw DER (`application/pkcs7-mime`) or JSON
/// `{cms_base64}`.
fn signed_body(headers: &HeaderMap, body: &Bytes) -> Result<Vec<u8>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    let cms = match content_type.as_str() {
        "application/json" => {
            let signed: SignedDocument = serde_json::from_slice(body)
                .map_err(|e| ApiError::malformed_json(crate::extract::field_of(&format!("target type: {e}")).as_deref()))?;
            decode_base64(&signed.cms_base64, "cms_base64")?
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
    Ok(cms)
}

/// `POST /api/v1/operator/decisions`: a signed DecisionDocument.
pub(crate) async fn decide(
    State(ctx): State<Shared>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Json<ApplicationView>, ApiError> {
    let cms = signed_body(&headers, &body)?;
    Ok(Json(ctx.registration.operator_decide(&cms).await?))
}

/// The review queue as the API answers it.
#[derive(Debug, Serialize)]
pub(crate) struct Queue {
    applications: Vec<ApplicationDetails>,
}

/// `POST /api/v1/operator/queue`: a signed OperatorRequest with action `queue`.
pub(crate) async fn queue(State(ctx): State<Shared>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let cms = signed_body(&headers, &body)?;
    let applications = ctx.registration.operator_queue(&cms).await?;
    Ok(private(Json(Queue { applications }).into_response()))
}

/// `POST /api/v1/operator/applications/{number}`: a signed OperatorRequest with action
/// `show` naming the application.
pub(crate) async fn application(
    State(ctx): State<Shared>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let cms = signed_body(&headers, &body)?;
    let details = ctx.registration.operator_application(&number, &cms).await?;
    Ok(private(Json(details).into_response()))
}

/// `POST /api/v1/operator/applications/{number}/documents/{kind}`: the document's bytes
/// under its media type, for a signed OperatorRequest with action `document`.
pub(crate) async fn document(
    State(ctx): State<Shared>,
    Path((number, kind)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let cms = signed_body(&headers, &body)?;
    let (media_type, bytes) = ctx.registration.operator_document(&number, &kind, &cms).await?;
    let content_type = HeaderValue::from_str(&media_type).map_err(|_| ApiError::internal("stored media type is not a header value"))?;
    let mut response = bytes.into_response();
    response.headers_mut().insert(header::CONTENT_TYPE, content_type);
    // The bytes are the applicant's, not ours: never let a browser guess them into HTML.
    response.headers_mut().insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    Ok(private(response))
}

/// `POST /api/v1/operator/applications/{number}/audit`: the application's audit trail,
/// for a signed OperatorRequest with action `audit` naming it.
pub(crate) async fn audit_trail(
    State(ctx): State<Shared>,
    Path(number): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let cms = signed_body(&headers, &body)?;
    let entries = ctx.registration.operator_audit_trail(&number, &cms).await?;
    Ok(private(Json(serde_json::json!({ "number": number.trim(), "entries": entries })).into_response()))
}

/// `POST /api/v1/operator/search`: this centre's applications of the PINFL a signed
/// OperatorRequest with action `search` names.
pub(crate) async fn search(State(ctx): State<Shared>, headers: HeaderMap, body: Bytes) -> Result<Response, ApiError> {
    let cms = signed_body(&headers, &body)?;
    let applications = ctx.registration.operator_search(&cms).await?;
    Ok(private(Json(Queue { applications }).into_response()))
}

/// Personal data: no cache keeps it.
fn private(mut response: Response) -> Response {
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}
