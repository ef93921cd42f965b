//! CMS SignedData (RFC 5652): signing with signed attributes, and verification.

pub(crate) mod attributes;
pub mod ber;
pub(crate) mod input;
mod sign;
pub(crate) mod verify;

use crate::{PkiError, RawSigner, path::PathError};
use time::OffsetDateTime;
use x509_cert::Certificate;
/// How a signature is made.
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// Leave the content out of the SignedData.
    pub detached: bool,
    /// Value of the signing-time attribute.
    pub signing_time: OffsetDateTime,
}

/// Signs `content`: SignedData with signed attributes content-type, message-digest,
/// signing-time and signing-certificate-v2; signer identified by issuer and serial;
/// `chain` (signer's certificate first, then its issuers) embedded. Returns DER
/// ContentInfo.
pub fn sign(
    content: &[u8],
    signer: &dyn RawSigner,
    chain: &[Certificate],
    options: &SignOptions,
) -> Result<Vec<u8>, PkiError> {
    sign::sign(content, signer, chain, options)
}

/// Proof of possession (DESIGN §2 step 7): detached SignedData over `challenge`, signer
/// identified by subject key identifier (SHA-1 of the public key), no certificates.
pub fn sign_proof_of_possession(
    challenge: &[u8],
    signer: &dyn RawSigner,
) -> Result<Vec<u8>, PkiError> {
    sign::sign_proof_of_possession(challenge, signer)
}

/// Checks a proof of possession: a SignedData (DER or BER, or PEM) over `challenge`
/// (detached, or attached with equal content) signed by the key `public_key_der`.
pub fn verify_proof_of_possession(
    cms: &[u8],
    challenge: &[u8],
    public_key_der: &[u8],
) -> Result<(), PkiError> {
    verify::verify_proof_of_possession(cms, challenge, public_key_der)
}

/// What to check a signature against.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// Trusted roots.
    pub anchors: Vec<Certificate>,
    /// Check the chain at this time; without it, now. The signing-time attribute is never
    /// used for this: the signer's own clock writes it, so it is a claim, not evidence
    /// (only a valid RFC 3161 time-stamp proves an earlier time; callers pass its genTime).
    pub at: Option<OffsetDateTime>,
}

/// Largest clock difference tolerated between a claimed signing time and the verifier's
/// clock (future) or the signer certificate's notBefore (past).
pub const SIGNING_TIME_SKEW: time::Duration = time::Duration::minutes(5);

/// The verdict on one signer.
#[derive(Debug, Clone)]
pub struct SignerReport {
    /// The signer's certificate, if found in the SignedData.
    pub certificate: Option<Certificate>,
    /// signing-time attribute.
    pub signing_time: Option<OffsetDateTime>,
    /// The signature value checks out over the signed attributes and content.
    pub signature_valid: bool,
    /// The chain to a trust anchor is valid at the time checked.
    pub chain_valid: bool,
    /// Every problem found, with stable codes.
    pub errors: Vec<VerifyProblem>,
}

/// One problem with a stable code and a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyProblem {
    /// Stable code: `bad_signature`, `digest_mismatch`, `untrusted`, `expired`,
    /// `not_yet_valid`, `key_usage`, `no_signer_certificate`, `bad_signing_time` (the
    /// claimed signing time is in the future or before the signer's certificate), ...
    pub code: String,
    /// Human-readable message.
    pub message: String,
}

impl From<&PathError> for VerifyProblem {
    fn from(e: &PathError) -> Self {
        VerifyProblem {
            code: e.code().to_string(),
            message: e.to_string(),
        }
    }
}

/// The verdict on a SignedData.
#[derive(Debug, Clone)]
pub struct VerifyReport {
    /// The signed content (attached, or the detached content given).
    pub content: Vec<u8>,
    /// One report per SignerInfo.
    pub signers: Vec<SignerReport>,
}

impl VerifyReport {
    /// True when there is at least one signer and every signer is fully valid.
    pub fn all_valid(&self) -> bool {
        !self.signers.is_empty() && self.signers.iter().all(|s| s.errors.is_empty())
    }
}

/// Verifies a SignedData (PEM, DER or BER). `detached_content` must be given when the
/// content is not inside. Malformed input is an `Err`; a definite negative verdict is
/// an `Ok` report with errors.
pub fn verify(
    cms: &[u8],
    detached_content: Option<&[u8]>,
    options: &VerifyOptions,
) -> Result<VerifyReport, PkiError> {
    verify::verify(cms, detached_content, options)
}
