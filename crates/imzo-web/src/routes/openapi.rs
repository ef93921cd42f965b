//! The hand-written OpenAPI 3.1 document of the HTTP API.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, kept as a file beside the code so it reads (and diffs) as JSON.
pub(crate) const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// `GET /api/openapi.json`.
pub(crate) async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI_JSON)
}
