//! Certificate-status refusals in the API's languages: the CA layer words its refusals
//! in Uzbek, Russian and English (`StatusError::in_words`); store conflicts and "not
//! found" are worded here.

use crate::error::ApiError;
use axum::http::StatusCode;
use imzo_ca::revocation_error::Texts;
use imzo_ra::Localized;

/// A 400/403 refusal: the CA's own words when it gave them, else a general sentence per
/// language with the English message as the developer's detail.
pub(crate) fn refusal(status: StatusCode, code: &'static str, en: String, texts: Option<Box<Texts>>) -> ApiError {
    match texts {
        Some(t) => ApiError::new(status, code, t.field, Localized { uz: t.uz, ru: t.ru, en }),
        None => {
            let message = Localized {
                uz: "So'rov rad etildi: uni tekshirib, qayta yuboring".to_owned(),
                ru: "Запрос отклонён: проверьте его и отправьте снова".to_owned(),
                en: en.clone(),
            };
            ApiError::new(status, code, None, message).with_detail(en)
        }
    }
}

/// 404: the certificate (or CRL) asked about is not one of ours.
pub(crate) fn not_found(what: &str) -> ApiError {
    if what.starts_with("certificate") {
        ApiError::not_found("certificate").with_detail(what)
    } else if what.starts_with("CRL") {
        ApiError::not_found("CRL").with_detail(what)
    } else {
        ApiError::not_found(what)
    }
}

/// 409: the certificate's current status does not allow the change (the store's
/// English words stay as the developer's detail).
pub(crate) fn conflict(en: String) -> ApiError {
    let (uz, ru) = if en.contains("not on hold") {
        ("Sertifikat to'xtatilmagan: to'xtatishni bekor qilib bo'lmaydi", "Сертификат не приостановлен: снимать нечего")
    } else if en.contains("meanwhile") {
        ("Sertifikat holati shu orada o'zgardi: qayta urinib ko'ring", "Статус сертификата тем временем изменился: повторите попытку")
    } else {
        ("Sertifikat allaqachon bekor qilingan: uni qayta bekor qilib bo'lmaydi", "Сертификат уже отозван: повторно отозвать его нельзя")
    };
    ApiError::new(StatusCode::CONFLICT, "wrong_status", Some("serial"), Localized { uz: uz.to_owned(), ru: ru.to_owned(), en: en.clone() })
        .with_detail(en)
}
