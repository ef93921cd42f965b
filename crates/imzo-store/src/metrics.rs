//! Counts for the Prometheus scrape. Each is one `GROUP BY` over an indexed column, read
//! at scrape time so every node of a cluster reports the shared database's truth, not
//! what it saw itself. The SQL is the same on SQLite and PostgreSQL (`COUNT(*)` is a
//! 64-bit integer on both).

use crate::{Any, StoreError};
use sqlx::{Executor, Row};

/// How many rows share one pair of label values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Count {
    /// First label (centre or CA id).
    pub owner: String,
    /// Second label (state or status).
    pub kind: String,
    /// Rows.
    pub n: i64,
}

/// Pre-signed OCSP answers of one CA and the oldest of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OcspCache {
    /// CA id.
    pub ca_id: String,
    /// Answers held.
    pub responses: i64,
    /// `thisUpdate` of the oldest answer, UTC ms.
    pub oldest_this_update_ms: i64,
}

async fn pairs<'e, E: Executor<'e, Database = Any>>(ex: E, sql: &'static str) -> Result<Vec<Count>, StoreError> {
    let rows = sqlx::query(sql).fetch_all(ex).await?;
    rows.iter()
        .map(|r| Ok(Count { owner: r.try_get("owner")?, kind: r.try_get("kind")?, n: r.try_get("n")? }))
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Applications by (centre, state).
pub async fn applications_by_state<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<Vec<Count>, StoreError> {
    pairs(
        ex,
        "SELECT centre_id AS owner, state AS kind, COUNT(*) AS n FROM applications \
         GROUP BY centre_id, state ORDER BY centre_id, state",
    )
    .await
}

/// SMS outbox messages by (centre, status).
pub async fn sms_by_status<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<Vec<Count>, StoreError> {
    pairs(
        ex,
        "SELECT centre_id AS owner, status AS kind, COUNT(*) AS n FROM sms_outbox \
         GROUP BY centre_id, status ORDER BY centre_id, status",
    )
    .await
}

/// Recorded certificates by (issuing CA, status).
pub async fn certificates_by_status<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<Vec<Count>, StoreError> {
    pairs(
        ex,
        "SELECT ca_id AS owner, status AS kind, COUNT(*) AS n FROM certificates \
         GROUP BY ca_id, status ORDER BY ca_id, status",
    )
    .await
}

/// The pre-signed OCSP answers of every CA that has any.
pub async fn ocsp_cache<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<Vec<OcspCache>, StoreError> {
    let rows = sqlx::query(
        "SELECT ca_id, COUNT(*) AS n, MIN(this_update_ms) AS oldest FROM ocsp_responses GROUP BY ca_id ORDER BY ca_id",
    )
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(OcspCache { ca_id: r.try_get("ca_id")?, responses: r.try_get("n")?, oldest_this_update_ms: r.try_get("oldest")? })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}
