//! The one error type of the PKI layer.

/// What went wrong while reading, building or checking a PKI object.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// Input bytes are not the expected structure (bad DER/BER/PEM, wrong fields).
    #[error("malformed {what}: {detail}")]
    Malformed {
        /// Which object was being read ("certificate", "PKCS#10 request", ...).
        what: &'static str,
        /// Human-readable detail from the decoder.
        detail: String,
    },
    /// An algorithm or key type Imzo does not (yet) support.
    #[error("unsupported {0}")]
    Unsupported(String),
    /// A signature did not verify.
    #[error("signature does not verify: {0}")]
    BadSignature(String),
    /// The password of a key file or .pfx is wrong (or its MAC does not match).
    #[error("wrong password")]
    WrongPassword,
    /// The signer (key store, HSM) failed.
    #[error("signing failed: {0}")]
    Signer(String),
    /// Encoding failed (should not happen with valid inputs).
    #[error("encoding failed: {0}")]
    Encode(String),
}

impl PkiError {
    /// Shorthand for [`PkiError::Malformed`].
    pub fn malformed(what: &'static str, detail: impl std::fmt::Display) -> Self {
        PkiError::Malformed { what, detail: detail.to_string() }
    }
}
