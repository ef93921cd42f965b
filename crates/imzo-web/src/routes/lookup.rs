//! Step 7 and 8: find an application (captcha or proof of possession), confirm, download.

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::router::Shared;
use axum::Json;
use axum::extract::{ConnectInfo, Path, State};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use imzo_ra::{ApplicationView, Challenge, Issued, LookupStatus};
use serde::{Deserialize, Serialize};

/// A fresh captcha, its image inline.
#[derive(Debug, Serialize)]
pub(crate) struct CaptchaReply {
    id: String,
    image_png_base64: String,
}

/// `POST /api/v1/captcha`: limited per client address (429 with `Retry-After`), as
/// every captcha is a rendered picture and a stored row.
pub(crate) async fn new_captcha(State(ctx): State<Shared>, peer: Peer) -> Result<Json<CaptchaReply>, ApiError> {
    let client = ctx.registration.client_address(peer.socket, peer.x_real_ip.as_deref());
    ctx.registration.limit_challenges("captcha", &client).await?;
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

/// Where a request came from: the socket peer (when the server records it) and the
/// `X-Real-IP` header (believed only from a trusted proxy, by the workflow).
#[derive(Debug)]
pub(crate) struct Peer {
    pub(crate) socket: Option<std::net::IpAddr>,
    pub(crate) x_real_ip: Option<String>,
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, Self::Rejection> {
        let socket = parts.extensions.get::<ConnectInfo<std::net::SocketAddr>>().map(|c| c.0.ip());
        let x_real_ip = parts.headers.get("x-real-ip").and_then(|v| v.to_str().ok()).map(str::to_string);
        Ok(Peer { socket, x_real_ip })
    }
}

/// The status found by number and captcha, with where to pay while payment is due (the
/// portal's payment buttons and printable application).
#[derive(Debug, Serialize)]
pub(crate) struct LookupReply {
    #[serde(flatten)]
    status: LookupStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pay: Option<crate::routes::applications::PayLinks>,
}

/// `POST /api/v1/lookup`: the status only, rate-limited per client address (429).
pub(crate) async fn lookup(
    State(ctx): State<Shared>,
    peer: Peer,
    ApiJson(body): ApiJson<LookupRequest>,
) -> Result<Json<LookupReply>, ApiError> {
    let client = ctx.registration.client_address(peer.socket, peer.x_real_ip.as_deref());
    let status = ctx.registration.lookup_status(&body.number, &body.captcha_id, &body.answer, &client).await?;
    let pay = (status.state == "awaiting_payment")
        .then(|| crate::routes::applications::PayLinks::new(&ctx, &status.number, status.fee_tiyin));
    Ok(Json(LookupReply { status, pay }))
}

/// `POST /api/v1/applications/{number}/challenge`: bytes to sign with the request's key,
/// limited per client address (429 with `Retry-After`).
pub(crate) async fn challenge(
    State(ctx): State<Shared>,
    peer: Peer,
    Path(number): Path<String>,
) -> Result<Json<Challenge>, ApiError> {
    let client = ctx.registration.client_address(peer.socket, peer.x_real_ip.as_deref());
    ctx.registration.limit_challenges("pop", &client).await?;
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

/// The key holder's view of an application, with where to pay while payment is due.
#[derive(Debug, Serialize)]
pub(crate) struct HolderView {
    #[serde(flatten)]
    view: ApplicationView,
    #[serde(skip_serializing_if = "Option::is_none")]
    pay: Option<crate::routes::applications::PayLinks>,
}

/// `POST /api/v1/applications/{number}/view` `{challenge_id, cms_base64}`.
pub(crate) async fn view(
    State(ctx): State<Shared>,
    Path(number): Path<String>,
    ApiJson(proof): ApiJson<Proof>,
) -> Result<Json<HolderView>, ApiError> {
    let cms = proof.cms()?;
    let view = ctx.registration.view_with_proof(&number, &proof.challenge_id, &cms).await?;
    let pay = (view.state == "awaiting_payment")
        .then(|| crate::routes::applications::PayLinks::new(&ctx, &view.number, view.fee_tiyin));
    Ok(Json(HolderView { view, pay }))
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
