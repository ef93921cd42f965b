//! The time-stamping authority: `POST /tsa` (RFC 3161 §3.4, time-stamp protocol over HTTP).

use crate::router::Shared;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Media type of a request.
const QUERY: &str = "application/timestamp-query";
/// Media type of a reply.
const REPLY: &str = "application/timestamp-reply";

/// `POST /tsa`: a DER TimeStampReq in, a DER TimeStampResp out. Refusals (bad request,
/// unknown policy or algorithm) are TimeStampResp rejections with HTTP 200, as the
/// protocol has it; only a body of another media type is refused at the HTTP level.
pub(crate) async fn timestamp(State(ctx): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    let media_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase());
    if media_type.as_deref().is_some_and(|m| m != QUERY) {
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("send a DER TimeStampReq as {QUERY}"),
        )
            .into_response();
    }
    let reply = ctx.tsa.respond(ctx.registration.store(), &body).await;
    (StatusCode::OK, [(header::CONTENT_TYPE, REPLY), (header::CACHE_CONTROL, "no-store")], reply).into_response()
}
