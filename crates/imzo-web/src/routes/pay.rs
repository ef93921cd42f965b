//! Payment providers' callbacks.

use crate::router::Shared;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use serde_json::Value;

/// `POST /pay/payme`: Payme's Merchant API. Always HTTP 200; errors are JSON-RPC errors.
pub(crate) async fn payme(State(ctx): State<Shared>, headers: HeaderMap, body: Bytes) -> Json<Value> {
    // A header that is not visible ASCII cannot be valid Basic credentials: treat as absent.
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    Json(ctx.payme.call(auth, body).await)
}
