//! The SMS queue (local outbox in the embedded default).

use crate::{Any, StoreError, Tx, time_ms::now_ms};
use sqlx::{Executor, Row, any::AnyRow};

/// A message to queue.
#[derive(Debug, Clone)]
pub struct NewSms<'a> {
    /// Centre sending it.
    pub centre_id: &'a str,
    /// Recipient, 998XXXXXXXXX.
    pub phone: &'a str,
    /// Text.
    pub text: &'a str,
    /// `code`, `accepted`, `rejected`, `ready`.
    pub kind: &'a str,
    /// One message per event: a second message with the same key is dropped.
    pub dedupe_key: &'a str,
}

/// One queued message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmsRow {
    /// Queue id.
    pub id: i64,
    /// Centre.
    pub centre_id: String,
    /// Recipient.
    pub phone: String,
    /// Text (redacted once delivered through a real gateway).
    pub text: String,
    /// Kind.
    pub kind: String,
    /// `queued`, `sent`, `failed`.
    pub status: String,
    /// Delivery attempts so far.
    pub attempts: i64,
    /// Queued at, UTC ms.
    pub created_at_ms: i64,
}

const COLUMNS: &str = "id, centre_id, phone, text, kind, status, attempts, created_at_ms";

fn from_row(r: &AnyRow) -> Result<SmsRow, sqlx::Error> {
    Ok(SmsRow {
        id: r.try_get("id")?,
        centre_id: r.try_get("centre_id")?,
        phone: r.try_get("phone")?,
        text: r.try_get("text")?,
        kind: r.try_get("kind")?,
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

/// Queues a message in `tx`; returns its id, or `None` if its dedupe key was queued before.
pub async fn enqueue(tx: &mut Tx<'_>, sms: &NewSms<'_>) -> Result<Option<i64>, StoreError> {
    let now = now_ms();
    let row = sqlx::query(
        "INSERT INTO sms_outbox (centre_id, phone, text, kind, dedupe_key, status, attempts, next_attempt_at_ms, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, 'queued', 0, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
    )
    .bind(sms.centre_id)
    .bind(sms.phone)
    .bind(sms.text)
    .bind(sms.kind)
    .bind(sms.dedupe_key)
    .bind(now)
    .bind(now)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// Messages with id greater than `after_id`, oldest first, at most `limit`.
pub async fn after<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    after_id: i64,
    limit: i64,
) -> Result<Vec<SmsRow>, StoreError> {
    let sql = format!("SELECT {COLUMNS} FROM sms_outbox WHERE id > $1 ORDER BY id LIMIT $2");
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after_id).bind(limit).fetch_all(ex).await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// Queued messages due for a delivery attempt at `now_ms`, oldest first.
pub async fn due<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    now_ms: i64,
    limit: i64,
) -> Result<Vec<SmsRow>, StoreError> {
    let sql = format!(
        "SELECT {COLUMNS} FROM sms_outbox WHERE status = 'queued' AND next_attempt_at_ms <= $1 ORDER BY id LIMIT $2"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(now_ms).bind(limit).fetch_all(ex).await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// Claims message `id` for one delivery attempt until `lease_until_ms`; false if another
/// node claimed it first (so a message is never sent twice at once).
pub async fn claim<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
    now_ms: i64,
    lease_until_ms: i64,
) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE sms_outbox SET next_attempt_at_ms = $1, attempts = attempts + 1 \
         WHERE id = $2 AND status = 'queued' AND next_attempt_at_ms <= $3",
    )
    .bind(lease_until_ms)
    .bind(id)
    .bind(now_ms)
    .execute(ex)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Marks message `id` delivered; with `redact` its text is blanked (real gateways: codes
/// must not linger).
pub async fn mark_sent<'e, E: Executor<'e, Database = Any>>(ex: E, id: i64, redact: bool) -> Result<(), StoreError> {
    let sql = if redact {
        "UPDATE sms_outbox SET status = 'sent', text = '[redacted]' WHERE id = $1"
    } else {
        "UPDATE sms_outbox SET status = 'sent' WHERE id = $1"
    };
    sqlx::query(sql).bind(id).execute(ex).await?;
    Ok(())
}

/// Gives up on message `id` (after too many failed attempts).
pub async fn mark_failed<'e, E: Executor<'e, Database = Any>>(ex: E, id: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE sms_outbox SET status = 'failed' WHERE id = $1").bind(id).execute(ex).await?;
    Ok(())
}

/// Records the delivery of message `id` through `gateway` (its id there: `gateway_id`);
/// with `redact` the text is blanked. Only a message still queued is marked, so a lease
/// that ran out cannot turn a later outcome back.
pub async fn mark_delivered<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
    gateway: &str,
    gateway_id: &str,
    redact: bool,
    now_ms: i64,
) -> Result<(), StoreError> {
    let sql = if redact {
        "UPDATE sms_outbox SET status = 'sent', text = '[redacted]', gateway = $1, gateway_message_id = $2, \
         sent_at_ms = $3, last_error = NULL WHERE id = $4 AND status = 'queued'"
    } else {
        "UPDATE sms_outbox SET status = 'sent', gateway = $1, gateway_message_id = $2, sent_at_ms = $3, \
         last_error = NULL WHERE id = $4 AND status = 'queued'"
    };
    sqlx::query(sql).bind(gateway).bind(gateway_id).bind(now_ms).bind(id).execute(ex).await?;
    Ok(())
}

/// Records a failed attempt of message `id` and when to try again.
pub async fn retry_later<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
    error: &str,
    next_attempt_at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE sms_outbox SET last_error = $1, next_attempt_at_ms = $2 WHERE id = $3 AND status = 'queued'")
        .bind(error)
        .bind(next_attempt_at_ms)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Gives up on message `id`, keeping why.
pub async fn give_up<'e, E: Executor<'e, Database = Any>>(ex: E, id: i64, error: &str) -> Result<(), StoreError> {
    sqlx::query("UPDATE sms_outbox SET status = 'failed', last_error = $1 WHERE id = $2 AND status = 'queued'")
        .bind(error)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Delivery status of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryStatus {
    /// `queued`, `sent`, `failed`.
    pub status: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Gateway that took it.
    pub gateway: Option<String>,
    /// The gateway's id of it.
    pub gateway_message_id: Option<String>,
    /// Last failure.
    pub last_error: Option<String>,
    /// Next attempt (or lease end), UTC ms.
    pub next_attempt_at_ms: i64,
    /// Delivered at, UTC ms.
    pub sent_at_ms: Option<i64>,
}

/// Delivery status of message `id`.
pub async fn status<'e, E: Executor<'e, Database = Any>>(ex: E, id: i64) -> Result<Option<DeliveryStatus>, StoreError> {
    let row = sqlx::query(
        "SELECT status, attempts, gateway, gateway_message_id, last_error, next_attempt_at_ms, sent_at_ms \
         FROM sms_outbox WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await?;
    let Some(r) = row else { return Ok(None) };
    Ok(Some(DeliveryStatus {
        status: r.try_get("status")?,
        attempts: r.try_get("attempts")?,
        gateway: r.try_get("gateway")?,
        gateway_message_id: r.try_get("gateway_message_id")?,
        last_error: r.try_get("last_error")?,
        next_attempt_at_ms: r.try_get("next_attempt_at_ms")?,
        sent_at_ms: r.try_get("sent_at_ms")?,
    }))
}
