//! Steps 3–4: key request and documents in, application number and fee out.

use super::{audit, ms, random_failed, sms, texts};
use crate::state::{Event, State};
use crate::{RaError, Registration, Submitted, Upload, fee, number, upload};
use base64::Engine;
use imzo_store::{
    applications::{self, Submission},
    documents,
    time_ms::{from_ms, now_ms},
};

/// A request we cannot use: the same words in every language, the parser's in `detail`.
pub(crate) fn bad_csr(detail: &str) -> RaError {
    RaError::invalid(
        "csr",
        "invalid_csr",
        "Kalit so'rovi (PKCS#10) yaroqsiz. ECDSA P-256 (yoki milliy algoritm) kaliti bilan yaratilgan va shu kalit bilan imzolangan so'rov kerak: so'rovni imzo moduli yoki «imzo enroll» bilan qayta yarating.",
        "Запрос на сертификат (PKCS#10) непригоден. Нужен запрос с ключом ECDSA P-256 (или национального алгоритма), подписанный этим ключом: создайте запрос заново модулем подписи или «imzo enroll».",
        "The key request (PKCS#10) cannot be used. A request for an ECDSA P-256 (or national algorithm) key, signed with that key, is required: make it again with the signing module or `imzo enroll`.",
    )
    .with_detail(detail)
}

/// The DER of a request given as PEM or DER.
fn csr_der(bytes: &[u8]) -> Result<Vec<u8>, RaError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(text) if text.trim_start().starts_with("-----BEGIN") => text,
        _ => return Ok(bytes.to_vec()),
    };
    let body: String = text
        .lines()
        .map(str::trim)
        .skip_while(|l| !l.starts_with("-----BEGIN"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body).map_err(|_| bad_csr("bad PEM"))
}

pub(crate) async fn submit(
    ra: &Registration,
    draft_id: &str,
    csr: &[u8],
    passport_scan: Upload,
    selfie: Upload,
) -> Result<Submitted, RaError> {
    let draft = applications::by_draft(ra.store.pool(), draft_id).await?.ok_or_else(RaError::no_application)?;
    let ra = &ra.at(&draft.centre_id)?;
    let from = State::PhoneVerified;
    if draft.state != from.as_str() {
        return Err(RaError::wrong_state(&draft.state));
    }
    let to = from.next(Event::Submit).ok_or_else(|| RaError::wrong_state(&draft.state))?;
    if csr.is_empty() {
        return Err(bad_csr("empty"));
    }
    let info = imzo_pki::csr::parse_and_verify(csr).map_err(|e| bad_csr(&e.to_string()))?;
    let csr_der = csr_der(csr)?;
    let passport_doc = upload::check("passport", &passport_scan)?;
    let selfie_doc = upload::check("selfie", &selfie)?;
    if passport_doc.sha256_hex == selfie_doc.sha256_hex {
        // One file twice cannot be both the passport page and the person holding it.
        return Err(RaError::invalid(
            "selfie",
            "same_document_twice",
            "Pasport bilan tushgan surat pasport nusxasining o'zi: pasportni qo'lingizda ushlab tushgan suratingizni yuklang.",
            "Фото с паспортом совпадает со сканом паспорта: загрузите своё фото с паспортом в руке.",
            "The selfie is the same file as the passport scan: upload a photo of yourself holding the passport.",
        ));
    }

    let now = now_ms();
    let today = fee::tashkent_date(from_ms(now));
    let bcv = fee::bcv_on(&ra.config.bcv_table, today)
        .ok_or_else(|| RaError::internal(format!("no base calculation value configured for {today}")))?;
    let fee_tiyin = fee::fee_tiyin(bcv, fee::fee_percent(super::applicant_type(&draft)))?;
    let pay_before_ms = now.saturating_add(ms(ra.config.payment_window));

    let mut tx = ra.store.begin().await?;
    super::key_reuse::refuse_certified_key(ra, &mut tx, &info.public_key_der).await?;
    super::key_reuse::refuse_key_in_open_application(&mut tx, &info.public_key_der, draft.id).await?;
    let mut number = None;
    for _ in 0..8 {
        let candidate = number::new_number().map_err(random_failed)?;
        if !applications::number_taken(&mut tx, &candidate).await? {
            number = Some(candidate);
            break;
        }
    }
    let number = number.ok_or_else(|| RaError::internal("no free application number after 8 tries"))?;
    applications::submit(
        &mut tx,
        draft.id,
        from.as_str(),
        to.as_str(),
        &Submission {
            number: &number,
            csr_der: &csr_der,
            public_key_der: &info.public_key_der,
            fee_tiyin,
            bcv_tiyin: bcv,
            pay_before_ms,
        },
    )
    .await?;
    for (kind, doc, up) in [("passport", &passport_doc, &passport_scan), ("selfie", &selfie_doc, &selfie)] {
        documents::put(&mut tx, &doc.sha256_hex, doc.media_type, &up.bytes).await?;
        let name = up.file_name.as_deref().map(|n| n.chars().take(200).collect::<String>());
        documents::link(&mut tx, draft.id, kind, &doc.sha256_hex, name.as_deref()).await?;
    }
    let pay_before = from_ms(pay_before_ms);
    sms(
        ra,
        &mut tx,
        &draft.phone,
        "accepted",
        &format!("accepted:{number}"),
        &texts::accepted(&number, fee_tiyin, pay_before),
    )
    .await?;
    audit(
        ra,
        &mut tx,
        "applicant",
        "application.submitted",
        &number,
        serde_json::json!({
            "draft_id": draft_id,
            "fee_tiyin": fee_tiyin,
            "bcv_tiyin": bcv,
            "passport_sha256": passport_doc.sha256_hex,
            "selfie_sha256": selfie_doc.sha256_hex,
        }),
    )
    .await?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(Submitted { number, fee_tiyin, pay_before })
}
