//! Revocation, suspension (certificateHold) and release, asked for in a signed request.
//!
//! A request is a JSON [`RevocationRequest`] inside an attached CMS SignedData, bound to
//! a one-time server challenge (so a captured request cannot be replayed). Who may ask:
//! - an active **operator** of the centre (signed with the operator's certificate):
//!   revoke with any reason, hold, release;
//! - the **holder** (signed with the very certificate being revoked — the key itself):
//!   revoke or hold, never release (whoever holds a stolen key must not lift a hold).
//!
//! Each change is one transaction: challenge used up, guarded status update, CRL marked
//! due, cached OCSP answer dropped, audit row.

use crate::CentreCa;
use crate::revocation_error::StatusError;
use base64::Engine as _;
use imzo_pki::crl::RevocationReason;
use imzo_store::{
    Store,
    audit::{self, AuditEntry},
    cas, certificates, challenges, status,
    time_ms::{from_ms, now_ms},
};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use time::OffsetDateTime;

/// Challenge purpose of revocation requests.
pub const CHALLENGE_PURPOSE: &str = "revocation";
/// How long a revocation challenge may be answered.
const CHALLENGE_TTL_MS: i64 = 10 * 60 * 1000;

/// What the request asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RevocationAction {
    /// Revoke for good with `reason` (certificateHold means suspend).
    Revoke,
    /// Suspend: revoke with reason certificateHold.
    Hold,
    /// Lift a hold (operators only).
    Release,
}

/// The signed document of a revocation request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationRequest {
    /// Id of the challenge from `POST /api/v1/revocations/challenge`.
    pub challenge_id: String,
    /// The challenge bytes, base64, as received.
    pub challenge_base64: String,
    /// Serial of the certificate, hex.
    pub serial: String,
    /// What to do.
    pub action: RevocationAction,
    /// RFC 5280 reason name (`keyCompromise`, …) for `revoke`; default `unspecified`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// A revocation challenge to sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RevocationChallenge {
    /// Challenge id.
    pub id: String,
    /// Bytes to put into the request, base64.
    pub challenge_base64: String,
    /// Expiry.
    #[serde(with = "time::serde::rfc3339")]
    pub expires_at: OffsetDateTime,
}

/// A certificate's status after a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusView {
    /// Serial, lower-case hex.
    pub serial: String,
    /// `good`, `revoked` or `on_hold`.
    pub status: String,
    /// RFC 5280 reason name when revoked or on hold.
    pub reason: Option<String>,
    /// When revoked.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// Who asked: `operator:<id>` or `holder`.
    pub by: String,
}

/// Issues a one-time challenge for a revocation request.
pub async fn challenge(store: &Store) -> Result<RevocationChallenge, StatusError> {
    let mut bytes = [0u8; 32];
    let mut id = [0u8; 16];
    getrandom::fill(&mut bytes).and_then(|()| getrandom::fill(&mut id)).map_err(|e| {
        StatusError::Ca(crate::CaError::Setup(format!("no randomness for a challenge: {e}")))
    })?;
    let id = hex::encode(id);
    let expires = now_ms().saturating_add(CHALLENGE_TTL_MS);
    challenges::insert(store.pool(), &id, CHALLENGE_PURPOSE, None, &bytes, expires).await?;
    Ok(RevocationChallenge {
        id,
        challenge_base64: base64::engine::general_purpose::STANDARD.encode(bytes),
        expires_at: from_ms(expires),
    })
}

enum Requester {
    Operator(i64),
    Holder,
}

/// Verifies a signed revocation request for a certificate of `ca`, and applies it.
pub async fn apply(store: &Store, ca: &CentreCa, signed: &[u8]) -> Result<StatusView, StatusError> {
    apply_in(store, &[ca], signed).await
}

/// [`apply`] for a deployment of several centres: the certificate's own centre (one of
/// `cas`, which share a root) judges the request and records it. A certificate the root
/// issued (an authorised person's) may be revoked or held by its holder only; the
/// authorised body changes the others (`imzo authority`).
pub async fn apply_in(store: &Store, cas: &[&CentreCa], signed: &[u8]) -> Result<StatusView, StatusError> {
    let root = cas.first().map(|c| c.root.clone()).ok_or_else(|| StatusError::NotFound("a certification authority".to_string()))?;
    let options = imzo_pki::cms::VerifyOptions { anchors: vec![root], at: None };
    let report = imzo_pki::cms::verify(signed, None, &options)
        .map_err(|e| {
            StatusError::bad("malformed_request", format!("the signed revocation request is malformed: {e}")).in_words(
                Some("cms"),
                "Imzolangan bekor qilish so'rovi buzilgan: CMS o'qilmadi",
                "Подписанный запрос на отзыв повреждён: CMS не читается",
            )
        })?;
    if report.signers.len() != 1 {
        return Err(StatusError::bad("malformed_request", "the revocation request must have exactly one signer").in_words(
            Some("cms"),
            "Bekor qilish so'rovida aynan bitta imzo bo'lishi kerak",
            "Запрос на отзыв должен иметь ровно одну подпись",
        ));
    }
    let signer = &report.signers[0];
    let cert = signer
        .certificate
        .as_ref()
        .ok_or_else(|| {
            StatusError::bad("malformed_request", "the signer's certificate must be inside the request").in_words(
                Some("cms"),
                "Imzolovchining sertifikati so'rov ichida bo'lishi kerak",
                "Сертификат подписавшего должен быть внутри запроса",
            )
        })?;
    let request: RevocationRequest = serde_json::from_slice(&report.content).map_err(|e| {
        StatusError::bad("malformed_request", format!("the content is not a revocation request: {e}")).in_words(
            Some("cms"),
            "Imzolangan mazmun bekor qilish so'rovi emas (JSON: challenge_id, challenge_base64, serial, action)",
            "Подписанное содержимое не является запросом на отзыв (JSON: challenge_id, challenge_base64, serial, action)",
        )
    })?;
    let reason = match request.action {
        RevocationAction::Hold => Some(RevocationReason::CertificateHold),
        RevocationAction::Release => None,
        RevocationAction::Revoke => Some(match request.reason.as_deref() {
            None => RevocationReason::Unspecified,
            Some(text) => RevocationReason::parse(text).map_err(|e| {
                StatusError::bad("invalid_reason", format!("'reason' is invalid: {e}")).in_words(
                    Some("reason"),
                    "«reason» noto'g'ri: bekor qilish sababi noma'lum (masalan: keyCompromise, superseded, certificateHold)",
                    "Поле «reason» неверно: неизвестная причина отзыва (например: keyCompromise, superseded, certificateHold)",
                )
            })?,
        }),
    };
    let presented = base64::engine::general_purpose::STANDARD
        .decode(request.challenge_base64.trim())
        .map_err(|_| {
            StatusError::bad("malformed_request", "'challenge_base64' is not base64").in_words(
                Some("challenge_base64"),
                "«challenge_base64» base64 ko'rinishida emas",
                "Поле «challenge_base64» не в кодировке base64",
            )
        })?;
    let serial = request.serial.trim().trim_start_matches("0x").to_ascii_lowercase();
    if serial.is_empty() || !serial.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(StatusError::bad("invalid_serial", format!("'serial' {:?} is not a hexadecimal number", request.serial)).in_words(
            Some("serial"),
            "«serial» o'n oltilik (hex) son emas",
            "Поле «serial» не является шестнадцатеричным числом",
        ));
    }
    let serial = {
        let trimmed = serial.trim_start_matches("00");
        if trimmed.is_empty() { serial.clone() } else { trimmed.to_string() }
    };

    let signer_der = imzo_pki::cert::to_der(cert)?;
    let signer_serial = imzo_pki::cert::info(cert)?.serial_hex;
    let mut tx = store.begin().await?;
    let target = certificates::by_serial(&mut *tx, &serial)
        .await?
        .ok_or_else(|| StatusError::NotFound(format!("certificate {serial}")))?;
    let ca = cas.iter().copied().find(|c| c.ca_id == target.ca_id);
    if ca.is_none() && target.ca_id != crate::bootstrap::ROOT_ID {
        return Err(StatusError::NotFound(format!("certificate {serial} of this centre")));
    }
    let holder_signed = signer_serial == serial && signer_der == target.cert_der;
    // Path validation here does not consult revocation (a held certificate may still
    // ask to be revoked for good), so any problem the verifier reports means no.
    if !report.all_valid() {
        return Err(bad_signature(signer));
    }
    let requester = if holder_signed {
        Requester::Holder
    } else {
        let digest = hex::encode(sha2::Sha256::digest(&signer_der));
        let operator = cas::lookup_operator_by_cert_sha256(&mut *tx, &digest)
            .await?
            .ok_or_else(|| {
                StatusError::forbidden("not_authorised", "the request is signed neither by the certificate's holder nor by an operator")
                    .in_words(
                        Some("cms"),
                        "So'rov na sertifikat egasi, na operator tomonidan imzolangan",
                        "Запрос подписан не владельцем сертификата и не оператором",
                    )
            })?;
        if operator.disabled_at_ms.is_some() || ca.is_none_or(|c| operator.centre_id != c.centre_id) {
            return Err(StatusError::forbidden("not_authorised", "the signer is not an active operator of this centre").in_words(
                Some("cms"),
                "Imzolovchi ushbu markazning faol operatori emas",
                "Подписавший не является действующим оператором этого центра",
            ));
        }
        // An operator whose own certificate was revoked has lost the right to act.
        let own = certificates::by_serial(&mut *tx, &signer_serial).await?;
        if own.is_some_and(|c| c.status != "good") {
            return Err(StatusError::forbidden("not_authorised", "the operator's certificate is revoked or on hold").in_words(
                Some("cms"),
                "Operatorning sertifikati bekor qilingan yoki to'xtatilgan",
                "Сертификат оператора отозван или приостановлен",
            ));
        }
        Requester::Operator(operator.id)
    };
    if matches!(requester, Requester::Holder) && request.action == RevocationAction::Release {
        return Err(StatusError::forbidden("not_authorised", "only an operator can release a hold").in_words(
            Some("action"),
            "To'xtatishni faqat operator bekor qila oladi",
            "Снять приостановку может только оператор",
        ));
    }
    if let (Requester::Holder, Some(reason)) = (&requester, reason)
        && !holder_may_give(reason)
    {
        return Err(holder_reason_refused(reason));
    }

    let challenge = challenges::get(&mut *tx, &request.challenge_id).await?.ok_or_else(challenge_invalid)?;
    if challenge.purpose != CHALLENGE_PURPOSE || challenge.challenge != presented {
        return Err(challenge_invalid());
    }
    let now = now_ms();
    if !challenges::consume(&mut tx, &request.challenge_id, CHALLENGE_PURPOSE, now).await? {
        return Err(challenge_invalid());
    }

    let (actor, by) = match requester {
        Requester::Operator(id) => (format!("operator:{id}"), format!("operator:{id}")),
        Requester::Holder => ("holder".to_string(), "holder".to_string()),
    };
    let (action, view) = match reason {
        Some(reason) => {
            let before = status::revoke(&mut tx, &serial, reason.code(), now).await?;
            let action = if reason == RevocationReason::CertificateHold { "certificate.held" } else { "certificate.revoked" };
            audit::record(
                &mut tx,
                AuditEntry {
                    centre_id: ca.map(|c| c.centre_id.as_str()),
                    actor: &actor,
                    action,
                    subject: &serial,
                    details: serde_json::json!({ "reason": reason.name(), "previous_status": before.status,
                        "previous_reason": before.reason }),
                },
            )
            .await?;
            let state = if reason == RevocationReason::CertificateHold { "on_hold" } else { "revoked" };
            (
                action,
                StatusView {
                    serial: serial.clone(),
                    status: state.into(),
                    reason: Some(reason.name().into()),
                    revoked_at: Some(from_ms(now)),
                    by,
                },
            )
        }
        None => {
            status::release(&mut tx, &serial, now).await?;
            audit::record(
                &mut tx,
                AuditEntry {
                    centre_id: ca.map(|c| c.centre_id.as_str()),
                    actor: &actor,
                    action: "certificate.released",
                    subject: &serial,
                    details: serde_json::json!({}),
                },
            )
            .await?;
            ("certificate.released", StatusView { serial: serial.clone(), status: "good".into(), reason: None, revoked_at: None, by })
        }
    };
    tx.commit().await.map_err(imzo_store::StoreError::from)?;
    tracing::info!(serial = %serial, %actor, action, "certificate status changed");
    Ok(view)
}

fn bad_signature(signer: &imzo_pki::cms::SignerReport) -> StatusError {
    let codes: Vec<&str> = signer.errors.iter().map(|p| p.code.as_str()).collect();
    let codes = codes.join(", ");
    StatusError::forbidden("bad_signature", format!("the request's signature is not valid ({codes})")).in_words(
        Some("cms"),
        format!("So'rovning imzosi haqiqiy emas ({codes})"),
        format!("Подпись запроса недействительна ({codes})"),
    )
}

fn challenge_invalid() -> StatusError {
    StatusError::forbidden("challenge_invalid", "the challenge is unknown, expired or used already: get a new one").in_words(
        Some("challenge_id"),
        "So'rov kodi (challenge) noma'lum, muddati o'tgan yoki allaqachon ishlatilgan: yangisini oling",
        "Код запроса (challenge) неизвестен, истёк или уже использован: получите новый",
    )
}

/// Reasons a holder may give. cACompromise and aACompromise speak of an authority's key,
/// which only the authority (or an operator acting for it) can declare compromised.
pub fn holder_may_give(reason: RevocationReason) -> bool {
    !matches!(reason, RevocationReason::CaCompromise | RevocationReason::AaCompromise)
}

/// The refusal of a CA-only reason asked for by a holder.
fn holder_reason_refused(reason: RevocationReason) -> StatusError {
    let name = reason.name();
    let allowed = "unspecified, keyCompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn, certificateHold";
    StatusError::forbidden(
        "reason_not_allowed",
        format!("'reason' {name} is for a certification authority only; a holder may give: {allowed}"),
    )
    .in_words(
        Some("reason"),
        format!("«reason» {name} sababini faqat sertifikatlash markazi ko'rsata oladi; sertifikat egasi quyidagilardan birini berishi mumkin: {allowed}"),
        format!("Причину «reason» {name} может указать только удостоверяющий центр; владелец сертификата может указать: {allowed}"),
    )
}

/// The status of a certificate as [`StatusView`] fields (`good`, `revoked`, `on_hold`).
pub fn status_name(status: &str, reason: Option<i64>) -> &'static str {
    match (status, reason) {
        ("good", _) => "good",
        (_, Some(status::REASON_CERTIFICATE_HOLD)) => "on_hold",
        _ => "revoked",
    }
}
