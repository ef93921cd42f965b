//! CA errors.

/// What went wrong while issuing or loading a CA.
#[derive(Debug, thiserror::Error)]
pub enum CaError {
    /// Building or signing the certificate failed.
    #[error(transparent)]
    Pki(#[from] imzo_pki::PkiError),
    /// A key could not be loaded.
    #[error(transparent)]
    Key(#[from] imzo_keys::KeyError),
    /// Recording the certificate failed.
    #[error(transparent)]
    Store(#[from] imzo_store::StoreError),
    /// Bad configuration or data folder.
    #[error("{0}")]
    Setup(String),
}
