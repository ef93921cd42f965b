//! Renewal (DESIGN §2): the holder of a valid certificate of this centre applies for a new
//! one by signing the application with the current key. No documents and no review: the
//! person's data come from the reviewed application behind the current certificate; the
//! fee is still paid, then the application is approved automatically by the background
//! job and the holder confirms with the new key as usual.

use super::{audit, lookup, ms, new_id, random_failed, sms, texts};
use crate::state::State;
use crate::{RaError, Registration, RenewalDocument, Submitted, fee, number};
use base64::Engine;
use imzo_store::{
    applications::{self, NewDraft, Submission},
    certificates, challenges,
    time_ms::from_ms,
};

/// Purpose of renewal challenges.
const RENEWAL: &str = "renewal";

pub(crate) async fn renewal_challenge(ra: &Registration) -> Result<crate::Challenge, RaError> {
    lookup::issue_challenge(ra, RENEWAL, None).await
}

fn bad_renewal(detail: &str) -> RaError {
    RaError::invalid(
        "signed_renewal",
        "malformed_renewal",
        &format!("Imzolangan qayta rasmiylashtirish arizasi noto'g'ri: {detail}"),
        &format!("Подписанное заявление на переоформление некорректно: {detail}"),
        &format!("The signed renewal application is malformed: {detail}"),
    )
}

fn not_holder(detail: &str) -> RaError {
    RaError::forbidden(
        "not_a_valid_holder",
        "Ariza ushbu markazning amaldagi sertifikati bilan imzolanmagan.",
        "Заявление подписано не действующим сертификатом этого центра.",
        &format!("The application is not signed with a valid certificate of this centre: {detail}"),
    )
}

pub(crate) async fn renew(ra: &Registration, signed: &[u8]) -> Result<Submitted, RaError> {
    let options = imzo_pki::cms::VerifyOptions {
        anchors: vec![ra.ca.root.clone()],
        at: None,
    };
    let report =
        imzo_pki::cms::verify(signed, None, &options).map_err(|e| bad_renewal(&e.to_string()))?;
    if !report.all_valid() || report.signers.len() != 1 {
        let problems: Vec<String> = report
            .signers
            .iter()
            .flat_map(|s| s.errors.iter().map(|p| p.code.clone()))
            .collect();
        return Err(not_holder(&format!(
            "signature not valid ({})",
            problems.join(", ")
        )));
    }
    let cert = report.signers[0]
        .certificate
        .as_ref()
        .ok_or_else(|| not_holder("no signer certificate"))?;
    let serial = imzo_pki::cert::info(cert)
        .map_err(RaError::internal)?
        .serial_hex
        .to_lowercase();
    let doc: RenewalDocument = serde_json::from_slice(&report.content)
        .map_err(|e| bad_renewal(&format!("content is not a renewal application: {e}")))?;
    let csr = base64::engine::general_purpose::STANDARD
        .decode(doc.csr_base64.trim())
        .map_err(|_| bad_renewal("csr_base64 is not base64"))?;
    let info = imzo_pki::csr::parse_and_verify(&csr).map_err(|e| super::submit::bad_csr(&e.to_string()))?;
    let presented = base64::engine::general_purpose::STANDARD
        .decode(doc.challenge_base64.trim())
        .map_err(|_| bad_renewal("challenge_base64 is not base64"))?;

    let now = ra.config.clock.now_ms();
    let current = certificates::by_serial(ra.store.pool(), &serial)
        .await?
        .ok_or_else(|| not_holder("unknown certificate"))?;
    // A holder renews within the centre that issued the current certificate: its audit
    // chain, SMS and the new certificate's CA (centre 1 is only the default for new
    // applicants).
    let holder_centre = ra
        .centre_cas()
        .into_iter()
        .find(|c| c.ca_id == current.ca_id)
        .map(|c| c.centre_id.clone())
        .ok_or_else(|| not_holder("certificate of a centre this deployment does not run"))?;
    let ra = &ra.at(&holder_centre)?;
    if super::centres::standing(ra, ra.store.pool(), &holder_centre).await?.is_some() {
        return Err(not_holder("the centre that issued the certificate no longer issues (revoked by the authorised body)"));
    }
    if current.status != "good" {
        return Err(not_holder("certificate revoked or suspended"));
    }
    if current.not_after_ms <= now {
        return Err(not_holder("certificate expired"));
    }
    let old_id = current
        .application_id
        .ok_or_else(|| not_holder("certificate without an application"))?;
    let old = applications::by_id(ra.store.pool(), old_id)
        .await?
        .ok_or_else(|| not_holder("application missing"))?;
    if old.public_key_der.as_deref() == Some(info.public_key_der.as_slice()) {
        return Err(RaError::invalid(
            "csr",
            "same_key",
            "Yangi sertifikat uchun yangi kalit yarating.",
            "Для нового сертификата создайте новый ключ.",
            "Make a new key for the new certificate; the request carries the current one.",
        ));
    }

    let today = fee::tashkent_date(from_ms(now));
    let bcv = fee::bcv_on(&ra.config.bcv_table, today).ok_or_else(|| {
        RaError::internal(format!("no base calculation value configured for {today}"))
    })?;
    let fee_tiyin = fee::fee_tiyin(bcv, fee::fee_percent(super::applicant_type(&old)))?;
    let pay_before_ms = now.saturating_add(ms(ra.config.payment_window));
    let draft_id = new_id()?;

    let mut tx = ra.store.begin().await?;
    super::key_reuse::refuse_certified_key(ra, &mut tx, &info.public_key_der).await?;
    let challenge = challenges::get(&mut *tx, &doc.challenge_id)
        .await?
        .ok_or_else(lookup::challenge_invalid)?;
    if challenge.purpose != RENEWAL || challenge.challenge != presented {
        return Err(lookup::challenge_invalid());
    }
    if !challenges::consume(&mut tx, &doc.challenge_id, RENEWAL, now).await? {
        return Err(lookup::challenge_invalid());
    }
    let id = applications::insert_draft(
        &mut tx,
        &NewDraft {
            centre_id: &ra.ca.centre_id,
            draft_id: &draft_id,
            state: State::Started.as_str(),
            applicant_type: &old.applicant_type,
            pinfl: &old.pinfl,
            surname: &old.surname,
            given_name: &old.given_name,
            patronymic: old.patronymic.as_deref(),
            birth_date: &old.birth_date,
            region: &old.region,
            district: old.district.as_deref(),
            passport: &old.passport,
            phone: &old.phone,
            company_inn: old.company_inn.as_deref(),
            company_name: old.company_name.as_deref(),
            title: old.title.as_deref(),
        },
    )
    .await?;
    let mut app_number = None;
    for _ in 0..8 {
        let candidate = number::new_number().map_err(random_failed)?;
        if !applications::number_taken(&mut tx, &candidate).await? {
            app_number = Some(candidate);
            break;
        }
    }
    let app_number =
        app_number.ok_or_else(|| RaError::internal("no free application number after 8 tries"))?;
    // The renewal path enters the graph at awaiting_payment: the holder's signature
    // stands for the phone check and the documents of a first application.
    applications::submit(
        &mut tx,
        id,
        State::Started.as_str(),
        State::AwaitingPayment.as_str(),
        &Submission {
            number: &app_number,
            csr_der: &csr,
            public_key_der: &info.public_key_der,
            fee_tiyin,
            bcv_tiyin: bcv,
            pay_before_ms,
        },
    )
    .await?;
    applications::mark_renewal(&mut tx, id, &serial).await?;
    let pay_before = from_ms(pay_before_ms);
    let text = texts::accepted(&app_number, fee_tiyin, pay_before);
    sms(
        ra,
        &mut tx,
        &old.phone,
        "accepted",
        &format!("accepted:{app_number}"),
        &text,
    )
    .await?;
    let details =
        serde_json::json!({ "renewal_of": serial, "fee_tiyin": fee_tiyin, "bcv_tiyin": bcv });
    audit(
        ra,
        &mut tx,
        &format!("holder:{serial}"),
        "application.renewal_submitted",
        &app_number,
        details,
    )
    .await?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(Submitted {
        number: app_number,
        fee_tiyin,
        pay_before,
    })
}
