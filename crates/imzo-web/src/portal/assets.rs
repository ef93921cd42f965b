//! The portal's scripts and style sheet, compiled into the binary (no build step, no
//! files to deploy beside it).

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};

/// (name under `/portal/`, media type, content).
pub(crate) const ASSETS: [(&str, &str, &str); 8] = [
    ("portal.css", "text/css; charset=utf-8", include_str!("../../assets/portal.css")),
    ("portal.js", "text/javascript; charset=utf-8", include_str!("../../assets/portal.js")),
    ("home.js", "text/javascript; charset=utf-8", include_str!("../../assets/home.js")),
    ("apply.js", "text/javascript; charset=utf-8", include_str!("../../assets/apply.js")),
    ("find.js", "text/javascript; charset=utf-8", include_str!("../../assets/find.js")),
    ("console.js", "text/javascript; charset=utf-8", include_str!("../../assets/console.js")),
    ("console.css", "text/css; charset=utf-8", include_str!("../../assets/console.css")),
    ("imzo-client.js", "text/javascript; charset=utf-8", include_str!("../../../../web/imzo-client.js")),
];

/// `GET /portal/{asset}`.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    match ASSETS.iter().find(|(n, _, _)| *n == name) {
        Some((_, media_type, body)) => {
            let mut response = (*body).into_response();
            let h = response.headers_mut();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(media_type));
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
            h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
            response
        }
        None => crate::error::ApiError::not_found("route").into_response(),
    }
}
