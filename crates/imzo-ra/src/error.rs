//! Errors of the workflow, with the field at fault and messages in Uzbek (Latin and
//! Cyrillic), Russian and English.

/// A message in the languages people use with the centre. The Uzbek Cyrillic text is
/// the Latin one transliterated ([`Localized::uz_cyrl`]); it is serialised as `uz_cyrl`.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// The input field at fault, if one is (boxed to keep `Result`s small).
    pub field: Option<Box<str>>,
    /// What is wrong, for people.
    pub message: Localized,
    /// Detail and retry time, when there are any; boxed to keep `Result`s small.
    extra: Option<Box<Extra>>,
}

/// The rarer parts of an error.
#[derive(Debug, Clone, Default)]
struct Extra {
    detail: Option<String>,
    retry_after_secs: Option<u64>,
}

impl Localized {
    /// A message in Uzbek (Latin), Russian and English.
    pub fn new(uz: impl Into<String>, ru: impl Into<String>, en: impl Into<String>) -> Self {
        Localized { uz: uz.into(), ru: ru.into(), en: en.into() }
    }

    /// The Uzbek text in Cyrillic script.
    pub fn uz_cyrl(&self) -> String {
        crate::translit::uz_latin_to_cyrillic(&self.uz)
    }

    /// The text in the language an `Accept-Language` header prefers, with its tag
    /// (`uz-Latn`, `uz-Cyrl`, `ru`, `en`); Uzbek (Latin) when none of them is asked for.
    pub fn for_accept_language(&self, header: &str) -> (&'static str, String) {
        match Language::preferred(header) {
            Language::UzLatn => ("uz-Latn", self.uz.clone()),
            Language::UzCyrl => ("uz-Cyrl", self.uz_cyrl()),
            Language::Ru => ("ru", self.ru.clone()),
            Language::En => ("en", self.en.clone()),
        }
    }
}

impl serde::Serialize for Localized {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut s = serializer.serialize_struct("Localized", 4)?;
        s.serialize_field("uz", &self.uz)?;
        s.serialize_field("uz_cyrl", &self.uz_cyrl())?;
        s.serialize_field("ru", &self.ru)?;
        s.serialize_field("en", &self.en)?;
        s.end()
    }
}

/// The languages messages come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    /// Uzbek, Latin script (the default).
    UzLatn,
    /// Uzbek, Cyrillic script.
    UzCyrl,
    /// Russian.
    Ru,
    /// English.
    En,
}

impl Language {
    /// The language an `Accept-Language` header (RFC 9110) prefers most among ours;
    /// bare `uz` means Latin, the official script.
    pub fn preferred(header: &str) -> Language {
        let mut best: Option<(u16, usize, Language)> = None;
        for (position, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let tag = parts.next().unwrap_or("").trim().to_ascii_lowercase();
            let mut quality = 1000u16;
            for param in parts {
                if let Some(q) = param.trim().strip_prefix("q=") {
                    quality = q.trim().parse::<f32>().map(|q| (q.clamp(0.0, 1.0) * 1000.0) as u16).unwrap_or(0);
                }
            }
            let language = match tag.split('-').collect::<Vec<_>>().as_slice() {
                ["uz", rest @ ..] if rest.contains(&"cyrl") => Language::UzCyrl,
                ["uz", ..] => Language::UzLatn,
                ["ru", ..] => Language::Ru,
                ["en", ..] => Language::En,
                _ => continue,
            };
            if quality == 0 {
                continue;
            }
            // Highest quality wins; among equals, the one listed first.
            if best.is_none_or(|(q, p, _)| quality > q || (quality == q && position < p)) {
                best = Some((quality, position, language));
            }
        }
        best.map(|(_, _, l)| l).unwrap_or(Language::UzLatn)
    }
}

impl RaError {
    /// An error of any kind, with its stable code, optional field and messages.
    pub fn new(kind: ErrorKind, code: &'static str, field: Option<&str>, message: Localized) -> Self {
        RaError { kind, code, field: field.map(Box::from), message, extra: None }
    }

    /// The same naming `field` as the one at fault.
    pub fn with_field(mut self, field: &str) -> Self {
        self.field = Some(Box::from(field));
        self
    }

    /// The same with technical detail for developers (English only, never for people).
    pub fn with_detail(mut self, detail: impl Into<String>) -> Self {
        self.extra.get_or_insert_with(Box::default).detail = Some(detail.into());
        self
    }

    /// The same saying a retry can succeed after `secs` seconds (at least one).
    pub fn with_retry_after(mut self, secs: i64) -> Self {
        self.extra.get_or_insert_with(Box::default).retry_after_secs = Some(u64::try_from(secs.max(1)).unwrap_or(1));
        self
    }

    /// Technical detail for developers, in English only (a parser's words), if any.
    pub fn detail(&self) -> Option<&str> {
        self.extra.as_ref().and_then(|e| e.detail.as_deref())
    }

    /// For [`ErrorKind::TooMany`]: seconds until a retry can succeed, if known.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.extra.as_ref().and_then(|e| e.retry_after_secs)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_our_languages_by_quality() {
        assert_eq!(Language::preferred(""), Language::UzLatn);
        assert_eq!(Language::preferred("fr-FR, de"), Language::UzLatn);
        assert_eq!(Language::preferred("ru-RU,ru;q=0.9,en;q=0.8"), Language::Ru);
        assert_eq!(Language::preferred("uz-Cyrl-UZ"), Language::UzCyrl);
        assert_eq!(Language::preferred("uz"), Language::UzLatn);
        assert_eq!(Language::preferred("fr;q=1, en;q=0.5, ru;q=0.7"), Language::Ru);
        assert_eq!(Language::preferred("ru;q=0, en"), Language::En);
    }

    #[test]
    fn every_text_in_four_forms() {
        let e = RaError::no_application();
        let json = serde_json::to_value(&e.message).unwrap();
        assert_eq!(json["uz"], "Ariza topilmadi.");
        assert_eq!(json["uz_cyrl"], "Ариза топилмади.");
        assert_eq!(json["ru"], "Заявка не найдена.");
        assert_eq!(e.message.for_accept_language("uz-Cyrl"), ("uz-Cyrl", "Ариза топилмади.".to_string()));
        assert_eq!(e.message.for_accept_language("en-GB"), ("en", "No such application.".to_string()));
    }
}
