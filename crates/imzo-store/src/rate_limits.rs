//! Fixed-window rate limits kept in the database, so every node counts the same hits.

use crate::{Any, StoreError};
use sqlx::{Executor, Row};

/// Length recorded for windows counted through [`hit`]: an hour (the longest of those).
pub const DEFAULT_WINDOW_MS: i64 = 3_600_000;

/// Counts one hit of `bucket` in the window starting at `window_start_ms` (at most
/// [`DEFAULT_WINDOW_MS`] long) and returns the hits in that window so far, this one
/// included.
pub async fn hit<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    bucket: &str,
    window_start_ms: i64,
) -> Result<i64, StoreError> {
    hit_window(ex, bucket, window_start_ms, DEFAULT_WINDOW_MS).await
}

/// Counts one hit of `bucket` in the window of `window_ms` starting at `window_start_ms`
/// and returns the hits in that window so far, this one included. The length is kept
/// so [`purge`] drops the window only once it is over.
pub async fn hit_window<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    bucket: &str,
    window_start_ms: i64,
    window_ms: i64,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO rate_limits (bucket, window_start_ms, hits, window_ms) VALUES ($1, $2, 1, $3) \
         ON CONFLICT (bucket, window_start_ms) DO UPDATE SET hits = rate_limits.hits + 1 RETURNING hits",
    )
    .bind(bucket)
    .bind(window_start_ms)
    .bind(window_ms)
    .fetch_one(ex)
    .await?;
    Ok(row.try_get("hits")?)
}

/// Drops windows that ended (start + own length) before `before_ms`.
pub async fn purge<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    before_ms: i64,
) -> Result<u64, StoreError> {
    Ok(
        sqlx::query("DELETE FROM rate_limits WHERE window_start_ms + window_ms < $1")
            .bind(before_ms)
            .execute(ex)
            .await?
            .rows_affected(),
    )
}
