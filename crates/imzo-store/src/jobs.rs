//! Background jobs polled by any node.
//!
//! A job is claimed with a guarded update that sets a lease (`locked_until_ms`), so two
//! nodes never run the same job at once and a node that dies mid-job only delays it.

use crate::{Any, StoreError};
use sqlx::{Executor, Row};

/// A claimed job.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobRow {
    /// Row id.
    pub id: i64,
    /// What to do.
    pub kind: String,
    /// Arguments, JSON.
    pub payload: String,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// Schedules a job of `kind` at `run_at_ms`.
pub async fn enqueue<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    kind: &str,
    run_at_ms: i64,
    payload: &str,
) -> Result<i64, StoreError> {
    let row = sqlx::query("INSERT INTO jobs (kind, run_at_ms, payload, attempts) VALUES ($1, $2, $3, 0) RETURNING id")
        .bind(kind)
        .bind(run_at_ms)
        .bind(payload)
        .fetch_one(ex)
        .await?;
    Ok(row.try_get("id")?)
}

/// Claims one due job (not done, due by `now_ms`, lease free) until `lease_until_ms`.
pub async fn claim_due<'e, E: Executor<'e, Database = Any> + Copy>(
    ex: E,
    now_ms: i64,
    lease_until_ms: i64,
) -> Result<Option<JobRow>, StoreError> {
    let candidates = sqlx::query(
        "SELECT id FROM jobs WHERE done_at_ms IS NULL AND run_at_ms <= $1 \
         AND (locked_until_ms IS NULL OR locked_until_ms < $2) ORDER BY run_at_ms, id LIMIT 8",
    )
    .bind(now_ms)
    .bind(now_ms)
    .fetch_all(ex)
    .await?;
    for candidate in candidates {
        let id: i64 = candidate.try_get("id")?;
        // The guard repeats the free-lease test: of two nodes racing, only one updates.
        let row = sqlx::query(
            "UPDATE jobs SET locked_until_ms = $1, attempts = attempts + 1 WHERE id = $2 AND done_at_ms IS NULL \
             AND (locked_until_ms IS NULL OR locked_until_ms < $3) RETURNING id, kind, payload, attempts",
        )
        .bind(lease_until_ms)
        .bind(id)
        .bind(now_ms)
        .fetch_optional(ex)
        .await?;
        if let Some(r) = row {
            return Ok(Some(JobRow {
                id: r.try_get("id")?,
                kind: r.try_get("kind")?,
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
            }));
        }
    }
    Ok(None)
}

/// Marks job `id` done.
pub async fn complete<'e, E: Executor<'e, Database = Any>>(ex: E, id: i64, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query("UPDATE jobs SET done_at_ms = $1, locked_until_ms = NULL WHERE id = $2")
        .bind(now_ms)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

/// Records a failure of job `id` and schedules a retry at `retry_at_ms`.
pub async fn fail<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    id: i64,
    error: &str,
    retry_at_ms: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE jobs SET last_error = $1, run_at_ms = $2, locked_until_ms = NULL WHERE id = $3")
        .bind(error)
        .bind(retry_at_ms)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}
