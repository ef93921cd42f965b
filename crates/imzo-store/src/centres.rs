//! What the authorised body keeps about registration centres beyond their CA: the
//! number an applicant chooses, names in three languages, registration status, and the
//! authorised persons (operators, officers) who act for each centre.

use crate::{Any, StoreError, Tx, time_ms::now_ms};
use sqlx::{Executor, Row, any::AnyRow};

/// A registration centre as the register shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CentreEntry {
    /// Id: `rc1`.
    pub id: String,
    /// Number an applicant chooses (1, 2, …); none for a centre recorded before numbers.
    pub number: Option<i64>,
    /// Display name (as recorded at registration).
    pub name: String,
    /// Name in Uzbek (Latin).
    pub name_uz: Option<String>,
    /// Name in Russian.
    pub name_ru: Option<String>,
    /// Name in English.
    pub name_en: Option<String>,
    /// Its issuing CA's id.
    pub ca_id: String,
    /// `active` or `revoked`.
    pub status: String,
    /// Registration revoked at, UTC ms.
    pub revoked_at_ms: Option<i64>,
    /// Why (RFC 5280 reason name).
    pub revocation_reason: Option<String>,
    /// Recorded at, UTC ms.
    pub created_at_ms: i64,
}

/// A new centre to record with its number and names.
#[derive(Debug, Clone)]
pub struct NewCentre<'a> {
    /// Id: `rc2`.
    pub id: &'a str,
    /// Number an applicant chooses.
    pub number: i64,
    /// Display name.
    pub name: &'a str,
    /// Name in Uzbek (Latin).
    pub name_uz: &'a str,
    /// Name in Russian.
    pub name_ru: &'a str,
    /// Name in English.
    pub name_en: &'a str,
    /// Its issuing CA's id.
    pub ca_id: &'a str,
}

/// The columns of a [`CentreEntry`], for `concat!` (queries are static strings).
macro_rules! centre_columns {
    () => {
        "id, number, name, name_uz, name_ru, name_en, ca_id, status, revoked_at_ms, revocation_reason, created_at_ms"
    };
}

fn entry_from_row(r: &AnyRow) -> Result<CentreEntry, sqlx::Error> {
    Ok(CentreEntry {
        id: r.try_get("id")?,
        number: r.try_get("number")?,
        name: r.try_get("name")?,
        name_uz: r.try_get("name_uz")?,
        name_ru: r.try_get("name_ru")?,
        name_en: r.try_get("name_en")?,
        ca_id: r.try_get("ca_id")?,
        status: r.try_get("status")?,
        revoked_at_ms: r.try_get("revoked_at_ms")?,
        revocation_reason: r.try_get("revocation_reason")?,
        created_at_ms: r.try_get("created_at_ms")?,
    })
}

/// Records a centre with its number and names in `tx`. A number or id taken is a
/// [`StoreError::Conflict`].
pub async fn insert(tx: &mut Tx<'_>, centre: &NewCentre<'_>) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO centres (id, number, name, name_uz, name_ru, name_en, ca_id, status, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'active', $8)",
    )
    .bind(centre.id)
    .bind(centre.number)
    .bind(centre.name)
    .bind(centre.name_uz)
    .bind(centre.name_ru)
    .bind(centre.name_en)
    .bind(centre.ca_id)
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Gives a centre recorded before numbers and names (the one-centre layout) its number
/// and names, where they are missing; returns whether anything changed.
pub async fn fill_missing_names(
    tx: &mut Tx<'_>,
    id: &str,
    number: i64,
    uz: &str,
    ru: &str,
    en: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE centres SET number = COALESCE(number, $2), name_uz = COALESCE(name_uz, $3), \
         name_ru = COALESCE(name_ru, $4), name_en = COALESCE(name_en, $5) \
         WHERE id = $1 AND (number IS NULL OR name_uz IS NULL OR name_ru IS NULL OR name_en IS NULL)",
    )
    .bind(id)
    .bind(number)
    .bind(uz)
    .bind(ru)
    .bind(en)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// The centre `id`, if recorded.
pub async fn get<'e, E: Executor<'e, Database = Any>>(ex: E, id: &str) -> Result<Option<CentreEntry>, StoreError> {
    let row = sqlx::query(concat!("SELECT ", centre_columns!(), " FROM centres WHERE id = $1"))
        .bind(id)
        .fetch_optional(ex)
        .await?;
    Ok(row.as_ref().map(entry_from_row).transpose()?)
}

/// The centre with number `number`, if recorded.
pub async fn by_number<'e, E: Executor<'e, Database = Any>>(ex: E, number: i64) -> Result<Option<CentreEntry>, StoreError> {
    let row = sqlx::query(concat!("SELECT ", centre_columns!(), " FROM centres WHERE number = $1"))
        .bind(number)
        .fetch_optional(ex)
        .await?;
    Ok(row.as_ref().map(entry_from_row).transpose()?)
}

/// Every centre, by number (centres without one last, by id).
pub async fn list<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<Vec<CentreEntry>, StoreError> {
    let rows = sqlx::query(concat!(
        "SELECT ",
        centre_columns!(),
        " FROM centres ORDER BY CASE WHEN number IS NULL THEN 1 ELSE 0 END, number, id"
    ))
    .fetch_all(ex)
    .await?;
    Ok(rows.iter().map(entry_from_row).collect::<Result<_, _>>()?)
}

/// The next free centre number (one past the highest).
pub async fn next_number<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<i64, StoreError> {
    let row = sqlx::query("SELECT COALESCE(MAX(number), 0) + 1 AS next FROM centres").fetch_one(ex).await?;
    Ok(row.try_get("next")?)
}

/// Marks centre `id`'s registration revoked in `tx`; false if it was not active (guarded:
/// a revoked centre is never revoked twice).
pub async fn revoke(tx: &mut Tx<'_>, id: &str, reason: &str, at_ms: i64) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE centres SET status = 'revoked', revoked_at_ms = $2, revocation_reason = $3 WHERE id = $1 AND status = 'active'",
    )
    .bind(id)
    .bind(at_ms)
    .bind(reason)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// An authorised person of a centre (operator or officer) with their certificate's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonEntry {
    /// Operator id.
    pub id: i64,
    /// The centre they act for.
    pub centre_id: String,
    /// Display name.
    pub name: String,
    /// `operator` or `officer`.
    pub role: String,
    /// DER certificate.
    pub cert_der: Vec<u8>,
    /// SHA-256 of the DER certificate, lower-case hex.
    pub cert_sha256: String,
    /// Disabled at, UTC ms.
    pub disabled_at_ms: Option<i64>,
    /// The certificate's issuing CA id, when the certificate is recorded.
    pub issuer_ca_id: Option<String>,
    /// The certificate's recorded status (`good`, `revoked`), when recorded.
    pub cert_status: Option<String>,
    /// Its CRLReason code, when revoked.
    pub revocation_reason: Option<i64>,
}

/// Every authorised person, by centre then id, with their certificate's recorded status
/// (found by the certificate's DER, since operators are keyed by its hash).
pub async fn persons<'e, E: Executor<'e, Database = Any>>(ex: E) -> Result<Vec<PersonEntry>, StoreError> {
    let rows = sqlx::query(
        "SELECT o.id, o.centre_id, o.name, o.role, o.cert_der, o.cert_sha256, o.disabled_at_ms, \
                c.ca_id AS issuer_ca_id, c.status AS cert_status, c.revocation_reason \
         FROM operators o LEFT JOIN certificates c ON c.cert_der = o.cert_der \
         ORDER BY o.centre_id, o.id",
    )
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(PersonEntry {
                id: r.try_get("id")?,
                centre_id: r.try_get("centre_id")?,
                name: r.try_get("name")?,
                role: r.try_get("role")?,
                cert_der: r.try_get("cert_der")?,
                cert_sha256: r.try_get("cert_sha256")?,
                disabled_at_ms: r.try_get("disabled_at_ms")?,
                issuer_ca_id: r.try_get("issuer_ca_id")?,
                cert_status: r.try_get("cert_status")?,
                revocation_reason: r.try_get("revocation_reason")?,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .map_err(StoreError::from)
}

/// Records an authorised person of `centre_id` with `role` in `tx`; returns the id.
pub async fn insert_person(
    tx: &mut Tx<'_>,
    centre_id: &str,
    name: &str,
    role: &str,
    cert_der: &[u8],
    cert_sha256: &str,
) -> Result<i64, StoreError> {
    let row = sqlx::query(
        "INSERT INTO operators (centre_id, name, role, cert_der, cert_sha256, created_at_ms) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(centre_id)
    .bind(name)
    .bind(role)
    .bind(cert_der)
    .bind(cert_sha256)
    .bind(now_ms())
    .fetch_one(&mut **tx)
    .await?;
    Ok(row.try_get("id")?)
}
