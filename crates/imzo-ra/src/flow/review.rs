//! Step 6: an operator's decision, signed with the operator's own certificate.

use super::{audit, by_number, by_number_tx, full_name, lookup, sms, texts, view};
use crate::reasons;
use crate::state::{Event, State};
use crate::{
    ApplicationDetails, ApplicationView, Challenge, Decision, DecisionDocument, DocumentInfo, RaError, Registration,
};
use base64::Engine;
use imzo_store::{
    applications, cas, challenges, documents,
    time_ms::{from_ms, now_ms},
};
use sha2::Digest;

/// Purpose of operator decision challenges.
const OPERATOR: &str = "operator";

pub(crate) async fn operator_challenge(ra: &Registration) -> Result<Challenge, RaError> {
    lookup::issue_challenge(ra, OPERATOR, None).await
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

fn not_operator(detail: &str) -> RaError {
    RaError::forbidden(
        "not_operator",
        "Imzo ushbu markazning faol operatoriga tegishli emas.",
        "Подпись не принадлежит действующему оператору этого центра.",
        &format!("The signature is not by an active operator of this centre: {detail}"),
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
    let options = imzo_pki::cms::VerifyOptions { anchors: vec![ra.ca.root.clone()], at: None };
    let report = imzo_pki::cms::verify(signed, None, &options).map_err(|e| bad_decision(&e.to_string()))?;
    if !report.all_valid() || report.signers.len() != 1 {
        let problems: Vec<String> =
            report.signers.iter().flat_map(|s| s.errors.iter().map(|p| p.code.clone())).collect();
        return Err(RaError::forbidden(
            "bad_signature",
            "Qaror imzosi tekshiruvdan o'tmadi.",
            "Подпись решения не прошла проверку.",
            &format!("The decision's signature is not valid ({}).", problems.join(", ")),
        ));
    }
    let cert = report.signers[0].certificate.as_ref().ok_or_else(|| not_operator("no signer certificate"))?;
    let cert_der = imzo_pki::cert::to_der(cert).map_err(RaError::internal)?;
    let cert_sha256 = hex::encode(sha2::Sha256::digest(&cert_der));
    let doc: DecisionDocument = serde_json::from_slice(&report.content)
        .map_err(|e| bad_decision(&format!("content is not a decision: {e}")))?;
    let reason = match &doc.decision {
        Decision::Approve => None,
        Decision::Reject { code, reason } => Some(rejection(code.as_deref(), reason)?),
    };
    let presented = base64::engine::general_purpose::STANDARD
        .decode(doc.challenge_base64.trim())
        .map_err(|_| bad_decision("challenge_base64 is not base64"))?;

    let mut tx = ra.store.begin().await?;
    let operator = cas::lookup_operator_by_cert_sha256(&mut *tx, &cert_sha256)
        .await?
        .ok_or_else(|| not_operator("certificate not registered"))?;
    if operator.disabled_at_ms.is_some() {
        return Err(not_operator("operator disabled"));
    }
    if operator.centre_id != ra.ca.centre_id {
        return Err(not_operator("operator of another centre"));
    }
    let challenge = challenges::get(&mut *tx, &doc.challenge_id).await?.ok_or_else(lookup::challenge_invalid)?;
    if challenge.purpose != OPERATOR || challenge.challenge != presented {
        return Err(lookup::challenge_invalid());
    }
    if !challenges::consume(&mut tx, &doc.challenge_id, OPERATOR, now_ms()).await? {
        return Err(lookup::challenge_invalid());
    }
    let app = by_number_tx(&mut tx, &doc.application).await?;
    if app.centre_id != ra.ca.centre_id {
        return Err(RaError::no_application());
    }
    let number = app.number.clone().unwrap_or_default();
    let from = State::Paid;
    let event = if reason.is_some() { Event::Reject } else { Event::Approve };
    let to = State::parse(&app.state)
        .filter(|s| *s == from)
        .and_then(|s| s.next(event))
        .ok_or_else(|| RaError::wrong_state(&app.state))?;
    let actor = format!("operator:{}", operator.id);
    match &reason {
        None => {
            applications::transition(&mut tx, app.id, from.as_str(), to.as_str()).await?;
            let text = texts::approved(&number, &ra.config.public_base_url);
            sms(ra, &mut tx, &app.phone, "approved", &format!("approved:{number}"), &text).await?;
            let details = serde_json::json!({ "operator": operator.name, "operator_cert_sha256": cert_sha256 });
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
                "code": listed.code, "reason": free, "operator": operator.name, "operator_cert_sha256": cert_sha256
            });
            audit(ra, &mut tx, &actor, "application.rejected", &number, details).await?;
        }
    }
    let updated = applications::by_id(&mut *tx, app.id).await?.ok_or_else(RaError::no_application)?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(view(&updated))
}

fn details(row: &applications::ApplicationRow, docs: Vec<documents::DocumentRef>) -> ApplicationDetails {
    ApplicationDetails {
        view: view(row),
        full_name: full_name(row),
        pinfl: row.pinfl.clone(),
        birth_date: row.birth_date.clone(),
        region: row.region.clone(),
        district: row.district.clone(),
        passport: row.passport.clone(),
        phone: row.phone.clone(),
        company_inn: row.company_inn.clone(),
        company_name: row.company_name.clone(),
        title: row.title.clone(),
        submitted_at: from_ms(row.created_at_ms),
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
    Ok(details(&row, docs))
}

pub(crate) async fn review_queue(ra: &Registration, limit: i64) -> Result<Vec<ApplicationDetails>, RaError> {
    let rows = applications::in_state(&ra.store, State::Paid.as_str(), limit.clamp(1, 500)).await?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows.iter().filter(|r| r.centre_id == ra.ca.centre_id) {
        let docs = documents::for_application(ra.store.pool(), row.id).await?;
        out.push(details(row, docs));
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
