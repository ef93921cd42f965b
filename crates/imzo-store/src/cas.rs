//! CA certificates, registration centres and their operators.

use crate::{Any, StoreError, Tx, time_ms::now_ms};
use sqlx::{Executor, Row, any::AnyRow};

/// A CA (the authorised body's root or a centre's CA) as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaRow {
    /// Id: `root`, `rc1`, ...
    pub id: String,
    /// `root` or `centre`.
    pub kind: String,
    /// The issuing CA's id (none for a root).
    pub parent_id: Option<String>,
    /// Display name.
    pub name: String,
    /// DER certificate.
    pub cert_der: Vec<u8>,
    /// Where the signer finds the key (file path, PKCS#11 URI).
    pub key_ref: String,
    /// Recorded at, UTC ms.
    pub created_at_ms: i64,
}

/// A new CA to record.
#[derive(Debug, Clone)]
pub struct NewCa<'a> {
    /// Id: `root`, `rc1`, ...
    pub id: &'a str,
    /// `root` or `centre`.
    pub kind: &'a str,
    /// The issuing CA's id (none for a root).
    pub parent_id: Option<&'a str>,
    /// Display name.
    pub name: &'a str,
    /// DER certificate.
    pub cert_der: &'a [u8],
    /// Where the signer finds the key.
    pub key_ref: &'a str,
}

/// A registration centre.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentreRow {
    /// Id: `rc1`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Its issuing CA's id.
    pub ca_id: String,
    /// Recorded at, UTC ms.
    pub created_at_ms: i64,
}

/// An operator of a registration centre, known by their certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRow {
    /// Operator id.
    pub id: i64,
    /// The centre they work for.
    pub centre_id: String,
    /// Display name.
    pub name: String,
    /// DER certificate.
    pub cert_der: Vec<u8>,
    /// SHA-256 of the DER certificate, lower-case hex.
    pub cert_sha256: String,
    /// Disabled at, UTC ms (a disabled operator decides nothing).
    pub disabled_at_ms: Option<i64>,
    /// Recorded at, UTC ms.
    pub created_at_ms: i64,
}

fn ca_from_row(r: &AnyRow) -> Result<CaRow, sqlx::Error> {
    Ok(CaRow {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        parent_id: r.try_get("parent_id")?,
        name: r.try_get("name")?,
        cert_der: r.try_get("cert_der")?,
        key_ref: r.try_get("key_ref")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

fn centre_from_row(r: &AnyRow) -> Result<CentreRow, sqlx::Error> {
    Ok(CentreRow {
        id: r.try_get("id")?,
        name: r.try_get("name")?,
        ca_id: r.try_get("ca_id")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

fn operator_from_row(r: &AnyRow) -> Result<OperatorRow, sqlx::Error> {
    Ok(OperatorRow {
        id: r.try_get("id")?,
        centre_id: r.try_get("centre_id")?,
        name: r.try_get("name")?,
        cert_der: r.try_get("cert_der")?,
        cert_sha256: r.try_get("cert_sha256")?,
        disabled_at_ms: r.try_get("disabled_at_ms")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

/// Records a CA in `tx`.
pub async fn insert_ca(tx: &mut Tx<'_>, ca: &NewCa<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO cas (id, kind, parent_id, name, cert_der, key_ref, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(ca.id)
    .bind(ca.kind)
    .bind(ca.parent_id)
    .bind(ca.name)
    .bind(ca.cert_der)
    .bind(ca.key_ref)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The CA with id `id`, if recorded.
pub async fn ca<'e, E: Executor<'e, Database = Any>>(ex: E, id: &str) -> Result<Option<CaRow>, StoreError> {
    let row = sqlx::query("SELECT id, kind, parent_id, name, cert_der, key_ref, created_at_ms FROM cas WHERE id = $1")
        .bind(id)
        .fetch_optional(ex)
        .await?;
    Ok(row.as_ref().map(ca_from_row).transpose()?)
}

/// Every recorded CA, roots first, then by id.
pub async fn all_cas<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<Vec<CaRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, kind, parent_id, name, cert_der, key_ref, created_at_ms FROM cas \
         ORDER BY CASE WHEN kind = 'root' THEN 0 ELSE 1 END, id",
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(ca_from_row).collect::<Result<_, _>>()?)
}

/// Records a registration centre in `tx`.
pub async fn insert_centre(tx: &mut Tx<'_>, id: &str, name: &str, ca_id: &str) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO centres (id, name, ca_id, created_at_ms) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(name)
        .bind(ca_id)
        .bind(now_ms())
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The centre with id `id`, if recorded.
pub async fn centre<'e, E: Executor<'e, Database = Any>>(ex: E, id: &str) -> Result<Option<CentreRow>, StoreError> {
    let row = sqlx::query("SELECT id, name, ca_id, created_at_ms FROM centres WHERE id = $1")
        .bind(id)
        .fetch_optional(ex)
        .await?;
    Ok(row.as_ref().map(centre_from_row).transpose()?)
}

/// Every centre, by id.
pub async fn all_centres<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<Vec<CentreRow>, StoreError> {
    let rows = sqlx::query("SELECT id, name, ca_id, created_at_ms FROM centres ORDER BY id").fetch_all(ex).await?;
    Ok(rows.iter().map(centre_from_row).collect::<Result<_, _>>()?)
}

/// Records an operator of `centre_id` in `tx`; returns the operator id.
pub async fn insert_operator(
    tx: &mut Tx<'_>,
    centre_id: &str,
    name: &str,
    cert_der: &[u8],
    cert_sha256: &str,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO operators (centre_id, name, cert_der, cert_sha256, created_at_ms) VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(centre_id)
    .bind(name)
    .bind(cert_der)
    .bind(cert_sha256)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}

/// The operator whose certificate has this SHA-256 (lower-case hex), disabled or not:
/// the caller decides what a disabled operator may do.
pub async fn lookup_operator_by_cert_sha256<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    cert_sha256: &str,
) -> Result<Option<OperatorRow>, StoreError> {
    let row = sqlx::query(
        "SELECT id, centre_id, name, cert_der, cert_sha256, disabled_at_ms, created_at_ms FROM operators WHERE cert_sha256 = $1",
    )
    .bind(cert_sha256.to_ascii_lowercase())
    .fetch_optional(ex)
    .await?;
    Ok(row.as_ref().map(operator_from_row).transpose()?)
}

/// Operators of `centre_id`, by id.
pub async fn operators_of<'e, E: Executor<'e, Database = Any>>(ex: E, centre_id: &str) -> Result<Vec<OperatorRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, centre_id, name, cert_der, cert_sha256, disabled_at_ms, created_at_ms FROM operators \
         WHERE centre_id = $1 ORDER BY id",
    )
    .bind(centre_id)
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(operator_from_row).collect::<Result<_, _>>()?)
}

/// Operators of every centre, by id (disabled ones too).
pub async fn all_operators<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<Vec<OperatorRow>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, centre_id, name, cert_der, cert_sha256, disabled_at_ms, created_at_ms FROM operators ORDER BY id",
    )
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(operator_from_row).collect::<Result<_, _>>()?)
}
