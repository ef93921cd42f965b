//! Revocation by a holder who lost the key: number (or serial) and captcha, then the SMS
//! code and a reason. The answers do not tell whether a number exists.

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::router::Shared;
use crate::routes::lookup::Peer;
use axum::Json;
use axum::extract::{Path, State};
use imzo_ca::revocation::StatusView;
use imzo_ra::LostKeyRequested;
use serde::Deserialize;

/// Body of `POST /api/v1/revocations/lost`.
#[derive(Debug, Deserialize)]
pub(crate) struct LostKeyRequest {
    /// Application number or certificate serial (hex).
    number: String,
    captcha_id: String,
    answer: String,
}

/// `POST /api/v1/revocations/lost`: captcha checked, a code to the application's phone
/// if the number has a certificate in force; the same answer either way.
pub(crate) async fn start(
    State(ctx): State<Shared>,
    peer: Peer,
    ApiJson(body): ApiJson<LostKeyRequest>,
) -> Result<Json<LostKeyRequested>, ApiError> {
    let client = ctx.registration.client_address(peer.socket, peer.x_real_ip.as_deref());
    Ok(Json(ctx.registration.lost_key_start(&body.number, &body.captcha_id, &body.answer, &client).await?))
}

/// `POST /api/v1/revocations/lost/{request_id}/resend`: another code (one a minute).
pub(crate) async fn resend(State(ctx): State<Shared>, Path(id): Path<String>) -> Result<Json<LostKeyRequested>, ApiError> {
    Ok(Json(ctx.registration.lost_key_resend(&id).await?))
}

/// Body of the confirmation.
#[derive(Debug, Deserialize)]
pub(crate) struct LostKeyConfirm {
    code: String,
    #[serde(default)]
    reason: Option<String>,
}

/// `POST /api/v1/revocations/lost/{request_id}/confirm`: the code and a reason
/// (default keyCompromise); the certificate is revoked at once.
pub(crate) async fn confirm(
    State(ctx): State<Shared>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<LostKeyConfirm>,
) -> Result<Json<StatusView>, ApiError> {
    let view = ctx.registration.lost_key_confirm(&id, &body.code, body.reason.as_deref()).await?;
    // Other nodes see the change within their memory_ttl; this one at once.
    ctx.status.responder.forget(&view.serial);
    Ok(Json(view))
}
