//! Steps 1–4: start, phone code, request and documents.

use crate::error::ApiError;
use crate::extract::ApiJson;
use crate::money::fee_sum_display;
use crate::router::Shared;
use crate::routes::sandbox;
use crate::upload::read_submission;
use axum::Json;
use axum::extract::multipart::MultipartRejection;
use axum::extract::{Multipart, Path, State};
use axum::http::StatusCode;
use imzo_gateways::payme::checkout_url;
use imzo_gateways::{click, paynet};
use imzo_ra::{StartRequest, Started, Submitted};
use serde::{Deserialize, Serialize};

/// `POST /api/v1/applications`: validates the applicant's data and sends the SMS code.
/// Limited per client address and per PINFL (429 with `Retry-After`).
pub(crate) async fn start(
    State(ctx): State<Shared>,
    peer: crate::routes::lookup::Peer,
    ApiJson(request): ApiJson<StartRequest>,
) -> Result<(StatusCode, Json<Started>), ApiError> {
    let client = ctx.registration.client_address(peer.socket, peer.x_real_ip.as_deref());
    let started = ctx.registration.start_from(request, &client).await?;
    Ok((StatusCode::CREATED, Json(started)))
}

/// `POST /api/v1/applications/{draft_id}/code/resend`.
pub(crate) async fn resend_code(State(ctx): State<Shared>, Path(draft_id): Path<String>) -> Result<Json<Started>, ApiError> {
    Ok(Json(ctx.registration.resend_code(&draft_id).await?))
}

/// Body of the phone check.
#[derive(Debug, Deserialize)]
pub(crate) struct PhoneCode {
    code: String,
}

/// Answer of a successful phone check.
#[derive(Debug, Serialize)]
pub(crate) struct PhoneVerified {
    phone_verified: bool,
}

/// `POST /api/v1/applications/{draft_id}/phone` `{code}`.
pub(crate) async fn verify_phone(
    State(ctx): State<Shared>,
    Path(draft_id): Path<String>,
    ApiJson(body): ApiJson<PhoneCode>,
) -> Result<Json<PhoneVerified>, ApiError> {
    ctx.registration.verify_phone(&draft_id, &body.code).await?;
    Ok(Json(PhoneVerified { phone_verified: true }))
}

/// Where the fee can be paid.
#[derive(Debug, Serialize)]
pub(crate) struct PayLinks {
    /// Payme checkout, when a merchant id is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    payme: Option<String>,
    /// Click pay link, when Click's service and merchant ids are configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    click: Option<String>,
    /// Paynet link, when a Paynet merchant id is configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    paynet: Option<String>,
    /// The local sandbox page (embedded default only).
    #[serde(skip_serializing_if = "Option::is_none")]
    sandbox: Option<String>,
    /// The local sandbox page with a choice of provider (embedded default only).
    #[serde(skip_serializing_if = "Option::is_none")]
    sandbox_providers: Option<String>,
}

impl PayLinks {
    /// Every link the deployment offers for paying `fee_tiyin` for application `number`.
    pub(crate) fn new(ctx: &Shared, number: &str, fee_tiyin: i64) -> PayLinks {
        PayLinks {
            payme: ctx.payme_merchant_id.as_deref().map(|merchant| checkout_url(merchant, number, fee_tiyin, None, None)),
            click: ctx.click.as_ref().and_then(|c| {
                c.merchant_id.as_deref().map(|merchant| click::pay_url(&c.service_id, merchant, number, fee_tiyin, None))
            }),
            paynet: ctx
                .paynet
                .as_ref()
                .and_then(|p| p.merchant_id.as_deref())
                .map(|merchant| paynet::pay_url(merchant, number, fee_tiyin)),
            sandbox: ctx.payme_sandbox.then(|| sandbox::link(number, fee_tiyin)),
            sandbox_providers: ctx.payme_sandbox.then(|| sandbox::provider_link(number)),
        }
    }
}

/// The submission answer: number, fee, deadline, and how to pay.
#[derive(Debug, Serialize)]
pub(crate) struct SubmittedReply {
    #[serde(flatten)]
    submitted: Submitted,
    /// The fee in sum, for display ("18 900.00").
    fee_sum: String,
    pay: PayLinks,
}

/// `POST /api/v1/applications/{draft_id}/submit`, multipart `csr`, `passport`, `selfie`.
pub(crate) async fn submit(
    State(ctx): State<Shared>,
    Path(draft_id): Path<String>,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<(StatusCode, Json<SubmittedReply>), ApiError> {
    let multipart = multipart.map_err(|rejection| match rejection {
        // Not multipart at all (JSON, a form, no Content-Type): say what is expected.
        MultipartRejection::InvalidBoundary(_) => ApiError::multipart_content_type(),
        other => ApiError::bad_multipart(&other.body_text()),
    })?;
    let parts = read_submission(multipart).await?;
    let submitted = ctx.registration.submit(&draft_id, &parts.csr, parts.passport, parts.selfie).await?;
    let pay = PayLinks::new(&ctx, &submitted.number, submitted.fee_tiyin);
    let fee_sum = fee_sum_display(submitted.fee_tiyin);
    Ok((StatusCode::CREATED, Json(SubmittedReply { submitted, fee_sum, pay })))
}
