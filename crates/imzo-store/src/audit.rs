//! The audit log: one row per state change, written in the same transaction as the change.

use crate::{StoreError, Tx, time_ms::now_ms};

/// One audit record. `details` is JSON and must never hold secrets.
#[derive(Debug, Clone)]
pub struct AuditEntry<'a> {
    /// Centre the change belongs to, if any.
    pub centre_id: Option<&'a str>,
    /// Who acted: `applicant`, `operator:<id>`, `payme`, `system`, ...
    pub actor: &'a str,
    /// What happened: `application.started`, `certificate.issued`, ...
    pub action: &'a str,
    /// What it happened to: application number, draft id, certificate serial.
    pub subject: &'a str,
    /// Details as JSON.
    pub details: serde_json::Value,
}

/// Writes `entry` inside `tx`.
pub async fn record(tx: &mut Tx<'_>, entry: AuditEntry<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO audit_log (at_ms, centre_id, actor, action, subject, details) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(now_ms())
    .bind(entry.centre_id)
    .bind(entry.actor)
    .bind(entry.action)
    .bind(entry.subject)
    .bind(entry.details.to_string())
    .execute(&mut **tx)
    .await?;
    Ok(())
}
