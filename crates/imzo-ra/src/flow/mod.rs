//! The workflow steps, one file per stage; `api.rs` exposes them as methods.

pub(crate) mod books;
pub(crate) mod centres;
pub(crate) mod click;
pub(crate) mod deadlines;
pub(crate) mod enrol;
pub(crate) mod key_reuse;
pub(crate) mod lookup;
pub(crate) mod lost_key;
pub(crate) mod payme;
pub(crate) mod paynet;
pub(crate) mod phone;
pub(crate) mod renewal;
pub(crate) mod operator_auth;
pub(crate) mod operator_view;
pub(crate) mod operator_trail;
pub(crate) mod review;
pub(crate) mod sms_delivery;
pub(crate) mod submit;
pub(crate) mod texts;

use crate::{ApplicantType, ApplicationView, RaError, Registration, number, secret};
use imzo_store::{
    Tx,
    applications::{self, ApplicationRow},
    audit::{self, AuditEntry},
    outbox::{self, NewSms},
    time_ms::from_ms,
};
use std::time::Duration;

/// A duration as i64 milliseconds (saturating).
pub(crate) fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

pub(crate) fn random_failed(e: getrandom::Error) -> RaError {
    RaError::internal(format!("random source failed: {e}"))
}

/// The stored applicant type.
pub(crate) fn applicant_type(row: &ApplicationRow) -> ApplicantType {
    if row.applicant_type == "legal_entity" { ApplicantType::LegalEntity } else { ApplicantType::Individual }
}

/// "SURNAME GIVEN PATRONYMIC", upper-cased as in national certificates.
pub(crate) fn full_name(row: &ApplicationRow) -> String {
    let mut parts = vec![row.surname.as_str(), row.given_name.as_str()];
    if let Some(p) = row.patronymic.as_deref() {
        parts.push(p);
    }
    parts.join(" ").to_uppercase()
}

/// What an applicant sees.
pub(crate) fn view(row: &ApplicationRow) -> ApplicationView {
    ApplicationView {
        number: row.number.clone().unwrap_or_default(),
        state: row.state.clone(),
        applicant_type: applicant_type(row),
        full_name: full_name(row),
        fee_tiyin: row.fee_tiyin.unwrap_or(0),
        pay_before: from_ms(row.pay_before_ms.unwrap_or(0)),
        rejection_reason: row.rejection_reason.clone(),
        certificate_serial: row.certificate_serial.clone(),
    }
}

/// Loads an application by number; a malformed number is simply not found.
pub(crate) async fn by_number(ra: &Registration, number: &str) -> Result<ApplicationRow, RaError> {
    let number = number.trim();
    if !number::is_valid_number(number) {
        return Err(RaError::no_application());
    }
    applications::by_number(ra.store.pool(), number).await?.ok_or_else(RaError::no_application)
}

/// Loads an application by number inside `tx`.
pub(crate) async fn by_number_tx(tx: &mut Tx<'_>, number: &str) -> Result<ApplicationRow, RaError> {
    let number = number.trim();
    if !number::is_valid_number(number) {
        return Err(RaError::no_application());
    }
    applications::by_number(&mut **tx, number).await?.ok_or_else(RaError::no_application)
}

/// Writes the audit record of a change.
pub(crate) async fn audit(
    ra: &Registration,
    tx: &mut Tx<'_>,
    actor: &str,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> Result<(), RaError> {
    audit::record(tx, AuditEntry { centre_id: Some(&ra.ca.centre_id), actor, action, subject, details }).await?;
    Ok(())
}

/// Writes the audit record of a change to application `application_id` in its own
/// centre's audit chain. Payment providers call one endpoint for every centre, so the
/// handle they reach acts for the default centre; the application says whose it is.
pub(crate) async fn audit_of_application(
    tx: &mut Tx<'_>,
    application_id: i64,
    actor: &str,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> Result<(), RaError> {
    let app = applications::by_id(&mut **tx, application_id)
        .await?
        .ok_or_else(|| RaError::internal(format!("application {application_id} vanished inside its own transaction")))?;
    audit::record(tx, AuditEntry { centre_id: Some(&app.centre_id), actor, action, subject, details }).await?;
    Ok(())
}

/// Queues an SMS in `tx` (dropped if its event was queued before).
pub(crate) async fn sms(
    ra: &Registration,
    tx: &mut Tx<'_>,
    phone: &str,
    kind: &str,
    dedupe_key: &str,
    text: &str,
) -> Result<(), RaError> {
    outbox::enqueue(tx, &NewSms { centre_id: &ra.ca.centre_id, phone, text, kind, dedupe_key }).await?;
    Ok(())
}

/// A fresh 128-bit identifier, hex.
pub(crate) fn new_id() -> Result<String, RaError> {
    secret::random_hex(16).map_err(random_failed)
}
