//! Errors of certificate status work: revocation requests, CRLs, OCSP.

/// What went wrong with a status change or its publication. Each variant carries a
/// stable code (for the API) and a message naming what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    /// The request is malformed (not a signed request, bad JSON, unknown reason).
    #[error("{message}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// What is wrong (English).
        message: String,
        /// The field at fault and the message in Uzbek and Russian, when known.
        texts: Option<Box<Texts>>,
    },
    /// The signer may not make this change (bad signature, not an operator, not the holder).
    #[error("{message}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// Why (English).
        message: String,
        /// The field at fault and the message in Uzbek and Russian, when known.
        texts: Option<Box<Texts>>,
    },
    /// No such certificate or CA.
    #[error("{0} not found")]
    NotFound(String),
    /// The change is not allowed from the certificate's current status.
    #[error("{0}")]
    Conflict(String),
    /// CA-side failure (signing, keys).
    #[error(transparent)]
    Ca(#[from] crate::CaError),
    /// PKI encoding failure.
    #[error(transparent)]
    Pki(#[from] imzo_pki::PkiError),
    /// Database failure.
    #[error(transparent)]
    Store(imzo_store::StoreError),
}

/// A refusal's field and its message for people who read Uzbek or Russian (the English
/// one is the error's own message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Texts {
    /// The request field at fault, if one is.
    pub field: Option<&'static str>,
    /// O'zbekcha (Latin; the API derives the Cyrillic form).
    pub uz: String,
    /// Русский.
    pub ru: String,
}

impl From<imzo_store::StoreError> for StatusError {
    fn from(e: imzo_store::StoreError) -> Self {
        match e {
            imzo_store::StoreError::NotFound(what) => StatusError::NotFound(what),
            imzo_store::StoreError::Conflict(what) => StatusError::Conflict(what),
            other => StatusError::Store(other),
        }
    }
}

impl StatusError {
    /// Shorthand for [`StatusError::BadRequest`].
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        StatusError::BadRequest { code, message: message.into(), texts: None }
    }

    /// Shorthand for [`StatusError::Forbidden`].
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        StatusError::Forbidden { code, message: message.into(), texts: None }
    }

    /// The same refusal naming `field`, with its message in Uzbek and Russian too.
    pub fn in_words(self, field: Option<&'static str>, uz: impl Into<String>, ru: impl Into<String>) -> Self {
        let words = Some(Box::new(Texts { field, uz: uz.into(), ru: ru.into() }));
        match self {
            StatusError::BadRequest { code, message, .. } => StatusError::BadRequest { code, message, texts: words },
            StatusError::Forbidden { code, message, .. } => StatusError::Forbidden { code, message, texts: words },
            other => other,
        }
    }
}
