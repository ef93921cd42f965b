//! Errors of key storage.

/// What went wrong loading, saving or using a key.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The password is wrong.
    #[error("wrong password for {0}")]
    WrongPassword(String),
    /// The key material is malformed or unsupported.
    #[error(transparent)]
    Pki(#[from] imzo_pki::PkiError),
    /// A PKCS#11 token or its URI failed.
    #[error(transparent)]
    Pkcs11(#[from] crate::pkcs11::Pkcs11Error),
}
