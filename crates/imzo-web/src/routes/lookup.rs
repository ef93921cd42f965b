//! Step 7 and 8: find an application (captcha or proof of possession), confirm, download.

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::router::Shared;
use axum::Json;
use axum::extract::{Path, State};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use imzo_ra::{ApplicationView, Challenge, Issued};
use serde::{Deserialize, Serialize};

/// A fresh captcha, its image inline.
#[derive(Debug, Serialize)]
pub(crate) struct CaptchaReply {
    id: String,
    image_png_base64: String,
}

/// `POST /api/v1/captcha`.
pub(crate) async fn new_captcha(State(ctx): State<Shared>) -> Result<Json<CaptchaReply>, ApiError> {
    let captcha = ctx.registration.new_captcha().await?;
    Ok(Json(CaptchaReply { id: captcha.id, image_png_base64: BASE64.encode(&captcha.png) }))
}

/// Body of a lookup by number and captcha.
#[derive(Debug, Deserialize)]
pub(crate) struct LookupRequest {
    number: String,
    captcha_id: String,
    answer: String,
}

/// `POST /api/v1/lookup`.
pub(crate) async fn lookup(
    State(ctx): State<Shared>,
    ApiJson(body): ApiJson<LookupRequest>,
) -> Result<Json<ApplicationView>, ApiError> {
    Ok(Json(ctx.registration.lookup(&body.number, &body.captcha_id, &body.answer).await?))
}

/// `POST /api/v1/applications/{number}/challenge`: bytes to sign with the request's key.
pub(crate) async fn challenge(State(ctx): State<Shared>, Path(number): Path<String>) -> Result<Json<Challenge>, ApiError> {
    Ok(Json(ctx.registration.new_challenge(&number).await?))
}

/// A proof of possession: detached CMS over the challenge bytes.
#[derive(Debug, Deserialize)]
pub(crate) struct Proof {
    challenge_id: String,
    cms_base64: String,
}

impl Proof {
    fn cms(&self) -> Result<Vec<u8>, ApiError> {
        decode_base64(&self.cms_base64, "cms_base64")
    }
}

/// Decodes standard base64, tolerating line breaks (PEM bodies are pasted too).
pub(crate) fn decode_base64(text: &str, field: &str) -> Result<Vec<u8>, ApiError> {
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    if compact.is_empty() {
        return Err(ApiError::missing(field));
    }
    BASE64.decode(compact).map_err(|_| ApiError::invalid(field, ["base64 emas", "не base64", "not base64"]))
}

/// `POST /api/v1/applications/{number}/view` `{challenge_id, cms_base64}`.
pub(crate) async fn view(
    State(ctx): State<Shared>,
    Path(number): Path<String>,
    ApiJson(proof): ApiJson<Proof>,
) -> Result<Json<ApplicationView>, ApiError> {
    let cms = proof.cms()?;
    Ok(Json(ctx.registration.view_with_proof(&number, &proof.challenge_id, &cms).await?))
}

/// `POST /api/v1/applications/{number}/confirm` `{challenge_id, cms_base64}`: issues.
pub(crate) async fn confirm(
    State(ctx): State<Shared>,
    Path(number): Path<String>,
    ApiJson(proof): ApiJson<Proof>,
) -> Result<Json<Issued>, ApiError> {
    let cms = proof.cms()?;
    Ok(Json(ctx.registration.confirm(&number, &proof.challenge_id, &cms).await?))
}

/// `GET /api/v1/applications/{number}/certificate`.
pub(crate) async fn certificate(State(ctx): State<Shared>, Path(number): Path<String>) -> Result<Json<Issued>, ApiError> {
    Ok(Json(ctx.registration.certificate(&number).await?))
}
