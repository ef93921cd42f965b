//! Certificate status changes (revocation, hold, release) and what publishes them:
//! each CA's current CRL and the pre-signed OCSP responses.
//!
//! A hold is a revocation with CRLReason certificateHold (6), as RFC 5280 lists it; a
//! release returns it to `good`. Every change marks the CA's CRL dirty and drops the
//! certificate's cached OCSP response in the same transaction, so no published answer
//! outlives the change by more than the configured regeneration delay.

use crate::{Any, StoreError, Tx};
use sqlx::{Executor, Row};

/// CRLReason code of certificateHold.
pub const REASON_CERTIFICATE_HOLD: i64 = 6;

/// A certificate's status before a change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusRow {
    /// Issuing CA id.
    pub ca_id: String,
    /// `good` or `revoked`.
    pub status: String,
    /// Reason code when revoked.
    pub reason: Option<i64>,
}

async fn current(tx: &mut Tx<'_>, serial: &str) -> Result<StatusRow, StoreError> {
    let row = sqlx::query("SELECT ca_id, status, revocation_reason FROM certificates WHERE serial = $1")
        .bind(serial)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("certificate {serial}")))?;
    Ok(StatusRow { ca_id: row.try_get("ca_id")?, status: row.try_get("status")?, reason: row.try_get("revocation_reason")? })
}

async fn after_change(tx: &mut Tx<'_>, ca_id: &str, serial: &str, now_ms: i64) -> Result<(), StoreError> {
    mark_crl_dirty(tx, ca_id, now_ms).await?;
    sqlx::query("DELETE FROM ocsp_responses WHERE serial = $1").bind(serial).execute(&mut **tx).await?;
    Ok(())
}

/// Revokes certificate `serial` with `reason` in `tx`: from `good`, or from a hold to a
/// final reason (RFC 5280 §5.3.1 allows a held certificate to be revoked for good).
/// Anything else — unknown serial, already revoked, hold on hold — is an error, and the
/// guarded update makes two racing revocations end with exactly one winner.
/// Returns the status it had.
pub async fn revoke(tx: &mut Tx<'_>, serial: &str, reason: i64, at_ms: i64) -> Result<StatusRow, StoreError> {
    let serial = serial.to_ascii_lowercase();
    let before = current(tx, &serial).await?;
    let allowed = before.status == "good"
        || (before.status == "revoked"
            && before.reason == Some(REASON_CERTIFICATE_HOLD)
            && reason != REASON_CERTIFICATE_HOLD);
    if !allowed {
        return Err(StoreError::Conflict(format!(
            "certificate {serial} is {}{}; it cannot be revoked again",
            before.status,
            before.reason.map(|r| format!(" (reason {r})")).unwrap_or_default()
        )));
    }
    let done = sqlx::query(
        "UPDATE certificates SET status = 'revoked', revoked_at_ms = $1, revocation_reason = $2, status_changed_at_ms = $1 \
         WHERE serial = $3 AND status = $4 AND COALESCE(revocation_reason, -1) = $5",
    )
    .bind(at_ms)
    .bind(reason)
    .bind(&serial)
    .bind(&before.status)
    .bind(before.reason.unwrap_or(-1))
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!("certificate {serial} changed status meanwhile")));
    }
    after_change(tx, &before.ca_id, &serial, at_ms).await?;
    Ok(before)
}

/// Releases a certificate from hold (certificateHold → good) in `tx`. A certificate that
/// is not on hold is an error.
pub async fn release(tx: &mut Tx<'_>, serial: &str, now_ms: i64) -> Result<StatusRow, StoreError> {
    let serial = serial.to_ascii_lowercase();
    let before = current(tx, &serial).await?;
    let done = sqlx::query(
        "UPDATE certificates SET status = 'good', revoked_at_ms = NULL, revocation_reason = NULL, status_changed_at_ms = $3 \
         WHERE serial = $1 AND status = 'revoked' AND revocation_reason = $2",
    )
    .bind(&serial)
    .bind(REASON_CERTIFICATE_HOLD)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() != 1 {
        return Err(StoreError::Conflict(format!("certificate {serial} is not on hold")));
    }
    after_change(tx, &before.ca_id, &serial, now_ms).await?;
    Ok(before)
}

/// The stored CRL state of a CA.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrlRow {
    /// CA id.
    pub ca_id: String,
    /// cRLNumber of the stored CRL (0: none built yet).
    pub number: i64,
    /// thisUpdate, UTC ms.
    pub this_update_ms: i64,
    /// nextUpdate, UTC ms.
    pub next_update_ms: i64,
    /// DER of the CRL, once built.
    pub der: Option<Vec<u8>>,
    /// Entries on it.
    pub entries: i64,
    /// Set when a status change is not on the CRL yet.
    pub dirty_since_ms: Option<i64>,
    /// The current delta CRL, if one was built.
    pub delta: Option<DeltaRow>,
    /// Set when a status change is not on the delta CRL yet.
    pub delta_dirty_since_ms: Option<i64>,
    /// When the stored complete CRL read the certificate records, UTC ms.
    pub read_at_ms: Option<i64>,
}

/// A CA's stored delta CRL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeltaRow {
    /// Its cRLNumber (above its base's).
    pub number: i64,
    /// The number of the complete CRL it updates.
    pub base_number: i64,
    /// thisUpdate, UTC ms.
    pub this_update_ms: i64,
    /// nextUpdate, UTC ms.
    pub next_update_ms: i64,
    /// DER.
    pub der: Vec<u8>,
}

/// Marks CA `ca_id`'s CRL as due (keeps the earliest mark).
pub async fn mark_crl_dirty(tx: &mut Tx<'_>, ca_id: &str, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO crls (ca_id, number, this_update_ms, next_update_ms, der, entries, dirty_since_ms, delta_dirty_since_ms, status_changes) \
         VALUES ($1, 0, 0, 0, NULL, 0, $2, $2, 1) \
         ON CONFLICT (ca_id) DO UPDATE SET dirty_since_ms = COALESCE(crls.dirty_since_ms, excluded.dirty_since_ms), \
         delta_dirty_since_ms = COALESCE(crls.delta_dirty_since_ms, excluded.dirty_since_ms), \
         status_changes = crls.status_changes + 1",
    )
    .bind(ca_id)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// How many status changes all CAs have had (a number that only grows): a cache of
/// status answers is current while it stays the same.
pub async fn status_changes<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<i64, StoreError> {
    let rows = sqlx::query("SELECT status_changes FROM crls").fetch_all(ex).await?;
    let mut total = 0i64;
    for r in &rows {
        total = total.wrapping_add(r.try_get::<i64, _>("status_changes")?);
    }
    Ok(total)
}

/// The CRL state of `ca_id`, if any CRL was built or due.
pub async fn crl<'e, E: Executor<'e, Database = Any>>(ex: E, ca_id: &str) -> Result<Option<CrlRow>, StoreError> {
    let row = sqlx::query(
        "SELECT ca_id, number, this_update_ms, next_update_ms, der, entries, dirty_since_ms, delta_number, delta_base_number, \
         delta_this_update_ms, delta_next_update_ms, delta_der, delta_dirty_since_ms, read_at_ms FROM crls WHERE ca_id = $1",
    )
    .bind(ca_id)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(None) };
    let delta = match (
        r.try_get::<Option<i64>, _>("delta_number")?,
        r.try_get::<Option<i64>, _>("delta_base_number")?,
        r.try_get::<Option<i64>, _>("delta_this_update_ms")?,
        r.try_get::<Option<i64>, _>("delta_next_update_ms")?,
        r.try_get::<Option<Vec<u8>>, _>("delta_der")?,
    ) {
        (Some(number), Some(base_number), Some(this_update_ms), Some(next_update_ms), Some(der)) => {
            Some(DeltaRow { number, base_number, this_update_ms, next_update_ms, der })
        }
        _ => None,
    };
    Ok(Some(CrlRow {
        ca_id: r.try_get("ca_id")?,
        number: r.try_get("number")?,
        this_update_ms: r.try_get("this_update_ms")?,
        next_update_ms: r.try_get("next_update_ms")?,
        der: r.try_get("der")?,
        entries: r.try_get("entries")?,
        dirty_since_ms: r.try_get("dirty_since_ms")?,
        delta,
        delta_dirty_since_ms: r.try_get("delta_dirty_since_ms")?,
        read_at_ms: r.try_get("read_at_ms")?,
    }))
}

/// A freshly built CRL to store.
#[derive(Debug, Clone)]
pub struct NewCrl<'a> {
    /// CA id.
    pub ca_id: &'a str,
    /// The number the stored CRL had when this one was built (0: none).
    pub previous_number: i64,
    /// The number the stored delta CRL had when this one was built (0: none): a delta
    /// stored meanwhile took a number this one may not repeat.
    pub previous_delta_number: i64,
    /// This CRL's number (greater than `previous_number`).
    pub number: i64,
    /// thisUpdate, UTC ms.
    pub this_update_ms: i64,
    /// nextUpdate, UTC ms.
    pub next_update_ms: i64,
    /// DER.
    pub der: &'a [u8],
    /// Entries on it.
    pub entries: i64,
    /// When the certificate list it was built from was read, UTC ms: a change marked
    /// dirty after this is not on it, so the mark stays.
    pub read_at_ms: i64,
}

/// Stores a new CRL if the stored one still has `previous_number` (so of two nodes
/// building at once only one stores, and numbers never go back). Returns whether it was
/// stored.
pub async fn store_crl<'e, E: Executor<'e, Database = Any>>(ex: E, crl: &NewCrl<'_>) -> Result<bool, StoreError> {
    if crl.number <= crl.previous_number {
        return Err(StoreError::Conflict(format!("CRL number {} does not exceed {}", crl.number, crl.previous_number)));
    }
    let done = sqlx::query(
        "INSERT INTO crls (ca_id, number, this_update_ms, next_update_ms, der, entries, dirty_since_ms, read_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, NULL, $7) \
         ON CONFLICT (ca_id) DO UPDATE SET number = excluded.number, this_update_ms = excluded.this_update_ms, \
         next_update_ms = excluded.next_update_ms, der = excluded.der, entries = excluded.entries, read_at_ms = excluded.read_at_ms, \
         dirty_since_ms = CASE WHEN crls.dirty_since_ms IS NOT NULL AND crls.dirty_since_ms > $7 THEN crls.dirty_since_ms ELSE NULL END \
         WHERE crls.number = $8 AND COALESCE(crls.delta_number, 0) = $9",
    )
    .bind(crl.ca_id)
    .bind(crl.number)
    .bind(crl.this_update_ms)
    .bind(crl.next_update_ms)
    .bind(crl.der)
    .bind(crl.entries)
    .bind(crl.read_at_ms)
    .bind(crl.previous_number)
    .bind(crl.previous_delta_number)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A certificate whose status changed, as a delta CRL lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedRow {
    /// Serial, lower-case hex.
    pub serial: String,
    /// `good` (released) or `revoked`.
    pub status: String,
    /// When revoked.
    pub revoked_at_ms: Option<i64>,
    /// Reason code when revoked.
    pub reason: Option<i64>,
    /// When the status last changed, UTC ms.
    pub changed_at_ms: i64,
}

/// Certificates of `ca_id` whose status changed at or after `since_ms`, by serial.
pub async fn changed_since<'e, E: Executor<'e, Database = Any>>(ex: E, ca_id: &str, since_ms: i64) -> Result<Vec<ChangedRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT serial, status, revoked_at_ms, revocation_reason, status_changed_at_ms FROM certificates \
         WHERE ca_id = $1 AND status_changed_at_ms >= $2 ORDER BY serial",
    )
    .bind(ca_id)
    .bind(since_ms)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(ChangedRow {
                serial: r.try_get("serial")?,
                status: r.try_get("status")?,
                revoked_at_ms: r.try_get("revoked_at_ms")?,
                reason: r.try_get("revocation_reason")?,
                changed_at_ms: r.try_get("status_changed_at_ms")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// A freshly built delta CRL to store.
#[derive(Debug, Clone)]
pub struct NewDelta<'a> {
    /// CA id.
    pub ca_id: &'a str,
    /// The complete CRL it updates (must still be the stored one).
    pub base_number: i64,
    /// The stored delta's number when this one was built (0: none).
    pub previous_delta_number: i64,
    /// Its number: above both the base's and the previous delta's.
    pub number: i64,
    /// thisUpdate, UTC ms.
    pub this_update_ms: i64,
    /// nextUpdate, UTC ms.
    pub next_update_ms: i64,
    /// DER.
    pub der: &'a [u8],
    /// When the certificate list it was built from was read, UTC ms.
    pub read_at_ms: i64,
}

/// Stores a delta CRL if the complete CRL and the delta it was built against are still
/// the stored ones (so numbers stay one rising sequence across nodes). Returns whether
/// it was stored.
pub async fn store_delta<'e, E: Executor<'e, Database = Any>>(ex: E, delta: &NewDelta<'_>) -> Result<bool, StoreError> {
    if delta.number <= delta.base_number.max(delta.previous_delta_number) {
        return Err(StoreError::Conflict(format!("delta CRL number {} does not exceed its base's or the last delta's", delta.number)));
    }
    let done = sqlx::query(
        "UPDATE crls SET delta_number = $1, delta_base_number = $2, delta_this_update_ms = $3, delta_next_update_ms = $4, \
         delta_der = $5, delta_dirty_since_ms = CASE WHEN delta_dirty_since_ms IS NOT NULL AND delta_dirty_since_ms > $6 \
         THEN delta_dirty_since_ms ELSE NULL END \
         WHERE ca_id = $7 AND number = $8 AND COALESCE(delta_number, 0) = $9",
    )
    .bind(delta.number)
    .bind(delta.base_number)
    .bind(delta.this_update_ms)
    .bind(delta.next_update_ms)
    .bind(delta.der)
    .bind(delta.read_at_ms)
    .bind(delta.ca_id)
    .bind(delta.base_number)
    .bind(delta.previous_delta_number)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A cached, pre-signed OCSP response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspRow {
    /// Certificate serial, lower-case hex.
    pub serial: String,
    /// CertID hash it answers: `sha1` or `sha256`.
    pub hash: String,
    /// DER OCSPResponse.
    pub der: Vec<u8>,
    /// thisUpdate, UTC ms.
    pub this_update_ms: i64,
    /// nextUpdate, UTC ms.
    pub next_update_ms: i64,
}

/// The cached response for `serial` if there is one.
pub async fn ocsp_response<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    serial: &str,
    hash: &str,
) -> Result<Option<OcspRow>, StoreError> {
    let row = sqlx::query("SELECT serial, hash, der, this_update_ms, next_update_ms FROM ocsp_responses WHERE serial = $1 AND hash = $2")
        .bind(serial)
        .bind(hash)
        .fetch_optional(ex)
        .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(OcspRow {
        serial: r.try_get("serial")?,
        hash: r.try_get("hash")?,
        der: r.try_get("der")?,
        this_update_ms: r.try_get("this_update_ms")?,
        next_update_ms: r.try_get("next_update_ms")?,
    }))
}

/// Caches a pre-signed response, but only if the certificate still has the status it
/// was signed for (`status`, `reason`): a revocation that committed meanwhile wins.
/// Returns whether it was stored.
pub async fn put_ocsp_response(
    tx: &mut Tx<'_>,
    ca_id: &str,
    row: &OcspRow,
    status: &str,
    reason: Option<i64>,
) -> Result<bool, StoreError> {
    let still = sqlx::query(
        "SELECT serial FROM certificates WHERE serial = $1 AND status = $2 AND COALESCE(revocation_reason, -1) = $3",
    )
    .bind(&row.serial)
    .bind(status)
    .bind(reason.unwrap_or(-1))
    .fetch_optional(&mut **tx)
    .await?;
    if still.is_none() {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO ocsp_responses (serial, hash, ca_id, der, this_update_ms, next_update_ms) VALUES ($1, $6, $2, $3, $4, $5) \
         ON CONFLICT (serial, hash) DO UPDATE SET der = excluded.der, this_update_ms = excluded.this_update_ms, \
         next_update_ms = excluded.next_update_ms",
    )
    .bind(&row.serial)
    .bind(ca_id)
    .bind(&row.der)
    .bind(row.this_update_ms)
    .bind(row.next_update_ms)
    .bind(&row.hash)
    .execute(&mut **tx)
    .await?;
    Ok(true)
}

/// Serials of `ca_id`'s certificates whose cached `hash` response is missing or expires
/// before `refresh_before_ms` (up to `limit`), for the pre-signing job. Certificates
/// expired before `now_ms` are left out.
pub async fn ocsp_due<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    ca_id: &str,
    hash: &str,
    refresh_before_ms: i64,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT c.serial FROM certificates c LEFT JOIN ocsp_responses o ON o.serial = c.serial AND o.hash = $4 \
         WHERE c.ca_id = $1 AND c.not_after_ms > $5 AND (o.serial IS NULL OR o.next_update_ms < $2) ORDER BY c.serial LIMIT $3",
    )
    .bind(ca_id)
    .bind(refresh_before_ms)
    .bind(limit)
    .bind(hash)
    .bind(now_ms)
    .fetch_all(ex)
    .await?;
    rows.iter().map(|r| r.try_get("serial").map_err(StoreError::from)).collect()
}
