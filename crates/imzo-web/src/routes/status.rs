//! Certificate status: revocation requests, CRLs (`GET /crl/{ca}.crl`) and the OCSP
//! responder (`POST /ocsp`, `GET /ocsp/{base64}`, RFC 6960 appendix A and RFC 5019).

use crate::error::ApiError;
use crate::router::Shared;
use crate::routes::lookup::decode_base64;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use imzo_ca::StatusError;
use imzo_ca::ocsp::OcspAnswer;
use imzo_ca::revocation::{self, RevocationChallenge, StatusView};
use imzo_ra::Localized;
use serde::Deserialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc2822;

/// What the status endpoints share: the OCSP responder and the CRL policy.
pub(crate) struct StatusPublishing {
    pub(crate) responder: std::sync::Arc<imzo_ca::ocsp::OcspResponder>,
    pub(crate) crl_policy: imzo_ca::crl::CrlPolicy,
    /// The root's CRL issuer, when this node holds the root key (the embedded default).
    pub(crate) root_crl: Option<imzo_ca::crl::CrlIssuer>,
}

/// The responder of the centre `registration` works for, by `ocsp_policy`.
pub(crate) fn default_responder(
    registration: &imzo_ra::Registration,
    ocsp_policy: imzo_ca::ocsp::OcspPolicy,
) -> std::sync::Arc<imzo_ca::ocsp::OcspResponder> {
    let responder = imzo_ca::ocsp::OcspResponder::new(vec![registration.ca().clone()], ocsp_policy).unwrap_or_else(|e| {
        tracing::error!(error = %e, "the CA certificate cannot serve OCSP; answering unauthorized");
        imzo_ca::ocsp::OcspResponder::without_cas(ocsp_policy)
    });
    std::sync::Arc::new(responder)
}

fn api_error(e: StatusError) -> ApiError {
    match e {
        StatusError::BadRequest { code, message, texts } => super::status_texts::refusal(StatusCode::BAD_REQUEST, code, message, texts),
        StatusError::Forbidden { code, message, texts } => super::status_texts::refusal(StatusCode::FORBIDDEN, code, message, texts),
        StatusError::NotFound(what) => super::status_texts::not_found(&what),
        StatusError::Conflict(message) => super::status_texts::conflict(message),
        other => ApiError::internal(&other.to_string()),
    }
}

/// `POST /api/v1/revocations/challenge`.
pub(crate) async fn challenge(State(ctx): State<Shared>) -> Result<Json<RevocationChallenge>, ApiError> {
    Ok(Json(revocation::challenge(ctx.registration.store()).await.map_err(api_error)?))
}

#[derive(Debug, Deserialize)]
struct SignedRequest {
    cms_base64: String,
}

/// `POST /api/v1/revocations`: a signed revocation request, raw DER CMS
/// (`application/pkcs7-mime`) or JSON `{cms_base64}`.
pub(crate) async fn revoke(State(ctx): State<Shared>, headers: HeaderMap, body: Bytes) -> Result<Json<StatusView>, ApiError> {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .unwrap_or_default();
    let cms = match content_type.as_str() {
        "application/json" => {
            let request: SignedRequest = serde_json::from_slice(&body)
                .map_err(|e| ApiError::malformed_json(crate::extract::field_of(&format!("target type: {e}")).as_deref()))?;
            decode_base64(&request.cms_base64, "cms_base64")?
        }
        "application/pkcs7-mime" | "application/pkcs7-signature" | "application/octet-stream" => body.to_vec(),
        _ => {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                Some("content-type"),
                Localized {
                    uz: "application/pkcs7-mime (DER CMS) yoki application/json {cms_base64} yuboring".to_owned(),
                    ru: "Отправьте application/pkcs7-mime (DER CMS) или application/json {cms_base64}".to_owned(),
                    en: "Send application/pkcs7-mime (DER CMS) or application/json {cms_base64}".to_owned(),
                },
            ));
        }
    };
    if cms.is_empty() {
        return Err(ApiError::missing("cms"));
    }
    let view = revocation::apply_in(ctx.registration.store(), &ctx.registration.centre_cas(), &cms).await.map_err(api_error)?;
    // Other nodes see the change within their memory_ttl; this one at once.
    ctx.status.responder.forget(&view.serial);
    Ok(Json(view))
}

/// `GET /crl/{file}` where `file` is `<ca id>.crl` (DER, as the certificates' CRL
/// distribution point says) or `<ca id>-delta.crl` (its delta CRL, as the complete
/// CRL's Freshest CRL extension says).
pub(crate) async fn crl(State(ctx): State<Shared>, Path(file): Path<String>) -> Result<Response, ApiError> {
    let name = file.strip_suffix(".crl").ok_or_else(|| ApiError::not_found("CRL"))?;
    let (id, delta) = match name.strip_suffix("-delta") {
        Some(id) => (id, true),
        None => (name, false),
    };
    // Each centre's CA publishes its own CRL.
    let ca = ctx.registration.centre_ca(id).unwrap_or_else(|| ctx.registration.ca());
    let issuer = if id == ca.ca_id {
        imzo_ca::crl::CrlIssuer::of_centre(ca)
    } else if let Some(root) = ctx.status.root_crl.as_ref().filter(|r| r.ca_id == id) {
        root.clone()
    } else {
        return Err(ApiError::not_found("CRL"));
    };
    let store = ctx.registration.store();
    let der = if delta {
        imzo_ca::delta_crl::current(store, &issuer, &ctx.status.crl_policy).await
    } else {
        imzo_ca::crl::current_of(store, &issuer, &ctx.status.crl_policy).await
    }
    .map_err(api_error)?;
    Ok(([(header::CONTENT_TYPE, "application/pkix-crl")], der).into_response())
}

fn ocsp_response(answer: OcspAnswer, cache_headers: bool) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/ocsp-response")], answer.der.clone()).into_response();
    let headers = response.headers_mut();
    match (cache_headers, answer.this_update, answer.next_update) {
        (true, Some(this_update), Some(next_update)) => {
            let now = OffsetDateTime::now_utc();
            let max_age = (next_update - now).whole_seconds().max(0);
            let mut put = |name: header::HeaderName, value: String| {
                if let Ok(v) = HeaderValue::from_str(&value) {
                    headers.insert(name, v);
                }
            };
            put(header::CACHE_CONTROL, format!("max-age={max_age}, public, no-transform, must-revalidate"));
            if let (Ok(last), Ok(expires)) = (http_date(this_update), http_date(next_update)) {
                put(header::LAST_MODIFIED, last);
                put(header::EXPIRES, expires);
            }
            put(header::ETAG, format!("\"{}\"", hex::encode(sha1_digest(&answer.der))));
        }
        _ => {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store"));
        }
    }
    response
}

fn sha1_digest(data: &[u8]) -> Vec<u8> {
    use sha1::Digest as _;
    sha1::Sha1::digest(data).to_vec()
}

/// HTTP date (RFC 9110 IMF-fixdate) of a UTC time.
fn http_date(t: OffsetDateTime) -> Result<String, time::error::Format> {
    // RFC 2822 prints "+0000"; HTTP wants the literal "GMT".
    let text = t.to_offset(time::UtcOffset::UTC).format(&Rfc2822)?;
    Ok(text.replace(" +0000", " GMT"))
}

/// A held answer as it goes out: the shared bytes themselves, headers made once.
fn cached_response(hit: imzo_ca::ocsp_memory::CachedAnswer, cache_headers: bool) -> Response {
    let mut response = ([(header::CONTENT_TYPE, "application/ocsp-response")], Bytes::from_owner(hit.der)).into_response();
    let headers = response.headers_mut();
    if !cache_headers {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store"));
        return response;
    }
    let max_age = (hit.next_update - OffsetDateTime::now_utc()).whole_seconds().max(0);
    if let Ok(v) = HeaderValue::from_str(&format!("max-age={max_age}, public, no-transform, must-revalidate")) {
        headers.insert(header::CACHE_CONTROL, v);
    }
    if let (Ok(last), Ok(expires)) = (http_date(hit.this_update), http_date(hit.next_update)) {
        for (name, value) in [(header::LAST_MODIFIED, last), (header::EXPIRES, expires)] {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(name, v);
            }
        }
    }
    if let Ok(v) = HeaderValue::from_str(&hit.etag) {
        headers.insert(header::ETAG, v);
    }
    response
}

/// `POST /ocsp`: a DER OCSPRequest in the body.
pub(crate) async fn ocsp_post(State(ctx): State<Shared>, body: Bytes) -> Response {
    if let Some(hit) = ctx.status.responder.respond_cached(ctx.registration.store(), &body).await {
        return cached_response(hit, false);
    }
    let answer = ctx.status.responder.respond(ctx.registration.store(), &body).await;
    // RFC 5019 §6: POST answers are not cached by HTTP caches anyway; say so.
    ocsp_response(answer, false)
}

/// `GET /ocsp/{base64}`: the DER OCSPRequest, base64 then URL-encoded, in the path.
pub(crate) async fn ocsp_get(State(ctx): State<Shared>, Path(encoded): Path<String>) -> Response {
    let compact: String = encoded.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(&compact))
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(&compact));
    let answer = match decoded {
        Ok(der) => {
            if let Some(hit) = ctx.status.responder.respond_cached(ctx.registration.store(), &der).await {
                return cached_response(hit, true);
            }
            ctx.status.responder.respond(ctx.registration.store(), &der).await
        }
        Err(_) => OcspAnswer {
            der: imzo_pki::ocsp::error_response(imzo_pki::ocsp::ResponseStatus::MalformedRequest),
            this_update: None,
            next_update: None,
        },
    };
    ocsp_response(answer, true)
}
