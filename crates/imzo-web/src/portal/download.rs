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

/// SHA-256 of the program handed out, in hex, so a citizen can check the file against
/// what the centre publishes elsewhere; read once per process (the file does not change
/// under a running program).
pub(crate) fn sha256() -> Option<&'static str> {
    static DIGEST: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    DIGEST
        .get_or_init(|| {
            use sha2::Digest as _;
            use std::io::Read as _;
            let mut file = std::fs::File::open(std::env::current_exe().ok()?).ok()?;
            let mut hasher = sha2::Sha256::new();
            let mut buffer = vec![0u8; 64 * 1024];
            loop {
                let n = file.read(&mut buffer).ok()?;
                if n == 0 {
                    break;
                }
                hasher.update(&buffer[..n]);
            }
            Some(hex::encode(hasher.finalize()))
        })
        .as_deref()
}

/// `GET /download/imzo`.
pub(crate) async fn module() -> Response {
    let opened = match std::env::current_exe() {
        Ok(path) => tokio::fs::File::open(path).await,
        Err(e) => Err(e),
    };
    let file = match opened {
        Ok(f) => f,
        Err(e) => return unavailable(&e),
    };
    let length = match file.metadata().await {
        Ok(m) => m.len(),
        Err(e) => return unavailable(&e),
    };
    // Streamed in small pieces: a download holds 64 KiB of memory, not the whole
    // program, however many visitors fetch it at once or however slowly they read.
    let chunks = futures_util::stream::unfold(file, |mut file| async move {
        let mut buffer = vec![0u8; 64 * 1024];
        match tokio::io::AsyncReadExt::read(&mut file, &mut buffer).await {
            Ok(0) => None,
            Ok(n) => {
                buffer.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buffer)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    let mut response = Body::from_stream(chunks).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/octet-stream"));
    h.insert(header::CONTENT_DISPOSITION, HeaderValue::from_static("attachment; filename=\"imzo\""));
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    response
}

fn unavailable(e: &std::io::Error) -> Response {
    tracing::error!(error = %e, "cannot open the running executable for download");
    crate::error::ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "download_unavailable",
        None,
        imzo_ra::Localized::new(
            "Modulni hozir yuklab bo'lmaydi; keyinroq urinib ko'ring.",
            "Модуль сейчас нельзя скачать; попробуйте позже.",
            "The module cannot be downloaded right now; try again later.",
        ),
    )
    .into_response()
}
