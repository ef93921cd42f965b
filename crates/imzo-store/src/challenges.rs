//! One-time challenges (proof of possession, operator decisions, logins) and captchas.

use crate::{Any, StoreError, Tx};
use sqlx::{Executor, Row};

/// A stored challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRow {
    /// Identifier.
    pub id: String,
    /// `pop`, `operator`, `login`.
    pub purpose: String,
    /// What it is bound to (application number for `pop`).
    pub subject: Option<String>,
    /// The bytes to sign.
    pub challenge: Vec<u8>,
    /// Expiry, UTC ms.
    pub expires_at_ms: i64,
    /// When it was used, UTC ms.
    pub used_at_ms: Option<i64>,
}

/// Stores a challenge.
pub async fn insert<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: &str,
    purpose: &str,
    subject: Option<&str>,
    challenge: &[u8],
    expires_at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO challenges (id, purpose, subject, challenge, expires_at_ms) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(purpose)
        .bind(subject)
        .bind(challenge.to_vec())
        .bind(expires_at_ms)
        .execute(ex)
        .await?;
    Ok(())
}

/// The challenge `id`.
pub async fn get<'e, E: Executor<'e, Database = Any>>(ex: E, id: &str) -> Result<Option<ChallengeRow>, StoreError> {
    let row =
        sqlx::query("SELECT id, purpose, subject, challenge, expires_at_ms, used_at_ms FROM challenges WHERE id = $1")
            .bind(id)
            .fetch_optional(ex)
            .await?;
    match row {
        Some(r) => Ok(Some(ChallengeRow {
            id: r.try_get("id")?,
            purpose: r.try_get("purpose")?,
            subject: r.try_get("subject")?,
            challenge: r.try_get("challenge")?,
            expires_at_ms: r.try_get("expires_at_ms")?,
            used_at_ms: r.try_get("used_at_ms")?,
        })),
        None => Ok(None),
    }
}

/// Uses up challenge `id` of `purpose` if it is unused and unexpired at `now_ms`; false
/// otherwise (so each challenge is answered once, on any node).
pub async fn consume(tx: &mut Tx<'_>, id: &str, purpose: &str, now_ms: i64) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE challenges SET used_at_ms = $1 WHERE id = $2 AND purpose = $3 AND used_at_ms IS NULL AND expires_at_ms > $4",
    )
    .bind(now_ms)
    .bind(id)
    .bind(purpose)
    .bind(now_ms)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Stores a captcha's keyed answer hash.
pub async fn insert_captcha<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: &str,
    answer_hash: &str,
    expires_at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO captchas (id, answer_hash, expires_at_ms) VALUES ($1, $2, $3)")
        .bind(id)
        .bind(answer_hash)
        .bind(expires_at_ms)
        .execute(ex)
        .await?;
    Ok(())
}

/// Uses up captcha `id` (whatever the answer will be: one guess per captcha) and returns
/// its answer hash; `None` if unknown, used or expired.
pub async fn consume_captcha<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: &str,
    now_ms: i64,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "UPDATE captchas SET used_at_ms = $1 WHERE id = $2 AND used_at_ms IS NULL AND expires_at_ms > $3 RETURNING answer_hash",
    )
    .bind(now_ms)
    .bind(id)
    .bind(now_ms)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(|r| r.try_get("answer_hash")).transpose()?)
}

/// Deletes challenges and captchas that expired before `before_ms`; returns how many.
pub async fn purge_expired<'e, E: Executor<'e, Database = Any> + Copy>(
    ex: E,
    before_ms: i64,
) -> Result<u64, StoreError> {
    let a = sqlx::query("DELETE FROM challenges WHERE expires_at_ms < $1").bind(before_ms).execute(ex).await?;
    let b = sqlx::query("DELETE FROM captchas WHERE expires_at_ms < $1").bind(before_ms).execute(ex).await?;
    Ok(a.rows_affected() + b.rows_affected())
}
