//! Revocation by a holder who lost the key: the application number (or the certificate's
//! serial) and a captcha, then an SMS code to the phone on the application, then the code
//! and a reason. Nothing here tells whether a number exists: a request for an unknown
//! number gets the same answer, a code nobody knows, and the same refusals.
//!
//! The request is a challenge row (purpose `lost_key`, subject = the serial or none);
//! its codes are ordinary one-time codes (`otp_codes`, draft id `lost:<request id>`),
//! under the same rules as the application's: 6 digits, keyed hash, 5 minutes, 5 tries,
//! one resend a minute, five codes an hour per phone.

use super::phone::{MAX_CODES_PER_HOUR, MAX_TRIES, RESEND_INTERVAL_MS};
use super::{lookup, ms, new_id, random_failed, texts};
use crate::{RaError, Registration, secret};
use imzo_ca::revocation::StatusView;
use imzo_pki::crl::RevocationReason;
use imzo_store::{
    Tx,
    applications, certificates, challenges, otp, rate_limits, status,
    time_ms::{from_ms, now_ms},
};
use serde::Serialize;
use time::OffsetDateTime;
use zeroize::Zeroizing;

/// Challenge purpose of a lost-key revocation request.
pub(crate) const PURPOSE: &str = "lost_key";
/// How long a request may be finished (codes inside it last `code_ttl` each).
const REQUEST_TTL_MS: i64 = 30 * 60 * 1000;
/// Requests per looked-up number (or serial) per hour, whether or not it exists.
const REQUESTS_PER_NUMBER_PER_HOUR: i64 = 5;
const HOUR_MS: i64 = 3_600_000;

/// The one answer to a lost-key request, whether or not the number is known.
#[derive(Debug, Clone, Serialize)]
pub struct LostKeyRequested {
    /// Handle of the request (for the code and for resends).
    pub request_id: String,
    /// When the code expires (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub code_expires_at: OffsetDateTime,
    /// What happened, in words that do not tell whether the number exists
    /// (`{uz, uz_cyrl, ru, en}`).
    #[serde(serialize_with = "localized")]
    pub notice: crate::Localized,
}

fn localized<S: serde::Serializer>(text: &crate::Localized, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct as _;
    let mut out = s.serialize_struct("Localized", 4)?;
    out.serialize_field("uz", &text.uz)?;
    out.serialize_field("uz_cyrl", &text.uz_cyrl())?;
    out.serialize_field("ru", &text.ru)?;
    out.serialize_field("en", &text.en)?;
    out.end()
}

fn notice() -> crate::Localized {
    crate::Localized::new(
        "Agar bu raqam bo'yicha amaldagi sertifikat bo'lsa, arizadagi telefon raqamiga kod yuborildi.",
        "Если по этому номеру есть действующий сертификат, на телефон из заявления отправлен код.",
        "If this number has a certificate in force, a code was sent to the phone on its application.",
    )
}

fn key(request_id: &str) -> String {
    format!("lost:{request_id}")
}

fn request_invalid() -> RaError {
    RaError::forbidden(
        "request_invalid",
        "So'rov topilmadi yoki muddati tugagan: boshidan boshlang.",
        "Запрос не найден или устарел: начните сначала.",
        "The request is unknown or has expired: please start again.",
    )
}

fn bad_number() -> RaError {
    RaError::invalid(
        "number",
        "invalid_number",
        "Ariza raqami (12 ta raqam) yoki sertifikat seriya raqamini (o'n oltilik) kiriting.",
        "Введите номер заявления (12 цифр) или серийный номер сертификата (шестнадцатеричный).",
        "Give the application number (12 digits) or the certificate's serial number (hexadecimal).",
    )
}

/// The serial and phone behind `input`, if it names a holder's certificate that can
/// still be revoked; `None` for anything else (unknown, not issued, revoked already).
async fn target(ra: &Registration, input: &str) -> Result<Option<(String, String)>, RaError> {
    let pool = ra.store.pool();
    let (serial, application_id) = if crate::number::is_valid_number(input) {
        let Some(app) = applications::by_number(pool, input).await? else { return Ok(None) };
        match app.certificate_serial {
            Some(serial) if app.state == "issued" => (serial, app.id),
            _ => return Ok(None),
        }
    } else {
        let Some(cert) = certificates::by_serial(pool, input).await? else { return Ok(None) };
        let Some(id) = cert.application_id else { return Ok(None) };
        (cert.serial, id)
    };
    let Some(cert) = certificates::by_serial(pool, &serial).await? else { return Ok(None) };
    let revocable = cert.status == "good" || cert.revocation_reason == Some(status::REASON_CERTIFICATE_HOLD);
    if !revocable || cert.not_after_ms <= now_ms() {
        return Ok(None);
    }
    let Some(app) = applications::by_id(pool, application_id).await? else { return Ok(None) };
    Ok(Some((serial, app.phone)))
}

/// Normalises what the person typed: an application number as is, a serial as stored
/// (lower-case hex without leading zero bytes).
fn normalise(input: &str) -> Result<String, RaError> {
    let text = input.trim();
    if crate::number::is_valid_number(text) {
        return Ok(text.to_string());
    }
    let hex: String = text.trim_start_matches("0x").chars().filter(|c| *c != ':' && *c != ' ').collect::<String>().to_ascii_lowercase();
    if hex.is_empty() || hex.len() > 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad_number());
    }
    let mut s = hex.as_str();
    while s.len() > 2 && s.starts_with("00") {
        s = &s[2..];
    }
    Ok(s.to_string())
}

/// Stores a new code for request `id` and, when there is a real phone under the hourly
/// limit, queues the SMS. Returns the expiry.
async fn new_code(ra: &Registration, tx: &mut Tx<'_>, id: &str, phone: &str) -> Result<i64, RaError> {
    let now = now_ms();
    let code = Zeroizing::new(secret::random_digits(6).map_err(random_failed)?);
    let hash = secret::keyed_hash(&ra.config.otp_secret, &format!("otp:{}", key(id)), &code);
    let expires = now.saturating_add(ms(ra.config.code_ttl));
    let send = !phone.is_empty() && otp::sent_since(&mut **tx, phone, now - HOUR_MS).await? < MAX_CODES_PER_HOUR;
    let otp_id = otp::insert(tx, &key(id), phone, &hash, expires).await?;
    if send {
        let text = Zeroizing::new(texts::lost_key_code(&code));
        super::sms(ra, tx, phone, "code", &format!("code:{otp_id}"), &text).await?;
    } else if !phone.is_empty() {
        // Refusing here would tell that the number exists; the code simply does not come.
        tracing::info!(request = %id, "lost-key code not sent: the phone had its hourly codes");
    }
    Ok(expires)
}

/// Step 1: number (or serial) and captcha; a code goes to the application's phone.
pub(crate) async fn start(
    ra: &Registration,
    number: &str,
    captcha_id: &str,
    answer: &str,
    client: &str,
) -> Result<LostKeyRequested, RaError> {
    let input = normalise(number)?;
    lookup::limit_lookups(ra, client).await?;
    lookup::use_captcha(ra, captcha_id, answer).await?;
    let now = ra.config.clock.now_ms();
    let window = now - now.rem_euclid(HOUR_MS);
    let bucket = secret::keyed_hash(&ra.config.otp_secret, "lost-key", &input);
    if rate_limits::hit_window(ra.store.pool(), &format!("lost-key:{bucket}"), window, HOUR_MS).await?
        > REQUESTS_PER_NUMBER_PER_HOUR
    {
        let wait = (window + HOUR_MS - now + 999) / 1000;
        return Err(RaError::too_many(
            "too_many_requests",
            "Bu raqam bo'yicha bir soatda juda ko'p so'rov bo'ldi. Keyinroq urinib ko'ring.",
            "По этому номеру за час было слишком много запросов. Попробуйте позже.",
            "Too many requests for this number in the last hour. Please try later.",
        )
        .with_retry_after(wait));
    }
    let found = target(ra, &input).await?;
    let id = new_id()?;
    let mut nonce = [0u8; 32];
    secret::fill(&mut nonce).map_err(random_failed)?;
    let mut tx = ra.store.begin().await?;
    let serial = found.as_ref().map(|(s, _)| s.as_str());
    challenges::insert(&mut *tx, &id, PURPOSE, serial, &nonce, now_ms().saturating_add(REQUEST_TTL_MS)).await?;
    let phone = found.as_ref().map_or("", |(_, p)| p.as_str());
    let expires = new_code(ra, &mut tx, &id, phone).await?;
    super::audit(
        ra,
        &mut tx,
        "holder",
        "certificate.revocation_requested",
        serial.unwrap_or("unknown"),
        serde_json::json!({ "via": "lost_key", "request": id, "phone": crate::validate::mask_phone(phone) }),
    )
    .await?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(LostKeyRequested { request_id: id, code_expires_at: from_ms(expires), notice: notice() })
}

/// The live request `id`, or the one refusal.
async fn live_request(tx: &mut Tx<'_>, id: &str) -> Result<challenges::ChallengeRow, RaError> {
    let row = challenges::get(&mut **tx, id).await?.ok_or_else(request_invalid)?;
    if row.purpose != PURPOSE || row.used_at_ms.is_some() || row.expires_at_ms <= now_ms() {
        return Err(request_invalid());
    }
    Ok(row)
}

/// A new code for request `id`, at most one a minute.
pub(crate) async fn resend(ra: &Registration, id: &str) -> Result<LostKeyRequested, RaError> {
    let mut tx = ra.store.begin().await?;
    live_request(&mut tx, id).await?;
    let last = otp::latest(&mut *tx, &key(id)).await?.ok_or_else(request_invalid)?;
    let wait_ms = last.created_at_ms + RESEND_INTERVAL_MS - now_ms();
    if wait_ms > 0 {
        let secs = (wait_ms + 999) / 1000;
        return Err(RaError::too_many(
            "resend_too_soon",
            &format!("Yangi kodni {secs} soniyadan so'ng so'rash mumkin."),
            &format!("Новый код можно запросить через {secs} с."),
            &format!("A new code can be requested in {secs} s."),
        )
        .with_retry_after(secs));
    }
    let expires = new_code(ra, &mut tx, id, &last.phone).await?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(LostKeyRequested { request_id: id.to_string(), code_expires_at: from_ms(expires), notice: notice() })
}

fn wrong_code(left: i64) -> RaError {
    RaError::forbidden(
        "wrong_code",
        &format!("Kod noto'g'ri. Qolgan urinishlar: {left}."),
        &format!("Неверный код. Осталось попыток: {left}."),
        &format!("Wrong code. Tries left: {left}."),
    )
    .with_field("code")
}

/// Step 2: the code and a reason; the certificate is revoked (or suspended) at once.
pub(crate) async fn confirm(ra: &Registration, id: &str, code: &str, reason: Option<&str>) -> Result<StatusView, RaError> {
    let code = Zeroizing::new(code.trim().to_string());
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RaError::invalid("code", "invalid_code", "Kod 6 ta raqamdan iborat.", "Код состоит из 6 цифр.", "The code is 6 digits."));
    }
    let reason = match reason.map(str::trim).filter(|r| !r.is_empty()) {
        None => RevocationReason::KeyCompromise,
        Some(text) => RevocationReason::parse(text).map_err(|e| {
            RaError::invalid(
                "reason",
                "invalid_reason",
                "Bekor qilish sababi noma'lum (masalan: keyCompromise, certificateHold).",
                "Неизвестная причина отзыва (например: keyCompromise, certificateHold).",
                "Unknown revocation reason (for example keyCompromise, certificateHold).",
            )
            .with_detail(e.to_string())
        })?,
    };
    if !imzo_ca::revocation::holder_may_give(reason) {
        return Err(RaError::invalid(
            "reason",
            "reason_not_for_holder",
            "Bu sababni faqat sertifikatlash markazi ko'rsata oladi (masalan: keyCompromise, certificateHold).",
            "Эту причину может указать только удостоверяющий центр (например: keyCompromise, certificateHold).",
            "Only a certification authority may give this reason (for example keyCompromise, certificateHold).",
        ));
    }
    let mut tx = ra.store.begin().await?;
    let request = live_request(&mut tx, id).await?;
    let dead = || {
        RaError::not_found(
            "no_code",
            "Amaldagi kod yo'q: yangi kod so'rang.",
            "Действующего кода нет: запросите новый.",
            "There is no live code: please request a new one.",
        )
    };
    let otp_row = otp::latest(&mut *tx, &key(id)).await?.ok_or_else(dead)?;
    if otp_row.used_at_ms.is_some() {
        return Err(dead());
    }
    if otp_row.attempts >= MAX_TRIES {
        return Err(RaError::too_many(
            "too_many_tries",
            "Kod juda ko'p marta noto'g'ri kiritildi: yangi kod so'rang.",
            "Код введён неверно слишком много раз: запросите новый.",
            "The code was entered wrongly too many times: please request a new one.",
        )
        .with_field("code")
        .with_retry_after(RESEND_INTERVAL_MS / 1000));
    }
    if otp_row.expires_at_ms <= now_ms() {
        return Err(RaError::forbidden(
            "code_expired",
            "Kodning muddati tugadi: yangi kod so'rang.",
            "Срок действия кода истёк: запросите новый.",
            "The code has expired: please request a new one.",
        ));
    }
    let matches = secret::keyed_hash_matches(&ra.config.otp_secret, &format!("otp:{}", key(id)), &code, &otp_row.code_hash);
    // A request for an unknown number has no serial: its code cannot be right.
    let serial = match (matches, request.subject) {
        (true, Some(serial)) => serial,
        _ => {
            let counted = otp::count_wrong_try(&mut tx, otp_row.id, MAX_TRIES).await?;
            tx.commit().await.map_err(imzo_store::StoreError::from)?;
            return Err(wrong_code(if counted { MAX_TRIES - otp_row.attempts - 1 } else { 0 }));
        }
    };
    let now = now_ms();
    if !otp::mark_used(&mut tx, otp_row.id).await? || !challenges::consume(&mut tx, id, PURPOSE, now).await? {
        return Err(dead());
    }
    let before = status::revoke(&mut tx, &serial, reason.code(), now).await.map_err(|e| match e {
        imzo_store::StoreError::Conflict(detail) => RaError::conflict(
            "already_revoked",
            "Sertifikat allaqachon bekor qilingan.",
            "Сертификат уже отозван.",
            "The certificate is revoked already.",
        )
        .with_detail(detail),
        other => other.into(),
    })?;
    let hold = reason == RevocationReason::CertificateHold;
    let action = if hold { "certificate.held" } else { "certificate.revoked" };
    super::audit(
        ra,
        &mut tx,
        "holder",
        action,
        &serial,
        serde_json::json!({ "reason": reason.name(), "via": "lost_key", "request": id,
            "previous_status": before.status, "previous_reason": before.reason }),
    )
    .await?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    tracing::info!(serial = %serial, reason = reason.name(), "certificate revoked by its holder through an SMS code");
    Ok(StatusView {
        serial,
        status: if hold { "on_hold".into() } else { "revoked".into() },
        reason: Some(reason.name().into()),
        revoked_at: Some(from_ms(now)),
        by: "holder".into(),
    })
}

impl Registration {
    /// Lost key, step 1: application number (or certificate serial) and captcha. The
    /// answer is the same whether or not the number exists.
    pub async fn lost_key_start(
        &self,
        number: &str,
        captcha_id: &str,
        answer: &str,
        client: &str,
    ) -> Result<LostKeyRequested, RaError> {
        start(self, number, captcha_id, answer, client).await
    }

    /// Lost key: another code for the request (at most one a minute).
    pub async fn lost_key_resend(&self, request_id: &str) -> Result<LostKeyRequested, RaError> {
        resend(self, request_id).await
    }

    /// Lost key, step 2: the SMS code and a reason (default keyCompromise).
    pub async fn lost_key_confirm(&self, request_id: &str, code: &str, reason: Option<&str>) -> Result<StatusView, RaError> {
        confirm(self, request_id, code, reason).await
    }
}
