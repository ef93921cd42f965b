//! One-time SMS codes (hashed), attempts and resends.

use crate::{Any, StoreError, Tx, time_ms::now_ms};
use sqlx::{Executor, Row};

/// A stored code (only its keyed hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtpRow {
    /// Row id.
    pub id: i64,
    /// Phone it went to.
    pub phone: String,
    /// Keyed hash of the code, hex.
    pub code_hash: String,
    /// Wrong tries so far.
    pub attempts: i64,
    /// Expiry, UTC ms.
    pub expires_at_ms: i64,
    /// When it was used (or killed), UTC ms.
    pub used_at_ms: Option<i64>,
    /// When it was made, UTC ms.
    pub created_at_ms: i64,
}

/// Stores a new code for `draft_id`, first retiring the draft's earlier codes.
pub async fn insert(
    tx: &mut Tx<'_>,
    draft_id: &str,
    phone: &str,
    code_hash: &str,
    expires_at_ms: i64,
) -> Result<i64, StoreError> {
    let now = now_ms();
    sqlx::query("UPDATE otp_codes SET used_at_ms = $1 WHERE draft_id = $2 AND used_at_ms IS NULL")
        .bind(now)
        .bind(draft_id)
        .execute(&mut **tx)
        .await?;
    let row = sqlx::query(
        "INSERT INTO otp_codes (draft_id, phone, code_hash, attempts, expires_at_ms, created_at_ms) \
         VALUES ($1, $2, $3, 0, $4, $5) RETURNING id",
    )
    .bind(draft_id)
    .bind(phone)
    .bind(code_hash)
    .bind(expires_at_ms)
    .bind(now)
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// The newest code of `draft_id`, used or not.
pub async fn latest<'e, E: Executor<'e, Database = Any>>(ex: E, draft_id: &str) -> Result<Option<OtpRow>, StoreError> {
    let row = sqlx::query(
        "SELECT id, phone, code_hash, attempts, expires_at_ms, used_at_ms, created_at_ms FROM otp_codes \
         WHERE draft_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(draft_id)
    .fetch_optional(ex)
    .await?;
    match row {
        Some(r) => Ok(Some(OtpRow {
            id: r.try_get("id")?,
            phone: r.try_get("phone")?,
            code_hash: r.try_get("code_hash")?,
            attempts: r.try_get("attempts")?,
            expires_at_ms: r.try_get("expires_at_ms")?,
            used_at_ms: r.try_get("used_at_ms")?,
            created_at_ms: r.try_get("created_at_ms")?,
        })),
        None => Ok(None),
    }
}

/// How many codes went to `phone` since `since_ms`.
pub async fn sent_since<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    phone: &str,
    since_ms: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS n FROM otp_codes WHERE phone = $1 AND created_at_ms >= $2")
        .bind(phone)
        .bind(since_ms)
        .fetch_one(ex)
        .await?;
    Ok(row.try_get("n")?)
}

/// Counts one wrong try of code `id`, if it is still live and under `max_attempts`;
/// returns whether the try was counted (false: the code is dead already).
pub async fn count_wrong_try(tx: &mut Tx<'_>, id: i64, max_attempts: i64) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1 AND used_at_ms IS NULL AND attempts < $2",
    )
    .bind(id)
    .bind(max_attempts)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Uses up code `id`; false if it was used already (a concurrent try won).
pub async fn mark_used(tx: &mut Tx<'_>, id: i64) -> Result<bool, StoreError> {
    let result = sqlx::query("UPDATE otp_codes SET used_at_ms = $1 WHERE id = $2 AND used_at_ms IS NULL")
        .bind(now_ms())
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(result.rows_affected() == 1)
}
