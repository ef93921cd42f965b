//! Issued certificates by serial: `/api/v1/certificates/{serial}.pem|.der` (public, as
//! certificates are).

use crate::error::ApiError;
use crate::router::Shared;
use crate::routes::ca::download;
use axum::extract::{Path, State};
use axum::response::Response;

/// Longest serial we look up: 20 bytes (RFC 5280), hex.
const MAX_SERIAL_HEX: usize = 40;

/// `GET /api/v1/certificates/{file}` where `file` is `<serial hex>.pem|.der|.crt`.
pub(crate) async fn by_serial(State(ctx): State<Shared>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let (serial, extension) = file.rsplit_once('.').ok_or_else(|| ApiError::not_found("certificate"))?;
    let serial = serial.to_ascii_lowercase();
    if serial.is_empty() || serial.len() > MAX_SERIAL_HEX || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::invalid(
            "serial",
            ["o'n oltilik raqam bo'lishi kerak", "должен быть шестнадцатеричным числом", "must be a hexadecimal number"],
        ));
    }
    let row = imzo_store::certificates::by_serial(ctx.registration.store().pool(), &serial)
        .await
        .map_err(|e| ApiError::internal(&format!("certificate lookup: {e}")))?
        .ok_or_else(|| ApiError::not_found("certificate"))?;
    download(&serial, extension, &row.cert_der).ok_or_else(|| ApiError::not_found("certificate"))
}
