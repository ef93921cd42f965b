//! Step 6: an operator's decision, signed with the operator's own certificate.

use super::{audit, by_number, by_number_tx, full_name, operator_auth, sms, texts, view};
use crate::reasons;
use crate::state::{Event, State};
use crate::{
    ApplicationDetails, ApplicationView, Challenge, Decision, DecisionDocument, DocumentInfo, PaymentInfo, RaError,
    Registration,
};
use imzo_store::{applications, documents, payments, time_ms::from_ms};

pub(crate) async fn operator_challenge(ra: &Registration) -> Result<Challenge, RaError> {
    operator_auth::challenge(ra).await
}

fn bad_decision(detail: &str) -> RaError {
    RaError::invalid(
        "signed_decision",
        "malformed_decision",
        &format!("Imzolangan qaror noto'g'ri: {detail}"),
        &format!("Подписанное решение некорректно: {detail}"),
        &format!("The signed decision is malformed: {detail}"),
    )
}

/// Checks a rejection: a listed code (absent = `other`) and free text, required for `other`.
fn rejection(code: Option<&str>, free: &str) -> Result<(reasons::RejectionReason, String), RaError> {
    let code = code.map(str::trim).filter(|c| !c.is_empty()).unwrap_or(reasons::OTHER);
    let listed = reasons::rejection_reason(code).ok_or_else(|| {
        let known: Vec<&str> = reasons::rejection_reasons().iter().map(|r| r.code).collect();
        RaError::invalid(
            "code",
            "unknown_rejection_code",
            &format!("Rad etish sababi ro'yxatda yo'q: {code}. Mavjudlari: {}.", known.join(", ")),
            &format!("Причины отказа нет в списке: {code}. Допустимые: {}.", known.join(", ")),
            &format!("The rejection code is not in the list: {code}. Known codes: {}.", known.join(", ")),
        )
    })?;
    let free = free.trim();
    if free.chars().count() > 500 || free.chars().any(char::is_control) || (listed.code == reasons::OTHER && free.is_empty()) {
        return Err(RaError::invalid(
            "reason",
            "invalid_reason",
            "Rad etish sababini yozing (500 belgigacha).",
            "Укажите причину отказа (до 500 символов).",
            "Give the reason for the rejection (up to 500 characters).",
        ));
    }
    Ok((listed, free.to_string()))
}

pub(crate) async fn operator_decide(ra: &Registration, signed: &[u8]) -> Result<ApplicationView, RaError> {
    let signed = operator_auth::verify_signature(ra, signed, bad_decision)?;
    let doc: DecisionDocument = serde_json::from_slice(&signed.content)
        .map_err(|e| bad_decision(&format!("content is not a decision: {e}")))?;
    let reason = match &doc.decision {
        Decision::Approve => None,
        Decision::Reject { code, reason } => Some(rejection(code.as_deref(), reason)?),
    };
    let presented = operator_auth::challenge_bytes(&doc.challenge_base64, bad_decision)?;

    let mut tx = ra.store.begin().await?;
    let operator = operator_auth::authorise(ra, &mut tx, &signed, &doc.challenge_id, &presented).await?;
    // The operator decides for their own centre only.
    let ra = &ra.at(&operator.row.centre_id)?;
    let cert_sha256 = &operator.cert_sha256;
    let app = by_number_tx(&mut tx, &doc.application).await?;
    if app.centre_id != ra.ca.centre_id {
        return Err(RaError::no_application());
    }
    if reason.is_none() {
        // Approving commits the centre to issue; a rejection is still allowed (and owed).
        super::centres::ensure_active(ra, &mut tx, &app.centre_id).await?;
    }
    let number = app.number.clone().unwrap_or_default();
    let from = State::Paid;
    let event = if reason.is_some() { Event::Reject } else { Event::Approve };
    let to = State::parse(&app.state)
        .filter(|s| *s == from)
        .and_then(|s| s.next(event))
        .ok_or_else(|| RaError::wrong_state(&app.state))?;
    let actor = operator.actor();
    match &reason {
        None => {
            applications::transition(&mut tx, app.id, from.as_str(), to.as_str()).await?;
            let text = texts::approved(&number, &ra.config.public_base_url);
            sms(ra, &mut tx, &app.phone, "approved", &format!("approved:{number}"), &text).await?;
            let details = serde_json::json!({ "operator": operator.row.name, "operator_cert_sha256": cert_sha256 });
            audit(ra, &mut tx, &actor, "application.approved", &number, details).await?;
        }
        Some((listed, free)) => {
            let stored = if free.is_empty() { listed.text.uz.clone() } else { free.clone() };
            applications::reject(&mut tx, app.id, from.as_str(), to.as_str(), &stored).await?;
            applications::set_rejection_code(&mut tx, app.id, listed.code).await?;
            let said = if listed.code == reasons::OTHER || free.is_empty() {
                stored.clone()
            } else {
                format!("{} {free}", listed.text.uz)
            };
            let text = texts::rejected(&number, &said);
            sms(ra, &mut tx, &app.phone, "rejected", &format!("rejected:{number}"), &text).await?;
            let details = serde_json::json!({
                "code": listed.code, "reason": free, "operator": operator.row.name, "operator_cert_sha256": cert_sha256
            });
            audit(ra, &mut tx, &actor, "application.rejected", &number, details).await?;
        }
    }
    let updated = applications::by_id(&mut *tx, app.id).await?.ok_or_else(RaError::no_application)?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(view(&updated))
}

fn details(
    row: &applications::ApplicationRow,
    docs: Vec<documents::DocumentRef>,
    payment: Option<payments::PaymentRow>,
) -> ApplicationDetails {
    // Stored PINFLs were validated on entry; a row that no longer decodes shows nothing.
    let facts = crate::validate::pinfl(&row.pinfl).ok();
    ApplicationDetails {
        view: view(row),
        full_name: full_name(row),
        pinfl: row.pinfl.clone(),
        pinfl_birth_date: facts.map(|f| f.birth_date.to_string()),
        pinfl_sex: facts.map(|f| if f.male { "male" } else { "female" }.to_string()),
        birth_date: row.birth_date.clone(),
        region: row.region.clone(),
        district: row.district.clone(),
        passport: row.passport.clone(),
        phone: row.phone.clone(),
        company_inn: row.company_inn.clone(),
        company_name: row.company_name.clone(),
        title: row.title.clone(),
        submitted_at: from_ms(row.created_at_ms),
        payment: payment.map(|p| PaymentInfo {
            provider: p.provider,
            amount_tiyin: p.amount_tiyin,
            paid_at: (p.state == 2 && p.perform_time_ms > 0).then(|| from_ms(p.perform_time_ms)),
        }),
        documents: docs
            .into_iter()
            .map(|d| DocumentInfo {
                kind: d.kind,
                media_type: d.media_type,
                size: d.size,
                sha256: d.sha256,
                file_name: d.file_name,
            })
            .collect(),
    }
}

pub(crate) async fn application_details(ra: &Registration, number: &str) -> Result<ApplicationDetails, RaError> {
    let row = by_number(ra, number).await?;
    let docs = documents::for_application(ra.store.pool(), row.id).await?;
    let payment = payments::active_for_application(ra.store.pool(), row.id).await?;
    Ok(details(&row, docs, payment))
}

pub(crate) async fn review_queue(ra: &Registration, limit: i64) -> Result<Vec<ApplicationDetails>, RaError> {
    let rows =
        applications::in_state_of_centre(&ra.store, State::Paid.as_str(), &ra.ca.centre_id, limit.clamp(1, 500)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in &rows {
        let docs = documents::for_application(ra.store.pool(), row.id).await?;
        let payment = payments::active_for_application(ra.store.pool(), row.id).await?;
        out.push(details(row, docs, payment));
    }
    Ok(out)
}

pub(crate) async fn document(ra: &Registration, number: &str, kind: &str) -> Result<(String, Vec<u8>), RaError> {
    let row = by_number(ra, number).await?;
    let docs = documents::for_application(ra.store.pool(), row.id).await?;
    let missing = || RaError::not_found("no_document", "Hujjat topilmadi.", "Документ не найден.", "No such document.");
    let doc = docs.into_iter().find(|d| d.kind == kind).ok_or_else(missing)?;
    documents::get(ra.store.pool(), &doc.sha256).await?.ok_or_else(missing)
}
