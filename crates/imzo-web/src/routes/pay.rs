//! Payment providers' callbacks. Every provider gets HTTP 200 with its own protocol's
//! answer; errors are in that protocol, never our JSON error shape.

use crate::router::Shared;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use imzo_gateways::{click, paynet};
use serde_json::Value;

/// A header that is not visible ASCII cannot be valid Basic credentials: treat as absent.
fn authorization(headers: &HeaderMap) -> Option<String> {
    headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

/// `POST /pay/payme`: Payme's Merchant API. Always HTTP 200; errors are JSON-RPC errors.
pub(crate) async fn payme(State(ctx): State<Shared>, headers: HeaderMap, body: Bytes) -> Json<Value> {
    Json(ctx.payme.call(authorization(&headers), body).await)
}

/// Any other method at `/pay/payme`: HTTP 200 with JSON-RPC −32300, as Payme's protocol
/// requires (never our 405 shape: Payme reads only JSON-RPC).
pub(crate) async fn payme_not_post(method: axum::http::Method) -> Json<Value> {
    Json(imzo_gateways::payme::not_post_reply(method.as_str()))
}

/// The form's pairs; malformed pairs match no field, so Click gets −8 for them.
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

/// `POST /pay/click/prepare`: Click's Prepare (`action=0`), form-urlencoded.
pub(crate) async fn click_prepare(State(ctx): State<Shared>, body: Bytes) -> Json<Value> {
    Json(click::handle(&ctx.registration, ctx.click.as_ref(), click::Action::Prepare, &form_pairs(&body)).await)
}

/// `POST /pay/click/complete`: Click's Complete (`action=1`), form-urlencoded.
pub(crate) async fn click_complete(State(ctx): State<Shared>, body: Bytes) -> Json<Value> {
    Json(click::handle(&ctx.registration, ctx.click.as_ref(), click::Action::Complete, &form_pairs(&body)).await)
}

/// `POST /pay/paynet`: Paynet's JSON-RPC with Basic auth. Always HTTP 200.
pub(crate) async fn paynet(State(ctx): State<Shared>, headers: HeaderMap, body: Bytes) -> Json<Value> {
    let auth = authorization(&headers);
    Json(paynet::handle(&ctx.registration, ctx.paynet.as_ref(), auth.as_deref(), &body).await)
}
