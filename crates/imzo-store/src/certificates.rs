//! Issued certificates and their status.

use crate::{Any, StoreError, Tx, time_ms::now_ms};
use sqlx::{Executor, Row, any::AnyRow};

/// A certificate to record at issuance.
#[derive(Debug, Clone)]
pub struct NewCertificate<'a> {
    /// Serial, lower-case hex.
    pub serial: &'a str,
    /// Issuing CA id.
    pub ca_id: &'a str,
    /// The application it was issued for, if any (operators' and CAs' have none).
    pub application_id: Option<i64>,
    /// Subject, RFC 4514 text.
    pub subject: &'a str,
    /// PINFL in the subject, if any.
    pub pinfl: Option<&'a str>,
    /// Company INN in the subject, if any.
    pub inn: Option<&'a str>,
    /// Start of validity, UTC ms.
    pub not_before_ms: i64,
    /// End of validity, UTC ms.
    pub not_after_ms: i64,
    /// DER certificate.
    pub cert_der: &'a [u8],
}

/// A recorded certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateRow {
    /// Serial, lower-case hex.
    pub serial: String,
    /// Issuing CA id.
    pub ca_id: String,
    /// The application it was issued for.
    pub application_id: Option<i64>,
    /// Subject, RFC 4514 text.
    pub subject: String,
    /// PINFL, if any.
    pub pinfl: Option<String>,
    /// Company INN, if any.
    pub inn: Option<String>,
    /// Start of validity, UTC ms.
    pub not_before_ms: i64,
    /// End of validity, UTC ms.
    pub not_after_ms: i64,
    /// DER certificate.
    pub cert_der: Vec<u8>,
    /// `good` or `revoked`.
    pub status: String,
    /// Revoked at, UTC ms.
    pub revoked_at_ms: Option<i64>,
    /// RFC 5280 CRLReason code.
    pub revocation_reason: Option<i64>,
    /// Recorded at, UTC ms.
    pub created_at_ms: i64,
}

fn from_row(r: &AnyRow) -> Result<CertificateRow, sqlx::Error> {
    Ok(CertificateRow {
        serial: r.try_get("serial")?,
        ca_id: r.try_get("ca_id")?,
        application_id: r.try_get("application_id")?,
        subject: r.try_get("subject")?,
        pinfl: r.try_get("pinfl")?,
        inn: r.try_get("inn")?,
        not_before_ms: r.try_get("not_before_ms")?,
        not_after_ms: r.try_get("not_after_ms")?,
        cert_der: r.try_get("cert_der")?,
        status: r.try_get("status")?,
        revoked_at_ms: r.try_get("revoked_at_ms")?,
        revocation_reason: r.try_get("revocation_reason")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

/// Records a freshly issued certificate (status `good`) in `tx`. A serial recorded
/// before is a [`StoreError::Conflict`]: serials are never reused.
/// The SHA-256 of the certificate's public key is recorded with it ([`by_spki_sha256`]).
pub async fn insert(tx: &mut Tx<'_>, c: &NewCertificate<'_>) -> Result<(), StoreError> {
    let spki_hash = crate::spki::spki_sha256_of_cert(c.cert_der).ok_or_else(|| {
        StoreError::Invalid(format!("certificate {} has no readable SubjectPublicKeyInfo", c.serial))
    })?;
    let row = sqlx::query(
        "INSERT INTO certificates (serial, ca_id, application_id, subject, pinfl, inn, not_before_ms, not_after_ms, cert_der, status, created_at_ms, spki_sha256) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'good', $10, $11) ON CONFLICT (serial) DO NOTHING RETURNING serial",
    )
    .bind(c.serial)
    .bind(c.ca_id)
    .bind(c.application_id)
    .bind(c.subject)
    .bind(c.pinfl)
    .bind(c.inn)
    .bind(c.not_before_ms)
    .bind(c.not_after_ms)
    .bind(c.cert_der)
    .bind(now_ms())
    .bind(spki_hash)
    .fetch_optional(&mut **tx)
    .await?;
    match row {
        Some(_) => Ok(()),
        None => Err(StoreError::Conflict(format!("certificate serial {} already recorded", c.serial))),
    }
}

/// SHA-256 of a DER SubjectPublicKeyInfo, lower-case hex: the key a certificate row is
/// found by in [`by_spki_sha256`].
pub fn spki_sha256(spki_der: &[u8]) -> String {
    crate::spki::spki_sha256(spki_der)
}

/// The SHA-256 (lower-case hex) of a DER certificate's SubjectPublicKeyInfo, if readable.
pub fn cert_spki_sha256(cert_der: &[u8]) -> Option<String> {
    crate::spki::spki_sha256_of_cert(cert_der)
}

/// Serials of the recorded certificates (any status, any CA) whose public key has this
/// SHA-256 ([`spki_sha256`]).
pub async fn by_spki_sha256<'e, E: Executor<'e, Database = Any>>(ex: E, spki_sha256: &str) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query("SELECT serial FROM certificates WHERE spki_sha256 = $1 ORDER BY serial")
        .bind(spki_sha256)
        .fetch_all(ex)
        .await?;
    Ok(rows.iter().map(|r| r.try_get("serial")).collect::<Result<_, _>>()?)
}

/// Records the key hash of certificates recorded before the column existed (at most
/// `limit` per call); returns how many were filled. Unreadable ones are left empty and
/// logged.
pub async fn fill_missing_spki_hashes(tx: &mut Tx<'_>, limit: i64) -> Result<usize, StoreError> {
    let rows = sqlx::query("SELECT serial, cert_der FROM certificates WHERE spki_sha256 IS NULL ORDER BY serial LIMIT $1")
        .bind(limit)
        .fetch_all(&mut **tx)
        .await?;
    let mut filled = 0;
    for row in &rows {
        let serial: String = row.try_get("serial")?;
        let der: Vec<u8> = row.try_get("cert_der")?;
        let Some(hash) = crate::spki::spki_sha256_of_cert(&der) else {
            tracing::warn!(serial, "recorded certificate has no readable public key");
            continue;
        };
        sqlx::query("UPDATE certificates SET spki_sha256 = $1 WHERE serial = $2 AND spki_sha256 IS NULL")
            .bind(hash)
            .bind(&serial)
            .execute(&mut **tx)
            .await?;
        filled += 1;
    }
    Ok(filled)
}

/// The certificate with this serial (lower-case hex), if recorded.
pub async fn by_serial<'e, E: Executor<'e, Database = Any>>(ex: E, serial: &str) -> Result<Option<CertificateRow>, StoreError> {
    let row = sqlx::query(
        "SELECT serial, ca_id, application_id, subject, pinfl, inn, not_before_ms, not_after_ms, cert_der, status, \
         revoked_at_ms, revocation_reason, created_at_ms FROM certificates WHERE serial = $1",
    )
    .bind(serial.to_ascii_lowercase())
    .fetch_optional(ex)
    .await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Certificates issued to the holder of this PINFL, newest first.
pub async fn by_pinfl<'e, E: Executor<'e, Database = Any>>(ex: E, pinfl: &str) -> Result<Vec<CertificateRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT serial, ca_id, application_id, subject, pinfl, inn, not_before_ms, not_after_ms, cert_der, status, \
         revoked_at_ms, revocation_reason, created_at_ms FROM certificates WHERE pinfl = $1 ORDER BY created_at_ms DESC, serial",
    )
    .bind(pinfl)
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// Marks a `good` certificate revoked in `tx`. Revoking one that is not recorded or is
/// already revoked is a [`StoreError::Conflict`] (never a silent no-op).
pub async fn revoke(tx: &mut Tx<'_>, serial: &str, reason: i64, at_ms: i64) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE certificates SET status = 'revoked', revoked_at_ms = $1, revocation_reason = $2 WHERE serial = $3 AND status = 'good'",
    )
    .bind(at_ms)
    .bind(reason)
    .bind(serial.to_ascii_lowercase())
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 1 {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!("certificate {serial} is not recorded as good")))
    }
}

/// Revoked certificates of `ca_id` (for the CRL), by serial.
pub async fn revoked_by_ca<'e, E: Executor<'e, Database = Any>>(ex: E, ca_id: &str) -> Result<Vec<CertificateRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT serial, ca_id, application_id, subject, pinfl, inn, not_before_ms, not_after_ms, cert_der, status, \
         revoked_at_ms, revocation_reason, created_at_ms FROM certificates WHERE ca_id = $1 AND status = 'revoked' ORDER BY serial",
    )
    .bind(ca_id)
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}
