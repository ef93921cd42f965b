//! SMS texts (Uzbek Latin, the language of the portal's default).

use crate::fee::{format_sum, format_tashkent};
use time::OffsetDateTime;

/// The one-time code.
pub(crate) fn code(code: &str) -> String {
    format!("Imzo: tasdiqlash kodi {code}. Kod 5 daqiqa amal qiladi. Uni hech kimga aytmang.")
}

/// The one-time code of a lost-key revocation.
pub(crate) fn lost_key_code(code: &str) -> String {
    format!("Imzo: sertifikatni bekor qilish kodi {code}. Kod 5 daqiqa amal qiladi. Siz so'ramagan bo'lsangiz, uni hech kimga aytmang.")
}

/// Application accepted: number, amount and deadline (Tashkent time).
pub(crate) fn accepted(number: &str, fee_tiyin: i64, pay_before: OffsetDateTime) -> String {
    format!(
        "Imzo: arizangiz {number} qabul qilindi. To'lov: {} so'm, {} gacha (Toshkent vaqti).",
        format_sum(fee_tiyin),
        format_tashkent(pay_before)
    )
}

/// Rejected by an operator.
pub(crate) fn rejected(number: &str, reason: &str) -> String {
    format!("Imzo: arizangiz {number} rad etildi. Sabab: {reason}")
}

/// Certificate issued.
pub(crate) fn ready(number: &str, base_url: &str) -> String {
    format!("Imzo: {number} arizasi bo'yicha sertifikatingiz tayyor. Yuklab olish: {base_url}")
}

/// Approved: the applicant should confirm.
pub(crate) fn approved(number: &str, base_url: &str) -> String {
    format!("Imzo: arizangiz {number} tasdiqlandi. Sertifikatni olish uchun uni tasdiqlang: {base_url}")
}

/// Cancelled: not paid within the payment window.
pub(crate) fn cancelled_unpaid(number: &str) -> String {
    format!("Imzo: arizangiz {number} belgilangan muddatda (8 soat) to'lanmagani uchun bekor qilindi.")
}

/// Expired: approved but not confirmed within 30 days.
pub(crate) fn expired_unconfirmed(number: &str) -> String {
    format!("Imzo: arizangiz {number} 30 kun ichida tasdiqlanmagani uchun muddati o'tdi. Yangi ariza bering.")
}
