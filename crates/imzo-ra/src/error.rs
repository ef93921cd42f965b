//! Errors of the workflow, with the field at fault and messages in Uzbek, Russian and English.

/// A message in the three languages people use with the centre.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Localized {
    /// O'zbekcha.
    pub uz: String,
    /// Русский.
    pub ru: String,
    /// English.
    pub en: String,
}

/// Coarse classes of errors, for the HTTP layer to pick a status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// The caller sent something wrong (400 / 422).
    BadInput,
    /// No such application, draft, challenge (404).
    NotFound,
    /// Not allowed in the current state (409).
    Conflict,
    /// Signature, captcha or code check failed; not allowed for this caller (403).
    Forbidden,
    /// Too many attempts or resends (429).
    TooMany,
    /// Upload too large (413).
    TooLarge,
    /// Our fault (500).
    Internal,
}

/// A workflow error: `code` is stable for programs, `message` is for people.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {}", message.en)]
pub struct RaError {
    /// Class of the error.
    pub kind: ErrorKind,
    /// Stable machine-readable code (`invalid_pinfl`, `wrong_state`, ...).
    pub code: &'static str,
    /// The input field at fault, if one is.
    pub field: Option<String>,
    /// What is wrong, for people.
    pub message: Localized,
}

impl Localized {
    /// A message in Uzbek (Latin), Russian and English.
    pub fn new(uz: impl Into<String>, ru: impl Into<String>, en: impl Into<String>) -> Self {
        Localized { uz: uz.into(), ru: ru.into(), en: en.into() }
    }
}

impl RaError {
    /// An error of any kind, with its stable code, optional field and messages.
    pub fn new(kind: ErrorKind, code: &'static str, field: Option<&str>, message: Localized) -> Self {
        RaError { kind, code, field: field.map(str::to_string), message }
    }

    /// Bad input in `field`.
    pub fn invalid(field: &str, code: &'static str, uz: &str, ru: &str, en: &str) -> Self {
        RaError::new(ErrorKind::BadInput, code, Some(field), Localized::new(uz, ru, en))
    }

    /// Something asked for does not exist.
    pub fn not_found(code: &'static str, uz: &str, ru: &str, en: &str) -> Self {
        RaError::new(ErrorKind::NotFound, code, None, Localized::new(uz, ru, en))
    }

    /// Not allowed in the current state.
    pub fn conflict(code: &'static str, uz: &str, ru: &str, en: &str) -> Self {
        RaError::new(ErrorKind::Conflict, code, None, Localized::new(uz, ru, en))
    }

    /// A check (signature, code, captcha) failed, or the caller may not do this.
    pub fn forbidden(code: &'static str, uz: &str, ru: &str, en: &str) -> Self {
        RaError::new(ErrorKind::Forbidden, code, None, Localized::new(uz, ru, en))
    }

    /// Too many attempts or resends.
    pub fn too_many(code: &'static str, uz: &str, ru: &str, en: &str) -> Self {
        RaError::new(ErrorKind::TooMany, code, None, Localized::new(uz, ru, en))
    }

    /// An upload in `field` is larger than allowed.
    pub fn too_large(field: &str, uz: &str, ru: &str, en: &str) -> Self {
        RaError::new(ErrorKind::TooLarge, "too_large", Some(field), Localized::new(uz, ru, en))
    }

    /// Our own failure; `detail` goes to the log, people get a generic message.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(detail = %detail, "internal error in the registration workflow");
        RaError::new(
            ErrorKind::Internal,
            "internal",
            None,
            Localized::new(
                "Ichki xatolik yuz berdi. Birozdan so'ng qayta urinib ko'ring.",
                "Произошла внутренняя ошибка. Повторите попытку позже.",
                "An internal error occurred. Please try again later.",
            ),
        )
    }

    /// The application (or draft) is not in a state that allows this step.
    pub fn wrong_state(state: &str) -> Self {
        RaError::conflict(
            "wrong_state",
            &format!("Ariza holati ({state}) bu amalga ruxsat bermaydi."),
            &format!("Состояние заявки ({state}) не допускает это действие."),
            &format!("The application's state ({state}) does not allow this step."),
        )
    }

    /// No application with this number or draft id.
    pub fn no_application() -> Self {
        RaError::not_found("no_application", "Ariza topilmadi.", "Заявка не найдена.", "No such application.")
    }
}

impl From<imzo_store::StoreError> for RaError {
    fn from(e: imzo_store::StoreError) -> Self {
        match e {
            // A guarded update lost: another request changed the application first.
            imzo_store::StoreError::Conflict(detail) => RaError::conflict(
                "conflict",
                "Ariza boshqa so'rov bilan o'zgartirildi; sahifani yangilang.",
                "Заявка была изменена другим запросом; обновите страницу.",
                &format!("The application was changed by another request ({detail}); reload and retry."),
            ),
            other => RaError::internal(other),
        }
    }
}
