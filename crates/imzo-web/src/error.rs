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
    /// The input field (or multipart part) at fault, if one is.
    pub field: Option<String>,
    /// What is wrong, in Uzbek, Russian and English.
    pub message: Localized,
}

fn text(uz: &str, ru: &str, en: &str) -> Localized {
    Localized { uz: uz.to_owned(), ru: ru.to_owned(), en: en.to_owned() }
}

impl ApiError {
    pub(crate) fn new(status: StatusCode, code: &'static str, field: Option<&str>, message: Localized) -> Self {
        ApiError { status, code, field: field.map(str::to_owned), message }
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
        let mb = limit_bytes as f64 / (1024.0 * 1024.0);
        let what_en = field.map_or_else(|| "The request".to_owned(), |f| format!("'{f}'"));
        let what_uz = field.map_or_else(|| "So'rov".to_owned(), |f| format!("«{f}»"));
        let what_ru = field.map_or_else(|| "Запрос".to_owned(), |f| format!("«{f}»"));
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            field,
            text(
                &format!("{what_uz} {mb:.0} MB dan katta bo'lmasligi kerak"),
                &format!("{what_ru}: не более {mb:.0} МБ"),
                &format!("{what_en} must not exceed {mb:.0} MB"),
            ),
        )
    }

    /// 404 for a path that names nothing we have.
    pub(crate) fn not_found(what: &str) -> Self {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not_found",
            None,
            text(&format!("{what} topilmadi"), &format!("{what}: не найдено"), &format!("{what} not found")),
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
        ApiError { status: status_of(e.kind), code: e.code, field: e.field, message: e.message }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "field": self.field,
                "message": {"uz": self.message.uz, "ru": self.message.ru, "en": self.message.en},
            }
        });
        (self.status, axum::Json(body)).into_response()
    }
}
