//! `GET /download/imzo`: the signing module for citizens who have no Rust toolchain. The
//! module is a mode of the same `imzo` program the server runs, so the server hands out
//! its own executable: one build, one version, nothing extra to publish beside it.

use axum::body::Body;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The platform the running program was built for, as the page names it.
pub(crate) fn platform() -> String {
    format!("{} {}", std::env::consts::OS, std::env::consts::ARCH)
}

/// `GET /download/imzo`.
pub(crate) async fn module() -> Response {
    // Read whole: the program is tens of megabytes, and a busy deployment puts a cache
    // or CDN in front of this address anyway.
    let bytes = match std::env::current_exe() {
        Ok(path) => tokio::fs::read(path).await,
        Err(e) => Err(e),
    };
    let bytes = match bytes {
        Ok(b) => b,
        Err(e) => {
            tracing::error!(error = %e, "cannot open the running executable for download");
            return crate::error::ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "download_unavailable",
                None,
                imzo_ra::Localized::new(
                    "Modulni hozir yuklab bo'lmaydi; keyinroq urinib ko'ring.",
                    "Модуль сейчас нельзя скачать; попробуйте позже.",
                    "The module cannot be downloaded right now; try again later.",
                ),
            )
            .into_response();
        }
    };
    let mut response = Body::from(bytes).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"imzo\""));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}
