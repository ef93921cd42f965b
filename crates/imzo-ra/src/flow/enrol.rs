//! Step 7, confirmation: proof of possession, then issuance in the same commit as the
//! state change.

use super::{audit, full_name, lookup, sms, texts};
use crate::state::{Event, State};
use crate::{Issued, RaError, Registration};
use imzo_pki::name::Subject;
use imzo_store::applications::{self, ApplicationRow};

/// The certificate subject, built from the reviewed fields (never from the request).
pub(crate) fn subject(row: &ApplicationRow) -> Subject {
    let legal = row.applicant_type == "legal_entity";
    Subject {
        common_name: full_name(row),
        surname: Some(row.surname.to_uppercase()),
        given_name: Some(row.given_name.to_uppercase()),
        locality: row.district.clone(),
        state: Some(row.region.clone()),
        country: Some("UZ".to_string()),
        pinfl: Some(row.pinfl.clone()),
        organization: if legal { row.company_name.clone() } else { None },
        title: if legal { row.title.clone() } else { None },
        company_inn: if legal { row.company_inn.clone() } else { None },
        business_category: legal.then(|| "Legal entity".to_string()),
        ..Subject::default()
    }
}

pub(crate) async fn confirm(
    ra: &Registration,
    number: &str,
    challenge_id: &str,
    cms: &[u8],
) -> Result<Issued, RaError> {
    let mut tx = ra.store.begin().await?;
    let app = match lookup::check_proof(&mut tx, number, challenge_id, cms).await? {
        Ok(app) => app,
        Err(refusal) => {
            tx.commit().await.map_err(imzo_store::StoreError::from)?;
            return Err(refusal);
        }
    };
    let from = State::Approved;
    if app.state == State::Issued.as_str() && app.certificate_serial.is_some() {
        // A repeat by the same key (the proof was checked against the application's key):
        // the first answer was lost on the way, so the issued certificate is the answer
        // again. Nothing changes; only the challenge is used up.
        tx.commit().await.map_err(imzo_store::StoreError::from)?;
        tracing::info!(application = %app.number.as_deref().unwrap_or_default(), "repeated confirmation answered with the issued certificate");
        return lookup::certificate(ra, app.number.as_deref().unwrap_or_default()).await;
    }
    if app.state != from.as_str() {
        tx.commit().await.map_err(imzo_store::StoreError::from)?;
        return Err(RaError::wrong_state(&app.state));
    }
    let to = from.next(Event::Confirm).ok_or_else(|| RaError::wrong_state(&app.state))?;
    // The centre the applicant chose issues — while its registration stands.
    let ra = &ra.at(&app.centre_id)?;
    if let Err(refusal) = super::centres::ensure_active(ra, &mut tx, &app.centre_id).await {
        tx.commit().await.map_err(imzo_store::StoreError::from)?;
        return Err(refusal);
    }
    let number = app.number.clone().unwrap_or_default();
    let number = number.as_str();
    let key = app.public_key_der.clone().ok_or_else(|| RaError::wrong_state(&app.state))?;
    // Two pending applications may carry one key; only the first to confirm gets it.
    if let Err(refusal) = super::key_reuse::refuse_certified_key(ra, &mut tx, &key).await {
        tx.commit().await.map_err(imzo_store::StoreError::from)?;
        return Err(refusal);
    }
    let issued = ra
        .ca
        .issue_holder(&mut tx, &subject(&app), &key, Some(app.id))
        .await
        .map_err(|e| RaError::internal(format!("issuing for application {number}: {e}")))?;
    applications::issue(&mut tx, app.id, from.as_str(), to.as_str(), &issued.serial_hex).await?;
    sms(
        ra,
        &mut tx,
        &app.phone,
        "ready",
        &format!("ready:{number}"),
        &texts::ready(number, &ra.config.public_base_url),
    )
    .await?;
    audit(ra, &mut tx, "applicant", "certificate.issued", number, serde_json::json!({ "serial": issued.serial_hex }))
        .await?;
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    Ok(Issued {
        serial: issued.serial_hex,
        certificate_pem: imzo_pki::cert::to_pem(&issued.certificate).map_err(RaError::internal)?,
        chain_pem: lookup::chain_pem(ra)?,
    })
}
