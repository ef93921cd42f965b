//! Who is asking, for every operator request (decisions and views alike): an attached CMS
//! by a certificate chaining to the root, registered as an active operator of this
//! centre, over a document carrying a fresh operator challenge, consumed once.

use super::lookup;
use crate::{Challenge, RaError, Registration};
use base64::Engine;
use imzo_store::{Tx, cas, cas::OperatorRow, certificates, challenges, time_ms::now_ms};
use sha2::Digest;

/// Purpose of operator challenges (one kind for decisions and views).
const OPERATOR: &str = "operator";

/// A signature that verified: the signed bytes and who signed them.
pub(crate) struct Signed {
    /// The signed content (a JSON document).
    pub(crate) content: Vec<u8>,
    /// SHA-256 of the signer's DER certificate, lower-case hex.
    pub(crate) cert_sha256: String,
    /// The signer certificate's serial, lower-case hex.
    pub(crate) serial: String,
}

/// An operator who proved who they are.
pub(crate) struct Operator {
    /// The registered operator.
    pub(crate) row: OperatorRow,
    /// SHA-256 of the certificate they signed with, lower-case hex.
    pub(crate) cert_sha256: String,
}

impl Operator {
    /// The audit actor, `operator:<id>`.
    pub(crate) fn actor(&self) -> String {
        format!("operator:{}", self.row.id)
    }
}

pub(crate) async fn challenge(ra: &Registration) -> Result<Challenge, RaError> {
    lookup::issue_challenge(ra, OPERATOR, None).await
}

pub(crate) fn not_operator(detail: &str) -> RaError {
    RaError::forbidden(
        "not_operator",
        "Imzo ushbu markazning faol operatoriga tegishli emas.",
        "Подпись не принадлежит действующему оператору этого центра.",
        &format!("The signature is not by an active operator of this centre: {detail}"),
    )
}

/// Verifies an attached CMS with one signer chaining to the root; `malformed` words the
/// error for bytes that are no CMS at all.
pub(crate) fn verify_signature(
    ra: &Registration,
    signed: &[u8],
    malformed: impl Fn(&str) -> RaError,
) -> Result<Signed, RaError> {
    let options = imzo_pki::cms::VerifyOptions { anchors: vec![ra.ca.root.clone()], at: None };
    let report = imzo_pki::cms::verify(signed, None, &options).map_err(|e| malformed(&e.to_string()))?;
    if !report.all_valid() || report.signers.len() != 1 {
        let problems: Vec<String> =
            report.signers.iter().flat_map(|s| s.errors.iter().map(|p| p.code.clone())).collect();
        return Err(RaError::forbidden(
            "bad_signature",
            "Operator imzosi tekshiruvdan o'tmadi.",
            "Подпись оператора не прошла проверку.",
            &format!("The operator's signature is not valid ({}).", problems.join(", ")),
        ));
    }
    let cert = report.signers[0].certificate.as_ref().ok_or_else(|| not_operator("no signer certificate"))?;
    let cert_der = imzo_pki::cert::to_der(cert).map_err(RaError::internal)?;
    let serial = imzo_pki::cert::info(cert).map_err(RaError::internal)?.serial_hex.to_lowercase();
    Ok(Signed { content: report.content, cert_sha256: hex::encode(sha2::Sha256::digest(&cert_der)), serial })
}

/// The challenge bytes of a signed document; `malformed` words the error if not base64.
pub(crate) fn challenge_bytes(challenge_base64: &str, malformed: impl Fn(&str) -> RaError) -> Result<Vec<u8>, RaError> {
    base64::engine::general_purpose::STANDARD
        .decode(challenge_base64.trim())
        .map_err(|_| malformed("challenge_base64 is not base64"))
}

/// Inside `tx`: the signer is an active operator of this centre and the challenge is
/// theirs to use; consumes it (so the request cannot be replayed once `tx` commits).
pub(crate) async fn authorise(
    ra: &Registration,
    tx: &mut Tx<'_>,
    signed: &Signed,
    challenge_id: &str,
    presented: &[u8],
) -> Result<Operator, RaError> {
    let row = cas::lookup_operator_by_cert_sha256(&mut **tx, &signed.cert_sha256)
        .await?
        .ok_or_else(|| not_operator("certificate not registered"))?;
    if row.disabled_at_ms.is_some() {
        return Err(not_operator("operator disabled"));
    }
    // An authorised person acts only while their own certificate is good: a revoked or
    // held one is refused at once, not only once relying parties see the CRL.
    if let Some(issued) = certificates::by_serial(&mut **tx, &signed.serial).await?
        && hex::encode(sha2::Sha256::digest(&issued.cert_der)) == signed.cert_sha256
        && issued.status != "good"
    {
        return Err(not_operator("the operator's certificate is revoked or on hold"));
    }
    // An operator acts for their own centre only: callers switch to it
    // ([`Registration::at`]) and see nothing of other centres.
    if ra.centre_ca(&row.centre_id).is_none() {
        return Err(not_operator("operator of a centre this deployment does not run"));
    }
    let stored = challenges::get(&mut **tx, challenge_id).await?.ok_or_else(lookup::challenge_invalid)?;
    if stored.purpose != OPERATOR || stored.challenge.as_slice() != presented {
        return Err(lookup::challenge_invalid());
    }
    if !challenges::consume(tx, challenge_id, OPERATOR, now_ms()).await? {
        return Err(lookup::challenge_invalid());
    }
    Ok(Operator { row, cert_sha256: signed.cert_sha256.clone() })
}
