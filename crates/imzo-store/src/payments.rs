//! Payment transactions of every provider, and merchant settings.
//!
//! States are Payme-style for every provider: 1 created, 2 performed, −1 cancelled
//! before perform, −2 cancelled after. At most one transaction per application is
//! active (1 or 2): a partial unique index enforces it even under concurrency.

use crate::{Any, StoreError, Tx};
use sqlx::{Executor, Row, any::AnyRow};

/// One payment transaction, with its application's number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRow {
    /// Our transaction id.
    pub id: i64,
    /// Application row id.
    pub application_id: i64,
    /// Application number.
    pub application_number: String,
    /// `payme`, `click`, `paynet`, `counter`, `sandbox`.
    pub provider: String,
    /// The provider's transaction id.
    pub provider_txn_id: String,
    /// Amount, tiyin.
    pub amount_tiyin: i64,
    /// 1, 2, −1, −2.
    pub state: i64,
    /// The provider's time of creation, ms.
    pub provider_time_ms: i64,
    /// Our time of creation, ms.
    pub create_time_ms: i64,
    /// When performed, 0 if not.
    pub perform_time_ms: i64,
    /// When cancelled, 0 if not.
    pub cancel_time_ms: i64,
    /// Cancel reason (provider's code).
    pub cancel_reason: Option<i64>,
}

const SELECT: &str = "SELECT p.id, p.application_id, a.number AS application_number, p.provider, p.provider_txn_id, \
     p.amount_tiyin, p.state, p.provider_time_ms, p.create_time_ms, p.perform_time_ms, p.cancel_time_ms, \
     p.cancel_reason FROM payments p JOIN applications a ON a.id = p.application_id";

fn from_row(r: &AnyRow) -> Result<PaymentRow, sqlx::Error> {
    let number: Option<String> = r.try_get("application_number")?;
    Ok(PaymentRow {
        id: r.try_get("id")?,
        application_id: r.try_get("application_id")?,
        application_number: number.unwrap_or_default(),
        provider: r.try_get("provider")?,
        provider_txn_id: r.try_get("provider_txn_id")?,
        amount_tiyin: r.try_get("amount_tiyin")?,
        state: r.try_get("state")?,
        provider_time_ms: r.try_get("provider_time_ms")?,
        create_time_ms: r.try_get("create_time_ms")?,
        perform_time_ms: r.try_get("perform_time_ms")?,
        cancel_time_ms: r.try_get("cancel_time_ms")?,
        cancel_reason: r.try_get("cancel_reason")?,
    })
}

/// A transaction to record.
#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    /// Application row id.
    pub application_id: i64,
    /// Provider.
    pub provider: &'a str,
    /// Provider's transaction id.
    pub provider_txn_id: &'a str,
    /// Amount, tiyin.
    pub amount_tiyin: i64,
    /// Initial state (1, or 2 for a counter payment recorded at once).
    pub state: i64,
    /// Provider's time, ms.
    pub provider_time_ms: i64,
    /// Our time, ms.
    pub create_time_ms: i64,
}

/// Records a transaction; `None` when a unique rule refused it (the same provider id
/// exists, or the application already has an active transaction).
pub async fn insert(tx: &mut Tx<'_>, p: &NewPayment<'_>) -> Result<Option<i64>, StoreError> {
    let perform_time = if p.state == 2 { p.create_time_ms } else { 0 };
    let row = sqlx::query(
        "INSERT INTO payments (application_id, provider, provider_txn_id, amount_tiyin, state, provider_time_ms, \
         create_time_ms, perform_time_ms, cancel_time_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0) \
         ON CONFLICT DO NOTHING RETURNING id",
    )
    .bind(p.application_id)
    .bind(p.provider)
    .bind(p.provider_txn_id)
    .bind(p.amount_tiyin)
    .bind(p.state)
    .bind(p.provider_time_ms)
    .bind(p.create_time_ms)
    .bind(perform_time)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| r.try_get("id")).transpose()?)
}

/// The transaction `provider_txn_id` of `provider`.
pub async fn by_provider_txn<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    provider: &str,
    provider_txn_id: &str,
) -> Result<Option<PaymentRow>, StoreError> {
    let sql = format!("{SELECT} WHERE p.provider = $1 AND p.provider_txn_id = $2");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(provider).bind(provider_txn_id).fetch_optional(ex).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// The active (state 1 or 2) transaction of an application, if any.
pub async fn active_for_application<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    application_id: i64,
) -> Result<Option<PaymentRow>, StoreError> {
    let sql = format!("{SELECT} WHERE p.application_id = $1 AND p.state IN (1, 2) ORDER BY p.id LIMIT 1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(application_id).fetch_optional(ex).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Moves transaction `id` from state 1 to 2 at `at_ms`; false if it was not in state 1.
pub async fn perform(tx: &mut Tx<'_>, id: i64, at_ms: i64) -> Result<bool, StoreError> {
    let result = sqlx::query("UPDATE payments SET state = 2, perform_time_ms = $1 WHERE id = $2 AND state = 1")
        .bind(at_ms)
        .bind(id)
        .execute(&mut **tx)
        .await?;
    Ok(result.rows_affected() == 1)
}

/// Cancels transaction `id` (state `from` → `to`) with `reason` at `at_ms`; false if it
/// was not in `from`.
pub async fn cancel(tx: &mut Tx<'_>, id: i64, from: i64, to: i64, reason: i64, at_ms: i64) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "UPDATE payments SET state = $1, cancel_reason = $2, cancel_time_ms = $3 WHERE id = $4 AND state = $5",
    )
    .bind(to)
    .bind(reason)
    .bind(at_ms)
    .bind(id)
    .bind(from)
    .execute(&mut **tx)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// Transactions of `provider` whose provider time is within `[from_ms, to_ms]`, ascending.
pub async fn in_range<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    provider: &str,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<PaymentRow>, StoreError> {
    let sql = format!(
        "{SELECT} WHERE p.provider = $1 AND p.provider_time_ms >= $2 AND p.provider_time_ms <= $3 \
         ORDER BY p.provider_time_ms, p.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(provider).bind(from_ms).bind(to_ms).fetch_all(ex).await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// Transaction `id` (our id), of any provider.
pub async fn by_id<'e, E: Executor<'e, Database = Any>>(ex: E, id: i64) -> Result<Option<PaymentRow>, StoreError> {
    let sql = format!("{SELECT} WHERE p.id = $1");
    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(ex).await?;
    Ok(row.as_ref().map(from_row).transpose()?)
}

/// Transactions of every provider performed within `[from_ms, to_ms]` (including those
/// refunded since), by perform time.
pub async fn performed_between<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<PaymentRow>, StoreError> {
    let sql = format!(
        "{SELECT} WHERE p.state IN (2, -2) AND p.perform_time_ms >= $1 AND p.perform_time_ms <= $2 \
         ORDER BY p.perform_time_ms, p.id"
    );
    let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from_ms).bind(to_ms).fetch_all(ex).await?;
    Ok(rows.iter().map(from_row).collect::<Result<_, _>>()?)
}

/// Numbers and states of applications that count as paid (`paid`, `approved`, `issued`)
/// but have no performed (state 2) transaction, among those changed within `[from_ms, to_ms]`.
pub async fn paid_without_payment<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<(String, String)>, StoreError> {
    let rows = sqlx::query(
        "SELECT a.number, a.state FROM applications a WHERE a.state IN ('paid', 'approved', 'issued') \
         AND a.number IS NOT NULL AND a.updated_at_ms >= $1 AND a.updated_at_ms <= $2 \
         AND NOT EXISTS (SELECT 1 FROM payments p WHERE p.application_id = a.id AND p.state = 2) \
         ORDER BY a.number",
    )
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| Ok((r.try_get::<String, _>("number")?, r.try_get::<String, _>("state")?)))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}
