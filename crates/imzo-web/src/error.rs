//! Every error the API answers, in one JSON shape:
//! `{"error": {"code", "field", "message": {"uz", "ru", "en"}}}`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use imzo_ra::{ErrorKind, Localized, RaError};
use serde_json::json;

/// An API error: HTTP status, stable code, the field at fault and a message for people.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status} {code}: {}", message.en)]
pub struct ApiError {
    /// HTTP status of the answer.
    pub status: StatusCode,
    /// Stable machine-readable code.
    pub code: &'static str,
    /// The input field (or multipart part) at fault, if one is (boxed to keep `Result`s small).
    pub field: Option<Box<str>>,
    /// What is wrong, in Uzbek, Russian and English.
    pub message: Localized,
    /// Detail and retry time, when there are any; boxed to keep `Result`s small.
    extra: Option<Box<Extra>>,
}

/// The rarer parts of an API error.
#[derive(Debug, Clone, Default)]
struct Extra {
    /// Technical detail for developers, English only.
    detail: Option<String>,
    /// Seconds after which a retry can succeed (sent as `Retry-After` with a 429).
    retry_after_secs: Option<u64>,
}

/// `Retry-After` of a 429 whose cause gave no better figure.
pub(crate) const DEFAULT_RETRY_AFTER_SECS: u64 = 60;

fn text(uz: &str, ru: &str, en: &str) -> Localized {
    Localized { uz: uz.to_owned(), ru: ru.to_owned(), en: en.to_owned() }
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, field: Option<&str>, message: Localized) -> Self {
        ApiError { status, code, field: field.map(Box::from), message, extra: None }
    }

    /// The same with technical detail for developers (English only).
    pub(crate) fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.extra.get_or_insert_with(Box::default).detail = Some(detail.into());
        self
    }

    /// Technical detail for developers (English only), if any.
    pub fn detail(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.detail.as_deref())
    }

    /// Seconds after which a retry can succeed, if known (sent as `Retry-After` with a 429).
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.extra.as_ref().and_then(|e| e.retry_after_secs)
    }

    /// 400: the body is not the JSON this endpoint takes (`field` names the culprit if known).
    pub(crate) fn malformed_json(field: Option<&str>) -> Self {
        let message = match field {
            Some(f) => text(
                &format!("«{f}» maydoni yo'q yoki noto'g'ri turda"),
                &format!("Поле «{f}» отсутствует или имеет неверный тип"),
                &format!("Field '{f}' is missing or has the wrong type"),
            ),
            None => text(
                "So'rov tanasi to'g'ri JSON emas",
                "Тело запроса не является корректным JSON",
                "The request body is not valid JSON for this endpoint",
            ),
        };
        ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", field, message)
    }

    /// 415: a JSON endpoint called without `Content-Type: application/json`.
    pub(crate) fn json_content_type() -> Self {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
            text(
                "Content-Type: application/json bo'lishi kerak",
                "Ожидается Content-Type: application/json",
                "Expected Content-Type: application/json",
            ),
        )
    }

    /// 400: a required field (or multipart part) is absent.
    pub(crate) fn missing(field: &str) -> Self {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "missing_field",
            Some(field),
            text(
                &format!("«{field}» yuborilmagan"),
                &format!("Не передано поле «{field}»"),
                &format!("'{field}' is missing"),
            ),
        )
    }

    /// 400: a field is present but unusable (bad base64, unknown part, ...); `why` is
    /// the reason in Uzbek, Russian and English.
    pub(crate) fn invalid(field: &str, why: [&str; 3]) -> Self {
        let [uz, ru, en] = why;
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_field",
            Some(field),
            text(
                &format!("«{field}» noto'g'ri: {uz}"),
                &format!("Поле «{field}» неверно: {ru}"),
                &format!("'{field}' is invalid: {en}"),
            ),
        )
    }

    /// 400: the multipart body itself is broken (the parser's words, in English, quoted).
    pub(crate) fn bad_multipart(detail: &str) -> Self {
        ApiError::invalid(
            "body",
            [
                &format!("multipart/form-data tuzilishi buzilgan ({detail})"),
                &format!("неверная структура multipart/form-data ({detail})"),
                &format!("malformed multipart/form-data ({detail})"),
            ],
        )
    }

    /// 413: an upload part or the whole body is over its limit.
    pub(crate) fn too_large(field: Option<&str>, limit_bytes: usize) -> Self {
        let [size_uz, size_ru, size_en] = size_text(limit_bytes);
        let what_en = field.map_or_else(|| "The request".to_owned(), |f| format!("'{f}'"));
        let what_uz = field.map_or_else(|| "So'rov".to_owned(), |f| format!("«{f}»"));
        let what_ru = field.map_or_else(|| "Запрос".to_owned(), |f| format!("«{f}»"));
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            field,
            text(
                &format!("{what_uz} {size_uz} dan katta bo'lmasligi kerak"),
                &format!("{what_ru}: не более {size_ru}"),
                &format!("{what_en} must not exceed {size_en}"),
            ),
        )
    }

    /// 413 from a body limit whose size the answer no longer knows.
    pub(crate) fn body_too_large() -> Self {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            None,
            text(
                "So'rov hajmi bu manzil uchun ruxsat etilganidan katta",
                "Запрос больше, чем допускает этот адрес",
                "The request is larger than this address accepts",
            ),
        )
    }

    /// 404 for a path that names nothing we have: `what` is `route`, `certificate`,
    /// `CA certificate` or `CRL`; anything else gets a general text and `what` as detail.
    pub(crate) fn not_found(what: &str) -> Self {
        let (message, detail) = match what {
            "route" => (
                text(
                    "Bunday manzil yo'q. API manzillari ro'yxati: /api/openapi.json",
                    "Такого адреса нет. Список адресов API: /api/openapi.json",
                    "There is no such address. The API's addresses are listed at /api/openapi.json",
                ),
                None,
            ),
            "certificate" => (
                text(
                    "Bunday seriya raqamli sertifikat topilmadi",
                    "Сертификат с таким серийным номером не найден",
                    "No certificate with this serial number was found",
                ),
                None,
            ),
            "CA certificate" => (
                text(
                    "Bunday identifikatorli sertifikatlash markazi sertifikati topilmadi",
                    "Сертификат удостоверяющего центра с таким идентификатором не найден",
                    "No certification authority certificate with this identifier was found",
                ),
                None,
            ),
            "CRL" => (
                text(
                    "Bunday sertifikatlash markazining bekor qilingan sertifikatlar ro'yxati (CRL) topilmadi",
                    "Список отозванных сертификатов (CRL) такого удостоверяющего центра не найден",
                    "No certificate revocation list (CRL) of such a certification authority was found",
                ),
                None,
            ),
            other => (
                text("So'ralgan ma'lumot topilmadi", "Запрошенные данные не найдены", "What was asked for was not found"),
                Some(other.to_owned()),
            ),
        };
        let e = ApiError::new(StatusCode::NOT_FOUND, "not_found", None, message);
        match detail {
            Some(detail) => e.with_detail(detail),
            None => e,
        }
    }

    /// 415: the submission was not sent as `multipart/form-data`.
    pub(crate) fn multipart_content_type() -> Self {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            None,
            text(
                "So'rov multipart/form-data ko'rinishida (csr, passport, selfie qismlari bilan) yuborilishi kerak",
                "Запрос должен быть отправлен как multipart/form-data (части csr, passport, selfie)",
                "The request must be sent as multipart/form-data (parts csr, passport, selfie)",
            ),
        )
    }

    /// 400: a JSON field has a value outside its list (`allowed`, our own names).
    pub(crate) fn not_one_of(field: &str, allowed: &[String]) -> Self {
        let list = allowed.join(", ");
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_value",
            Some(field),
            text(
                &format!("«{field}» quyidagilardan biri bo'lishi kerak: {list}"),
                &format!("Поле «{field}» должно быть одним из: {list}"),
                &format!("'{field}' must be one of: {list}"),
            ),
        )
    }

    /// 500 with a generic message; the detail goes to the log only.
    pub(crate) fn internal(detail: &str) -> Self {
        tracing::error!(detail, "internal error");
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            None,
            text(
                "Ichki xato. Keyinroq qayta urinib ko'ring",
                "Внутренняя ошибка. Повторите попытку позже",
                "Internal error. Please try again later",
            ),
        )
    }
}

/// HTTP status for a workflow error class.
pub(crate) fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::BadInput => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::Forbidden => StatusCode::FORBIDDEN,
        ErrorKind::TooMany => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::TooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        ErrorKind::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl From<RaError> for ApiError {
    fn from(e: RaError) -> Self {
        if e.kind == ErrorKind::Internal {
            // The workflow's own text may carry database detail: log it, show a generic one.
            return ApiError::internal(&format!("{}: {}", e.code, e.message.en));
        }
        let retry_after_secs = e.retry_after_secs().or((e.kind == ErrorKind::TooMany).then_some(DEFAULT_RETRY_AFTER_SECS));
        let extra = (e.detail().is_some() || retry_after_secs.is_some())
            .then(|| Box::new(Extra { detail: e.detail().map(str::to_owned), retry_after_secs }));
        ApiError { status: status_of(e.kind), code: e.code, field: e.field, message: e.message, extra }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = json!({
            "code": self.code,
            "field": self.field,
            "message": {"uz": self.message.uz, "ru": self.message.ru, "en": self.message.en},
        });
        if let Some(detail) = self.detail() {
            error["detail"] = json!(detail);
        }
        let mut response = (self.status, axum::Json(json!({ "error": error }))).into_response();
        if self.status == StatusCode::TOO_MANY_REQUESTS {
            // Every 429 says when to come back (RFC 9110 §10.2.3).
            let secs = self.retry_after_secs().unwrap_or(DEFAULT_RETRY_AFTER_SECS).max(1);
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        response
    }
}

/// A size limit as people read it, in uz, ru and en: whole megabytes or kilobytes where
/// they divide evenly, one decimal otherwise, bytes below a kilobyte (64 KB, never "0 MB").
pub(crate) fn size_text(bytes: usize) -> [String; 3] {
    const KB: usize = 1024;
    const MB: usize = 1024 * 1024;
    let (amount, unit) = if bytes >= MB {
        (scaled(bytes, MB), ["MB", "МБ", "MB"])
    } else if bytes >= KB {
        (scaled(bytes, KB), ["KB", "КБ", "KB"])
    } else {
        (bytes.to_string(), ["bayt", "байт", "bytes"])
    };
    // Russian writes the decimal comma.
    [format!("{amount} {}", unit[0]), format!("{} {}", amount.replace('.', ","), unit[1]), format!("{amount} {}", unit[2])]
}

/// `bytes / unit` with at most one decimal, none when it divides evenly.
fn scaled(bytes: usize, unit: usize) -> String {
    if bytes.is_multiple_of(unit) {
        return (bytes / unit).to_string();
    }
    let tenths = (bytes * 10 + unit / 2) / unit;
    format!("{}.{}", tenths / 10, tenths % 10)
}
