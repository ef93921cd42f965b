//! Error messages in the language the client asks for: every JSON error already carries
//! its message in Uzbek (Latin), Russian and English; this layer adds the Cyrillic Uzbek
//! form (`message.uz_cyrl`) and `error.text` in the one `Accept-Language` prefers, and
//! says which in `Content-Language`.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::Response;
use imzo_ra::Localized;

fn is_json_response(response: &Response) -> bool {
    response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Error bodies are small; anything larger is passed through untouched.
const MAX_ERROR_BODY: usize = 64 * 1024;

pub(crate) async fn localize_errors(request: Request, next: Next) -> Response {
    let wanted = request
        .headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut response = next.run(request).await;
    if response.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE && !is_json_response(&response) {
        // A body limit hit before any handler (axum's own rejection is plain text):
        // clients get the same JSON refusal as from every other route.
        response = axum::response::IntoResponse::into_response(crate::error::ApiError::body_too_large());
    }
    let is_json = is_json_response(&response);
    if response.status().as_u16() < 400 || !is_json {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, MAX_ERROR_BODY).await {
        Ok(b) => b,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read an error body to localise it");
            return Response::from_parts(parts, Body::empty());
        }
    };
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(&bytes) else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let message = json.get("error").and_then(|e| e.get("message"));
    let texts = message.and_then(|m| {
        Some((
            m.get("uz")?.as_str()?,
            m.get("ru")?.as_str()?,
            m.get("en")?.as_str()?,
        ))
    });
    let Some((uz, ru, en)) = texts else {
        return Response::from_parts(parts, Body::from(bytes));
    };
    let localized = Localized::new(uz, ru, en);
    let (tag, text) = localized.for_accept_language(&wanted);
    json["error"]["message"]["uz_cyrl"] = serde_json::Value::String(localized.uz_cyrl());
    json["error"]["text"] = serde_json::Value::String(text);
    json["error"]["language"] = serde_json::Value::String(tag.to_string());
    parts
        .headers
        .insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(tag));
    parts
        .headers
        .insert(header::VARY, HeaderValue::from_static("Accept-Language"));
    parts.headers.remove(header::CONTENT_LENGTH);
    let body = serde_json::to_vec(&json).unwrap_or_else(|_| bytes.to_vec());
    Response::from_parts(parts, Body::from(body))
}
