//! Storage errors.

/// What went wrong in the database layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database URL is neither `sqlite:` nor `postgres://`.
    #[error("unsupported database URL {0} (use sqlite://PATH or postgres://…)")]
    BadUrl(String),
    /// Could not connect.
    #[error("cannot connect to the database: {0}")]
    Connect(String),
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(String),
    /// A query failed.
    #[error("database error: {0}")]
    Sqlx(#[from] sqlx::Error),
    /// A row was expected and none was found.
    #[error("not found: {0}")]
    NotFound(String),
    /// A guarded update found the row in another state (lost a race or illegal transition).
    #[error("conflict: {0}")]
    Conflict(String),
    /// Data handed to the store is not what the column needs (a certificate without a
    /// readable public key, ...).
    #[error("invalid data: {0}")]
    Invalid(String),
}
