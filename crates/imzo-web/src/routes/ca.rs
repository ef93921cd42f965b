//! CA certificate downloads: `/ca/{id}.crt` (DER) and `/ca/{id}.pem`.

use crate::error::ApiError;
use crate::router::Shared;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// PEM armour of one DER certificate, 64 characters a line (RFC 7468).
pub(crate) fn pem_certificate(der: &[u8]) -> String {
    let encoded = BASE64.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in encoded.as_bytes().chunks(64) {
        pem.push_str(&String::from_utf8_lossy(line));
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// DER or PEM of one certificate, by the extension asked for.
pub(crate) fn download(name: &str, extension: &str, der: &[u8]) -> Option<Response> {
    let disposition = format!("attachment; filename=\"{name}.{extension}\"");
    let response = match extension {
        "crt" | "cer" | "der" => (
            [(header::CONTENT_TYPE, "application/pkix-cert".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
            der.to_vec(),
        )
            .into_response(),
        "pem" => (
            [(header::CONTENT_TYPE, "application/x-pem-file".to_owned()), (header::CONTENT_DISPOSITION, disposition)],
            pem_certificate(der),
        )
            .into_response(),
        _ => return None,
    };
    Some(response)
}

/// `GET /ca/{file}` where `file` is `<id>.crt` or `<id>.pem`.
pub(crate) async fn certificate(State(ctx): State<Shared>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let (id, extension) = file.rsplit_once('.').ok_or_else(|| ApiError::not_found("CA certificate"))?;
    if let Some((_, der)) = ctx.ca_certificates.iter().find(|(known, _)| known == id) {
        return download(id, extension, der).ok_or_else(|| ApiError::not_found("CA certificate"));
    }
    // Every CA in the register (the ten centres and any registered later).
    let row = imzo_store::cas::ca(ctx.registration.store().pool(), id)
        .await
        .map_err(|e| ApiError::internal(&e.to_string()))?
        .ok_or_else(|| ApiError::not_found("CA certificate"))?;
    download(id, extension, &row.cert_der).ok_or_else(|| ApiError::not_found("CA certificate"))
}
