//! Tokens issued by the time-stamping authority (RFC 3161): one row per serial number.

use crate::{Any, StoreError};
use sqlx::Executor;

/// A token about to be issued.
#[derive(Debug, Clone)]
pub struct NewTimestamp<'a> {
    /// Serial number, lower-case hex.
    pub serial: &'a str,
    /// Serial of the TSA certificate, lower-case hex.
    pub tsa_serial: &'a str,
    /// Policy OID, dotted.
    pub policy: &'a str,
    /// Imprint hash algorithm OID, dotted.
    pub hash_alg: &'a str,
    /// The imprint.
    pub imprint: &'a [u8],
    /// genTime, UTC ms.
    pub gen_time_ms: i64,
}

/// Records a token's serial. Returns false, recording nothing, when the serial is
/// already taken (the caller draws another).
pub async fn insert<'e, E: Executor<'e, Database = Any>>(ex: E, t: &NewTimestamp<'_>) -> Result<bool, StoreError> {
    let result = sqlx::query(
        "INSERT INTO timestamps (serial, tsa_serial, policy, hash_alg, imprint, gen_time_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (serial) DO NOTHING",
    )
    .bind(t.serial)
    .bind(t.tsa_serial)
    .bind(t.policy)
    .bind(t.hash_alg)
    .bind(t.imprint.to_vec())
    .bind(t.gen_time_ms)
    .execute(ex)
    .await?;
    Ok(result.rows_affected() == 1)
}

/// How many tokens were issued.
pub async fn count<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<i64, StoreError> {
    let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM timestamps").fetch_one(ex).await?;
    Ok(n)
}
