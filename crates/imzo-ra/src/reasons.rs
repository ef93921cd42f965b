//! The listed reasons an operator rejects an application for, each with its texts; the
//! operator may add free text (required for `other`).

use crate::Localized;

/// A listed rejection reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct RejectionReason {
    /// Stable code, sent in the decision.
    pub code: &'static str,
    /// What it means, for the applicant.
    pub text: Localized,
}

/// The code used when the operator explains the reason in free text only.
pub const OTHER: &str = "other";

const LIST: [(&str, &str, &str, &str); 6] = [
    (
        "documents_unreadable",
        "Hujjat surati o'qib bo'lmaydigan darajada sifatsiz.",
        "Скан документа нечитаем.",
        "The document scan is unreadable.",
    ),
    (
        "selfie_mismatch",
        "Pasport bilan tushgan surat talabga javob bermaydi yoki pasportdagi shaxsga mos emas.",
        "Фото с паспортом не соответствует требованиям или владельцу паспорта.",
        "The selfie with the passport does not meet the requirements or show the passport's holder.",
    ),
    (
        "data_mismatch",
        "Arizadagi ma'lumotlar pasport ma'lumotlariga mos emas.",
        "Данные заявки не совпадают с паспортными данными.",
        "The application's data do not match the passport.",
    ),
    (
        "passport_invalid",
        "Pasport haqiqiy emas yoki muddati o'tgan.",
        "Паспорт недействителен или просрочен.",
        "The passport is invalid or expired.",
    ),
    (
        "company_authority",
        "Shaxsning tashkilot nomidan ish ko'rish vakolati tasdiqlanmadi.",
        "Полномочия действовать от имени организации не подтверждены.",
        "The person's authority to act for the company was not confirmed.",
    ),
    (OTHER, "Boshqa sabab.", "Другая причина.", "Another reason."),
];

/// Every listed reason, in the order the console shows them.
pub fn rejection_reasons() -> Vec<RejectionReason> {
    LIST.iter()
        .map(|(code, uz, ru, en)| RejectionReason {
            code,
            text: Localized::new(*uz, *ru, *en),
        })
        .collect()
}

/// The listed reason with `code`.
pub fn rejection_reason(code: &str) -> Option<RejectionReason> {
    rejection_reasons().into_iter().find(|r| r.code == code)
}
