//! Steps 1–2: the applicant's data, the SMS code and its check.

use super::{audit, ms, new_id, random_failed, sms, texts};
use crate::state::{Event, State};
use crate::{ApplicantType, RaError, Registration, StartRequest, Started, secret, validate};
use imzo_store::{
    Tx,
    applications::{self, NewDraft},
    otp, rate_limits,
    time_ms::{from_ms, now_ms},
};
use zeroize::Zeroizing;

/// Wrong tries allowed per code.
pub(crate) const MAX_TRIES: i64 = 5;
/// Codes allowed per phone per hour.
pub(crate) const MAX_CODES_PER_HOUR: i64 = 5;
/// Wait between two codes for one draft.
pub(crate) const RESEND_INTERVAL_MS: i64 = 60_000;

/// The fields of a start request after validation.
#[derive(Debug)]
struct Draft {
    applicant_type: ApplicantType,
    pinfl: String,
    surname: String,
    given_name: String,
    patronymic: Option<String>,
    birth_date: String,
    region: String,
    district: Option<String>,
    passport: String,
    phone: String,
    company_inn: Option<String>,
    company_name: Option<String>,
    title: Option<String>,
}

fn optional(value: &Option<String>) -> Option<&str> {
    value.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

/// Refuses company fields in an individual's application: they would be silently dropped,
/// and the applicant probably meant to apply as a legal entity.
fn no_company_fields(r: &StartRequest) -> Result<(), RaError> {
    for (field, value) in [("company_inn", &r.company_inn), ("company_name", &r.company_name), ("title", &r.title)] {
        if optional(value).is_some() {
            return Err(RaError::invalid(
                field,
                "not_for_individual",
                "Jismoniy shaxs arizasida tashkilot maydonlari (company_inn, company_name, title) bo'lmaydi. \
                 Tashkilot nomidan ariza berish uchun applicant_type = legal_entity ni tanlang.",
                "В заявлении физического лица не бывает полей организации (company_inn, company_name, title). \
                 Чтобы подать заявление от имени организации, выберите applicant_type = legal_entity.",
                "An individual's application has no company fields (company_inn, company_name, title). \
                 To apply for a company, choose applicant_type = legal_entity.",
            ));
        }
    }
    Ok(())
}

fn validate(r: &StartRequest, today: time::Date) -> Result<Draft, RaError> {
    let facts = validate::pinfl(r.pinfl.trim())?;
    let birth = validate::birth_date(&r.birth_date, facts.birth_date)?;
    validate::birth_date_plausible(birth, today)?;
    let (company_inn, company_name, title) = match r.applicant_type {
        ApplicantType::Individual => {
            no_company_fields(r)?;
            (None, None, None)
        }
        ApplicantType::LegalEntity => {
            let required = |field: &str, value: &Option<String>| {
                optional(value).map(str::to_string).ok_or_else(|| {
                    RaError::invalid(
                        field,
                        "required",
                        "Yuridik shaxs uchun bu maydon majburiy.",
                        "Для юридического лица это поле обязательно.",
                        "This field is required for a legal entity.",
                    )
                })
            };
            let inn = validate::company_inn(&required("company_inn", &r.company_inn)?)?;
            let name = validate::text("company_name", &required("company_name", &r.company_name)?, 200)?;
            let title = validate::text("title", &required("title", &r.title)?, 100)?;
            (Some(inn), Some(name), Some(title))
        }
    };
    Ok(Draft {
        applicant_type: r.applicant_type,
        pinfl: r.pinfl.trim().to_string(),
        surname: validate::person_name("surname", &r.surname)?,
        given_name: validate::person_name("given_name", &r.given_name)?,
        patronymic: optional(&r.patronymic).map(|p| validate::person_name("patronymic", p)).transpose()?,
        birth_date: birth.to_string(),
        region: validate::text("region", &r.region, 100)?,
        district: optional(&r.district).map(|d| validate::text("district", d, 100)).transpose()?,
        passport: validate::passport(&r.passport)?,
        phone: validate::phone(&r.phone)?,
        company_inn,
        company_name,
        title,
    })
}

fn too_many_codes() -> RaError {
    RaError::too_many(
        "too_many_codes",
        "Bu raqamga bir soat ichida juda ko'p kod yuborildi. Keyinroq urinib ko'ring.",
        "На этот номер за час отправлено слишком много кодов. Попробуйте позже.",
        "Too many codes were sent to this number in the last hour. Please try later.",
    )
    // The hour is a sliding one: an hour from now is always enough.
    .with_retry_after(3600)
}

/// One window of the per-address start limit.
const ADDRESS_WINDOW_MS: i64 = 3_600_000;
/// One window of the per-PINFL start limit: a day in Tashkent.
const PINFL_WINDOW_MS: i64 = 86_400_000;
/// Asia/Tashkent is UTC+5 all year (no daylight saving since 1992).
const TASHKENT_OFFSET_MS: i64 = 5 * 3_600_000;

/// Midnight in Tashkent that starts the day `now_ms` is in, UTC milliseconds: "a day"
/// for an applicant is their calendar day, not UTC's (which starts at 05:00 there).
pub(crate) fn tashkent_day_start(now_ms: i64) -> i64 {
    now_ms - (now_ms + TASHKENT_OFFSET_MS).rem_euclid(PINFL_WINDOW_MS)
}

/// Counts a start against the per-address and per-PINFL limits (fixed windows kept in
/// the database, so every node counts the same) and refuses it past either. The PINFL
/// is kept only as a keyed hash in the counter's name.
async fn limit_starts(ra: &Registration, client: Option<&str>, pinfl: &str) -> Result<(), RaError> {
    let now = ra.config.clock.now_ms();
    let refuse = |window: i64, span: i64, uz: &str, ru: &str, en: &str| {
        let wait = (window + span - now + 999) / 1000;
        RaError::too_many("too_many_starts", uz, ru, en).with_retry_after(wait)
    };
    if let Some(client) = client.filter(|c| *c != "unknown") {
        let window = now - now.rem_euclid(ADDRESS_WINDOW_MS);
        let hits =
            rate_limits::hit_window(ra.store.pool(), &format!("start-address:{client}"), window, ADDRESS_WINDOW_MS).await?;
        let limit = ra.config.starts_per_address_per_hour;
        if hits > limit {
            return Err(refuse(
                window,
                ADDRESS_WINDOW_MS,
                &format!("Bu manzildan bir soatda {limit} tadan ortiq ariza boshlab bo'lmaydi. Keyinroq urinib ko'ring."),
                &format!("С этого адреса нельзя начать больше {limit} заявлений в час. Попробуйте позже."),
                &format!("No more than {limit} applications per hour can be started from this address. Please try later."),
            ));
        }
    }
    let window = tashkent_day_start(now);
    let bucket = secret::keyed_hash(&ra.config.otp_secret, "start-pinfl", pinfl);
    let hits = rate_limits::hit_window(ra.store.pool(), &format!("start-pinfl:{bucket}"), window, PINFL_WINDOW_MS).await?;
    let limit = ra.config.starts_per_pinfl_per_day;
    if hits > limit {
        return Err(refuse(
            window,
            PINFL_WINDOW_MS,
            &format!("Bu JShShIR bilan bir kunda {limit} tadan ortiq ariza boshlab bo'lmaydi. Ertaga urinib ko'ring."),
            &format!("С этим ПИНФЛ нельзя начать больше {limit} заявлений в сутки. Попробуйте завтра."),
            &format!("No more than {limit} applications per day can be started with this PINFL. Please try tomorrow."),
        )
        .with_field("pinfl"));
    }
    Ok(())
}

/// Makes a code, stores its hash and queues the SMS, all in `tx`; returns the expiry.
async fn send_code(ra: &Registration, tx: &mut Tx<'_>, draft_id: &str, phone: &str) -> Result<i64, RaError> {
    let now = now_ms();
    if otp::sent_since(&mut **tx, phone, now - 3_600_000).await? >= MAX_CODES_PER_HOUR {
        return Err(too_many_codes());
    }
    let code = Zeroizing::new(secret::random_digits(6).map_err(random_failed)?);
    let hash = secret::keyed_hash(&ra.config.otp_secret, &format!("otp:{draft_id}"), &code);
    let expires = now.saturating_add(ms(ra.config.code_ttl));
    let otp_id = otp::insert(tx, draft_id, phone, &hash, expires).await?;
    let text = Zeroizing::new(texts::code(&code));
    sms(ra, tx, phone, "code", &format!("code:{otp_id}"), &text).await?;
    Ok(expires)
}

pub(crate) async fn start(ra: &Registration, request: StartRequest, client: Option<&str>) -> Result<Started, RaError> {
    let today = crate::fee::tashkent_date(from_ms(ra.config.clock.now_ms()));
    let d = validate(&request, today)?;
    let ra = &super::centres::chosen(ra, request.centre).await?;
    limit_starts(ra, client, &d.pinfl).await?;
    let draft_id = new_id()?;
    let mut tx = ra.store.begin().await?;
    let kind = match d.applicant_type {
        ApplicantType::Individual => "individual",
        ApplicantType::LegalEntity => "legal_entity",
    };
    applications::insert_draft(
        &mut tx,
        &NewDraft {
            centre_id: &ra.ca.centre_id,
            draft_id: &draft_id,
            state: State::Started.as_str(),
            applicant_type: kind,
            pinfl: &d.pinfl,
            surname: &d.surname,
            given_name: &d.given_name,
            patronymic: d.patronymic.as_deref(),
            birth_date: &d.birth_date,
            region: &d.region,
            district: d.district.as_deref(),
            passport: &d.passport,
            phone: &d.phone,
            company_inn: d.company_inn.as_deref(),
            company_name: d.company_name.as_deref(),
            title: d.title.as_deref(),
        },
    )
    .await?;
    let expires = send_code(ra, &mut tx, &draft_id, &d.phone).await?;
    audit(
        ra,
        &mut tx,
        "applicant",
        "application.started",
        &draft_id,
        serde_json::json!({ "applicant_type": kind, "phone": validate::mask_phone(&d.phone) }),
    )
    .await?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(Started { draft_id, phone_masked: validate::mask_phone(&d.phone), code_expires_at: from_ms(expires) })
}

fn no_draft() -> RaError {
    RaError::not_found(
        "no_draft",
        "Ariza qoralamasi topilmadi.",
        "Черновик заявки не найден.",
        "No such draft application.",
    )
}

pub(crate) async fn resend_code(ra: &Registration, draft_id: &str) -> Result<Started, RaError> {
    let mut tx = ra.store.begin().await?;
    let row = applications::by_draft(&mut *tx, draft_id).await?.ok_or_else(no_draft)?;
    let ra = &ra.at(&row.centre_id)?;
    if row.state != State::Started.as_str() {
        return Err(RaError::wrong_state(&row.state));
    }
    if let Some(last) = otp::latest(&mut *tx, draft_id).await? {
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
    }
    let expires = send_code(ra, &mut tx, draft_id, &row.phone).await?;
    audit(ra, &mut tx, "applicant", "application.code_resent", draft_id, serde_json::json!({})).await?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(Started {
        draft_id: draft_id.to_string(),
        phone_masked: validate::mask_phone(&row.phone),
        code_expires_at: from_ms(expires),
    })
}

pub(crate) async fn verify_phone(ra: &Registration, draft_id: &str, code: &str) -> Result<(), RaError> {
    let code = Zeroizing::new(code.trim().to_string());
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RaError::invalid(
            "code",
            "invalid_code",
            "Kod 6 ta raqamdan iborat.",
            "Код состоит из 6 цифр.",
            "The code is 6 digits.",
        ));
    }
    let mut tx = ra.store.begin().await?;
    let row = applications::by_draft(&mut *tx, draft_id).await?.ok_or_else(no_draft)?;
    let ra = &ra.at(&row.centre_id)?;
    let from = State::Started;
    if row.state != from.as_str() {
        return Err(RaError::wrong_state(&row.state));
    }
    let dead = || {
        RaError::not_found(
            "no_code",
            "Amaldagi kod yo'q: yangi kod so'rang.",
            "Действующего кода нет: запросите новый.",
            "There is no live code: please request a new one.",
        )
    };
    let otp_row = otp::latest(&mut *tx, draft_id).await?.ok_or_else(dead)?;
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
        // Retrying this code never succeeds; a new one can be asked for after the resend pause.
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
    let purpose = format!("otp:{draft_id}");
    if !secret::keyed_hash_matches(&ra.config.otp_secret, &purpose, &code, &otp_row.code_hash) {
        let counted = otp::count_wrong_try(&mut tx, otp_row.id, MAX_TRIES).await?;
        tx.commit().await.map_err(imzo_store::StoreError::from)?;
        let left = if counted { MAX_TRIES - otp_row.attempts - 1 } else { 0 };
        return Err(RaError::forbidden(
            "wrong_code",
            &format!("Kod noto'g'ri. Qolgan urinishlar: {left}."),
            &format!("Неверный код. Осталось попыток: {left}."),
            &format!("Wrong code. Tries left: {left}."),
        )
        .with_field("code"));
    }
    if !otp::mark_used(&mut tx, otp_row.id).await? {
        return Err(dead());
    }
    let to = from.next(Event::VerifyPhone).ok_or_else(|| RaError::wrong_state(&row.state))?;
    applications::transition(&mut tx, row.id, from.as_str(), to.as_str()).await?;
    audit(ra, &mut tx, "applicant", "application.phone_verified", draft_id, serde_json::json!({})).await?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(())
}
