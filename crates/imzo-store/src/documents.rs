//! Documents stored by SHA-256, linked to applications.

use crate::{Any, StoreError, Tx, time_ms::now_ms};
use sqlx::{Executor, Row};

/// A document linked to an application (without its bytes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentRef {
    /// `passport` or `selfie`.
    pub kind: String,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
    /// `application/pdf`, `image/png` or `image/jpeg`.
    pub media_type: String,
    /// Size in bytes.
    pub size: i64,
    /// File name the applicant's browser sent (informational).
    pub file_name: Option<String>,
}

/// Stores `bytes` under `sha256` unless a document with that hash is already stored
/// (content-addressed: an existing row is never overwritten).
pub async fn put(tx: &mut Tx<'_>, sha256: &str, media_type: &str, bytes: &[u8]) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO documents (sha256, media_type, size, bytes, created_at_ms) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (sha256) DO NOTHING",
    )
    .bind(sha256)
    .bind(media_type)
    .bind(i64::try_from(bytes.len()).unwrap_or(i64::MAX))
    .bind(bytes.to_vec())
    .bind(now_ms())
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Links document `sha256` to application `application_id` as `kind`.
pub async fn link(
    tx: &mut Tx<'_>,
    application_id: i64,
    kind: &str,
    sha256: &str,
    file_name: Option<&str>,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO application_documents (application_id, kind, sha256, file_name) VALUES ($1, $2, $3, $4)")
        .bind(application_id)
        .bind(kind)
        .bind(sha256)
        .bind(file_name)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The documents linked to an application, by kind.
pub async fn for_application<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    application_id: i64,
) -> Result<Vec<DocumentRef>, StoreError> {
    let rows = sqlx::query(
        "SELECT l.kind, l.sha256, l.file_name, d.media_type, d.size FROM application_documents l \
         JOIN documents d ON d.sha256 = l.sha256 WHERE l.application_id = $1 ORDER BY l.kind",
    )
    .bind(application_id)
    .fetch_all(ex)
    .await?;
    rows.iter()
        .map(|r| {
            Ok(DocumentRef {
                kind: r.try_get("kind")?,
                sha256: r.try_get("sha256")?,
                media_type: r.try_get("media_type")?,
                size: r.try_get("size")?,
                file_name: r.try_get("file_name")?,
            })
        })
        .collect()
}

/// The media type and bytes of document `sha256`.
pub async fn get<'e, E: Executor<'e, Database = Any>>(
    ex: E,
    sha256: &str,
) -> Result<Option<(String, Vec<u8>)>, StoreError> {
    let row = sqlx::query("SELECT media_type, bytes FROM documents WHERE sha256 = $1")
        .bind(sha256)
        .fetch_optional(ex)
        .await?;
    match row {
        Some(r) => Ok(Some((r.try_get("media_type")?, r.try_get("bytes")?))),
        None => Ok(None),
    }
}
