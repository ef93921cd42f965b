//! Key-value settings changed at run time (e.g. Payme's merchant key).

use crate::{Any, StoreError, time_ms::now_ms};
use sqlx::{Executor, Row};

/// The value of setting `key`, if set.
pub async fn get<'e, E: Executor<'e, Database = Any>>(ex: E, key: &str) -> Result<Option<String>, StoreError> {
    let row = sqlx::query("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(ex).await?;
    Ok(row.map(|r| r.try_get("value")).transpose()?)
}

/// Sets `key` to `value`, replacing any earlier value.
pub async fn set<'e, E: Executor<'e, Database = Any>>(ex: E, key: &str, value: &str) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO settings (key, value, updated_at_ms) VALUES ($1, $2, $3) \
         ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at_ms = excluded.updated_at_ms",
    )
    .bind(key)
    .bind(value)
    .bind(now_ms())
    .execute(ex)
    .await?;
    Ok(())
}
