//! The authorised body's own status changes: revoking, suspending or releasing a
//! certificate the root issued (a centre CA's). Whoever runs this holds the deployment's
//! data folder and database, which is what the authorised body is in the embedded
//! default; the change reaches `/crl/root.crl` like any other reaches a centre's CRL.

use crate::bootstrap::ROOT_ID;
use crate::revocation::{RevocationAction, StatusView};
use crate::revocation_error::StatusError;
use imzo_pki::crl::RevocationReason;
use imzo_store::{
    Store,
    audit::{self, AuditEntry},
    certificates, status,
    time_ms::{from_ms, now_ms},
};

/// Who is recorded as having acted.
pub const ACTOR: &str = "authorised_body";

/// Applies `action` (with `reason` for a revocation; default `cACompromise`) to the
/// root-issued certificate `serial`, in one audited transaction.
pub async fn change(
    store: &Store,
    serial: &str,
    action: RevocationAction,
    reason: Option<RevocationReason>,
) -> Result<StatusView, StatusError> {
    let serial = serial.trim().trim_start_matches("0x").to_ascii_lowercase();
    if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StatusError::bad("invalid_serial", format!("serial {serial:?} is not hex")));
    }
    let reason = match action {
        RevocationAction::Hold => Some(RevocationReason::CertificateHold),
        RevocationAction::Release => None,
        RevocationAction::Revoke => Some(reason.unwrap_or(RevocationReason::CaCompromise)),
    };
    let mut tx = store.begin().await?;
    let target = certificates::by_serial(&mut *tx, &serial)
        .await?
        .ok_or_else(|| StatusError::NotFound(format!("certificate {serial}")))?;
    if target.ca_id != ROOT_ID {
        return Err(StatusError::NotFound(format!("certificate {serial} issued by the root")));
    }
    let now = now_ms();
    let view = match reason {
        Some(reason) => {
            let before = status::revoke(&mut tx, &serial, reason.code(), now).await?;
            let action = if reason == RevocationReason::CertificateHold { "certificate.held" } else { "certificate.revoked" };
            audit::record(
                &mut tx,
                AuditEntry {
                    centre_id: None,
                    actor: ACTOR,
                    action,
                    subject: &serial,
                    details: serde_json::json!({ "reason": reason.name(), "previous_status": before.status,
                        "previous_reason": before.reason, "issuer": ROOT_ID }),
                },
            )
            .await?;
            let state = if reason == RevocationReason::CertificateHold { "on_hold" } else { "revoked" };
            StatusView {
                serial: serial.clone(),
                status: state.into(),
                reason: Some(reason.name().into()),
                revoked_at: Some(from_ms(now)),
                by: ACTOR.into(),
            }
        }
        None => {
            status::release(&mut tx, &serial, now).await?;
            audit::record(
                &mut tx,
                AuditEntry {
                    centre_id: None,
                    actor: ACTOR,
                    action: "certificate.released",
                    subject: &serial,
                    details: serde_json::json!({ "issuer": ROOT_ID }),
                },
            )
            .await?;
            StatusView { serial: serial.clone(), status: "good".into(), reason: None, revoked_at: None, by: ACTOR.into() }
        }
    };
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    tracing::info!(serial = %serial, status = %view.status, "root-issued certificate status changed");
    Ok(view)
}
